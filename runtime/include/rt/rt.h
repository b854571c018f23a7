/* rt.h -- the llmcal micro-runtime: real training steps of the configuration being estimated.
 *
 * rt_run() executes `steps` training steps of a GPT- or Llama-style decoder (est_model) laid out as
 * est_parallel says: Megatron TP (column/row-parallel linears, vocab-parallel embedding and
 * cross-entropy, SP with all-gather/reduce-scatter), PP with the 1F1B or interleaved schedule over
 * send/recv, DP with a gradient all-reduce (ZeRO-0) or reduce-scatter + all-gather (ZeRO-1/2).
 * It measures per-rank memory by the estimator's groups (est_mem_group) and time by phase.
 *
 * Backends: RT_BACKEND_CPU (plain C, fp32, ranks are threads of this process joined by exact
 * in-process collectives; the specification) and RT_BACKEND_CUDA (one thread per local GPU, cuBLAS
 * GEMMs, NCCL; built only with LLMCAL_WITH_CUDA). Single-GPU shard mode (opt.solo_rank >= 0) runs
 * the work of one rank only, with the collectives replaced by local work of the same size, and
 * reports the communication times as modelled (alpha-beta over the cluster), not measured.
 *
 * Not here: printing (cli/cmd_run.c formats), profiles, the estimator's own prediction.
 * References: karpathy/llm.c train_gpt2.c (kernels, shapes); Megatron-LM (TP/SP/PP/distributed
 * optimizer semantics); Narayanan et al. 2021 (interleaved 1F1B, eq. 3 FLOPs).
 */
#ifndef LLMCAL_RT_RT_H
#define LLMCAL_RT_RT_H

#include <stdbool.h>
#include <stdint.h>

#include "est/config.h"
#include "est/memory.h"
#include "est/status.h"
#include "rt/launch.h"

typedef enum rt_backend_kind { RT_BACKEND_CPU = 0, RT_BACKEND_CUDA } rt_backend_kind;

/* Phases of a step, as timed. Communication kinds are separate from compute. */
typedef enum rt_time_part {
    RT_T_FORWARD = 0, /* forward compute (embedding, layers, head, loss) */
    RT_T_BACKWARD,    /* backward compute, recompute included */
    RT_T_TP_COMM,     /* TP/SP all-reduce, all-gather, reduce-scatter, vocab-parallel CE */
    RT_T_PP_COMM,     /* pipeline send/recv (waiting for the peer included: bubble shows here) */
    RT_T_DP_COMM,     /* DP gradient reduction, ZeRO param all-gather, tied-embedding sync */
    RT_T_OPTIMIZER,   /* AdamW */
    RT_T_STEP,        /* whole iteration, wall clock */
    RT_T_COUNT
} rt_time_part;

typedef struct rt_options {
    rt_backend_kind backend;
    int steps;                /* training steps (>= 1); times are averaged over steps 2.. */
    int solo_rank;            /* -1: run every rank; else single-GPU shard mode for this rank */
    uint64_t seed;            /* parameters and data are hash(seed, canonical index) */
    double lr;                /* AdamW learning rate */
    double beta1, beta2, eps; /* AdamW moments */
    double weight_decay;      /* AdamW decoupled weight decay (all parameters, as llm.c) */
    uint64_t capacity_bytes;  /* per-rank allocation limit; 0 = none (CPU) / device memory */
    int device0;              /* CUDA: first device used (ranks map to device0 + local rank) */
    /* multi-process launch (mpirun/srun): this process runs rank launch.rank only, on device
       device0 + launch.local_rank, and joins the others through the NCCL id in the file
       `rendezvous` (rt/launch.h). launch.present false: every rank runs in this process. */
    rt_launch launch;
    const char *rendezvous;      /* borrowed; required with launch.present */
    double rendezvous_timeout_s; /* how long ranks other than 0 wait for the id */
    /* test hooks, canonical (TP=1, unsharded) layout of rt_canonical_layout(); borrowed */
    const float *init_params; /* start from these instead of random (NULL = random) */
    float *grads_out;         /* receives the reduced gradient of the last step (NULL = no) */
    float *params_out;        /* receives the parameters after the last step (NULL = no) */
} rt_options;

typedef struct rt_rank_report {
    int rank; /* global rank (Megatron order tp, dp, pp) */
    int tp_rank, dp_rank, pp_rank;
    uint64_t peak_bytes;                            /* allocator high-water mark */
    uint64_t at_peak_bytes[EST_MEM_GROUP_COUNT];    /* breakdown at that high-water mark */
    uint64_t group_peak_bytes[EST_MEM_GROUP_COUNT]; /* each group's own maximum */
    uint64_t driver_used_bytes;     /* cudaMemGetInfo total - free at peak; 0 on CPU */
    double time_s[RT_T_COUNT];      /* per step, mean over the timed steps */
    bool time_measured[RT_T_COUNT]; /* false: modelled (solo mode communication) */
    bool oom;                       /* this rank ran out of memory */
} rt_rank_report;

typedef struct rt_report {
    rt_backend_kind backend;
    bool solo;              /* single-GPU shard mode */
    bool multiproc;         /* one process per rank: ranks holds this process's rank only */
    int nranks;             /* entries in ranks (1 in solo and multi-process mode) */
    rt_rank_report *ranks;  /* owned; rt_report_free */
    int steps;              /* steps run */
    double *loss;           /* [steps] mean loss of the global batch (NAN in solo mode; summed
                               over the processes by NCCL in multi-process mode) */
    double model_flop;      /* model FLOPs per step (Narayanan 2021 eq. 3 convention) */
    double tokens_per_step; /* gbs * seq */
    double step_s;          /* slowest rank's mean step time */
    double tokens_per_s;
    double tflops_per_gpu; /* model FLOP/s per GPU / 1e12 */
    double mfu;            /* vs the GPU profile's bf16 peak; NAN on the CPU backend */
    bool oom;              /* some rank ran out of memory: oom_msg says what */
    char oom_msg[256];
} rt_report;

/* Defaults by value: CPU backend, 2 steps, all ranks, seed 1234, AdamW lr 1e-3 (0.9, 0.95, 1e-8,
 * wd 0.1), no capacity limit, device 0, no test hooks, single process (rendezvous timeout 300 s
 * if one is asked for). */
rt_options rt_options_default(void);

/* Number of floats in the canonical parameter layout of `m` (TP=1, unsharded, tied embeddings
 * stored once): wte, wpe, layers, final norm, lm head. Equals est_model_params(m).total. */
int64_t rt_canonical_size(const est_model *m);

/* True when `kind` was compiled in (the CPU backend always is; CUDA only with LLMCAL_WITH_CUDA). */
bool rt_backend_compiled(rt_backend_kind kind);

/* Runs opt->steps training steps of `cfg` and fills *out (caller-owned struct; its arrays are
 * heap-allocated and released by rt_report_free). cfg is borrowed and resolved on a copy.
 * Returns EST_OK; EST_EINVAL/EST_ERANGE for configurations the runtime cannot run (diag names the
 * field); EST_EUNSUPPORTED for features it does not implement (MoE, CP, EP, FSDP, ZeRO-3, qk_norm,
 * parallel blocks, GEGLU, a backend not compiled, a multi-process launch of the cpu backend);
 * EST_EIO when the rendezvous of a multi-process launch fails; EST_ENOMEM when a rank ran out of
 * memory -- then *out is still filled (out->oom, out->oom_msg: what was being allocated, bytes in
 * use, capacity) and must be freed; EST_ECUDA/ECUBLAS/ENCCL from the CUDA backend.
 * On other errors *out holds no allocation. Thread-safe (no global state). */
est_status rt_run(const est_config *cfg, const rt_options *opt, rt_report *out, est_diag *diag);

/* Releases the arrays of a report; accepts a zeroed or already-freed report. */
void rt_report_free(rt_report *r);

/* Name of a time part as it appears in JSON ("forward", "tp_comm"...). */
const char *rt_time_part_name(rt_time_part p);

#endif /* LLMCAL_RT_RT_H */
