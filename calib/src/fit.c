/* fit.c -- nonlinear least-squares fit of est_coeffs to measured samples (GSL multifit_nlinear).
 *
 * The only file in llmcal that includes GSL headers. GSL's default error handler calls abort();
 * cal_fit() switches it off first and turns every GSL status into EST_ENOFIT with gsl_strerror()'s
 * text, so an ill-posed calibration is a message, never a crash.
 * Not here: sample files and profiles (samples_io.c, profile.c), the cost model (estimator/).
 * References: GSL manual sec. "Nonlinear Least-Squares Fitting" (trust region, covariance,
 * rcond); GSL doc/examples/nlfit.c (chi^2/dof scaling of the covariance); docs/calibration.md.
 */
#include "cal/fit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_multifit_nlinear.h>
#include <gsl/gsl_vector.h>

// ---------------------------------------------------------------------------
// parameter table: name, unit, where it lives in est_coeffs, scale when it starts at 0

typedef struct param_info {
    const char *name;
    const char *unit;
    size_t offset;   /* offsetof(est_coeffs, field) */
    double fallback; /* scale used when the starting value is not positive */
    bool fraction;   /* must end in (0, 1] */
} param_info;

static const param_info params_tab[CAL_PARAM_COUNT] = {
    [CAL_GEMM_EFF_MAX] = {"gemm_eff_max", "", offsetof(est_coeffs, gemm_eff_max), 0.7, true},
    [CAL_GEMM_HALF_DIM] = {"gemm_half_dim", "elements", offsetof(est_coeffs, gemm_half_dim), 256.0,
                           false},
    [CAL_FP8_GEMM_RATIO] = {"fp8_gemm_ratio", "", offsetof(est_coeffs, fp8_gemm_ratio), 0.75, true},
    [CAL_ATTN_EFF] = {"attn_eff", "", offsetof(est_coeffs, attn_eff), 0.5, true},
    [CAL_MEM_EFF] = {"mem_eff", "", offsetof(est_coeffs, mem_eff), 0.8, true},
    [CAL_INTRA_ALPHA] = {"intra_alpha_s", "s", offsetof(est_coeffs, intra_alpha_s), 5e-6, false},
    [CAL_INTRA_BW] = {"intra_bytes_per_s", "bytes/s", offsetof(est_coeffs, intra_bytes_per_s), 1e11,
                      false},
    [CAL_INTER_ALPHA] = {"inter_alpha_s", "s", offsetof(est_coeffs, inter_alpha_s), 1e-5, false},
    [CAL_INTER_BW] = {"inter_bytes_per_s", "bytes/s", offsetof(est_coeffs, inter_bytes_per_s), 4e10,
                      false},
};

static double *field(est_coeffs *k, cal_param p)
{
    return (double *)(void *)((char *)k + params_tab[p].offset);
}

static double field_get(const est_coeffs *k, cal_param p)
{
    return *(const double *)(const void *)((const char *)k + params_tab[p].offset);
}

// ---------------------------------------------------------------------------
// names and options

cal_options cal_default_options(void)
{
    cal_options o;
    o.stat = CAL_STAT_P50;
    o.max_iter = 200;
    o.xtol = 1e-10;
    o.gtol = 1e-12;
    o.ftol = 0.0;
    o.min_rcond = 1e-7;
    o.max_rel_std_err = 1.0;
    return o;
}

const char *cal_param_name(cal_param p)
{
    return (int)p >= 0 && p < CAL_PARAM_COUNT ? params_tab[p].name : "unknown";
}

const char *cal_param_unit(cal_param p)
{
    return (int)p >= 0 && p < CAL_PARAM_COUNT ? params_tab[p].unit : "";
}

int cal_param_parse(const char *name)
{
    for (int i = 0; i < CAL_PARAM_COUNT; i++) {
        if (strcmp(params_tab[i].name, name) == 0) {
            return i;
        }
    }
    return -1;
}

static unsigned group_bits(const char *g)
{
    if (strcmp(g, "all") == 0) {
        return CAL_ALL;
    }
    if (strcmp(g, "gemm") == 0) {
        return CAL_BIT(CAL_GEMM_EFF_MAX) | CAL_BIT(CAL_GEMM_HALF_DIM);
    }
    if (strcmp(g, "fp8") == 0) {
        return CAL_BIT(CAL_FP8_GEMM_RATIO);
    }
    if (strcmp(g, "attention") == 0) {
        return CAL_BIT(CAL_ATTN_EFF);
    }
    if (strcmp(g, "membound") == 0) {
        return CAL_BIT(CAL_MEM_EFF);
    }
    if (strcmp(g, "intra") == 0) {
        return CAL_BIT(CAL_INTRA_ALPHA) | CAL_BIT(CAL_INTRA_BW);
    }
    if (strcmp(g, "inter") == 0) {
        return CAL_BIT(CAL_INTER_ALPHA) | CAL_BIT(CAL_INTER_BW);
    }
    int p = cal_param_parse(g);
    return p < 0 ? 0u : CAL_BIT(p);
}

est_status cal_params_parse(const char *list, unsigned *out, est_diag *diag)
{
    char buf[512];
    size_t len = strlen(list);
    if (len == 0 || len >= sizeof buf) {
        return EST_FAIL(diag, EST_EINVAL, "--fit: expected a comma-separated list of parameters");
    }
    memcpy(buf, list, len + 1);
    unsigned bits = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        unsigned b = group_bits(tok);
        if (b == 0) {
            return EST_FAIL(diag, EST_EINVAL,
                            "--fit: '%s' is not a parameter (gemm_eff_max, gemm_half_dim, "
                            "fp8_gemm_ratio, attn_eff, mem_eff, intra_alpha_s, intra_bytes_per_s, "
                            "inter_alpha_s, inter_bytes_per_s) or group (all, gemm, fp8, "
                            "attention, membound, intra, inter)",
                            tok);
        }
        bits |= b;
    }
    *out = bits;
    return EST_OK;
}

// ---------------------------------------------------------------------------
// which parameters a sample depends on

static unsigned sample_deps(const est_sample *s)
{
    unsigned gemm = CAL_BIT(CAL_GEMM_EFF_MAX) | CAL_BIT(CAL_GEMM_HALF_DIM);
    if (s->dtype == EST_DT_FP8) {
        gemm |= CAL_BIT(CAL_FP8_GEMM_RATIO);
    }
    switch (s->kind) {
    case EST_SAMPLE_GEMM: return gemm;
    case EST_SAMPLE_ATTENTION:
        if (s->attn == EST_ATTN_FLASH) {
            return CAL_BIT(CAL_ATTN_EFF);
        }
        return gemm | CAL_BIT(CAL_MEM_EFF); /* two batched GEMMs + softmax (compute.c) */
    case EST_SAMPLE_MEMBOUND: return CAL_BIT(CAL_MEM_EFF);
    case EST_SAMPLE_COLLECTIVE:
        if (s->link == EST_LINK_INTER) {
            return CAL_BIT(CAL_INTER_ALPHA) | CAL_BIT(CAL_INTER_BW);
        }
        return CAL_BIT(CAL_INTRA_ALPHA) | CAL_BIT(CAL_INTRA_BW);
    default: return 0;
    }
}

/* parameters a sample depends on that belong to another kind of measurement: an fp8 GEMM
   borrows the 16-bit GEMM curve, standard attention borrows the GEMM curve and mem_eff */
static unsigned sample_borrowed(const est_sample *s)
{
    unsigned gemm = CAL_BIT(CAL_GEMM_EFF_MAX) | CAL_BIT(CAL_GEMM_HALF_DIM);
    if (s->kind == EST_SAMPLE_GEMM && s->dtype == EST_DT_FP8) {
        return gemm;
    }
    if (s->kind == EST_SAMPLE_ATTENTION && s->attn != EST_ATTN_FLASH) {
        return sample_deps(s);
    }
    return 0;
}

/* a sample enters a fit of `bits` when it depends on a fitted parameter and everything it
   borrows from other kinds is fitted too (a held value from another kind would pull the fitted
   ones toward it); its own parameters may be held by choice (e.g. a known latency) */
static bool sample_used(const est_sample *s, unsigned bits)
{
    unsigned b = sample_borrowed(s);
    return (sample_deps(s) & bits) != 0 && (b & ~bits) == 0;
}

unsigned cal_params_informed(const est_sample *s, size_t n)
{
    unsigned bits = 0;
    for (size_t i = 0; i < n; i++) {
        if (est_sample_validate(&s[i], NULL) == EST_OK) {
            bits |= sample_deps(&s[i]);
        }
    }
    return bits;
}

double cal_sample_measured(const est_sample *s, cal_stat stat)
{
    if (stat == CAL_STAT_MIN && !isnan(s->min_s)) {
        return s->min_s;
    }
    return s->p50_s;
}

void cal_residuals(const est_sample *s, size_t n, const est_coeffs *coeffs, cal_stat stat,
                   double *rel)
{
    for (size_t i = 0; i < n; i++) {
        if (est_sample_validate(&s[i], NULL) != EST_OK) {
            rel[i] = NAN;
            continue;
        }
        rel[i] = est_predict_sample(&s[i], coeffs) / cal_sample_measured(&s[i], stat) - 1.0;
    }
}

// ---------------------------------------------------------------------------
// identifiability checks in words, before GSL sees the problem

/* harmonic-mean dimension of a GEMM, as compute.c's shape model uses it */
static double gemm_dim(const est_sample *s)
{
    return 3.0 / (1.0 / (double)s->m + 1.0 / (double)s->n + 1.0 / (double)s->k);
}

static bool distinct(double a, double b)
{
    return fabs(a - b) > 1e-6 * fmax(fabs(a), fabs(b));
}

static est_status check_separable(const est_sample *s, size_t n, unsigned bits, est_diag *diag)
{
    /* each requested parameter needs a sample that enters the fit */
    unsigned informed = 0;
    for (size_t i = 0; i < n; i++) {
        if (sample_used(&s[i], bits)) {
            informed |= sample_deps(&s[i]);
        }
    }
    for (int p = 0; p < CAL_PARAM_COUNT; p++) {
        if ((bits & CAL_BIT(p)) && !(informed & CAL_BIT(p))) {
            static const char *const need[CAL_PARAM_COUNT] = {"GEMM",
                                                              "GEMM",
                                                              "fp8 GEMM",
                                                              "flash-attention",
                                                              "membound",
                                                              "intra-node collective",
                                                              "intra-node collective",
                                                              "inter-node collective",
                                                              "inter-node collective"};
            return EST_FAIL(diag, EST_ENOFIT,
                            "cannot fit %s: no %s samples (samples that also "
                            "borrow a parameter held fixed are left out)",
                            params_tab[p].name, need[p]);
        }
    }
    /* gemm_eff_max vs gemm_half_dim: eff = max * D/(D + half) needs two distinct D */
    if ((bits & CAL_BIT(CAL_GEMM_EFF_MAX)) && (bits & CAL_BIT(CAL_GEMM_HALF_DIM))) {
        size_t ng = 0;
        double d0 = 0.0;
        bool two = false;
        for (size_t i = 0; i < n; i++) {
            if (s[i].kind != EST_SAMPLE_GEMM || !sample_used(&s[i], bits)) {
                continue;
            }
            double d = gemm_dim(&s[i]);
            if (ng++ == 0) {
                d0 = d;
            } else if (distinct(d, d0)) {
                two = true;
            }
        }
        if (!two) {
            return EST_FAIL(diag, EST_ENOFIT,
                            "cannot separate gemm_eff_max from gemm_half_dim: all %zu GEMM "
                            "samples have the same harmonic-mean dimension (%g); measure at least "
                            "2 distinct shapes or fit only gemm_eff_max",
                            ng, d0);
        }
    }
    /* fp8_gemm_ratio vs gemm_eff_max: only their product is seen without 16-bit GEMMs */
    if ((bits & CAL_BIT(CAL_FP8_GEMM_RATIO)) && (bits & CAL_BIT(CAL_GEMM_EFF_MAX))) {
        bool other = false;
        for (size_t i = 0; i < n && !other; i++) {
            other = s[i].kind == EST_SAMPLE_GEMM && s[i].dtype != EST_DT_FP8 &&
                    sample_used(&s[i], bits);
        }
        if (!other) {
            return EST_FAIL(diag, EST_ENOFIT,
                            "cannot separate fp8_gemm_ratio from gemm_eff_max: every GEMM sample "
                            "is fp8; add bf16 GEMMs or fit only one of them");
        }
    }
    /* alpha vs busbw per link class: t = steps*alpha + S*factor/busbw needs two sizes */
    for (int l = 0; l < 2; l++) {
        cal_param a = l == 0 ? CAL_INTRA_ALPHA : CAL_INTER_ALPHA;
        cal_param b = l == 0 ? CAL_INTRA_BW : CAL_INTER_BW;
        if (!((bits & CAL_BIT(a)) && (bits & CAL_BIT(b)))) {
            continue;
        }
        size_t nc = 0;
        double b0 = 0.0;
        bool two = false;
        for (size_t i = 0; i < n; i++) {
            if (s[i].kind != EST_SAMPLE_COLLECTIVE || (int)s[i].link != l) {
                continue;
            }
            double v = s[i].bytes * est_busbw_factor(s[i].coll, s[i].nranks);
            if (nc++ == 0) {
                b0 = v;
            } else if (distinct(v, b0)) {
                two = true;
            }
        }
        if (!two) {
            return EST_FAIL(diag, EST_ENOFIT,
                            "cannot separate %s from %s: all %zu %s-node collective samples move "
                            "the same bus volume; measure at least 2 message sizes",
                            params_tab[a].name, params_tab[b].name, nc, l == 0 ? "intra" : "inter");
        }
    }
    return EST_OK;
}

// ---------------------------------------------------------------------------
// the GSL problem

typedef struct fit_ctx {
    const est_sample *s; /* the samples that enter the fit */
    const size_t *idx;   /* their indices into the caller's array */
    size_t n;
    est_coeffs base; /* starting set; fitted fields are overwritten per evaluation */
    cal_param which[CAL_PARAM_COUNT];
    double scale[CAL_PARAM_COUNT]; /* field = scale * exp(x) */
    size_t p;
    cal_stat stat;
} fit_ctx;

static void apply_x(const fit_ctx *c, const gsl_vector *x, est_coeffs *k)
{
    *k = c->base;
    for (size_t j = 0; j < c->p; j++) {
        *field(k, c->which[j]) = c->scale[j] * exp(gsl_vector_get(x, j));
    }
}

static int residual_f(const gsl_vector *x, void *data, gsl_vector *f)
{
    const fit_ctx *c = data;
    est_coeffs k;
    apply_x(c, x, &k);
    for (size_t i = 0; i < c->n; i++) {
        const est_sample *s = &c->s[c->idx[i]];
        double pred = est_predict_sample(s, &k);
        if (!(pred > 0.0) || !isfinite(pred)) {
            return GSL_ERANGE;
        }
        gsl_vector_set(f, i, log(pred / cal_sample_measured(s, c->stat)));
    }
    return GSL_SUCCESS;
}

/* central differences in x = ln(field/scale): a fixed step is a fixed relative change of the
   field, right for every parameter whatever its unit */
#define JAC_STEP 1e-6

static int residual_df(const gsl_vector *x, void *data, gsl_matrix *J)
{
    const fit_ctx *c = data;
    gsl_vector *xp = gsl_vector_alloc(c->p);
    gsl_vector *fp = gsl_vector_alloc(c->n);
    gsl_vector *fm = gsl_vector_alloc(c->n);
    int rc = GSL_SUCCESS;
    if (xp == NULL || fp == NULL || fm == NULL) {
        rc = GSL_ENOMEM;
    }
    for (size_t j = 0; j < c->p && rc == GSL_SUCCESS; j++) {
        gsl_vector_memcpy(xp, x);
        gsl_vector_set(xp, j, gsl_vector_get(x, j) + JAC_STEP);
        rc = residual_f(xp, data, fp);
        if (rc == GSL_SUCCESS) {
            gsl_vector_set(xp, j, gsl_vector_get(x, j) - JAC_STEP);
            rc = residual_f(xp, data, fm);
        }
        for (size_t i = 0; i < c->n && rc == GSL_SUCCESS; i++) {
            gsl_matrix_set(J, i, j,
                           (gsl_vector_get(fp, i) - gsl_vector_get(fm, i)) / (2.0 * JAC_STEP));
        }
    }
    gsl_vector_free(fm);
    gsl_vector_free(fp);
    gsl_vector_free(xp);
    return rc;
}

static void residual_stats(const est_sample *s, const size_t *idx, size_t n, const est_coeffs *k,
                           cal_stat stat, cal_report *r, bool start)
{
    double sum = 0.0;
    double mx = 0.0;
    double ksum[EST_SAMPLE_KIND_COUNT] = {0};
    for (size_t i = 0; i < n; i++) {
        const est_sample *si = &s[idx[i]];
        double rel = est_predict_sample(si, k) / cal_sample_measured(si, stat) - 1.0;
        sum += rel * rel;
        mx = fmax(mx, fabs(rel));
        if (!start) {
            cal_residual_stats *ks = &r->by_kind[si->kind];
            ks->n++;
            ks->max_rel = fmax(ks->max_rel, fabs(rel));
            ksum[si->kind] += rel * rel;
        }
    }
    double rms = n > 0 ? sqrt(sum / (double)n) : NAN;
    if (start) {
        r->start_rms_rel = rms;
        return;
    }
    r->rms_rel = rms;
    r->max_rel = mx;
    for (int kk = 0; kk < EST_SAMPLE_KIND_COUNT; kk++) {
        cal_residual_stats *ks = &r->by_kind[kk];
        ks->rms_rel = ks->n > 0 ? sqrt(ksum[kk] / (double)ks->n) : NAN;
    }
}

/* smallest over largest singular value of J (columns are d ln t / d ln field: unit-free) */
static double jacobian_rcond(const gsl_matrix *J)
{
    double rc = NAN;
    gsl_matrix *a = gsl_matrix_alloc(J->size1, J->size2);
    gsl_matrix *v = gsl_matrix_alloc(J->size2, J->size2);
    gsl_vector *sv = gsl_vector_alloc(J->size2);
    gsl_vector *work = gsl_vector_alloc(J->size2);
    if (a != NULL && v != NULL && sv != NULL && work != NULL) {
        gsl_matrix_memcpy(a, J);
        if (gsl_linalg_SV_decomp(a, v, sv, work) == GSL_SUCCESS) {
            double smax = gsl_vector_max(sv);
            rc = smax > 0.0 ? gsl_vector_min(sv) / smax : 0.0;
        }
    }
    gsl_vector_free(work);
    gsl_vector_free(sv);
    gsl_matrix_free(v);
    gsl_matrix_free(a);
    return rc;
}

static const char *stop_name(int info)
{
    switch (info) {
    case 1: return "small step";
    case 2: return "small gradient";
    default: return "converged";
    }
}

static est_status run_gsl(fit_ctx *c, const cal_options *o, est_coeffs *out, cal_report *r,
                          est_diag *diag)
{
    est_status st = EST_OK;
    gsl_multifit_nlinear_workspace *w = NULL;
    gsl_vector *x = gsl_vector_alloc(c->p);
    gsl_matrix *covar = gsl_matrix_alloc(c->p, c->p);
    if (x == NULL || covar == NULL) {
        st = EST_FAIL(diag, EST_ENOMEM, "fit: out of memory for %zu parameters", c->p);
        goto done;
    }
    gsl_vector_set_zero(x); /* x = ln(field/scale) = 0 at the start */

    gsl_multifit_nlinear_fdf fdf;
    memset(&fdf, 0, sizeof fdf);
    fdf.f = residual_f;
    fdf.df = residual_df; /* numerical: the model is the estimator's code, not a formula */
    fdf.fvv = NULL;
    fdf.n = c->n;
    fdf.p = c->p;
    fdf.params = c;
    gsl_multifit_nlinear_parameters fp = gsl_multifit_nlinear_default_parameters();
    w = gsl_multifit_nlinear_alloc(gsl_multifit_nlinear_trust, &fp, c->n, c->p);
    if (w == NULL) {
        st = EST_FAIL(diag, EST_ENOFIT, "fit: GSL could not set up %zu samples x %zu parameters",
                      c->n, c->p);
        goto done;
    }
    int gs = gsl_multifit_nlinear_init(x, &fdf, w);
    if (gs != GSL_SUCCESS) {
        st = EST_FAIL(diag, EST_ENOFIT,
                      "fit: the starting coefficients give no valid prediction "
                      "(%s)",
                      gsl_strerror(gs));
        goto done;
    }
    int info = 0;
    gs = gsl_multifit_nlinear_driver((size_t)o->max_iter, o->xtol, o->gtol, o->ftol, NULL, NULL,
                                     &info, w);
    r->iterations = (int)gsl_multifit_nlinear_niter(w);
    bool maxiter = gs == GSL_EMAXITER; /* diagnose the conditioning below, then fail */
    if (gs != GSL_SUCCESS && !maxiter) {
        st = EST_FAIL(diag, EST_ENOFIT, "fit failed after %d iterations: %s", r->iterations,
                      gsl_strerror(gs));
        goto done;
    }
    r->stop_reason = stop_name(info);

    gsl_vector *f = gsl_multifit_nlinear_residual(w);
    double chisq = 0.0;
    gsl_blas_ddot(f, f, &chisq);
    r->chisq = chisq;
    gsl_matrix *J = gsl_multifit_nlinear_jac(w);
    r->rcond = jacobian_rcond(J);
    gs = gsl_multifit_nlinear_covar(J, 0.0, covar);
    if (gs != GSL_SUCCESS) {
        st = EST_FAIL(diag, EST_ENOFIT, "fit: covariance failed (%s)", gsl_strerror(gs));
        goto done;
    }
    const gsl_vector *xs = gsl_multifit_nlinear_position(w);
    est_coeffs k;
    apply_x(c, xs, &k);
    /* GSL nlfit.c example: scale the covariance by chi^2/dof */
    double s2 = r->dof > 0 ? chisq / (double)r->dof : NAN;
    for (size_t j = 0; j < c->p; j++) {
        cal_param_result *pr = &r->param[c->which[j]];
        pr->value = field_get(&k, c->which[j]);
        pr->std_err = pr->value * sqrt(gsl_matrix_get(covar, j, j) * s2);
    }
    /* the worst-determined parameter: largest relative uncertainty (sigma_x = sigma/value) */
    size_t worst = 0;
    for (size_t j = 1; j < c->p; j++) {
        if (gsl_matrix_get(covar, j, j) > gsl_matrix_get(covar, worst, worst)) {
            worst = j;
        }
    }
    double worst_rel = sqrt(gsl_matrix_get(covar, worst, worst) * s2);
    if (!(r->rcond >= o->min_rcond) || worst_rel > o->max_rel_std_err) {
        st = EST_FAIL(diag, EST_ENOFIT,
                      "fit is ill-conditioned%s (rcond %.3g, %s +- %.3g%%): the samples cannot "
                      "pin down %s; measure shapes/sizes where it matters or leave it out of --fit",
                      maxiter ? " and did not converge" : "", r->rcond,
                      params_tab[c->which[worst]].name, 100.0 * worst_rel,
                      params_tab[c->which[worst]].name);
        goto done;
    }
    if (maxiter) {
        st = EST_FAIL(diag, EST_ENOFIT, "fit did not converge in %d iterations (%s)", o->max_iter,
                      gsl_strerror(GSL_EMAXITER));
        goto done;
    }
    for (size_t j = 0; j < c->p; j++) {
        cal_param p = c->which[j];
        if (params_tab[p].fraction && field_get(&k, p) > 1.0) {
            st = EST_FAIL(diag, EST_ENOFIT,
                          "fitted %s = %.4g exceeds 1: the measurements are faster than the "
                          "profile's peak allows (wrong GPU profile, or wrong sample sizes?)",
                          params_tab[p].name, field_get(&k, p));
            goto done;
        }
    }
    est_diag sub = {{0}, NULL, 0};
    est_status vs = est_coeffs_validate(&k, &sub);
    if (vs != EST_OK) {
        st = EST_FAIL(diag, EST_ENOFIT, "fitted coefficients are not usable: %s", sub.msg);
        goto done;
    }
    residual_stats(c->s, c->idx, c->n, &k, c->stat, r, false);
    *out = k;
done:
    gsl_multifit_nlinear_free(w);
    gsl_matrix_free(covar);
    gsl_vector_free(x);
    return st;
}

// ---------------------------------------------------------------------------
// public

est_status cal_fit(const est_sample *s, size_t n, unsigned params, const cal_options *opt,
                   est_coeffs *coeffs, cal_report *report, est_diag *diag)
{
    gsl_set_error_handler_off();
    cal_options o = opt != NULL ? *opt : cal_default_options();
    cal_report rep_local;
    cal_report *r = report != NULL ? report : &rep_local;
    memset(r, 0, sizeof *r);
    r->n_samples = n;
    r->rcond = NAN;
    r->rms_rel = NAN;
    r->max_rel = NAN;
    r->start_rms_rel = NAN;
    r->stop_reason = "";
    for (int p = 0; p < CAL_PARAM_COUNT; p++) {
        r->param[p].start = field_get(coeffs, (cal_param)p);
        r->param[p].value = r->param[p].start;
        r->param[p].std_err = NAN;
    }
    if (params & ~CAL_ALL) {
        return EST_FAIL(diag, EST_EINVAL, "fit: parameter bits 0x%x are not parameters",
                        params & ~CAL_ALL);
    }
    if (o.max_iter < 1 || !(o.min_rcond >= 0.0)) {
        return EST_FAIL(diag, EST_EINVAL, "fit: options: max_iter >= 1 and min_rcond >= 0");
    }
    est_diag sub = {{0}, NULL, 0};
    est_status st = est_coeffs_validate(coeffs, &sub);
    if (st != EST_OK) {
        return EST_FAIL(diag, st, "starting coefficients: %s", sub.msg);
    }
    if (n == 0 || s == NULL) {
        return EST_FAIL(diag, EST_ENOFIT, "no samples to fit");
    }
    for (size_t i = 0; i < n; i++) {
        st = est_sample_validate(&s[i], &sub);
        if (st != EST_OK) {
            return EST_FAIL(diag, st, "sample %zu: %s", i + 1, sub.msg);
        }
    }
    unsigned bits = params != 0 ? params : cal_params_informed(s, n);
    if (bits == 0) {
        return EST_FAIL(diag, EST_ENOFIT, "no parameter to fit");
    }
    st = check_separable(s, n, bits, diag);
    if (st != EST_OK) {
        return st;
    }

    fit_ctx c;
    memset(&c, 0, sizeof c);
    c.s = s;
    c.base = *coeffs;
    c.stat = o.stat;
    for (int p = 0; p < CAL_PARAM_COUNT; p++) {
        if (bits & CAL_BIT(p)) {
            double v = field_get(coeffs, (cal_param)p);
            c.which[c.p] = (cal_param)p;
            c.scale[c.p] = v > 0.0 ? v : params_tab[p].fallback;
            *field(&c.base, (cal_param)p) = c.scale[c.p];
            r->param[p].fitted = true;
            c.p++;
        }
    }
    r->n_params = (int)c.p;
    size_t *idx = malloc(n * sizeof *idx);
    if (idx == NULL) {
        return EST_FAIL(diag, EST_ENOMEM, "fit: out of memory for %zu samples", n);
    }
    for (size_t i = 0; i < n; i++) {
        if (sample_used(&s[i], bits)) {
            idx[c.n++] = i;
        }
    }
    c.idx = idx;
    r->n_used = c.n;
    r->dof = (int)c.n - (int)c.p;
    residual_stats(s, idx, c.n, &c.base, o.stat, r, true);
    if (c.n < c.p + 1) {
        st = EST_FAIL(diag, EST_ENOFIT,
                      "insufficient data points: %zu samples for %zu parameters (need at least "
                      "%zu for a fit with uncertainties)",
                      c.n, c.p, c.p + 1);
    } else {
        st = run_gsl(&c, &o, coeffs, r, diag);
    }
    free(idx);
    return st;
}
