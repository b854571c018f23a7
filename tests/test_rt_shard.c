/* test_rt_shard.c -- memory accounting per rank and the single-GPU shard mode.
 *
 * 1. Shard mode (opt.solo_rank = R) runs only rank R with local stand-ins for the collectives;
 *    its allocator high-water mark, the breakdown at that mark and every group's own peak must
 *    equal rank R's in the full multi-rank run, for every rank of several layouts (3-D with
 *    ZeRO-1, ZeRO-2 with full recompute, interleaved PP with tied embeddings).
 * 2. ZeRO semantics in bytes (fp32 everywhere on the CPU backend): weights = 4 * params held;
 *    ZeRO-0 gradients 4 * params and AdamW moments 8 * params; ZeRO-1 moments 8 * params / dp;
 *    ZeRO-2 gradients 4 * params / dp at rest (params from est_model_params).
 * 3. 1F1B in flight (Narayanan et al. 2021 Sec. 2.2): stage r of p keeps p - r micro-batches of
 *    activations, so the activation peaks of consecutive stages differ by one micro-batch of the
 *    stage's layers. One tiny-GPT layer stores, in floats rounded up to 64 (256-byte alignment),
 *    with N = Ns = 16 rows, C = 32, a = 4, f = 64 (llm.c's ActivationTensors list):
 *      x 512 + ln1 512 + mean 64 + rstd 64 + qkv 16*96=1536 + atty 512 + lse 4*16 -> 64
 *      + x2 512 + ln2 512 + 64 + 64 + fc 16*64=1024 + gelu 1024 = 6464 floats = 25856 bytes.
 */
#include "test_rt_tiny.h"

static est_status run_rep(tiny *t, int solo, rt_report *rep)
{
    rt_options o = rt_options_default();
    o.steps = 1;
    o.solo_rank = solo;
    est_diag d;
    memset(&d, 0, sizeof d);
    est_status st = rt_run(&t->cfg, &o, rep, &d);
    if (st != EST_OK) {
        fprintf(stderr, "rt_run: %s\n", d.msg);
    }
    return st;
}

static void check_solo(tiny *t, const char *what)
{
    rt_report full;
    if (run_rep(t, -1, &full) != EST_OK) {
        CHECK(false, "full run");
        return;
    }
    int same = 0;
    for (int r = 0; r < full.nranks; r++) {
        rt_report one;
        if (run_rep(t, r, &one) != EST_OK) {
            CHECK(false, "solo run");
            continue;
        }
        const rt_rank_report *a = &one.ranks[0];
        const rt_rank_report *b = &full.ranks[r];
        bool ok = a->rank == b->rank && a->peak_bytes == b->peak_bytes &&
                  memcmp(a->at_peak_bytes, b->at_peak_bytes, sizeof a->at_peak_bytes) == 0 &&
                  memcmp(a->group_peak_bytes, b->group_peak_bytes, sizeof a->group_peak_bytes) == 0;
        if (!ok) {
            fprintf(stderr, "%s rank %d: solo peak %llu, full peak %llu\n", what, r,
                    (unsigned long long)a->peak_bytes, (unsigned long long)b->peak_bytes);
        }
        same += ok;
        CHECK(one.solo && !a->time_measured[RT_T_TP_COMM] == (t->cfg.par.tp > 1),
              "solo mode marks communication as modelled");
        rt_report_free(&one);
    }
    printf("  %-40s %d of %d ranks: solo memory == full-run memory\n", what, same, full.nranks);
    CHECK_EQ_I64(same, full.nranks, what);
    rt_report_free(&full);
}

int main(void)
{
    est_model gpt = tiny_gpt(8);
    est_model llama = tiny_llama(8);
    tiny t;
    tiny_init(&t, &gpt, 2, 2, 2, 2, true, 1, 1, 4);
    check_solo(&t, "gpt tp2 sp pp2 vpp2 dp2 zero-1");
    /* DeepSpeed allows ZeRO-2 without pipeline parallelism only */
    tiny_init(&t, &llama, 2, 1, 1, 4, false, 2, 1, 8);
    t.cfg.par.framework = EST_FW_DEEPSPEED;
    t.cfg.par.recompute = EST_RECOMPUTE_FULL;
    check_solo(&t, "llama tp2 dp4 zero-2 full recompute");
    tiny_init(&t, &gpt, 1, 4, 2, 1, false, 0, 1, 8);
    check_solo(&t, "gpt pp4 vpp2 (tied)");

    /* ZeRO bytes, one pipeline stage, tp=1 (4 bytes per fp32 element) */
    est_model g2 = tiny_gpt(2);
    est_param_counts pc;
    est_model_params(&g2, &pc);
    int64_t P = pc.total; /* 33,920 for this model (odd-free: divisible by 4) */
    for (int zero = 0; zero <= 2; zero++) {
        tiny_init(&t, &g2, 1, 1, 1, 4, false, zero, 1, 4);
        t.cfg.par.framework = zero == 2 ? EST_FW_DEEPSPEED : EST_FW_MEGATRON;
        rt_report rep;
        if (run_rep(&t, -1, &rep) != EST_OK) {
            CHECK(false, "zero run");
            continue;
        }
        const uint64_t *gp = rep.ranks[1].group_peak_bytes;
        int64_t held = (P + 3) / 4; /* dp = 4 */
        CHECK_EQ_I64(gp[EST_MEM_WEIGHTS], 4 * ((P + 3) / 4 * 4), "weights = 4 B x params");
        CHECK_EQ_I64(gp[EST_MEM_OPTIMIZER], zero == 0 ? 8 * ((P + 3) / 4 * 4) : 8 * held,
                     "AdamW moments: 8 B x params (ZeRO-0) or / dp (ZeRO-1/2)");
        if (zero < 2) {
            CHECK_EQ_I64(gp[EST_MEM_GRADIENTS], 4 * ((P + 3) / 4 * 4), "gradients = 4 B x params");
        } else {
            /* shard at rest + the full bucket of one backward pass */
            CHECK_EQ_I64(gp[EST_MEM_GRADIENTS], 4 * held + 4 * ((P + 3) / 4 * 4),
                         "ZeRO-2 gradients: shard + one pass's bucket");
        }
        rt_report_free(&rep);
    }

    /* 1F1B in flight: gpt L=8, pp=4 (2 layers a stage), 8 micro-batches of 1 x 16 tokens */
    tiny_init(&t, &gpt, 1, 4, 1, 1, false, 0, 1, 8);
    rt_report rep;
    if (run_rep(&t, -1, &rep) == EST_OK) {
        int64_t per_mb = 2 * 25856; /* two layers, derivation in the header comment */
        const rt_rank_report *s0 = &rep.ranks[0];
        const rt_rank_report *s1 = &rep.ranks[1];
        const rt_rank_report *s2 = &rep.ranks[2];
        CHECK_EQ_I64((int64_t)s0->group_peak_bytes[EST_MEM_ACTIVATIONS] -
                         (int64_t)s1->group_peak_bytes[EST_MEM_ACTIVATIONS],
                     per_mb, "stage 0 holds one micro-batch more than stage 1 (4 vs 3 in flight)");
        CHECK_EQ_I64((int64_t)s1->group_peak_bytes[EST_MEM_ACTIVATIONS] -
                         (int64_t)s2->group_peak_bytes[EST_MEM_ACTIVATIONS],
                     per_mb, "stage 1 holds one micro-batch more than stage 2 (3 vs 2 in flight)");
        CHECK(rep.ranks[3].group_peak_bytes[EST_MEM_LOGITS] > 0 &&
                  s0->group_peak_bytes[EST_MEM_LOGITS] == 0,
              "logits live on the last stage only");
        rt_report_free(&rep);
    } else {
        CHECK(false, "1F1B run");
    }
    return check_summary();
}
