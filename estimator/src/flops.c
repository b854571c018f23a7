/* flops.c -- FLOP counts per operation and the published FLOP conventions.
 *
 * Not here: time (compute.c) or anything about parallel splits (steptime.c).
 * References: Narayanan et al. 2021 Eqs. (2)-(4); Korthikanti et al. 2022 App. A Eqs. (7)-(9);
 * Megatron-Core r0.8 training.py num_floating_point_operations; Hoffmann et al. 2022 App. F;
 * docs/time.md#flops.
 */
#include <math.h>
#include <stdint.h>

#include "est/flops.h"

// ---------------------------------------------------------------------------
// helpers

static double d(int64_t x)
{
    return (double)x;
}

/* forward flop per token of one MLP of intermediate size f: 2 (GELU) or 3 (gated) h x f GEMMs */
static double mlp_flop(const est_model *m, int64_t f)
{
    double mats = m->act == EST_ACT_GELU ? 2.0 : 3.0;
    return 2.0 * mats * d(m->hidden) * d(f);
}

static void layer_flop(const est_model *m, int64_t s, bool moe, est_layer_flop *o)
{
    double h = d(m->hidden), a = d(m->heads), g = d(m->kv_heads), hd = d(m->head_dim);
    o->qkv = 2.0 * h * (a + 2.0 * g) * hd;
    o->attn_score = 2.0 * a * hd * d(s);
    o->attn_value = 2.0 * a * hd * d(s);
    o->out_proj = 2.0 * a * hd * h;
    if (moe) {
        o->mlp = 0.0;
        o->router = 2.0 * h * d(m->experts);
        o->experts = d(m->top_k) * mlp_flop(m, m->moe_ffn);
        o->shared = d(m->shared_experts) * mlp_flop(m, m->shared_ffn);
    } else {
        o->mlp = mlp_flop(m, m->ffn);
        o->router = 0.0;
        o->experts = 0.0;
        o->shared = 0.0;
    }
    o->total = o->qkv + o->attn_score + o->attn_value + o->out_proj + o->mlp + o->router +
               o->experts + o->shared;
}

/* layers with a MoE MLP: after moe_first_dense dense layers, every moe_every-th layer */
static int64_t moe_layer_count(const est_model *m)
{
    if (m->experts <= 0) {
        return 0;
    }
    int64_t rest = m->layers - m->moe_first_dense;
    if (rest <= 0) {
        return 0;
    }
    int64_t every = m->moe_every > 0 ? m->moe_every : 1;
    return (rest + every - 1) / every;
}

// ---------------------------------------------------------------------------
// model counts

void est_model_flop_count(const est_model *m, int64_t seq, est_model_flop *out)
{
    layer_flop(m, seq, false, &out->dense);
    int64_t n_moe = moe_layer_count(m);
    if (n_moe > 0) {
        layer_flop(m, seq, true, &out->moe);
    } else {
        out->moe = (est_layer_flop){0};
    }
    int64_t n_dense = m->layers - n_moe;
    out->layers_fwd = d(n_dense) * out->dense.total + d(n_moe) * out->moe.total;
    out->attn_fwd = d(m->layers) * (out->dense.attn_score + out->dense.attn_value);
    out->logits_fwd = 2.0 * d(m->hidden) * d(m->vocab);
    out->fwd_per_token = out->layers_fwd + out->logits_fwd;
    out->model_per_token = 3.0 * out->fwd_per_token;
}

double est_recompute_flop_per_token(const est_model_flop *f, est_recompute rc,
                                    int64_t recompute_layers, int64_t stage_layers)
{
    switch (rc) {
    case EST_RECOMPUTE_SELECTIVE:
        /* Korthikanti 2022 Sec. 5: only the attention core (QK^T, softmax, .V) is recomputed */
        return f->attn_fwd;
    case EST_RECOMPUTE_FULL: {
        double frac = 1.0;
        if (recompute_layers > 0 && stage_layers > 0 && recompute_layers < stage_layers) {
            frac = d(recompute_layers) / d(stage_layers);
        }
        return frac * f->layers_fwd;
    }
    default: return 0.0;
    }
}

// ---------------------------------------------------------------------------
// published conventions

double est_flop_narayanan(int64_t B, int64_t s, int64_t l, int64_t h, int64_t V)
{
    double hh = d(h);
    return 96.0 * d(B) * d(s) * d(l) * hh * hh *
           (1.0 + d(s) / (6.0 * hh) + d(V) / (16.0 * d(l) * hh));
}

double est_flop_korthikanti_model(int64_t B, int64_t s, int64_t L, int64_t h, int64_t v)
{
    double hh = d(h);
    return 72.0 * d(B) * d(L) * d(s) * hh * hh *
           (1.0 + d(s) / (6.0 * hh) + d(v) / (12.0 * hh * d(L)));
}

double est_flop_korthikanti_hw(int64_t B, int64_t s, int64_t L, int64_t h, int64_t v)
{
    double hh = d(h);
    return 72.0 * d(B) * d(L) * d(s) * hh * hh *
           (1.0 + d(s) / (3.0 * hh) + d(v) / (12.0 * hh * d(L)));
}

double est_flop_megatron_core(const est_model *m, int64_t B, int64_t s)
{
    double h = d(m->hidden), a = d(m->heads), g = d(m->kv_heads), L = d(m->layers);
    double glu = m->act == EST_ACT_GELU ? 1.0 : 1.5;
    double ffn_term;
    if (m->experts > 0) {
        /* r0.8 uses the routed expert size times top_k for every layer; shared experts add */
        ffn_term = (d(m->moe_ffn) * d(m->top_k) + d(m->shared_experts) * d(m->shared_ffn)) / h;
    } else {
        ffn_term = d(m->ffn) / h;
    }
    return 12.0 * d(B) * d(s) * L * h * h *
           ((1.0 + g / a + d(s) / h) * (a * d(m->head_dim) / h) + ffn_term * glu +
            d(m->vocab) / (2.0 * L * h));
}

double est_flop_mpt(const est_model *m, int64_t B, int64_t s, bool hfu_recompute)
{
    est_param_counts pc;
    est_model_params(m, &pc);
    double per_seq = 2.0 * d(pc.total) * d(s);
    double attn = d(m->layers) * 2.0 * 2.0 * d(m->hidden) * d(s) * d(s);
    double mult = hfu_recompute ? 4.0 : 3.0;
    return d(B) * mult * (per_seq + attn);
}

double est_flop_torchtitan(const est_model *m, int64_t B, int64_t s)
{
    est_param_counts pc;
    est_model_params(m, &pc);
    return d(B) * d(s) * (6.0 * d(pc.total) + 12.0 * d(m->layers) * d(m->hidden) * d(s));
}

double est_train_time_narayanan_s(double tokens, double params, double gpus, double flop_per_s)
{
    return 8.0 * tokens * params / (gpus * flop_per_s);
}
