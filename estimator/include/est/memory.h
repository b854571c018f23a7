/* memory.h -- per-GPU memory of a training configuration, itemised, for the first, last and worst
 * pipeline rank ("will it fit?").
 *
 * Models the frameworks' real buffers (megatron, deepspeed, fsdp, pytorch), not one paper formula;
 * every term and its source is in docs/formulas.md#memory. Pure: no allocation, no I/O.
 */
#ifndef LLMCAL_EST_MEMORY_H
#define LLMCAL_EST_MEMORY_H

#include <stdbool.h>
#include <stdint.h>

#include "est/config.h"
#include "est/status.h"

#define LLMCAL_MAX_MEM_ITEMS 24 /* detailed items per stage */
#define LLMCAL_MAX_NOTES     16 /* assumptions stated per report */

/* The groups of the JSON contract's memory_bytes object. */
typedef enum est_mem_group {
    EST_MEM_WEIGHTS = 0, /* parameters the forward pass reads (compute copy; fp32 under autocast) */
    EST_MEM_GRADIENTS,   /* gradients, incl. fp32 main-gradient / accumulation buffers */
    EST_MEM_OPTIMIZER,   /* master weights, moments, and the optimizer step's temporaries */
    EST_MEM_ACTIVATIONS, /* saved activations of the micro-batches in flight */
    EST_MEM_LOGITS,      /* logits and loss buffers (last stage) */
    EST_MEM_COMM,        /* NCCL buffers per communicator, bucket and all-gather buffers */
    EST_MEM_WORKSPACE,   /* cuBLAS/cuDNN workspaces */
    EST_MEM_CONTEXT,     /* CUDA context */
    EST_MEM_FRAGMENTATION, /* caching-allocator slack (reserved - allocated) */
    EST_MEM_GROUP_COUNT
} est_mem_group;

/* Which moment of the step sets the peak of allocated memory. */
typedef enum est_mem_phase {
    EST_PHASE_FORWARD = 0, /* end of the last forward before the first backward (in-flight peak) */
    EST_PHASE_BACKWARD,    /* first backward: activations + gradients being produced */
    EST_PHASE_OPTIMIZER    /* optimizer step: states + temporaries, activations freed */
} est_mem_phase;

typedef struct est_mem_item {
    const char *name;    /* static string, e.g. "adam exp_avg (fp32)" */
    est_mem_group group; /* contract group it adds to */
    uint64_t bytes;      /* bytes on this rank */
} est_mem_item;

typedef struct est_stage_memory {
    int stage;                                /* pipeline rank 0..pp-1 */
    int64_t layers;                           /* transformer layers held (all virtual chunks) */
    int64_t params;                           /* parameters held before any DP/ZeRO sharding */
    int64_t microbatches_in_flight;           /* 1F1B: min(p - stage, m); x interleave factor */
    uint64_t activation_bytes_per_layer;      /* one micro-batch, one layer, as stored */
    uint64_t bytes[EST_MEM_GROUP_COUNT];      /* sums of items by group */
    est_mem_item items[LLMCAL_MAX_MEM_ITEMS]; /* itemised detail, n_items used */
    int n_items;
    uint64_t model_states;    /* persistent weights + gradients + master + optimizer
                                           states, no buffers or temporaries (ZeRO paper's
                                           "model states", Rajbhandari et al. 2019 Sec. 3.1) */
    est_mem_phase peak_phase; /* when the allocated peak happens */
    uint64_t peak_allocated;  /* torch.cuda.max_memory_allocated() equivalent */
    uint64_t peak_reserved;   /* + fragmentation: max_memory_reserved() equivalent */
    uint64_t total;           /* + context, NCCL, workspaces: nvidia-smi "used" */
} est_stage_memory;

typedef struct est_memory_report {
    est_stage_memory first;  /* pipeline rank 0 (embedding) */
    est_stage_memory last;   /* pipeline rank p-1 (final norm, output layer, loss) */
    est_stage_memory worst;  /* the rank with the largest total (may equal first or last) */
    est_param_counts params; /* model parameter counts */
    uint64_t capacity_bytes; /* the GPU's memory */
    uint64_t usable_bytes;   /* capacity minus the profile's reserved bytes */
    bool fits;               /* worst.total <= usable_bytes */
    const char *notes[LLMCAL_MAX_NOTES]; /* assumptions made, static strings */
    int n_notes;
} est_memory_report;

/* Computes the per-GPU memory of `cfg` (which must have passed est_config_resolve()) for the first,
 * last and worst pipeline ranks. All bytes are per GPU. Pure and reentrant; writes only *out.
 * Returns EST_OK; EST_ERANGE if a byte count would overflow 64 bits (diag names the product).
 * On error *out is unspecified. */
est_status est_memory(const est_config *cfg, est_memory_report *out, est_diag *diag);

/* Activation bytes of one transformer layer for one micro-batch as the configuration stores it
 * (TP/SP/CP/recompute/attention/precision/framework applied). Korthikanti et al. 2022 Table 2 is
 * the megatron special case. Requires a resolved cfg; `moe` selects a MoE layer's MLP. */
uint64_t est_activation_bytes_per_layer(const est_config *cfg, bool moe);

/* Name of a contract group as it appears in JSON ("weights", "comm_buffers"...). */
const char *est_mem_group_name(est_mem_group g);

#endif /* LLMCAL_EST_MEMORY_H */
