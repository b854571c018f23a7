/* samples_io.h -- calibration sample files: a growable sample set with provenance metadata, and
 * its text form (TSV in nccl-tests' layout: '#' comment lines with "key: value" metadata, a '#'
 * header naming the columns, a '#' units row, then one sample per line).
 *
 *   # llmcal calibration samples
 *   # device: NVIDIA H200
 *   # kind	dtype	batch	m	n	k	...	count	min	p50	p99
 *   # (-)	(-)	(1)	(elem)	(elem)	(elem)	...	(1)	(s)	(s)	(s)
 *   gemm	bf16	1	4096	4096	4096	...	20	0.000151	0.000153	0.000160
 *
 * Columns are found by name, so a file may carry them in any order and leave optional ones out;
 * '-' marks a field a kind does not use. Times are seconds, sizes bytes (units at print only:
 * `llmcal calibrate` shows us and GB/s). Numbers are written so that they read back exactly.
 *
 * Not here: the fit (fit.h). References: nccl-tests src/util.cu writeResultHeader (header + units
 * row); docs/calibration.md#sample-files.
 */
#ifndef LLMCAL_CAL_SAMPLES_IO_H
#define LLMCAL_CAL_SAMPLES_IO_H

#include <stddef.h>
#include <stdio.h>

#include "est/sample.h"
#include "est/status.h"

#define CAL_META_MAX   24  /* metadata entries per file */
#define CAL_META_KEY   32  /* key length incl. NUL */
#define CAL_META_VALUE 160 /* value length incl. NUL */

/* Provenance of a sample set ("device", "driver", "cuda", "date", "gpus", "host"...). */
typedef struct cal_meta {
    int n;                                    /* entries used */
    char key[CAL_META_MAX][CAL_META_KEY];     /* [a-z0-9_]+ */
    char value[CAL_META_MAX][CAL_META_VALUE]; /* one line, no tabs */
} cal_meta;

/* A growable array of samples (heap, owned) plus metadata. Zero-initialise or call
 * cal_sample_set_init(); release with cal_sample_set_free(). */
typedef struct cal_sample_set {
    est_sample *s; /* n samples, owned */
    size_t n;
    size_t cap;
    cal_meta meta;
} cal_sample_set;

/* An empty set (no allocation). */
void cal_sample_set_init(cal_sample_set *set);

/* Frees the samples and empties the set; accepts an empty or already-freed set. */
void cal_sample_set_free(cal_sample_set *set);

/* Appends a copy of *s (not validated here). Returns EST_OK or EST_ENOMEM (set unchanged). */
est_status cal_sample_set_push(cal_sample_set *set, const est_sample *s, est_diag *diag);

/* The value of metadata `key`, or NULL. The pointer is into *m. */
const char *cal_meta_get(const cal_meta *m, const char *key);

/* Sets (or replaces) a metadata entry. Tabs and newlines in the value become spaces; a longer
 * value is truncated. Returns EST_OK, or EST_EINVAL for a bad key (empty, too long, not
 * [a-z0-9_]) or a full table. */
est_status cal_meta_set(cal_meta *m, const char *key, const char *value, est_diag *diag);

/* Writes the set as TSV to an open stream. Returns EST_OK or EST_EIO. */
est_status cal_samples_write(FILE *f, const cal_sample_set *set, est_diag *diag);

/* Writes the set to `path` (created or truncated). Returns EST_OK or EST_EIO naming the path. */
est_status cal_samples_save(const char *path, const cal_sample_set *set, est_diag *diag);

/* Parses TSV text into *out (which must be empty: initialised and not yet filled); `origin` names
 * the text in messages. Every sample is checked with est_sample_validate(). Returns EST_OK;
 * EST_EPARSE with "origin:LINE: ..." naming the line, the column and the reason (no header,
 * unknown column, wrong field count, a number that is not one, an unknown name, an invalid
 * sample), EST_ENOMEM. On error *out is left empty. */
est_status cal_samples_from_string(const char *text, const char *origin, cal_sample_set *out,
                                   est_diag *diag);

/* Reads a sample file. EST_EIO when it cannot be read; otherwise as cal_samples_from_string(). */
est_status cal_samples_load(const char *path, cal_sample_set *out, est_diag *diag);

#endif /* LLMCAL_CAL_SAMPLES_IO_H */
