/* test_rt_launch.c -- multi-process launch without MPI (rt/launch.h): the launcher's rank, size
 * and local rank from its environment variables, and the NCCL-id rendezvous through a file.
 *
 * Variable names are the launchers' documented ones: Open MPI mpirun(1) "OMPI_COMM_WORLD_SIZE,
 * OMPI_COMM_WORLD_RANK, OMPI_COMM_WORLD_LOCAL_RANK"; MPICH/Intel MPI Hydra PMI_RANK, PMI_SIZE,
 * MPI_LOCALRANKID; Slurm srun(1) "SLURM_PROCID, SLURM_NTASKS (and SLURM_NPROCS), SLURM_LOCALID".
 * The rendezvous is exercised by two processes (fork): the child polls the file while the parent
 * writes a 128-byte id (NCCL_UNIQUE_ID_BYTES) after a delay; the child exits 0 only if it read
 * every byte back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "rt/launch.h"

typedef struct kv {
    const char *k, *v;
} kv;

static const char *table_env(const char *name, void *ctx)
{
    for (const kv *p = ctx; p->k; p++) {
        if (strcmp(p->k, name) == 0) {
            return p->v;
        }
    }
    return NULL;
}

static est_status detect(const kv *env, rt_launch *l, est_diag *d)
{
    memset(d, 0, sizeof *d);
    est_status st = rt_launch_detect(table_env, (void *)env, l, d);
    if (st != EST_OK) {
        printf("  -> %s\n", d->msg);
    }
    return st;
}

static void env_tests(void)
{
    rt_launch l;
    est_diag d;
    kv none[] = {{"HOME", "/root"}, {NULL, NULL}};
    CHECK(detect(none, &l, &d) == EST_OK && !l.present, "no launcher: single process");

    kv ompi[] = {{"OMPI_COMM_WORLD_RANK", "5"},
                 {"OMPI_COMM_WORLD_SIZE", "16"},
                 {"OMPI_COMM_WORLD_LOCAL_RANK", "1"},
                 {"PMIX_NAMESPACE", "prterun-node1-123@1"},
                 /* mpirun inside a Slurm allocation: the allocation's own variables */
                 {"SLURM_PROCID", "0"},
                 {"SLURM_NTASKS", "2"},
                 {"SLURM_LOCALID", "0"},
                 {"SLURM_JOB_ID", "77"},
                 {NULL, NULL}};
    CHECK(detect(ompi, &l, &d) == EST_OK && l.present, "Open MPI detected");
    CHECK(strcmp(l.launcher, "openmpi") == 0 && l.rank == 5 && l.size == 16 && l.local_rank == 1,
          "Open MPI wins over the allocation's SLURM_*: rank 5 of 16, local 1");
    CHECK(strcmp(l.job, "pmix-prterun-node1-123@1") == 0, "Open MPI job from PMIX_NAMESPACE");

    kv pmi[] = {{"PMI_RANK", "3"}, {"PMI_SIZE", "4"}, {"MPI_LOCALRANKID", "3"}, {NULL, NULL}};
    CHECK(detect(pmi, &l, &d) == EST_OK && strcmp(l.launcher, "pmi") == 0 && l.rank == 3 &&
              l.size == 4 && l.local_rank == 3 && strcmp(l.job, "-") == 0,
          "PMI (Hydra): rank 3 of 4, local 3, no job id");

    kv slurm[] = {{"SLURM_PROCID", "9"},    {"SLURM_NPROCS", "12"}, {"SLURM_LOCALID", "1"},
                  {"SLURM_JOB_ID", "4242"}, {"SLURM_STEP_ID", "0"}, {NULL, NULL}};
    CHECK(detect(slurm, &l, &d) == EST_OK && strcmp(l.launcher, "slurm") == 0 && l.rank == 9 &&
              l.size == 12 && l.local_rank == 1,
          "Slurm srun: SLURM_NPROCS stands in for SLURM_NTASKS");
    CHECK(strcmp(l.job, "slurm-4242.0") == 0, "Slurm job id: SLURM_JOB_ID.SLURM_STEP_ID");

    kv bad_int[] = {{"OMPI_COMM_WORLD_RANK", "1x"},
                    {"OMPI_COMM_WORLD_SIZE", "2"},
                    {"OMPI_COMM_WORLD_LOCAL_RANK", "0"},
                    {NULL, NULL}};
    CHECK(detect(bad_int, &l, &d) == EST_EINVAL && strstr(d.msg, "OMPI_COMM_WORLD_RANK") &&
              strstr(d.msg, "not a decimal integer"),
          "a malformed rank is refused, naming the variable");
    kv too_big[] = {{"PMI_RANK", "4"}, {"PMI_SIZE", "4"}, {"MPI_LOCALRANKID", "0"}, {NULL, NULL}};
    CHECK(detect(too_big, &l, &d) == EST_EINVAL && strstr(d.msg, "PMI_RANK"),
          "rank >= size is refused, naming the rank variable");
    kv no_local[] = {{"PMI_RANK", "0"}, {"PMI_SIZE", "2"}, {NULL, NULL}};
    CHECK(detect(no_local, &l, &d) == EST_EINVAL && strstr(d.msg, "MPI_LOCALRANKID"),
          "PMI without MPI_LOCALRANKID is refused, naming it");
    kv no_size[] = {{"SLURM_PROCID", "0"}, {"SLURM_LOCALID", "0"}, {NULL, NULL}};
    CHECK(detect(no_size, &l, &d) == EST_EINVAL && strstr(d.msg, "SLURM_NTASKS"),
          "Slurm without a task count is refused, naming SLURM_NTASKS");
    kv zero_size[] = {{"OMPI_COMM_WORLD_RANK", "0"},
                      {"OMPI_COMM_WORLD_SIZE", "0"},
                      {"OMPI_COMM_WORLD_LOCAL_RANK", "0"},
                      {NULL, NULL}};
    CHECK(detect(zero_size, &l, &d) == EST_EINVAL && strstr(d.msg, "OMPI_COMM_WORLD_SIZE"),
          "a world size of 0 is refused");
    kv neg_local[] = {
        {"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "2"}, {"SLURM_LOCALID", "-1"}, {NULL, NULL}};
    CHECK(detect(neg_local, &l, &d) == EST_EINVAL && strstr(d.msg, "SLURM_LOCALID"),
          "a negative local rank is refused");
}

static void fake_id(unsigned char *id, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        id[i] = (unsigned char)((i * 37u + seed) & 0xFF); /* every byte value 0..255 occurs */
    }
}

static void rendezvous_tests(const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/nccl.id", dir);
    unlink(path);
    unsigned char id[128];
    unsigned char got[128];
    fake_id(id, sizeof id, 11);
    est_diag d;
    memset(&d, 0, sizeof d);

    /* two processes: the reader starts first and polls; the writer publishes 200 ms later */
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        unsigned char rid[128];
        memset(rid, 0, sizeof rid);
        est_diag cd;
        est_status st = rt_rendezvous_wait(path, "job-1", 2, rid, sizeof rid, 10.0, &cd);
        _exit(st == EST_OK && memcmp(rid, id, sizeof rid) == 0 ? 0 : 1);
    }
    CHECK(pid > 0, "fork");
    struct timespec nap = {0, 200 * 1000 * 1000};
    nanosleep(&nap, NULL);
    CHECK(rt_rendezvous_publish(path, "job-1", 2, id, sizeof id, &d) == EST_OK, "rank 0 publishes");
    int status = -1;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "the other process read the 128-byte id back exactly");

    /* nothing left behind but the file itself: the temporary was renamed */
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    CHECK(access(tmp, F_OK) != 0, "no temporary file left after publishing");

    /* a file of another job, or another world size, is not taken for this launch's */
    memset(&d, 0, sizeof d);
    CHECK(rt_rendezvous_wait(path, "job-2", 2, got, sizeof got, 0.1, &d) == EST_EIO &&
              strstr(d.msg, "job-1") && strstr(d.msg, "stale"),
          "another job's file: times out naming it as stale");
    printf("  -> %s\n", d.msg);
    memset(&d, 0, sizeof d);
    CHECK(rt_rendezvous_wait(path, "job-1", 4, got, sizeof got, 0.1, &d) == EST_EIO,
          "another world size's file is not taken");
    memset(&d, 0, sizeof d);
    CHECK(rt_rendezvous_wait(path, "job-1", 2, got, 64, 0.1, &d) == EST_EIO &&
              strstr(d.msg, "not an llmcal rendezvous file"),
          "an id of another length is malformed");

    /* a garbage file, and no file at all */
    FILE *f = fopen(path, "w");
    if (f) {
        fputs("hello\n", f);
        fclose(f);
    }
    memset(&d, 0, sizeof d);
    CHECK(rt_rendezvous_wait(path, "job-1", 2, got, sizeof got, 0.1, &d) == EST_EIO &&
              strstr(d.msg, "not an llmcal rendezvous file"),
          "a malformed file times out saying so");
    unlink(path);
    memset(&d, 0, sizeof d);
    CHECK(rt_rendezvous_wait(path, "job-1", 2, got, sizeof got, 0.1, &d) == EST_EIO &&
              strstr(d.msg, "no id at") && strstr(d.msg, path),
          "no file: times out naming the path");
    printf("  -> %s\n", d.msg);

    /* a publish into a directory that does not exist fails with the reason */
    char nodir[600];
    snprintf(nodir, sizeof nodir, "%s/missing/nccl.id", dir);
    memset(&d, 0, sizeof d);
    CHECK(rt_rendezvous_publish(nodir, "-", 2, id, sizeof id, &d) == EST_EIO &&
              strstr(d.msg, "cannot create"),
          "publishing into a missing directory is an I/O error naming the file");
}

int main(void)
{
    env_tests();
    char dir[] = "/tmp/llmcal-rv-XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(false, "mkdtemp");
        return check_summary();
    }
    rendezvous_tests(dir);
    rmdir(dir);
    return check_summary();
}
