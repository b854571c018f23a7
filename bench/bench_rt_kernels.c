/* bench_rt_kernels.c -- times the runtime's CUDA kernels on one GPU and prints one JSON line per
 * case, for the GPU session to put beside PyTorch on the same shapes:
 *   GEMM: row-major out (M, N) = A (M, K) . B (N, K)^T through cu_gemm_raw (cuBLASLt, bf16 A/B/C,
 *         fp32 accumulation: the runtime's forward GEMM) ~ torch.matmul(a, b.t()), 2MNK FLOPs;
 *   attention: causal flash forward and backward (cu_flash_fwd / cu_flash_bwd) on
 *         (b, heads, kv_heads, seq, head_dim) ~ F.scaled_dot_product_attention(is_causal=True);
 *         FLOPs as the FlashAttention benchmarks count them: forward 4 b h s^2 d / 2 (causal),
 *         backward 2.5 x forward.
 * Method: random data, the L2 cache flushed (a 256 MiB memset) before every timed iteration,
 * CUDA events around the kernel only, median of --iters (default 50) after 5 warm-ups.
 * Usage: bench_rt_kernels [--dtype bf16|fp32] [--iters N] [--gemm M,N,K]... [--attn b,h,g,s,d]...
 * Without cases: GPT-1.3B (h 2048, 16 heads, s 2048, mbs 4) layer GEMMs and its attention.
 * Exit: 0, 1 on a CUDA error, 2 on bad arguments, 77 without a GPU.
 */
#include <cuda_runtime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/cu_ops.h"

#define MAXC 64

static int cmp_f(const void *a, const void *b)
{
    float x = *(const float *)a;
    float y = *(const float *)b;
    return (x > y) - (x < y);
}

static void *rand_dev(size_t n, rt_dtype dt, float scale)
{
    size_t es = rt_dsize(dt);
    unsigned char *h = malloc(n * es + 1);
    void *d = NULL;
    if (!h || cudaMalloc(&d, n * es + 16) != cudaSuccess) {
        free(h);
        return NULL;
    }
    uint64_t s = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        float f = scale * (float)((double)(s >> 11) * 0x1.0p-53 * 2.0 - 1.0);
        if (dt == RT_BF16) {
            uint32_t u;
            memcpy(&u, &f, 4);
            uint16_t b = (uint16_t)((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
            memcpy(h + 2 * i, &b, 2);
        } else {
            memcpy(h + 4 * i, &f, 4);
        }
    }
    cudaMemcpy(d, h, n * es, cudaMemcpyHostToDevice);
    free(h);
    return d;
}

typedef struct timer {
    cudaStream_t s;
    cudaEvent_t a, b;
    void *flush;
    size_t flush_bytes;
} timer;

static void flush_l2(timer *t)
{
    cudaMemsetAsync(t->flush, t->flush_bytes & 0xFF, t->flush_bytes, t->s);
}

static int gemm_case(timer *t, rt_dtype dt, cu_ctx *c, int M, int N, int K, int iters)
{
    void *A = rand_dev((size_t)M * K, dt, 1.0f);
    void *B = rand_dev((size_t)N * K, dt, 1.0f);
    void *D = rand_dev((size_t)M * N, dt, 0.0f);
    if (!A || !B || !D) {
        fprintf(stderr, "bench: device allocation failed for gemm %dx%dx%d\n", M, N, K);
        return 1;
    }
    float *ms = calloc((size_t)iters, sizeof *ms);
    for (int i = -5; i < iters; i++) {
        flush_l2(t);
        cudaEventRecord(t->a, t->s);
        int st = cu_gemm_raw(c, dt, dt, 1, 0, N, M, K, B, K, A, K, D, N, 0.0f, NULL);
        cudaEventRecord(t->b, t->s);
        cudaEventSynchronize(t->b);
        if (st != 0) {
            fprintf(stderr, "bench: cuBLASLt status %d\n", st);
            return 1;
        }
        if (i >= 0) {
            cudaEventElapsedTime(&ms[i], t->a, t->b);
        }
    }
    qsort(ms, (size_t)iters, sizeof *ms, cmp_f);
    double med = ms[iters / 2];
    double fl = 2.0 * M * N * K;
    printf("{\"kind\":\"gemm\",\"m\":%d,\"n\":%d,\"k\":%d,\"dtype\":\"%s\",\"iters\":%d,"
           "\"median_ms\":%.5f,\"tflops\":%.2f}\n",
           M, N, K, dt == RT_BF16 ? "bf16" : "fp32", iters, med, fl / (med * 1e-3) / 1e12);
    free(ms);
    cudaFree(A);
    cudaFree(B);
    cudaFree(D);
    return 0;
}

static int attn_case(timer *t, rt_dtype dt, int b, int h, int g, int s, int d, int iters)
{
    size_t rows = (size_t)b * s;
    size_t qkvw = (size_t)(h + 2 * g) * d;
    void *qkv = rand_dev(rows * qkvw, dt, 1.0f);
    void *out = rand_dev(rows * (size_t)h * d, dt, 0.0f);
    void *dout = rand_dev(rows * (size_t)h * d, dt, 1.0f);
    void *dqkv = rand_dev(rows * qkvw, dt, 0.0f);
    float *lse = NULL;
    if (!qkv || !out || !dout || !dqkv ||
        cudaMalloc((void **)&lse, (size_t)b * h * s * sizeof(float)) != cudaSuccess) {
        fprintf(stderr, "bench: device allocation failed for attention\n");
        return 1;
    }
    float *fw = calloc((size_t)iters, sizeof *fw);
    float *bw = calloc((size_t)iters, sizeof *bw);
    for (int i = -5; i < iters; i++) {
        flush_l2(t);
        cudaEventRecord(t->a, t->s);
        int st = cu_flash_fwd(t->s, dt, out, lse, NULL, qkv, b, s, h, g, d);
        cudaEventRecord(t->b, t->s);
        cudaEventSynchronize(t->b);
        if (i >= 0) {
            cudaEventElapsedTime(&fw[i], t->a, t->b);
        }
        flush_l2(t);
        cudaEventRecord(t->a, t->s);
        st = st ? st : cu_flash_bwd(t->s, dt, dqkv, dout, qkv, out, lse, NULL, b, s, h, g, d);
        cudaEventRecord(t->b, t->s);
        cudaEventSynchronize(t->b);
        if (st != 0) {
            fprintf(stderr, "bench: attention kernel error %d (%s)\n", st,
                    cudaGetErrorString((cudaError_t)st));
            return 1;
        }
        if (i >= 0) {
            cudaEventElapsedTime(&bw[i], t->a, t->b);
        }
    }
    qsort(fw, (size_t)iters, sizeof *fw, cmp_f);
    qsort(bw, (size_t)iters, sizeof *bw, cmp_f);
    double f_ms = fw[iters / 2];
    double b_ms = bw[iters / 2];
    double ffl = 4.0 * b * h * (double)s * s * d / 2.0;
    printf("{\"kind\":\"attention\",\"b\":%d,\"heads\":%d,\"kv_heads\":%d,\"seq\":%d,"
           "\"head_dim\":%d,\"causal\":true,\"dtype\":\"%s\",\"iters\":%d,\"fwd_ms\":%.5f,"
           "\"bwd_ms\":%.5f,\"fwd_tflops\":%.2f,\"bwd_tflops\":%.2f,\"fwd_bwd_tflops\":%.2f}\n",
           b, h, g, s, d, dt == RT_BF16 ? "bf16" : "fp32", iters, f_ms, b_ms,
           ffl / (f_ms * 1e-3) / 1e12, 2.5 * ffl / (b_ms * 1e-3) / 1e12,
           3.5 * ffl / ((f_ms + b_ms) * 1e-3) / 1e12);
    free(fw);
    free(bw);
    cudaFree(qkv);
    cudaFree(out);
    cudaFree(dout);
    cudaFree(dqkv);
    cudaFree(lse);
    return 0;
}

int main(int argc, char **argv)
{
    int gem[MAXC][3];
    int att[MAXC][5];
    int ng = 0;
    int na = 0;
    int iters = 50;
    rt_dtype dt = RT_BF16;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--iters") && v && (iters = atoi(v)) > 0) {
            i++;
        } else if (!strcmp(argv[i], "--dtype") && v && (!strcmp(v, "bf16") || !strcmp(v, "fp32"))) {
            dt = strcmp(v, "bf16") ? RT_F32 : RT_BF16;
            i++;
        } else if (!strcmp(argv[i], "--gemm") && v && ng < MAXC &&
                   sscanf(v, "%d,%d,%d", &gem[ng][0], &gem[ng][1], &gem[ng][2]) == 3 &&
                   gem[ng][0] > 0 && gem[ng][1] > 0 && gem[ng][2] > 0) {
            ng++;
            i++;
        } else if (!strcmp(argv[i], "--attn") && v && na < MAXC &&
                   sscanf(v, "%d,%d,%d,%d,%d", &att[na][0], &att[na][1], &att[na][2], &att[na][3],
                          &att[na][4]) == 5 &&
                   att[na][0] > 0 && att[na][2] > 0 && att[na][1] % att[na][2] == 0) {
            na++;
            i++;
        } else {
            fprintf(stderr, "bench_rt_kernels: bad argument '%s' (see the header for usage)\n",
                    argv[i]);
            return 2;
        }
    }
    if (ng == 0 && na == 0) { /* GPT-1.3B: rows 4 x 2048, h 2048, ffn 8192, vocab 50304 */
        int dg[6][3] = {{8192, 6144, 2048}, {8192, 2048, 2048},  {8192, 8192, 2048},
                        {8192, 2048, 8192}, {8192, 50304, 2048}, {4096, 4096, 4096}};
        for (int k = 0; k < 6; k++) {
            memcpy(gem[ng++], dg[k], sizeof dg[k]);
        }
        int da[2][5] = {{4, 16, 16, 2048, 128}, {1, 32, 8, 4096, 128}};
        for (int k = 0; k < 2; k++) {
            memcpy(att[na++], da[k], sizeof da[k]);
        }
    }
    int ndev = 0;
    if (cudaGetDeviceCount(&ndev) != cudaSuccess || ndev == 0) {
        fprintf(stderr, "bench_rt_kernels: no CUDA device\n");
        return 77;
    }
    timer t;
    memset(&t, 0, sizeof t);
    cu_ctx c;
    memset(&c, 0, sizeof c);
    t.flush_bytes = 256u << 20;
    if (cudaStreamCreate(&t.s) != cudaSuccess || cudaEventCreate(&t.a) != cudaSuccess ||
        cudaEventCreate(&t.b) != cudaSuccess ||
        cudaMalloc(&t.flush, t.flush_bytes) != cudaSuccess) {
        fprintf(stderr, "bench_rt_kernels: CUDA setup failed\n");
        return 1;
    }
    c.s = t.s;
    if (cu_gemm_init(&c) != 0) {
        fprintf(stderr, "bench_rt_kernels: cuBLASLt setup failed\n");
        return 1;
    }
    int rc = 0;
    for (int k = 0; k < ng && rc == 0; k++) {
        rc = gemm_case(&t, dt, &c, gem[k][0], gem[k][1], gem[k][2], iters);
    }
    for (int k = 0; k < na && rc == 0; k++) {
        rc = attn_case(&t, dt, att[k][0], att[k][1], att[k][2], att[k][3], att[k][4], iters);
    }
    cu_gemm_destroy(&c);
    cudaFree(t.flush);
    cudaStreamDestroy(t.s);
    return rc;
}
