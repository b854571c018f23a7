/* ops.cu -- the CUDA backend's kernels and GEMMs, op for op the same math as cpu/kernels.c (the
 * specification): embedding, positions, LayerNorm/RMSNorm, RoPE, causal GQA attention (one thread
 * per query row, log-sum-exp stored: flash-style recompute of probabilities in backward),
 * GELU/SwiGLU, residual, vocab-parallel cross-entropy, AdamW. GEMMs are cuBLAS with fp32
 * accumulation (row-major llm.c shapes mapped onto column-major cuBLAS as llm.c's matmul_forward).
 *
 * Deliberately simple kernels (a thread per row or element): correctness against the CPU backend
 * first; bf16 cuBLASLt GEMMs and a tiled flash-attention kernel are the next step
 * (docs/runtime.md).
 * Launch errors are recorded in cu_ctx.status and surfaced by the backend's clock().
 */
#include <math.h>

#include "cuda/cu_ops.h"

static inline cu_ctx *CX(rt_rank *r)
{
    return (cu_ctx *)r->bctx;
}

static inline unsigned blocks(size_t n, unsigned t = 256)
{
    return (unsigned)((n + t - 1) / t);
}

static inline void check_launch(rt_rank *r)
{
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess && CX(r)->status == 0) {
        CX(r)->status = (int)e;
    }
}

// ---------------------------------------------------------------------------
// embedding and positions

__global__ void k_embed_fwd(float *out, const int *tok, const float *wte, int N, int C, int voff,
                            int V)
{
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= (size_t)N * C) {
        return;
    }
    int n = (int)(i / C);
    int c = (int)(i % C);
    int t = tok[n] - voff;
    out[i] = (t >= 0 && t < V) ? wte[(size_t)t * C + c] : 0.0f;
}

__global__ void k_embed_bwd(float *dwte, const float *dout, const int *tok, int N, int C, int voff,
                            int V)
{
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= (size_t)N * C) {
        return;
    }
    int n = (int)(i / C);
    int t = tok[n] - voff;
    if (t >= 0 && t < V) {
        atomicAdd(&dwte[(size_t)t * C + i % C], dout[i]);
    }
}

__global__ void k_pos(float *a, const float *b, int N, int T, int C, int row0, int bwd)
{
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= (size_t)N * C) {
        return;
    }
    int n = (int)(i / C);
    size_t p = (size_t)((row0 + n) % T) * C + i % C;
    if (bwd) {
        atomicAdd(&a[p], b[i]); /* a = dwpe, b = dout */
    } else {
        a[i] += b[p]; /* a = out, b = wpe */
    }
}

extern "C" void cu_embed_fwd(rt_rank *r, float *out, const int *tok, const float *wte, int N,
                             int C, int voff, int V)
{
    k_embed_fwd<<<blocks((size_t)N * C), 256, 0, CX(r)->s>>>(out, tok, wte, N, C, voff, V);
    check_launch(r);
}

extern "C" void cu_embed_bwd(rt_rank *r, float *dwte, const float *dout, const int *tok, int N,
                             int C, int voff, int V)
{
    k_embed_bwd<<<blocks((size_t)N * C), 256, 0, CX(r)->s>>>(dwte, dout, tok, N, C, voff, V);
    check_launch(r);
}

extern "C" void cu_pos_fwd(rt_rank *r, float *out, const float *wpe, int N, int T, int C, int row0)
{
    k_pos<<<blocks((size_t)N * C), 256, 0, CX(r)->s>>>(out, wpe, N, T, C, row0, 0);
    check_launch(r);
}

extern "C" void cu_pos_bwd(rt_rank *r, float *dwpe, const float *dout, int N, int T, int C,
                           int row0)
{
    k_pos<<<blocks((size_t)N * C), 256, 0, CX(r)->s>>>(dwpe, dout, N, T, C, row0, 1);
    check_launch(r);
}

// ---------------------------------------------------------------------------
// norms (a thread per row; weight/bias gradients by atomics)

__global__ void k_norm_fwd(float *out, float *mean, float *rstd, const float *inp, const float *w,
                           const float *b, int N, int C, int rms)
{
    int n = blockIdx.x * blockDim.x + threadIdx.x;
    if (n >= N) {
        return;
    }
    const float *x = inp + (size_t)n * C;
    double m = 0.0;
    if (!rms) {
        for (int i = 0; i < C; i++) {
            m += x[i];
        }
        m /= C;
    }
    double v = 0.0;
    for (int i = 0; i < C; i++) {
        double xm = x[i] - m;
        v += xm * xm;
    }
    v /= C;
    float s = (float)(1.0 / sqrt(v + 1e-5));
    float *o = out + (size_t)n * C;
    for (int i = 0; i < C; i++) {
        o[i] = (float)(x[i] - m) * s * w[i] + (b ? b[i] : 0.0f);
    }
    if (mean) {
        mean[n] = (float)m;
    }
    rstd[n] = s;
}

__global__ void k_norm_bwd(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                           const float *w, const float *mean, const float *rstd, int N, int C,
                           int rms)
{
    int n = blockIdx.x * blockDim.x + threadIdx.x;
    if (n >= N) {
        return;
    }
    const float *d = dout + (size_t)n * C;
    const float *x = inp + (size_t)n * C;
    float *dx = dinp + (size_t)n * C;
    float m = (rms || !mean) ? 0.0f : mean[n];
    float s = rstd[n];
    double dn_mean = 0.0;
    double dnx_mean = 0.0;
    for (int i = 0; i < C; i++) {
        float xh = (x[i] - m) * s;
        float dn = w[i] * d[i];
        dn_mean += dn;
        dnx_mean += dn * xh;
    }
    dn_mean = rms ? 0.0 : dn_mean / C;
    dnx_mean /= C;
    for (int i = 0; i < C; i++) {
        float xh = (x[i] - m) * s;
        float dn = w[i] * d[i];
        if (db) {
            atomicAdd(&db[i], d[i]);
        }
        atomicAdd(&dw[i], xh * d[i]);
        dx[i] += (float)(dn - dn_mean - xh * dnx_mean) * s;
    }
}

extern "C" void cu_norm_fwd(rt_rank *r, float *out, float *mean, float *rstd, const float *inp,
                            const float *w, const float *b, int N, int C, bool rms)
{
    k_norm_fwd<<<blocks((size_t)N, 128), 128, 0, CX(r)->s>>>(out, mean, rstd, inp, w, b, N, C,
                                                              rms);
    check_launch(r);
}

extern "C" void cu_norm_bwd(rt_rank *r, float *dinp, float *dw, float *db, const float *dout,
                            const float *inp, const float *w, const float *mean, const float *rstd,
                            int N, int C, bool rms)
{
    k_norm_bwd<<<blocks((size_t)N, 128), 128, 0, CX(r)->s>>>(dinp, dw, db, dout, inp, w, mean,
                                                              rstd, N, C, rms);
    check_launch(r);
}

// ---------------------------------------------------------------------------
// GEMMs: row-major out (N, OC) = inp (N, C) @ w (OC, C)^T is column-major out^T = w^T-op x inp

__global__ void k_bias_rows(float *out, const float *bias, int N, int OC)
{
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i < (size_t)N * OC) {
        out[i] += bias[i % OC];
    }
}

__global__ void k_colsum(float *db, const float *dout, int N, int C)
{
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) {
        return;
    }
    float s = 0.0f;
    for (int n = 0; n < N; n++) {
        s += dout[(size_t)n * C + c];
    }
    db[c] += s;
}

static void blas_check(rt_rank *r, cublasStatus_t st)
{
    if (st != CUBLAS_STATUS_SUCCESS && CX(r)->status == 0) {
        CX(r)->status = 100000 + (int)st; /* cuBLAS codes offset from CUDA's */
    }
}

extern "C" void cu_matmul_fwd(rt_rank *r, float *out, const float *inp, const float *w,
                              const float *bias, int N, int C, int OC)
{
    const float one = 1.0f;
    const float zero = 0.0f;
    blas_check(r, cublasSgemm(CX(r)->blas, CUBLAS_OP_T, CUBLAS_OP_N, OC, N, C, &one, w, C, inp,
                              C, &zero, out, OC));
    if (bias) {
        k_bias_rows<<<blocks((size_t)N * OC), 256, 0, CX(r)->s>>>(out, bias, N, OC);
        check_launch(r);
    }
}

extern "C" void cu_matmul_bwd(rt_rank *r, float *dinp, float *dw, float *db, const float *dout,
                              const float *inp, const float *w, int N, int C, int OC)
{
    const float one = 1.0f;
    const float zero = 0.0f;
    if (dinp) { /* dinp (N, C) = dout (N, OC) @ w (OC, C) */
        blas_check(r, cublasSgemm(CX(r)->blas, CUBLAS_OP_N, CUBLAS_OP_N, C, N, OC, &one, w, C,
                                  dout, OC, &zero, dinp, C));
    }
    /* dw (OC, C) += dout^T @ inp */
    blas_check(r, cublasSgemm(CX(r)->blas, CUBLAS_OP_N, CUBLAS_OP_T, C, OC, N, &one, inp, C, dout,
                              OC, &one, dw, C));
    if (db) {
        k_colsum<<<blocks((size_t)OC), 256, 0, CX(r)->s>>>(db, dout, N, OC);
        check_launch(r);
    }
}

// ---------------------------------------------------------------------------
// RoPE and attention

__global__ void k_rope(float *qkv, int B, int T, int nq, int nkv, int d, int inverse)
{
    int half = d / 2;
    size_t total = (size_t)B * T * (nq + nkv) * half;
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= total) {
        return;
    }
    int k = (int)(i % half);
    size_t rest = i / half;
    int h = (int)(rest % (nq + nkv));
    size_t row = rest / (nq + nkv);
    int t = (int)(row % T);
    float *x = qkv + row * (size_t)((nq + 2 * nkv) * d) + (size_t)h * d;
    double theta = t * pow(10000.0, -2.0 * k / d);
    float c = (float)cos(theta);
    float s = (float)sin(theta);
    if (inverse) {
        s = -s;
    }
    float x1 = x[k];
    float x2 = x[k + half];
    x[k] = x1 * c - x2 * s;
    x[k + half] = x1 * s + x2 * c;
}

extern "C" void cu_rope(rt_rank *r, float *qkv, int B, int T, int nq, int nkv, int d, bool inverse)
{
    size_t total = (size_t)B * T * (nq + nkv) * (d / 2);
    k_rope<<<blocks(total), 256, 0, CX(r)->s>>>(qkv, B, T, nq, nkv, d, inverse);
    check_launch(r);
}

/* one thread per (b, h, t): online softmax over j <= t (flash-style), out and lse */
__global__ void k_attn_fwd(float *out, float *lse, float *att, const float *qkv, int B, int T,
                           int nq, int nkv, int d)
{
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= (size_t)B * nq * T) {
        return;
    }
    int t = (int)(i % T);
    int h = (int)((i / T) % nq);
    int b = (int)(i / ((size_t)T * nq));
    int QKV = (nq + 2 * nkv) * d;
    int kh = h / (nq / nkv);
    float scale = rsqrtf((float)d);
    const float *q = qkv + ((size_t)b * T + t) * QKV + (size_t)h * d;
    float *o = out + ((size_t)b * T + t) * (size_t)(nq * d) + (size_t)h * d;
    double mx = -INFINITY;
    for (int j = 0; j <= t; j++) {
        const float *k = qkv + ((size_t)b * T + j) * QKV + (size_t)(nq + kh) * d;
        double s = 0.0;
        for (int c = 0; c < d; c++) {
            s += (double)q[c] * k[c];
        }
        mx = fmax(mx, s * scale);
    }
    double sum = 0.0;
    for (int c = 0; c < d; c++) {
        o[c] = 0.0f;
    }
    for (int j = 0; j <= t; j++) {
        const float *k = qkv + ((size_t)b * T + j) * QKV + (size_t)(nq + kh) * d;
        double s = 0.0;
        for (int c = 0; c < d; c++) {
            s += (double)q[c] * k[c];
        }
        double p = exp(s * scale - mx);
        sum += p;
        const float *v = qkv + ((size_t)b * T + j) * QKV + (size_t)(nq + nkv + kh) * d;
        for (int c = 0; c < d; c++) {
            o[c] += (float)p * v[c];
        }
    }
    for (int c = 0; c < d; c++) {
        o[c] = (float)(o[c] / sum);
    }
    float L = (float)(mx + log(sum));
    lse[((size_t)b * nq + h) * T + t] = L;
    if (att) {
        float *arow = att + (((size_t)b * nq + h) * T + t) * T;
        for (int j = 0; j < T; j++) {
            float pj = 0.0f;
            if (j <= t) {
                const float *k = qkv + ((size_t)b * T + j) * QKV + (size_t)(nq + kh) * d;
                double s = 0.0;
                for (int c = 0; c < d; c++) {
                    s += (double)q[c] * k[c];
                }
                pj = (float)exp(s * scale - L);
            }
            arow[j] = pj;
        }
    }
}

__global__ void k_attn_bwd(float *dqkv, const float *dout, const float *qkv, const float *out,
                           const float *lse, const float *att, int B, int T, int nq, int nkv,
                           int d)
{
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= (size_t)B * nq * T) {
        return;
    }
    int t = (int)(i % T);
    int h = (int)((i / T) % nq);
    int b = (int)(i / ((size_t)T * nq));
    int QKV = (nq + 2 * nkv) * d;
    int kh = h / (nq / nkv);
    float scale = rsqrtf((float)d);
    size_t row = (size_t)b * T + t;
    const float *q = qkv + row * QKV + (size_t)h * d;
    float *dq = dqkv + row * QKV + (size_t)h * d;
    const float *dO = dout + row * (size_t)(nq * d) + (size_t)h * d;
    const float *O = out + row * (size_t)(nq * d) + (size_t)h * d;
    float L = lse[((size_t)b * nq + h) * T + t];
    double D = 0.0;
    for (int c = 0; c < d; c++) {
        D += (double)dO[c] * O[c];
    }
    for (int j = 0; j <= t; j++) {
        size_t rj = (size_t)b * T + j;
        const float *k = qkv + rj * QKV + (size_t)(nq + kh) * d;
        const float *v = qkv + rj * QKV + (size_t)(nq + nkv + kh) * d;
        float *dk = dqkv + rj * QKV + (size_t)(nq + kh) * d;
        float *dv = dqkv + rj * QKV + (size_t)(nq + nkv + kh) * d;
        float pj;
        if (att) {
            pj = att[(((size_t)b * nq + h) * T + t) * T + j];
        } else {
            double s = 0.0;
            for (int c = 0; c < d; c++) {
                s += (double)q[c] * k[c];
            }
            pj = (float)exp(s * scale - L);
        }
        double dp = 0.0;
        for (int c = 0; c < d; c++) {
            dp += (double)dO[c] * v[c];
        }
        float ds = (float)(pj * (dp - D)) * scale;
        for (int c = 0; c < d; c++) {
            dq[c] += ds * k[c];
            atomicAdd(&dk[c], ds * q[c]);
            atomicAdd(&dv[c], pj * dO[c]);
        }
    }
}

extern "C" void cu_attn_fwd(rt_rank *r, float *out, float *lse, float *att, const float *qkv,
                            int B, int T, int nq, int nkv, int d)
{
    k_attn_fwd<<<blocks((size_t)B * nq * T, 128), 128, 0, CX(r)->s>>>(out, lse, att, qkv, B, T,
                                                                       nq, nkv, d);
    check_launch(r);
}

extern "C" void cu_attn_bwd(rt_rank *r, float *dqkv, const float *dout, const float *qkv,
                            const float *out, const float *lse, const float *att, int B, int T,
                            int nq, int nkv, int d)
{
    cudaMemsetAsync(dqkv, 0, (size_t)B * T * (nq + 2 * nkv) * d * sizeof(float), CX(r)->s);
    k_attn_bwd<<<blocks((size_t)B * nq * T, 128), 128, 0, CX(r)->s>>>(dqkv, dout, qkv, out, lse,
                                                                       att, B, T, nq, nkv, d);
    check_launch(r);
}

// ---------------------------------------------------------------------------
// activations, residual, bias, add

#define GELU_SCALE 0.7978845608028654f

__global__ void k_act_fwd(float *out, const float *inp, int N, int F, int swiglu)
{
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= (size_t)N * F) {
        return;
    }
    if (!swiglu) {
        float x = inp[i];
        out[i] = 0.5f * x * (1.0f + tanhf(GELU_SCALE * (x + 0.044715f * x * x * x)));
    } else {
        size_t n = i / F;
        size_t k = i % F;
        float g = inp[n * 2 * F + k];
        float u = inp[n * 2 * F + F + k];
        out[i] = g / (1.0f + expf(-g)) * u;
    }
}

__global__ void k_act_bwd(float *dinp, const float *dout, const float *inp, int N, int F,
                          int swiglu)
{
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= (size_t)N * F) {
        return;
    }
    if (!swiglu) {
        float x = inp[i];
        float a = GELU_SCALE * (x + 0.044715f * x * x * x);
        float ch = coshf(a);
        float grad = 0.5f * (1.0f + tanhf(a)) +
                     x * 0.5f / (ch * ch) * GELU_SCALE * (1.0f + 3.0f * 0.044715f * x * x);
        dinp[i] = grad * dout[i];
    } else {
        size_t n = i / F;
        size_t k = i % F;
        float g = inp[n * 2 * F + k];
        float u = inp[n * 2 * F + F + k];
        float s = 1.0f / (1.0f + expf(-g));
        dinp[n * 2 * F + k] = dout[i] * u * s * (1.0f + g * (1.0f - s));
        dinp[n * 2 * F + F + k] = dout[i] * g * s;
    }
}

extern "C" void cu_act_fwd(rt_rank *r, float *out, const float *inp, int N, int F, rt_actkind k)
{
    k_act_fwd<<<blocks((size_t)N * F), 256, 0, CX(r)->s>>>(out, inp, N, F, k == RT_ACT_SWIGLU);
    check_launch(r);
}

extern "C" void cu_act_bwd(rt_rank *r, float *dinp, const float *dout, const float *inp, int N,
                           int F, rt_actkind k)
{
    k_act_bwd<<<blocks((size_t)N * F), 256, 0, CX(r)->s>>>(dinp, dout, inp, N, F,
                                                            k == RT_ACT_SWIGLU);
    check_launch(r);
}

__global__ void k_residual(float *out, const float *a, const float *b, const float *bias, int N,
                           int C)
{
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i < (size_t)N * C) {
        out[i] = a[i] + b[i] + (bias ? bias[i % C] : 0.0f);
    }
}

extern "C" void cu_residual_fwd(rt_rank *r, float *out, const float *a, const float *b,
                                const float *bias, int N, int C)
{
    k_residual<<<blocks((size_t)N * C), 256, 0, CX(r)->s>>>(out, a, b, bias, N, C);
    check_launch(r);
}

extern "C" void cu_bias_bwd(rt_rank *r, float *db, const float *dout, int N, int C)
{
    k_colsum<<<blocks((size_t)C), 256, 0, CX(r)->s>>>(db, dout, N, C);
    check_launch(r);
}

__global__ void k_add(float *dst, const float *src, size_t n)
{
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i < n) {
        dst[i] += src[i];
    }
}

extern "C" void cu_add(rt_rank *r, float *dst, const float *src, size_t n)
{
    k_add<<<blocks(n), 256, 0, CX(r)->s>>>(dst, src, n);
    check_launch(r);
}

// ---------------------------------------------------------------------------
// vocab-parallel cross-entropy (a thread per row)

__global__ void k_ce_max(float *mx, const float *logits, int N, int V)
{
    int n = blockIdx.x * blockDim.x + threadIdx.x;
    if (n >= N) {
        return;
    }
    float m = -INFINITY;
    for (int i = 0; i < V; i++) {
        m = fmaxf(m, logits[(size_t)n * V + i]);
    }
    mx[n] = m;
}

__global__ void k_ce_partial(float *stats, const float *logits, const float *mx, const int *tgt,
                             int N, int V, int voff)
{
    int n = blockIdx.x * blockDim.x + threadIdx.x;
    if (n >= N) {
        return;
    }
    const float *l = logits + (size_t)n * V;
    double s = 0.0;
    for (int i = 0; i < V; i++) {
        s += exp((double)l[i] - mx[n]);
    }
    stats[n] = (float)s;
    int t = tgt[n] - voff;
    stats[N + n] = (t >= 0 && t < V) ? l[t] : 0.0f;
}

__global__ void k_ce_finish(float *probs, float *losses, const float *stats, const float *mx,
                            int N, int V)
{
    int n = blockIdx.x * blockDim.x + threadIdx.x;
    if (n >= N) {
        return;
    }
    double s = stats[n];
    losses[n] = (float)(log(s) + mx[n] - stats[N + n]);
    float *l = probs + (size_t)n * V;
    for (int i = 0; i < V; i++) {
        l[i] = (float)(exp((double)l[i] - mx[n]) / s);
    }
}

__global__ void k_ce_bwd(float *dl, const int *tgt, int N, int V, int voff, float scale)
{
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= (size_t)N * V) {
        return;
    }
    int n = (int)(i / V);
    int k = (int)(i % V);
    dl[i] = (dl[i] - (k == tgt[n] - voff ? 1.0f : 0.0f)) * scale;
}

extern "C" void cu_ce_max(rt_rank *r, float *mx, const float *logits, int N, int V)
{
    k_ce_max<<<blocks((size_t)N, 128), 128, 0, CX(r)->s>>>(mx, logits, N, V);
    check_launch(r);
}

extern "C" void cu_ce_partial(rt_rank *r, float *stats, const float *logits, const float *mx,
                              const int *tgt, int N, int V, int voff)
{
    k_ce_partial<<<blocks((size_t)N, 128), 128, 0, CX(r)->s>>>(stats, logits, mx, tgt, N, V,
                                                                voff);
    check_launch(r);
}

extern "C" void cu_ce_finish(rt_rank *r, float *probs, float *losses, const float *stats,
                             const float *mx, int N, int V)
{
    k_ce_finish<<<blocks((size_t)N, 128), 128, 0, CX(r)->s>>>(probs, losses, stats, mx, N, V);
    check_launch(r);
}

extern "C" void cu_ce_bwd(rt_rank *r, float *dlogits, const int *tgt, int N, int V, int voff,
                          float scale)
{
    k_ce_bwd<<<blocks((size_t)N * V), 256, 0, CX(r)->s>>>(dlogits, tgt, N, V, voff, scale);
    check_launch(r);
}

// ---------------------------------------------------------------------------
// AdamW

__global__ void k_adamw(float *p, const float *g, float *m, float *v, size_t n, float lr, float b1,
                        float b2, float eps, float wd, float c1, float c2)
{
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= n) {
        return;
    }
    m[i] = b1 * m[i] + (1.0f - b1) * g[i];
    v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
    float mh = m[i] / c1;
    float vh = v[i] / c2;
    p[i] -= lr * (mh / (sqrtf(vh) + eps) + wd * p[i]);
}

extern "C" void cu_adamw(rt_rank *r, float *p, const float *g, float *m, float *v, size_t n,
                         float lr, float b1, float b2, float eps, float wd, int t)
{
    float c1 = 1.0f - powf(b1, (float)t);
    float c2 = 1.0f - powf(b2, (float)t);
    if (n > 0) {
        k_adamw<<<blocks(n), 256, 0, CX(r)->s>>>(p, g, m, v, n, lr, b1, b2, eps, wd, c1, c2);
        check_launch(r);
    }
}
