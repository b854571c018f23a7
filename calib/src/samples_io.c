/* samples_io.c -- calibration sample files (TSV with '#' metadata, header and units rows) and the
 * growable sample set.
 *
 * Not here: measuring (probes/), fitting (fit.c). References: nccl-tests src/util.cu
 * (writeResultHeader: '#' header + units row); docs/calibration.md#sample-files.
 */
#include "cal/samples_io.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// ---------------------------------------------------------------------------
// columns

typedef enum col {
    C_KIND = 0,
    C_DTYPE,
    C_BATCH,
    C_M,
    C_N,
    C_K,
    C_B,
    C_HEADS,
    C_HEAD_DIM,
    C_SEQ,
    C_SEQ_KV,
    C_CAUSAL,
    C_ATTN,
    C_PASS,
    C_BYTES,
    C_COLL,
    C_ALGO,
    C_LINK,
    C_NRANKS,
    C_COUNT,
    C_MIN,
    C_P50,
    C_P99,
    C_N_COLS
} col;

static const char *const col_names[C_N_COLS] = {
    "kind",     "dtype", "batch",  "m",      "n",    "k",    "b",     "heads",
    "head_dim", "seq",   "seq_kv", "causal", "attn", "pass", "bytes", "coll",
    "algo",     "link",  "nranks", "count",  "min",  "p50",  "p99"};
static const char *const col_units[C_N_COLS] = {
    "(-)",    "(-)",   "(1)",   "(elem)", "(elem)", "(elem)", "(seqs)", "(1)",
    "(elem)", "(tok)", "(tok)", "(-)",    "(-)",    "(-)",    "(B)",    "(-)",
    "(-)",    "(-)",   "(1)",   "(1)",    "(s)",    "(s)",    "(s)"};

#define MAX_FIELDS 64
#define MAX_LINE   4096

// ---------------------------------------------------------------------------
// the set and its metadata

void cal_sample_set_init(cal_sample_set *set)
{
    memset(set, 0, sizeof *set);
}

void cal_sample_set_free(cal_sample_set *set)
{
    if (set == NULL) {
        return;
    }
    free(set->s);
    memset(set, 0, sizeof *set);
}

est_status cal_sample_set_push(cal_sample_set *set, const est_sample *s, est_diag *diag)
{
    if (set->n == set->cap) {
        size_t cap = set->cap ? 2 * set->cap : 64;
        est_sample *p = realloc(set->s, cap * sizeof *p);
        if (p == NULL) {
            return EST_FAIL(diag, EST_ENOMEM, "samples: out of memory at %zu samples", set->n);
        }
        set->s = p;
        set->cap = cap;
    }
    set->s[set->n++] = *s;
    return EST_OK;
}

const char *cal_meta_get(const cal_meta *m, const char *key)
{
    for (int i = 0; i < m->n; i++) {
        if (strcmp(m->key[i], key) == 0) {
            return m->value[i];
        }
    }
    return NULL;
}

static bool key_ok(const char *k)
{
    size_t len = strlen(k);
    if (len == 0 || len >= CAL_META_KEY) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        char c = k[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
            return false;
        }
    }
    return true;
}

est_status cal_meta_set(cal_meta *m, const char *key, const char *value, est_diag *diag)
{
    if (!key_ok(key)) {
        return EST_FAIL(diag, EST_EINVAL, "metadata key '%s': use 1-%d characters of [a-z0-9_]",
                        key, CAL_META_KEY - 1);
    }
    int i = 0;
    while (i < m->n && strcmp(m->key[i], key) != 0) {
        i++;
    }
    if (i == m->n) {
        if (m->n == CAL_META_MAX) {
            return EST_FAIL(diag, EST_EINVAL, "metadata: more than %d entries", CAL_META_MAX);
        }
        m->n++;
        snprintf(m->key[i], CAL_META_KEY, "%s", key);
    }
    snprintf(m->value[i], CAL_META_VALUE, "%s", value);
    for (char *c = m->value[i]; *c; c++) {
        if (*c == '\t' || *c == '\n' || *c == '\r') {
            *c = ' ';
        }
    }
    return EST_OK;
}

// ---------------------------------------------------------------------------
// writing

/* shortest of %.15g / %.17g that reads back to the same double */
static void fmt_double(char *buf, size_t cap, double v)
{
    if (isnan(v)) {
        snprintf(buf, cap, "-");
        return;
    }
    snprintf(buf, cap, "%.15g", v);
    if (strtod(buf, NULL) != v) {
        snprintf(buf, cap, "%.17g", v);
    }
}

static void fmt_i64(char *buf, size_t cap, int64_t v, bool used)
{
    if (!used) {
        snprintf(buf, cap, "-");
    } else {
        snprintf(buf, cap, "%lld", (long long)v);
    }
}

static void format_row(const est_sample *s, char f[C_N_COLS][40])
{
    bool g = s->kind == EST_SAMPLE_GEMM;
    bool a = s->kind == EST_SAMPLE_ATTENTION;
    bool c = s->kind == EST_SAMPLE_COLLECTIVE;
    bool bytes = s->kind == EST_SAMPLE_MEMBOUND || c;
    snprintf(f[C_KIND], 40, "%s", est_sample_kind_name(s->kind));
    snprintf(f[C_DTYPE], 40, "%s", (g || a) ? est_sample_dtype_name(s->dtype) : "-");
    fmt_i64(f[C_BATCH], 40, s->batch, g);
    fmt_i64(f[C_M], 40, s->m, g);
    fmt_i64(f[C_N], 40, s->n, g);
    fmt_i64(f[C_K], 40, s->k, g);
    fmt_i64(f[C_B], 40, s->b, a);
    fmt_i64(f[C_HEADS], 40, s->heads, a);
    fmt_i64(f[C_HEAD_DIM], 40, s->head_dim, a);
    fmt_i64(f[C_SEQ], 40, s->seq, a);
    fmt_i64(f[C_SEQ_KV], 40, s->seq_kv, a);
    snprintf(f[C_CAUSAL], 40, "%s", a ? (s->causal ? "1" : "0") : "-");
    snprintf(f[C_ATTN], 40, "%s", a ? est_attention_name(s->attn) : "-");
    snprintf(f[C_PASS], 40, "%s", a ? (s->backward ? "bwd" : "fwd") : "-");
    if (bytes) {
        fmt_double(f[C_BYTES], 40, s->bytes);
    } else {
        snprintf(f[C_BYTES], 40, "-");
    }
    snprintf(f[C_COLL], 40, "%s", c ? est_sample_coll_name(s->coll) : "-");
    snprintf(f[C_ALGO], 40, "%s", c ? est_sample_algo_name(s->algo) : "-");
    snprintf(f[C_LINK], 40, "%s", c ? est_sample_link_name(s->link) : "-");
    fmt_i64(f[C_NRANKS], 40, s->nranks, c);
    fmt_i64(f[C_COUNT], 40, s->count, true);
    fmt_double(f[C_MIN], 40, s->min_s);
    fmt_double(f[C_P50], 40, s->p50_s);
    fmt_double(f[C_P99], 40, s->p99_s);
}

est_status cal_samples_write(FILE *f, const cal_sample_set *set, est_diag *diag)
{
    fprintf(f, "# llmcal calibration samples\n");
    for (int i = 0; i < set->meta.n; i++) {
        fprintf(f, "# %s: %s\n", set->meta.key[i], set->meta.value[i]);
    }
    fprintf(f, "#\n#");
    for (int c = 0; c < C_N_COLS; c++) {
        fprintf(f, "%s%s", c ? "\t" : " ", col_names[c]);
    }
    fprintf(f, "\n#");
    for (int c = 0; c < C_N_COLS; c++) {
        fprintf(f, "%s%s", c ? "\t" : " ", col_units[c]);
    }
    fprintf(f, "\n");
    char fields[C_N_COLS][40];
    for (size_t i = 0; i < set->n; i++) {
        format_row(&set->s[i], fields);
        for (int c = 0; c < C_N_COLS; c++) {
            fprintf(f, "%s%s", c ? "\t" : "", fields[c]);
        }
        fprintf(f, "\n");
    }
    if (ferror(f)) {
        return EST_FAIL(diag, EST_EIO, "samples: write failed");
    }
    return EST_OK;
}

est_status cal_samples_save(const char *path, const cal_sample_set *set, est_diag *diag)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        return EST_FAIL(diag, EST_EIO, "%s: cannot write: %s", path, strerror(errno));
    }
    est_status st = cal_samples_write(f, set, diag);
    if (fclose(f) != 0 && st == EST_OK) {
        st = EST_FAIL(diag, EST_EIO, "%s: write failed: %s", path, strerror(errno));
    }
    if (st != EST_OK && diag != NULL && strncmp(diag->msg, path, strlen(path)) != 0) {
        est_diag sub = *diag;
        st = EST_FAIL(diag, st, "%s: %s", path, sub.msg);
    }
    return st;
}

// ---------------------------------------------------------------------------
// reading

typedef struct reader {
    const char *origin;
    int line;
    int col_of[MAX_FIELDS]; /* field index -> column */
    int nfields;
    bool have_header;
    bool have[C_N_COLS];
} reader;

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    size_t len = strlen(s);
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r')) {
        s[--len] = '\0';
    }
    return s;
}

/* splits on tabs (and runs of spaces, for hand-written files) */
static int split(char *line, char **out, int cap)
{
    int n = 0;
    char *p = line;
    while (*p != '\0') {
        while (*p == ' ' || *p == '\t') {
            p++;
        }
        if (*p == '\0') {
            break;
        }
        if (n == cap) {
            return -1;
        }
        out[n++] = p;
        while (*p != '\0' && *p != ' ' && *p != '\t') {
            p++;
        }
        if (*p != '\0') {
            *p++ = '\0';
        }
    }
    return n;
}

static int find_col(const char *name)
{
    for (int c = 0; c < C_N_COLS; c++) {
        if (strcmp(col_names[c], name) == 0) {
            return c;
        }
    }
    return -1;
}

static est_status parse_header(reader *r, char *text, est_diag *diag)
{
    char *f[MAX_FIELDS];
    int n = split(text, f, MAX_FIELDS);
    if (n < 0) {
        return EST_FAIL(diag, EST_EPARSE, "%s:%d: header has more than %d columns", r->origin,
                        r->line, MAX_FIELDS);
    }
    for (int i = 0; i < n; i++) {
        int c = find_col(f[i]);
        if (c < 0) {
            return EST_FAIL(diag, EST_EPARSE, "%s:%d: header: unknown column '%s'", r->origin,
                            r->line, f[i]);
        }
        if (r->have[c]) {
            return EST_FAIL(diag, EST_EPARSE, "%s:%d: header: column '%s' given twice", r->origin,
                            r->line, f[i]);
        }
        r->have[c] = true;
        r->col_of[i] = c;
    }
    if (!r->have[C_KIND] || !r->have[C_P50]) {
        return EST_FAIL(diag, EST_EPARSE,
                        "%s:%d: header: needs at least the columns 'kind' and "
                        "'p50'",
                        r->origin, r->line);
    }
    r->nfields = n;
    r->have_header = true;
    return EST_OK;
}

static est_status bad(const reader *r, col c, const char *v, const char *why, est_diag *diag)
{
    return EST_FAIL(diag, EST_EPARSE, "%s:%d: column '%s': '%s' %s", r->origin, r->line,
                    col_names[c], v, why);
}

static est_status get_i64(const reader *r, col c, const char *v, int64_t *out, est_diag *diag)
{
    char *end = NULL;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (end == v || *end != '\0' || errno != 0) {
        return bad(r, c, v, "is not an integer", diag);
    }
    *out = (int64_t)x;
    return EST_OK;
}

static est_status get_f64(const reader *r, col c, const char *v, double *out, est_diag *diag)
{
    char *end = NULL;
    errno = 0;
    double x = strtod(v, &end);
    if (end == v || *end != '\0' || errno != 0 || !isfinite(x)) {
        return bad(r, c, v, "is not a number", diag);
    }
    *out = x;
    return EST_OK;
}

static est_status get_enum(const reader *r, col c, const char *v, int parsed, const char *choices,
                           int *out, est_diag *diag)
{
    if (parsed < 0) {
        char why[128];
        snprintf(why, sizeof why, "is not one of %s", choices);
        return bad(r, c, v, why, diag);
    }
    *out = parsed;
    return EST_OK;
}

static est_status parse_field(const reader *r, col c, const char *v, est_sample *s, est_diag *diag)
{
    int e = 0;
    est_status st = EST_OK;
    switch (c) {
    case C_KIND: return EST_OK; /* done first */
    case C_DTYPE:
        st = get_enum(r, c, v, est_sample_dtype_parse(v), "fp32 tf32 bf16 fp16 fp8", &e, diag);
        s->dtype = (est_dtype)e;
        return st;
    case C_BATCH: return get_i64(r, c, v, &s->batch, diag);
    case C_M: return get_i64(r, c, v, &s->m, diag);
    case C_N: return get_i64(r, c, v, &s->n, diag);
    case C_K: return get_i64(r, c, v, &s->k, diag);
    case C_B: return get_i64(r, c, v, &s->b, diag);
    case C_HEADS: return get_i64(r, c, v, &s->heads, diag);
    case C_HEAD_DIM: return get_i64(r, c, v, &s->head_dim, diag);
    case C_SEQ: return get_i64(r, c, v, &s->seq, diag);
    case C_SEQ_KV: return get_i64(r, c, v, &s->seq_kv, diag);
    case C_CAUSAL:
        if (strcmp(v, "1") != 0 && strcmp(v, "0") != 0) {
            return bad(r, c, v, "is not 0 or 1", diag);
        }
        s->causal = v[0] == '1';
        return EST_OK;
    case C_ATTN:
        st = get_enum(r, c, v, est_attention_parse(v), "flash standard", &e, diag);
        s->attn = (est_attention)e;
        return st;
    case C_PASS:
        if (strcmp(v, "fwd") != 0 && strcmp(v, "bwd") != 0) {
            return bad(r, c, v, "is not fwd or bwd", diag);
        }
        s->backward = v[0] == 'b';
        return EST_OK;
    case C_BYTES: return get_f64(r, c, v, &s->bytes, diag);
    case C_COLL:
        st = get_enum(r, c, v, est_sample_coll_parse(v),
                      "all-reduce all-gather reduce-scatter all-to-all send-recv", &e, diag);
        s->coll = (est_coll)e;
        return st;
    case C_ALGO:
        st = get_enum(r, c, v, est_sample_algo_parse(v), "auto ring tree", &e, diag);
        s->algo = (est_coll_algo)e;
        return st;
    case C_LINK:
        st = get_enum(r, c, v, est_sample_link_parse(v), "intra inter", &e, diag);
        s->link = (est_link)e;
        return st;
    case C_NRANKS: {
        int64_t x = 0;
        st = get_i64(r, c, v, &x, diag);
        if (st == EST_OK && (x < 0 || x > 1000000)) {
            return bad(r, c, v, "is out of range", diag);
        }
        s->nranks = (int)x;
        return st;
    }
    case C_COUNT: return get_i64(r, c, v, &s->count, diag);
    case C_MIN: return get_f64(r, c, v, &s->min_s, diag);
    case C_P50: return get_f64(r, c, v, &s->p50_s, diag);
    case C_P99: return get_f64(r, c, v, &s->p99_s, diag);
    default: return EST_OK;
    }
}

static est_status parse_row(const reader *r, char *text, est_sample *out, est_diag *diag)
{
    char *f[MAX_FIELDS];
    int n = split(text, f, MAX_FIELDS);
    if (n != r->nfields) {
        return EST_FAIL(diag, EST_EPARSE, "%s:%d: %d fields, the header names %d", r->origin,
                        r->line, n < 0 ? MAX_FIELDS : n, r->nfields);
    }
    int kind = -1;
    for (int i = 0; i < n; i++) {
        if (r->col_of[i] == C_KIND) {
            kind = est_sample_kind_parse(f[i]);
            if (kind < 0) {
                return bad(r, C_KIND, f[i], "is not one of gemm attention membound collective",
                           diag);
            }
        }
    }
    est_sample s = est_sample_default((est_sample_kind)kind);
    for (int i = 0; i < n; i++) {
        if (strcmp(f[i], "-") == 0) {
            continue;
        }
        est_status st = parse_field(r, (col)r->col_of[i], f[i], &s, diag);
        if (st != EST_OK) {
            return st;
        }
    }
    est_diag sub = {{0}, NULL, 0};
    if (est_sample_validate(&s, &sub) != EST_OK) {
        return EST_FAIL(diag, EST_EPARSE, "%s:%d: %s", r->origin, r->line, sub.msg);
    }
    *out = s;
    return EST_OK;
}

/* "# key: value" before the header */
static void parse_meta(cal_meta *m, char *text)
{
    char *colon = strchr(text, ':');
    if (colon == NULL) {
        return;
    }
    *colon = '\0';
    char *k = trim(text);
    char *v = trim(colon + 1);
    if (key_ok(k)) {
        (void)cal_meta_set(m, k, v, NULL);
    }
}

static est_status parse_line(reader *r, char *line, cal_sample_set *out, est_diag *diag)
{
    char *t = trim(line);
    if (*t == '\0') {
        return EST_OK;
    }
    if (*t == '#') {
        char *body = trim(t + 1);
        if (r->have_header || *body == '\0' || *body == '(') {
            return EST_OK; /* units row, blank comment, or a comment among the rows */
        }
        if (strncmp(body, "kind", 4) == 0 &&
            (body[4] == '\t' || body[4] == ' ' || body[4] == '\0')) {
            return parse_header(r, body, diag);
        }
        parse_meta(&out->meta, body);
        return EST_OK;
    }
    if (!r->have_header) {
        return EST_FAIL(diag, EST_EPARSE, "%s:%d: a sample before the '# kind ...' header line",
                        r->origin, r->line);
    }
    est_sample s;
    est_status st = parse_row(r, t, &s, diag);
    if (st != EST_OK) {
        return st;
    }
    return cal_sample_set_push(out, &s, diag);
}

est_status cal_samples_from_string(const char *text, const char *origin, cal_sample_set *out,
                                   est_diag *diag)
{
    reader r;
    memset(&r, 0, sizeof r);
    r.origin = origin;
    cal_sample_set_init(out);
    char line[MAX_LINE];
    const char *p = text;
    est_status st = EST_OK;
    while (*p != '\0' && st == EST_OK) {
        r.line++;
        const char *nl = strchr(p, '\n');
        size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
        if (len >= sizeof line) {
            st = EST_FAIL(diag, EST_EPARSE, "%s:%d: line longer than %d characters", origin, r.line,
                          MAX_LINE - 1);
            break;
        }
        memcpy(line, p, len);
        line[len] = '\0';
        st = parse_line(&r, line, out, diag);
        p = nl != NULL ? nl + 1 : p + len;
    }
    if (st == EST_OK && !r.have_header) {
        st = EST_FAIL(diag, EST_EPARSE, "%s: no '# kind ...' header line (not a sample file?)",
                      origin);
    }
    if (st == EST_OK && out->n == 0) {
        st = EST_FAIL(diag, EST_EPARSE, "%s: no samples after the header", origin);
    }
    if (st != EST_OK) {
        cal_sample_set_free(out);
    }
    return st;
}

est_status cal_samples_load(const char *path, cal_sample_set *out, est_diag *diag)
{
    cal_sample_set_init(out);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return EST_FAIL(diag, EST_EIO, "%s: cannot read: %s", path, strerror(errno));
    }
    size_t cap = 1 << 16;
    size_t len = 0;
    char *buf = malloc(cap);
    est_status st = EST_OK;
    while (buf != NULL) {
        size_t got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (len + 1 < cap) {
            break;
        }
        char *nb = realloc(buf, 2 * cap);
        if (nb == NULL) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    if (buf == NULL) {
        st = EST_FAIL(diag, EST_ENOMEM, "%s: out of memory", path);
    } else if (ferror(f)) {
        st = EST_FAIL(diag, EST_EIO, "%s: read failed", path);
    } else {
        buf[len] = '\0';
        if (memchr(buf, '\0', len) != NULL) {
            st = EST_FAIL(diag, EST_EPARSE, "%s: binary data (NUL byte); not a sample file", path);
        } else {
            st = cal_samples_from_string(buf, path, out, diag);
        }
    }
    free(buf);
    fclose(f);
    return st;
}
