/* launch.c -- launcher detection from the environment and the rendezvous file (rt/launch.h).
 *
 * Pure POSIX, no MPI and no CUDA, so both are unit-tested on any machine (tests/test_rt_launch.c
 * forks two processes that exchange a 128-byte id through the file).
 */
#include "rt/launch.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RV_MAGIC  "llmcal-rendezvous"
#define RV_MAX_ID 4096

const char *rt_env_getenv(const char *name, void *ctx)
{
    (void)ctx;
    return getenv(name);
}

// ---------------------------------------------------------------------------
// launcher variables

/* *out from variable `name` when it is set (found = true); a decimal integer in lo..hi */
static est_status env_int(rt_env_fn env, void *ctx, const char *name, long lo, long hi, int *out,
                          bool *found, est_diag *diag)
{
    const char *v = env(name, ctx);
    *found = v != NULL;
    if (!v) {
        return EST_OK;
    }
    char *end = NULL;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (*v == '\0' || *end != '\0' || errno != 0) {
        return EST_FAIL(diag, EST_EINVAL, "%s: '%s' is not a decimal integer", name, v);
    }
    if (x < lo || x > hi) {
        return EST_FAIL(diag, EST_EINVAL, "%s: %ld is outside %ld..%ld", name, x, lo, hi);
    }
    *out = (int)x;
    return EST_OK;
}

typedef struct launcher_vars {
    const char *name;
    const char *rank, *size, *size_alt, *local;
} launcher_vars;

static const launcher_vars launchers[] = {
    {"openmpi", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", NULL, "OMPI_COMM_WORLD_LOCAL_RANK"},
    {"pmi", "PMI_RANK", "PMI_SIZE", NULL, "MPI_LOCALRANKID"},
    {"slurm", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_NPROCS", "SLURM_LOCALID"},
};

/* the launch's identity: the first of these the environment has */
static void job_of(rt_env_fn env, void *ctx, const char *launcher, char *job, size_t cap)
{
    const char *sj = env("SLURM_JOB_ID", ctx);
    const char *ss = env("SLURM_STEP_ID", ctx);
    const char *px = env("PMIX_NAMESPACE", ctx);
    const char *oj = env("OMPI_MCA_ess_base_jobid", ctx);
    if (strcmp(launcher, "slurm") == 0 && sj) {
        snprintf(job, cap, "slurm-%s.%s", sj, ss ? ss : "x");
    } else if (px) {
        snprintf(job, cap, "pmix-%s", px);
    } else if (oj) {
        snprintf(job, cap, "ompi-%s", oj);
    } else if (sj) {
        snprintf(job, cap, "slurm-%s.%s", sj, ss ? ss : "x");
    } else {
        snprintf(job, cap, "-");
    }
    for (char *p = job; *p; p++) { /* one token on the file's line */
        if (*p == ' ' || *p == '\t' || *p == '\n') {
            *p = '_';
        }
    }
}

est_status rt_launch_detect(rt_env_fn env, void *ctx, rt_launch *out, est_diag *diag)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < sizeof launchers / sizeof launchers[0]; i++) {
        const launcher_vars *L = &launchers[i];
        bool has_rank = false;
        bool has_size = false;
        bool has_local = false;
        int rank = 0;
        int size = 0;
        int local = 0;
        est_status st = env_int(env, ctx, L->rank, 0, INT_MAX - 1, &rank, &has_rank, diag);
        if (st != EST_OK) {
            return st;
        }
        if (!has_rank) {
            continue;
        }
        const char *size_var = L->size;
        if ((st = env_int(env, ctx, L->size, 1, INT_MAX, &size, &has_size, diag)) != EST_OK) {
            return st;
        }
        if (!has_size && L->size_alt) {
            size_var = L->size_alt;
            st = env_int(env, ctx, L->size_alt, 1, INT_MAX, &size, &has_size, diag);
            if (st != EST_OK) {
                return st;
            }
        }
        if (!has_size) {
            return EST_FAIL(diag, EST_EINVAL, "%s: not set, though %s is (%s launcher)", L->size,
                            L->rank, L->name);
        }
        if (rank >= size) {
            return EST_FAIL(diag, EST_EINVAL, "%s: rank %d is not below %s=%d", L->rank, rank,
                            size_var, size);
        }
        st = env_int(env, ctx, L->local, 0, INT_MAX - 1, &local, &has_local, diag);
        if (st != EST_OK) {
            return st;
        }
        if (!has_local) {
            return EST_FAIL(diag, EST_EINVAL,
                            "%s: not set, though %s is (%s launcher): the local rank picks the GPU",
                            L->local, L->rank, L->name);
        }
        out->present = true;
        snprintf(out->launcher, sizeof out->launcher, "%s", L->name);
        snprintf(out->rank_var, sizeof out->rank_var, "%s", L->rank);
        out->rank = rank;
        out->size = size;
        out->local_rank = local;
        job_of(env, ctx, L->name, out->job, sizeof out->job);
        return EST_OK;
    }
    return EST_OK;
}

// ---------------------------------------------------------------------------
// rendezvous file

est_status rt_rendezvous_publish(const char *path, const char *job, int size, const void *id,
                                 size_t n, est_diag *diag)
{
    if (!path || !*path || n == 0 || n > RV_MAX_ID) {
        return EST_FAIL(diag, EST_EINVAL, "rendezvous: a path and 1..%d id bytes are required",
                        RV_MAX_ID);
    }
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 32);
    char *line = malloc(2 * n + 256);
    if (!tmp || !line) {
        free(tmp);
        free(line);
        return EST_FAIL(diag, EST_ENOMEM, "rendezvous: host allocation failed");
    }
    snprintf(tmp, plen + 32, "%s.tmp.%ld", path, (long)getpid());
    int len = snprintf(line, 256, "%s 1 %s %d %zu ", RV_MAGIC, job && *job ? job : "-", size, n);
    const unsigned char *b = id;
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        line[len++] = hex[b[i] >> 4];
        line[len++] = hex[b[i] & 15];
    }
    line[len++] = '\n';
    est_status st = EST_OK;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        st = EST_FAIL(diag, EST_EIO, "rendezvous: cannot create %s: %s", tmp, strerror(errno));
    } else {
        ssize_t w = write(fd, line, (size_t)len);
        bool ok = w == (ssize_t)len && fsync(fd) == 0;
        int err = errno;
        ok = close(fd) == 0 && ok;
        if (!ok) {
            st = EST_FAIL(diag, EST_EIO, "rendezvous: cannot write %s: %s", tmp, strerror(err));
        } else if (rename(tmp, path) != 0) {
            st = EST_FAIL(diag, EST_EIO, "rendezvous: cannot rename %s to %s: %s", tmp, path,
                          strerror(errno));
        }
        if (st != EST_OK) {
            unlink(tmp);
        }
    }
    free(tmp);
    free(line);
    return st;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

typedef enum rv_read { RV_NONE = 0, RV_OK, RV_OTHER_JOB, RV_MALFORMED } rv_read;

/* one attempt: what is at path; on RV_OTHER_JOB `seen` says whose */
static rv_read rv_try(const char *path, const char *job, int size, unsigned char *id, size_t n,
                      char *seen, size_t seen_cap)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        return RV_NONE;
    }
    size_t cap = 2 * n + 512;
    char *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        return RV_NONE;
    }
    size_t got = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[got] = '\0';
    char magic[32];
    char fjob[128];
    int ver = 0;
    int fsize = 0;
    size_t fn = 0;
    int pos = 0;
    rv_read res = RV_MALFORMED;
    if (sscanf(buf, "%31s %d %127s %d %zu %n", magic, &ver, fjob, &fsize, &fn, &pos) == 5 &&
        strcmp(magic, RV_MAGIC) == 0 && ver == 1) {
        if (strcmp(fjob, job && *job ? job : "-") != 0 || fsize != size) {
            snprintf(seen, seen_cap, "job %s with %d ranks", fjob, fsize);
            res = RV_OTHER_JOB;
        } else if (fn == n && got >= (size_t)pos + 2 * n + 1 && buf[pos + 2 * n] == '\n') {
            res = RV_OK;
            for (size_t i = 0; i < n && res == RV_OK; i++) {
                int hi = hexval(buf[pos + 2 * i]);
                int lo = hexval(buf[pos + 2 * i + 1]);
                if (hi < 0 || lo < 0) {
                    res = RV_MALFORMED;
                } else {
                    id[i] = (unsigned char)(hi << 4 | lo);
                }
            }
        }
    }
    free(buf);
    return res;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

est_status rt_rendezvous_wait(const char *path, const char *job, int size, void *id, size_t n,
                              double timeout_s, est_diag *diag)
{
    if (!path || !*path || n == 0 || n > RV_MAX_ID) {
        return EST_FAIL(diag, EST_EINVAL, "rendezvous: a path and 1..%d id bytes are required",
                        RV_MAX_ID);
    }
    unsigned char *tmp = malloc(n);
    if (!tmp) {
        return EST_FAIL(diag, EST_ENOMEM, "rendezvous: host allocation failed");
    }
    double t0 = mono_s();
    char seen[192] = "";
    rv_read last = RV_NONE;
    for (;;) {
        last = rv_try(path, job, size, tmp, n, seen, sizeof seen);
        if (last == RV_OK) {
            memcpy(id, tmp, n);
            free(tmp);
            return EST_OK;
        }
        if (mono_s() - t0 >= timeout_s) {
            break;
        }
        struct timespec nap = {0, 20 * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
    free(tmp);
    switch (last) {
    case RV_OTHER_JOB:
        return EST_FAIL(diag, EST_EIO,
                        "rendezvous: %s holds the id of %s, not of this launch (job %s with %d "
                        "ranks) after %g s: a stale file? use a fresh path per job",
                        path, seen, job && *job ? job : "-", size, timeout_s);
    case RV_MALFORMED:
        return EST_FAIL(diag, EST_EIO,
                        "rendezvous: %s is not an llmcal rendezvous file of %zu id bytes (after "
                        "%g s)",
                        path, n, timeout_s);
    default:
        return EST_FAIL(diag, EST_EIO,
                        "rendezvous: no id at %s after %g s: rank 0 writes it; did rank 0 start, "
                        "and is the path on a filesystem every rank shares?",
                        path, timeout_s);
    }
}
