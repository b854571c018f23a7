/* prof.h -- profiles: models, GPUs and clusters from JSON (built-in files, users' own files, and
 * Hugging Face config.json read directly), validated field by field into the estimator's plain
 * structs. The only module besides the programs' main.c files that touches files.
 *
 * Lookup of a name: an argument that names an existing file (or ends in .json) is read as a file;
 * otherwise it is a built-in name, looked up as <dir>/<kind>/<name>.json in the user directory
 * ($LLMCAL_PROFILE_PATH, colon-separated) and then in the built-in directory (prof_builtin_dir()).
 * Names are case-insensitive; '_' and '.' match '-'.
 *
 * Errors name the file, the field and the reason, e.g.
 *   "llama.json: num_attention_heads: missing (required for model_type llama)"
 *   "unknown model 'lama-3-8b' (did you mean 'llama-3-8b'?)".
 */
#ifndef LLMCAL_PROF_PROF_H
#define LLMCAL_PROF_PROF_H

#include <stddef.h>

#include "est/config.h"
#include "est/status.h"

typedef enum prof_kind { PROF_MODEL = 0, PROF_GPU, PROF_CLUSTER, PROF_KIND_COUNT } prof_kind;

/* Directory of the built-in profiles: $LLMCAL_PROFILE_DIR if set, else the compiled-in source
 * tree path, else "<directory of the executable>/../share/llmcal/profiles". Static string. */
const char *prof_builtin_dir(void);

/* Loads a model by built-in name or file path (llmcal model JSON or Hugging Face config.json,
 * told apart by the "model_type" key). Fills *out (caller-owned) and validates it with
 * est_model_validate(). Returns EST_OK, EST_ENOTFOUND (unknown name; diag suggests the nearest),
 * EST_EIO, EST_EPARSE (malformed JSON: diag has line and column), EST_EINVAL (missing, negative or
 * inconsistent field: diag names it) or EST_EUNSUPPORTED (unknown model_type). */
est_status prof_model_load(const char *name_or_path, est_model *out, est_diag *diag);

/* The same from a JSON text already in memory; `origin` names it in messages. */
est_status prof_model_from_string(const char *json, const char *origin, est_model *out,
                                  est_diag *diag);

/* GPUs and clusters, same rules. A cluster's "gpu" names a GPU profile. */
est_status prof_gpu_load(const char *name_or_path, est_gpu *out, est_diag *diag);
est_status prof_gpu_from_string(const char *json, const char *origin, est_gpu *out, est_diag *diag);
est_status prof_cluster_load(const char *name_or_path, est_cluster *out, est_diag *diag);
est_status prof_cluster_from_string(const char *json, const char *origin, est_cluster *out,
                                    est_diag *diag);

/* Built-in (and user-directory) profile names of one kind, sorted, written into the caller's
 * array of `cap` fixed-size names. Returns how many exist (may exceed cap; only cap written). */
size_t prof_list(prof_kind kind, char (*names)[LLMCAL_NAME_MAX], size_t cap);

/* One-line description of a profile for `llmcal list` ("Llama-3.1 70B, 70.6B params, GQA 64/8"),
 * written into buf (snprintf-style; returns the length it needed). */
size_t prof_describe(prof_kind kind, const char *name, char *buf, size_t cap);

// ---------------------------------------------------------------------------
// additions: provenance, units, suggestions

/* What a profile file says about itself beyond the numbers (for `llmcal list`, for the tests that
 * compare parameter counts with the publisher's statement, and for error messages). */
typedef struct prof_info {
    char path[512];                  /* file it was read from; "" for in-memory text */
    char description[160];           /* "description" of the file ("" if none) */
    char source[512];                /* "source" citation; the object form joined by "; "
                                        (truncated) */
    char source_keys[256];           /* the object form's keys, space-separated ("memory_bytes
                                        peak_flop_per_s ..."): which fields are cited */
    int hf_config;                   /* 1 when read from a Hugging Face config.json */
    double params_stated_tol;        /* absolute tolerance of model.params_stated (parameters):
                                        half a unit in the last digit written ("70.6B" -> 0.05e9),
                                        or the file's "params_stated_tolerance"; 0 = exact */
    double params_active_stated;     /* stated active parameters (MoE); NAN when not stated */
    double params_active_stated_tol; /* its tolerance, same rule */
} prof_info;

/* prof_model_load() etc. that also fill *info (caller-owned, may be NULL). Same statuses. */
est_status prof_model_load_info(const char *name_or_path, est_model *out, prof_info *info,
                                est_diag *diag);
est_status prof_gpu_load_info(const char *name_or_path, est_gpu *out, prof_info *info,
                              est_diag *diag);
est_status prof_cluster_load_info(const char *name_or_path, est_cluster *out, prof_info *info,
                                  est_diag *diag);

/* Units a quantity string may carry (docs/profiles.md#units). Decimal prefixes K M G T P are
 * powers of 1000, binary ones Ki Mi Gi Ti Pi powers of 1024; "B" is a byte, "b" a bit. */
typedef enum prof_unit {
    PROF_UNIT_BYTES = 0,   /* "80GiB", "40GB", "512MiB", "1024" */
    PROF_UNIT_BYTES_PER_S, /* "3.35TB/s", "900GB/s", "400Gb/s" (bits, /8), "64GiB/s" */
    PROF_UNIT_FLOP_PER_S,  /* "989.4TFLOP/s", "312TFLOPS", "1.979PFLOP/s" */
    PROF_UNIT_SECONDS,     /* "3us", "10 us", "1.5ms", "2e-6s", "800ns" */
    PROF_UNIT_PARAMS,      /* a count: "70.6B" (1e9), "124M", "1T" (1e12), "350K" */
    PROF_UNIT_COUNT_
} prof_unit;

/* Parses a quantity "<number>[ ]<unit>" (a bare number is in base units) into *out in base units
 * (bytes, bytes/s, FLOP/s, s, parameters). If half_ulp is not NULL it receives half a unit in the
 * last digit written, in base units ("70.6B" -> 5e7; "124439808" -> 0.5). Returns EST_OK, or
 * EST_EINVAL naming the text and the expected units (negative, empty, unknown or wrong unit). */
est_status prof_parse_quantity(const char *text, prof_unit unit, double *out, double *half_ulp,
                               est_diag *diag);

/* The profile name of `kind` nearest to `name` by edit distance (over file stems and aliases),
 * written into buf snprintf-style; returns the length needed (0 when there are no profiles). */
size_t prof_suggest(prof_kind kind, const char *name, char *buf, size_t cap);

#endif /* LLMCAL_PROF_PROF_H */
