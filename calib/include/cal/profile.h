/* profile.h -- calibrated GPU profiles: the fitted est_coeffs of one machine, as JSON beside the
 * built-in profiles (profiles/calibrated/<name>.json), with provenance (device, driver and CUDA
 * versions, date, number of samples, residual error) and each fitted value's uncertainty.
 *
 *   { "llmcal_calibrated_profile": 1, "gpu": "h200", "description": "...",
 *     "provenance": { "device", "driver", "cuda", "date", "host", "gpus", "samples",
 *                     "samples_file", "rms_rel_err", "max_rel_err", "start_rms_rel_err", ... },
 *     "coeffs": { every est_coeffs field by its C name; peak_flop_per_s per dtype },
 *     "fitted": { "<field>": { "value", "std_err", "start" }, ... } }
 *
 * The estimator uses a profile through est_time_opts.coeffs (est_step_time_ex): the CLI's
 * `--calibration NAME|FILE` calls cal_coeffs_load(). Not here: the fit (fit.h).
 * References: docs/calibration.md#profiles.
 */
#ifndef LLMCAL_CAL_PROFILE_H
#define LLMCAL_CAL_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "cal/fit.h"
#include "cal/samples_io.h"
#include "est/compute.h"
#include "est/config.h"
#include "est/status.h"

typedef struct cal_profile {
    char gpu[LLMCAL_NAME_MAX]; /* base GPU profile name (capacity, memory overheads) */
    char description[160];
    char device[128];                /* "NVIDIA H200" as the driver names it */
    char driver[64];                 /* driver version */
    char cuda[64];                   /* CUDA runtime version */
    char date[64];                   /* ISO 8601 date of the measurement */
    char host[128];                  /* host name ("" when not recorded) */
    int gpus;                        /* GPUs the samples were measured on */
    int64_t samples;                 /* samples the fit used */
    double rms_rel_err;              /* fit residual: RMS of predicted/measured - 1 */
    double max_rel_err;              /* largest |predicted/measured - 1| */
    est_coeffs coeffs;               /* the complete set as written */
    unsigned fitted;                 /* CAL_BIT()s of the fields that were fitted */
    double std_err[CAL_PARAM_COUNT]; /* 1-sigma of each fitted field (NAN otherwise) */
    char path[512];                  /* file it was read from */
} cal_profile;

/* Builds a profile from a fit: the fitted coefficients, the report's uncertainties and residuals,
 * and the provenance found in the samples' metadata ("device", "driver", "cuda", "date", "host",
 * "gpus"). `gpu` is the base GPU profile name. Never fails. */
void cal_profile_from_fit(cal_profile *out, const char *gpu, const est_coeffs *fitted,
                          const cal_report *rep, const cal_meta *meta);

/* Writes a profile as JSON to `path` (created or truncated); `samples_file` (may be NULL) is
 * recorded in the provenance, `rep` (may be NULL) adds per-kind residuals. Returns EST_OK or
 * EST_EIO. */
est_status cal_profile_save(const char *path, const cal_profile *p, const cal_report *rep,
                            const char *samples_file, est_diag *diag);

/* Parses a calibrated profile from JSON text (`origin` names it in messages). Strict: unknown
 * keys, missing coefficient fields and invalid values are EST_EINVAL naming the key; malformed
 * JSON EST_EPARSE with line:column. The coefficient set is checked with est_coeffs_validate(). */
est_status cal_profile_from_string(const char *json, const char *origin, cal_profile *out,
                                   est_diag *diag);

/* Loads a calibrated profile by file path (an existing file, or anything ending in .json) or by
 * name: <dir>/calibrated/<name>.json for each directory of $LLMCAL_PROFILE_PATH, then the built-in
 * profile directory (prof_builtin_dir()). Returns EST_OK, EST_ENOTFOUND (no such name: diag lists
 * where it looked), EST_EIO, or as cal_profile_from_string(). */
est_status cal_profile_load(const char *name_or_path, cal_profile *out, est_diag *diag);

/* Copies the fitted fields of `p` onto *k (the others stay, e.g. from est_coeffs_from_hw() for the
 * cluster in use). */
void cal_profile_overlay(const cal_profile *p, est_coeffs *k);

/* What `llmcal estimate --calibration X` needs, in one call: loads X (cal_profile_load) and fills
 * *out. With `gpu` (and `cluster`, may be NULL) given, *out starts from est_coeffs_from_hw(gpu,
 * cluster) and takes the profile's fitted fields, and a profile made for another GPU is EST_EINVAL
 * ("calibration h200-box1 is for gpu 'h200', not 'h100-sxm'"); with gpu NULL *out is the set as
 * written. `gpu_name` (may be NULL, `cap` bytes) receives the profile's base GPU name, so a caller
 * without --gpu can load that GPU profile. Returns as cal_profile_load(). */
est_status cal_coeffs_load(const char *name_or_path, const est_gpu *gpu, const est_cluster *cluster,
                           est_coeffs *out, char *gpu_name, size_t cap, est_diag *diag);

#endif /* LLMCAL_CAL_PROFILE_H */
