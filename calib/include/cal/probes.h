/* probes.h -- the CUDA microbenchmarks of `llmcal calibrate`: they measure the samples a plan
 * (plan.h) lists, on this machine's GPUs, and record provenance in the set's metadata.
 *
 *   gemm        cuBLASLt bf16/fp16/fp8 (fp8: e4m3 inputs, bf16 output) matmul on random data
 *   attention   causal attention built from cuBLAS strided-batched GEMMs and a softmax kernel
 *               (Q K^T, masked softmax, P V; backward: dV, dP, softmax backward, dQ, dK) -- the
 *               "standard" attention of the time model; the runtime exposes no fused kernel
 *   membound    device-to-device copy (cudaMemcpyAsync); bytes = read + write
 *   collective  NCCL all-reduce, all-gather, reduce-scatter, all-to-all and send/recv (ring
 *               shift) over every visible GPU of this process, one thread per GPU, sizes as
 *               nccl-tests counts them (algbw = S/t, busbw = algbw * factor)
 * Each timed iteration is bracketed by CUDA events after an L2 flush (a memset of twice the L2
 * size, llm.c dev/cuda/common.h benchmark_kernel); warm-up iterations run first; the sample keeps
 * min/p50/p99 over the timed iterations (nccl-tests IterStats).
 *
 * Built only with LLMCAL_WITH_CUDA (library cal_probes); callers test LLMCAL_HAVE_PROBES.
 */
#ifndef LLMCAL_CAL_PROBES_H
#define LLMCAL_CAL_PROBES_H

#include <stdbool.h>
#include <stddef.h>

#include "cal/samples_io.h"
#include "est/status.h"

typedef struct cal_probe_options {
    int warmup;    /* untimed iterations per sample (nccl-tests -w; default 5) */
    int iters;     /* timed iterations per sample (nccl-tests -n; default 20) */
    int device0;   /* first CUDA device */
    int gpus;      /* devices for collectives (0 = all visible) */
    bool l2_flush; /* flush L2 before each timed compute iteration (default on) */
} cal_probe_options;

/* Defaults by value (above). */
cal_probe_options cal_probe_default(void);

/* CUDA devices visible to this process (0 when none or no driver). */
int cal_probe_device_count(void);

/* Called after each sample is measured (may be NULL). */
typedef void (*cal_probe_progress)(size_t done, size_t total, const est_sample *s, void *ctx);

/* Measures every sample of *set whose p50_s is NAN (shapes from cal_plan_build), in place, and
 * sets the metadata "device", "driver", "cuda", "date", "host", "gpus". Samples the machine cannot
 * run (fp8 on a GPU without fp8, a collective needing more GPUs than visible, an allocation that
 * does not fit) are dropped, and their number is returned in *skipped (may be NULL).
 * Returns EST_OK, EST_EUNSUPPORTED (no CUDA device), EST_ECUDA/EST_ECUBLAS/EST_ENCCL with diag
 * naming the call and file:line. */
est_status cal_probe_run(cal_sample_set *set, const cal_probe_options *o, cal_probe_progress cb,
                         void *ctx, size_t *skipped, est_diag *diag);

#endif /* LLMCAL_CAL_PROBES_H */
