/* calib.h -- the calibration panel's data: predicted vs measured from a `llmcal validate` results
 * file (docs/tui-screens.md#validate-results-file describes the format).
 *
 * {"cases": [{"name": "llama-3-8b tp2 h100", "predicted": {"peak_allocated_bytes": 1.2e10, ...},
 *             "measured": {"peak_allocated_bytes": 1.25e10, ...}}, ...]}
 * Each metric present with a number (or null) in both objects of a case becomes one row; a metric
 * in only one of them is shown with "n/a" on the other side. Names ending in _bytes are shown as
 * bytes, in _s as seconds, other names as plain numbers. Extra keys are ignored.
 */
#ifndef LLMCAL_TUI_CALIB_H
#define LLMCAL_TUI_CALIB_H

#include <stdbool.h>

#include "est/status.h"

#define TUI_CALIB_MAX_ROWS 512

typedef struct tui_calib_row {
    char case_name[64]; /* the case's "name" (truncated) */
    char metric[48];    /* the metric's key, e.g. "peak_allocated_bytes" */
    double predicted;   /* the value in the metric's unit (bytes, s, ...); NAN when absent/null */
    double measured;    /* same; NAN when absent/null */
} tui_calib_row;

typedef struct tui_calib {
    bool loaded;                            /* a file was read successfully */
    char path[512];                         /* the file read (or looked for) */
    int n_cases;                            /* cases in the file */
    int n_rows;                             /* rows used (capped at TUI_CALIB_MAX_ROWS) */
    tui_calib_row rows[TUI_CALIB_MAX_ROWS]; /* one per (case, metric) */
} tui_calib;

/* Parses a results document held in memory. `origin` names it in messages. On success fills *out
 * (loaded = true) and returns EST_OK. On error returns EST_EPARSE (malformed JSON, diag has line
 * and column) or EST_EINVAL (diag names the field: "cases[2].measured: missing"); *out then has
 * loaded = false and n_rows = 0. */
est_status tui_calib_from_string(const char *json, const char *origin, tui_calib *out,
                                 est_diag *diag);

/* The same from a file; EST_EIO when it cannot be read (diag names the path and the reason). */
est_status tui_calib_load_file(const char *path, tui_calib *out, est_diag *diag);

#endif /* LLMCAL_TUI_CALIB_H */
