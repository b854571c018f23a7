/* calib.c -- reader of `llmcal validate` results for the calibration panel (see calib.h). JSON via
 * jansson; the format is documented in docs/tui-screens.md#validate-results-file.
 */
#include "tui/calib.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

static est_status fail(tui_calib *out, est_diag *diag, est_status s, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static est_status fail(tui_calib *out, est_diag *diag, est_status s, const char *fmt, ...)
{
    va_list ap;
    out->loaded = false;
    out->n_rows = 0;
    out->n_cases = 0;
    if (diag != NULL) {
        va_start(ap, fmt);
        vsnprintf(diag->msg, sizeof diag->msg, fmt, ap);
        va_end(ap);
        diag->file = __FILE__;
        diag->line = __LINE__;
    }
    return s;
}

/* The value of `key` in obj as a number; NAN when absent or null. Returns -1 if it is another
 * type. */
static int number_of(json_t *obj, const char *key, double *out)
{
    json_t *v = obj != NULL ? json_object_get(obj, key) : NULL;
    if (v == NULL || json_is_null(v)) {
        *out = NAN;
        return 0;
    }
    if (!json_is_number(v)) {
        return -1;
    }
    *out = json_number_value(v);
    return 0;
}

static est_status add_rows(tui_calib *out, const char *origin, int i, const char *name,
                           json_t *first, json_t *second, bool first_is_pred, est_diag *diag)
{
    const char *key;
    json_t *val;
    json_object_foreach(first, key, val)
    {
        double a;
        double b;
        tui_calib_row *r;
        (void)val;
        if (!first_is_pred && json_object_get(second, key) != NULL) {
            continue; /* already added from the predicted side */
        }
        if (number_of(first, key, &a) != 0 || number_of(second, key, &b) != 0) {
            return fail(out, diag, EST_EINVAL, "%s: cases[%d].%s: not a number", origin, i, key);
        }
        if (out->n_rows >= TUI_CALIB_MAX_ROWS) {
            return EST_OK;
        }
        r = &out->rows[out->n_rows++];
        snprintf(r->case_name, sizeof r->case_name, "%s", name);
        snprintf(r->metric, sizeof r->metric, "%s", key);
        r->predicted = first_is_pred ? a : b;
        r->measured = first_is_pred ? b : a;
    }
    return EST_OK;
}

est_status tui_calib_from_string(const char *json, const char *origin, tui_calib *out,
                                 est_diag *diag)
{
    json_error_t err;
    json_t *root = json_loads(json, 0, &err);
    json_t *cases;
    size_t i;
    json_t *c;
    est_status s = EST_OK;
    out->loaded = false;
    out->n_rows = 0;
    out->n_cases = 0;
    if (root == NULL) {
        return fail(out, diag, EST_EPARSE, "%s: line %d, column %d: malformed JSON: %s", origin,
                    err.line, err.column, err.text);
    }
    cases = json_object_get(root, "cases");
    if (!json_is_array(cases)) {
        json_decref(root);
        return fail(out, diag, EST_EINVAL, "%s: cases: %s", origin,
                    cases == NULL ? "missing" : "must be an array");
    }
    json_array_foreach(cases, i, c)
    {
        json_t *name = json_object_get(c, "name");
        json_t *pred = json_object_get(c, "predicted");
        json_t *meas = json_object_get(c, "measured");
        if (!json_is_string(name)) {
            s = fail(out, diag, EST_EINVAL, "%s: cases[%d].name: missing or not a string", origin,
                     (int)i);
            break;
        }
        if (!json_is_object(pred)) {
            s = fail(out, diag, EST_EINVAL, "%s: cases[%d].predicted: missing or not an object",
                     origin, (int)i);
            break;
        }
        if (!json_is_object(meas)) {
            s = fail(out, diag, EST_EINVAL, "%s: cases[%d].measured: missing or not an object",
                     origin, (int)i);
            break;
        }
        s = add_rows(out, origin, (int)i, json_string_value(name), pred, meas, true, diag);
        if (s == EST_OK) {
            s = add_rows(out, origin, (int)i, json_string_value(name), meas, pred, false, diag);
        }
        if (s != EST_OK) {
            break;
        }
        out->n_cases++;
    }
    json_decref(root);
    if (s != EST_OK) {
        return s;
    }
    out->loaded = true;
    return EST_OK;
}

est_status tui_calib_load_file(const char *path, tui_calib *out, est_diag *diag)
{
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    long n;
    est_status s;
    snprintf(out->path, sizeof out->path, "%s", path);
    if (f == NULL) {
        return fail(out, diag, EST_EIO, "%s: %s", path, strerror(errno));
    }
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
        n > (64L << 20)) {
        fclose(f);
        return fail(out, diag, EST_EIO, "%s: cannot size the file (or over 64 MiB)", path);
    }
    text = malloc((size_t)n + 1);
    if (text == NULL || fread(text, 1, (size_t)n, f) != (size_t)n) {
        free(text);
        fclose(f);
        return fail(out, diag, EST_EIO, "%s: read failed", path);
    }
    fclose(f);
    text[n] = '\0';
    s = tui_calib_from_string(text, path, out, diag);
    free(text);
    snprintf(out->path, sizeof out->path, "%s", path);
    return s;
}
