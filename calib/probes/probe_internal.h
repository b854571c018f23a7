/* probe_internal.h -- shared pieces of the calibrate probes: the status macros (nccl-tests style:
 * they record file:line and jump to the function's one cleanup label) and the timing statistics.
 */
#ifndef LLMCAL_CAL_PROBE_INTERNAL_H
#define LLMCAL_CAL_PROBE_INTERNAL_H

#include <stddef.h>

#include <cuda_runtime_api.h>

#include "cal/probes.h"
#include "est/sample.h"
#include "est/status.h"

/* on failure: fill diag, set `st`, goto fail (the caller declares both) */
#define CAL_CUDA(call, diag)                                                                       \
    do {                                                                                           \
        cudaError_t e_ = (call);                                                                   \
        if (e_ != cudaSuccess) {                                                                   \
            st = est_diag_set((diag), EST_ECUDA, __FILE__, __LINE__, "%s: %s (%s:%d)", #call,      \
                              cudaGetErrorString(e_), __FILE__, __LINE__);                         \
            goto fail;                                                                             \
        }                                                                                          \
    } while (0)

/* sorts t[0..n) and fills the sample's min/p50/p99 and count (nccl-tests IterStats) */
void cal_probe_stats(double *t, int n, est_sample *s);

/* measures the collective samples of set (p50_s NAN) on `gpus` devices from device0; failed or
   impossible ones get p50_s = -1 (dropped by the caller) */
est_status cal_probe_collectives(cal_sample_set *set, const cal_probe_options *o, int gpus,
                                 cal_probe_progress cb, void *ctx, size_t *done, size_t total,
                                 est_diag *diag);

#endif /* LLMCAL_CAL_PROBE_INTERNAL_H */
