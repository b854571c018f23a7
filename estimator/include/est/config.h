/* config.h -- the plain data the estimator takes: model, GPU, cluster and training configuration.
 *
 * Plain structs, no pointers into heaps the estimator would own. Profiles (profiles/) fill them
 * from JSON; the runtime, the CLI and the dashboard edit them. Every physical quantity carries its
 * unit in its name (bytes, s, flop, flop_per_s, bytes_per_s). An absent measured value is NAN,
 * never 0.
 *
 * Shape glossary used everywhere (docs/formulas.md): b micro-batch, s sequence, h hidden, a heads,
 * g kv heads, d head dim, f ffn, L layers, v vocab, t TP, p PP, d_p DP, c CP, e EP.
 */
#ifndef LLMCAL_EST_CONFIG_H
#define LLMCAL_EST_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "est/status.h"

#define LLMCAL_NAME_MAX   64
#define LLMCAL_MAX_STAGES 1024 /* pipeline stages the memory/time models handle (p * vpp) */

// ---------------------------------------------------------------------------
// model

typedef enum est_norm { EST_NORM_LAYERNORM = 0, EST_NORM_RMSNORM } est_norm;
typedef enum est_act {
    EST_ACT_GELU = 0, /* two matrices h->f->h, non-gated (GPT, GPT-NeoX) */
    EST_ACT_SWIGLU,   /* three matrices, gated SiLU (Llama, Mistral, Qwen) */
    EST_ACT_GEGLU     /* three matrices, gated GELU (Gemma) */
} est_act;
typedef enum est_pos {
    EST_POS_LEARNED = 0, /* learned absolute position table of max_positions rows (GPT-2/3) */
    EST_POS_ROPE         /* rotary: no parameters */
} est_pos;

typedef struct est_model {
    char name[LLMCAL_NAME_MAX]; /* built-in name or the config.json path's stem */
    int64_t hidden;             /* h */
    int64_t layers;             /* L, decoder layers */
    int64_t heads;              /* a, query heads */
    int64_t kv_heads;           /* g, key/value heads (== a for MHA, 1 for MQA) */
    int64_t head_dim;           /* d, per-head size (h / a unless the config says otherwise) */
    int64_t ffn;                /* f, dense MLP intermediate size */
    int64_t vocab;              /* v, embedding rows (padded as the publisher pads it) */
    int64_t max_positions;      /* learned position rows; 0 with RoPE */
    est_norm norm;              /* LayerNorm (weight+bias) or RMSNorm (weight) */
    est_act act;                /* MLP kind */
    est_pos pos;                /* position embedding kind */
    bool tied_embeddings;       /* output projection shares the input embedding */
    bool qkv_bias;              /* bias on the Q, K, V projections */
    bool out_bias;              /* bias on the attention output projection */
    bool mlp_bias;              /* bias on the MLP matrices */
    bool parallel_block;        /* attention and MLP read the same input (GPT-J/NeoX); 1 norm if
                                   shared_norm, else 2 */
    bool qk_norm;               /* RMSNorm on q and k per head (Qwen3, Gemma-3) */
    /* mixture of experts; experts == 0 means dense */
    int64_t experts;         /* routed experts per MoE layer */
    int64_t top_k;           /* routed experts each token visits */
    int64_t moe_ffn;         /* intermediate size of one routed expert */
    int64_t shared_experts;  /* always-on experts per MoE layer (count) */
    int64_t shared_ffn;      /* intermediate size of one shared expert */
    int64_t moe_first_dense; /* the first k layers are dense (DeepSeek first_k_dense_replace) */
    int64_t moe_every;       /* every n-th layer (from the first MoE one) is MoE; 1 = all */
    bool shared_expert_gate; /* a 1-wide sigmoid gate on the shared expert (Qwen2-MoE) */
    /* publisher's statement, for tests and for display; 0 = not stated */
    double params_stated; /* parameter count the publisher states (total) */
} est_model;

/* Parameter counts, element counts (not bytes), computed from est_model by est_model_params(). */
typedef struct est_param_counts {
    int64_t embedding;      /* token embedding (v*h) + learned positions */
    int64_t lm_head;        /* output projection (0 when tied) */
    int64_t final_norm;     /* final norm */
    int64_t attn_per_layer; /* q,k,v,o (+ biases, qk norms) */
    int64_t norm_per_layer; /* the layer's norms */
    int64_t dense_mlp;      /* a dense layer's MLP */
    int64_t moe_mlp;        /* a MoE layer's MLP: router + all routed + shared experts */
    int64_t moe_active_mlp; /* a MoE layer's MLP as one token sees it: router + top_k + shared */
    int64_t expert;         /* one routed expert */
    int64_t dense_layers;   /* layers with a dense MLP */
    int64_t moe_layers;     /* layers with a MoE MLP */
    int64_t total;          /* everything */
    int64_t active;         /* per token (MoE: top_k experts) */
    int64_t non_embedding;  /* total - embedding - lm_head */
} est_param_counts;

// ---------------------------------------------------------------------------
// hardware

typedef enum est_dtype {
    EST_DT_FP32 = 0, /* plain fp32 (CUDA cores) */
    EST_DT_TF32,     /* tensor-core tf32 */
    EST_DT_BF16,
    EST_DT_FP16,
    EST_DT_FP8,
    EST_DT_COUNT
} est_dtype;

typedef struct est_gpu {
    char name[LLMCAL_NAME_MAX];
    uint64_t memory_bytes;                /* total device memory as the driver reports it */
    double peak_flop_per_s[EST_DT_COUNT]; /* dense peak per dtype, NAN where unsupported */
    double hbm_bytes_per_s;               /* datasheet HBM/GDDR bandwidth */
    double nvlink_bytes_per_s;            /* per-GPU NVLink, one direction; NAN without NVLink */
    double pcie_bytes_per_s;              /* host link, one direction */
    int sm_count;                         /* streaming multiprocessors (wave quantisation) */
    /* efficiency model (time): fractions of peak; defaults from published measurements, replaced
       by a calibrated profile (see docs/formulas.md#compute-time) */
    double gemm_eff_max;  /* large square bf16 GEMM, fraction of peak */
    double gemm_half_dim; /* GEMM dimension (elements) at which eff halves */
    double attn_eff;      /* flash attention fwd+bwd, fraction of peak */
    double mem_eff;       /* achievable fraction of HBM bandwidth */
    /* memory overheads the peers leave out (bytes); cited in the profile */
    uint64_t cuda_context_bytes; /* CUDA context + module images on this GPU */
    uint64_t reserved_bytes;     /* memory to keep free (driver, other processes) */
    uint64_t nccl_comm_bytes;    /* NCCL buffers of one communicator; 0 = built-in default */
    uint64_t workspace_bytes;    /* cuBLAS(Lt) workspaces; 0 = built-in default */
    double alloc_frag_fraction;  /* caching-allocator slack over the allocated peak;
                                            0 or NAN = built-in default */
} est_gpu;

typedef struct est_cluster {
    char name[LLMCAL_NAME_MAX];
    char gpu[LLMCAL_NAME_MAX]; /* GPU profile name of its nodes */
    int gpus_per_node;         /* GPUs in one NVLink/NVSwitch domain */
    int nodes;                 /* nodes available; 0 = as many as asked */
    double intra_bytes_per_s;  /* per-GPU bandwidth inside a node, one direction */
    double intra_latency_s;    /* alpha of one intra-node step */
    double inter_bytes_per_s;  /* per-GPU network bandwidth between nodes, one direction */
    double inter_latency_s;    /* alpha of one inter-node step */
    int nics_per_node;         /* network adapters per node */
    double nic_bytes_per_s;    /* one adapter, one direction */
} est_cluster;

// ---------------------------------------------------------------------------
// training configuration

typedef enum est_precision {
    EST_PREC_FP32 = 0,   /* everything fp32 */
    EST_PREC_BF16_MIXED, /* bf16 compute, fp32 master weights (as the framework keeps them) */
    EST_PREC_FP16_MIXED, /* fp16 compute, fp32 master, loss scaling */
    EST_PREC_BF16,       /* pure bf16: weights, gradients and optimizer states bf16 */
    EST_PREC_FP8_MIXED,  /* fp8 GEMMs (transformer-engine), bf16 weights, fp32 master */
    EST_PREC_COUNT
} est_precision;

typedef enum est_framework {
    EST_FW_MEGATRON = 0, /* Megatron-LM / Megatron-Core / NeMo */
    EST_FW_DEEPSPEED,    /* DeepSpeed ZeRO */
    EST_FW_FSDP,         /* PyTorch FSDP / FSDP2 (torchtitan) */
    EST_FW_PYTORCH,      /* plain eager PyTorch, autocast, torch.optim, DDP if dp > 1 */
    EST_FW_COUNT
} est_framework;

typedef enum est_recompute {
    EST_RECOMPUTE_NONE = 0,
    EST_RECOMPUTE_SELECTIVE, /* attention core (Korthikanti 2022 Sec. 5) */
    EST_RECOMPUTE_FULL,      /* whole layers; recompute_layers of them per stage (0 = all) */
    EST_RECOMPUTE_COUNT
} est_recompute;

typedef enum est_attention { EST_ATTN_FLASH = 0, EST_ATTN_STANDARD, EST_ATTN_COUNT } est_attention;

typedef enum est_optimizer {
    EST_OPT_ADAMW = 0,
    EST_OPT_ADAM,
    EST_OPT_SGD,       /* with momentum */
    EST_OPT_ADAFACTOR, /* factored second moment, no first moment */
    EST_OPT_ADAM8BIT,  /* bitsandbytes 8-bit Adam (block-wise quantised states) */
    EST_OPT_COUNT
} est_optimizer;

typedef enum est_optimizer_impl {
    EST_OPTIMPL_FOREACH = 0, /* torch.optim default on CUDA: multi-tensor, grouped temporaries */
    EST_OPTIMPL_FUSED,       /* fused kernel, no temporaries */
    EST_OPTIMPL_FORLOOP,     /* one parameter at a time */
    EST_OPTIMPL_COUNT
} est_optimizer_impl;

typedef enum est_finetune {
    EST_FT_FULL = 0,
    EST_FT_LORA,  /* frozen base in the compute dtype, trainable adapters */
    EST_FT_QLORA, /* frozen base in 4-bit NF4, bf16 adapters */
    EST_FT_COUNT
} est_finetune;

typedef enum est_fsdp {
    EST_FSDP_NONE = 0,
    EST_FSDP_FULL,   /* FULL_SHARD: params, grads, states sharded over dp (like ZeRO-3) */
    EST_FSDP_HYBRID, /* HYBRID_SHARD: full shard inside fsdp_shard_size ranks, replicate across */
    EST_FSDP_GRAD_OP /* SHARD_GRAD_OP: grads and states sharded, params kept after forward */
} est_fsdp;

/* LoRA target modules, a bit each */
enum {
    EST_LORA_Q = 1u << 0,
    EST_LORA_K = 1u << 1,
    EST_LORA_V = 1u << 2,
    EST_LORA_O = 1u << 3,
    EST_LORA_GATE = 1u << 4,
    EST_LORA_UP = 1u << 5,
    EST_LORA_DOWN = 1u << 6,
    EST_LORA_ALL = 0x7Fu
};

typedef struct est_parallel {
    int64_t gpus;               /* N, total GPUs */
    int tp;                     /* t, tensor parallel */
    bool sp;                    /* sequence parallel (needs tp > 1 to matter) */
    int pp;                     /* p, pipeline stages */
    int vpp;                    /* virtual stages per rank (interleaved 1F1B when > 1) */
    int cp;                     /* c, context parallel */
    int ep;                     /* e, expert parallel (carved out of dp*cp as Megatron does) */
    int dp;                     /* d_p = N / (t*p*c); filled by est_config_resolve() */
    int zero;                   /* ZeRO stage 0..3 (megatron: 1 = distributed optimizer) */
    est_fsdp fsdp;              /* FSDP sharding strategy (framework fsdp) */
    int fsdp_shard_size;        /* HYBRID_SHARD group size; 0 = GPUs per node */
    int64_t mbs;                /* b, micro-batch (sequences) */
    int64_t gbs;                /* global batch (sequences); 0 = mbs * dp */
    int64_t seq;                /* s, sequence length (tokens) */
    int64_t first_stage_layers; /* --decoder-first-pipeline-num-layers; 0 = even split */
    int64_t last_stage_layers;  /* --decoder-last-pipeline-num-layers; 0 = even split */
    est_recompute recompute;
    int64_t recompute_layers; /* full recompute: layers per stage recomputed (0 = all) */
    est_attention attention;
    est_precision precision;
    est_framework framework;
    est_optimizer optimizer;
    est_optimizer_impl optimizer_impl;
    est_finetune finetune;
    int64_t lora_rank;         /* r */
    unsigned lora_targets;     /* EST_LORA_* bits */
    bool grads_fp32;           /* fp32 main gradients (Megatron default with bf16); resolved */
    bool overlap_grad_reduce;  /* DP gradient reduce overlapped with backward */
    bool overlap_param_gather; /* ZeRO param all-gather overlapped with forward */
    int64_t vocab_divisor;     /* --make-vocab-size-divisible-by: the vocabulary is padded to a
                                  multiple of vocab_divisor * tp; 0 = the framework's default
                                  (128 for megatron, 1 otherwise); resolved */
    int dropout; /* -1 auto (on for learned-position GPT-style models, as GPT-3 and the
                                  Megatron papers train; off for RoPE/Llama-style), 0 off, 1 on;
                                  resolved to 0/1 */
} est_parallel;

/* Everything one estimate needs. The pointers are borrowed for the call only. */
typedef struct est_config {
    const est_model *model;
    const est_gpu *gpu;
    const est_cluster *cluster; /* required; est_cluster_for_gpu() makes a default one */
    est_parallel par;
} est_config;

/* A default cluster of `gpu` nodes: 8 GPUs per node joined by the GPU's NVLink (or PCIe when it has
   none), and 8 x 400 Gb/s NICs per node (one per GPU), as DGX/HGX H100 nodes have. */
est_cluster est_cluster_for_gpu(const est_gpu *gpu);

/* Sensible defaults (by value): tp=pp=vpp=cp=ep=1, bf16-mixed, megatron, adamw, flash, no
   recompute, mbs=1, seq=2048, 8 GPUs. Callers edit fields, then call est_config_resolve(). */
est_parallel est_parallel_default(void);

/* Element counts of every parameter group of `m` (see est_param_counts). Pure; never fails for a
   model that est_model_validate() accepted. */
void est_model_params(const est_model *m, est_param_counts *out);

/* Trainable LoRA adapter parameters of one layer (all TP ranks together): r * (in + out) for each
   module in `targets` (EST_LORA_* bits; gate only exists in gated MLPs). Hu et al. 2021. */
int64_t est_lora_params_per_layer(const est_model *m, int64_t rank, unsigned targets);

/* A Llama-3-style dense model (RMSNorm, SwiGLU with ffn = 3.5h rounded to 256, RoPE, 128-wide
   heads, 8 KV heads (fewer where 8 does not divide the heads), untied 128,256-token vocabulary,
   near 128 hidden units per layer as Llama 3 8B/70B/405B have) with as close to `params` total
   parameters as whole layers allow, for planning a model that does not exist yet. EST_ERANGE
   outside 1e8..5e13 parameters. */
est_status est_model_scaled(double params, est_model *out, est_diag *diag);

/* Checks a model for impossible or absurd values and names the field ("model.heads: 0 must be
   positive"). Returns EST_OK, EST_EINVAL or EST_ERANGE. */
est_status est_model_validate(const est_model *m, est_diag *diag);

/* Checks a GPU profile (memory > 0, peaks positive...). */
est_status est_gpu_validate(const est_gpu *g, est_diag *diag);

/* Checks a cluster profile. */
est_status est_cluster_validate(const est_cluster *c, est_diag *diag);

/* Validates the whole configuration and fills the derived fields of cfg->par (dp, gbs when 0,
   grads_fp32, vpp, fsdp shard size). Names the first inconsistency in diag, e.g.
   "tp: 3 does not divide heads=32", "gpus: 100 not divisible by tp*pp*cp=16",
   "gbs: 1000 not divisible by mbs*dp=64". Returns EST_OK, EST_EINVAL or EST_ERANGE.
   On error cfg is left as it was. */
est_status est_config_resolve(est_config *cfg, est_diag *diag);

/* Layers held by pipeline rank `stage` (0..pp-1), all its virtual chunks together, honouring
   first/last_stage_layers. Requires a resolved cfg. */
int64_t est_stage_layers(const est_config *cfg, int stage);

/* Short names used on the command line and in JSON ("bf16-mixed", "megatron"...) and parsing back.
   The _parse functions return -1 for an unknown name. */
const char *est_precision_name(est_precision p);
const char *est_framework_name(est_framework f);
const char *est_recompute_name(est_recompute r);
const char *est_attention_name(est_attention a);
const char *est_optimizer_name(est_optimizer o);
const char *est_optimizer_impl_name(est_optimizer_impl o);
const char *est_finetune_name(est_finetune f);
const char *est_fsdp_name(est_fsdp f);
int est_precision_parse(const char *s);
int est_framework_parse(const char *s);
int est_recompute_parse(const char *s);
int est_attention_parse(const char *s);
int est_optimizer_parse(const char *s);
int est_optimizer_impl_parse(const char *s);
int est_finetune_parse(const char *s);
int est_fsdp_parse(const char *s);

#endif /* LLMCAL_EST_CONFIG_H */
