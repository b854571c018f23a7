/* plan.c -- the calibrate sweep: GEMM shapes of a model at a TP degree (as steptime.c evaluates
 * them), a generic GEMM sweep, attention over sequence lengths, HBM copies and NCCL collectives.
 *
 * Not here: measuring (probes/). References: estimator/src/steptime.c layer_costs() (the linears
 * and their forward/dgrad/wgrad shapes); nccl-tests -b/-e/-f size sweep.
 */
#include "cal/plan.h"

#include <math.h>
#include <string.h>

cal_plan_options cal_plan_default(void)
{
    cal_plan_options o;
    memset(&o, 0, sizeof o);
    o.model = NULL;
    o.tp = 1;
    o.mbs = 1;
    o.seq = 4096;
    o.dtype = EST_DT_BF16;
    o.generic = true;
    o.attn = EST_ATTN_STANDARD;
    o.also_flash = false;
    o.gpus = 1;
    o.coll_min_bytes = 1024.0;
    o.coll_max_bytes = 1024.0 * 1024.0 * 1024.0;
    o.coll_factor = 4.0;
    o.hbm_min_bytes = 8.0 * 1024.0 * 1024.0;
    o.hbm_max_bytes = 4.0 * 1024.0 * 1024.0 * 1024.0;
    return o;
}

static bool same_shape(const est_sample *a, const est_sample *b)
{
    if (a->kind != b->kind || a->dtype != b->dtype) {
        return false;
    }
    switch (a->kind) {
    case EST_SAMPLE_GEMM:
        return a->batch == b->batch && a->m == b->m && a->n == b->n && a->k == b->k;
    case EST_SAMPLE_ATTENTION:
        return a->b == b->b && a->heads == b->heads && a->head_dim == b->head_dim &&
               a->seq == b->seq && a->seq_kv == b->seq_kv && a->causal == b->causal &&
               a->attn == b->attn && a->backward == b->backward;
    case EST_SAMPLE_MEMBOUND: return a->bytes == b->bytes;
    case EST_SAMPLE_COLLECTIVE:
        return a->coll == b->coll && a->bytes == b->bytes && a->nranks == b->nranks &&
               a->link == b->link;
    default: return false;
    }
}

static est_status add(cal_sample_set *out, const est_sample *s, est_diag *diag)
{
    for (size_t i = 0; i < out->n; i++) {
        if (same_shape(&out->s[i], s)) {
            return EST_OK;
        }
    }
    est_sample t = *s;
    t.count = 0;
    return cal_sample_set_push(out, &t, diag);
}

static est_status add_gemm(cal_sample_set *out, est_dtype dt, int64_t m, int64_t n, int64_t k,
                           est_diag *diag)
{
    if (m <= 0 || n <= 0 || k <= 0) {
        return EST_OK;
    }
    est_sample s = est_sample_default(EST_SAMPLE_GEMM);
    s.dtype = dt;
    s.m = m;
    s.n = n;
    s.k = k;
    return add(out, &s, diag);
}

/* forward, input gradient and weight gradient of y[T,n] = x[T,kd] W[kd,n] (steptime.c linear()) */
static est_status add_linear(cal_sample_set *out, est_dtype dt, int64_t T, int64_t n, int64_t kd,
                             est_diag *diag)
{
    est_status st;
    if ((st = add_gemm(out, dt, T, n, kd, diag)) != EST_OK ||
        (st = add_gemm(out, dt, T, kd, n, diag)) != EST_OK ||
        (st = add_gemm(out, dt, kd, n, T, diag)) != EST_OK) {
        return st;
    }
    return EST_OK;
}

static est_status model_gemms(const cal_plan_options *o, cal_sample_set *out, est_diag *diag)
{
    const est_model *m = o->model;
    int64_t t = o->tp;
    if (m->heads % t != 0 || m->kv_heads % t != 0 || m->ffn % t != 0) {
        return EST_FAIL(diag, EST_EINVAL,
                        "plan: tp=%lld does not divide heads=%lld, "
                        "kv_heads=%lld and ffn=%lld",
                        (long long)t, (long long)m->heads, (long long)m->kv_heads,
                        (long long)m->ffn);
    }
    int64_t T = o->mbs * o->seq;
    int64_t h = m->hidden, hd = m->head_dim, aq = m->heads / t, g = m->kv_heads / t;
    int64_t mats = m->act == EST_ACT_GELU ? 1 : 2;
    est_status st;
    /* attention projections (QKV column-parallel, output row-parallel), MLP, LM head (v/t) */
    if ((st = add_linear(out, o->dtype, T, (aq + 2 * g) * hd, h, diag)) != EST_OK ||
        (st = add_linear(out, o->dtype, T, h, aq * hd, diag)) != EST_OK ||
        (st = add_linear(out, o->dtype, T, mats * m->ffn / t, h, diag)) != EST_OK ||
        (st = add_linear(out, o->dtype, T, h, m->ffn / t, diag)) != EST_OK ||
        (st = add_linear(out, o->dtype, T, (m->vocab + t - 1) / t, h, diag)) != EST_OK) {
        return st;
    }
    return EST_OK;
}

static est_status generic_gemms(const cal_plan_options *o, cal_sample_set *out, est_diag *diag)
{
    est_status st;
    /* squares 256..16384: the efficiency curve from small (half_dim) to large (eff_max) */
    for (int64_t d = 256; d <= 16384; d *= 2) {
        if ((st = add_gemm(out, o->dtype, d, d, d, diag)) != EST_OK) {
            return st;
        }
    }
    /* skinny reductions and outputs at 8192 (small harmonic-mean dimension, full waves) */
    for (int64_t d = 64; d <= 1024; d *= 2) {
        if ((st = add_gemm(out, o->dtype, 8192, 8192, d, diag)) != EST_OK ||
            (st = add_gemm(out, o->dtype, 8192, d, 8192, diag)) != EST_OK) {
            return st;
        }
    }
    return EST_OK;
}

static est_status attention(const cal_plan_options *o, cal_sample_set *out, est_diag *diag)
{
    int64_t heads = 16;
    int64_t hd = 128;
    int64_t max_seq = o->seq;
    if (o->model != NULL) {
        heads = o->model->heads / o->tp;
        hd = o->model->head_dim;
    }
    /* the planned kind, and with also_flash the runtime's fused kernel (what attn_eff means) */
    est_attention kinds[2] = {o->attn, EST_ATTN_FLASH};
    int n_kinds = (o->also_flash && o->attn != EST_ATTN_FLASH) ? 2 : 1;
    for (int64_t s = 512; s <= max_seq; s *= 2) {
        for (int kind = 0; kind < n_kinds; kind++) {
            for (int bwd = 0; bwd < 2; bwd++) {
                est_sample a = est_sample_default(EST_SAMPLE_ATTENTION);
                a.dtype = o->dtype == EST_DT_FP8 ? EST_DT_BF16 : o->dtype;
                a.b = o->mbs;
                a.heads = heads;
                a.head_dim = hd;
                a.seq = s;
                a.seq_kv = s;
                a.causal = true;
                a.attn = kinds[kind];
                a.backward = bwd != 0;
                est_status st = add(out, &a, diag);
                if (st != EST_OK) {
                    return st;
                }
            }
        }
    }
    return EST_OK;
}

static est_status sizes_ok(double lo, double hi, double f, const char *what, est_diag *diag)
{
    if (!(lo > 0.0) || !(hi >= lo) || !(f > 1.0) || isinf(hi)) {
        return EST_FAIL(diag, EST_EINVAL, "plan: %s sizes: need 0 < min <= max and factor > 1",
                        what);
    }
    return EST_OK;
}

est_status cal_plan_build(const cal_plan_options *o, cal_sample_set *out, est_diag *diag)
{
    est_status st;
    if (o->tp < 1 || o->mbs < 1 || o->seq < 1 || o->gpus < 1) {
        return EST_FAIL(diag, EST_EINVAL, "plan: tp, mbs, seq and gpus must be >= 1");
    }
    if ((st = sizes_ok(o->coll_min_bytes, o->coll_max_bytes, o->coll_factor, "collective", diag)) !=
            EST_OK ||
        (st = sizes_ok(o->hbm_min_bytes, o->hbm_max_bytes, 2.0, "copy", diag)) != EST_OK) {
        return st;
    }
    if (o->model != NULL && (st = model_gemms(o, out, diag)) != EST_OK) {
        return st;
    }
    if (o->generic && (st = generic_gemms(o, out, diag)) != EST_OK) {
        return st;
    }
    if ((st = attention(o, out, diag)) != EST_OK) {
        return st;
    }
    for (double b = o->hbm_min_bytes; b <= o->hbm_max_bytes * (1 + 1e-9); b *= 4.0) {
        est_sample s = est_sample_default(EST_SAMPLE_MEMBOUND);
        s.bytes = floor(b);
        if ((st = add(out, &s, diag)) != EST_OK) {
            return st;
        }
    }
    if (o->gpus >= 2) {
        for (int c = 0; c < EST_COLL_COUNT; c++) {
            for (double b = o->coll_min_bytes; b <= o->coll_max_bytes * (1 + 1e-9);
                 b *= o->coll_factor) {
                est_sample s = est_sample_default(EST_SAMPLE_COLLECTIVE);
                s.coll = (est_coll)c;
                /* sizes rounded down to a multiple of nranks * 16 bytes (nccl-tests aligns
                   counts so that every rank gets the same share) */
                double unit = 16.0 * (double)o->gpus;
                s.bytes = fmax(unit, floor(b / unit) * unit);
                s.nranks = o->gpus; /* send/recv: a ring shift, each rank to the next */
                s.link = EST_LINK_INTRA;
                s.algo = EST_ALGO_AUTO;
                if ((st = add(out, &s, diag)) != EST_OK) {
                    return st;
                }
            }
        }
    }
    return EST_OK;
}
