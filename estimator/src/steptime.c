/* steptime.c -- time of one training iteration: per-stage compute from per-op GEMM/attention/
 * memory-bound costs, TP/SP/CP/EP/PP/DP/ZeRO communication over the cluster's hierarchy with what
 * overlaps and what is exposed, the pipeline bubble and the optimizer step; MFU and HFU.
 *
 * Not here: FLOP counting (flops.c), per-op costs (compute.c, collective.c), memory (memory.c).
 * References: Narayanan et al. 2021 (bubble (p-1)/(v*m), p2p b*s*h/t, TP all-reduce volume);
 * Korthikanti et al. 2022 (SP all-gather/reduce-scatter, selective recompute); Megatron-Core
 * distributed optimizer and DDP buckets (overlap_grad_reduce, overlap_param_gather); Rajbhandari et
 * al. 2020 (ZeRO-3 1.5x traffic); docs/time.md#iteration.
 *
 * Shape glossary: b micro-batch, s sequence, h hidden, a heads, g kv heads, t TP, p PP, v VPP,
 * c CP, e EP, d DP, m micro-batches per pipeline.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "est/collective.h"
#include "est/compute.h"
#include "est/flops.h"
#include "est/steptime.h"

#define ACT_BYTES         2.0  /* 16-bit activations */
#define DDP_BUCKET_PARAMS 40e6 /* Megatron DDP bucket: max(40M, 1M * dp) parameters */

// ---------------------------------------------------------------------------
// per-layer costs of one micro-batch on one GPU

typedef struct layer_cost {
    double fwd_s;      /* forward compute (GEMMs + attention + memory-bound) */
    double bwd_s;      /* backward compute */
    double wgrad_s;    /* the weight-gradient GEMMs within bwd_s (overlap window for TP bwd) */
    double attn_fwd_s; /* attention core forward (selective recompute, CP overlap window) */
    double attn_bwd_s; /* attention core backward */
    double tp_fwd_s;   /* TP/SP collectives, forward */
    double tp_bwd_s;   /* TP/SP collectives, backward */
    double cp_fwd_s;   /* CP K/V ring, forward (total) */
    double cp_bwd_s;   /* CP K/V + dK/dV ring, backward (total) */
    double ep_s;       /* EP all-to-all, forward + backward */
} layer_cost;

typedef struct ctx {
    const est_config *cfg;
    const est_model *m;
    const est_coeffs *k;
    est_time_opts o;
    est_dtype dt;
    int64_t tok; /* tokens of one micro-batch on one GPU: b*s/c */
    int t, c, e, d, p, v;
    int tp_rpn, cp_rpn, ep_rpn, dp_rpn, pp_rpn; /* ranks per node of each group */
} ctx;

/* one linear layer y[T, n] = x[T, kd] W[kd, n]: forward, and backward dgrad + wgrad */
static void linear(const ctx *x, int64_t n, int64_t kd, double *fwd, double *bwd, double *wgrad)
{
    int64_t T = x->tok;
    double f = est_gemm_time_s(x->k, T, n, kd, x->dt);
    double dg = est_gemm_time_s(x->k, T, kd, n, x->dt);
    double wg = est_gemm_time_s(x->k, kd, n, T, x->dt);
    *fwd += f;
    *bwd += dg + wg;
    *wgrad += wg;
}

/* grouped expert GEMMs: `groups` experts, each with `rows` tokens */
static void grouped(const ctx *x, int64_t groups, int64_t rows, int64_t n, int64_t kd, double *fwd,
                    double *bwd, double *wgrad)
{
    if (rows <= 0) {
        return;
    }
    double f = est_gemm_batched_time_s(x->k, groups, rows, n, kd, x->dt);
    double dg = est_gemm_batched_time_s(x->k, groups, rows, kd, n, x->dt);
    double wg = est_gemm_batched_time_s(x->k, groups, kd, n, rows, x->dt);
    *fwd += f;
    *bwd += dg + wg;
    *wgrad += wg;
}

static double mlp_mats(const est_model *m)
{
    return m->act == EST_ACT_GELU ? 1.0 : 2.0; /* up (and gate), fused as one GEMM */
}

static void layer_costs(const ctx *x, bool moe, layer_cost *lc)
{
    const est_model *m = x->m;
    const est_parallel *par = &x->cfg->par;
    memset(lc, 0, sizeof *lc);
    int64_t t = x->t, T = x->tok, h = m->hidden, hd = m->head_dim;
    int64_t aq = m->heads / t, g = m->kv_heads / t;
    double fwd = 0, bwd = 0, wg = 0;
    /* attention projections: QKV column-parallel, output row-parallel */
    linear(x, (aq + 2 * g) * hd, h, &fwd, &bwd, &wg);
    linear(x, h, aq * hd, &fwd, &bwd, &wg);
    /* MLP */
    int64_t f_ffn = moe ? 0 : m->ffn;
    if (!moe) {
        linear(x, (int64_t)mlp_mats(m) * f_ffn / t, h, &fwd, &bwd, &wg);
        linear(x, h, f_ffn / t, &fwd, &bwd, &wg);
    } else {
        /* router (replicated over TP), routed experts (E/e per rank, T*k*e/E tokens each, expert
           weights split by t), shared experts as a dense MLP */
        linear(x, m->experts, h, &fwd, &bwd, &wg);
        int64_t local = m->experts / x->e;
        int64_t rows = (T * m->top_k * x->e + m->experts - 1) / m->experts;
        grouped(x, local, rows, (int64_t)mlp_mats(m) * m->moe_ffn / t, h, &fwd, &bwd, &wg);
        grouped(x, local, rows, h, m->moe_ffn / t, &fwd, &bwd, &wg);
        if (m->shared_experts > 0) {
            int64_t sf = m->shared_experts * m->shared_ffn / t;
            linear(x, (int64_t)mlp_mats(m) * sf, h, &fwd, &bwd, &wg);
            linear(x, h, sf, &fwd, &bwd, &wg);
        }
        f_ffn = m->top_k * m->moe_ffn + m->shared_experts * m->shared_ffn;
    }
    if (par->finetune != EST_FT_FULL) {
        /* LoRA/QLoRA: the frozen base computes no weight gradients; each targeted module adds
           x A (in -> r) and (x A) B (r -> out) with their full backward (Hu et al. 2021), column-
           parallel modules split `out` and row-parallel ones `in` over TP */
        bwd -= wg;
        wg = 0.0;
        int64_t r = par->lora_rank;
        int64_t qd = m->heads * hd, kvd = m->kv_heads * hd, f = m->ffn;
        unsigned tg = par->lora_targets;
        int64_t ins[7] = {h, h, h, qd / t, h, h, f / t};
        int64_t outs[7] = {qd / t, kvd / t, kvd / t, h, f / t, f / t, h};
        unsigned bits[7] = {EST_LORA_Q,    EST_LORA_K,  EST_LORA_V,   EST_LORA_O,
                            EST_LORA_GATE, EST_LORA_UP, EST_LORA_DOWN};
        for (int i = 0; i < 7; i++) {
            if (!(tg & bits[i]) || (bits[i] == EST_LORA_GATE && m->act == EST_ACT_GELU)) {
                continue;
            }
            linear(x, r, ins[i], &fwd, &bwd, &wg);
            linear(x, outs[i], r, &fwd, &bwd, &wg);
        }
    }
    /* attention core: b sequences, a/t heads, s/c queries against s keys (CP ring), causal */
    int64_t b = par->mbs, sq = par->seq / x->c, skv = par->seq;
    lc->attn_fwd_s =
        est_attention_time_s(x->k, b, aq, hd, sq, skv, true, par->attention, false, EST_DT_BF16);
    lc->attn_bwd_s =
        est_attention_time_s(x->k, b, aq, hd, sq, skv, true, par->attention, true, EST_DT_BF16);
    /* memory-bound kernels, forward bytes per token (docs/time.md#membound): two norms
       (read+write h), two residual adds with dropout (read 2h, write h), RoPE on q and k,
       the activation (GELU: f in/out; gated: 2f in, f out); norms and residuals act on T/t
       tokens under SP, on all T otherwise; backward moves about twice the bytes */
    double rows_norm = par->sp ? (double)T / (double)t : (double)T;
    double hh = (double)h;
    double norm_bytes = rows_norm * (2.0 * 2.0 * hh + 2.0 * 3.0 * hh) * ACT_BYTES;
    double rope = m->pos == EST_POS_ROPE ? 2.0 * (double)((aq + g) * hd) : 0.0;
    double act_mult = m->act == EST_ACT_GELU ? 2.0 : 3.0;
    double act = act_mult * (double)f_ffn / (double)t;
    double elem_bytes = (double)T * (rope + act) * ACT_BYTES + norm_bytes;
    /* Megatron/TE fuse bias+dropout+add, bias+GELU/SwiGLU and the norms; eager PyTorch
       frameworks (FSDP, DeepSpeed, plain) run them as separate kernels: about twice the bytes */
    if (par->framework != EST_FW_MEGATRON) {
        elem_bytes *= 2.0;
    }
    double mb_fwd = est_membound_time_s(x->k, elem_bytes);
    double mb_bwd = 2.0 * mb_fwd;
    if (par->finetune == EST_FT_QLORA) {
        /* bitsandbytes dequantises each NF4 weight to bf16 before its GEMM, in forward and again
           in backward: read 0.5 + write 2 bytes per weight of the layer */
        double w_local =
            (double)(h * (m->heads + 2 * m->kv_heads) * hd + m->heads * hd * h) / (double)t +
            (moe ? 0.0 : (mlp_mats(m) + 1.0) * (double)h * (double)m->ffn / (double)t);
        double deq = est_membound_time_s(x->k, w_local * 2.5);
        mb_fwd += deq;
        mb_bwd += deq;
    }
    lc->fwd_s = fwd + lc->attn_fwd_s + mb_fwd + x->k->kernel_overhead_s;
    lc->bwd_s = bwd + lc->attn_bwd_s + mb_bwd + 2.0 * x->k->kernel_overhead_s;
    lc->wgrad_s = wg;
    /* TP: 2 all-reduces forward and 2 backward of T*h; with SP 2 all-gathers + 2 reduce-scatters
       each way (same bus volume). Korthikanti 2022 Sec. 4.2.2 */
    if (t > 1) {
        double bytes = (double)T * hh * ACT_BYTES;
        double one;
        if (par->sp) {
            one = est_group_collective_time_s(x->k, EST_COLL_ALLGATHER, EST_ALGO_AUTO, bytes, x->t,
                                              x->tp_rpn) +
                  est_group_collective_time_s(x->k, EST_COLL_REDUCE_SCATTER, EST_ALGO_AUTO, bytes,
                                              x->t, x->tp_rpn);
        } else {
            one = est_group_collective_time_s(x->k, EST_COLL_ALLREDUCE, EST_ALGO_AUTO, bytes, x->t,
                                              x->tp_rpn);
        }
        lc->tp_fwd_s = 2.0 * one;
        lc->tp_bwd_s = 2.0 * one;
        if (par->sp) {
            /* SP saves only its 1/t shard of each block input: backward all-gathers it again for
               the weight gradient (Korthikanti 2022 Sec. 4.2.2) */
            lc->tp_bwd_s +=
                2.0 * est_group_collective_time_s(x->k, EST_COLL_ALLGATHER, EST_ALGO_AUTO, bytes,
                                                  x->t, x->tp_rpn);
        }
    }
    /* CP: ring of c-1 steps passing this rank's K and V (g/t heads, s/c tokens); backward passes
       K, V and their gradients. Overlapped with the attention core. */
    if (x->c > 1) {
        double kv = 2.0 * (double)b * (double)sq * (double)(g * hd) * ACT_BYTES;
        double step = est_group_collective_time_s(x->k, EST_COLL_SENDRECV, EST_ALGO_RING, kv, x->c,
                                                  x->cp_rpn);
        lc->cp_fwd_s = (double)(x->c - 1) * step;
        lc->cp_bwd_s = 2.0 * lc->cp_fwd_s;
    }
    /* EP: dispatch and combine all-to-alls of T*k tokens of h, forward and backward */
    if (moe && x->e > 1) {
        double bytes = (double)T * (double)m->top_k * hh * ACT_BYTES;
        if (par->sp) {
            bytes /= (double)t;
        }
        lc->ep_s = 4.0 * est_group_collective_time_s(x->k, EST_COLL_ALLTOALL, EST_ALGO_RING, bytes,
                                                     x->e, x->ep_rpn);
    }
}

// ---------------------------------------------------------------------------
// stage totals

typedef struct stage_cost {
    double compute_s;                    /* fwd + bwd + recompute of one micro-batch (all chunks) */
    double recompute_s;                  /* within compute_s */
    double bwd_s;                        /* backward compute (DP overlap window) */
    double fwd_s;                        /* forward compute (param-gather overlap window) */
    double tp_s, cp_s, ep_s;             /* exposed per micro-batch */
    double tp_tot_s, cp_tot_s, ep_tot_s; /* totals per micro-batch */
    double hidden_s;                     /* communication hidden behind compute per micro-batch */
    int64_t layers;
} stage_cost;

static double pos(double x)
{
    return x > 0.0 ? x : 0.0;
}

static void stage_costs(const ctx *x, const layer_cost *dl, const layer_cost *ml, int stage,
                        stage_cost *sc)
{
    const est_model *m = x->m;
    const est_parallel *par = &x->cfg->par;
    memset(sc, 0, sizeof *sc);
    int64_t L = est_stage_layers(x->cfg, stage);
    sc->layers = L;
    /* MoE layers in proportion (exact placement matters little for a stage's sum) */
    double n_moe = 0.0;
    if (m->experts > 0 && m->layers > 0) {
        int64_t every = m->moe_every > 0 ? m->moe_every : 1;
        int64_t rest = m->layers - m->moe_first_dense;
        double total_moe = rest > 0 ? (double)((rest + every - 1) / every) : 0.0;
        n_moe = total_moe * (double)L / (double)m->layers;
    }
    double n_dense = (double)L - n_moe;
    double fwd = n_dense * dl->fwd_s + n_moe * ml->fwd_s;
    double bwd = n_dense * dl->bwd_s + n_moe * ml->bwd_s;
    double wg = n_dense * dl->wgrad_s + n_moe * ml->wgrad_s;
    double tpf = n_dense * dl->tp_fwd_s + n_moe * ml->tp_fwd_s;
    double tpb = n_dense * dl->tp_bwd_s + n_moe * ml->tp_bwd_s;
    double attf = (double)L * dl->attn_fwd_s, attb = (double)L * dl->attn_bwd_s;
    double cpf = (double)L * dl->cp_fwd_s, cpb = (double)L * dl->cp_bwd_s;
    double ep = n_moe * ml->ep_s;
    /* embedding (first stage) and output layer + loss (last stage) */
    int64_t T = x->tok, h = m->hidden, V = m->vocab;
    if (stage == 0) {
        double emb = (double)T * (double)h * ACT_BYTES;
        fwd += est_membound_time_s(x->k, 2.0 * emb);
        bwd += est_membound_time_s(x->k, 2.0 * emb * 2.0); /* fp32 scatter-add */
    }
    if (stage == x->p - 1) {
        double lf = 0, lb = 0, lw = 0;
        linear(x, V / x->t, h, &lf, &lb, &lw);
        /* fp32 logits: cast, softmax-cross-entropy and its gradient, ~4 passes of 4 bytes */
        double logit_bytes = (double)T * (double)(V / x->t) * 4.0 * 4.0;
        fwd += lf + est_membound_time_s(x->k, logit_bytes);
        bwd += lb + est_membound_time_s(x->k, logit_bytes);
        wg += lw;
        if (x->t > 1) {
            /* vocab-parallel cross entropy: all-reduces of T floats (max, sum, target) */
            double ar = est_group_collective_time_s(x->k, EST_COLL_ALLREDUCE, EST_ALGO_AUTO,
                                                    3.0 * (double)T * 4.0, x->t, x->tp_rpn);
            tpf += ar;
        }
    }
    /* recompute: selective re-runs the attention core forward; full re-runs the layers' forward
       (and their forward TP collectives) */
    double rec = 0.0, rec_tp = 0.0;
    if (par->recompute == EST_RECOMPUTE_SELECTIVE && par->framework == EST_FW_FSDP) {
        /* torchtitan's op-level SAC saves SDPA and every other matmul (wq, wv, w1, w2) and
           re-runs wk, wo, w3 and the elementwise ops: that share of the non-attention forward
           (the same policy as the memory model, docs/memory.md) */
        double hd = (double)m->hidden;
        double qd = (double)(m->heads * m->head_dim);
        double kvd = (double)(m->kv_heads * m->head_dim);
        double f = (double)m->ffn;
        bool gated = m->act != EST_ACT_GELU;
        double all_mm = hd * qd + 2.0 * hd * kvd + qd * hd + (gated ? 3.0 : 2.0) * hd * f;
        double re_mm = hd * kvd + qd * hd + (gated ? hd * f : 0.0);
        rec = (re_mm / all_mm) * pos(n_dense * dl->fwd_s + n_moe * ml->fwd_s - attf);
    } else if (par->recompute == EST_RECOMPUTE_SELECTIVE) {
        rec = attf;
    } else if (par->recompute == EST_RECOMPUTE_FULL) {
        double frac = 1.0;
        if (par->recompute_layers > 0 && par->recompute_layers < L) {
            frac = (double)par->recompute_layers / (double)L;
        }
        rec = frac * (n_dense * dl->fwd_s + n_moe * ml->fwd_s);
        rec_tp = frac * (n_dense * dl->tp_fwd_s + n_moe * ml->tp_fwd_s);
        cpf *= 1.0 + frac;
        ep *= 1.0 + 0.5 * frac;
        attf *= 1.0 + frac;
    }
    /* exposure: forward TP collectives sit between dependent GEMMs (exposed); backward input-
       gradient collectives overlap the weight-gradient GEMMs (Megatron async TP); with
       --tp-comm-overlap both are hidden behind the GEMMs they feed */
    double tp_tot = tpf + rec_tp + tpb, tp_exp, tp_hidden;
    if (x->o.tp_comm_overlap) {
        double gemm = fwd + bwd - attf - attb;
        tp_exp = pos(tp_tot - gemm);
    } else {
        tp_exp = tpf + rec_tp + pos(tpb - wg);
    }
    tp_hidden = tp_tot - tp_exp;
    double cp_tot = cpf + cpb;
    double cp_exp = pos(cpf - attf) + pos(cpb - attb);
    double slow = x->k->overlap_slowdown;
    sc->fwd_s = fwd;
    sc->bwd_s = bwd;
    sc->recompute_s = rec;
    sc->hidden_s = tp_hidden + (cp_tot - cp_exp);
    sc->compute_s = fwd + bwd + rec + slow * sc->hidden_s;
    sc->tp_s = tp_exp;
    sc->cp_s = cp_exp;
    sc->ep_s = ep;
    sc->tp_tot_s = tp_tot;
    sc->cp_tot_s = cp_tot;
    sc->ep_tot_s = ep;
}

static double stage_total(const stage_cost *sc)
{
    return sc->compute_s + sc->tp_s + sc->cp_s + sc->ep_s;
}

// ---------------------------------------------------------------------------
// data parallel, ZeRO/FSDP and the optimizer

typedef struct dp_cost {
    double total_s;   /* all DP/ZeRO traffic of one iteration */
    double exposed_s; /* on the critical path */
    double optimizer_s;
} dp_cost;

static double optimizer_bytes_per_param(est_optimizer o)
{
    /* fused/foreach update: read grad (4), read+write fp32 master (8) and each fp32 moment (8),
       write the 16-bit compute copy (2) */
    switch (o) {
    case EST_OPT_SGD: return 4.0 + 8.0 + 8.0 + 2.0;
    case EST_OPT_ADAFACTOR: return 4.0 + 8.0 + 2.0 + 2.0;
    case EST_OPT_ADAM8BIT: return 4.0 + 8.0 + 4.0 + 2.0;
    default: return 4.0 + 8.0 + 16.0 + 2.0;
    }
}

static void dp_costs(const ctx *x, const est_param_counts *pc, const stage_cost *busy,
                     double m_micro, dp_cost *dc)
{
    const est_model *m = x->m;
    const est_parallel *par = &x->cfg->par;
    memset(dc, 0, sizeof *dc);
    /* parameters on the busiest rank: its layers' share, plus embedding/head for p == 1 */
    double L = (double)busy->layers, Lm = (double)m->layers;
    double frac_moe = pc->moe_layers > 0 ? (double)pc->moe_layers / Lm : 0.0;
    double per_layer_dense = (double)(pc->attn_per_layer + pc->norm_per_layer);
    double dense_params = L * (per_layer_dense + (1.0 - frac_moe) * (double)pc->dense_mlp);
    double expert_params = 0.0;
    if (pc->moe_layers > 0) {
        double experts = (double)m->experts * (double)pc->expert;
        double non_expert = (double)pc->moe_mlp - experts;
        dense_params += L * frac_moe * non_expert;
        expert_params = L * frac_moe * experts / (double)x->e;
    }
    if (x->p == 1) {
        dense_params += (double)(pc->embedding + pc->lm_head + pc->final_norm);
    } else {
        dense_params += (double)pc->embedding; /* first or last stage holds a vocab matrix */
    }
    if (par->finetune != EST_FT_FULL) {
        /* only the adapters train: their gradients are reduced and stepped */
        dense_params = L * (double)est_lora_params_per_layer(m, par->lora_rank, par->lora_targets);
        expert_params = 0.0;
    }
    dense_params /= (double)x->t;
    expert_params /= (double)x->t;
    int dp_dense = x->d * x->c;        /* grads replicate over dp and cp */
    int dp_exp = (x->d * x->c) / x->e; /* expert data parallel */
    bool fp32_grads = par->grads_fp32 && par->framework != EST_FW_DEEPSPEED;
    double gb = fp32_grads ? 4.0 : 2.0;
    double pb = par->precision == EST_PREC_FP32 ? 4.0 : 2.0;
    int zero = par->zero;
    if (par->framework == EST_FW_FSDP) {
        /* every FSDP strategy reduce-scatters each micro-batch's gradients; GRAD_OP gathers the
           parameters once per micro-batch instead of twice (below) */
        zero = 3;
    }
    int shard = dp_dense;
    if (par->framework == EST_FW_FSDP && par->fsdp == EST_FSDP_HYBRID && par->fsdp_shard_size > 0) {
        shard = par->fsdp_shard_size * x->c;
    }
    int rpn = x->dp_rpn;
    double t_grad = 0.0, t_param = 0.0, t_layer_gather = 0.0;
    for (int i = 0; i < 2; i++) {
        double n = i == 0 ? dense_params : expert_params;
        int g = i == 0 ? dp_dense : dp_exp;
        int sh = i == 0 ? shard : dp_exp;
        if (n <= 0.0 || g <= 1) {
            continue;
        }
        int grpn = rpn < g ? rpn : g;
        if (zero == 0) {
            t_grad += est_group_collective_time_s(x->k, EST_COLL_ALLREDUCE, EST_ALGO_AUTO, n * gb,
                                                  g, grpn);
        } else if (zero <= 2) {
            /* DeepSpeed ZeRO-2 partitions gradients as they are produced: a reduce-scatter per
               micro-batch (stage_1_and_2.py); ZeRO-1 and Megatron's distributed optimizer reduce
               the accumulated gradients once */
            double reduces = (zero == 2 && par->framework == EST_FW_DEEPSPEED) ? m_micro : 1.0;
            t_grad += reduces * est_group_collective_time_s(x->k, EST_COLL_REDUCE_SCATTER,
                                                            EST_ALGO_RING, n * gb, g, grpn);
            t_param += est_group_collective_time_s(x->k, EST_COLL_ALLGATHER, EST_ALGO_RING, n * pb,
                                                   g, grpn);
        } else {
            /* one all-gather and one reduce-scatter per layer (FSDP unit), latency included */
            int srpn = grpn < sh ? grpn : sh;
            double units = L > 0.0 ? L : 1.0;
            double ag = units * est_group_collective_time_s(x->k, EST_COLL_ALLGATHER, EST_ALGO_RING,
                                                            n * pb / units, sh, srpn);
            double rs =
                units * est_group_collective_time_s(x->k, EST_COLL_REDUCE_SCATTER, EST_ALGO_RING,
                                                    n * gb / units, sh, srpn);
            /* every micro-batch gathers the parameters for forward and again for backward and
               reduce-scatters its gradients (ZeRO-3 / FSDP FULL_SHARD); GRAD_OP keeps them */
            double gathers = par->fsdp == EST_FSDP_GRAD_OP ? 1.0 : 2.0;
            t_param += m_micro * gathers * ag;
            t_grad += m_micro * rs;
            t_layer_gather += ag / (L > 0 ? L : 1.0);
            if (sh < g) {
                /* hybrid: replicas all-reduce the gradient shard once per step */
                t_grad += est_group_collective_time_s(x->k, EST_COLL_ALLREDUCE, EST_ALGO_AUTO,
                                                      n * gb / (double)sh, g / sh, 1);
            }
        }
    }
    dc->total_s = t_grad + t_param;
    /* overlap windows: the gradient reduce hides behind the last micro-batch's backward (all of
       the backward for ZeRO-3, which reduces every micro-batch); the parameter all-gather of the
       distributed optimizer behind the next forward; the last bucket is always exposed */
    double bucket =
        DDP_BUCKET_PARAMS > 1e6 * (double)dp_dense ? DDP_BUCKET_PARAMS : 1e6 * (double)dp_dense;
    double total_params = dense_params + expert_params;
    double last_bucket =
        total_params > 0.0 ? (bucket < total_params ? bucket / total_params : 1.0) : 0.0;
    double exp_grad, exp_param;
    if (zero >= 3) {
        double win_b = m_micro * busy->bwd_s, win_f = m_micro * (busy->fwd_s + busy->bwd_s);
        double per_unit = t_grad / (m_micro * (L > 0 ? L : 1.0));
        exp_grad = par->overlap_grad_reduce ? pos(t_grad - win_b) + per_unit : t_grad;
        exp_param = par->overlap_param_gather ? pos(t_param - win_f) + t_layer_gather : t_param;
    } else {
        exp_grad =
            par->overlap_grad_reduce ? pos(t_grad - busy->bwd_s) + last_bucket * t_grad : t_grad;
        exp_param = par->overlap_param_gather ? pos(t_param - busy->fwd_s) + last_bucket * t_param
                                              : t_param;
    }
    if (exp_grad > t_grad) {
        exp_grad = t_grad;
    }
    if (exp_param > t_param) {
        exp_param = t_param;
    }
    dc->exposed_s = exp_grad + exp_param;
    /* optimizer: memory-bound over the parameters this rank updates */
    double upd = dense_params / (zero >= 1 ? (double)shard : 1.0) +
                 expert_params / (zero >= 1 ? (double)(dp_exp > 0 ? dp_exp : 1) : 1.0);
    dc->optimizer_s = est_membound_time_s(x->k, upd * optimizer_bytes_per_param(par->optimizer));
}

// ---------------------------------------------------------------------------
// public

est_time_opts est_time_opts_default(void)
{
    est_time_opts o;
    memset(&o, 0, sizeof o);
    o.coeffs = NULL;
    o.order = EST_ORDER_TP_CP_EP_DP_PP;
    o.tp_comm_overlap = false;
    o.fp8_mfu_peak = false;
    return o;
}

static void note(est_time_report *r, const char *s)
{
    if (r->n_notes < LLMCAL_MAX_TIME_NOTES) {
        r->notes[r->n_notes++] = s;
    }
}

est_status est_step_time_ex(const est_config *cfg, const est_time_opts *opts, est_time_report *out,
                            est_diag *diag)
{
    if (cfg == NULL || out == NULL || cfg->model == NULL || cfg->gpu == NULL) {
        return EST_FAIL(diag, EST_EINVAL, "step time: config, model and gpu are required");
    }
    const est_parallel *par = &cfg->par;
    if (par->dp <= 0 || par->mbs <= 0 || par->gbs <= 0 || par->tp <= 0 || par->pp <= 0 ||
        par->cp <= 0 || par->ep <= 0) {
        return EST_FAIL(diag, EST_EINVAL, "step time: configuration not resolved (dp=%d)", par->dp);
    }
    ctx x;
    memset(&x, 0, sizeof x);
    x.cfg = cfg;
    x.m = cfg->model;
    x.o = opts != NULL ? *opts : est_time_opts_default();
    est_coeffs kd;
    if (x.o.coeffs == NULL) {
        kd = est_coeffs_from_hw(cfg->gpu, cfg->cluster);
        x.k = &kd;
    } else {
        x.k = x.o.coeffs;
    }
    x.dt = est_compute_dtype(par->precision);
    x.t = par->tp;
    x.c = par->cp;
    x.e = par->ep;
    x.d = par->dp;
    x.p = par->pp;
    x.v = par->vpp > 0 ? par->vpp : 1;
    x.tok = par->mbs * par->seq / par->cp;
    /* which groups cross nodes: strides in the rank order (docs/time.md#hierarchy) */
    int gpn = x.k->gpus_per_node;
    int64_t tc = (int64_t)x.t * x.c;
    x.tp_rpn = est_group_ranks_per_node(x.t, 1, gpn);
    x.cp_rpn = est_group_ranks_per_node(x.c, x.t, gpn);
    x.ep_rpn = est_group_ranks_per_node(x.e, tc, gpn);
    if (x.o.order == EST_ORDER_TP_CP_EP_PP_DP) {
        x.pp_rpn = est_group_ranks_per_node(x.p, tc, gpn);
        x.dp_rpn = est_group_ranks_per_node(x.d * x.c, (int64_t)x.t * x.p, gpn);
    } else {
        x.dp_rpn = est_group_ranks_per_node(x.d * x.c, x.t, gpn);
        x.pp_rpn = est_group_ranks_per_node(x.p, tc * x.d, gpn);
    }
    memset(out, 0, sizeof *out);

    layer_cost dl, ml;
    layer_costs(&x, false, &dl);
    if (x.m->experts > 0) {
        layer_costs(&x, true, &ml);
    } else {
        ml = dl;
    }
    /* busiest of first, last and the middle stages */
    stage_cost sc, busy;
    stage_costs(&x, &dl, &ml, 0, &busy);
    int busiest = 0;
    int cand[3] = {x.p - 1, x.p > 2 ? 1 : 0, x.p > 3 ? x.p - 2 : 0};
    for (int i = 0; i < 3; i++) {
        if (cand[i] == 0) {
            continue;
        }
        stage_costs(&x, &dl, &ml, cand[i], &sc);
        if (stage_total(&sc) > stage_total(&busy)) {
            busy = sc;
            busiest = cand[i];
        }
    }
    double mm = (double)(par->gbs / (par->mbs * par->dp));
    double per_micro = stage_total(&busy);
    out->microbatches = mm;
    out->busiest_stage = busiest;
    out->stage_microbatch_s = per_micro;
    out->compute_s = mm * busy.compute_s;
    out->recompute_s = mm * busy.recompute_s;
    out->tp_comm_s = mm * busy.tp_s;
    out->cp_comm_s = mm * busy.cp_s;
    out->ep_comm_s = mm * busy.ep_s;
    out->tp_comm_total_s = mm * busy.tp_tot_s;
    out->cp_comm_total_s = mm * busy.cp_tot_s;
    out->ep_comm_total_s = mm * busy.ep_tot_s;
    double hidden = mm * busy.hidden_s;
    /* pipeline: bubble (p-1)/(v*m) of the steady state; p2p of b*s/c*h (/t with SP) per
       micro-batch per chunk boundary, forward and backward */
    if (x.p > 1) {
        out->bubble_fraction = (double)(x.p - 1) / ((double)x.v * mm);
        out->pp_bubble_s = out->bubble_fraction * mm * per_micro;
        /* scatter/gather (Narayanan 2021 Sec. 4.1): each TP rank sends its 1/t of the
           activation over its own NIC, with or without SP */
        double act = (double)x.tok * (double)x.m->hidden * ACT_BYTES / (double)x.t;
        double p2p = est_group_collective_time_s(x.k, EST_COLL_SENDRECV, EST_ALGO_RING, act, 2,
                                                 x.pp_rpn >= 2 ? 2 : 1);
        out->pp_comm_total_s = 2.0 * mm * (double)x.v * p2p;
        if (x.v > 1) {
            /* --overlap-p2p-comm (default with interleaving): only fill and drain exposed */
            out->pp_comm_s = 2.0 * (double)(x.p - 1) * p2p;
        } else {
            out->pp_comm_s = 2.0 * (mm + (double)x.p - 1.0) * p2p;
        }
        if (out->pp_comm_s > out->pp_comm_total_s) {
            /* 1F1B: the critical path crosses the p-1 fill and drain hops as well as the
               busiest stage's own 2m transfers */
            out->pp_comm_total_s = out->pp_comm_s;
        }
        hidden += out->pp_comm_total_s - out->pp_comm_s;
    }
    est_param_counts pc;
    est_model_params(x.m, &pc);
    dp_cost dc;
    dp_costs(&x, &pc, &busy, mm, &dc);
    out->dp_comm_total_s = dc.total_s;
    out->dp_comm_s = dc.exposed_s;
    out->optimizer_s = dc.optimizer_s;
    hidden += dc.total_s - dc.exposed_s;
    /* slowdown of compute while the DP and PP traffic overlaps it (TP/CP already in compute_s) */
    double extra = x.k->overlap_slowdown * (hidden - mm * busy.hidden_s);
    out->compute_s += extra;
    out->comm_hidden_s = hidden;
    out->overlap_slowdown_s = x.k->overlap_slowdown * hidden;
    out->iteration_s = out->compute_s + out->tp_comm_s + out->cp_comm_s + out->ep_comm_s +
                       out->pp_bubble_s + out->pp_comm_s + out->dp_comm_s + out->optimizer_s;
    if (!(out->iteration_s > 0.0) || isinf(out->iteration_s)) {
        return EST_FAIL(diag, EST_ERANGE, "step time: iteration time %g out of range",
                        out->iteration_s);
    }
    /* FLOPs and utilisation: model FLOPs = fwd+bwd without recompute, full (non-causal)
       attention, logits included, embeddings/norms excluded (Megatron-Core convention) */
    est_model_flop mf;
    est_model_flop_count(x.m, par->seq, &mf);
    double tokens = (double)par->gbs * (double)par->seq;
    out->model_flop = mf.model_per_token * tokens;
    if (par->finetune != EST_FT_FULL) {
        /* LoRA/QLoRA: the frozen weights' gradient GEMMs (a third of the GEMM work outside the
           attention core) do not run; the adapters' FLOPs are negligible and not counted */
        double gemm_fwd = mf.fwd_per_token - mf.attn_fwd;
        out->model_flop -= gemm_fwd * tokens;
        note(out, "LoRA: model FLOPs exclude the frozen weights' gradient GEMMs (2N fewer per "
                  "token)");
    }
    double rec_tok =
        est_recompute_flop_per_token(&mf, par->recompute, par->recompute_layers, busy.layers);
    out->hardware_flop = out->model_flop + rec_tok * tokens;
    double n = (double)par->gpus;
    out->tokens_per_s = tokens / out->iteration_s;
    out->tflops_per_gpu = out->model_flop / out->iteration_s / n / 1e12;
    out->peak_flop_per_s = est_mfu_peak_flop_per_s(x.k, par->precision, x.o.fp8_mfu_peak);
    out->mfu = out->model_flop / out->iteration_s / n / out->peak_flop_per_s;
    out->hfu = out->hardware_flop / out->iteration_s / n / out->peak_flop_per_s;
    note(out, "model FLOPs: fwd+bwd (3x fwd), full s*s attention, logits counted, no recompute "
              "(Megatron-Core convention); HFU adds the recompute forward");
    note(out, "attention time: causal half of the s*s square (fused kernels skip masked blocks)");
    if (!x.o.tp_comm_overlap && x.t > 1) {
        note(out, "TP forward collectives exposed; backward ones overlap weight-gradient GEMMs");
    }
    note(out, x.o.calibrated ? "efficiencies: calibrated profile"
                             : "efficiencies: GPU profile defaults (uncalibrated)");
    return EST_OK;
}

est_status est_step_time(const est_config *cfg, est_time_report *out, est_diag *diag)
{
    return est_step_time_ex(cfg, NULL, out, diag);
}
