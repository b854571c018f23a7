/* load.c -- finding profiles (paths, $LLMCAL_PROFILE_PATH, the built-in directory), reading the
 * file, and dispatching to the schema parsers; listing, describing and name suggestions.
 *
 * The only file of prof that touches the file system. Lookup rules are prof.h's header comment;
 * docs/profiles.md explains them for users.
 */
#include "prof/prof.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prof_internal.h"

#ifndef LLMCAL_BUILTIN_PROFILE_DIR
#define LLMCAL_BUILTIN_PROFILE_DIR "profiles"
#endif

#define MAX_FILE_BYTES (16L << 20)
#define MAX_DIRS       16

static const char *const kind_dir[PROF_KIND_COUNT] = {"models", "gpus", "clusters"};
static const char *const kind_word[PROF_KIND_COUNT] = {"model", "GPU", "cluster"};

// ---------------------------------------------------------------------------
// file system helpers

static bool is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s);
    size_t k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* "<a>/<b><c>" into out; false (and out unusable) when it does not fit */
static bool join(char *out, size_t cap, const char *a, const char *b, const char *c)
{
    int n = snprintf(out, cap, "%s/%s%s", a, b, c);
    return n >= 0 && (size_t)n < cap;
}

/* file stem: "dir/llama-3-8b.json" -> "llama-3-8b" */
static void stem_of(const char *path, char *out, size_t cap)
{
    const char *b = strrchr(path, '/');
    b = b != NULL ? b + 1 : path;
    prof_copy(out, cap, b);
    size_t n = strlen(out);
    if (n > 5 && strcmp(out + n - 5, ".json") == 0) {
        out[n - 5] = '\0';
    }
}

/* whole file into a malloc'd, NUL-terminated buffer */
static est_status read_file(const char *path, char **out, est_diag *diag)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return EST_FAIL(diag, EST_EIO, "%s: cannot open: %s", path, strerror(errno));
    }
    char *buf = NULL;
    size_t len = 0;
    size_t cap = 0;
    est_status s = EST_OK;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            size_t ncap = cap == 0 ? 8192 : cap * 2;
            char *nb = realloc(buf, ncap);
            if (nb == NULL) {
                s = EST_FAIL(diag, EST_ENOMEM, "%s: out of memory reading the file", path);
                goto done;
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (len > (size_t)MAX_FILE_BYTES) {
            s = EST_FAIL(diag, EST_EIO, "%s: larger than 16 MiB; not a profile", path);
            goto done;
        }
        if (got == 0) {
            break;
        }
    }
    if (ferror(f)) {
        s = EST_FAIL(diag, EST_EIO, "%s: read error", path);
        goto done;
    }
    buf[len] = '\0';
    if (strlen(buf) != len) {
        s = EST_FAIL(diag, EST_EPARSE, "%s: contains a NUL byte; not JSON text", path);
    }
done:
    fclose(f);
    if (s != EST_OK) {
        free(buf);
        return s;
    }
    *out = buf;
    return EST_OK;
}

// ---------------------------------------------------------------------------
// directories

const char *prof_builtin_dir(void)
{
    static char buf[4096];
    const char *env = getenv("LLMCAL_PROFILE_DIR");
    if (env != NULL && env[0] != '\0') {
        prof_copy(buf, sizeof buf, env);
        return buf;
    }
    if (is_dir(LLMCAL_BUILTIN_PROFILE_DIR)) {
        return LLMCAL_BUILTIN_PROFILE_DIR;
    }
    char exe[3072];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash != NULL) {
            *slash = '\0';
            if (join(buf, sizeof buf, exe, "../share/llmcal/profiles", "") && is_dir(buf)) {
                return buf;
            }
        }
    }
    return LLMCAL_BUILTIN_PROFILE_DIR;
}

/* the search list: $LLMCAL_PROFILE_PATH entries, then the built-in directory */
static int search_dirs(char dirs[MAX_DIRS][1024])
{
    int n = 0;
    const char *env = getenv("LLMCAL_PROFILE_PATH");
    if (env != NULL) {
        const char *p = env;
        while (*p != '\0' && n < MAX_DIRS - 1) {
            const char *colon = strchr(p, ':');
            size_t len = colon != NULL ? (size_t)(colon - p) : strlen(p);
            if (len > 0 && len < 1024) {
                memcpy(dirs[n], p, len);
                dirs[n][len] = '\0';
                n++;
            }
            p += len;
            if (*p == ':') {
                p++;
            }
        }
    }
    prof_copy(dirs[n], 1024, prof_builtin_dir());
    n++;
    return n;
}

/* a growable list of names */
typedef struct name_list {
    char (*v)[LLMCAL_NAME_MAX];
    size_t n;
    size_t cap;
} name_list;

static bool list_has(const name_list *l, const char *name)
{
    char a[LLMCAL_NAME_MAX];
    char b[LLMCAL_NAME_MAX];
    prof_normalize(name, a, sizeof a);
    for (size_t i = 0; i < l->n; i++) {
        prof_normalize(l->v[i], b, sizeof b);
        if (strcmp(a, b) == 0) {
            return true;
        }
    }
    return false;
}

static void list_add(name_list *l, const char *name)
{
    if (strlen(name) >= LLMCAL_NAME_MAX || list_has(l, name)) {
        return;
    }
    if (l->n == l->cap) {
        size_t ncap = l->cap == 0 ? 64 : l->cap * 2;
        char(*nv)[LLMCAL_NAME_MAX] = realloc(l->v, ncap * sizeof *nv);
        if (nv == NULL) {
            return;
        }
        l->v = nv;
        l->cap = ncap;
    }
    prof_copy(l->v[l->n++], LLMCAL_NAME_MAX, name);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* every file stem of `kind` in the search dirs (user dirs first), sorted */
static void collect(prof_kind kind, name_list *l)
{
    char dirs[MAX_DIRS][1024];
    int nd = search_dirs(dirs);
    for (int i = 0; i < nd; i++) {
        char sub[1100];
        if (!join(sub, sizeof sub, dirs[i], kind_dir[kind], "")) {
            continue;
        }
        DIR *d = opendir(sub);
        if (d == NULL) {
            continue;
        }
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.' || !ends_with(e->d_name, ".json")) {
                continue;
            }
            char stem[256];
            stem_of(e->d_name, stem, sizeof stem);
            list_add(l, stem);
        }
        closedir(d);
    }
    if (l->n > 1) {
        qsort(l->v, l->n, sizeof l->v[0], cmp_names);
    }
}

/* path of the file whose normalized stem is `norm`, searching user dirs then built-ins */
static bool find_file(prof_kind kind, const char *norm, char *path, size_t cap)
{
    char dirs[MAX_DIRS][1024];
    int nd = search_dirs(dirs);
    for (int i = 0; i < nd; i++) {
        char sub[1100];
        if (!join(sub, sizeof sub, dirs[i], kind_dir[kind], "")) {
            continue;
        }
        DIR *d = opendir(sub);
        if (d == NULL) {
            continue;
        }
        struct dirent *e;
        bool found = false;
        while (!found && (e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.' || !ends_with(e->d_name, ".json")) {
                continue;
            }
            char stem[256];
            char n[256];
            stem_of(e->d_name, stem, sizeof stem);
            prof_normalize(stem, n, sizeof n);
            if (strcmp(n, norm) == 0) {
                found = join(path, cap, sub, e->d_name, "");
            }
        }
        closedir(d);
        if (found) {
            return true;
        }
    }
    return false;
}

/* aliases of a model file (parsed leniently: only the "aliases" array is read) */
static void file_aliases(const char *path, name_list *out)
{
    char *text = NULL;
    if (read_file(path, &text, NULL) != EST_OK) {
        return;
    }
    json_t *root = json_loads(text, 0, NULL);
    free(text);
    json_t *al = json_object_get(root, "aliases");
    size_t i;
    json_t *item;
    json_array_foreach(al, i, item)
    {
        if (json_is_string(item)) {
            list_add(out, json_string_value(item));
        }
    }
    json_decref(root);
}

/* the model file that lists `norm` among its aliases */
static bool find_alias(const char *norm, char *path, size_t cap, char *stem, size_t stem_cap)
{
    name_list names = {NULL, 0, 0};
    collect(PROF_MODEL, &names);
    bool found = false;
    for (size_t i = 0; i < names.n && !found; i++) {
        char n[LLMCAL_NAME_MAX];
        prof_normalize(names.v[i], n, sizeof n);
        if (!find_file(PROF_MODEL, n, path, cap)) {
            continue;
        }
        name_list al = {NULL, 0, 0};
        file_aliases(path, &al);
        for (size_t j = 0; j < al.n && !found; j++) {
            char a[LLMCAL_NAME_MAX];
            prof_normalize(al.v[j], a, sizeof a);
            if (strcmp(a, norm) == 0) {
                found = true;
                prof_copy(stem, stem_cap, names.v[i]);
            }
        }
        free(al.v);
    }
    free(names.v);
    return found;
}

/* Levenshtein distance of two short strings (names are < LLMCAL_NAME_MAX) */
static int edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a);
    size_t lb = strlen(b);
    if (la >= LLMCAL_NAME_MAX || lb >= LLMCAL_NAME_MAX) {
        return 1 << 20;
    }
    int row[LLMCAL_NAME_MAX + 1];
    for (size_t j = 0; j <= lb; j++) {
        row[j] = (int)j;
    }
    for (size_t i = 1; i <= la; i++) {
        int diag_prev = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int best = diag_prev + (a[i - 1] == b[j - 1] ? 0 : 1);
            if (up + 1 < best) {
                best = up + 1;
            }
            if (row[j - 1] + 1 < best) {
                best = row[j - 1] + 1;
            }
            row[j] = best;
            diag_prev = up;
        }
    }
    return row[lb];
}

/* nearest name and its distance; -1 when there are no names */
static int nearest(prof_kind kind, const char *name, char *best, size_t cap)
{
    name_list names = {NULL, 0, 0};
    collect(kind, &names);
    if (kind == PROF_MODEL) {
        size_t n0 = names.n;
        for (size_t i = 0; i < n0; i++) {
            char n[LLMCAL_NAME_MAX];
            char path[2048];
            prof_normalize(names.v[i], n, sizeof n);
            if (find_file(kind, n, path, sizeof path)) {
                file_aliases(path, &names);
            }
        }
    }
    char q[LLMCAL_NAME_MAX];
    prof_normalize(name, q, sizeof q);
    int bestd = -1;
    for (size_t i = 0; i < names.n; i++) {
        char n[LLMCAL_NAME_MAX];
        prof_normalize(names.v[i], n, sizeof n);
        int d = edit_distance(q, n);
        if (bestd < 0 || d < bestd) {
            bestd = d;
            prof_copy(best, cap, names.v[i]);
        }
    }
    free(names.v);
    return bestd;
}

// ---------------------------------------------------------------------------
// loading

static void info_init(prof_info *info)
{
    memset(info, 0, sizeof *info);
    info->params_active_stated = NAN;
    info->params_active_stated_tol = NAN;
}

static est_status parse_any(prof_kind kind, const char *text, const char *origin, const char *name,
                            void *out, prof_info *info, est_diag *diag)
{
    json_t *root = NULL;
    est_status s = prof_parse_text(text, origin, &root, diag);
    if (s != EST_OK) {
        return s;
    }
    switch (kind) {
    case PROF_MODEL:
        if (json_object_get(root, "model_type") != NULL) {
            s = prof_hf_from_json(root, origin, name, out, info, diag);
        } else {
            s = prof_model_from_json(root, origin, name, out, info, diag);
        }
        break;
    case PROF_GPU: s = prof_gpu_from_json(root, origin, name, out, info, diag); break;
    case PROF_CLUSTER: s = prof_cluster_from_json(root, origin, name, out, info, diag); break;
    case PROF_KIND_COUNT: s = EST_FAIL(diag, EST_EINVAL, "bad profile kind"); break;
    }
    json_decref(root);
    return s;
}

static est_status load_any(prof_kind kind, const char *name_or_path, void *out, prof_info *info_out,
                           est_diag *diag)
{
    prof_info local;
    prof_info *info = info_out != NULL ? info_out : &local;
    info_init(info);
    if (name_or_path == NULL || name_or_path[0] == '\0') {
        return EST_FAIL(diag, EST_EINVAL, "%s: empty name", kind_word[kind]);
    }
    char path[2048];
    char name[LLMCAL_NAME_MAX];
    char origin[2048];
    if (is_file(name_or_path) || ends_with(name_or_path, ".json") ||
        strchr(name_or_path, '/') != NULL) {
        prof_copy(path, sizeof path, name_or_path);
        prof_copy(origin, sizeof origin, name_or_path);
        char stem[256];
        stem_of(name_or_path, stem, sizeof stem);
        prof_copy(name, sizeof name, stem);
    } else {
        char norm[LLMCAL_NAME_MAX];
        if (strlen(name_or_path) >= sizeof norm) {
            return EST_FAIL(diag, EST_ENOTFOUND, "unknown %s '%s' (name too long)", kind_word[kind],
                            name_or_path);
        }
        prof_normalize(name_or_path, norm, sizeof norm);
        char stem[256];
        if (find_file(kind, norm, path, sizeof path)) {
            stem_of(path, stem, sizeof stem);
        } else if (!(kind == PROF_MODEL &&
                     find_alias(norm, path, sizeof path, stem, sizeof stem))) {
            char best[LLMCAL_NAME_MAX] = "";
            int d = nearest(kind, name_or_path, best, sizeof best);
            int len = (int)strlen(norm);
            if (d >= 0 && d <= (len < 6 ? 2 : len / 3)) {
                return EST_FAIL(diag, EST_ENOTFOUND, "unknown %s '%s' (did you mean '%s'?)",
                                kind_word[kind], name_or_path, best);
            }
            return EST_FAIL(diag, EST_ENOTFOUND, "unknown %s '%s' (see `llmcal list`)",
                            kind_word[kind], name_or_path);
        }
        prof_copy(name, sizeof name, stem);
        if (!join(origin, sizeof origin, kind_dir[kind], stem, ".json")) {
            prof_copy(origin, sizeof origin, stem);
        }
    }
    char *text = NULL;
    est_status s = read_file(path, &text, diag);
    if (s != EST_OK) {
        return s;
    }
    prof_copy(info->path, sizeof info->path, path);
    s = parse_any(kind, text, origin, name, out, info, diag);
    free(text);
    return s;
}

est_status prof_model_load_info(const char *name_or_path, est_model *out, prof_info *info,
                                est_diag *diag)
{
    return load_any(PROF_MODEL, name_or_path, out, info, diag);
}

est_status prof_gpu_load_info(const char *name_or_path, est_gpu *out, prof_info *info,
                              est_diag *diag)
{
    return load_any(PROF_GPU, name_or_path, out, info, diag);
}

est_status prof_cluster_load_info(const char *name_or_path, est_cluster *out, prof_info *info,
                                  est_diag *diag)
{
    return load_any(PROF_CLUSTER, name_or_path, out, info, diag);
}

est_status prof_model_load(const char *name_or_path, est_model *out, est_diag *diag)
{
    return load_any(PROF_MODEL, name_or_path, out, NULL, diag);
}

est_status prof_gpu_load(const char *name_or_path, est_gpu *out, est_diag *diag)
{
    return load_any(PROF_GPU, name_or_path, out, NULL, diag);
}

est_status prof_cluster_load(const char *name_or_path, est_cluster *out, est_diag *diag)
{
    return load_any(PROF_CLUSTER, name_or_path, out, NULL, diag);
}

static est_status from_string(prof_kind kind, const char *json, const char *origin, void *out,
                              est_diag *diag)
{
    prof_info info;
    info_init(&info);
    if (json == NULL) {
        return EST_FAIL(diag, EST_EINVAL, "%s: no JSON text", origin ? origin : "<string>");
    }
    const char *o = origin != NULL ? origin : "<string>";
    char name[LLMCAL_NAME_MAX];
    stem_of(o, name, sizeof name);
    return parse_any(kind, json, o, name, out, &info, diag);
}

est_status prof_model_from_string(const char *json, const char *origin, est_model *out,
                                  est_diag *diag)
{
    return from_string(PROF_MODEL, json, origin, out, diag);
}

est_status prof_gpu_from_string(const char *json, const char *origin, est_gpu *out, est_diag *diag)
{
    return from_string(PROF_GPU, json, origin, out, diag);
}

est_status prof_cluster_from_string(const char *json, const char *origin, est_cluster *out,
                                    est_diag *diag)
{
    return from_string(PROF_CLUSTER, json, origin, out, diag);
}

// ---------------------------------------------------------------------------
// listing

size_t prof_list(prof_kind kind, char (*names)[LLMCAL_NAME_MAX], size_t cap)
{
    if ((int)kind < 0 || kind >= PROF_KIND_COUNT) {
        return 0;
    }
    name_list l = {NULL, 0, 0};
    collect(kind, &l);
    for (size_t i = 0; i < l.n && i < cap; i++) {
        prof_copy(names[i], LLMCAL_NAME_MAX, l.v[i]);
    }
    size_t n = l.n;
    free(l.v);
    return n;
}

size_t prof_suggest(prof_kind kind, const char *name, char *buf, size_t cap)
{
    if ((int)kind < 0 || kind >= PROF_KIND_COUNT || name == NULL) {
        return 0;
    }
    char best[LLMCAL_NAME_MAX] = "";
    if (nearest(kind, name, best, sizeof best) < 0) {
        if (cap > 0) {
            buf[0] = '\0';
        }
        return 0;
    }
    int n = snprintf(buf, cap, "%s", best);
    return n < 0 ? 0 : (size_t)n;
}
