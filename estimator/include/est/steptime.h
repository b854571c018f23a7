/* steptime.h -- time of one training iteration ("how fast?"), broken down as the JSON contract's
 * time_s object, with throughput, TFLOP/s per GPU, MFU and HFU.
 *
 * Pure: no allocation, no I/O. Formulas and their sources: docs/formulas.md#time.
 */
#ifndef LLMCAL_EST_STEPTIME_H
#define LLMCAL_EST_STEPTIME_H

#include <stdint.h>

#include "est/config.h"
#include "est/status.h"

#define LLMCAL_MAX_TIME_NOTES 16

typedef struct est_time_report {
    /* the contract's time_s object; seconds per iteration, on the critical path (exposed) */
    double compute_s;   /* forward + backward (+ recompute) compute of the busiest stage */
    double tp_comm_s;   /* exposed TP/SP collectives */
    double cp_comm_s;   /* exposed CP K/V exchange */
    double ep_comm_s;   /* exposed EP all-to-all */
    double pp_bubble_s; /* pipeline fill and drain */
    double pp_comm_s;   /* exposed stage-to-stage send/recv */
    double dp_comm_s;   /* exposed DP gradient sync and ZeRO-3/FSDP parameter gathers */
    double optimizer_s; /* optimizer step (memory-bound) */
    double iteration_s; /* sum of the above */
    /* totals before overlap, for "what is hidden" */
    double tp_comm_total_s;
    double cp_comm_total_s;
    double ep_comm_total_s;
    double pp_comm_total_s;
    double dp_comm_total_s;
    /* throughput */
    double model_flop;      /* model FLOPs per iteration (no recompute; convention in notes) */
    double hardware_flop;   /* FLOPs executed per iteration, recompute included */
    double tokens_per_s;    /* global tokens per second */
    double tflops_per_gpu;  /* model FLOP/s per GPU / 1e12 */
    double mfu;             /* model FLOP/s per GPU / peak (0..1) */
    double hfu;             /* hardware FLOP/s per GPU / peak (0..1) */
    double peak_flop_per_s; /* the peak used for MFU (dtype of the precision) */
    /* detail (added by the time model; not in the JSON contract's required keys) */
    double microbatches;       /* m = gbs / (mbs * dp), micro-batches per pipeline per iteration */
    double bubble_fraction;    /* pipeline bubble over the steady state: (p-1)/(v*m) */
    double recompute_s;        /* the part of compute_s spent recomputing activations */
    double comm_hidden_s;      /* communication overlapped with compute (not in iteration_s) */
    double overlap_slowdown_s; /* compute slowdown caused by that overlap (in compute_s) */
    double stage_microbatch_s; /* fwd+bwd of one micro-batch on the busiest stage, comm incl. */
    int busiest_stage;         /* the pipeline rank that sets the pace */
    const char *notes[LLMCAL_MAX_TIME_NOTES]; /* assumptions, static strings */
    int n_notes;
} est_time_report;

/* Computes the iteration time of `cfg` (resolved by est_config_resolve()). Pure and reentrant.
 * Returns EST_OK, or EST_EUNSUPPORTED / EST_ERANGE with diag naming the reason. */
est_status est_step_time(const est_config *cfg, est_time_report *out, est_diag *diag);

#endif /* LLMCAL_EST_STEPTIME_H */
