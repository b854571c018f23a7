/* norm.cu -- LayerNorm / RMSNorm forward and backward (eps 1e-5 as the CPU reference): one warp
 * per row, warp-shuffle reductions, fp32 statistics (mean, rstd) saved per row; the backward
 * accumulates dinp (residual-stream gradient, in the compute type) and the fp32 weight/bias
 * gradients (a per-block shared-memory partial per channel, then one atomicAdd per channel and
 * block).
 */
#include "cuda/cu_common.cuh"

#define NORM_WARPS 8 /* rows per block */

template <typename T>
__global__ void k_norm_fwd(T *out, float *mean, float *rstd, const T *inp, const T *w, const T *b,
                           int N, int C, int rms)
{
    int warp = threadIdx.x / 32;
    int lane = threadIdx.x % 32;
    int n = blockIdx.x * NORM_WARPS + warp;
    if (n >= N) {
        return;
    }
    const T *x = inp + (size_t)n * C;
    float m = 0.0f;
    if (!rms) {
        for (int i = lane; i < C; i += 32) {
            m += ld(x, i);
        }
        m = warp_sum(m) / C;
    }
    float v = 0.0f;
    for (int i = lane; i < C; i += 32) {
        float xm = ld(x, i) - m;
        v += xm * xm;
    }
    v = warp_sum(v) / C;
    float s = rsqrtf(v + 1e-5f);
    T *o = out + (size_t)n * C;
    for (int i = lane; i < C; i += 32) {
        float xh = (ld(x, i) - m) * s;
        st(o, i, xh * ld(w, i) + (b ? ld(b, i) : 0.0f));
    }
    if (lane == 0) {
        if (mean) {
            mean[n] = m;
        }
        rstd[n] = s;
    }
}

/* dynamic shared memory: 2 * C floats (dw, db partials of the block's rows) */
template <typename T>
__global__ void k_norm_bwd(T *dinp, float *dw, float *db, const T *dout, const T *inp, const T *w,
                           const float *mean, const float *rstd, int N, int C, int rms)
{
    extern __shared__ float part[];
    float *pw = part;
    float *pb = part + C;
    for (int i = threadIdx.x; i < 2 * C; i += blockDim.x) {
        part[i] = 0.0f;
    }
    __syncthreads();
    int warp = threadIdx.x / 32;
    int lane = threadIdx.x % 32;
    int n = blockIdx.x * NORM_WARPS + warp;
    if (n < N) {
        const T *d = dout + (size_t)n * C;
        const T *x = inp + (size_t)n * C;
        T *dx = dinp + (size_t)n * C;
        float m = (rms || !mean) ? 0.0f : mean[n];
        float s = rstd[n];
        float dn_mean = 0.0f;
        float dnx_mean = 0.0f;
        for (int i = lane; i < C; i += 32) {
            float xh = (ld(x, i) - m) * s;
            float dn = ld(w, i) * ld(d, i);
            dn_mean += dn;
            dnx_mean += dn * xh;
        }
        dn_mean = rms ? 0.0f : warp_sum(dn_mean) / C;
        dnx_mean = warp_sum(dnx_mean) / C;
        for (int i = lane; i < C; i += 32) {
            float di = ld(d, i);
            float xh = (ld(x, i) - m) * s;
            float dn = ld(w, i) * di;
            atomicAdd(&pb[i], di);
            atomicAdd(&pw[i], xh * di);
            st(dx, i, ld(dx, i) + (dn - dn_mean - xh * dnx_mean) * s);
        }
    }
    __syncthreads();
    for (int i = threadIdx.x; i < C; i += blockDim.x) {
        atomicAdd(&dw[i], pw[i]);
        if (db) {
            atomicAdd(&db[i], pb[i]);
        }
    }
}

extern "C" void cu_norm_fwd(rt_rank *r, void *out, float *mean, float *rstd, const void *inp,
                            const void *w, const void *b, int N, int C, bool rms)
{
    unsigned g = nblocks((size_t)N, NORM_WARPS);
    CU_DISPATCH(r->adt, (k_norm_fwd<T><<<g, NORM_WARPS * 32, 0, CX(r)->s>>>(
                            (T *)out, mean, rstd, (const T *)inp, (const T *)w, (const T *)b, N,
                            C, rms)));
    check_launch(r);
}

extern "C" void cu_norm_bwd(rt_rank *r, void *dinp, float *dw, float *db, const void *dout,
                            const void *inp, const void *w, const float *mean, const float *rstd,
                            int N, int C, bool rms)
{
    unsigned g = nblocks((size_t)N, NORM_WARPS);
    size_t sh = 2 * (size_t)C * sizeof(float);
    CU_DISPATCH(r->adt, (k_norm_bwd<T><<<g, NORM_WARPS * 32, sh, CX(r)->s>>>(
                            (T *)dinp, dw, db, (const T *)dout, (const T *)inp, (const T *)w,
                            mean, rstd, N, C, rms)));
    check_launch(r);
}
