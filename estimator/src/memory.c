/* memory.c -- per-GPU memory of a training configuration, itemised, for the first, last and worst
 * pipeline rank.
 *
 * What it is: the frameworks' real buffers (Megatron-LM's fp32 main-grad buffer and distributed
 * optimizer, DeepSpeed ZeRO's partitions and buckets, FSDP2's sharded fp32 parameters and gathered
 * units, eager PyTorch's autocast weight casts, fp32 logits and foreach temporaries), the
 * activations of the micro-batches a schedule keeps in flight, and the memory no peer models
 * (CUDA context, NCCL buffers per communicator, workspaces, allocator slack).
 * What it is not: a simulator of the allocator; peaks are taken at three phase boundaries.
 * References: Korthikanti et al. 2022 (activations, Table 2), Rajbhandari et al. 2019 (ZeRO model
 * states, Sec. 3.1/5), Narayanan et al. 2021 (schedules), Megatron-LM theoretical_memory_usage.py,
 * PyTorch torch/optim/adamw.py (_multi_tensor_adamw). Every term: docs/memory.md.
 *
 * Shapes: b micro-batch, s sequence (per CP rank: s/c), h hidden, a heads, g kv heads, d head dim,
 * f ffn, v vocab, t TP, c CP, e element bytes of activations.
 */
#include "est/memory.h"

#include <math.h>
#include <string.h>

// ---------------------------------------------------------------------------
// defaults for the memory the peers leave out (used when the GPU profile does not set them)

/* NCCL buffers of one communicator: NCCL_BUFFSIZE 4 MiB per channel and peer for the Simple
   protocol plus LL128/LL buffers; with the ring's 2 peers and ~8 channels on NVLink this is of the
   order of 64-100 MiB per communicator (NCCL docs, env NCCL_BUFFSIZE; PyTorch issue reports of
   ~100 MiB per process group). docs/memory.md#nccl */
static const double default_nccl_comm_bytes = 96.0 * 1048576.0;
/* cuBLAS + cuBLASLt workspaces: PyTorch's default CUBLAS_WORKSPACE_CONFIG on Hopper is :4096:8
   (8 x 4 MiB = 32 MiB), TE/cuBLASLt another 32 MiB. */
static const double default_workspace_bytes = 64.0 * 1048576.0;
/* CUDA context with lazy module loading, Hopper, PyTorch + NCCL + cuBLAS images: ~0.5-0.6 GiB */
static const double default_context_bytes = 600.0 * 1048576.0;
/* caching-allocator slack, reserved over allocated at peak */
static const double default_frag_fraction = 0.05;
/* DeepSpeed ZeRO defaults: reduce_bucket_size and allgather_bucket_size 5e8 elements,
   stage3_prefetch_bucket_size 5e7 (deepspeed/runtime/zero/config.py) */
static const double ds_bucket_elems = 5e8;
static const double ds_prefetch_elems = 5e7;

// ---------------------------------------------------------------------------
// per-configuration constants

typedef struct mem_ctx {
    const est_config *cfg;
    const est_model *m;
    const est_parallel *p;
    double b, s, h, a, g, d, f, v, t, c; /* s is per CP rank */
    double e;                            /* activation element bytes */
    int64_t microbatches;                /* m = gbs / (mbs * dp) */
    /* parameters of one layer on this rank (TP/EP applied, before DP sharding) */
    double attn_rank;       /* attention weights + biases + qk norms */
    double norms_rank;      /* the layer's norms */
    double dense_mlp_rank;  /* a dense MLP */
    double moe_dense_rank;  /* MoE layer: router + shared experts (replicated over EP) */
    double moe_expert_rank; /* MoE layer: the local routed experts (sharded over EP) */
    double attn_w_rank;     /* a layer's attention GEMM weights on this rank */
    double mlp_w_rank;      /* a dense MLP's GEMM weights on this rank */
    double shared_w_rank;   /* a MoE layer's shared-expert GEMM weights on this rank */
    double emb_rank;        /* token embedding (vocab-parallel) + learned positions */
    double head_rank;       /* output layer on the last stage (vocab-parallel) */
    double final_norm;
    double lora_layer; /* trainable adapter parameters per layer */
    /* bytes per parameter and sharding */
    double wb, gb, master_b, state_b; /* weights, grads, master copy, optimizer states */
    double shard_dense;  /* ranks the dense model states are sharded over (ZeRO/FSDP) */
    double shard_expert; /* same for expert parameters */
    /* activations of one layer, one micro-batch */
    double act_dense;      /* dense layer, as stored under the recompute mode */
    double act_moe;        /* MoE layer, as stored */
    double act_full_dense; /* dense layer without recompute (the recompute working set) */
    double act_full_moe;
    double act_ckpt; /* full recompute: the stored layer input */
    double n_comms;  /* NCCL communicators this rank belongs to */
} mem_ctx;

static double dmax(double x, double y)
{
    return x > y ? x : y;
}

static double i2d(int64_t x)
{
    return (double)x;
}

/* a non-negative byte count, rounded (cheaper than llround in the search's inner loop) */
static uint64_t to_u64(double x)
{
    return x > 0.0 ? (uint64_t)(x + 0.5) : 0;
}

static int64_t to_i64(double x)
{
    return x > 0.0 ? (int64_t)(x + 0.5) : 0;
}

// ---------------------------------------------------------------------------
// activations (Korthikanti et al. 2022 Sec. 4, generalised: GQA, gated MLP, flash, dropout, CP)

/* element bytes of the residual stream, which the norms save as their input: under autocast
   (eager PyTorch with fp32 parameters) the embedding output and every residual add stay fp32, and
   layer_norm runs in fp32; the linears save their own bf16 casts of the norm outputs */
static double residual_bytes(const mem_ctx *x)
{
    const est_parallel *p = x->p;
    bool autocast = p->framework == EST_FW_PYTORCH && p->precision != EST_PREC_FP32 &&
                    p->precision != EST_PREC_BF16;
    return autocast ? 4.0 : x->e;
}

/* one layer's activation bytes for one micro-batch, split into what TP leaves whole and what it
   splits; `moe` selects a MoE layer's MLP (top_k experts' internals and the shared experts) */
static void layer_activation(const mem_ctx *x, bool moe, double *repl_out, double *split_out)
{
    const est_parallel *p = x->p;
    const est_model *m = x->m;
    double sb = x->s * x->b;
    double e = x->e;
    bool drop = p->dropout != 0;
    bool eager = p->framework == EST_FW_PYTORCH || p->framework == EST_FW_FSDP;
    if (p->framework == EST_FW_FSDP && p->recompute == EST_RECOMPUTE_SELECTIVE) {
        /* torchtitan's selective AC is op-level (selective_ac_option "op"): the block input, the
           SDPA output and logsumexp, and the outputs of every other matmul (wq, wv, w1, w2 of
           wq wk wv wo w1 w3 w2) are saved; everything else is recomputed */
        double f_eff = moe ? i2d(m->top_k * m->moe_ffn) : x->f;
        *repl_out = e * sb * x->h;
        *split_out = e * sb * (x->a * x->d + x->g * x->d + f_eff + x->h) + e * sb * x->a * x->d +
                     4.0 * x->a * sb;
        return;
    }
    /* not split by TP (Korthikanti's "10"): LN1 and LN2 inputs, QKV and FC1 inputs, 2 masks */
    double e_res = residual_bytes(x);
    double repl = 2.0 * e_res * sb * x->h + 2.0 * e * sb * x->h + (drop ? 2.0 * sb * x->h : 0.0);
    /* split by TP: Q, K, V (GQA: g heads for K and V), attention output (out-proj input) */
    double split = e * sb * x->d * (x->a + 2.0 * x->g) + e * sb * x->a * x->d;
    double s_full = x->s * x->c; /* keys seen by a CP rank's queries */
    if (p->attention == EST_ATTN_STANDARD) {
        if (p->recompute != EST_RECOMPUTE_SELECTIVE) {
            /* scores softmax output; eager PyTorch keeps an fp32 softmax output and its cast */
            double probs = (eager ? 4.0 + e : e) * x->a * x->s * s_full * x->b;
            double dmask = drop ? (1.0 + e) * x->a * x->s * s_full * x->b : 0.0;
            split += probs + dmask;
        }
    } else if (p->recompute != EST_RECOMPUTE_SELECTIVE) {
        split += 4.0 * x->a * sb; /* flash-attention's fp32 logsumexp */
    }
    /* MLP internals */
    bool gated = m->act != EST_ACT_GELU;
    double mlp_int = 0.0;
    if (!moe) {
        mlp_int = gated ? (eager ? 4.0 : 3.0) * e * sb * x->f : 2.0 * e * sb * x->f;
    } else {
        double k = i2d(m->top_k);
        double fe = i2d(m->moe_ffn);
        /* router logits and probabilities (fp32), the permuted tokens, each expert's internals */
        repl += 8.0 * sb * i2d(m->experts) + e * sb * k * x->h;
        mlp_int = (gated ? (eager ? 4.0 : 3.0) : 2.0) * e * sb * k * fe;
        if (m->shared_experts > 0) {
            double fs = i2d(m->shared_experts * m->shared_ffn);
            mlp_int += (gated ? (eager ? 4.0 : 3.0) : 2.0) * e * sb * fs;
        }
    }
    split += mlp_int;
    *repl_out = repl;
    *split_out = split;
}

/* bytes one layer stores for one micro-batch: TP splits the inner terms, SP the rest as well */
static double layer_stored(const mem_ctx *x, bool moe)
{
    double repl;
    double split;
    layer_activation(x, moe, &repl, &split);
    double extra = 0.0;
    if (x->p->framework == EST_FW_FSDP && x->p->sp && x->p->recompute != EST_RECOMPUTE_SELECTIVE) {
        /* DTensor TP (torchtitan): the all-gathered inputs of the QKV and FC1 matmuls are what
           the matmuls save, full sequence, unlike Megatron which re-gathers them in backward */
        extra = 2.0 * x->e * x->s * x->b * x->h * (1.0 - 1.0 / x->t);
    }
    return (x->p->sp ? (repl + split) / x->t : repl + split / x->t) + extra;
}

static void activations_init(mem_ctx *x)
{
    /* the layer as stored under the configured recompute mode (selective handled inside) */
    x->act_dense = layer_stored(x, false);
    x->act_moe = x->m->experts > 0 ? layer_stored(x, true) : x->act_dense;
    /* working set while one layer is recomputed: the layer without any recompute */
    mem_ctx y = *x;
    est_parallel pn = *x->p;
    pn.recompute = EST_RECOMPUTE_NONE;
    y.p = &pn;
    x->act_full_dense = layer_stored(&y, false);
    x->act_full_moe = x->m->experts > 0 ? layer_stored(&y, true) : x->act_full_dense;
    /* full recompute keeps each layer's input: e*s*b*h, split by t only with SP (Korthikanti
       Table 2 "2sbh"; Megatron checkpoints the SP-sharded hidden state) */
    x->act_ckpt = x->e * x->s * x->b * x->h / (x->p->sp ? x->t : 1.0);
}

uint64_t est_activation_bytes_per_layer(const est_config *cfg, bool moe)
{
    mem_ctx x;
    memset(&x, 0, sizeof x);
    x.cfg = cfg;
    x.m = cfg->model;
    x.p = &cfg->par;
    x.b = i2d(cfg->par.mbs);
    x.c = (double)cfg->par.cp;
    x.s = i2d(cfg->par.seq) / x.c;
    x.h = i2d(x.m->hidden);
    x.a = i2d(x.m->heads);
    x.g = i2d(x.m->kv_heads);
    x.d = i2d(x.m->head_dim);
    x.f = i2d(x.m->ffn);
    x.t = (double)cfg->par.tp;
    x.e = cfg->par.precision == EST_PREC_FP32 ? 4.0 : 2.0;
    activations_init(&x);
    if (cfg->par.recompute == EST_RECOMPUTE_FULL) {
        return (uint64_t)x.act_ckpt;
    }
    return (uint64_t)(moe ? x.act_moe : x.act_dense);
}

// ---------------------------------------------------------------------------
// parameters and bytes per parameter

static double padded_vocab(const est_config *cfg)
{
    /* Megatron pads to a multiple of --make-vocab-size-divisible-by (128) times tp
       (megatron/training/tokenizer: _vocab_size_with_padding) */
    double v = i2d(cfg->model->vocab);
    double mult =
        i2d(cfg->par.vocab_divisor > 0 ? cfg->par.vocab_divisor : 1) * (double)cfg->par.tp;
    return ceil(v / mult) * mult;
}

static void params_init(mem_ctx *x)
{
    const est_model *m = x->m;
    est_param_counts pc;
    est_model_params(m, &pc);
    double t = x->t;
    double qd = x->a * x->d;
    double kvd = x->g * x->d;
    double attn_w = x->h * qd + 2.0 * x->h * kvd + qd * x->h;
    double attn_b = (m->qkv_bias ? qd + 2.0 * kvd : 0.0);
    x->attn_rank =
        (attn_w + attn_b) / t + (m->out_bias ? x->h : 0.0) + (m->qk_norm ? 2.0 * x->d : 0.0);
    x->norms_rank = i2d(pc.norm_per_layer);
    bool gated = m->act != EST_ACT_GELU;
    double mlp_w = (gated ? 3.0 : 2.0) * x->h * x->f;
    double mlp_b = m->mlp_bias ? (gated ? 2.0 * x->f : x->f) : 0.0;
    x->dense_mlp_rank = (mlp_w + mlp_b) / t + (m->mlp_bias ? x->h : 0.0);
    x->attn_w_rank = attn_w / t;
    x->mlp_w_rank = mlp_w / t;
    if (m->experts > 0) {
        double ep = (double)x->p->ep;
        double shared =
            i2d(m->shared_experts) * ((gated ? 3.0 : 2.0) * x->h * i2d(m->shared_ffn)) / t;
        x->moe_dense_rank = x->h * i2d(m->experts) + shared + (m->shared_expert_gate ? x->h : 0.0);
        x->shared_w_rank = shared;
        x->moe_expert_rank = i2d(m->experts) / ep * i2d(pc.expert) / t;
    }
    x->v = padded_vocab(x->cfg);
    x->emb_rank =
        x->v * x->h / t + (m->pos == EST_POS_LEARNED ? i2d(m->max_positions) * x->h : 0.0);
    /* untied: its own output layer; tied with pp > 1: Megatron keeps a copy of the word embedding
       on the last stage and all-reduces its gradient over the embedding group */
    x->head_rank = (!m->tied_embeddings || x->p->pp > 1) ? x->v * x->h / t : 0.0;
    x->final_norm = i2d(pc.final_norm);
    if (x->p->finetune != EST_FT_FULL) {
        x->lora_layer = i2d(est_lora_params_per_layer(m, x->p->lora_rank, x->p->lora_targets)) / t;
    }
}

/* bytes per trainable parameter, by framework and precision (docs/memory.md#model-states) */
static void bytes_init(mem_ctx *x)
{
    const est_parallel *p = x->p;
    bool fp32 = p->precision == EST_PREC_FP32;
    bool pure = p->precision == EST_PREC_BF16;
    bool params_fp32 = fp32 || p->framework == EST_FW_FSDP || p->framework == EST_FW_PYTORCH;
    x->wb = (params_fp32 && !pure) ? 4.0 : 2.0;
    x->master_b = (!params_fp32 && !pure) ? 4.0 : 0.0;
    if (p->framework == EST_FW_DEEPSPEED && !fp32 && !pure) {
        x->gb = 2.0; /* ZeRO paper: fp16 gradients, K = 12 for fp32 params + Adam moments */
    } else {
        x->gb = p->grads_fp32 ? 4.0 : 2.0;
    }
    double sdt = pure ? 2.0 : 4.0;
    switch (p->optimizer) {
    case EST_OPT_ADAM:
    case EST_OPT_ADAMW: x->state_b = 2.0 * sdt; break;
    case EST_OPT_SGD: x->state_b = sdt; break;
    case EST_OPT_ADAM8BIT: /* bitsandbytes: one fp32 absmax per 2048-value block (Dettmers 2022) */
        x->state_b = 2.0 * (1.0 + 4.0 / 2048.0);
        break;
    case EST_OPT_ADAFACTOR: x->state_b = 0.0; break; /* factored: computed per stage */
    default: x->state_b = 2.0 * sdt; break;
    }
    double dpc = (double)p->dp * (double)p->cp;
    x->shard_dense = 1.0;
    x->shard_expert = 1.0;
    double sh = dpc;
    if (p->framework == EST_FW_FSDP && p->fsdp == EST_FSDP_HYBRID) {
        sh = (double)p->fsdp_shard_size * (double)p->cp;
    }
    bool sharded = p->zero > 0 || p->framework == EST_FW_FSDP;
    if (sharded) {
        x->shard_dense = sh;
        x->shard_expert = dmax(1.0, sh / (double)p->ep);
    }
}

/* NCCL communicators a rank joins: one per parallel group of size > 1 (Megatron's
   parallel_state: TP, PP send/recv, DP, DP-with-CP, CP, EP, expert-DP, embedding group) */
static double count_comms(const est_parallel *p, bool tied_pp)
{
    double n = 0.0;
    n += p->tp > 1 ? 1.0 : 0.0;
    n += p->pp > 1 ? 2.0 : 0.0; /* previous and next stage */
    n += tied_pp ? 1.0 : 0.0;   /* embedding group (first + last stage) */
    n += p->dp > 1 ? 1.0 : 0.0;
    n += p->cp > 1 ? 2.0 : 0.0; /* CP ring and DP-with-CP */
    n += p->ep > 1 ? 2.0 : 0.0; /* EP all-to-all and expert-DP */
    return n;
}

// ---------------------------------------------------------------------------
// one stage

static void add_item(est_stage_memory *st, const char *name, est_mem_group gr, double bytes)
{
    if (bytes <= 0.0) {
        return;
    }
    if (st->n_items < LLMCAL_MAX_MEM_ITEMS) {
        est_mem_item *it = &st->items[st->n_items++];
        it->name = name;
        it->group = gr;
        it->bytes = to_u64(bytes);
    }
    st->bytes[gr] += to_u64(bytes);
}

/* in-flight micro-batches x layers of activations stored on pipeline rank `stage` at the end of its
   warm-up (Narayanan 2021 Sec. 2.2; Megatron schedules.py warm-up counts) */
static double inflight_chunks(const mem_ctx *x, int stage, double *per_mb_layers_out)
{
    const est_parallel *p = x->p;
    double pp = (double)p->pp;
    double v = (double)p->vpp;
    double m = (double)x->microbatches;
    double layers = i2d(est_stage_layers(x->cfg, stage));
    double chunks;
    if (p->pp == 1) {
        chunks = 1.0; /* gradient accumulation runs micro-batches one after another */
    } else if (p->vpp == 1) {
        chunks = fmin(pp - (double)stage, m);
    } else {
        double warm = (pp - (double)stage - 1.0) * 2.0 + (v - 1.0) * pp;
        chunks = fmin(warm + 1.0, m * v);
    }
    *per_mb_layers_out = layers / v;
    return chunks;
}

static est_status stage_memory(const mem_ctx *x, int stage, est_stage_memory *st, est_diag *diag)
{
    const est_parallel *p = x->p;
    const est_model *m = x->m;
    memset(st, 0, sizeof *st);
    st->stage = stage;
    bool first = stage == 0;
    bool last = stage == p->pp - 1;
    int64_t layers = est_stage_layers(x->cfg, stage);
    st->layers = layers;
    /* layer range of this stage, for counting MoE layers (virtual chunks interleave layers, but
       MoE placement is periodic, so the count over a contiguous range of equal size is used) */
    int64_t lo = 0;
    for (int i = 0; i < stage && i < 2; i++) {
        lo += est_stage_layers(x->cfg, i);
    }
    if (stage >= 2) {
        lo = est_stage_layers(x->cfg, 0) + (int64_t)(stage - 1) * est_stage_layers(x->cfg, 1);
    }
    double n_moe = 0.0;
    if (m->experts > 0) {
        int64_t every = m->moe_every > 0 ? m->moe_every : 1;
        int64_t a0 = lo > m->moe_first_dense ? lo : m->moe_first_dense;
        int64_t hi = lo + layers;
        n_moe = a0 < hi ? i2d(hi / every - a0 / every) : 0.0;
    }
    double n_layers = i2d(layers);
    double n_dense = n_layers - n_moe;

    /* ---- parameters held (before DP sharding) */
    double dense_params = n_layers * (x->attn_rank + x->norms_rank) + n_dense * x->dense_mlp_rank +
                          n_moe * x->moe_dense_rank + (first ? x->emb_rank : 0.0) +
                          (last ? x->head_rank + x->final_norm : 0.0);
    double expert_params = n_moe * x->moe_expert_rank;
    double params = dense_params + expert_params;
    st->params = to_i64(params);
    /* GEMM weights (what autocast casts, QLoRA quantises, TE caches in fp8): attention, dense
       MLPs, shared and routed experts; not norms, biases, router or embeddings */
    double linear_params = n_layers * x->attn_w_rank + n_dense * x->mlp_w_rank +
                           n_moe * x->shared_w_rank + expert_params;

    /* ---- model states */
    double w_persist = 0.0;   /* weights present all step */
    double w_transient = 0.0; /* weights present during forward/backward only */
    double g_bytes = 0.0;     /* gradient bytes when present */
    bool grads_persist = p->framework == EST_FW_MEGATRON || p->framework == EST_FW_DEEPSPEED;
    double opt_master = 0.0;
    double opt_states = 0.0;
    double opt_temp = 0.0;
    double comm_alloc = 0.0;    /* allocator-visible communication buffers, always */
    double comm_bwd = 0.0;      /* ... during backward only */
    double comm_opt = 0.0;      /* ... during the optimizer step only */
    double fsdp_pp_grads = 0.0; /* FSDP2 + PP: unsharded gradient accumulation */
    double w_casts = 0.0;       /* autocast's cached bf16 weight casts (within w_transient) */
    double root_rs = 0.0;       /* FSDP2 root unit's fp32 reduce-scatter input, end of backward */
    double trainable = params;
    double trainable_shard = dense_params / x->shard_dense + expert_params / x->shard_expert;
    bool zero3 = (p->framework == EST_FW_DEEPSPEED && p->zero == 3) ||
                 (p->framework == EST_FW_FSDP && p->fsdp != EST_FSDP_GRAD_OP);
    bool grads_sharded =
        (p->framework == EST_FW_DEEPSPEED && p->zero >= 2) || p->framework == EST_FW_FSDP;
    bool opt_sharded = p->zero >= 1 || p->framework == EST_FW_FSDP;
    double layer_params_max =
        x->attn_rank + x->norms_rank +
        dmax(x->dense_mlp_rank, m->experts > 0 ? x->moe_dense_rank + x->moe_expert_rank : 0.0);

    if (p->finetune != EST_FT_FULL) {
        /* frozen base: no gradients or optimizer states; adapters train in fp32 (PEFT) or with an
           fp32 master (megatron/NeMo) */
        double base_b = p->precision == EST_PREC_FP32 ? 4.0 : 2.0;
        /* ZeRO-3 and FSDP shard the frozen base too (the FSDP-QLoRA recipe), gathering a unit at
           a time; the other layouts keep it whole */
        double frozen = zero3 ? trainable_shard : params;
        double lin = zero3 ? linear_params * trainable_shard / dmax(1.0, params) : linear_params;
        if (zero3) {
            w_transient += 2.0 * layer_params_max * 2.0;
        }
        if (p->finetune == EST_FT_QLORA) {
            /* NF4 with double quantisation: 4 bits + 8-bit absmax per 64 + fp32 per 256 blocks
               (Dettmers et al. 2023 Sec. 3) = 0.5 + 1/64 + 4/(64*256) bytes per parameter */
            double q4 = 0.5 + 1.0 / 64.0 + 4.0 / (64.0 * 256.0);
            add_item(st, "base weights (NF4, frozen)", EST_MEM_WEIGHTS, lin * q4);
            add_item(st, "base embeddings and norms (frozen)", EST_MEM_WEIGHTS,
                     (frozen - lin) * base_b);
            /* one layer's dequantised bf16 weight while it computes */
            w_transient += 2.0 * (x->h * x->f * (m->act != EST_ACT_GELU ? 3.0 : 2.0) / x->t);
        } else {
            add_item(st, "base weights (frozen)", EST_MEM_WEIGHTS, frozen * base_b);
        }
        trainable = n_layers * x->lora_layer;
        trainable_shard = trainable / x->shard_dense;
        double ad_w = (x->master_b > 0.0) ? 2.0 : 4.0;
        add_item(st, "LoRA adapters", EST_MEM_WEIGHTS,
                 (zero3 ? trainable_shard : trainable) * ad_w);
        g_bytes = (grads_sharded ? trainable_shard : trainable) * 4.0;
        add_item(st, "LoRA adapter grads (fp32)", EST_MEM_GRADIENTS, g_bytes);
        grads_persist = true;
        opt_master = (opt_sharded ? trainable_shard : trainable) * x->master_b;
        opt_states = (opt_sharded ? trainable_shard : trainable) * x->state_b;
    } else {
        /* weights */
        if (zero3) {
            w_persist = trainable_shard * x->wb;
            add_item(st,
                     p->framework == EST_FW_FSDP ? "params (sharded, fp32 under FSDP2)"
                                                 : "params (ZeRO-3 partition)",
                     EST_MEM_WEIGHTS, w_persist);
            /* gathered units: the computing layer and the prefetched one (FSDP2 per-block
               all-gather; DeepSpeed prefetch bucket) in the compute dtype */
            double unit = layer_params_max * 2.0;
            if (p->framework == EST_FW_DEEPSPEED) {
                w_transient += unit + ds_prefetch_elems * 2.0;
            } else if (p->pp > 1) {
                /* FSDP2 under pipelining: torchtitan sets reshard_after_forward=False and the
                   schedule disables gradient sync until the last micro-batch, so the stage's
                   bf16 params stay gathered and its grads accumulate unsharded in the fp32
                   reduce dtype (torch.distributed.pipelining stage backward_maybe_with_nosync) */
                w_transient += params * 2.0;
                fsdp_pp_grads = params * 4.0;
            } else {
                w_transient += 2.0 * unit;
            }
            if (p->framework == EST_FW_FSDP && p->pp == 1) {
                /* the root unit (embedding, final norm, output layer) stays gathered from the
                   first forward to the end of backward (FSDP2 does not reshard the root after
                   forward), and the output layer's bf16 gradient waits for the root's
                   post-backward reduce-scatter at the very end */
                double root = (first ? x->emb_rank : 0.0) + (last ? x->head_rank : 0.0);
                w_transient += root * 2.0;
                comm_bwd += (last ? x->head_rank : 0.0) * 2.0;
                root_rs = root * 4.0;
            }
        } else if (p->framework == EST_FW_FSDP) { /* SHARD_GRAD_OP */
            w_persist = trainable_shard * x->wb;
            add_item(st, "params (sharded, fp32 under FSDP2)", EST_MEM_WEIGHTS, w_persist);
            w_transient += params * 2.0; /* unsharded params kept from forward to backward */
        } else {
            w_persist = params * x->wb;
            add_item(st, x->wb == 4.0 ? "params (fp32)" : "params (16-bit)", EST_MEM_WEIGHTS,
                     w_persist);
        }
        if (p->framework == EST_FW_PYTORCH && p->precision != EST_PREC_FP32 &&
            p->precision != EST_PREC_BF16) {
            /* autocast casts each linear weight to bf16 on use; the cast is cached for the region
               and saved for backward (torch.amp autocast cache) -- the output layer's too, which
               with tied embeddings is the embedding matrix */
            double head_w = last ? x->v * x->h / x->t : 0.0;
            w_casts = (linear_params + head_w) * 2.0;
            w_transient += w_casts;
        }
        if (p->precision == EST_PREC_FP8_MIXED && p->framework == EST_FW_MEGATRON) {
            /* Transformer Engine caches fp8 weights and their transposes for the backward GEMMs */
            double fp8 = linear_params * 2.0;
            add_item(st, "fp8 weight and transpose caches (TE)", EST_MEM_WEIGHTS, fp8);
            w_persist += fp8;
        }
        /* gradients */
        double gdiv = grads_sharded ? 1.0 : 0.0;
        double gfull = params * x->gb;
        double gshard = trainable_shard * x->gb;
        g_bytes = gdiv > 0.0 ? gshard : gfull;
        const char *gname = p->framework == EST_FW_MEGATRON && x->gb == 4.0
                                ? "main grads (fp32 buffer)"
                                : (grads_sharded ? "grads (sharded)" : "grads");
        add_item(st, gname, EST_MEM_GRADIENTS, g_bytes);
        add_item(st, "unsharded grads accumulated (FSDP2 + PP)", EST_MEM_GRADIENTS, fsdp_pp_grads);
        if (grads_sharded && p->framework == EST_FW_FSDP) {
            /* the unsharded bf16 grads of a unit and its fp32 reduce-scatter input */
            comm_bwd += layer_params_max * (2.0 + 4.0);
        }
        opt_master = (opt_sharded ? trainable_shard : params) * x->master_b;
        opt_states = (opt_sharded ? trainable_shard : params) * x->state_b;
        if (p->optimizer == EST_OPT_ADAFACTOR) {
            /* factored second moment: rows + cols of each matrix as this rank holds it, fp32
               (Shazeer & Stern 2018); TP splits one dimension of each */
            double mats = m->act != EST_ACT_GELU ? 3.0 : 2.0;
            double per_layer = 2.0 * (x->h + x->a * x->d / x->t) +
                               2.0 * (x->h + x->g * x->d / x->t) + mats * (x->h + x->f / x->t);
            double experts =
                i2d(m->experts) / (double)p->ep * mats * (x->h + i2d(m->moe_ffn) / x->t);
            double fac = (n_layers * per_layer + n_moe * experts) * 4.0 +
                         (first ? (x->v / x->t + x->h) * 4.0 : 0.0) +
                         (last && x->head_rank > 0 ? (x->v / x->t + x->h) * 4.0 : 0.0);
            opt_states = fac / (opt_sharded ? x->shard_dense : 1.0);
        }
    }
    add_item(st, "master weights (fp32)", EST_MEM_OPTIMIZER, opt_master);
    add_item(st, "optimizer states", EST_MEM_OPTIMIZER, opt_states);

    /* optimizer temporaries: torch.optim foreach AdamW allocates sqrt(exp_avg_sq) for every
       parameter of a group at once (_multi_tensor_adamw: torch._foreach_sqrt); forloop one param
       at a time; fused none. Megatron/DeepSpeed use fused multi-tensor Adam kernels. */
    double pbytes = p->precision == EST_PREC_BF16 ? 2.0 : 4.0;
    double opt_param_bytes = (p->finetune != EST_FT_FULL)
                                 ? trainable * 4.0
                                 : (opt_sharded ? trainable_shard : params) * pbytes;
    bool torch_opt = p->framework == EST_FW_PYTORCH || p->framework == EST_FW_FSDP;
    if (torch_opt && (p->optimizer == EST_OPT_ADAMW || p->optimizer == EST_OPT_ADAM)) {
        if (p->optimizer_impl == EST_OPTIMPL_FOREACH) {
            opt_temp = opt_param_bytes;
        } else if (p->optimizer_impl == EST_OPTIMPL_FORLOOP) {
            opt_temp = (first ? dmax(x->emb_rank, layer_params_max) : layer_params_max) *
                       (opt_param_bytes / dmax(1.0, trainable));
        }
    }
    if (p->framework == EST_FW_DEEPSPEED && p->zero >= 1 && x->master_b > 0.0) {
        opt_temp += trainable_shard * 4.0; /* fp32 copy of the gradient partition */
    }

    /* ---- communication buffers */
    double elem2 = 2.0;
    if (p->framework == EST_FW_DEEPSPEED && p->zero >= 1 && p->dp * p->cp > 1) {
        comm_alloc += fmin(ds_bucket_elems, trainable) * elem2; /* IPG reduce bucket */
        if (p->zero <= 2) {
            comm_opt += fmin(ds_bucket_elems, trainable) * elem2; /* allgather bucket */
        }
    }
    if (p->framework == EST_FW_PYTORCH && p->dp > 1) {
        /* DDP Reducer's bucket buffers: a flat copy of every gradient (gradient_as_bucket_view
           defaults to False) */
        comm_alloc += trainable * (p->finetune != EST_FT_FULL ? 4.0 : x->gb);
    }
    if (p->framework == EST_FW_MEGATRON && p->sp) {
        /* Megatron's global memory buffer holding the SP all-gathered layer input */
        comm_alloc += x->e * x->s * x->b * x->h;
    }
    double nccl =
        x->n_comms * ((x->cfg->gpu->nccl_comm_bytes > 0) ? (double)x->cfg->gpu->nccl_comm_bytes
                                                         : default_nccl_comm_bytes);

    /* ---- activations */
    double per_chunk_layers;
    double chunks = inflight_chunks(x, stage, &per_chunk_layers);
    st->microbatches_in_flight = to_i64(chunks);
    double frac_moe = n_layers > 0 ? n_moe / n_layers : 0.0;
    double per_layer = (1.0 - frac_moe) * x->act_dense + frac_moe * x->act_moe;
    double per_layer_full = (1.0 - frac_moe) * x->act_full_dense + frac_moe * x->act_full_moe;
    double stored_layer = per_layer;
    double act = 0.0;
    /* backward of one layer: the gradients of its largest intermediates live together (the
       two MLP branch gradients of a gated MLP, one otherwise, each e*s*b*f/t) */
    bool gated_mlp = m->act != EST_ACT_GELU;
    double f_loc = m->experts > 0 ? dmax(x->f, i2d(m->top_k * m->moe_ffn)) : x->f;
    double work = (gated_mlp ? 2.0 : 1.0) * x->e * x->s * x->b * f_loc / x->t;
    if (p->recompute == EST_RECOMPUTE_FULL) {
        /* --recompute-method block --recompute-num-layers N: the first N layers of every
           virtual chunk (Megatron's TransformerBlock._checkpointed_forward), at most all */
        double nr = p->recompute_layers > 0 ? i2d(p->recompute_layers) * (double)p->vpp : n_layers;
        nr = nr < n_layers ? nr : n_layers;
        double frac_r = nr / dmax(1.0, n_layers);
        stored_layer = frac_r * x->act_ckpt + (1.0 - frac_r) * per_layer_full;
        work += dmax(x->act_full_dense, x->act_full_moe);
    } else if (p->recompute == EST_RECOMPUTE_SELECTIVE && p->framework == EST_FW_FSDP) {
        /* op-level SAC rematerialises the rest of the layer while it runs backward */
        work += dmax(x->act_full_dense - x->act_dense, x->act_full_moe - x->act_moe);
    }
    st->activation_bytes_per_layer = to_u64(stored_layer);
    act = chunks * per_chunk_layers * stored_layer;
    if (act > 9.0e18) {
        return EST_FAIL(diag, EST_ERANGE,
                        "activations: %g bytes on one GPU overflow 64-bit counters (seq=%lld, "
                        "mbs=%lld)",
                        act, (long long)p->seq, (long long)p->mbs);
    }
    add_item(st, "layer activations (in flight)", EST_MEM_ACTIVATIONS, act);
    double sb = x->s * x->b;
    if (first) {
        /* input ids (int64) and the embedding dropout mask per micro-batch in flight
           (theoretical_memory_usage.py: 8*s*b*p and s*b*h*p) */
        double tpdiv = p->sp ? x->t : 1.0;
        double emb = chunks * (8.0 * sb + (p->dropout ? sb * x->h / tpdiv : 0.0));
        add_item(st, "embedding inputs and dropout mask", EST_MEM_ACTIVATIONS, emb);
        act += emb;
    }
    double logits_fwd = 0.0;
    if (last) {
        /* final norm input and output-layer input (Korthikanti's 4sbh for p == 1) */
        double tpdiv = p->sp ? x->t : 1.0;
        double head_in = (residual_bytes(x) + x->e) * sb * x->h / tpdiv;
        add_item(st, "final norm and output-layer inputs", EST_MEM_ACTIVATIONS, head_in);
        act += head_in;
        double sbv = sb * x->v / x->t;
        bool eager = p->framework == EST_FW_PYTORCH || p->framework == EST_FW_FSDP;
        /* eager F.cross_entropy = log_softmax + nll_loss. Its backward holds the saved fp32
           log-softmax (4), nll_loss_backward's zero-filled (N, V) gradient (4) and
           log_softmax_backward_data's output (4) at once (ATen's kernels); the forward held the
           bf16 logits (2), their fp32 upcast (4) and the log-softmax (4). Plain PyTorch keeps the
           model's bf16 logits referenced through backward; torchtitan deletes them (`del pred`)
           before loss.backward(). */
        bool keeps_logits = p->framework == EST_FW_PYTORCH;
        if (p->precision == EST_PREC_FP32) {
            logits_fwd = sbv * dmax(4.0 + 4.0, (keeps_logits ? 4.0 : 0.0) + 4.0 + 4.0 + 4.0);
        } else if (p->framework == EST_FW_FSDP && p->tp > 1) {
            /* torchtitan's loss_parallel (torch.distributed.tensor.parallel.loss._log_softmax)
               is not fused: the fp32 logits, x - max, exp(x - max) and the result live together
               next to the bf16 logits (2 + 4 + 4 + 4), and its backward adds exp(output) and the
               nll gradient to the saved result (4 + 4 + 4 + 4) */
            logits_fwd = sbv * 16.0;
        } else if (eager) {
            logits_fwd = sbv * dmax(2.0 + 4.0 + 4.0, (keeps_logits ? 2.0 : 0.0) + 4.0 + 4.0 + 4.0);
        } else {
            /* Megatron's vocab-parallel cross-entropy: bf16 logits and the fp32 softmax it keeps
               (Korthikanti's 4sbv), computed in place into the gradient at backward */
            logits_fwd = sbv * (2.0 + 4.0);
        }
        add_item(st, "logits and loss (peak during the loss)", EST_MEM_LOGITS, logits_fwd);
    }
    if (p->cp > 1) {
        /* ring attention: K/V chunks of the neighbour, double-buffered */
        comm_alloc += 2.0 * 2.0 * x->e * sb * x->g * x->d / x->t;
    }
    add_item(st, "communication buffers (allocator)", EST_MEM_COMM, comm_alloc);
    add_item(st, "NCCL communicator buffers", EST_MEM_COMM, nccl);

    st->model_states =
        to_u64((p->finetune != EST_FT_FULL ? (double)st->bytes[EST_MEM_WEIGHTS] : w_persist) +
               g_bytes + opt_master + opt_states);

    /* ---- phases */
    double states =
        w_persist + opt_master + opt_states + comm_alloc +
        (p->finetune != EST_FT_FULL ? (double)st->bytes[EST_MEM_WEIGHTS] - w_persist : 0.0);
    /* with gradient accumulation the gradients of earlier micro-batches exist during later
       forwards; FSDP2 under PP accumulates unsharded instead (fsdp_pp_grads) and produces its
       sharded gradients only at the last micro-batch's reduce-scatter */
    double grads_in_fwd =
        (grads_persist || (x->microbatches > 1 && fsdp_pp_grads == 0.0)) ? g_bytes : 0.0;
    double head_grad = last ? (x->head_rank > 0 ? x->head_rank : x->emb_rank) * x->gb : 0.0;
    if (p->framework == EST_FW_FSDP && p->pp == 1) {
        head_grad = 0.0; /* the root's unsharded bf16 gradient is in comm_bwd already */
    }
    /* the loss (forward peak): logits live; a layer's backward: the logits are freed by then
       (the output layer's backward ran), its working set and the first gradients exist; the end
       of backward: every gradient, no activations, autocast's casts released */
    double fwd = states + grads_in_fwd + fsdp_pp_grads + w_transient + act + logits_fwd;
    double bwd = fwd - logits_fwd + work + comm_bwd + (grads_in_fwd > 0.0 ? 0.0 : head_grad);
    double bwd_end =
        states + g_bytes + fsdp_pp_grads + (w_transient - w_casts) + comm_bwd + root_rs;
    bwd = dmax(bwd, bwd_end);
    double opt = states + g_bytes + opt_temp + comm_opt;
    if (w_transient > 0.0) {
        add_item(st, "transient weights (gathered / casts)", EST_MEM_WEIGHTS, w_transient);
    }
    add_item(st, "backward working set (recompute, grads)", EST_MEM_ACTIVATIONS, work);
    add_item(st, "optimizer step temporaries", EST_MEM_OPTIMIZER, opt_temp);
    add_item(st, "backward/optimizer buffers", EST_MEM_COMM, comm_bwd + comm_opt);
    double peak = fwd;
    st->peak_phase = EST_PHASE_FORWARD;
    if (bwd > peak) {
        peak = bwd;
        st->peak_phase = EST_PHASE_BACKWARD;
    }
    if (opt > peak) {
        peak = opt;
        st->peak_phase = EST_PHASE_OPTIMIZER;
    }
    const est_gpu *gpu = x->cfg->gpu;
    double frac =
        (gpu->alloc_frag_fraction > 0.0) ? gpu->alloc_frag_fraction : default_frag_fraction;
    double frag = peak * frac;
    double ws = gpu->workspace_bytes > 0 ? (double)gpu->workspace_bytes : default_workspace_bytes;
    double ctx =
        gpu->cuda_context_bytes > 0 ? (double)gpu->cuda_context_bytes : default_context_bytes;
    add_item(st, "cuBLAS workspaces", EST_MEM_WORKSPACE, ws);
    add_item(st, "CUDA context", EST_MEM_CONTEXT, ctx);
    add_item(st, "allocator fragmentation", EST_MEM_FRAGMENTATION, frag);
    double total = peak + frag + ws + ctx + nccl;
    if (total > 9.0e18) {
        return EST_FAIL(diag, EST_ERANGE, "memory: %g bytes per GPU overflow 64-bit counters",
                        total);
    }
    st->peak_allocated = to_u64(peak);
    st->peak_reserved = to_u64(peak + frag);
    st->total = to_u64(total);
    return EST_OK;
}

// ---------------------------------------------------------------------------
// public

const char *est_mem_group_name(est_mem_group g)
{
    static const char *const names[EST_MEM_GROUP_COUNT] = {
        "weights",      "gradients", "optimizer", "activations",  "logits",
        "comm_buffers", "workspace", "context",   "fragmentation"};
    return ((int)g >= 0 && g < EST_MEM_GROUP_COUNT) ? names[g] : "?";
}

static void note(est_memory_report *r, const char *s)
{
    if (r->n_notes < LLMCAL_MAX_NOTES) {
        r->notes[r->n_notes++] = s;
    }
}

est_status est_memory(const est_config *cfg, est_memory_report *out, est_diag *diag)
{
    const est_parallel *p = &cfg->par;
    mem_ctx x;
    memset(&x, 0, sizeof x);
    x.cfg = cfg;
    x.m = cfg->model;
    x.p = p;
    x.b = i2d(p->mbs);
    x.c = (double)p->cp;
    x.s = i2d(p->seq) / x.c;
    x.h = i2d(x.m->hidden);
    x.a = i2d(x.m->heads);
    x.g = i2d(x.m->kv_heads);
    x.d = i2d(x.m->head_dim);
    x.f = i2d(x.m->ffn);
    x.t = (double)p->tp;
    x.e = p->precision == EST_PREC_FP32 ? 4.0 : 2.0;
    if (p->dp <= 0 || p->mbs <= 0) {
        return EST_FAIL(diag, EST_EINVAL, "config: not resolved (call est_config_resolve first)");
    }
    x.microbatches = p->gbs / (p->mbs * p->dp);
    params_init(&x);
    bytes_init(&x);
    activations_init(&x);
    x.n_comms = count_comms(p, p->pp > 1 && x.m->tied_embeddings);

    out->n_notes = 0;
    est_model_params(x.m, &out->params);
    est_status s = stage_memory(&x, 0, &out->first, diag);
    if (s != EST_OK) {
        return s;
    }
    if (p->pp > 1) {
        s = stage_memory(&x, p->pp - 1, &out->last, diag);
        if (s != EST_OK) {
            return s;
        }
    } else {
        out->last = out->first;
    }
    out->worst = out->first.total >= out->last.total ? out->first : out->last;
    if (p->pp > 2) {
        /* middle stages all hold the same layers; the one after the first keeps the most
           micro-batches in flight */
        est_stage_memory mid;
        s = stage_memory(&x, 1, &mid, diag);
        if (s != EST_OK) {
            return s;
        }
        if (mid.total > out->worst.total) {
            out->worst = mid;
        }
    }
    out->capacity_bytes = cfg->gpu->memory_bytes;
    out->usable_bytes = cfg->gpu->memory_bytes - cfg->gpu->reserved_bytes;
    out->fits = out->worst.total <= out->usable_bytes;

    switch (p->framework) {
    case EST_FW_MEGATRON:
        note(out, "megatron: bf16 params, fp32 main-grad buffer, fp32 master + Adam moments "
                  "(sharded over dp*cp with --use-distributed-optimizer), vocab padded to a "
                  "multiple of 128*tp");
        break;
    case EST_FW_DEEPSPEED:
        note(out, "deepspeed: ZeRO model states as Rajbhandari et al. 2019 (16-bit params and "
                  "grads, K=12), default 5e8-element reduce/allgather buckets");
        break;
    case EST_FW_FSDP:
        note(out, "fsdp: FSDP2 with fp32 sharded params, bf16 param_dtype, fp32 reduce_dtype; "
                  "each block a unit, one unit prefetched");
        break;
    case EST_FW_PYTORCH:
        note(out, "pytorch: fp32 params under autocast (bf16 weight casts cached per step), "
                  "fp32 logits for cross-entropy, grads set to None by zero_grad, DDP buckets "
                  "when dp > 1");
        break;
    default: break;
    }
    if (p->dropout) {
        note(out, "dropout on (attention and hidden), masks stored as 1 byte per element");
    }
    if (p->attention == EST_ATTN_FLASH) {
        note(out, "flash attention: no s^2 scores stored, fp32 logsumexp per head");
    }
    if (p->finetune != EST_FT_FULL) {
        note(out, "LoRA/QLoRA: activations as in full training (an upper bound: frozen linears "
                  "need not save their inputs)");
    }
    note(out, "CUDA context, NCCL buffers, workspaces and fragmentation from the GPU profile or "
              "built-in defaults until calibrated");
    return EST_OK;
}
