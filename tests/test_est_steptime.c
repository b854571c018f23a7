/* test_est_steptime.c -- the iteration model: bubble, FLOP conventions, breakdown consistency,
 * monotonicity, bad input. Expected values are hand-worked from the formulas named inline. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "est_fixtures.h"
#include "est/compute.h"
#include "est/memory.h"
#include "est/steptime.h"
#include "est/flops.h"

static est_model gpt(void)
{
    est_model m;
    memset(&m, 0, sizeof m);
    strcpy(m.name, "gpt-22b"); /* Korthikanti 2022 Table 3: 22B */
    m.hidden = 6144;
    m.layers = 48;
    m.heads = 64;
    m.kv_heads = 64;
    m.head_dim = 96;
    m.ffn = 4 * 6144;
    m.vocab = 51200;
    m.max_positions = 2048;
    m.norm = EST_NORM_LAYERNORM;
    m.act = EST_ACT_GELU;
    m.pos = EST_POS_LEARNED;
    m.tied_embeddings = true;
    m.qkv_bias = m.out_bias = m.mlp_bias = true;
    return m;
}

static est_status run(est_model *m, est_gpu *g, est_cluster *c, est_parallel p, est_time_report *t)
{
    est_config cfg = {m, g, c, p};
    est_diag d = {0};
    est_status s = est_config_resolve(&cfg, &d);
    if (s != EST_OK) {
        fprintf(stderr, "resolve: %s\n", d.msg);
        return s;
    }
    return est_step_time(&cfg, t, &d);
}

int main(void)
{
    est_model m = gpt();
    est_gpu g = fixture_h100(80ull << 30);
    est_cluster c = est_cluster_for_gpu(&g);
    est_parallel p = est_parallel_default();
    p.gpus = 64;
    p.tp = 8;
    p.pp = 4;
    p.mbs = 1;
    p.gbs = 16; /* dp 2 -> m = 8 micro-batches */
    p.seq = 2048;
    est_time_report t;
    CHECK(run(&m, &g, &c, p, &t) == EST_OK, "resolves and times");
    /* Narayanan 2021 Sec. 2.2: bubble (p-1)/m = 3/8, and (p-1)/(v*m) = 3/16 with v = 2 */
    CHECK_REL(t.microbatches, 8.0, 0.0, "m = gbs/(mbs*dp)");
    CHECK_REL(t.bubble_fraction, 3.0 / 8.0, 1e-12, "1F1B bubble (p-1)/m");
    CHECK_REL(t.pp_bubble_s, 3.0 / 8.0 * 8.0 * t.stage_microbatch_s, 1e-12,
              "bubble time = fraction x steady state");
    double sum = t.compute_s + t.tp_comm_s + t.cp_comm_s + t.ep_comm_s + t.pp_bubble_s +
                 t.pp_comm_s + t.dp_comm_s + t.optimizer_s;
    CHECK_REL(t.iteration_s, sum, 1e-12, "iteration = sum of the exposed parts");
    CHECK(t.tp_comm_s <= t.tp_comm_total_s && t.dp_comm_s <= t.dp_comm_total_s,
          "exposed never exceeds total");
    /* model FLOPs = Korthikanti Eq. (7) for this GPT (ffn = 4h, MHA) */
    CHECK_REL(t.model_flop, est_flop_korthikanti_model(16, 2048, 48, 6144, 51200), 1e-12,
              "model FLOPs = Korthikanti Eq. (7)");
    CHECK_REL(t.tokens_per_s, 16.0 * 2048.0 / t.iteration_s, 1e-12, "tokens/s");
    CHECK_REL(t.mfu, t.model_flop / t.iteration_s / 64.0 / 989.4e12, 1e-12, "MFU definition");
    est_parallel pv = p;
    pv.vpp = 2;
    est_time_report tv;
    CHECK(run(&m, &g, &c, pv, &tv) == EST_OK, "interleaved resolves");
    CHECK_REL(tv.bubble_fraction, 3.0 / 16.0, 1e-12, "interleaved bubble (p-1)/(v*m)");
    /* full recompute: HFU / MFU = Narayanan Eq. (3) / Korthikanti Eq. (7) */
    est_parallel pf = p;
    pf.recompute = EST_RECOMPUTE_FULL;
    est_time_report tf;
    CHECK(run(&m, &g, &c, pf, &tf) == EST_OK, "full recompute resolves");
    CHECK_REL(tf.hardware_flop, est_flop_narayanan(16, 2048, 48, 6144, 51200), 1e-12,
              "HFU FLOPs with full recompute = Narayanan Eq. (3)");
    CHECK(tf.iteration_s > t.iteration_s && tf.recompute_s > 0.0, "recompute costs time");
    /* monotonicity: doubling the GPUs (dp 2 -> 4) at a fixed global batch never increases the
       ideal compute per iteration (half the micro-batches per rank) */
    est_parallel p2 = p;
    p2.gpus = 128;
    est_time_report t2;
    CHECK(run(&m, &g, &c, p2, &t2) == EST_OK, "128 GPUs resolve");
    CHECK(t2.compute_s <= t.compute_s, "more GPUs never slow the ideal compute");
    /* a larger micro-batch never lowers activation memory per layer */
    est_config c1 = {&m, &g, &c, p};
    est_config c4 = c1;
    c4.par.mbs = 4;
    c4.par.gbs = 64;
    est_diag d = {0};
    CHECK(est_config_resolve(&c1, &d) == EST_OK && est_config_resolve(&c4, &d) == EST_OK,
          "mbs 1 and 4 resolve");
    CHECK(est_activation_bytes_per_layer(&c4, false) >= est_activation_bytes_per_layer(&c1, false),
          "larger micro-batch never lowers activation memory");
    /* TP across nodes is slower than inside one: tp 16 spans two 8-GPU nodes */
    est_model m16 = m;
    est_parallel pt = p;
    pt.tp = 16;
    pt.pp = 2;
    est_time_report t16;
    CHECK(run(&m16, &g, &c, pt, &t16) == EST_OK, "tp 16 resolves");
    CHECK(t16.tp_comm_total_s / 24.0 > t.tp_comm_total_s / 12.0, /* per layer of a stage */
          "TP over the network costs more per layer");
    /* bad input: an unresolved configuration is refused, not crashed on */
    est_config bad = {&m, &g, &c, est_parallel_default()};
    bad.par.dp = 0;
    CHECK(est_step_time(&bad, &t, &d) == EST_EINVAL, "unresolved config rejected");
    /* LoRA: the frozen base computes no weight gradients, so with short sequences (attention
       negligible) the model FLOPs are about 2/3 of full training's -- NeMo 24.07's LoRA rows in
       published-public.json imply 3.96-3.98 N FLOPs per token against 6N for full training
       (nemo2407_LoRA_LLAMA2-{7B,13B,70B}_8gpu: model TFLOP/s / tokens/s / params) -- and the step
       is faster than the full fine-tune's */
    {
        est_parallel q = est_parallel_default();
        q.gpus = 8;
        q.seq = 128;
        q.mbs = 1;
        est_time_report full;
        est_time_report lora;
        CHECK(run(&m, &g, &c, q, &full) == EST_OK, "full fine-tune times");
        q.finetune = EST_FT_LORA;
        q.lora_rank = 16;
        CHECK(run(&m, &g, &c, q, &lora) == EST_OK, "LoRA times");
        CHECK_REL(lora.model_flop / full.model_flop, 2.0 / 3.0, 0.02,
                  "LoRA model FLOPs ~ 4N of 6N per token (NeMo LoRA rows)");
        CHECK(lora.compute_s < full.compute_s, "LoRA computes less than full training");
    }
    return check_summary();
}
