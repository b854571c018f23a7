/* attention_tc.cuh -- the tensor-core (mma.sync bf16) flash attention of attention_tc.cu and the
 * kernel choice of attention.cu's launchers, declared for attention.cu and for the tests. Plain
 * C declarations (no device code), so C test files may include it.
 *
 * cu_flash_fwd / cu_flash_bwd (cu_ops.h) take the tensor-core kernels when
 *   - the storage type is bf16,
 *   - cu_attn_tc_supported(d) (d = 16, 32, 64, 80, 96, 128),
 *   - every tensor pointer is 16-byte aligned (cp.async moves 16-byte chunks),
 *   - backward only: att == NULL (standard attention's stored probabilities are read by the
 *     fp32-FMA kernels, as the CPU reference reads them);
 * and the fp32-FMA tiled kernels (cu_flash_fwd_simt / cu_flash_bwd_simt) otherwise.
 */
#ifndef LLMCAL_RT_CU_ATTENTION_TC_CUH
#define LLMCAL_RT_CU_ATTENTION_TC_CUH

#include <cuda_runtime.h>

#include "rt_internal.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when the tensor-core kernels are instantiated for head dim d, else 0 */
int cu_attn_tc_supported(int d);

/* tensor-core forward, bf16 storage: out (B*T, nq*d), lse (B, nq, T) natural-log log-sum-exp of
   the scaled scores, as cu_flash_fwd; returns a cudaError_t value (0 = launched) */
int cu_attn_tc_fwd(cudaStream_t s, void *out, float *lse, const void *qkv, int B, int T, int nq,
                   int nkv, int d);

/* tensor-core backward, bf16 storage, as cu_flash_bwd with att == NULL: writes dQ, dK, dV into
   dqkv (every element of it); returns a cudaError_t value (0 = launched) */
int cu_attn_tc_bwd(cudaStream_t s, void *dqkv, const void *dout, const void *qkv, const void *out,
                   const float *lse, int B, int T, int nq, int nkv, int d);

/* the fp32-FMA tiled kernels (every head dim of attention.cu, fp32 and bf16): cu_flash_fwd and
   cu_flash_bwd without the tensor-core path (tests compare the two) */
int cu_flash_fwd_simt(cudaStream_t s, rt_dtype dt, void *out, float *lse, void *att,
                      const void *qkv, int B, int T, int nq, int nkv, int d);
int cu_flash_bwd_simt(cudaStream_t s, rt_dtype dt, void *dqkv, const void *dout, const void *qkv,
                      const void *out, const float *lse, const void *att, int B, int T, int nq,
                      int nkv, int d);

#ifdef __cplusplus
}
#endif

#endif /* LLMCAL_RT_CU_ATTENTION_TC_CUH */
