/* engine.h -- every estimator call the dashboard makes, in one place: one estimate (resolve +
 * memory + step time) and the configuration search (est_search), which main.c runs on a worker
 * thread so that keys stay answered while it runs.
 *
 * The numbers come from the estimator only (est_config_resolve, est_memory, est_step_time,
 * est_search); this file holds no formula. Pure: no I/O, no threads.
 */
#ifndef LLMCAL_TUI_ENGINE_H
#define LLMCAL_TUI_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "est/compute.h"
#include "est/config.h"
#include "est/memory.h"
#include "est/status.h"
#include "est/search.h"
#include "est/steptime.h"

#define TUI_SEARCH_CAP 100 /* ranked results kept */

/* One estimate of a requested configuration.
 * In: *cfg as the user set it (gbs 0 = derived). Out: *cfg resolved, *mem, *t.
 * Returns EST_OK when the configuration resolved and its memory was computed; otherwise the
 * resolver's or est_memory's status, with diag saying why in words, and *cfg unchanged.
 * The time model may fail on its own: *time_status / time_diag say so (the memory stays valid).
 * `coeffs` are the time model's coefficients (the profiles' or a calibration's); NULL = the
 * profiles' defaults. */
est_status tui_engine_estimate(est_config *cfg, const est_coeffs *coeffs, est_memory_report *mem,
                               est_time_report *t, est_status *time_status, est_diag *time_diag,
                               est_diag *diag);

/* A search of the configuration space around one configuration (est_search, est/search.h), with
 * its own copies of the profiles so that it can run on a worker thread while the user edits the
 * state. base's pointers point into this struct: they are valid only in the struct that
 * tui_search_prepare() filled (a copy of the struct keeps the results, not the pointers). */
typedef struct tui_search {
    est_model model; /* copies of the searched profiles */
    est_gpu gpu;
    est_cluster cluster;
    est_config base;                        /* gpus, gbs, seq, precision, framework... kept */
    est_coeffs coeffs;                      /* time-model coefficients of the search */
    bool prepared;                          /* tui_search_prepare() was called */
    bool running;                           /* set by the caller while a worker runs it */
    bool done;                              /* tui_search_run() finished */
    double elapsed_s;                       /* wall time of the run (set by the caller) */
    est_status status;                      /* est_search's status */
    char error[256];                        /* why nothing fits, when status != EST_OK */
    est_search_stats stats;                 /* evaluated / valid / fitting counts */
    int n_hits;                             /* results kept, best first */
    est_search_result hits[TUI_SEARCH_CAP]; /* the fastest fitting configurations */
} tui_search;

/* Resets *s to search around `base` (resolved or not): copies its model, GPU and cluster, keeps
 * its GPU count, global batch (0: one sequence per GPU), sequence length, precision, framework and
 * attention; TP/PP/VPP/CP/EP/ZeRO/micro-batch/recompute are searched. Pure. */
void tui_search_prepare(tui_search *s, const est_config *base, const est_coeffs *coeffs);

/* Runs the whole search (blocking; est_search over est_search_space_default()) and fills hits,
 * stats, status, error and done. Pure and reentrant: safe on a worker thread as long as nothing
 * else touches *s meanwhile. */
void tui_search_run(tui_search *s);

#endif /* LLMCAL_TUI_ENGINE_H */
