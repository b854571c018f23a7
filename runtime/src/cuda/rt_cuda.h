/* rt_cuda.h -- the CUDA backend's entry for run.c (compiled only with LLMCAL_WITH_CUDA).
 *
 * rt_cuda_run() binds one thread per rank to a local GPU (nccl-tests -t convention: one process,
 * a thread per GPU), creates the NCCL communicators per group (split from one world comm), runs
 * `thread_main(slot)` for each of the `nrun` slots (`slot_size` bytes apart, the rt_rank first)
 * and destroys everything in reverse order. Returns EST_ECUDA/EST_ENCCL/EST_EINVAL with diag.
 */
#ifndef LLMCAL_RT_CUDA_H
#define LLMCAL_RT_CUDA_H

#include <stddef.h>

#include "rt_internal.h"

#ifdef __cplusplus
extern "C" {
#endif

extern const rt_backend rt_backend_cuda;

est_status rt_cuda_run(const est_config *cfg, const rt_options *opt, int nrun, rt_rank *first,
                       size_t slot_size, void *(*thread_main)(void *), est_diag *diag);

#ifdef __cplusplus
}
#endif

#endif /* LLMCAL_RT_CUDA_H */
