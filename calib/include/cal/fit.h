/* fit.h -- calibration: fit the time model's coefficients (est_coeffs) to measured samples by
 * nonlinear least squares (GSL gsl_multifit_nlinear, trust-region Levenberg-Marquardt).
 *
 * The model function IS the estimator: the residual of sample i is
 *     r_i = ln(est_predict_sample(&s[i], coeffs(x)) / measured_i)
 * where coeffs(x) is the starting coefficient set with the fitted fields replaced by
 * x_j = ln(field_j / start_j). So a fitted value means exactly what est_gemm_time_s(),
 * est_attention_time_s(), est_membound_time_s() and est_collective_time_s() use. Log residuals
 * weigh a 1 us collective and a 100 ms GEMM alike (relative error) and keep every field positive.
 * Parameter uncertainties are GSL's covariance (J^T J)^-1 scaled by chi^2/dof, mapped back to field
 * units by the delta method (sigma_field = field * sigma_x).
 *
 * Not here: file I/O (samples_io.h, profile.h), measuring (probes.h). This library's fit.c is
 * the only file in llmcal that includes GSL headers; it turns GSL's abort() error handler off and
 * reports every failure as a status with words in est_diag.
 * References: GSL manual, "Nonlinear Least-Squares Fitting" (gsl_multifit_nlinear_*, covariance,
 * rcond); docs/calibration.md.
 */
#ifndef LLMCAL_CAL_FIT_H
#define LLMCAL_CAL_FIT_H

#include <stdbool.h>
#include <stddef.h>

#include "est/compute.h"
#include "est/sample.h"
#include "est/status.h"

/* The fittable fields of est_coeffs. Names are the est_coeffs field names. */
typedef enum cal_param {
    CAL_GEMM_EFF_MAX = 0, /* gemm_eff_max       (GEMM samples) */
    CAL_GEMM_HALF_DIM,    /* gemm_half_dim      (GEMM samples of >= 2 distinct shapes) */
    CAL_FP8_GEMM_RATIO,   /* fp8_gemm_ratio     (fp8 GEMM samples) */
    CAL_ATTN_EFF,         /* attn_eff           (flash attention samples) */
    CAL_MEM_EFF,          /* mem_eff            (membound samples; standard attention's softmax) */
    CAL_INTRA_ALPHA,      /* intra_alpha_s      (intra-node collectives of >= 2 sizes) */
    CAL_INTRA_BW,         /* intra_bytes_per_s  (intra-node collectives) */
    CAL_INTER_ALPHA,      /* inter_alpha_s      (inter-node collectives of >= 2 sizes) */
    CAL_INTER_BW,         /* inter_bytes_per_s  (inter-node collectives) */
    CAL_PARAM_COUNT
} cal_param;

#define CAL_BIT(p) (1u << (unsigned)(p))
#define CAL_ALL    ((1u << (unsigned)CAL_PARAM_COUNT) - 1u)

/* Which measured statistic the fit uses. */
typedef enum cal_stat { CAL_STAT_P50 = 0, CAL_STAT_MIN } cal_stat;

/* Tunables of the fit. Get them by value from cal_default_options() and edit fields. */
typedef struct cal_options {
    cal_stat stat;          /* measured statistic to fit (default median: robust to stragglers) */
    int max_iter;           /* trust-region iterations (default 200) */
    double xtol;            /* step tolerance (default 1e-10) */
    double gtol;            /* gradient tolerance (default 1e-12) */
    double ftol;            /* residual-change tolerance (default 0) */
    double min_rcond;       /* reciprocal condition number of J (smallest over largest singular
                          value, columns d ln t / d ln field) below which the fit is declared
                          ill-conditioned (default 1e-7) */
    double max_rel_std_err; /* a fitted parameter whose 1-sigma exceeds this fraction of its value
                               is undetermined: ill-conditioned (default 1.0) */
} cal_options;

typedef struct cal_param_result {
    bool fitted;    /* this field was fitted (else kept at its starting value) */
    double start;   /* starting value (field units) */
    double value;   /* fitted value (field units; == start when not fitted) */
    double std_err; /* 1-sigma uncertainty (field units); NAN when not fitted or dof == 0 */
} cal_param_result;

typedef struct cal_residual_stats {
    size_t n;       /* samples of this kind used */
    double rms_rel; /* root mean square of (predicted/measured - 1) */
    double max_rel; /* largest |predicted/measured - 1| */
} cal_residual_stats;

typedef struct cal_report {
    cal_param_result param[CAL_PARAM_COUNT];
    int n_params;            /* fitted parameters p */
    size_t n_samples;        /* samples given */
    size_t n_used;           /* samples that depend on a fitted parameter (the fit's n) */
    int iterations;          /* trust-region iterations taken */
    const char *stop_reason; /* "small step" / "small gradient" (static string) */
    double chisq;            /* sum of squared log residuals at the solution */
    int dof;                 /* n_used - n_params */
    double rcond;            /* reciprocal condition number of the Jacobian at the solution */
    double rms_rel;          /* over the used samples: RMS of (predicted/measured - 1) */
    double max_rel;          /* largest |predicted/measured - 1| */
    double start_rms_rel;    /* the same with the starting coefficients */
    cal_residual_stats by_kind[EST_SAMPLE_KIND_COUNT];
} cal_report;

/* Defaults described above, by value. */
cal_options cal_default_options(void);

/* est_coeffs field name of a parameter ("gemm_eff_max"...), static; "unknown" out of range. */
const char *cal_param_name(cal_param p);

/* Unit of a parameter for display ("", "elements", "s", "bytes/s"), static. */
const char *cal_param_unit(cal_param p);

/* Parameter by field name, -1 if unknown. */
int cal_param_parse(const char *name);

/* Parses a comma-separated list of field names (or "all", or group names "gemm", "attention",
 * "membound", "intra", "inter") into CAL_BIT()s. Returns EST_OK or EST_EINVAL naming the bad
 * entry; *out untouched on error. */
est_status cal_params_parse(const char *list, unsigned *out, est_diag *diag);

/* Bits of the parameters that the samples can inform: each needs a sample whose prediction
 * depends on it (see cal_param). Samples that fail est_sample_validate() are ignored here. */
unsigned cal_params_informed(const est_sample *s, size_t n);

/* The measured time cal_fit() uses for a sample under `stat` (min_s falls back to p50_s when
 * NAN). */
double cal_sample_measured(const est_sample *s, cal_stat stat);

/* Fits the parameters in `params` (CAL_BIT()s; 0 = every parameter cal_params_informed() finds)
 * to the samples, starting from *coeffs and leaving its other fields as they are. `opt` may be NULL
 * (defaults). A sample enters the fit when its prediction depends on a fitted parameter and every
 * parameter it borrows from another kind of measurement is fitted too (an fp8 GEMM borrows the
 * 16-bit GEMM curve; standard attention borrows it and mem_eff), so a stale held value cannot bias
 * the fitted ones: fitting only mem_eff uses the membound samples, not standard attention. A
 * sample's own parameters may be held by choice (fit intra_bytes_per_s with a known latency).
 *
 * On EST_OK, *coeffs holds the fitted set (est_coeffs_validate() passes) and *report (caller-owned,
 * may be NULL) the values, uncertainties and residuals. Errors, with diag in words:
 *   EST_EINVAL  a sample fails est_sample_validate() ("sample 12: sample.m: 0 must be positive"),
 *               the starting coefficients fail est_coeffs_validate(), or params has unknown bits;
 *   EST_ENOFIT  ill-posed or failed: no samples inform a requested parameter; fewer samples than
 *               parameters + 1; a pair that cannot be separated (every GEMM of one shape, every
 *               collective of one size on a link class); a rank-deficient or ill-conditioned
 *               Jacobian (rcond below opt->min_rcond, or a parameter whose uncertainty exceeds
               opt->max_rel_std_err of its value); GSL failures or no convergence (with
 *               gsl_strerror's text); a fitted fraction above 1 (the peak or bandwidth in the
 *               profile is too low for the measurements).
 * On error *coeffs is unchanged; *report holds what was known (starting values, counts).
 * Thread-safe: no global state besides switching GSL's error handler off (idempotent). */
est_status cal_fit(const est_sample *s, size_t n, unsigned params, const cal_options *opt,
                   est_coeffs *coeffs, cal_report *report, est_diag *diag);

/* Relative residual of each sample under `coeffs`: rel[i] = predicted / measured - 1 (NAN for an
 * invalid sample). `rel` has n entries (caller-owned). */
void cal_residuals(const est_sample *s, size_t n, const est_coeffs *coeffs, cal_stat stat,
                   double *rel);

#endif /* LLMCAL_CAL_FIT_H */
