/* compare.h -- `llmcal validate`'s comparison: the estimator's prediction and a measured run in one
 * shape, and the error in percent per memory component and per time component.
 *
 *   predicted / measured: { "memory_bytes": { "weights", "gradients", "optimizer", "activations",
 *                                             "logits", "comm_buffers", "workspace", "context",
 *                                             "fragmentation", "peak_allocated", "peak_reserved",
 *                                             "total" },
 *                           "time_s": { "compute", "tp_comm", "cp_comm", "ep_comm", "pp_comm",
 *                                       "dp_comm", "comm", "optimizer", "iteration" } }
 *   error_pct:            the same keys, 100 * (predicted - measured) / measured, for the keys
 *                         both sides have (null where measured is 0 and predicted is not)
 *
 * Time components follow the runtime's phases: "pp_comm" is the pipeline send/recv time including
 * the wait for the peer, so the prediction adds the bubble to it; "comm" is every exposed
 * communication; "compute" is forward + backward (recompute included). Memory is the worst rank.
 * Not here: running the configuration (cli/validate_rt.c), printing (cli/cmd_validate.c).
 */
#ifndef LLMCAL_CAL_COMPARE_H
#define LLMCAL_CAL_COMPARE_H

#include <jansson.h>

#include "est/memory.h"
#include "est/status.h"
#include "est/steptime.h"

/* The prediction as {"memory_bytes", "time_s"} (worst rank's memory). `t` may be NULL (no time
 * object). Returns a new reference. */
json_t *cal_predicted_json(const est_memory_report *m, const est_time_report *t);

/* Normalises a measured run result (JSON from `llmcal run --json`, a hand-written file, or the
 * runtime report) into {"memory_bytes", "time_s"}, a new reference in *out. Accepted forms:
 * the two objects at the top level; or "ranks": [ {memory_bytes, time_s}, ... ] (memory of the
 * rank with the largest peak_allocated/total, each time the largest over ranks) with top-level
 * time_s taking precedence. A "time_measured": {"<key>": false} or "time_source": {"<key>":
 * "modelled"} object (per rank or top level; `llmcal run --json` writes the latter) drops
 * modelled times (single-GPU shard mode's communication); "driver_used" gives "total";
 * "forward" + "backward" give
 * "compute", the *_comm keys give "comm", "step" is "iteration", when those are absent.
 * Returns EST_OK, or EST_EINVAL naming the key (not an object, negative or non-numeric value,
 * neither memory nor time present). */
est_status cal_measured_normalize(json_t *run, const char *origin, json_t **out, est_diag *diag);

/* error_pct object for two normalised objects. Returns a new reference. */
json_t *cal_error_pct(json_t *predicted, json_t *measured);

/* The headline errors a threshold is checked against, and the largest component errors. */
typedef struct cal_verdict {
    const char *mem_key;  /* "peak_allocated", else "peak_reserved", else "total"; NULL none */
    double mem_err_pct;   /* its error (NAN when none) */
    const char *time_key; /* "iteration" or NULL */
    double time_err_pct;
    double max_mem_err_pct; /* largest |error| over the memory components compared (NAN none) */
    const char *max_mem_key;
    double max_time_err_pct; /* largest |error| over the time components compared */
    const char *max_time_key;
} cal_verdict;

/* Reads the headline and largest errors out of an error_pct object; the key pointers point into
 * static strings. */
void cal_verdict_of(json_t *error_pct, cal_verdict *v);

#endif /* LLMCAL_CAL_COMPARE_H */
