/* kernels.cu -- device kernels of the calibrate probes: random fill, causal softmax forward and
 * backward (one block per row, fp32 accumulation). Deliberately plain: they are part of what the
 * "standard attention" probe measures, as Megatron's unfused softmax path would run.
 * References: karpathy/llm.c dev/cuda/softmax_forward.cu (row-per-block softmax with max and sum
 * reductions).
 */
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>

#include "kernels.h"

static __device__ float hash_uniform(uint64_t seed, uint64_t i)
{
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + i;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return (float)(x >> 40) / (float)(1ull << 24) * 2.0f - 1.0f;
}

static __global__ void fill_kernel(void *p, size_t n, int type, uint64_t seed)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        float v = hash_uniform(seed, i);
        switch (type) {
        case CAL_K_BF16:
            ((__nv_bfloat16 *)p)[i] = __float2bfloat16(v);
            break;
        case CAL_K_FP16:
            ((__half *)p)[i] = __float2half(v);
            break;
        case CAL_K_FP8E4M3:
            ((__nv_fp8_e4m3 *)p)[i] = __nv_fp8_e4m3(v);
            break;
        default:
            ((float *)p)[i] = v;
            break;
        }
    }
}

extern "C" int cal_k_fill(void *p, size_t n, int type, uint64_t seed, void *stream)
{
    fill_kernel<<<1024, 256, 0, (cudaStream_t)stream>>>(p, n, type, seed);
    return (int)cudaGetLastError();
}

static __device__ float block_reduce(float v, bool is_max, float *shared)
{
    for (int o = 16; o > 0; o >>= 1) {
        float w = __shfl_xor_sync(0xffffffffu, v, o);
        v = is_max ? fmaxf(v, w) : v + w;
    }
    int lane = threadIdx.x & 31;
    int warp = threadIdx.x >> 5;
    if (lane == 0) {
        shared[warp] = v;
    }
    __syncthreads();
    int nwarps = (blockDim.x + 31) >> 5;
    v = threadIdx.x < nwarps ? shared[threadIdx.x] : (is_max ? -INFINITY : 0.0f);
    if (warp == 0) {
        for (int o = 16; o > 0; o >>= 1) {
            float w = __shfl_xor_sync(0xffffffffu, v, o);
            v = is_max ? fmaxf(v, w) : v + w;
        }
        if (lane == 0) {
            shared[0] = v;
        }
    }
    __syncthreads();
    float r = shared[0];
    __syncthreads();
    return r;
}

static __global__ void softmax_causal_kernel(__nv_bfloat16 *s, int64_t cols, int64_t per_head,
                                             float scale)
{
    __shared__ float shared[32];
    int64_t row = blockIdx.x;
    int64_t q = row % per_head;
    int64_t visible = q + 1 + (cols - per_head); /* keys 0..visible-1 */
    __nv_bfloat16 *x = s + row * cols;
    float mx = -INFINITY;
    for (int64_t j = threadIdx.x; j < visible; j += blockDim.x) {
        mx = fmaxf(mx, __bfloat162float(x[j]) * scale);
    }
    mx = block_reduce(mx, true, shared);
    float sum = 0.0f;
    for (int64_t j = threadIdx.x; j < visible; j += blockDim.x) {
        sum += __expf(__bfloat162float(x[j]) * scale - mx);
    }
    sum = block_reduce(sum, false, shared);
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
        float v = j < visible ? __expf(__bfloat162float(x[j]) * scale - mx) / sum : 0.0f;
        x[j] = __float2bfloat16(v);
    }
}

extern "C" int cal_k_softmax_causal(void *s, int64_t rows, int64_t cols, int64_t rows_per_head,
                                    float scale, void *stream)
{
    softmax_causal_kernel<<<(unsigned)rows, 256, 0, (cudaStream_t)stream>>>(
        (__nv_bfloat16 *)s, cols, rows_per_head, scale);
    return (int)cudaGetLastError();
}

static __global__ void softmax_bwd_kernel(const __nv_bfloat16 *p, __nv_bfloat16 *dp, int64_t cols)
{
    __shared__ float shared[32];
    int64_t row = blockIdx.x;
    const __nv_bfloat16 *pr = p + row * cols;
    __nv_bfloat16 *dr = dp + row * cols;
    float dot = 0.0f;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
        dot += __bfloat162float(pr[j]) * __bfloat162float(dr[j]);
    }
    dot = block_reduce(dot, false, shared);
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
        float pv = __bfloat162float(pr[j]);
        dr[j] = __float2bfloat16(pv * (__bfloat162float(dr[j]) - dot));
    }
}

extern "C" int cal_k_softmax_bwd(const void *p, void *dp, int64_t rows, int64_t cols, void *stream)
{
    softmax_bwd_kernel<<<(unsigned)rows, 256, 0, (cudaStream_t)stream>>>(
        (const __nv_bfloat16 *)p, (__nv_bfloat16 *)dp, cols);
    return (int)cudaGetLastError();
}
