/* attention.cu -- RoPE and causal GQA attention, flash-style: tiled over keys in shared memory,
 * online softmax (Milakov & Gimelshein 2018; Dao et al. 2022), the log-sum-exp per query row saved
 * for the backward, which recomputes the probabilities (or reads them when standard attention
 * stored them). Query head h reads kv head h / (nq / nkv).
 *
 * Layout (llm.c): qkv rows (B*T, (nq + 2 nkv) d) = [Q heads | K heads | V heads]; out (B*T, nq d);
 * lse (B, nq, T) fp32. Storage bf16 or fp32, arithmetic fp32.
 * Forward: one block per (batch, query head, 64-query tile), a thread per query row holding q and
 * its output accumulator in registers, K/V tiles of 32 keys staged in shared memory as fp32.
 * Backward in two passes, no atomics and no scratch: dQ query-major (like the forward); dK/dV
 * key-major (one block per (batch, kv head, 64-key tile), looping over the group's query heads
 * and the query tiles at or after the key tile). D_t = dO_t . O_t is recomputed where needed.
 * Head dims 8, 16, 32, 64, 80, 96, 128 are instantiated; others are refused (status set).
 * These fp32-FMA kernels serve fp32 storage and every case the bf16 tensor-core kernels of
 * attention_tc.cu do not take (cu_flash_fwd / cu_flash_bwd choose; attention_tc.cuh lists when).
 */
#include <stdint.h>

#include "cuda/attention_tc.cuh"
#include "cuda/cu_common.cuh"

#define FA_BR 64 /* query rows per block (forward, dQ) */
#define FA_BC 32 /* keys per shared-memory tile */
#define FA_BK 64 /* key rows per block (dK/dV) */
#define FA_BQ 32 /* query rows per shared-memory tile (dK/dV) */

// ---------------------------------------------------------------------------
// RoPE (rotate-half, base 10000), in place on q and k; theta in double as the CPU reference

template <typename T>
__global__ void k_rope(T *qkv, int B, int T_, int nq, int nkv, int d, int inverse)
{
    int half = d / 2;
    size_t total = (size_t)B * T_ * (nq + nkv) * half;
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= total) {
        return;
    }
    int k = (int)(i % half);
    size_t rest = i / half;
    int h = (int)(rest % (nq + nkv));
    size_t row = rest / (nq + nkv);
    int t = (int)(row % T_);
    T *x = qkv + row * (size_t)((nq + 2 * nkv) * d) + (size_t)h * d;
    double theta = t * pow(10000.0, -2.0 * k / d);
    float c = (float)cos(theta);
    float s = (float)sin(theta);
    if (inverse) {
        s = -s;
    }
    float x1 = ld(x, k);
    float x2 = ld(x, k + half);
    st(x, k, x1 * c - x2 * s);
    st(x, k + half, x1 * s + x2 * c);
}

extern "C" void cu_rope(rt_rank *r, void *qkv, int B, int Tq, int nq, int nkv, int d, bool inverse)
{
    size_t n = (size_t)B * Tq * (nq + nkv) * (d / 2);
    CU_DISPATCH(r->adt, (k_rope<T><<<nblocks(n), 256, 0, CX(r)->s>>>((T *)qkv, B, Tq, nq, nkv, d,
                                                                      inverse)));
    check_launch(r);
}

// ---------------------------------------------------------------------------
// forward

template <typename T, int D>
__global__ void __launch_bounds__(FA_BR) k_flash_fwd(T *out, float *lse, const T *qkv, int B,
                                                     int T_, int nq, int nkv)
{
    __shared__ float Ks[FA_BC][D];
    __shared__ float Vs[FA_BC][D];
    int b = blockIdx.z;
    int h = blockIdx.y;
    int kh = h / (nq / nkv);
    int t0 = blockIdx.x * FA_BR;
    int t = t0 + threadIdx.x;
    size_t QKV = (size_t)(nq + 2 * nkv) * D;
    float scale = rsqrtf((float)D);
    float q[D];
    float acc[D];
    bool live = t < T_;
    const T *qrow = qkv + ((size_t)b * T_ + (live ? t : 0)) * QKV + (size_t)h * D;
#pragma unroll
    for (int i = 0; i < D; i++) {
        q[i] = live ? ld(qrow, i) : 0.0f;
        acc[i] = 0.0f;
    }
    float m = -INFINITY;
    float l = 0.0f;
    int tmax = min(t0 + FA_BR, T_) - 1; /* causal: no key after the block's last query */
    for (int j0 = 0; j0 <= tmax; j0 += FA_BC) {
        __syncthreads();
        for (int e = threadIdx.x; e < FA_BC * D; e += blockDim.x) {
            int jj = e / D;
            int i = e % D;
            int j = j0 + jj;
            size_t base = ((size_t)b * T_ + (j < T_ ? j : 0)) * QKV;
            Ks[jj][i] = j < T_ ? ld(qkv, base + (size_t)(nq + kh) * D + i) : 0.0f;
            Vs[jj][i] = j < T_ ? ld(qkv, base + (size_t)(nq + nkv + kh) * D + i) : 0.0f;
        }
        __syncthreads();
        if (!live) {
            continue;
        }
        int jend = min(FA_BC, t - j0 + 1);
        for (int jj = 0; jj < jend; jj++) {
            float s = 0.0f;
#pragma unroll
            for (int i = 0; i < D; i++) {
                s += q[i] * Ks[jj][i];
            }
            s *= scale;
            if (s > m) {
                float corr = __expf(m - s);
                l *= corr;
#pragma unroll
                for (int i = 0; i < D; i++) {
                    acc[i] *= corr;
                }
                m = s;
            }
            float p = __expf(s - m);
            l += p;
#pragma unroll
            for (int i = 0; i < D; i++) {
                acc[i] += p * Vs[jj][i];
            }
        }
    }
    if (!live) {
        return;
    }
    float inv = 1.0f / l;
    T *o = out + ((size_t)b * T_ + t) * (size_t)(nq * D) + (size_t)h * D;
#pragma unroll
    for (int i = 0; i < D; i++) {
        st(o, i, acc[i] * inv);
    }
    lse[((size_t)b * nq + h) * T_ + t] = m + logf(l);
}

/* standard attention's stored probabilities att (B, nq, T, T) from the saved log-sum-exp */
template <typename T>
__global__ void k_att_probs(T *att, const T *qkv, const float *lse, int B, int T_, int nq, int nkv,
                            int d)
{
    size_t total = (size_t)B * nq * T_ * T_;
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= total) {
        return;
    }
    int j = (int)(i % T_);
    size_t row = i / T_; /* (b, h, t) */
    int t = (int)(row % T_);
    int h = (int)((row / T_) % nq);
    int b = (int)(row / ((size_t)T_ * nq));
    if (j > t) {
        st(att, i, 0.0f);
        return;
    }
    size_t QKV = (size_t)(nq + 2 * nkv) * d;
    int kh = h / (nq / nkv);
    const T *q = qkv + ((size_t)b * T_ + t) * QKV + (size_t)h * d;
    const T *k = qkv + ((size_t)b * T_ + j) * QKV + (size_t)(nq + kh) * d;
    float s = 0.0f;
    for (int e = 0; e < d; e++) {
        s += ld(q, e) * ld(k, e);
    }
    st(att, i, __expf(s * rsqrtf((float)d) - lse[row]));
}

// ---------------------------------------------------------------------------
// backward, pass 1: dQ (query-major)

template <typename T, int D>
__global__ void __launch_bounds__(FA_BR)
    k_flash_dq(T *dqkv, const T *dout, const T *qkv, const T *out, const float *lse, const T *att,
               int B, int T_, int nq, int nkv)
{
    __shared__ float Ks[FA_BC][D];
    __shared__ float Vs[FA_BC][D];
    int b = blockIdx.z;
    int h = blockIdx.y;
    int kh = h / (nq / nkv);
    int t0 = blockIdx.x * FA_BR;
    int t = t0 + threadIdx.x;
    bool live = t < T_;
    size_t QKV = (size_t)(nq + 2 * nkv) * D;
    size_t row = (size_t)b * T_ + (live ? t : 0);
    float scale = rsqrtf((float)D);
    float q[D];
    float dO[D];
    float dq[D];
    float Dt = 0.0f;
#pragma unroll
    for (int i = 0; i < D; i++) {
        q[i] = live ? ld(qkv, row * QKV + (size_t)h * D + i) : 0.0f;
        dO[i] = live ? ld(dout, row * (size_t)(nq * D) + (size_t)h * D + i) : 0.0f;
        float o = live ? ld(out, row * (size_t)(nq * D) + (size_t)h * D + i) : 0.0f;
        Dt += dO[i] * o;
        dq[i] = 0.0f;
    }
    size_t lrow = ((size_t)b * nq + h) * T_ + (live ? t : 0);
    float L = live ? lse[lrow] : 0.0f;
    int tmax = min(t0 + FA_BR, T_) - 1;
    for (int j0 = 0; j0 <= tmax; j0 += FA_BC) {
        __syncthreads();
        for (int e = threadIdx.x; e < FA_BC * D; e += blockDim.x) {
            int jj = e / D;
            int i = e % D;
            int j = j0 + jj;
            size_t base = ((size_t)b * T_ + (j < T_ ? j : 0)) * QKV;
            Ks[jj][i] = j < T_ ? ld(qkv, base + (size_t)(nq + kh) * D + i) : 0.0f;
            Vs[jj][i] = j < T_ ? ld(qkv, base + (size_t)(nq + nkv + kh) * D + i) : 0.0f;
        }
        __syncthreads();
        if (!live) {
            continue;
        }
        int jend = min(FA_BC, t - j0 + 1);
        for (int jj = 0; jj < jend; jj++) {
            float p;
            if (att) {
                p = ld(att, lrow * T_ + (size_t)(j0 + jj));
            } else {
                float s = 0.0f;
#pragma unroll
                for (int i = 0; i < D; i++) {
                    s += q[i] * Ks[jj][i];
                }
                p = __expf(s * scale - L);
            }
            float dp = 0.0f;
#pragma unroll
            for (int i = 0; i < D; i++) {
                dp += dO[i] * Vs[jj][i];
            }
            float ds = p * (dp - Dt) * scale;
#pragma unroll
            for (int i = 0; i < D; i++) {
                dq[i] += ds * Ks[jj][i];
            }
        }
    }
    if (!live) {
        return;
    }
#pragma unroll
    for (int i = 0; i < D; i++) {
        st(dqkv, row * QKV + (size_t)h * D + i, dq[i]);
    }
}

// ---------------------------------------------------------------------------
// backward, pass 2: dK, dV (key-major; sums over the group's query heads)

template <typename T, int D>
__global__ void __launch_bounds__(FA_BK)
    k_flash_dkv(T *dqkv, const T *dout, const T *qkv, const T *out, const float *lse, const T *att,
                int B, int T_, int nq, int nkv)
{
    __shared__ float Qs[FA_BQ][D];
    __shared__ float dOs[FA_BQ][D];
    __shared__ float Ls[FA_BQ];
    __shared__ float Ds[FA_BQ];
    int b = blockIdx.z;
    int kh = blockIdx.y;
    int grp = nq / nkv;
    int j0 = blockIdx.x * FA_BK;
    int j = j0 + threadIdx.x;
    bool live = j < T_;
    size_t QKV = (size_t)(nq + 2 * nkv) * D;
    size_t jrow = (size_t)b * T_ + (live ? j : 0);
    float scale = rsqrtf((float)D);
    float k[D];
    float v[D];
    float dk[D];
    float dv[D];
#pragma unroll
    for (int i = 0; i < D; i++) {
        k[i] = live ? ld(qkv, jrow * QKV + (size_t)(nq + kh) * D + i) : 0.0f;
        v[i] = live ? ld(qkv, jrow * QKV + (size_t)(nq + nkv + kh) * D + i) : 0.0f;
        dk[i] = 0.0f;
        dv[i] = 0.0f;
    }
    for (int h = kh * grp; h < (kh + 1) * grp; h++) {
        for (int q0 = j0; q0 < T_; q0 += FA_BQ) {
            __syncthreads();
            for (int e = threadIdx.x; e < FA_BQ * D; e += blockDim.x) {
                int tt = e / D;
                int i = e % D;
                int t = q0 + tt;
                size_t row = (size_t)b * T_ + (t < T_ ? t : 0);
                Qs[tt][i] = t < T_ ? ld(qkv, row * QKV + (size_t)h * D + i) : 0.0f;
                dOs[tt][i] = t < T_ ? ld(dout, row * (size_t)(nq * D) + (size_t)h * D + i) : 0.0f;
            }
            for (int tt = threadIdx.x; tt < FA_BQ; tt += blockDim.x) {
                int t = q0 + tt;
                float dsum = 0.0f;
                if (t < T_) {
                    size_t row = (size_t)b * T_ + t;
                    for (int i = 0; i < D; i++) {
                        dsum += ld(dout, row * (size_t)(nq * D) + (size_t)h * D + i) *
                                ld(out, row * (size_t)(nq * D) + (size_t)h * D + i);
                    }
                }
                Ds[tt] = dsum;
                Ls[tt] = t < T_ ? lse[((size_t)b * nq + h) * T_ + t] : 0.0f;
            }
            __syncthreads();
            if (!live) {
                continue;
            }
            int tend = min(FA_BQ, T_ - q0);
            for (int tt = 0; tt < tend; tt++) {
                int t = q0 + tt;
                if (t < j) {
                    continue; /* causal */
                }
                float p;
                if (att) {
                    p = ld(att, (((size_t)b * nq + h) * T_ + t) * T_ + j);
                } else {
                    float s = 0.0f;
#pragma unroll
                    for (int i = 0; i < D; i++) {
                        s += Qs[tt][i] * k[i];
                    }
                    p = __expf(s * scale - Ls[tt]);
                }
                float dp = 0.0f;
#pragma unroll
                for (int i = 0; i < D; i++) {
                    dp += dOs[tt][i] * v[i];
                    dv[i] += p * dOs[tt][i];
                }
                float ds = p * (dp - Ds[tt]) * scale;
#pragma unroll
                for (int i = 0; i < D; i++) {
                    dk[i] += ds * Qs[tt][i];
                }
            }
        }
    }
    if (!live) {
        return;
    }
#pragma unroll
    for (int i = 0; i < D; i++) {
        st(dqkv, jrow * QKV + (size_t)(nq + kh) * D + i, dk[i]);
        st(dqkv, jrow * QKV + (size_t)(nq + nkv + kh) * D + i, dv[i]);
    }
}

// ---------------------------------------------------------------------------
// launchers

#define FA_HEAD_DIMS(X) X(8) X(16) X(32) X(64) X(80) X(96) X(128)

template <typename T>
static int flash_fwd_t(cudaStream_t s, T *out, float *lse, T *att, const T *qkv, int B, int T_,
                       int nq, int nkv, int d)
{
    dim3 grid((unsigned)((T_ + FA_BR - 1) / FA_BR), (unsigned)nq, (unsigned)B);
    switch (d) {
#define CASE(DD)                                                                                   \
    case DD:                                                                                       \
        k_flash_fwd<T, DD><<<grid, FA_BR, 0, s>>>(out, lse, qkv, B, T_, nq, nkv);                  \
        break;
        FA_HEAD_DIMS(CASE)
#undef CASE
    default:
        return (int)cudaErrorInvalidValue;
    }
    if (att) {
        size_t n = (size_t)B * nq * T_ * T_;
        k_att_probs<T><<<nblocks(n), 256, 0, s>>>(att, qkv, lse, B, T_, nq, nkv, d);
    }
    return (int)cudaGetLastError();
}

template <typename T>
static int flash_bwd_t(cudaStream_t s, T *dqkv, const T *dout, const T *qkv, const T *out,
                       const float *lse, const T *att, int B, int T_, int nq, int nkv, int d)
{
    dim3 gq((unsigned)((T_ + FA_BR - 1) / FA_BR), (unsigned)nq, (unsigned)B);
    dim3 gk((unsigned)((T_ + FA_BK - 1) / FA_BK), (unsigned)nkv, (unsigned)B);
    switch (d) {
#define CASE(DD)                                                                                   \
    case DD:                                                                                       \
        k_flash_dq<T, DD><<<gq, FA_BR, 0, s>>>(dqkv, dout, qkv, out, lse, att, B, T_, nq, nkv);    \
        k_flash_dkv<T, DD><<<gk, FA_BK, 0, s>>>(dqkv, dout, qkv, out, lse, att, B, T_, nq, nkv);   \
        break;
        FA_HEAD_DIMS(CASE)
#undef CASE
    default:
        return (int)cudaErrorInvalidValue;
    }
    return (int)cudaGetLastError();
}

extern "C" int cu_flash_fwd_simt(cudaStream_t s, rt_dtype dt, void *out, float *lse, void *att,
                                 const void *qkv, int B, int Tq, int nq, int nkv, int d)
{
    int st_ = 0;
    CU_DISPATCH(
        dt, st_ = flash_fwd_t<T>(s, (T *)out, lse, (T *)att, (const T *)qkv, B, Tq, nq, nkv, d));
    return st_;
}

extern "C" int cu_flash_bwd_simt(cudaStream_t s, rt_dtype dt, void *dqkv, const void *dout,
                                 const void *qkv, const void *out, const float *lse,
                                 const void *att, int B, int Tq, int nq, int nkv, int d)
{
    int st_ = 0;
    CU_DISPATCH(dt, st_ = flash_bwd_t<T>(s, (T *)dqkv, (const T *)dout, (const T *)qkv,
                                         (const T *)out, lse, (const T *)att, B, Tq, nq, nkv, d));
    return st_;
}

static bool al16(const void *p)
{
    return ((uintptr_t)p & 15u) == 0;
}

/* the tensor-core kernels' conditions (attention_tc.cuh) */
static bool use_tc(rt_dtype dt, int d)
{
    return dt == RT_BF16 && cu_attn_tc_supported(d);
}

extern "C" int cu_flash_fwd(cudaStream_t s, rt_dtype dt, void *out, float *lse, void *att,
                            const void *qkv, int B, int Tq, int nq, int nkv, int d)
{
    if (!use_tc(dt, d) || !al16(out) || !al16(qkv)) {
        return cu_flash_fwd_simt(s, dt, out, lse, att, qkv, B, Tq, nq, nkv, d);
    }
    int st_ = cu_attn_tc_fwd(s, out, lse, qkv, B, Tq, nq, nkv, d);
    if (st_ == 0 && att) { /* standard attention: the probabilities from the saved lse */
        size_t n = (size_t)B * nq * Tq * Tq;
        k_att_probs<bf16>
            <<<nblocks(n), 256, 0, s>>>((bf16 *)att, (const bf16 *)qkv, lse, B, Tq, nq, nkv, d);
        st_ = (int)cudaGetLastError();
    }
    return st_;
}

extern "C" int cu_flash_bwd(cudaStream_t s, rt_dtype dt, void *dqkv, const void *dout,
                            const void *qkv, const void *out, const float *lse, const void *att,
                            int B, int Tq, int nq, int nkv, int d)
{
    if (!use_tc(dt, d) || att || !al16(dqkv) || !al16(dout) || !al16(qkv) || !al16(out)) {
        return cu_flash_bwd_simt(s, dt, dqkv, dout, qkv, out, lse, att, B, Tq, nq, nkv, d);
    }
    return cu_attn_tc_bwd(s, dqkv, dout, qkv, out, lse, B, Tq, nq, nkv, d);
}

static void note(rt_rank *r, int st_)
{
    if (st_ != 0 && CX(r)->status == 0) {
        CX(r)->status = st_;
    }
}

extern "C" void cu_attn_fwd(rt_rank *r, void *out, float *lse, void *att, const void *qkv, int B,
                            int Tq, int nq, int nkv, int d)
{
    note(r, cu_flash_fwd(CX(r)->s, r->adt, out, lse, att, qkv, B, Tq, nq, nkv, d));
}

extern "C" void cu_attn_bwd(rt_rank *r, void *dqkv, const void *dout, const void *qkv,
                            const void *out, const float *lse, const void *att, int B, int Tq,
                            int nq, int nkv, int d)
{
    note(r, cu_flash_bwd(CX(r)->s, r->adt, dqkv, dout, qkv, out, lse, att, B, Tq, nq, nkv, d));
}
