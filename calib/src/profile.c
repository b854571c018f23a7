/* profile.c -- calibrated GPU profiles as JSON (jansson): write after a fit, read strictly, look up
 * by name under <profile dir>/calibrated/, and overlay the fitted fields on a coefficient set.
 *
 * Not here: the fit (fit.c), sample files (samples_io.c). References: docs/calibration.md#profiles.
 */
#include "cal/profile.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "prof/prof.h"

#define FORMAT_VERSION 1

static const char *const dtype_keys[EST_DT_COUNT] = {"fp32", "tf32", "bf16", "fp16", "fp8"};

/* est_coeffs fields other than the fittable ones and peaks */
typedef struct dfield {
    const char *name;
    size_t offset;
} dfield;

static const dfield extra_doubles[] = {
    {"hbm_bytes_per_s", offsetof(est_coeffs, hbm_bytes_per_s)},
    {"overlap_slowdown", offsetof(est_coeffs, overlap_slowdown)},
    {"kernel_overhead_s", offsetof(est_coeffs, kernel_overhead_s)},
};

static double *dptr(est_coeffs *k, size_t off)
{
    return (double *)(void *)((char *)k + off);
}

/* offset of a fittable field (same table order as fit.c's, by name) */
static double *param_ptr(est_coeffs *k, cal_param p)
{
    switch (p) {
    case CAL_GEMM_EFF_MAX: return &k->gemm_eff_max;
    case CAL_GEMM_HALF_DIM: return &k->gemm_half_dim;
    case CAL_FP8_GEMM_RATIO: return &k->fp8_gemm_ratio;
    case CAL_ATTN_EFF: return &k->attn_eff;
    case CAL_MEM_EFF: return &k->mem_eff;
    case CAL_INTRA_ALPHA: return &k->intra_alpha_s;
    case CAL_INTRA_BW: return &k->intra_bytes_per_s;
    case CAL_INTER_ALPHA: return &k->inter_alpha_s;
    case CAL_INTER_BW:
    default: return &k->inter_bytes_per_s;
    }
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src != NULL ? src : "");
}

// ---------------------------------------------------------------------------
// from a fit

void cal_profile_from_fit(cal_profile *out, const char *gpu, const est_coeffs *fitted,
                          const cal_report *rep, const cal_meta *meta)
{
    memset(out, 0, sizeof *out);
    copy_str(out->gpu, sizeof out->gpu, gpu);
    copy_str(out->device, sizeof out->device, cal_meta_get(meta, "device"));
    copy_str(out->driver, sizeof out->driver, cal_meta_get(meta, "driver"));
    copy_str(out->cuda, sizeof out->cuda, cal_meta_get(meta, "cuda"));
    copy_str(out->date, sizeof out->date, cal_meta_get(meta, "date"));
    copy_str(out->host, sizeof out->host, cal_meta_get(meta, "host"));
    const char *g = cal_meta_get(meta, "gpus");
    out->gpus = g != NULL ? atoi(g) : 1;
    snprintf(out->description, sizeof out->description, "%s calibrated on %s", gpu,
             out->device[0] ? out->device : "an unnamed device");
    out->coeffs = *fitted;
    out->samples = rep != NULL ? (int64_t)rep->n_used : 0;
    out->rms_rel_err = rep != NULL ? rep->rms_rel : NAN;
    out->max_rel_err = rep != NULL ? rep->max_rel : NAN;
    for (int p = 0; p < CAL_PARAM_COUNT; p++) {
        out->std_err[p] = NAN;
        if (rep != NULL && rep->param[p].fitted) {
            out->fitted |= CAL_BIT(p);
            out->std_err[p] = rep->param[p].std_err;
        }
    }
}

// ---------------------------------------------------------------------------
// writing

static json_t *num_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *coeffs_json(const est_coeffs *k)
{
    json_t *o = json_object();
    json_t *peaks = json_object();
    for (int d = 0; d < EST_DT_COUNT; d++) {
        json_object_set_new(peaks, dtype_keys[d], num_or_null(k->peak_flop_per_s[d]));
    }
    json_object_set_new(o, "peak_flop_per_s", peaks);
    est_coeffs tmp = *k;
    for (int p = 0; p < CAL_PARAM_COUNT; p++) {
        json_object_set_new(o, cal_param_name((cal_param)p),
                            num_or_null(*param_ptr(&tmp, (cal_param)p)));
    }
    for (size_t i = 0; i < sizeof extra_doubles / sizeof extra_doubles[0]; i++) {
        json_object_set_new(o, extra_doubles[i].name,
                            num_or_null(*dptr(&tmp, extra_doubles[i].offset)));
    }
    json_object_set_new(o, "sm_count", json_integer(k->sm_count));
    json_object_set_new(o, "gpus_per_node", json_integer(k->gpus_per_node));
    return o;
}

est_status cal_profile_save(const char *path, const cal_profile *p, const cal_report *rep,
                            const char *samples_file, est_diag *diag)
{
    json_t *root = json_object();
    json_object_set_new(root, "llmcal_calibrated_profile", json_integer(FORMAT_VERSION));
    json_object_set_new(root, "gpu", json_string(p->gpu));
    json_object_set_new(root, "description", json_string(p->description));
    json_t *pv = json_object();
    json_object_set_new(pv, "device", json_string(p->device));
    json_object_set_new(pv, "driver", json_string(p->driver));
    json_object_set_new(pv, "cuda", json_string(p->cuda));
    json_object_set_new(pv, "date", json_string(p->date));
    json_object_set_new(pv, "host", json_string(p->host));
    json_object_set_new(pv, "gpus", json_integer(p->gpus));
    json_object_set_new(pv, "samples", json_integer(p->samples));
    if (samples_file != NULL) {
        json_object_set_new(pv, "samples_file", json_string(samples_file));
    }
    json_object_set_new(pv, "rms_rel_err", num_or_null(p->rms_rel_err));
    json_object_set_new(pv, "max_rel_err", num_or_null(p->max_rel_err));
    if (rep != NULL) {
        json_object_set_new(pv, "start_rms_rel_err", num_or_null(rep->start_rms_rel));
        json_object_set_new(pv, "chisq", num_or_null(rep->chisq));
        json_object_set_new(pv, "dof", json_integer(rep->dof));
        json_object_set_new(pv, "rcond", num_or_null(rep->rcond));
        json_object_set_new(pv, "iterations", json_integer(rep->iterations));
        json_t *bk = json_object();
        for (int k = 0; k < EST_SAMPLE_KIND_COUNT; k++) {
            const cal_residual_stats *rs = &rep->by_kind[k];
            if (rs->n == 0) {
                continue;
            }
            json_t *o = json_object();
            json_object_set_new(o, "n", json_integer((json_int_t)rs->n));
            json_object_set_new(o, "rms_rel_err", num_or_null(rs->rms_rel));
            json_object_set_new(o, "max_rel_err", num_or_null(rs->max_rel));
            json_object_set_new(bk, est_sample_kind_name((est_sample_kind)k), o);
        }
        json_object_set_new(pv, "by_kind", bk);
    }
    json_object_set_new(root, "provenance", pv);
    json_object_set_new(root, "coeffs", coeffs_json(&p->coeffs));
    json_t *fit = json_object();
    est_coeffs tmp = p->coeffs;
    for (int i = 0; i < CAL_PARAM_COUNT; i++) {
        if (!(p->fitted & CAL_BIT(i))) {
            continue;
        }
        json_t *o = json_object();
        json_object_set_new(o, "value", num_or_null(*param_ptr(&tmp, (cal_param)i)));
        json_object_set_new(o, "std_err", num_or_null(p->std_err[i]));
        if (rep != NULL) {
            json_object_set_new(o, "start", num_or_null(rep->param[i].start));
        }
        json_object_set_new(fit, cal_param_name((cal_param)i), o);
    }
    json_object_set_new(root, "fitted", fit);
    int rc =
        json_dump_file(root, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
    json_decref(root);
    if (rc != 0) {
        return EST_FAIL(diag, EST_EIO, "%s: cannot write the calibrated profile: %s", path,
                        strerror(errno));
    }
    return EST_OK;
}

// ---------------------------------------------------------------------------
// reading

static est_status unknown_keys(json_t *obj, const char *origin, const char *where,
                               const char *const *known, size_t nknown, est_diag *diag)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        bool ok = false;
        for (size_t i = 0; i < nknown && !ok; i++) {
            ok = strcmp(known[i], key) == 0;
        }
        if (!ok) {
            return EST_FAIL(diag, EST_EINVAL, "%s: %s%s: unknown key (see docs/calibration.md)",
                            origin, where, key);
        }
    }
    return EST_OK;
}

static est_status get_num(json_t *obj, const char *origin, const char *where, const char *key,
                          bool null_ok, double *out, est_diag *diag)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL) {
        return EST_FAIL(diag, EST_EINVAL, "%s: %s%s: missing", origin, where, key);
    }
    if (json_is_null(v) && null_ok) {
        *out = NAN;
        return EST_OK;
    }
    if (!json_is_number(v)) {
        return EST_FAIL(diag, EST_EINVAL, "%s: %s%s: expected a number", origin, where, key);
    }
    *out = json_number_value(v);
    return EST_OK;
}

static void get_str(json_t *obj, const char *key, char *dst, size_t cap)
{
    json_t *v = json_object_get(obj, key);
    copy_str(dst, cap, json_is_string(v) ? json_string_value(v) : "");
}

static est_status read_coeffs(json_t *c, const char *origin, est_coeffs *k, est_diag *diag)
{
    if (!json_is_object(c)) {
        return EST_FAIL(diag, EST_EINVAL, "%s: coeffs: missing or not an object", origin);
    }
    const char *known[CAL_PARAM_COUNT + 8];
    size_t nk = 0;
    known[nk++] = "peak_flop_per_s";
    known[nk++] = "sm_count";
    known[nk++] = "gpus_per_node";
    for (int p = 0; p < CAL_PARAM_COUNT; p++) {
        known[nk++] = cal_param_name((cal_param)p);
    }
    for (size_t i = 0; i < sizeof extra_doubles / sizeof extra_doubles[0]; i++) {
        known[nk++] = extra_doubles[i].name;
    }
    EST_TRY(unknown_keys(c, origin, "coeffs.", known, nk, diag));
    memset(k, 0, sizeof *k);
    json_t *peaks = json_object_get(c, "peak_flop_per_s");
    if (!json_is_object(peaks)) {
        return EST_FAIL(diag, EST_EINVAL, "%s: coeffs.peak_flop_per_s: missing or not an object",
                        origin);
    }
    EST_TRY(unknown_keys(peaks, origin, "coeffs.peak_flop_per_s.", dtype_keys, EST_DT_COUNT, diag));
    for (int d = 0; d < EST_DT_COUNT; d++) {
        EST_TRY(get_num(peaks, origin, "coeffs.peak_flop_per_s.", dtype_keys[d], true,
                        &k->peak_flop_per_s[d], diag));
    }
    for (int p = 0; p < CAL_PARAM_COUNT; p++) {
        EST_TRY(get_num(c, origin, "coeffs.", cal_param_name((cal_param)p), false,
                        param_ptr(k, (cal_param)p), diag));
    }
    for (size_t i = 0; i < sizeof extra_doubles / sizeof extra_doubles[0]; i++) {
        EST_TRY(get_num(c, origin, "coeffs.", extra_doubles[i].name, false,
                        dptr(k, extra_doubles[i].offset), diag));
    }
    const char *ints[2] = {"sm_count", "gpus_per_node"};
    int *dst[2] = {&k->sm_count, &k->gpus_per_node};
    for (int i = 0; i < 2; i++) {
        json_t *v = json_object_get(c, ints[i]);
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1000000) {
            return EST_FAIL(diag, EST_EINVAL, "%s: coeffs.%s: missing or not a count", origin,
                            ints[i]);
        }
        *dst[i] = (int)json_integer_value(v);
    }
    est_diag sub = {{0}, NULL, 0};
    est_status st = est_coeffs_validate(k, &sub);
    if (st != EST_OK) {
        return EST_FAIL(diag, st, "%s: %s", origin, sub.msg);
    }
    return EST_OK;
}

static est_status read_fitted(json_t *f, const char *origin, cal_profile *out, est_diag *diag)
{
    for (int p = 0; p < CAL_PARAM_COUNT; p++) {
        out->std_err[p] = NAN;
    }
    if (f == NULL) {
        return EST_OK;
    }
    if (!json_is_object(f)) {
        return EST_FAIL(diag, EST_EINVAL, "%s: fitted: expected an object", origin);
    }
    const char *key;
    json_t *v;
    json_object_foreach(f, key, v)
    {
        int p = cal_param_parse(key);
        if (p < 0) {
            return EST_FAIL(diag, EST_EINVAL, "%s: fitted.%s: not a fittable coefficient", origin,
                            key);
        }
        if (!json_is_object(v)) {
            return EST_FAIL(diag, EST_EINVAL, "%s: fitted.%s: expected an object", origin, key);
        }
        out->fitted |= CAL_BIT(p);
        json_t *e = json_object_get(v, "std_err");
        out->std_err[p] = json_is_number(e) ? json_number_value(e) : NAN;
    }
    return EST_OK;
}

est_status cal_profile_from_string(const char *json, const char *origin, cal_profile *out,
                                   est_diag *diag)
{
    json_error_t err;
    json_t *root = json_loads(json, JSON_REJECT_DUPLICATES, &err);
    if (root == NULL) {
        return EST_FAIL(diag, EST_EPARSE, "%s:%d:%d: %s", origin, err.line, err.column, err.text);
    }
    cal_profile p;
    memset(&p, 0, sizeof p);
    est_status st = EST_OK;
    static const char *const top[] = {"llmcal_calibrated_profile",
                                      "gpu",
                                      "description",
                                      "provenance",
                                      "coeffs",
                                      "fitted",
                                      "source"};
    json_t *ver = json_object_get(root, "llmcal_calibrated_profile");
    json_t *gpu = json_object_get(root, "gpu");
    json_t *pv = json_object_get(root, "provenance");
    if (!json_is_object(root)) {
        st = EST_FAIL(diag, EST_EPARSE, "%s: expected a JSON object", origin);
    } else if (!json_is_integer(ver)) {
        st = EST_FAIL(diag, EST_EINVAL,
                      "%s: llmcal_calibrated_profile: missing (not a "
                      "calibrated profile?)",
                      origin);
    } else if (json_integer_value(ver) != FORMAT_VERSION) {
        st = EST_FAIL(diag, EST_EUNSUPPORTED,
                      "%s: llmcal_calibrated_profile: version %lld, this "
                      "llmcal reads %d",
                      origin, (long long)json_integer_value(ver), FORMAT_VERSION);
    } else if (!json_is_string(gpu) || json_string_length(gpu) == 0 ||
               json_string_length(gpu) >= LLMCAL_NAME_MAX) {
        st = EST_FAIL(diag, EST_EINVAL, "%s: gpu: missing or not a GPU profile name", origin);
    } else if (pv != NULL && !json_is_object(pv)) {
        st = EST_FAIL(diag, EST_EINVAL, "%s: provenance: expected an object", origin);
    } else {
        st = unknown_keys(root, origin, "", top, sizeof top / sizeof top[0], diag);
    }
    if (st == EST_OK) {
        copy_str(p.gpu, sizeof p.gpu, json_string_value(gpu));
        get_str(root, "description", p.description, sizeof p.description);
        if (pv != NULL) {
            get_str(pv, "device", p.device, sizeof p.device);
            get_str(pv, "driver", p.driver, sizeof p.driver);
            get_str(pv, "cuda", p.cuda, sizeof p.cuda);
            get_str(pv, "date", p.date, sizeof p.date);
            get_str(pv, "host", p.host, sizeof p.host);
            json_t *g = json_object_get(pv, "gpus");
            p.gpus = json_is_integer(g) ? (int)json_integer_value(g) : 0;
            json_t *n = json_object_get(pv, "samples");
            p.samples = json_is_integer(n) ? (int64_t)json_integer_value(n) : 0;
            json_t *r = json_object_get(pv, "rms_rel_err");
            p.rms_rel_err = json_is_number(r) ? json_number_value(r) : NAN;
            r = json_object_get(pv, "max_rel_err");
            p.max_rel_err = json_is_number(r) ? json_number_value(r) : NAN;
        }
        st = read_coeffs(json_object_get(root, "coeffs"), origin, &p.coeffs, diag);
    }
    if (st == EST_OK) {
        st = read_fitted(json_object_get(root, "fitted"), origin, &p, diag);
    }
    json_decref(root);
    if (st == EST_OK) {
        *out = p;
    }
    return st;
}

// ---------------------------------------------------------------------------
// lookup

static bool is_file(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s);
    size_t b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static est_status load_file(const char *path, cal_profile *out, est_diag *diag)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return EST_FAIL(diag, EST_EIO, "%s: cannot read: %s", path, strerror(errno));
    }
    json_error_t err;
    json_t *root = json_loadf(f, JSON_REJECT_DUPLICATES, &err);
    fclose(f);
    if (root == NULL) {
        return EST_FAIL(diag, EST_EPARSE, "%s:%d:%d: %s", path, err.line, err.column, err.text);
    }
    char *text = json_dumps(root, 0);
    json_decref(root);
    if (text == NULL) {
        return EST_FAIL(diag, EST_ENOMEM, "%s: out of memory", path);
    }
    est_status st = cal_profile_from_string(text, path, out, diag);
    free(text);
    if (st == EST_OK) {
        copy_str(out->path, sizeof out->path, path);
    }
    return st;
}

est_status cal_profile_load(const char *name_or_path, cal_profile *out, est_diag *diag)
{
    if (name_or_path == NULL || name_or_path[0] == '\0') {
        return EST_FAIL(diag, EST_EINVAL, "calibration: empty name");
    }
    if (is_file(name_or_path) || ends_with(name_or_path, ".json") ||
        strchr(name_or_path, '/') != NULL) {
        return load_file(name_or_path, out, diag);
    }
    char path[4096];
    const char *env = getenv("LLMCAL_PROFILE_PATH");
    if (env != NULL && env[0] != '\0') {
        char dirs[4096];
        copy_str(dirs, sizeof dirs, env);
        char *save = NULL;
        for (char *d = strtok_r(dirs, ":", &save); d != NULL; d = strtok_r(NULL, ":", &save)) {
            snprintf(path, sizeof path, "%s/calibrated/%s.json", d, name_or_path);
            if (is_file(path)) {
                return load_file(path, out, diag);
            }
        }
    }
    snprintf(path, sizeof path, "%s/calibrated/%s.json", prof_builtin_dir(), name_or_path);
    if (is_file(path)) {
        return load_file(path, out, diag);
    }
    return EST_FAIL(diag, EST_ENOTFOUND,
                    "unknown calibrated profile '%s' (looked for %s and in "
                    "$LLMCAL_PROFILE_PATH/calibrated)",
                    name_or_path, path);
}

void cal_profile_overlay(const cal_profile *p, est_coeffs *k)
{
    est_coeffs src = p->coeffs;
    for (int i = 0; i < CAL_PARAM_COUNT; i++) {
        if (p->fitted & CAL_BIT(i)) {
            *param_ptr(k, (cal_param)i) = *param_ptr(&src, (cal_param)i);
        }
    }
}

/* names compare as the profiles do: case-insensitive, '_' and '.' match '-' */
static bool same_name(const char *a, const char *b)
{
    for (;; a++, b++) {
        char x = (char)tolower((unsigned char)*a);
        char y = (char)tolower((unsigned char)*b);
        x = (x == '_' || x == '.') ? '-' : x;
        y = (y == '_' || y == '.') ? '-' : y;
        if (x != y) {
            return false;
        }
        if (x == '\0') {
            return true;
        }
    }
}

est_status cal_coeffs_load(const char *name_or_path, const est_gpu *gpu, const est_cluster *cluster,
                           est_coeffs *out, char *gpu_name, size_t cap, est_diag *diag)
{
    cal_profile p;
    est_status st = cal_profile_load(name_or_path, &p, diag);
    if (st != EST_OK) {
        return st;
    }
    if (gpu_name != NULL && cap > 0) {
        copy_str(gpu_name, cap, p.gpu);
    }
    if (gpu == NULL) {
        *out = p.coeffs;
        return EST_OK;
    }
    if (!same_name(gpu->name, p.gpu)) {
        return EST_FAIL(diag, EST_EINVAL, "calibration %s is for gpu '%s', not '%s'", name_or_path,
                        p.gpu, gpu->name);
    }
    est_coeffs k = est_coeffs_from_hw(gpu, cluster);
    cal_profile_overlay(&p, &k);
    *out = k;
    return EST_OK;
}
