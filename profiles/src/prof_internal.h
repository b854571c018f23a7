/* prof_internal.h -- what the profile loader's source files share: strict field readers over a
 * jansson object, the unit lexer, and the per-kind parsers. Not installed; not part of the API.
 *
 * Every reader names the origin (file name or "<string>") and the field in its message:
 *   "<origin>: <field>: <reason>".
 */
#ifndef LLMCAL_PROF_INTERNAL_H
#define LLMCAL_PROF_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "prof/prof.h"

/* Parsing context: where the object came from, which keys were consumed (for the unknown-key
 * check), and the first error. Keys are tracked by pointer identity of their name in `obj`. */
typedef struct prof_ctx {
    const char *origin;   /* file path or caller's label, for messages */
    json_t *obj;          /* the object being read (borrowed) */
    const char *prefix;   /* "" or "peak_flop_per_s." for nested objects */
    const char *seen[96]; /* names of keys already read */
    int nseen;            /* how many of seen[] are used */
} prof_ctx;

void prof_ctx_init(prof_ctx *c, const char *origin, json_t *obj, const char *prefix);

/* Readers. `required` false: an absent key (or JSON null where allow_null) leaves *out as it is
   and returns EST_OK. Each marks the key as seen. */
est_status prof_get_i64(prof_ctx *c, const char *key, bool required, int64_t min, int64_t *out,
                        est_diag *diag);
est_status prof_get_bool(prof_ctx *c, const char *key, bool required, bool *out, est_diag *diag);
est_status prof_get_str(prof_ctx *c, const char *key, bool required, char *out, size_t cap,
                        est_diag *diag);
/* a number in base units or a quantity string ("80GiB"); JSON null -> NAN when allow_null */
est_status prof_get_qty(prof_ctx *c, const char *key, bool required, prof_unit unit,
                        bool allow_null, double *out, est_diag *diag);
/* one of `names` (n of them); *out is the index */
est_status prof_get_enum(prof_ctx *c, const char *key, bool required, const char *const *names,
                         int n, int *out, est_diag *diag);
/* "source": a string, or an object of strings (one citation per field) */
est_status prof_get_source(prof_ctx *c, const char *key, bool required, prof_info *info,
                           est_diag *diag);
/* marks a key as known without reading it */
void prof_mark_seen(prof_ctx *c, const char *key);
/* EST_EINVAL naming the first key of c->obj that no reader consumed */
est_status prof_check_unknown(prof_ctx *c, est_diag *diag);

/* the parsers of each schema; `root` is borrowed */
est_status prof_model_from_json(json_t *root, const char *origin, const char *name, est_model *out,
                                prof_info *info, est_diag *diag);
est_status prof_hf_from_json(json_t *root, const char *origin, const char *name, est_model *out,
                             prof_info *info, est_diag *diag);
est_status prof_gpu_from_json(json_t *root, const char *origin, const char *name, est_gpu *out,
                              prof_info *info, est_diag *diag);
est_status prof_cluster_from_json(json_t *root, const char *origin, const char *name,
                                  est_cluster *out, prof_info *info, est_diag *diag);

/* parses `text` with jansson; EST_EPARSE with "origin:line:col: reason" on failure */
est_status prof_parse_text(const char *text, const char *origin, json_t **out, est_diag *diag);

/* copies src into dst (cap bytes), always terminated */
void prof_copy(char *dst, size_t cap, const char *src);

/* lowercase, '_' and '.' -> '-' (the name matching rule of prof.h) */
void prof_normalize(const char *in, char *out, size_t cap);

#endif /* LLMCAL_PROF_INTERNAL_H */
