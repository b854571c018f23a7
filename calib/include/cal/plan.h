/* plan.h -- what `llmcal calibrate` measures: the sweep of microbenchmarks, as samples whose shapes
 * are filled and whose times are NAN until a probe measures them.
 *
 * With a model, the GEMM shapes are exactly those the time model evaluates for that model and TP
 * degree (estimator/src/steptime.c: each linear y[T,n] = x[T,k] W[k,n] gives the forward (T,n,k),
 * the input gradient (T,k,n) and the weight gradient (k,n,T), T = mbs*seq tokens), plus a generic
 * sweep of square and skinny GEMMs so that gemm_eff_max and gemm_half_dim are both pinned down.
 * Attention: the model's heads/TP and head_dim over sequence lengths, forward and backward. HBM:
 * device-to-device copies over sizes. Collectives (>= 2 GPUs): all-reduce, all-gather,
 * reduce-scatter, all-to-all and send/recv over message sizes, nccl-tests' -b/-e/-f sweep.
 * Not here: measuring (probes.h).
 */
#ifndef LLMCAL_CAL_PLAN_H
#define LLMCAL_CAL_PLAN_H

#include <stdbool.h>
#include <stdint.h>

#include "cal/samples_io.h"
#include "est/config.h"
#include "est/status.h"

typedef struct cal_plan_options {
    const est_model *model; /* model whose shapes to measure; NULL = generic sweep only */
    int tp;                 /* TP degree the shapes are split by */
    int64_t mbs;            /* micro-batch (sequences) */
    int64_t seq;            /* sequence length (tokens) */
    est_dtype dtype;        /* GEMM and attention dtype */
    bool generic;           /* add the square/skinny GEMM sweep */
    est_attention attn;     /* attention kind planned besides flash (the probes: both) */
    bool also_flash;        /* plan flash-attention samples as well (the CUDA probes time the
                               runtime's fused kernel for them) */
    int gpus;               /* GPUs in the communicator; collectives only when >= 2 */
    double coll_min_bytes;  /* nccl-tests -b (default 1 KiB) */
    double coll_max_bytes;  /* nccl-tests -e (default 1 GiB) */
    double coll_factor;     /* nccl-tests -f (default 4) */
    double hbm_min_bytes;   /* smallest copy (bytes moved: read + write; default 8 MiB) */
    double hbm_max_bytes;   /* largest copy (default 4 GiB) */
} cal_plan_options;

/* Defaults by value: no model, tp 1, mbs 1, seq 4096, bf16, generic sweep on, standard attention,
 * 1 GPU, collectives 1 KiB..1 GiB x4, copies 8 MiB..4 GiB. */
cal_plan_options cal_plan_default(void);

/* Appends the planned samples to *out (times NAN, count 0). Shapes are deduplicated. Returns
 * EST_OK, EST_EINVAL naming a bad option (tp not dividing heads, sizes not increasing,
 * factor <= 1...), EST_ENOMEM. */
est_status cal_plan_build(const cal_plan_options *o, cal_sample_set *out, est_diag *diag);

#endif /* LLMCAL_CAL_PLAN_H */
