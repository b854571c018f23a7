/* hf_config.c -- Hugging Face config.json (told apart by "model_type") into est_model.
 *
 * Field names and defaults follow the transformers configuration classes and modeling code
 * (configuration_llama.py, modeling_qwen2.py, configuration_gpt2.py, configuration_gpt_neox.py,
 * modeling_qwen2_moe.py ...), cited per family below. Keys llmcal does not need are ignored (a
 * config.json carries many); the ones it reads are type-checked. An architecture whose parameter
 * layout est_model cannot express (Gemma-2's four norms per layer, DeepSeek's MLA) is refused with
 * EST_EUNSUPPORTED rather than counted wrong.
 */
#include "prof_internal.h"

#include <math.h>
#include <string.h>

typedef enum hf_family {
    HF_LLAMA = 0, /* llama, mistral, qwen2, qwen3, gemma, mixtral, qwen2_moe: gated MLP, RMSNorm */
    HF_GPT2,
    HF_NEOX
} hf_family;

typedef struct hf_type {
    const char *name; /* model_type */
    hf_family family;
    bool tie_default;        /* tie_word_embeddings default of the config class */
    bool qkv_bias_always;    /* Qwen2: q/k/v have bias=True hard-coded, o_proj none */
    bool attention_bias_key; /* reads "attention_bias" (q,k,v,o) */
    bool qk_norm;            /* Qwen3: RMSNorm on q and k per head */
} hf_type;

/* Defaults: LlamaConfig/MistralConfig/MixtralConfig/Qwen2Config/Qwen2MoeConfig/Qwen3Config
   tie_word_embeddings=False; GemmaConfig tie_word_embeddings=True; GPT2Config: True (the
   PretrainedConfig default); GPTNeoXConfig: False. Qwen2Attention: q/k/v bias=True, o bias=False
   (modeling_qwen2.py). Llama/Qwen3/Gemma: attention_bias (default False) on q,k,v,o. */
static const hf_type hf_types[] = {
    {"llama", HF_LLAMA, false, false, true, false},
    {"mistral", HF_LLAMA, false, false, false, false},
    {"mixtral", HF_LLAMA, false, false, false, false},
    {"qwen2", HF_LLAMA, false, true, false, false},
    {"qwen2_moe", HF_LLAMA, false, true, false, false},
    {"qwen3", HF_LLAMA, false, false, true, true},
    {"gemma", HF_LLAMA, true, false, true, false},
    {"gpt2", HF_GPT2, true, false, false, false},
    {"gpt_neox", HF_NEOX, false, false, false, false},
};

static const char *const hf_supported = "llama, mistral, mixtral, qwen2, qwen2_moe, qwen3, gemma, "
                                        "gpt2, gpt_neox";

static est_status req_i64(prof_ctx *c, const char *type, const char *key, int64_t *out,
                          est_diag *diag)
{
    json_t *v = json_object_get(c->obj, key);
    if (v == NULL || json_is_null(v)) {
        return EST_FAIL(diag, EST_EINVAL, "%s: %s: missing (required for model_type %s)", c->origin,
                        key, type);
    }
    return prof_get_i64(c, key, true, 1, out, diag);
}

/* optional: absent or null leaves *out */
static est_status opt_i64(prof_ctx *c, const char *key, int64_t min, int64_t *out, est_diag *diag)
{
    json_t *v = json_object_get(c->obj, key);
    if (v == NULL || json_is_null(v)) {
        return EST_OK;
    }
    return prof_get_i64(c, key, true, min, out, diag);
}

static est_status opt_bool(prof_ctx *c, const char *key, bool *out, est_diag *diag)
{
    json_t *v = json_object_get(c->obj, key);
    if (v == NULL || json_is_null(v)) {
        return EST_OK;
    }
    return prof_get_bool(c, key, true, out, diag);
}

/* gated MLP kind from hidden_act / hidden_activation: silu -> SwiGLU, gelu* -> GeGLU */
static est_status gated_act(prof_ctx *c, const char *type, est_act *out, est_diag *diag)
{
    const char *keys[2] = {"hidden_activation", "hidden_act"};
    for (int i = 0; i < 2; i++) {
        json_t *v = json_object_get(c->obj, keys[i]);
        if (v == NULL || json_is_null(v)) {
            continue;
        }
        if (!json_is_string(v)) {
            return EST_FAIL(diag, EST_EINVAL, "%s: %s: expected a string", c->origin, keys[i]);
        }
        const char *s = json_string_value(v);
        if (strcmp(s, "silu") == 0 || strcmp(s, "swish") == 0) {
            *out = EST_ACT_SWIGLU;
        } else if (strncmp(s, "gelu", 4) == 0) {
            *out = EST_ACT_GEGLU;
        } else {
            return EST_FAIL(diag, EST_EUNSUPPORTED,
                            "%s: %s: \"%s\" is not modelled for "
                            "model_type %s (silu or gelu)",
                            c->origin, keys[i], s, type);
        }
        return EST_OK;
    }
    /* absent: the config class default (Gemma: gelu_pytorch_tanh, the others: silu) */
    *out = strcmp(type, "gemma") == 0 ? EST_ACT_GEGLU : EST_ACT_SWIGLU;
    return EST_OK;
}

// ---------------------------------------------------------------------------
// families

static est_status llama_like(prof_ctx *c, const hf_type *t, est_model *m, est_diag *diag)
{
    const char *ty = t->name;
    EST_TRY(req_i64(c, ty, "hidden_size", &m->hidden, diag));
    EST_TRY(req_i64(c, ty, "num_hidden_layers", &m->layers, diag));
    EST_TRY(req_i64(c, ty, "num_attention_heads", &m->heads, diag));
    m->kv_heads = m->heads; /* num_key_value_heads: None -> num_attention_heads */
    EST_TRY(opt_i64(c, "num_key_value_heads", 1, &m->kv_heads, diag));
    m->head_dim = 0;
    EST_TRY(opt_i64(c, "head_dim", 1, &m->head_dim, diag));
    if (m->head_dim == 0) {
        m->head_dim = m->hidden / m->heads; /* modeling code: hidden_size // num_attention_heads */
    }
    EST_TRY(req_i64(c, ty, "intermediate_size", &m->ffn, diag));
    EST_TRY(req_i64(c, ty, "vocab_size", &m->vocab, diag));
    m->max_positions = 0; /* RoPE: no learned table (est_model.max_positions) */
    m->norm = EST_NORM_RMSNORM;
    m->pos = EST_POS_ROPE;
    EST_TRY(gated_act(c, ty, &m->act, diag));
    if (t->qkv_bias_always) {
        m->qkv_bias = true;
    }
    if (t->attention_bias_key) {
        bool ab = false;
        EST_TRY(opt_bool(c, "attention_bias", &ab, diag));
        m->qkv_bias = ab;
        m->out_bias = ab;
    }
    if (strcmp(ty, "llama") == 0) {
        EST_TRY(opt_bool(c, "mlp_bias", &m->mlp_bias, diag));
    }
    m->qk_norm = t->qk_norm;

    if (strcmp(ty, "mixtral") == 0) {
        /* MixtralSparseMoeBlock: gate Linear(h, num_local_experts, bias=False), experts of
           intermediate_size, every layer sparse */
        EST_TRY(req_i64(c, ty, "num_local_experts", &m->experts, diag));
        EST_TRY(req_i64(c, ty, "num_experts_per_tok", &m->top_k, diag));
        m->moe_ffn = m->ffn;
        m->moe_every = 1;
    } else if (strcmp(ty, "qwen2_moe") == 0) {
        /* Qwen2MoeSparseMoeBlock: gate Linear(h, num_experts), experts of moe_intermediate_size,
           one shared expert of shared_expert_intermediate_size with a Linear(h, 1) sigmoid gate;
           layer i is sparse if i not in mlp_only_layers and (i + 1) % decoder_sparse_step == 0 */
        EST_TRY(req_i64(c, ty, "num_experts", &m->experts, diag));
        EST_TRY(req_i64(c, ty, "num_experts_per_tok", &m->top_k, diag));
        EST_TRY(req_i64(c, ty, "moe_intermediate_size", &m->moe_ffn, diag));
        int64_t shared = 0;
        EST_TRY(opt_i64(c, "shared_expert_intermediate_size", 0, &shared, diag));
        if (shared > 0) {
            m->shared_experts = 1;
            m->shared_ffn = shared;
            m->shared_expert_gate = true;
        }
        m->moe_every = 1;
        EST_TRY(opt_i64(c, "decoder_sparse_step", 1, &m->moe_every, diag));
        json_t *only = json_object_get(c->obj, "mlp_only_layers");
        if (only != NULL && !json_is_null(only)) {
            if (!json_is_array(only)) {
                return EST_FAIL(diag, EST_EINVAL,
                                "%s: mlp_only_layers: expected an array of "
                                "layer indices",
                                c->origin);
            }
            size_t i;
            json_t *item;
            json_array_foreach(only, i, item)
            {
                if (!json_is_integer(item) || json_integer_value(item) != (json_int_t)i) {
                    return EST_FAIL(diag, EST_EUNSUPPORTED,
                                    "%s: mlp_only_layers: only a prefix "
                                    "0,1,..,k-1 of dense layers is modelled",
                                    c->origin);
                }
            }
            m->moe_first_dense = (int64_t)json_array_size(only);
        }
    }
    return EST_OK;
}

/* GPT2Config: n_embd, n_layer, n_head, n_inner (None -> 4 * n_embd), n_positions; Conv1D layers
   with biases everywhere, LayerNorm, learned positions, tied lm_head (modeling_gpt2.py). */
static est_status gpt2(prof_ctx *c, est_model *m, est_diag *diag)
{
    EST_TRY(req_i64(c, "gpt2", "n_embd", &m->hidden, diag));
    EST_TRY(req_i64(c, "gpt2", "n_layer", &m->layers, diag));
    EST_TRY(req_i64(c, "gpt2", "n_head", &m->heads, diag));
    EST_TRY(req_i64(c, "gpt2", "vocab_size", &m->vocab, diag));
    EST_TRY(req_i64(c, "gpt2", "n_positions", &m->max_positions, diag));
    m->ffn = 4 * m->hidden;
    EST_TRY(opt_i64(c, "n_inner", 1, &m->ffn, diag));
    m->kv_heads = m->heads;
    m->head_dim = m->hidden / m->heads;
    m->norm = EST_NORM_LAYERNORM;
    m->act = EST_ACT_GELU;
    m->pos = EST_POS_LEARNED;
    m->qkv_bias = m->out_bias = m->mlp_bias = true;
    return EST_OK;
}

/* GPTNeoXConfig: rotary (rotary_pct of each head; no learned table), LayerNorm, non-gated GELU
   MLP with bias, attention_bias (default True) on query_key_value and dense,
   use_parallel_residual (default True), separate embed_out (tie default False). */
static est_status gpt_neox(prof_ctx *c, est_model *m, est_diag *diag)
{
    EST_TRY(req_i64(c, "gpt_neox", "hidden_size", &m->hidden, diag));
    EST_TRY(req_i64(c, "gpt_neox", "num_hidden_layers", &m->layers, diag));
    EST_TRY(req_i64(c, "gpt_neox", "num_attention_heads", &m->heads, diag));
    EST_TRY(req_i64(c, "gpt_neox", "intermediate_size", &m->ffn, diag));
    EST_TRY(req_i64(c, "gpt_neox", "vocab_size", &m->vocab, diag));
    m->kv_heads = m->heads;
    m->head_dim = m->hidden / m->heads;
    m->norm = EST_NORM_LAYERNORM;
    m->act = EST_ACT_GELU;
    m->pos = EST_POS_ROPE; /* rotary_pct of each head; max_positions stays 0 */
    bool ab = true;
    EST_TRY(opt_bool(c, "attention_bias", &ab, diag));
    m->qkv_bias = m->out_bias = ab;
    m->mlp_bias = true;
    m->parallel_block = true;
    EST_TRY(opt_bool(c, "use_parallel_residual", &m->parallel_block, diag));
    return EST_OK;
}

// ---------------------------------------------------------------------------
// entry

est_status prof_hf_from_json(json_t *root, const char *origin, const char *name, est_model *out,
                             prof_info *info, est_diag *diag)
{
    json_t *mt = json_object_get(root, "model_type");
    if (!json_is_string(mt)) {
        return EST_FAIL(diag, EST_EINVAL, "%s: model_type: expected a string", origin);
    }
    const char *type = json_string_value(mt);
    const hf_type *t = NULL;
    for (size_t i = 0; i < sizeof hf_types / sizeof hf_types[0]; i++) {
        if (strcmp(hf_types[i].name, type) == 0) {
            t = &hf_types[i];
        }
    }
    if (t == NULL) {
        return EST_FAIL(diag, EST_EUNSUPPORTED,
                        "%s: model_type: \"%s\" is not supported "
                        "(supported: %s)",
                        origin, type, hf_supported);
    }
    prof_ctx c;
    prof_ctx_init(&c, origin, root, "");
    est_model m;
    memset(&m, 0, sizeof m);
    prof_copy(m.name, sizeof m.name, name);
    est_status s = EST_OK;
    switch (t->family) {
    case HF_LLAMA: s = llama_like(&c, t, &m, diag); break;
    case HF_GPT2: s = gpt2(&c, &m, diag); break;
    case HF_NEOX: s = gpt_neox(&c, &m, diag); break;
    }
    if (s != EST_OK) {
        return s;
    }
    m.tied_embeddings = t->tie_default;
    EST_TRY(opt_bool(&c, "tie_word_embeddings", &m.tied_embeddings, diag));

    info->hf_config = 1;
    json_t *nm = json_object_get(root, "_name_or_path");
    if (json_is_string(nm) && json_string_length(nm) > 0) {
        prof_copy(info->description, sizeof info->description, json_string_value(nm));
    } else {
        prof_copy(info->description, sizeof info->description, type);
    }
    prof_copy(info->source, sizeof info->source, "Hugging Face config.json");

    est_diag sub = {{0}, NULL, 0};
    s = est_model_validate(&m, &sub);
    if (s != EST_OK) {
        return EST_FAIL(diag, s, "%s: %s", origin, sub.msg);
    }
    *out = m;
    return EST_OK;
}
