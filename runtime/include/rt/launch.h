/* launch.h -- multi-process launch of the runtime without linking MPI: which rank this process is
 * (from the launcher's environment) and the rendezvous of the NCCL unique id through a file on a
 * filesystem every rank shares.
 *
 * Launchers recognised, in this order (mpirun under a Slurm allocation sets both its own
 * variables and the allocation's SLURM_* ones, so the MPI launcher's win):
 *   Open MPI  OMPI_COMM_WORLD_RANK, OMPI_COMM_WORLD_SIZE, OMPI_COMM_WORLD_LOCAL_RANK
 *   PMI       PMI_RANK, PMI_SIZE, MPI_LOCALRANKID (MPICH / Intel MPI Hydra)
 *   Slurm     SLURM_PROCID, SLURM_NTASKS (or SLURM_NPROCS), SLURM_LOCALID (srun)
 * Each process runs one rank on one GPU: device = its local rank.
 *
 * Rendezvous file (text, one line): "llmcal-rendezvous 1 <job> <size> <n> <2n hex digits>\n".
 * Rank 0 writes it to "<path>.tmp.<pid>" and renames it over <path> (atomic on POSIX
 * filesystems, NFS included: readers see the old file, no file, or the whole new one); the
 * others poll until a file of the same job and world size appears. <job> identifies the launch
 * (SLURM_JOB_ID.SLURM_STEP_ID, PMIX_NAMESPACE, OMPI_MCA_ess_base_jobid; "-" when none), so a file
 * left by an earlier job is not taken for this one's. Rank 0 removes the file once the world
 * communicator exists (every rank has read it by then).
 * Not here: NCCL itself (cuda/backend.c), the command line (cli/cmd_run.c).
 */
#ifndef LLMCAL_RT_LAUNCH_H
#define LLMCAL_RT_LAUNCH_H

#include <stdbool.h>
#include <stddef.h>

#include "est/status.h"

typedef struct rt_launch {
    bool present;      /* a launcher's variables were found */
    char launcher[16]; /* "openmpi", "pmi", "slurm" */
    int rank, size;    /* this process's rank in the world, world size */
    int local_rank;    /* rank among the processes of this node: the GPU it drives */
    char job[96];      /* job identity for the rendezvous file; "-" when the launcher gives
                             none */
    char rank_var[32]; /* the variable the rank came from (for messages) */
} rt_launch;

/* Environment lookup: returns the value of `name` or NULL (getenv, or a table in tests). */
typedef const char *(*rt_env_fn)(const char *name, void *ctx);

/* rt_env_fn over the process environment (getenv). */
const char *rt_env_getenv(const char *name, void *ctx);

/* Fills *out from the launcher's variables. No launcher found: EST_OK with out->present false.
 * EST_EINVAL with diag naming the variable when one is malformed (not a decimal integer, rank
 * outside 0..size-1, negative local rank) or when a launcher's rank is set without its size or
 * local rank. */
est_status rt_launch_detect(rt_env_fn env, void *ctx, rt_launch *out, est_diag *diag);

/* Rank 0: writes `n` bytes of `id` for (job, size) to `path` atomically (temporary file in the
 * same directory, fsync, rename). EST_EIO naming the path and the system's reason on failure. */
est_status rt_rendezvous_publish(const char *path, const char *job, int size, const void *id,
                                 size_t n, est_diag *diag);

/* Other ranks: polls `path` (every 20 ms) until it holds an id of `n` bytes for (job, size) and
 * copies it to `id`. After `timeout_s` seconds: EST_EIO with a message naming the path and what
 * was there (nothing, another job's file, a malformed file). */
est_status rt_rendezvous_wait(const char *path, const char *job, int size, void *id, size_t n,
                              double timeout_s, est_diag *diag);

#endif /* LLMCAL_RT_LAUNCH_H */
