/* probes.c -- calibrate's compute and memory probes on one GPU: cuBLASLt GEMMs (bf16/fp16/fp8,
 * random data, L2 flushed before each timed iteration), standard causal attention from cuBLAS
 * strided-batched GEMMs and a softmax kernel, flash attention through the runtime's fused kernels,
 * and HBM device-to-device copies; the driver that
 * walks a sample set and fills provenance metadata.
 *
 * Not here: NCCL collectives (coll.c), kernels (kernels.cu). References: llm.c dev/cuda/common.h
 * (benchmark_kernel: L2 flush, cudaEvent timing); nccl-tests src/util.h (IterStats); cuBLASLt docs
 * (fp8 needs the "TN" layout: A transposed).
 */
#include "cal/probes.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <nccl.h>

#include "cuda/cu_ops.h" // provides: cu_flash_fwd, cu_flash_bwd (the runtime's fused attention)
#include "kernels.h"
#include "probe_internal.h"

#define WORKSPACE_BYTES (32u << 20)

typedef struct dev_ctx {
    cudaStream_t stream;
    cudaEvent_t ev0, ev1;
    cublasLtHandle_t lt;
    cublasHandle_t blas;
    void *workspace; /* cuBLASLt workspace */
    void *flush;     /* 2 x L2 bytes, memset before each timed iteration */
    size_t flush_bytes;
    int sm_major;
} dev_ctx;

cal_probe_options cal_probe_default(void)
{
    cal_probe_options o;
    o.warmup = 5;
    o.iters = 20;
    o.device0 = 0;
    o.gpus = 0;
    o.l2_flush = true;
    return o;
}

int cal_probe_device_count(void)
{
    int n = 0;
    return cudaGetDeviceCount(&n) == cudaSuccess ? n : 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return x < y ? -1 : x > y;
}

void cal_probe_stats(double *t, int n, est_sample *s)
{
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    s->min_s = t[0];
    s->p50_s = t[n / 2];
    int i99 = (int)ceil(0.99 * n) - 1;
    s->p99_s = t[i99 < 0 ? 0 : (i99 >= n ? n - 1 : i99)];
    s->count = n;
}

// ---------------------------------------------------------------------------
// context

static void ctx_done(dev_ctx *c)
{
    if (c->workspace != NULL) {
        cudaFree(c->workspace);
    }
    if (c->flush != NULL) {
        cudaFree(c->flush);
    }
    if (c->lt != NULL) {
        cublasLtDestroy(c->lt);
    }
    if (c->blas != NULL) {
        cublasDestroy(c->blas);
    }
    if (c->ev0 != NULL) {
        cudaEventDestroy(c->ev0);
    }
    if (c->ev1 != NULL) {
        cudaEventDestroy(c->ev1);
    }
    if (c->stream != NULL) {
        cudaStreamDestroy(c->stream);
    }
    memset(c, 0, sizeof *c);
}

static est_status ctx_init(dev_ctx *c, int dev, est_diag *diag)
{
    est_status st = EST_OK;
    memset(c, 0, sizeof *c);
    int l2 = 0;
    CAL_CUDA(cudaSetDevice(dev), diag);
    CAL_CUDA(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, dev), diag);
    CAL_CUDA(cudaDeviceGetAttribute(&c->sm_major, cudaDevAttrComputeCapabilityMajor, dev), diag);
    CAL_CUDA(cudaStreamCreate(&c->stream), diag);
    CAL_CUDA(cudaEventCreate(&c->ev0), diag);
    CAL_CUDA(cudaEventCreate(&c->ev1), diag);
    CAL_CUDA(cudaMalloc(&c->workspace, WORKSPACE_BYTES), diag);
    c->flush_bytes = 2 * (size_t)(l2 > 0 ? l2 : (64 << 20));
    CAL_CUDA(cudaMalloc(&c->flush, c->flush_bytes), diag);
    if (cublasLtCreate(&c->lt) != CUBLAS_STATUS_SUCCESS ||
        cublasCreate(&c->blas) != CUBLAS_STATUS_SUCCESS) {
        st = EST_FAIL(diag, EST_ECUBLAS, "cublasCreate failed on device %d", dev);
        goto fail;
    }
    cublasSetStream(c->blas, c->stream);
    return EST_OK;
fail:
    ctx_done(c);
    return st;
}

/* times `iters` runs of fn after `warmup`, L2 flushed before each; t_out has iters entries */
typedef int (*run_fn)(dev_ctx *c, void *arg);

static est_status time_runs(dev_ctx *c, const cal_probe_options *o, run_fn fn, void *arg,
                            double *t_out, est_diag *diag)
{
    est_status st = EST_OK;
    for (int i = 0; i < o->warmup + o->iters; i++) {
        if (o->l2_flush) {
            CAL_CUDA(cudaMemsetAsync(c->flush, i & 0xff, c->flush_bytes, c->stream), diag);
        }
        CAL_CUDA(cudaEventRecord(c->ev0, c->stream), diag);
        if (fn(c, arg) != 0) {
            return EST_FAIL(diag, EST_ECUBLAS, "probe launch failed");
        }
        CAL_CUDA(cudaEventRecord(c->ev1, c->stream), diag);
        CAL_CUDA(cudaEventSynchronize(c->ev1), diag);
        float ms = 0.0f;
        CAL_CUDA(cudaEventElapsedTime(&ms, c->ev0, c->ev1), diag);
        if (i >= o->warmup) {
            t_out[i - o->warmup] = (double)ms * 1e-3;
        }
    }
    return EST_OK;
fail:
    return st;
}

// ---------------------------------------------------------------------------
// GEMM (cuBLASLt, "TN": C[m,n] = A^T[m,k] B[k,n], column-major, fp32 accumulation)

typedef struct gemm_arg {
    cublasLtMatmulDesc_t op;
    cublasLtMatrixLayout_t la, lb, lc;
    cublasLtMatmulHeuristicResult_t heur;
    void *a, *b, *c;
    int64_t batch;
    float alpha, beta;
} gemm_arg;

static int run_gemm(dev_ctx *c, void *arg)
{
    gemm_arg *g = arg;
    cublasStatus_t s =
        cublasLtMatmul(c->lt, g->op, &g->alpha, g->a, g->la, g->b, g->lb, &g->beta, g->c, g->lc,
                       g->c, g->lc, &g->heur.algo, c->workspace, WORKSPACE_BYTES, c->stream);
    return s == CUBLAS_STATUS_SUCCESS ? 0 : 1;
}

static bool probe_gemm(dev_ctx *c, const cal_probe_options *o, est_sample *s, double *t,
                       est_diag *diag)
{
    gemm_arg g;
    memset(&g, 0, sizeof g);
    g.alpha = 1.0f;
    bool fp8 = s->dtype == EST_DT_FP8;
    if ((fp8 && c->sm_major < 9) || s->dtype == EST_DT_FP32 || s->dtype == EST_DT_TF32) {
        return false; /* fp8 needs Hopper; fp32/tf32 not probed */
    }
    cudaDataType_t in = fp8 ? CUDA_R_8F_E4M3 : (s->dtype == EST_DT_FP16 ? CUDA_R_16F : CUDA_R_16BF);
    cudaDataType_t out = s->dtype == EST_DT_FP16 ? CUDA_R_16F : CUDA_R_16BF;
    size_t ein = fp8 ? 1 : 2;
    int64_t bt = s->batch;
    size_t na = (size_t)(bt * s->k * s->m), nb = (size_t)(bt * s->k * s->n);
    size_t nc = (size_t)(bt * s->m * s->n);
    bool ok = false;
    if (cudaMalloc(&g.a, na * ein) != cudaSuccess || cudaMalloc(&g.b, nb * ein) != cudaSuccess ||
        cudaMalloc(&g.c, nc * 2) != cudaSuccess) {
        cudaGetLastError();
        goto done; /* does not fit: skipped */
    }
    int kt = fp8 ? CAL_K_FP8E4M3 : (s->dtype == EST_DT_FP16 ? CAL_K_FP16 : CAL_K_BF16);
    cal_k_fill(g.a, na, kt, 1, c->stream);
    cal_k_fill(g.b, nb, kt, 2, c->stream);
    cublasOperation_t ta = CUBLAS_OP_T;
    cublasOperation_t tb = CUBLAS_OP_N;
    if (cublasLtMatmulDescCreate(&g.op, CUBLAS_COMPUTE_32F, CUDA_R_32F) != CUBLAS_STATUS_SUCCESS) {
        goto done;
    }
    cublasLtMatmulDescSetAttribute(g.op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta);
    cublasLtMatmulDescSetAttribute(g.op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb);
    cublasLtMatrixLayoutCreate(&g.la, in, (uint64_t)s->k, (uint64_t)s->m, s->k);
    cublasLtMatrixLayoutCreate(&g.lb, in, (uint64_t)s->k, (uint64_t)s->n, s->k);
    cublasLtMatrixLayoutCreate(&g.lc, out, (uint64_t)s->m, (uint64_t)s->n, s->m);
    if (bt > 1) {
        int32_t cnt = (int32_t)bt;
        int64_t sa = s->k * s->m, sb = s->k * s->n, sc = s->m * s->n;
        cublasLtMatrixLayout_t ls[3] = {g.la, g.lb, g.lc};
        for (int i = 0; i < 3; i++) {
            cublasLtMatrixLayoutSetAttribute(ls[i], CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &cnt,
                                             sizeof cnt);
        }
        cublasLtMatrixLayoutSetAttribute(g.la, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &sa,
                                         sizeof sa);
        cublasLtMatrixLayoutSetAttribute(g.lb, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &sb,
                                         sizeof sb);
        cublasLtMatrixLayoutSetAttribute(g.lc, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &sc,
                                         sizeof sc);
    }
    cublasLtMatmulPreference_t pref = NULL;
    uint64_t ws = WORKSPACE_BYTES;
    int found = 0;
    cublasLtMatmulPreferenceCreate(&pref);
    cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws,
                                         sizeof ws);
    cublasStatus_t hs = cublasLtMatmulAlgoGetHeuristic(c->lt, g.op, g.la, g.lb, g.lc, g.lc, pref, 1,
                                                       &g.heur, &found);
    cublasLtMatmulPreferenceDestroy(pref);
    if (hs != CUBLAS_STATUS_SUCCESS || found == 0) {
        goto done; /* no kernel for this shape/dtype: skipped */
    }
    ok = time_runs(c, o, run_gemm, &g, t, diag) == EST_OK;
done:
    if (g.lc != NULL) {
        cublasLtMatrixLayoutDestroy(g.lc);
    }
    if (g.lb != NULL) {
        cublasLtMatrixLayoutDestroy(g.lb);
    }
    if (g.la != NULL) {
        cublasLtMatrixLayoutDestroy(g.la);
    }
    if (g.op != NULL) {
        cublasLtMatmulDescDestroy(g.op);
    }
    cudaFree(g.a);
    cudaFree(g.b);
    cudaFree(g.c);
    return ok;
}

// ---------------------------------------------------------------------------
// standard causal attention: S = Q K^T, softmax, O = P V (and the backward's four GEMMs)

typedef struct attn_arg {
    const est_sample *s;
    void *q, *k, *v, *o, *p, *dp, *dq, *dk, *dv, *dout;
} attn_arg;

static cublasStatus_t bgemm(dev_ctx *c, cublasOperation_t ta, cublasOperation_t tb, int64_t m,
                            int64_t n, int64_t k, const void *a, int64_t lda, int64_t sa,
                            const void *b, int64_t ldb, int64_t sb, void *out, int64_t ldc,
                            int64_t sc, int64_t batch)
{
    float one = 1.0f;
    float zero = 0.0f;
    return cublasGemmStridedBatchedEx(c->blas, ta, tb, (int)m, (int)n, (int)k, &one, a, CUDA_R_16BF,
                                      (int)lda, sa, b, CUDA_R_16BF, (int)ldb, sb, &zero, out,
                                      CUDA_R_16BF, (int)ldc, sc, (int)batch, CUBLAS_COMPUTE_32F,
                                      CUBLAS_GEMM_DEFAULT);
}

static int run_attention(dev_ctx *c, void *arg)
{
    attn_arg *x = arg;
    const est_sample *s = x->s;
    int64_t bh = s->b * s->heads, d = s->head_dim, sq = s->seq, skv = s->seq_kv;
    /* column-major views: Q is d x sq, K and V d x skv, S/P skv x sq (row-major sq x skv) */
    int bad = 0;
    if (!s->backward) {
        bad |= bgemm(c, CUBLAS_OP_T, CUBLAS_OP_N, skv, sq, d, x->k, d, d * skv, x->q, d, d * sq,
                     x->p, skv, skv * sq, bh) != CUBLAS_STATUS_SUCCESS;
        bad |= cal_k_softmax_causal(x->p, bh * sq, skv, sq, 1.0f / sqrtf((float)d), c->stream);
        bad |= bgemm(c, CUBLAS_OP_N, CUBLAS_OP_N, d, sq, skv, x->v, d, d * skv, x->p, skv, skv * sq,
                     x->o, d, d * sq, bh) != CUBLAS_STATUS_SUCCESS;
        return bad;
    }
    /* dV = P^T dO, dP = dO V^T, dS = softmax'(P, dP), dQ = dS K, dK = dS^T Q */
    bad |= bgemm(c, CUBLAS_OP_N, CUBLAS_OP_T, d, skv, sq, x->dout, d, d * sq, x->p, skv, skv * sq,
                 x->dv, d, d * skv, bh) != CUBLAS_STATUS_SUCCESS;
    bad |= bgemm(c, CUBLAS_OP_T, CUBLAS_OP_N, skv, sq, d, x->v, d, d * skv, x->dout, d, d * sq,
                 x->dp, skv, skv * sq, bh) != CUBLAS_STATUS_SUCCESS;
    bad |= cal_k_softmax_bwd(x->p, x->dp, bh * sq, skv, c->stream);
    bad |= bgemm(c, CUBLAS_OP_N, CUBLAS_OP_N, d, sq, skv, x->k, d, d * skv, x->dp, skv, skv * sq,
                 x->dq, d, d * sq, bh) != CUBLAS_STATUS_SUCCESS;
    bad |= bgemm(c, CUBLAS_OP_N, CUBLAS_OP_T, d, skv, sq, x->q, d, d * sq, x->dp, skv, skv * sq,
                 x->dk, d, d * skv, bh) != CUBLAS_STATUS_SUCCESS;
    return bad;
}

static bool probe_attention(dev_ctx *c, const cal_probe_options *o, est_sample *s, double *t,
                            est_diag *diag)
{
    if (s->attn != EST_ATTN_STANDARD || s->dtype != EST_DT_BF16) {
        return false; /* flash samples go to probe_flash */
    }
    attn_arg x;
    memset(&x, 0, sizeof x);
    x.s = s;
    size_t bh = (size_t)(s->b * s->heads);
    size_t nq = bh * (size_t)(s->seq * s->head_dim) * 2;
    size_t nkv = bh * (size_t)(s->seq_kv * s->head_dim) * 2;
    size_t ns = bh * (size_t)(s->seq * s->seq_kv) * 2;
    void **bufs[] = {&x.q, &x.k, &x.v, &x.o, &x.p, &x.dp, &x.dq, &x.dk, &x.dv, &x.dout};
    size_t sizes[] = {nq, nkv, nkv, nq, ns, ns, nq, nkv, nkv, nq};
    bool ok = false;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        if (cudaMalloc(bufs[i], sizes[i]) != cudaSuccess) {
            cudaGetLastError();
            goto done;
        }
        cal_k_fill(*bufs[i], sizes[i] / 2, CAL_K_BF16, 10 + i, c->stream);
    }
    if (s->backward) {
        /* a valid P for the backward: run the forward once */
        attn_arg f = x;
        est_sample fs = *s;
        fs.backward = false;
        f.s = &fs;
        if (run_attention(c, &f) != 0) {
            goto done;
        }
    }
    ok = time_runs(c, o, run_attention, &x, t, diag) == EST_OK;
done:
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        cudaFree(*bufs[i]);
    }
    return ok;
}

// ---------------------------------------------------------------------------
// flash attention: the runtime's fused causal kernels (cu_flash_fwd / cu_flash_bwd), the same
// code `llmcal run` trains with, so attn_eff is fitted on what the runtime measures

typedef struct flash_arg {
    const est_sample *s;
    void *qkv, *out, *dout, *dqkv;
    float *lse;
} flash_arg;

static int run_flash(dev_ctx *c, void *arg)
{
    flash_arg *x = arg;
    const est_sample *s = x->s;
    int B = (int)s->b, T = (int)s->seq, h = (int)s->heads, d = (int)s->head_dim;
    if (!s->backward) {
        return cu_flash_fwd(c->stream, RT_BF16, x->out, x->lse, NULL, x->qkv, B, T, h, h, d);
    }
    return cu_flash_bwd(c->stream, RT_BF16, x->dqkv, x->dout, x->qkv, x->out, x->lse, NULL, B, T, h,
                        h, d);
}

static bool probe_flash(dev_ctx *c, const cal_probe_options *o, est_sample *s, double *t,
                        est_diag *diag)
{
    if (s->dtype != EST_DT_BF16 || !s->causal || s->seq != s->seq_kv) {
        return false; /* the runtime's kernel: causal self-attention in bf16 */
    }
    flash_arg x;
    memset(&x, 0, sizeof x);
    x.s = s;
    size_t rows = (size_t)(s->b * s->seq);
    size_t nqkv = rows * (size_t)(3 * s->heads * s->head_dim); /* MHA: nq = nkv = heads */
    size_t no = rows * (size_t)(s->heads * s->head_dim);
    size_t nlse = (size_t)(s->b * s->heads * s->seq);
    void **bufs[] = {&x.qkv, &x.out, &x.dout, &x.dqkv, (void **)&x.lse};
    size_t bytes[] = {nqkv * 2, no * 2, no * 2, nqkv * 2, nlse * 4};
    bool ok = false;
    for (size_t i = 0; i < sizeof bytes / sizeof bytes[0]; i++) {
        if (cudaMalloc(bufs[i], bytes[i]) != cudaSuccess) {
            cudaGetLastError();
            goto done;
        }
    }
    cal_k_fill(x.qkv, nqkv, CAL_K_BF16, 31, c->stream);
    cal_k_fill(x.dout, no, CAL_K_BF16, 32, c->stream);
    if (s->backward) {
        /* a valid output and logsumexp for the backward: run the forward once */
        est_sample fs = *s;
        fs.backward = false;
        flash_arg f = x;
        f.s = &fs;
        if (run_flash(c, &f) != 0) {
            goto done;
        }
    }
    ok = time_runs(c, o, run_flash, &x, t, diag) == EST_OK;
done:
    for (size_t i = 0; i < sizeof bytes / sizeof bytes[0]; i++) {
        cudaFree(*bufs[i]);
    }
    return ok;
}

// ---------------------------------------------------------------------------
// HBM: device-to-device copy of bytes/2 (read + write = bytes)

typedef struct copy_arg {
    void *src, *dst;
    size_t n;
} copy_arg;

static int run_copy(dev_ctx *c, void *arg)
{
    copy_arg *x = arg;
    return cudaMemcpyAsync(x->dst, x->src, x->n, cudaMemcpyDeviceToDevice, c->stream) !=
           cudaSuccess;
}

static bool probe_copy(dev_ctx *c, const cal_probe_options *o, est_sample *s, double *t,
                       est_diag *diag)
{
    copy_arg x = {NULL, NULL, (size_t)(s->bytes / 2.0)};
    bool ok = false;
    if (cudaMalloc(&x.src, x.n) == cudaSuccess && cudaMalloc(&x.dst, x.n) == cudaSuccess) {
        cudaMemsetAsync(x.src, 1, x.n, c->stream);
        ok = time_runs(c, o, run_copy, &x, t, diag) == EST_OK;
    }
    cudaGetLastError();
    cudaFree(x.src);
    cudaFree(x.dst);
    return ok;
}

// ---------------------------------------------------------------------------
// driver

static void provenance(cal_sample_set *set, int dev, int gpus)
{
    struct cudaDeviceProp prop;
    char buf[160];
    if (cudaGetDeviceProperties(&prop, dev) == cudaSuccess) {
        cal_meta_set(&set->meta, "device", prop.name, NULL);
        snprintf(buf, sizeof buf, "%d.%d", prop.major, prop.minor);
        cal_meta_set(&set->meta, "compute_capability", buf, NULL);
    }
    int v = 0;
    if (cudaDriverGetVersion(&v) == cudaSuccess) {
        /* the CUDA version the driver supports; the driver's own number needs NVML */
        snprintf(buf, sizeof buf, "CUDA %d.%d driver API", v / 1000, (v % 1000) / 10);
        cal_meta_set(&set->meta, "driver", buf, NULL);
    }
    if (cudaRuntimeGetVersion(&v) == cudaSuccess) {
        snprintf(buf, sizeof buf, "%d.%d", v / 1000, (v % 1000) / 10);
        cal_meta_set(&set->meta, "cuda", buf, NULL);
    }
    if (ncclGetVersion(&v) == ncclSuccess) {
        snprintf(buf, sizeof buf, "%d", v);
        cal_meta_set(&set->meta, "nccl", buf, NULL);
    }
    time_t now = time(NULL);
    struct tm tmv;
    gmtime_r(&now, &tmv);
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tmv);
    cal_meta_set(&set->meta, "date", buf, NULL);
    if (gethostname(buf, sizeof buf) == 0) {
        buf[sizeof buf - 1] = '\0';
        cal_meta_set(&set->meta, "host", buf, NULL);
    }
    snprintf(buf, sizeof buf, "%d", gpus);
    cal_meta_set(&set->meta, "gpus", buf, NULL);
}

est_status cal_probe_run(cal_sample_set *set, const cal_probe_options *opt, cal_probe_progress cb,
                         void *ctx, size_t *skipped, est_diag *diag)
{
    cal_probe_options o = opt != NULL ? *opt : cal_probe_default();
    int devices = cal_probe_device_count();
    if (devices <= o.device0) {
        return EST_FAIL(diag, EST_EUNSUPPORTED, "no CUDA device %d (%d visible)", o.device0,
                        devices);
    }
    if (o.iters < 1 || o.warmup < 0) {
        return EST_FAIL(diag, EST_EINVAL, "probes: iters >= 1 and warmup >= 0");
    }
    int gpus = o.gpus > 0 ? o.gpus : devices - o.device0;
    if (gpus > devices - o.device0) {
        gpus = devices - o.device0;
    }
    double *t = malloc((size_t)o.iters * sizeof *t);
    if (t == NULL) {
        return EST_FAIL(diag, EST_ENOMEM, "probes: out of memory");
    }
    dev_ctx c;
    est_status st = ctx_init(&c, o.device0, diag);
    if (st != EST_OK) {
        free(t);
        return st;
    }
    size_t total = set->n;
    size_t done = 0;
    for (size_t i = 0; i < set->n && st == EST_OK; i++) {
        est_sample *s = &set->s[i];
        if (!isnan(s->p50_s) || s->kind == EST_SAMPLE_COLLECTIVE) {
            continue;
        }
        bool ok = false;
        if (s->kind == EST_SAMPLE_GEMM) {
            ok = probe_gemm(&c, &o, s, t, diag);
        } else if (s->kind == EST_SAMPLE_ATTENTION && s->attn == EST_ATTN_FLASH) {
            ok = probe_flash(&c, &o, s, t, diag);
        } else if (s->kind == EST_SAMPLE_ATTENTION) {
            ok = probe_attention(&c, &o, s, t, diag);
        } else if (s->kind == EST_SAMPLE_MEMBOUND) {
            ok = probe_copy(&c, &o, s, t, diag);
        }
        if (ok) {
            cal_probe_stats(t, o.iters, s);
        } else {
            s->p50_s = -1.0; /* skipped */
        }
        if (cb != NULL) {
            cb(++done, total, s, ctx);
        }
    }
    ctx_done(&c);
    free(t);
    if (st == EST_OK && gpus >= 2) {
        st = cal_probe_collectives(set, &o, gpus, cb, ctx, &done, total, diag);
    }
    /* drop the skipped and the unmeasured */
    size_t kept = 0;
    for (size_t i = 0; i < set->n; i++) {
        if (set->s[i].p50_s > 0.0) {
            set->s[kept++] = set->s[i];
        }
    }
    if (skipped != NULL) {
        *skipped = set->n - kept;
    }
    set->n = kept;
    provenance(set, o.device0, gpus);
    return st;
}
