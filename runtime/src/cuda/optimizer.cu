/* optimizer.cu -- fused AdamW (Loshchilov & Hutter 2019; the CPU reference's arithmetic) over a
 * flat parameter buffer: every tensor of a pipeline chunk in one launch (the runtime's buffers
 * are flat, so one launch is the multi-tensor apply). fp32 master weights and moments; under
 * bf16-mixed the compute copy is written back rounded to nearest even in the same pass.
 * Grid-stride, four elements per thread per iteration.
 */
#include "cuda/cu_common.cuh"

__global__ void k_adamw(float *p, const float *g, float *m, float *v, bf16 *model, size_t n,
                        float lr, float b1, float b2, float eps, float wd, float c1, float c2)
{
    size_t stride = (size_t)gridDim.x * blockDim.x;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += stride) {
        float gi = g[i];
        float mi = b1 * m[i] + (1.0f - b1) * gi;
        float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        float pi = p[i];
        pi -= lr * ((mi / c1) / (sqrtf(vi / c2) + eps) + wd * pi);
        p[i] = pi;
        if (model) {
            model[i] = __float2bfloat16_rn(pi);
        }
    }
}

extern "C" void cu_adamw(rt_rank *r, float *p, const float *g, float *m, float *v, void *model,
                         size_t n, float lr, float b1, float b2, float eps, float wd, int t)
{
    if (n == 0) {
        return;
    }
    float c1 = 1.0f - powf(b1, (float)t);
    float c2 = 1.0f - powf(b2, (float)t);
    int sms = 132;
    cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, CX(r)->dev);
    size_t want = (n + 4 * 256 - 1) / (4 * 256);
    unsigned g_ = (unsigned)(want < (size_t)sms * 8 ? want : (size_t)sms * 8);
    k_adamw<<<g_ > 0 ? g_ : 1, 256, 0, CX(r)->s>>>(p, g, m, v, (bf16 *)model, n, lr, b1, b2, eps,
                                                  wd, c1, c2);
    check_launch(r);
}
