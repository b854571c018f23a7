/* search.h -- exhaustive search over parallel configurations: every valid (TP, SP, PP, VPP, CP,
 * EP, DP, ZeRO/FSDP, micro-batch, recompute, rank order) for a model, GPU, GPU count, global batch
 * and sequence length; keeps those that fit in memory and ranks them by throughput.
 *
 * Exhaustive, not sampled. Pure: no allocation (the top-K array is the caller's), no I/O.
 */
#ifndef LLMCAL_EST_SEARCH_H
#define LLMCAL_EST_SEARCH_H

#include <stdbool.h>
#include <stdint.h>

#include "est/compute.h"
#include "est/config.h"
#include "est/memory.h"
#include "est/status.h"
#include "est/steptime.h"

/* Why a candidate was not valid; counted per reason so that an empty result can say which
 * constraint ruled everything out. */
typedef enum est_reject {
    EST_REJ_GBS = 0,   /* global batch not divisible by mbs*dp */
    EST_REJ_SEQ,       /* sequence not divisible for CP/SP */
    EST_REJ_LAYERS,    /* layers cannot be split over pp/vpp */
    EST_REJ_EP,        /* ep does not divide experts or dp*cp */
    EST_REJ_FRAMEWORK, /* option not available in the framework */
    EST_REJ_OTHER,     /* any other est_config_resolve() failure */
    EST_REJ_TIME,      /* the time model refused it (EST_EUNSUPPORTED...) */
    EST_REJ_COUNT
} est_reject;

/* The space to enumerate; est_search_space_default() gives the full space. */
typedef struct est_search_space {
    int max_tp;           /* largest TP tried (0 = GPUs per node) */
    int max_pp;           /* largest PP tried (0 = layers) */
    int max_cp;           /* largest CP tried (0 = 16) */
    int max_vpp;          /* largest VPP tried (0 = no limit) */
    int64_t max_mbs;      /* largest micro-batch tried (0 = no limit) */
    bool uneven_pp;       /* try pp not dividing layers with larger first/last stages
                              (--decoder-first/last-pipeline-num-layers) */
    bool try_orders;      /* also try the tp-cp-ep-pp-dp rank order */
    bool fixed_framework; /* keep base.par.framework (always true today) */
} est_search_space;

typedef struct est_search_result {
    est_parallel par;         /* resolved configuration */
    est_rank_order order;     /* rank order used */
    est_time_report time;     /* its time */
    est_memory_report memory; /* its memory */
} est_search_result;

typedef struct est_search_stats {
    uint64_t evaluated;               /* candidates enumerated */
    uint64_t valid;                   /* passed est_config_resolve and the time model */
    uint64_t fitting;                 /* valid and fit in memory */
    uint64_t rejected[EST_REJ_COUNT]; /* invalid candidates per reason */
    char example[EST_REJ_COUNT][128]; /* first message seen per reason */
    uint64_t min_total_bytes;         /* smallest per-GPU total among valid ones */
} est_search_stats;

/* The full space: max_tp = GPUs per node, uneven_pp on, try_orders off. */
est_search_space est_search_space_default(void);

/* Enumerates every candidate for `base` (model, GPU, cluster and base->par's gpus, gbs, seq,
 * precision, framework, optimizer, attention...; its tp/pp/... are ignored), evaluates memory
 * and time, and keeps the `cap` fastest fitting ones (by tokens/s) in `top`, best first;
 * *n_top says how many. `opts` may be NULL (default time options; its order is overridden per
 * candidate). Returns EST_OK when at least one configuration fits; EST_EINVAL when none is valid
 * or none fits, with diag naming the constraint that ruled everything out
 * ("no valid configuration: all 96 candidates rejected: gbs: 1000 not divisible by mbs*dp=64"),
 * stats filled either way. `top` may be NULL when cap is 0. Pure and reentrant. */
est_status est_search(const est_config *base, const est_search_space *space,
                      const est_time_opts *opts, est_search_result *top, int cap, int *n_top,
                      est_search_stats *stats, est_diag *diag);

/* Name of a rejection reason ("gbs", "seq"...). */
const char *est_reject_name(est_reject r);

#endif /* LLMCAL_EST_SEARCH_H */
