/* test_rt_attention.c -- the bf16 tensor-core flash attention (attention_tc.cu, reached through
 * cu_flash_fwd / cu_flash_bwd) against the CPU reference kernels rtk_attn_fwd / rtk_attn_bwd
 * (cpu/kernels.c, double accumulation) and against the fp32-FMA fallback kernels
 * (cu_flash_fwd_simt / cu_flash_bwd_simt). Label gpu: exits 77 where cudaGetDeviceCount gives 0.
 *
 * Inputs are uniform in [-a, a] rounded to bf16, so every backend starts from the same stored
 * numbers; the CPU reference computes in fp32/double from them. The backward is fed the CPU
 * forward's output (rounded to bf16, as stored) and log-sum-exp on every path, so it is compared
 * alone. Shapes: GQA groups 1, 2, 4 and MQA, head dims 16..128, T not a multiple of the 64-row
 * tiles, T = 1, batch 2, and a peaky softmax (a = 3).
 *
 * Tolerances, e = max|gpu - cpu| / max|cpu| over a tensor (dQ, dK, dV separately):
 *   O:   2^-7. The kernel rounds P to bf16 before P V (relative error <= 2^-9 per term, so
 *        |error| <= 2^-9 max|v|, and max|O| >= |O[t=0]| = |v_0| ~ max|v| since row 0 attends only
 *        to key 0) and rounds O to bf16 once (2^-9): <= 2^-8, plus margin.
 *   lse: 1e-4 (relative to max|lse|). Scores are fp32 sums of exact bf16 products (d <= 128
 *        terms, ~1e-6 relative), exp2 on the MUFU (2^-22 relative), logf: errors ~1e-6.
 *   dQ, dK, dV: 2^-6. P and dS are rounded to bf16 before the P^T dO, dS^T Q and dS K products
 *        (2^-9 per term, as FlashAttention-2 does), the result once more (2^-9); the rounding
 *        errors of a sum of n terms grow like sqrt(n) while the cancellation in dS (each row of
 *        dS sums to zero) can shrink max|dK| relative to the terms: 2^-6 leaves a factor 4 for it.
 *   The fp32-FMA kernels keep P in fp32 and round only the results: the same bounds hold.
 * Also: dqkv is filled with NaN before each backward (the kernels must write every element; the
 * tensor-core backward parks D_t = dO.O in dQ's slots between its passes), two tensor-core
 * backward runs agree bit for bit (no atomics), and the standard-attention probabilities and a
 * misaligned pointer (fallback) go through the same launchers.
 */
#include <cuda_runtime.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cpu/cpu_kernels.h"
#include "cuda/attention_tc.cuh"
#include "cuda/cu_ops.h"
#include "rt_bf16.h"

#define TOL_O   0x1p-7
#define TOL_LSE 1e-4
#define TOL_G   0x1p-6

static uint64_t g_rng = 0x9E3779B97F4A7C15u;

static float frand(void)
{
    g_rng = g_rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((double)(g_rng >> 11) * 0x1.0p-53 * 2.0 - 1.0);
}

/* n values uniform in [-a, a], rounded to bf16 */
static float *rnd(size_t n, float a)
{
    float *x = malloc(n * sizeof *x + 1);
    for (size_t i = 0; i < n; i++) {
        x[i] = rt_bf16_round(a * frand());
    }
    return x;
}

/* a device bf16 copy of host fp32 values (n + 8 elements allocated, for offset pointers) */
static void *dev_bf16(const float *x, size_t n)
{
    uint16_t *h = malloc(n * sizeof *h + 2);
    for (size_t i = 0; i < n; i++) {
        h[i] = rt_f32_to_bf16(x[i]);
    }
    void *d = NULL;
    cudaMalloc(&d, (n + 8) * sizeof *h);
    cudaMemcpy(d, h, n * sizeof *h, cudaMemcpyHostToDevice);
    free(h);
    return d;
}

/* device bf16 -> host fp32 */
static float *host_f32(const void *d, size_t n)
{
    uint16_t *h = malloc(n * sizeof *h + 2);
    float *x = malloc(n * sizeof *x + 4);
    cudaDeviceSynchronize();
    cudaMemcpy(h, d, n * sizeof *h, cudaMemcpyDeviceToHost);
    for (size_t i = 0; i < n; i++) {
        x[i] = rt_bf16_to_f32(h[i]);
    }
    free(h);
    return x;
}

/* max|a - ref| / max|ref| over the elements of rows (B*T) x [c0, c0 + w) of row stride ld; a NaN
   anywhere gives NaN (fails every check) */
static double rel(const float *a, const float *ref, size_t rows, size_t ld, size_t c0, size_t w)
{
    double md = 0.0;
    double mr = 0.0;
    for (size_t r = 0; r < rows; r++) {
        for (size_t c = c0; c < c0 + w; c++) {
            double x = a[r * ld + c];
            double y = ref[r * ld + c];
            double d = fabs(x - y);
            if (d != d) {
                return NAN;
            }
            md = d > md ? d : md;
            mr = fabs(y) > mr ? fabs(y) : mr;
        }
    }
    return mr > 0 ? md / mr : md;
}

static void expect(double e, double tol, const char *what, const char *shape)
{
    char buf[200];
    snprintf(buf, sizeof buf, "%s %s: %.3g <= %.3g", shape, what, e, tol);
    printf("  %s\n", buf);
    CHECK(e <= tol, buf);
}

typedef struct shape {
    int B, T, nq, nkv, d;
    float a; /* input amplitude */
} shape;

/* the three gradient parts of dqkv (B*T rows of (nq + 2 nkv) d) against the reference */
static void grads(const float *g, const float *ref, const shape *s, const char *who,
                  const char *name)
{
    size_t rows = (size_t)s->B * s->T;
    size_t ld = (size_t)(s->nq + 2 * s->nkv) * s->d;
    size_t wq = (size_t)s->nq * s->d;
    size_t wk = (size_t)s->nkv * s->d;
    char what[64];
    snprintf(what, sizeof what, "%s dQ", who);
    expect(rel(g, ref, rows, ld, 0, wq), TOL_G, what, name);
    snprintf(what, sizeof what, "%s dK", who);
    expect(rel(g, ref, rows, ld, wq, wk), TOL_G, what, name);
    snprintf(what, sizeof what, "%s dV", who);
    expect(rel(g, ref, rows, ld, wq + wk, wk), TOL_G, what, name);
}

static void run_shape(const shape *s)
{
    int B = s->B, T = s->T, nq = s->nq, nkv = s->nkv, d = s->d;
    char name[96];
    snprintf(name, sizeof name, "B=%d T=%d nq=%d nkv=%d d=%d a=%g", B, T, nq, nkv, d, (double)s->a);
    printf("%s (tensor cores: %s)\n", name, cu_attn_tc_supported(d) ? "yes" : "no, fallback");
    size_t nqkv = (size_t)B * T * (nq + 2 * nkv) * d;
    size_t no = (size_t)B * T * nq * d;
    size_t nl = (size_t)B * nq * T;
    float *qkv = rnd(nqkv, s->a);
    float *dO = rnd(no, 1.0f);
    float *o = calloc(no, sizeof *o);
    float *lse = calloc(nl, sizeof *lse);
    float *dqkv = calloc(nqkv, sizeof *dqkv);
    rt_rank r;
    memset(&r, 0, sizeof r);
    rtk_attn_fwd(&r, o, lse, NULL, qkv, B, T, nq, nkv, d);
    for (size_t i = 0; i < no; i++) {
        o[i] = rt_bf16_round(o[i]); /* the stored output the backward reads */
    }
    rtk_attn_bwd(&r, dqkv, dO, qkv, o, lse, NULL, B, T, nq, nkv, d);

    void *gqkv = dev_bf16(qkv, nqkv);
    void *gdO = dev_bf16(dO, no);
    void *go = dev_bf16(o, no);
    void *gout = NULL;
    void *gdq = NULL;
    float *glse = NULL;
    cudaMalloc(&gout, no * 2);
    cudaMalloc(&gdq, nqkv * 2);
    cudaMalloc((void **)&glse, nl * 4);
    float *hl = malloc(nl * sizeof *hl + 4);

    /* forward: the launcher (tensor cores where supported), then the fp32-FMA kernels */
    for (int path = 0; path < 2; path++) {
        const char *who = path ? "fma" : "auto";
        int st = path ? cu_flash_fwd_simt(0, RT_BF16, gout, glse, NULL, gqkv, B, T, nq, nkv, d)
                      : cu_flash_fwd(0, RT_BF16, gout, glse, NULL, gqkv, B, T, nq, nkv, d);
        CHECK(st == 0, "forward launched");
        float *ho = host_f32(gout, no);
        cudaMemcpy(hl, glse, nl * 4, cudaMemcpyDeviceToHost);
        char what[64];
        snprintf(what, sizeof what, "%s O", who);
        expect(rel(ho, o, (size_t)B * T, (size_t)nq * d, 0, (size_t)nq * d), TOL_O, what, name);
        snprintf(what, sizeof what, "%s lse", who);
        expect(rel(hl, lse, 1, nl, 0, nl), TOL_LSE, what, name);
        free(ho);
    }

    /* backward from the CPU's O and lse; dqkv starts as NaN (0xFFFF) so unwritten parts fail */
    cudaMemcpy(glse, lse, nl * 4, cudaMemcpyHostToDevice);
    float *first = NULL;
    for (int path = 0; path < 3; path++) {
        cudaMemset(gdq, 0xFF, nqkv * 2);
        int st =
            path == 1
                ? cu_flash_bwd_simt(0, RT_BF16, gdq, gdO, gqkv, go, glse, NULL, B, T, nq, nkv, d)
                : cu_flash_bwd(0, RT_BF16, gdq, gdO, gqkv, go, glse, NULL, B, T, nq, nkv, d);
        CHECK(st == 0, "backward launched");
        float *hg = host_f32(gdq, nqkv);
        if (path == 0) {
            grads(hg, dqkv, s, "auto", name);
            first = hg;
            continue;
        }
        if (path == 1) {
            grads(hg, dqkv, s, "fma", name);
        } else {
            CHECK(memcmp(hg, first, nqkv * sizeof *hg) == 0,
                  "backward twice: bit-identical gradients (no atomics)");
        }
        free(hg);
    }
    free(first);
    CHECK(cudaGetLastError() == cudaSuccess, "no CUDA error");
    cudaFree(gqkv), cudaFree(gdO), cudaFree(go), cudaFree(gout), cudaFree(gdq), cudaFree(glse);
    free(qkv), free(dO), free(o), free(lse), free(dqkv), free(hl);
}

/* standard attention (probabilities stored) and a misaligned qkv through the same launchers */
static void extras(void)
{
    int B = 1, T = 70, nq = 4, nkv = 2, d = 64;
    const char *name = "B=1 T=70 nq=4 nkv=2 d=64";
    size_t nqkv = (size_t)B * T * (nq + 2 * nkv) * d;
    size_t no = (size_t)B * T * nq * d;
    size_t nl = (size_t)B * nq * T;
    size_t na = (size_t)B * nq * T * T;
    float *qkv = rnd(nqkv, 1.0f);
    float *o = calloc(no, sizeof *o);
    float *lse = calloc(nl, sizeof *lse);
    float *att = calloc(na, sizeof *att);
    rt_rank r;
    memset(&r, 0, sizeof r);
    rtk_attn_fwd(&r, o, lse, att, qkv, B, T, nq, nkv, d);
    void *gqkv = dev_bf16(qkv, nqkv);
    void *gout = NULL;
    void *gatt = NULL;
    float *glse = NULL;
    cudaMalloc(&gout, no * 2 + 16);
    cudaMalloc(&gatt, na * 2);
    cudaMalloc((void **)&glse, nl * 4);
    CHECK(cu_flash_fwd(0, RT_BF16, gout, glse, gatt, gqkv, B, T, nq, nkv, d) == 0, "std fwd");
    float *ha = host_f32(gatt, na);
    float *ho = host_f32(gout, no);
    /* probabilities in [0, 1], recomputed from the saved lse: the O bound applies */
    expect(rel(ha, att, 1, na, 0, na), TOL_O, "standard attention P", name);
    expect(rel(ho, o, (size_t)B * T, (size_t)nq * d, 0, (size_t)nq * d), TOL_O, "std O", name);
    free(ha), free(ho);
    /* qkv and out 2 bytes past 16-byte alignment: the fallback kernels, same results */
    uint16_t *hq = malloc(nqkv * 2 + 2);
    cudaMemcpy(hq, gqkv, nqkv * 2, cudaMemcpyDeviceToHost);
    cudaMemcpy((char *)gqkv + 2, hq, nqkv * 2, cudaMemcpyHostToDevice);
    CHECK(cu_flash_fwd(0, RT_BF16, (char *)gout + 2, glse, NULL, (char *)gqkv + 2, B, T, nq, nkv,
                       d) == 0,
          "misaligned fwd launched");
    uint16_t *hb = malloc(no * 2 + 2);
    cudaDeviceSynchronize();
    cudaMemcpy(hb, (char *)gout + 2, no * 2, cudaMemcpyDeviceToHost);
    float *hm = malloc(no * sizeof *hm + 4);
    for (size_t i = 0; i < no; i++) {
        hm[i] = rt_bf16_to_f32(hb[i]);
    }
    expect(rel(hm, o, (size_t)B * T, (size_t)nq * d, 0, (size_t)nq * d), TOL_O, "misaligned O",
           name);
    free(hq), free(hb), free(hm);
    cudaFree(gqkv), cudaFree(gout), cudaFree(gatt), cudaFree(glse);
    free(qkv), free(o), free(lse), free(att);
}

int main(void)
{
    int ndev = 0;
    if (cudaGetDeviceCount(&ndev) != cudaSuccess || ndev == 0) {
        printf("no CUDA device: skipped\n");
        return 77;
    }
    /* which head dims take the tensor cores (attention_tc.cuh) */
    CHECK(cu_attn_tc_supported(64) && cu_attn_tc_supported(128), "d = 64, 128 on tensor cores");
    CHECK(!cu_attn_tc_supported(8), "d = 8 (not a multiple of 16) on the fallback");
    static const shape shapes[] = {
        {2, 100, 8, 2, 64, 1.0f},  /* GQA 4, T = 64 + 36, batch 2 */
        {1, 200, 4, 4, 128, 1.0f}, /* MHA, d = 128, 4 tiles with a ragged last one */
        {2, 77, 6, 3, 128, 3.0f},  /* GQA 2, peaky softmax */
        {1, 64, 2, 1, 64, 1.0f},   /* MQA, exactly one tile */
        {1, 1, 2, 1, 64, 1.0f},    /* a single token */
        {1, 520, 8, 2, 64, 1.0f},  /* many tiles in every pass */
        {2, 33, 2, 2, 16, 1.0f},   /* d = 16 */
        {1, 50, 4, 1, 32, 2.0f},   /* d = 32, MQA */
        {1, 130, 4, 2, 80, 1.0f},  /* d = 80 */
        {1, 96, 2, 1, 96, 1.0f},   /* d = 96 */
        {2, 40, 4, 2, 8, 1.0f},    /* d = 8: fallback through the same launcher */
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        run_shape(&shapes[i]);
    }
    extras();
    return check_summary();
}
