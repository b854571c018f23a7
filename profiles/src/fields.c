/* fields.c -- strict, typed reads of one JSON object's keys, each error naming origin and field;
 * the unknown-key check that catches typos; the parse wrapper that reports line:column.
 *
 * Not a schema language: each parser (model.c, hf_config.c, hardware.c) calls these readers in
 * order and then prof_check_unknown().
 */
#include "prof_internal.h"

#include <ctype.h>
#include <math.h>
#include <string.h>

// ---------------------------------------------------------------------------
// helpers

void prof_copy(char *dst, size_t cap, const char *src)
{
    if (cap == 0) {
        return;
    }
    size_t n = strlen(src);
    if (n >= cap) {
        n = cap - 1;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

void prof_normalize(const char *in, char *out, size_t cap)
{
    size_t i = 0;
    for (; in[i] != '\0' && i + 1 < cap; i++) {
        char ch = (char)tolower((unsigned char)in[i]);
        out[i] = (ch == '_' || ch == '.') ? '-' : ch;
    }
    if (cap > 0) {
        out[i] = '\0';
    }
}

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a real number";
    case JSON_TRUE: return "true";
    case JSON_FALSE: return "false";
    case JSON_NULL: return "null";
    }
    return "?";
}

void prof_ctx_init(prof_ctx *c, const char *origin, json_t *obj, const char *prefix)
{
    memset(c, 0, sizeof *c);
    c->origin = origin;
    c->obj = obj;
    c->prefix = prefix != NULL ? prefix : "";
}

void prof_mark_seen(prof_ctx *c, const char *key)
{
    for (int i = 0; i < c->nseen; i++) {
        if (strcmp(c->seen[i], key) == 0) {
            return;
        }
    }
    if (c->nseen < (int)(sizeof c->seen / sizeof c->seen[0])) {
        c->seen[c->nseen++] = key;
    }
}

/* the value of `key`, NULL when absent; marks it seen. */
static json_t *lookup(prof_ctx *c, const char *key)
{
    prof_mark_seen(c, key);
    return json_object_get(c->obj, key);
}

static est_status missing(prof_ctx *c, const char *key, est_diag *diag)
{
    return EST_FAIL(diag, EST_EINVAL, "%s: %s%s: missing (required)", c->origin, c->prefix, key);
}

static est_status wrong_type(prof_ctx *c, const char *key, const char *want, const json_t *v,
                             est_diag *diag)
{
    return EST_FAIL(diag, EST_EINVAL, "%s: %s%s: expected %s, got %s", c->origin, c->prefix, key,
                    want, json_kind(v));
}

// ---------------------------------------------------------------------------
// readers

est_status prof_get_i64(prof_ctx *c, const char *key, bool required, int64_t min, int64_t *out,
                        est_diag *diag)
{
    json_t *v = lookup(c, key);
    if (v == NULL) {
        return required ? missing(c, key, diag) : EST_OK;
    }
    int64_t x = 0;
    if (json_is_integer(v)) {
        x = (int64_t)json_integer_value(v);
    } else if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d != floor(d) || fabs(d) > 9e15) {
            return EST_FAIL(diag, EST_EINVAL, "%s: %s%s: %g is not a whole number", c->origin,
                            c->prefix, key, d);
        }
        x = (int64_t)d;
    } else {
        return wrong_type(c, key, "an integer", v, diag);
    }
    if (x < min) {
        if (min == 0) {
            return EST_FAIL(diag, EST_EINVAL, "%s: %s%s: %lld must not be negative", c->origin,
                            c->prefix, key, (long long)x);
        }
        if (min == 1) {
            return EST_FAIL(diag, EST_EINVAL, "%s: %s%s: %lld must be positive", c->origin,
                            c->prefix, key, (long long)x);
        }
        return EST_FAIL(diag, EST_EINVAL, "%s: %s%s: %lld must be >= %lld", c->origin, c->prefix,
                        key, (long long)x, (long long)min);
    }
    *out = x;
    return EST_OK;
}

est_status prof_get_bool(prof_ctx *c, const char *key, bool required, bool *out, est_diag *diag)
{
    json_t *v = lookup(c, key);
    if (v == NULL) {
        return required ? missing(c, key, diag) : EST_OK;
    }
    if (!json_is_boolean(v)) {
        return wrong_type(c, key, "true or false", v, diag);
    }
    *out = json_is_true(v);
    return EST_OK;
}

est_status prof_get_str(prof_ctx *c, const char *key, bool required, char *out, size_t cap,
                        est_diag *diag)
{
    json_t *v = lookup(c, key);
    if (v == NULL) {
        return required ? missing(c, key, diag) : EST_OK;
    }
    if (!json_is_string(v)) {
        return wrong_type(c, key, "a string", v, diag);
    }
    prof_copy(out, cap, json_string_value(v));
    return EST_OK;
}

est_status prof_get_qty(prof_ctx *c, const char *key, bool required, prof_unit unit,
                        bool allow_null, double *out, est_diag *diag)
{
    json_t *v = lookup(c, key);
    if (v == NULL) {
        return required ? missing(c, key, diag) : EST_OK;
    }
    if (json_is_null(v)) {
        if (!allow_null) {
            return wrong_type(c, key, "a number or a quantity string", v, diag);
        }
        *out = NAN;
        return EST_OK;
    }
    if (json_is_number(v)) {
        double d = json_number_value(v);
        if (d < 0 || !isfinite(d)) {
            return EST_FAIL(diag, EST_EINVAL, "%s: %s%s: %g must not be negative", c->origin,
                            c->prefix, key, d);
        }
        *out = d;
        return EST_OK;
    }
    if (!json_is_string(v)) {
        return wrong_type(c, key, "a number or a quantity string", v, diag);
    }
    est_diag sub = {{0}, NULL, 0};
    est_status s = prof_parse_quantity(json_string_value(v), unit, out, NULL, &sub);
    if (s != EST_OK) {
        return EST_FAIL(diag, s, "%s: %s%s: %s", c->origin, c->prefix, key, sub.msg);
    }
    return EST_OK;
}

est_status prof_get_enum(prof_ctx *c, const char *key, bool required, const char *const *names,
                         int n, int *out, est_diag *diag)
{
    json_t *v = lookup(c, key);
    if (v == NULL) {
        return required ? missing(c, key, diag) : EST_OK;
    }
    if (!json_is_string(v)) {
        return wrong_type(c, key, "a string", v, diag);
    }
    const char *s = json_string_value(v);
    for (int i = 0; i < n; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return EST_OK;
        }
    }
    char list[128] = "";
    size_t len = 0;
    for (int i = 0; i < n && len + 1 < sizeof list; i++) {
        size_t k = strlen(names[i]);
        if (len + k + 4 >= sizeof list) {
            break;
        }
        if (i > 0) {
            memcpy(list + len, ", ", 2);
            len += 2;
        }
        memcpy(list + len, names[i], k);
        len += k;
        list[len] = '\0';
    }
    return EST_FAIL(diag, EST_EINVAL, "%s: %s%s: \"%s\" is not one of %s", c->origin, c->prefix,
                    key, s, list);
}

/* appends "<sep><text>" to buf (cap bytes), truncating; returns the new length */
static size_t append(char *buf, size_t cap, size_t len, const char *sep, const char *text)
{
    const char *parts[2] = {len > 0 ? sep : "", text};
    for (int i = 0; i < 2; i++) {
        for (const char *p = parts[i]; *p != '\0' && len + 1 < cap; p++) {
            buf[len++] = *p;
        }
    }
    if (cap > 0) {
        buf[len < cap ? len : cap - 1] = '\0';
    }
    return len;
}

est_status prof_get_source(prof_ctx *c, const char *key, bool required, prof_info *info,
                           est_diag *diag)
{
    json_t *v = lookup(c, key);
    if (v == NULL) {
        return required ? missing(c, key, diag) : EST_OK;
    }
    if (json_is_string(v)) {
        prof_copy(info->source, sizeof info->source, json_string_value(v));
        return EST_OK;
    }
    if (!json_is_object(v)) {
        return wrong_type(c, key, "a string or an object of strings", v, diag);
    }
    size_t len = 0;
    size_t klen = 0;
    info->source[0] = '\0';
    info->source_keys[0] = '\0';
    const char *k;
    json_t *item;
    json_object_foreach(v, k, item)
    {
        if (!json_is_string(item)) {
            return EST_FAIL(diag, EST_EINVAL, "%s: %s%s.%s: expected a string, got %s", c->origin,
                            c->prefix, key, k, json_kind(item));
        }
        len = append(info->source, sizeof info->source, len, "; ", k);
        len = append(info->source, sizeof info->source, len, ": ", json_string_value(item));
        klen = append(info->source_keys, sizeof info->source_keys, klen, " ", k);
    }
    return EST_OK;
}

est_status prof_check_unknown(prof_ctx *c, est_diag *diag)
{
    const char *k;
    json_t *item;
    json_object_foreach(c->obj, k, item)
    {
        bool known = false;
        for (int i = 0; i < c->nseen && !known; i++) {
            known = strcmp(c->seen[i], k) == 0;
        }
        if (!known) {
            return EST_FAIL(diag, EST_EINVAL,
                            "%s: %s%s: unknown key (misspelt? see "
                            "docs/profiles.md)",
                            c->origin, c->prefix, k);
        }
    }
    return EST_OK;
}

// ---------------------------------------------------------------------------
// parsing

est_status prof_parse_text(const char *text, const char *origin, json_t **out, est_diag *diag)
{
    json_error_t err;
    /* JSON_REJECT_DUPLICATES: a key given twice is a typo too */
    json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &err);
    if (root == NULL) {
        return EST_FAIL(diag, EST_EPARSE, "%s:%d:%d: %s", origin, err.line, err.column, err.text);
    }
    if (!json_is_object(root)) {
        json_decref(root);
        return EST_FAIL(diag, EST_EPARSE, "%s: expected a JSON object at the top level", origin);
    }
    *out = root;
    return EST_OK;
}
