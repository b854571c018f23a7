/* flops.h -- exact FLOP counts of a decoder-only transformer, per operation, and the published
 * conventions (Narayanan 2021 Eq. 3, Korthikanti 2022 Eqs. 7-8, Megatron-Core
 * num_floating_point_operations, 6ND, MPT, torchtitan) for comparing with published MFU.
 *
 * A multiply-add is 2 flop. Backward = 2x forward for every GEMM (weight and input gradients).
 * Attention scores and values are counted over the full s x s square ("model" convention, as all
 * the sources above do); the causally masked work that fused kernels actually execute is half the
 * square (est_layer_flop.attn_causal_factor). Embedding lookups, norms, activations and softmax are
 * not counted as flops (memory-bound; their time is modelled from bytes). Formulas:
 * docs/time.md#flops. Pure.
 */
#ifndef LLMCAL_EST_FLOPS_H
#define LLMCAL_EST_FLOPS_H

#include <stdbool.h>
#include <stdint.h>

#include "est/config.h"

/* Forward FLOPs of one token in one layer (whole layer, before any TP split), by operation.
 * s is the number of keys a token attends to in the full (non-causal) count. */
typedef struct est_layer_flop {
    double qkv;        /* 2*h*(a + 2g)*d: Q, K, V projections (GQA: g kv heads) */
    double attn_score; /* 2*a*d*s: Q K^T (full square) */
    double attn_value; /* 2*a*d*s: softmax(.) V (full square) */
    double out_proj;   /* 2*a*d*h */
    double mlp;        /* dense MLP: 2*h*f*(2 GELU | 3 gated) */
    double router;     /* MoE router: 2*h*experts */
    double experts;    /* routed experts: top_k * 2*h*moe_ffn*(2|3) */
    double shared;     /* shared experts: shared_experts * 2*h*shared_ffn*(2|3) */
    double total;      /* sum (full attention) */
} est_layer_flop;

/* Whole-model forward FLOPs per token, and per iteration totals. */
typedef struct est_model_flop {
    est_layer_flop dense;   /* a dense layer */
    est_layer_flop moe;     /* a MoE layer (all zero for dense models) */
    double layers_fwd;      /* sum over layers, forward, per token */
    double attn_fwd;        /* the attention-core part of layers_fwd (scores + values) */
    double logits_fwd;      /* 2*h*v: output projection per token */
    double fwd_per_token;   /* layers_fwd + logits_fwd */
    double model_per_token; /* 3 * fwd_per_token: fwd + bwd, no recompute (MFU convention) */
} est_model_flop;

/* Counts the forward FLOPs of `m` at sequence length `seq` (tokens). */
void est_model_flop_count(const est_model *m, int64_t seq, est_model_flop *out);

/* Layer forward FLOPs per token recomputed by `rc` (selective: the attention core's scores and
 * values; full: the whole layer), averaged over the model's layers; recompute_layers of a stage's
 * `stage_layers` for partial full recompute (0 = all). */
double est_recompute_flop_per_token(const est_model_flop *f, est_recompute rc,
                                    int64_t recompute_layers, int64_t stage_layers);

// ---------------------------------------------------------------------------
// published conventions (per iteration of B sequences of s tokens); for tests and for reporting
// against each source's own number

/* Narayanan et al. 2021 Eq. (3), includes the full-recompute forward:
 * 96*B*s*l*h^2*(1 + s/(6h) + V/(16*l*h)). */
double est_flop_narayanan(int64_t B, int64_t s, int64_t l, int64_t h, int64_t V);

/* Korthikanti et al. 2022 App. A Eq. (7) (model) and Eq. (8) (hardware, selective recompute):
 * 72*B*L*s*h^2*(1 + s/(6h) + v/(12hL)) and 72*B*L*s*h^2*(1 + s/(3h) + v/(12hL)). */
double est_flop_korthikanti_model(int64_t B, int64_t s, int64_t L, int64_t h, int64_t v);
double est_flop_korthikanti_hw(int64_t B, int64_t s, int64_t L, int64_t h, int64_t v);

/* Megatron-Core r0.8 num_floating_point_operations (fwd+bwd, no recompute, full attention):
 * 12*B*s*L*h^2*[(1 + g/a + s/h)*(a*d/h) + (f/h)*k*(3/2 if gated) + V/(2*L*h)], with f the
 * (routed) expert size and k = top_k for MoE (shared experts added as extra ffn). */
double est_flop_megatron_core(const est_model *m, int64_t B, int64_t s);

/* MPT (llm-foundry): (3 or 4 with activation checkpointing) * (2*N*s + 2*2*L*h*s^2) per sequence,
 * N = all parameters. */
double est_flop_mpt(const est_model *m, int64_t B, int64_t s, bool hfu_recompute);

/* torchtitan (Aug 2024 docs): tokens * (6*N + 12*L*h*s), N = all parameters (the published
 * Llama-3-8B row reproduces only with the embedding included). */
double est_flop_torchtitan(const est_model *m, int64_t B, int64_t s);

/* Narayanan et al. 2021 Eq. (4): end-to-end training time (s) ~ 8*T*P / (n*X) for T tokens, P
 * parameters, n GPUs at X flop/s each (8 = 2 fwd + 4 bwd + 2 recompute per parameter-token). */
double est_train_time_narayanan_s(double tokens, double params, double gpus, double flop_per_s);

#endif /* LLMCAL_EST_FLOPS_H */
