/* kernels.h -- the few device kernels the calibrate probes need, behind extern "C" launchers:
 * random fill (so that GEMMs do not run on zeros, which some GPUs clock differently), the causal
 * softmax forward and its backward for the attention probe. Launch errors are returned as the
 * cudaError_t of cudaGetLastError(), as int to keep this header free of CUDA types.
 */
#ifndef LLMCAL_CAL_PROBES_KERNELS_H
#define LLMCAL_CAL_PROBES_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* element types of cal_k_fill */
enum { CAL_K_BF16 = 0, CAL_K_FP16 = 1, CAL_K_FP8E4M3 = 2, CAL_K_F32 = 3 };

/* Fills n elements of `type` at p with uniform values in [-1, 1) from hash(seed, index). */
int cal_k_fill(void *p, size_t n, int type, uint64_t seed, void *stream);

/* In place over rows x cols bf16 scores (row-major, one row per query): scale, causal mask
 * (key j visible to query i when j <= i + cols - rows_per_head), softmax. rows = batch * seq;
 * rows_per_head = seq. */
int cal_k_softmax_causal(void *s, int64_t rows, int64_t cols, int64_t rows_per_head, float scale,
                         void *stream);

/* dS = P * (dP - rowsum(P * dP)) in place in dp (bf16, rows x cols). */
int cal_k_softmax_bwd(const void *p, void *dp, int64_t rows, int64_t cols, void *stream);

#ifdef __cplusplus
}
#endif

#endif /* LLMCAL_CAL_PROBES_KERNELS_H */
