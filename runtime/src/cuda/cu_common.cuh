/* cu_common.cuh -- what the CUDA kernel files share: the rank's context, launch checking, bf16 /
 * fp32 loads and stores (load -> fp32, compute in fp32, round to nearest even once on store, as
 * the CPU backend emulates), warp reductions, and the dispatch on the compute type.
 */
#ifndef LLMCAL_RT_CU_COMMON_CUH
#define LLMCAL_RT_CU_COMMON_CUH

#include <cuda_bf16.h>
#include <math.h>

#include "cuda/cu_ops.h"

typedef __nv_bfloat16 bf16;

static inline cu_ctx *CX(rt_rank *r)
{
    return (cu_ctx *)r->bctx;
}

static inline unsigned nblocks(size_t n, unsigned t = 256)
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

__device__ __forceinline__ float ld(const float *p, size_t i)
{
    return p[i];
}

__device__ __forceinline__ float ld(const bf16 *p, size_t i)
{
    return __bfloat162float(p[i]);
}

__device__ __forceinline__ void st(float *p, size_t i, float v)
{
    p[i] = v;
}

__device__ __forceinline__ void st(bf16 *p, size_t i, float v)
{
    p[i] = __float2bfloat16_rn(v);
}

__device__ __forceinline__ float warp_sum(float v)
{
    for (int o = 16; o > 0; o >>= 1) {
        v += __shfl_xor_sync(0xffffffffu, v, o);
    }
    return v;
}

__device__ __forceinline__ float warp_max(float v)
{
    for (int o = 16; o > 0; o >>= 1) {
        v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    }
    return v;
}

/* runs BODY with T the storage type of the rank's compute type */
#define CU_DISPATCH(adt, BODY)                                                                     \
    do {                                                                                           \
        if ((adt) == RT_BF16) {                                                                    \
            typedef bf16 T;                                                                        \
            BODY;                                                                                  \
        } else {                                                                                   \
            typedef float T;                                                                       \
            BODY;                                                                                  \
        }                                                                                          \
    } while (0)

#endif /* LLMCAL_RT_CU_COMMON_CUH */
