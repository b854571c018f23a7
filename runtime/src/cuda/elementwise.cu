/* elementwise.cu -- embedding, learned positions, GELU/SwiGLU, residual adds, fp32 adds and the
 * vocab-parallel cross-entropy pieces, each the CPU reference's arithmetic (compiled with
 * -fmad=false so products and sums round as the host's do: arithmetic-only ops agree bit for bit;
 * ops calling expf/tanhf agree to the libraries' 1-2 ulp before the bf16 store).
 * The fp32 gradient add is vectorised (float4); the GELU/SwiGLU forward handles 16 bytes of
 * elements per thread (scalar loads; true 128-bit loads are still to do). Cross-entropy: one
 * block per row, shared
 * memory + warp-shuffle reductions; max / sum-exp in fp32 (the CPU sums in double).
 */
#include "cuda/cu_common.cuh"

#define GELU_SCALE 0.7978845608028654f /* sqrt(2/pi) */

// ---------------------------------------------------------------------------
// embedding and positions

template <typename T>
__global__ void k_embed_fwd(T *out, const int *tok, const T *wte, int N, int C, int voff, int V)
{
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= (size_t)N * C) {
        return;
    }
    int n = (int)(i / C);
    int t = tok[n] - voff;
    out[i] = (t >= 0 && t < V) ? wte[(size_t)t * C + i % C] : (T)0.0f;
}

template <typename T>
__global__ void k_embed_bwd(float *dwte, const T *dout, const int *tok, int N, int C, int voff,
                            int V)
{
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= (size_t)N * C) {
        return;
    }
    int t = tok[i / C] - voff;
    if (t >= 0 && t < V) {
        atomicAdd(&dwte[(size_t)t * C + i % C], ld(dout, i));
    }
}

template <typename T>
__global__ void k_pos_fwd(T *out, const T *wpe, int N, int T_, int C, int row0)
{
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= (size_t)N * C) {
        return;
    }
    int n = (int)(i / C);
    st(out, i, ld(out, i) + ld(wpe, (size_t)((row0 + n) % T_) * C + i % C));
}

template <typename T>
__global__ void k_pos_bwd(float *dwpe, const T *dout, int N, int T_, int C, int row0)
{
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= (size_t)N * C) {
        return;
    }
    int n = (int)(i / C);
    atomicAdd(&dwpe[(size_t)((row0 + n) % T_) * C + i % C], ld(dout, i));
}

extern "C" void cu_embed_fwd(rt_rank *r, void *out, const int *tok, const void *wte, int N, int C,
                             int voff, int V)
{
    size_t n = (size_t)N * C;
    CU_DISPATCH(r->adt, (k_embed_fwd<T><<<nblocks(n), 256, 0, CX(r)->s>>>(
                            (T *)out, tok, (const T *)wte, N, C, voff, V)));
    check_launch(r);
}

extern "C" void cu_embed_bwd(rt_rank *r, float *dwte, const void *dout, const int *tok, int N,
                             int C, int voff, int V)
{
    size_t n = (size_t)N * C;
    CU_DISPATCH(r->adt, (k_embed_bwd<T><<<nblocks(n), 256, 0, CX(r)->s>>>(
                            dwte, (const T *)dout, tok, N, C, voff, V)));
    check_launch(r);
}

extern "C" void cu_pos_fwd(rt_rank *r, void *out, const void *wpe, int N, int Tq, int C, int row0)
{
    size_t n = (size_t)N * C;
    CU_DISPATCH(r->adt, (k_pos_fwd<T><<<nblocks(n), 256, 0, CX(r)->s>>>((T *)out, (const T *)wpe,
                                                                          N, Tq, C, row0)));
    check_launch(r);
}

extern "C" void cu_pos_bwd(rt_rank *r, float *dwpe, const void *dout, int N, int Tq, int C,
                           int row0)
{
    size_t n = (size_t)N * C;
    CU_DISPATCH(r->adt, (k_pos_bwd<T><<<nblocks(n), 256, 0, CX(r)->s>>>(
                            dwpe, (const T *)dout, N, Tq, C, row0)));
    check_launch(r);
}

// ---------------------------------------------------------------------------
// activations

__device__ __forceinline__ float gelu(float x)
{
    float c = x * x * x;
    return 0.5f * x * (1.0f + tanhf(GELU_SCALE * (x + 0.044715f * c)));
}

__device__ __forceinline__ float gelu_grad(float x)
{
    float c = x * x * x;
    float a = GELU_SCALE * (x + 0.044715f * c);
    float th = tanhf(a);
    float ch = coshf(a);
    float sech2 = 1.0f / (ch * ch);
    return 0.5f * (1.0f + th) +
           x * 0.5f * sech2 * GELU_SCALE * (1.0f + 3.0f * 0.044715f * x * x);
}

/* VEC consecutive elements per thread (16 bytes of storage) */
template <typename T, int VEC>
__global__ void k_act_fwd(T *out, const T *inp, int N, int F, int swiglu)
{
    size_t i0 = (blockIdx.x * (size_t)blockDim.x + threadIdx.x) * VEC;
    if (i0 >= (size_t)N * F) {
        return;
    }
#pragma unroll
    for (int e = 0; e < VEC; e++) {
        size_t i = i0 + e;
        if (i >= (size_t)N * F) {
            break;
        }
        if (!swiglu) {
            st(out, i, gelu(ld(inp, i)));
        } else {
            size_t n = i / F;
            size_t k = i % F;
            float g = ld(inp, n * 2 * F + k);
            float u = ld(inp, n * 2 * F + F + k);
            float s = 1.0f / (1.0f + expf(-g));
            st(out, i, g * s * u);
        }
    }
}

template <typename T>
__global__ void k_act_bwd(T *dinp, const T *dout, const T *inp, int N, int F, int swiglu)
{
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= (size_t)N * F) {
        return;
    }
    float d = ld(dout, i);
    if (!swiglu) {
        st(dinp, i, gelu_grad(ld(inp, i)) * d);
        return;
    }
    size_t n = i / F;
    size_t k = i % F;
    float g = ld(inp, n * 2 * F + k);
    float u = ld(inp, n * 2 * F + F + k);
    float s = 1.0f / (1.0f + expf(-g));
    st(dinp, n * 2 * F + k, d * u * s * (1.0f + g * (1.0f - s)));
    st(dinp, n * 2 * F + F + k, d * (g * s));
}

extern "C" void cu_act_fwd(rt_rank *r, void *out, const void *inp, int N, int F, rt_actkind k)
{
    size_t n = (size_t)N * F;
    int sw = k == RT_ACT_SWIGLU;
    CU_DISPATCH(r->adt, (k_act_fwd<T, 16 / sizeof(T)><<<nblocks(n / (16 / sizeof(T)) + 1), 256,
                                                         0, CX(r)->s>>>((T *)out, (const T *)inp,
                                                                        N, F, sw)));
    check_launch(r);
}

extern "C" void cu_act_bwd(rt_rank *r, void *dinp, const void *dout, const void *inp, int N, int F,
                           rt_actkind k)
{
    size_t n = (size_t)N * F;
    int sw = k == RT_ACT_SWIGLU;
    CU_DISPATCH(r->adt, (k_act_bwd<T><<<nblocks(n), 256, 0, CX(r)->s>>>(
                            (T *)dinp, (const T *)dout, (const T *)inp, N, F, sw)));
    check_launch(r);
}

// ---------------------------------------------------------------------------
// residual, bias gradient, fp32 add

template <typename T>
__global__ void k_residual(T *out, const T *a, const T *b, const T *bias, int N, int C)
{
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i < (size_t)N * C) {
        st(out, i, ld(a, i) + ld(b, i) + (bias ? ld(bias, i % C) : 0.0f));
    }
}

extern "C" void cu_residual_fwd(rt_rank *r, void *out, const void *a, const void *b,
                                const void *bias, int N, int C)
{
    size_t n = (size_t)N * C;
    CU_DISPATCH(r->adt, (k_residual<T><<<nblocks(n), 256, 0, CX(r)->s>>>(
                            (T *)out, (const T *)a, (const T *)b, (const T *)bias, N, C)));
    check_launch(r);
}

extern "C" void cu_bias_bwd(rt_rank *r, float *db, const void *dout, int N, int C)
{
    cu_bias_grad(r, db, dout, N, C);
}

__global__ void k_add(float4 *dst, const float4 *src, size_t n4)
{
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i < n4) {
        float4 a = dst[i];
        float4 b = src[i];
        dst[i] = make_float4(a.x + b.x, a.y + b.y, a.z + b.z, a.w + b.w);
    }
}

__global__ void k_add1(float *dst, const float *src, size_t n)
{
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i < n) {
        dst[i] += src[i];
    }
}

extern "C" void cu_add(rt_rank *r, float *dst, const float *src, size_t n)
{
    bool vec = ((uintptr_t)dst % 16 == 0) && ((uintptr_t)src % 16 == 0) && n % 4 == 0;
    if (vec) {
        k_add<<<nblocks(n / 4), 256, 0, CX(r)->s>>>((float4 *)dst, (const float4 *)src, n / 4);
    } else {
        k_add1<<<nblocks(n), 256, 0, CX(r)->s>>>(dst, src, n);
    }
    check_launch(r);
}

// ---------------------------------------------------------------------------
// cross-entropy: a block (256 threads) per row

__device__ float block_reduce(float v, bool is_max)
{
    __shared__ float sh[32];
    int lane = threadIdx.x % 32;
    int warp = threadIdx.x / 32;
    v = is_max ? warp_max(v) : warp_sum(v);
    __syncthreads();
    if (lane == 0) {
        sh[warp] = v;
    }
    __syncthreads();
    int nw = (blockDim.x + 31) / 32;
    v = lane < nw ? sh[lane] : (is_max ? -INFINITY : 0.0f);
    return is_max ? warp_max(v) : warp_sum(v);
}

template <typename T>
__global__ void k_ce_max(float *mx, const T *logits, int V)
{
    const T *l = logits + (size_t)blockIdx.x * V;
    float m = -INFINITY;
    for (int i = threadIdx.x; i < V; i += blockDim.x) {
        m = fmaxf(m, ld(l, i));
    }
    m = block_reduce(m, true);
    if (threadIdx.x == 0) {
        mx[blockIdx.x] = m;
    }
}

template <typename T>
__global__ void k_ce_partial(float *stats, const T *logits, const float *mx, const int *tgt, int N,
                             int V, int voff)
{
    int n = blockIdx.x;
    const T *l = logits + (size_t)n * V;
    float m = mx[n];
    float s = 0.0f;
    for (int i = threadIdx.x; i < V; i += blockDim.x) {
        s += expf(ld(l, i) - m);
    }
    s = block_reduce(s, false);
    if (threadIdx.x == 0) {
        stats[n] = s;
        int t = tgt[n] - voff;
        stats[N + n] = (t >= 0 && t < V) ? ld(l, t) : 0.0f;
    }
}

template <typename T>
__global__ void k_ce_finish(float *probs, float *losses, const float *stats, const float *mx,
                            const T *logits, int N, int V)
{
    int n = blockIdx.x;
    float s = stats[n];
    float m = mx[n];
    const T *l = logits + (size_t)n * V;
    float *p = probs + (size_t)n * V;
    for (int i = threadIdx.x; i < V; i += blockDim.x) {
        p[i] = expf(ld(l, i) - m) / s;
    }
    if (threadIdx.x == 0) {
        losses[n] = logf(s) + m - stats[N + n];
    }
}

template <typename T>
__global__ void k_ce_bwd(T *dl, const float *probs, const int *tgt, int N, int V, int voff,
                         float scale)
{
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= (size_t)N * V) {
        return;
    }
    int t = tgt[i / V] - voff;
    int k = (int)(i % V);
    st(dl, i, (probs[i] - (k == t ? 1.0f : 0.0f)) * scale);
}

extern "C" void cu_ce_max(rt_rank *r, float *mx, const void *logits, int N, int V)
{
    CU_DISPATCH(r->adt,
                (k_ce_max<T><<<(unsigned)N, 256, 0, CX(r)->s>>>(mx, (const T *)logits, V)));
    check_launch(r);
}

extern "C" void cu_ce_partial(rt_rank *r, float *stats, const void *logits, const float *mx,
                              const int *tgt, int N, int V, int voff)
{
    CU_DISPATCH(r->adt, (k_ce_partial<T><<<(unsigned)N, 256, 0, CX(r)->s>>>(
                            stats, (const T *)logits, mx, tgt, N, V, voff)));
    check_launch(r);
}

extern "C" void cu_ce_finish(rt_rank *r, float *probs, float *losses, const float *stats,
                             const float *mx, const void *logits, int N, int V)
{
    CU_DISPATCH(r->adt, (k_ce_finish<T><<<(unsigned)N, 256, 0, CX(r)->s>>>(
                            probs, losses, stats, mx, (const T *)logits, N, V)));
    check_launch(r);
}

extern "C" void cu_ce_bwd(rt_rank *r, void *dlogits, const float *probs, const int *tgt, int N,
                          int V, int voff, float scale)
{
    size_t n = (size_t)N * V;
    CU_DISPATCH(r->adt, (k_ce_bwd<T><<<nblocks(n), 256, 0, CX(r)->s>>>((T *)dlogits, probs, tgt,
                                                                        N, V, voff, scale)));
    check_launch(r);
}
