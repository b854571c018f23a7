/* status.h -- the one status enum and diagnostic record shared by every llmcal module.
 *
 * Every fallible public function returns est_status and takes `est_diag *diag` (may be NULL) as its
 * last parameter; on error it fills diag->msg with one line that names the field and the reason.
 * Not here: printing or exiting -- only main.c files do that.
 */
#ifndef LLMCAL_EST_STATUS_H
#define LLMCAL_EST_STATUS_H

#include <stddef.h>

typedef enum est_status {
    EST_OK = 0,
    EST_EINVAL,       /* argument or config inconsistent (e.g. tp does not divide heads) */
    EST_ERANGE,       /* value outside the modelled range, or a product that overflows */
    EST_ENOMEM,       /* allocation failed (never in the estimator core) */
    EST_EIO,          /* file open/read/write failed (profiles, runtime main) */
    EST_EPARSE,       /* profile or sample file syntax error */
    EST_ECUDA,        /* runtime only */
    EST_ECUBLAS,      /* runtime only */
    EST_ENCCL,        /* runtime only */
    EST_ENOFIT,       /* calibration did not converge or is ill-conditioned */
    EST_EUNSUPPORTED, /* feature not modelled */
    EST_ENOTFOUND     /* unknown name (model, GPU, cluster) */
} est_status;

typedef struct est_diag {
    char msg[256];    /* one line, no trailing newline; "" when nothing was recorded */
    const char *file; /* source file that raised it (debug aid), or NULL */
    int line;         /* source line that raised it */
} est_diag;

/* Static, human-readable name of a status ("invalid argument"...). Never NULL. */
const char *est_status_str(est_status s);

/* Records a formatted message in diag (if diag is not NULL) and returns `s`, so callers can write
 * `return est_diag_set(diag, EST_EINVAL, __FILE__, __LINE__, "tp=%d ...", tp)`.
 * The formatter is the estimator's own (no stdio in the pure core); it understands
 * %s %c %d %u %ld %lu %lld %llu %zu %g %.Ng %f %.Nf %% and truncates to the buffer. */
est_status est_diag_set(est_diag *diag, est_status s, const char *file, int line, const char *fmt,
                        ...);

/* Convenience macro: fills file/line. The only kind of macro the style allows (error
 * propagation). */
#define EST_FAIL(diag, status, ...) est_diag_set((diag), (status), __FILE__, __LINE__, __VA_ARGS__)

/* Propagates a failed status: `EST_TRY(f(x, diag));` returns f's status from the calling function
 * when it is not EST_OK (its diag already filled by f). Error propagation only (STYLE.md 3.4). */
#define EST_TRY(expr)                                                                              \
    do {                                                                                           \
        est_status est_try_s_ = (expr);                                                            \
        if (est_try_s_ != EST_OK) {                                                                \
            return est_try_s_;                                                                     \
        }                                                                                          \
    } while (0)

#endif /* LLMCAL_EST_STATUS_H */
