/* predict.c -- the estimator's prediction of one measured microbenchmark (est_sample), sample
 * validation, and the names sample files use.
 *
 * Not here: the cost models themselves (compute.c, collective.c) -- this file only routes a sample
 * to them, so that a calibrated coefficient means exactly what the estimator uses; file formats
 * and the fit (calib/). Pure: no allocation, no I/O.
 * References: nccl-tests doc/PERFORMANCE.md (busbw = algbw * factor); src/util.h IterStats.
 */
#include "est/sample.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

// ---------------------------------------------------------------------------
// names

static const char *const kind_names[EST_SAMPLE_KIND_COUNT] = {"gemm", "attention", "membound",
                                                              "collective"};
static const char *const dtype_names[EST_DT_COUNT] = {"fp32", "tf32", "bf16", "fp16", "fp8"};
static const char *const coll_names[EST_COLL_COUNT] = {"all-reduce", "all-gather", "reduce-scatter",
                                                       "all-to-all", "send-recv"};
/* nccl-tests binary stems (all_reduce_perf...) without separators, and est_coll_name()'s slash */
static const char *const coll_alias[EST_COLL_COUNT] = {"allreduce", "allgather", "reducescatter",
                                                       "alltoall", "sendrecv"};
static const char *const algo_names[] = {"auto", "ring", "tree"};
static const char *const link_names[] = {"intra", "inter"};

#define NAMES_N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static int find_name(const char *const *names, int n, const char *s)
{
    if (s == NULL) {
        return -1;
    }
    for (int i = 0; i < n; i++) {
        if (strcmp(names[i], s) == 0) {
            return i;
        }
    }
    return -1;
}

static const char *name_at(const char *const *names, int n, int i)
{
    return i >= 0 && i < n ? names[i] : "unknown";
}

const char *est_sample_kind_name(est_sample_kind k)
{
    return name_at(kind_names, NAMES_N(kind_names), (int)k);
}

int est_sample_kind_parse(const char *s)
{
    return find_name(kind_names, NAMES_N(kind_names), s);
}

const char *est_sample_dtype_name(est_dtype d)
{
    return name_at(dtype_names, NAMES_N(dtype_names), (int)d);
}

int est_sample_dtype_parse(const char *s)
{
    return find_name(dtype_names, NAMES_N(dtype_names), s);
}

const char *est_sample_coll_name(est_coll c)
{
    return name_at(coll_names, NAMES_N(coll_names), (int)c);
}

int est_sample_coll_parse(const char *s)
{
    int i = find_name(coll_names, NAMES_N(coll_names), s);
    if (i < 0) {
        i = find_name(coll_alias, NAMES_N(coll_alias), s);
    }
    if (i < 0 && s != NULL && strcmp(s, "send/recv") == 0) {
        i = EST_COLL_SENDRECV;
    }
    return i;
}

const char *est_sample_algo_name(est_coll_algo a)
{
    return name_at(algo_names, NAMES_N(algo_names), (int)a);
}

int est_sample_algo_parse(const char *s)
{
    return find_name(algo_names, NAMES_N(algo_names), s);
}

const char *est_sample_link_name(est_link l)
{
    return name_at(link_names, NAMES_N(link_names), (int)l);
}

int est_sample_link_parse(const char *s)
{
    return find_name(link_names, NAMES_N(link_names), s);
}

// ---------------------------------------------------------------------------
// defaults and validation

est_sample est_sample_default(est_sample_kind kind)
{
    est_sample s;
    memset(&s, 0, sizeof s);
    s.kind = kind;
    s.dtype = EST_DT_BF16;
    s.batch = 1;
    s.causal = true;
    s.attn = EST_ATTN_FLASH;
    s.backward = false;
    s.coll = EST_COLL_ALLREDUCE;
    s.algo = EST_ALGO_AUTO;
    s.link = EST_LINK_INTRA;
    s.nranks = 1;
    s.min_s = NAN;
    s.p50_s = NAN;
    s.p99_s = NAN;
    s.count = 1;
    return s;
}

static est_status pos_i64(const char *field, int64_t v, est_diag *diag)
{
    if (v <= 0) {
        return EST_FAIL(diag, EST_EINVAL, "sample.%s: %lld must be positive", field, (long long)v);
    }
    return EST_OK;
}

static bool finite_pos(double x)
{
    return isfinite(x) && x > 0.0;
}

static est_status check_shape(const est_sample *s, est_diag *diag)
{
    est_status st = EST_OK;
    switch (s->kind) {
    case EST_SAMPLE_GEMM:
        if ((st = pos_i64("batch", s->batch, diag)) != EST_OK ||
            (st = pos_i64("m", s->m, diag)) != EST_OK ||
            (st = pos_i64("n", s->n, diag)) != EST_OK ||
            (st = pos_i64("k", s->k, diag)) != EST_OK) {
            return st;
        }
        break;
    case EST_SAMPLE_ATTENTION:
        if ((st = pos_i64("b", s->b, diag)) != EST_OK ||
            (st = pos_i64("heads", s->heads, diag)) != EST_OK ||
            (st = pos_i64("head_dim", s->head_dim, diag)) != EST_OK ||
            (st = pos_i64("seq", s->seq, diag)) != EST_OK ||
            (st = pos_i64("seq_kv", s->seq_kv, diag)) != EST_OK) {
            return st;
        }
        if ((int)s->attn < 0 || (int)s->attn >= (int)EST_ATTN_COUNT) {
            return EST_FAIL(diag, EST_EINVAL, "sample.attn: %d is not an attention kind",
                            (int)s->attn);
        }
        break;
    case EST_SAMPLE_MEMBOUND:
        if (!finite_pos(s->bytes)) {
            return EST_FAIL(diag, EST_EINVAL, "sample.bytes: %g must be positive", s->bytes);
        }
        break;
    case EST_SAMPLE_COLLECTIVE:
        if (!finite_pos(s->bytes)) {
            return EST_FAIL(diag, EST_EINVAL, "sample.bytes: %g must be positive", s->bytes);
        }
        if ((int)s->coll < 0 || (int)s->coll >= (int)EST_COLL_COUNT) {
            return EST_FAIL(diag, EST_EINVAL, "sample.coll: %d is not a collective", (int)s->coll);
        }
        if ((int)s->algo < (int)EST_ALGO_AUTO || (int)s->algo > (int)EST_ALGO_TREE) {
            return EST_FAIL(diag, EST_EINVAL, "sample.algo: %d is not an algorithm", (int)s->algo);
        }
        if (s->link != EST_LINK_INTRA && s->link != EST_LINK_INTER) {
            return EST_FAIL(diag, EST_EINVAL, "sample.link: %d is not a link class", (int)s->link);
        }
        if (s->nranks < (s->coll == EST_COLL_SENDRECV ? 1 : 2)) {
            return EST_FAIL(diag, EST_EINVAL, "sample.nranks: %d ranks; %s needs at least 2",
                            s->nranks, est_sample_coll_name(s->coll));
        }
        break;
    default:
        return EST_FAIL(diag, EST_EINVAL, "sample.kind: %d is not a sample kind", (int)s->kind);
    }
    if ((s->kind == EST_SAMPLE_GEMM || s->kind == EST_SAMPLE_ATTENTION) &&
        ((int)s->dtype < 0 || (int)s->dtype >= (int)EST_DT_COUNT)) {
        return EST_FAIL(diag, EST_EINVAL, "sample.dtype: %d is not a dtype", (int)s->dtype);
    }
    return EST_OK;
}

est_status est_sample_validate(const est_sample *s, est_diag *diag)
{
    est_status st = check_shape(s, diag);
    if (st != EST_OK) {
        return st;
    }
    if (!finite_pos(s->p50_s)) {
        return EST_FAIL(diag, EST_EINVAL, "sample.p50_s: %g must be a positive time", s->p50_s);
    }
    if (!isnan(s->min_s) && !(finite_pos(s->min_s) && s->min_s <= s->p50_s)) {
        return EST_FAIL(diag, EST_EINVAL, "sample.min_s: %g must be positive and <= p50 %g",
                        s->min_s, s->p50_s);
    }
    if (!isnan(s->p99_s) && !(isfinite(s->p99_s) && s->p99_s >= s->p50_s)) {
        return EST_FAIL(diag, EST_EINVAL, "sample.p99_s: %g must be finite and >= p50 %g", s->p99_s,
                        s->p50_s);
    }
    if (s->count < 1) {
        return EST_FAIL(diag, EST_EINVAL, "sample.count: %lld must be at least 1",
                        (long long)s->count);
    }
    return EST_OK;
}

// ---------------------------------------------------------------------------
// prediction

double est_predict_sample(const est_sample *s, const est_coeffs *k)
{
    switch (s->kind) {
    case EST_SAMPLE_GEMM: return est_gemm_batched_time_s(k, s->batch, s->m, s->n, s->k, s->dtype);
    case EST_SAMPLE_ATTENTION:
        return est_attention_time_s(k, s->b, s->heads, s->head_dim, s->seq, s->seq_kv, s->causal,
                                    s->attn, s->backward, s->dtype);
    case EST_SAMPLE_MEMBOUND: return est_membound_time_s(k, s->bytes);
    case EST_SAMPLE_COLLECTIVE:
        return est_collective_time_s(k, s->coll, s->algo, s->bytes, s->nranks, s->link);
    default: return NAN;
    }
}

double est_sample_rate(const est_sample *s, double t_s)
{
    if (!(t_s > 0.0)) {
        return 0.0;
    }
    switch (s->kind) {
    case EST_SAMPLE_GEMM:
        return 2.0 * (double)s->batch * (double)s->m * (double)s->n * (double)s->k / t_s;
    case EST_SAMPLE_ATTENTION: {
        /* the flop convention of est_attention_time_s (compute.c) */
        bool flash = s->attn == EST_ATTN_FLASH;
        double frac = (s->causal && flash) ? 0.5 : 1.0;
        double fwd = 4.0 * (double)s->b * (double)s->heads * (double)s->seq * (double)s->seq_kv *
                     (double)s->head_dim * frac;
        double mult = s->backward ? (flash ? 2.5 : 2.0) : 1.0;
        return mult * fwd / t_s;
    }
    case EST_SAMPLE_MEMBOUND: return s->bytes / t_s;
    case EST_SAMPLE_COLLECTIVE: return s->bytes / t_s * est_busbw_factor(s->coll, s->nranks);
    default: return 0.0;
    }
}
