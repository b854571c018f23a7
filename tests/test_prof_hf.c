/* test_prof_hf.c -- Hugging Face config.json read directly: real published configs (copied from
 * the model repositories named beside each) give the parameter counts their publishers state.
 *
 * Expected values: the publisher's statement (model card / paper, cited), and where the count is
 * exact, a derivation from the config in the comment. Never the program's own output.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "prof/prof.h"

/* https://huggingface.co/meta-llama/Llama-3.1-8B/blob/main/config.json */
static const char *llama31_8b =
    "{\"architectures\": [\"LlamaForCausalLM\"], \"attention_bias\": false,"
    " \"attention_dropout\": 0.0, \"bos_token_id\": 128000, \"eos_token_id\": 128001,"
    " \"hidden_act\": \"silu\", \"hidden_size\": 4096, \"initializer_range\": 0.02,"
    " \"intermediate_size\": 14336, \"max_position_embeddings\": 131072, \"mlp_bias\": false,"
    " \"model_type\": \"llama\", \"num_attention_heads\": 32, \"num_hidden_layers\": 32,"
    " \"num_key_value_heads\": 8, \"pretraining_tp\": 1, \"rms_norm_eps\": 1e-05,"
    " \"rope_scaling\": {\"factor\": 8.0, \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0,"
    " \"original_max_position_embeddings\": 8192, \"rope_type\": \"llama3\"},"
    " \"rope_theta\": 500000.0, \"tie_word_embeddings\": false, \"torch_dtype\": \"bfloat16\","
    " \"transformers_version\": \"4.43.0.dev0\", \"use_cache\": true, \"vocab_size\": 128256}";

/* https://huggingface.co/mistralai/Mixtral-8x7B-v0.1/blob/main/config.json */
static const char *mixtral_8x7b =
    "{\"architectures\": [\"MixtralForCausalLM\"], \"attention_dropout\": 0.0,"
    " \"bos_token_id\": 1, \"eos_token_id\": 2, \"hidden_act\": \"silu\", \"hidden_size\": 4096,"
    " \"initializer_range\": 0.02, \"intermediate_size\": 14336,"
    " \"max_position_embeddings\": 32768, \"model_type\": \"mixtral\","
    " \"num_attention_heads\": 32, \"num_experts_per_tok\": 2, \"num_hidden_layers\": 32,"
    " \"num_key_value_heads\": 8, \"num_local_experts\": 8, \"output_router_logits\": false,"
    " \"rms_norm_eps\": 1e-05, \"rope_theta\": 1000000.0, \"router_aux_loss_coef\": 0.02,"
    " \"sliding_window\": null, \"tie_word_embeddings\": false, \"torch_dtype\": \"bfloat16\","
    " \"transformers_version\": \"4.36.0.dev0\", \"use_cache\": true, \"vocab_size\": 32000}";

/* https://huggingface.co/Qwen/Qwen2-57B-A14B/blob/main/config.json */
static const char *qwen2_57b =
    "{\"architectures\": [\"Qwen2MoeForCausalLM\"], \"attention_dropout\": 0.0,"
    " \"bos_token_id\": 151643, \"decoder_sparse_step\": 1, \"eos_token_id\": 151643,"
    " \"hidden_act\": \"silu\", \"hidden_size\": 3584, \"initializer_range\": 0.02,"
    " \"intermediate_size\": 18944, \"max_position_embeddings\": 131072,"
    " \"max_window_layers\": 28, \"model_type\": \"qwen2_moe\", \"moe_intermediate_size\": 2560,"
    " \"norm_topk_prob\": false, \"num_attention_heads\": 28, \"num_experts\": 64,"
    " \"num_experts_per_tok\": 8, \"num_hidden_layers\": 28, \"num_key_value_heads\": 4,"
    " \"output_router_logits\": false, \"rms_norm_eps\": 1e-06, \"rope_theta\": 1000000.0,"
    " \"router_aux_loss_coef\": 0.001, \"shared_expert_intermediate_size\": 20480,"
    " \"sliding_window\": 65536, \"tie_word_embeddings\": false, \"torch_dtype\": \"bfloat16\","
    " \"transformers_version\": \"4.40.1\", \"use_cache\": true, \"use_sliding_window\": false,"
    " \"vocab_size\": 151936}";

/* https://huggingface.co/openai-community/gpt2/blob/main/config.json (n_inner absent -> 4h) */
static const char *gpt2 =
    "{\"activation_function\": \"gelu_new\", \"architectures\": [\"GPT2LMHeadModel\"],"
    " \"attn_pdrop\": 0.1, \"bos_token_id\": 50256, \"embd_pdrop\": 0.1, \"eos_token_id\": 50256,"
    " \"initializer_range\": 0.02, \"layer_norm_epsilon\": 1e-05, \"model_type\": \"gpt2\","
    " \"n_ctx\": 1024, \"n_embd\": 768, \"n_head\": 12, \"n_layer\": 12, \"n_positions\": 1024,"
    " \"resid_pdrop\": 0.1, \"summary_activation\": null, \"summary_first_dropout\": 0.1,"
    " \"summary_proj_to_labels\": true, \"summary_type\": \"cls_index\","
    " \"summary_use_proj\": true, \"task_specific_params\": {\"text-generation\":"
    " {\"do_sample\": true, \"max_length\": 50}}, \"vocab_size\": 50257}";

/* https://huggingface.co/EleutherAI/pythia-160m/blob/main/config.json */
static const char *pythia_160m =
    "{\"architectures\": [\"GPTNeoXForCausalLM\"], \"bos_token_id\": 0, \"eos_token_id\": 0,"
    " \"hidden_act\": \"gelu\", \"hidden_size\": 768, \"initializer_range\": 0.02,"
    " \"intermediate_size\": 3072, \"layer_norm_eps\": 1e-05,"
    " \"max_position_embeddings\": 2048, \"model_type\": \"gpt_neox\","
    " \"num_attention_heads\": 12, \"num_hidden_layers\": 12, \"rotary_emb_base\": 10000,"
    " \"rotary_pct\": 0.25, \"tie_word_embeddings\": false, \"torch_dtype\": \"float16\","
    " \"transformers_version\": \"4.24.0\", \"use_cache\": true,"
    " \"use_parallel_residual\": true, \"vocab_size\": 50304}";

/* https://huggingface.co/google/gemma-7b/blob/main/config.json (no tie_word_embeddings key:
   GemmaConfig defaults to tied) */
static const char *gemma_7b =
    "{\"architectures\": [\"GemmaForCausalLM\"], \"attention_bias\": false,"
    " \"attention_dropout\": 0.0, \"bos_token_id\": 2, \"eos_token_id\": 1, \"head_dim\": 256,"
    " \"hidden_act\": \"gelu\", \"hidden_size\": 3072, \"initializer_range\": 0.02,"
    " \"intermediate_size\": 24576, \"max_position_embeddings\": 8192, \"model_type\": \"gemma\","
    " \"num_attention_heads\": 16, \"num_hidden_layers\": 28, \"num_key_value_heads\": 16,"
    " \"pad_token_id\": 0, \"rms_norm_eps\": 1e-06, \"rope_scaling\": null,"
    " \"rope_theta\": 10000.0, \"torch_dtype\": \"bfloat16\","
    " \"transformers_version\": \"4.38.0.dev0\", \"use_cache\": true, \"vocab_size\": 256000}";

/* https://huggingface.co/Qwen/Qwen3-8B/blob/main/config.json */
static const char *qwen3_8b =
    "{\"architectures\": [\"Qwen3ForCausalLM\"], \"attention_bias\": false,"
    " \"attention_dropout\": 0.0, \"bos_token_id\": 151643, \"eos_token_id\": 151645,"
    " \"head_dim\": 128, \"hidden_act\": \"silu\", \"hidden_size\": 4096,"
    " \"initializer_range\": 0.02, \"intermediate_size\": 12288,"
    " \"max_position_embeddings\": 40960, \"max_window_layers\": 36, \"model_type\": \"qwen3\","
    " \"num_attention_heads\": 32, \"num_hidden_layers\": 36, \"num_key_value_heads\": 8,"
    " \"rms_norm_eps\": 1e-06, \"rope_scaling\": null, \"rope_theta\": 1000000,"
    " \"sliding_window\": null, \"tie_word_embeddings\": false, \"torch_dtype\": \"bfloat16\","
    " \"transformers_version\": \"4.51.0\", \"use_cache\": true, \"use_sliding_window\": false,"
    " \"vocab_size\": 151936}";

static void load(const char *json, const char *origin, est_model *m, est_param_counts *pc)
{
    est_diag d = {{0}, NULL, 0};
    est_status s = prof_model_from_string(json, origin, m, &d);
    CHECK(s == EST_OK, d.msg[0] ? d.msg : origin);
    memset(pc, 0, sizeof *pc);
    if (s == EST_OK) {
        est_model_params(m, pc);
    }
}

static void test_counts(void)
{
    est_model m;
    est_param_counts pc;

    load(llama31_8b, "Llama-3.1-8B/config.json", &m, &pc);
    /* 32 * (41,943,040 attn + 176,160,768 MLP + 8192 norms) + 2 * 128256 * 4096 + 4096 */
    CHECK_EQ_I64(pc.total, 8030261248LL, "Llama-3.1-8B: 8,030,261,248 (HF page 8.03B)");
    CHECK(!m.tied_embeddings && m.kv_heads == 8 && m.head_dim == 128, "Llama GQA 32/8, d 128");
    CHECK(strcmp(m.name, "config") == 0, "name is the origin's stem");

    load(mixtral_8x7b, "mixtral.json", &m, &pc);
    /* 32 * (41,943,040 + 8192 + 8*4096 router + 8 * 3*4096*14336) + 2*32000*4096 + 4096 */
    CHECK_EQ_I64(pc.total, 46702792704LL, "Mixtral-8x7B: 46,702,792,704 (46.7B, Mistral AI)");
    /* Mistral AI: "12.9B used per token" -> +-0.05B */
    CHECK_ABS((double)pc.active, 12.9e9, 0.05e9, "Mixtral-8x7B active 12.9B (Mistral AI)");

    load(qwen2_57b, "qwen2-57b.json", &m, &pc);
    CHECK(m.experts == 64 && m.top_k == 8 && m.shared_experts == 1 && m.shared_ffn == 20480 &&
              m.shared_expert_gate && m.qkv_bias && !m.out_bias,
          "qwen2_moe fields: 64 experts top-8, 1 gated shared expert, qkv bias");
    /* Qwen2 tech report Table 1: 57B total, 14B activated (+-0.5B each). By hand: attn
       3584^2*2 + 2*3584*512 + biases 4608 = 29,364,736; MoE 64*3*3584*2560 + router 64*3584 +
       shared 3*3584*20480 + gate 3584 = 1,982,041,600; norms 7168 -> *28 = 56,319,578,112;
       embeddings 2*151936*3584 = 1,089,077,248; final 3584 -> 57,408,658,944. */
    CHECK_EQ_I64(pc.total, 57408658944LL, "Qwen2-57B-A14B total (hand-derived above)");
    CHECK_ABS((double)pc.total, 57e9, 0.5e9, "Qwen2-57B-A14B: 57B (Qwen2 report Table 1)");
    CHECK_ABS((double)pc.active, 14e9, 0.5e9, "Qwen2-57B-A14B: 14B activated");

    load(gpt2, "gpt2.json", &m, &pc);
    CHECK(m.ffn == 3072 && m.tied_embeddings && m.pos == EST_POS_LEARNED &&
              m.max_positions == 1024 && m.qkv_bias && m.mlp_bias,
          "gpt2: n_inner default 4h, tied by default, learned positions, biases");
    CHECK_EQ_I64(pc.total, 124439808LL, "GPT-2 small 124,439,808 (llm.c num_parameters)");

    load(pythia_160m, "pythia-160m.json", &m, &pc);
    CHECK(m.parallel_block && m.pos == EST_POS_ROPE && !m.tied_embeddings && m.qkv_bias,
          "gpt_neox: parallel residual, rotary, untied embed_out, qkv bias");
    /* Pythia README (EleutherAI/pythia) model table: 160M -> 162,322,944 total params,
       85,056,000 non-embedding */
    CHECK_EQ_I64(pc.total, 162322944LL, "Pythia-160M total (Pythia README)");
    CHECK_EQ_I64(pc.non_embedding, 85056000LL, "Pythia-160M non-embedding (Pythia README)");

    load(gemma_7b, "gemma-7b.json", &m, &pc);
    CHECK(m.tied_embeddings && m.act == EST_ACT_GEGLU && m.head_dim == 256,
          "gemma: tied by default, GeGLU, head_dim 256 (not 3072/16)");
    /* Gemma report (Gemma Team 2024, arXiv:2403.08295) Table 2: 7B non-embedding parameters
       7,751,248,896. (Its embedding count 786,825,216 uses the padded vocab 256,128; config.json
       has 256,000, so only the non-embedding count is compared.) */
    CHECK_EQ_I64(pc.non_embedding, 7751248896LL, "Gemma-7B non-embedding (Gemma report T2)");

    load(qwen3_8b, "qwen3-8b.json", &m, &pc);
    CHECK(m.qk_norm && !m.qkv_bias, "qwen3: q/k norm, no qkv bias");
    /* Qwen3-8B model card: 8.2B parameters, 6.95B non-embedding */
    CHECK_ABS((double)pc.total, 8.2e9, 0.05e9, "Qwen3-8B 8.2B (model card)");
    CHECK_ABS((double)pc.non_embedding, 6.95e9, 0.005e9, "Qwen3-8B non-embedding 6.95B");
}

static void bad(const char *json, est_status want, const char *needle, const char *what)
{
    est_model m;
    est_diag d = {{0}, NULL, 0};
    est_status s = prof_model_from_string(json, "config.json", &m, &d);
    int ok = s == want && strstr(d.msg, needle) != NULL;
    if (!ok) {
        fprintf(stderr, "  status %d (want %d), msg: %s\n", (int)s, (int)want, d.msg);
    }
    CHECK(ok, what);
}

static void test_bad(void)
{
    bad("{\"model_type\": \"bert\", \"hidden_size\": 768}", EST_EUNSUPPORTED,
        "model_type: \"bert\" is not supported", "unknown model_type");
    bad("{\"model_type\": \"deepseek_v3\"}", EST_EUNSUPPORTED, "deepseek_v3",
        "deepseek_v3 (MLA) refused, not miscounted");
    bad("{\"model_type\": 7}", EST_EINVAL, "model_type: expected a string", "model_type type");
    bad("{\"model_type\": \"llama\", \"hidden_size\": 4096, \"num_hidden_layers\": 32,"
        " \"intermediate_size\": 14336, \"vocab_size\": 128256}",
        EST_EINVAL, "config.json: num_attention_heads: missing (required for model_type llama)",
        "missing field names file, field and model_type");
    bad("{\"model_type\": \"llama\", \"hidden_size\": \"4096\", \"num_hidden_layers\": 32,"
        " \"num_attention_heads\": 32, \"intermediate_size\": 14336, \"vocab_size\": 128256}",
        EST_EINVAL, "hidden_size: expected an integer", "wrong type");
    bad("{\"model_type\": \"llama\", \"hidden_size\": 4096, \"num_hidden_layers\": -32,"
        " \"num_attention_heads\": 32, \"intermediate_size\": 14336, \"vocab_size\": 128256}",
        EST_EINVAL, "num_hidden_layers: -32 must be positive", "negative");
    bad("{\"model_type\": \"llama\", \"hidden_size\": 4096, \"num_hidden_layers\": 32,"
        " \"num_attention_heads\": 32, \"num_key_value_heads\": 5, \"intermediate_size\": 14336,"
        " \"vocab_size\": 128256}",
        EST_EINVAL, "kv_heads", "kv heads not dividing heads");
    bad("{\"model_type\": \"llama\", \"hidden_size\": 4096, \"num_hidden_layers\": 32,"
        " \"num_attention_heads\": 32, \"intermediate_size\": 14336, \"vocab_size\": 128256,"
        " \"tie_word_embeddings\": \"no\"}",
        EST_EINVAL, "tie_word_embeddings", "bool of wrong type");
    bad("{\"model_type\": \"llama\", \"hidden_size\": 4096, \"num_hidden_layers\": 32,"
        " \"num_attention_heads\": 32, \"intermediate_size\": 14336, \"vocab_size\": 128256,"
        " \"hidden_act\": \"relu\"}",
        EST_EUNSUPPORTED, "hidden_act", "unmodelled activation");
    bad("{\"model_type\": \"qwen2_moe\", \"hidden_size\": 2048, \"num_hidden_layers\": 24,"
        " \"num_attention_heads\": 16, \"intermediate_size\": 5632, \"vocab_size\": 151936,"
        " \"num_experts\": 60, \"num_experts_per_tok\": 4, \"moe_intermediate_size\": 1408,"
        " \"mlp_only_layers\": [3, 7]}",
        EST_EUNSUPPORTED, "mlp_only_layers", "mlp_only_layers other than a prefix");
    bad("{\"model_type\": \"llama\",\n \"hidden_size\": 4096,,}", EST_EPARSE,
        "config.json:2:", "malformed config.json names line 2");

    /* mlp_only_layers as a prefix: the first 2 layers dense */
    est_model m;
    est_diag d = {{0}, NULL, 0};
    est_status s = prof_model_from_string(
        "{\"model_type\": \"qwen2_moe\", \"hidden_size\": 2048, \"num_hidden_layers\": 24,"
        " \"num_attention_heads\": 16, \"intermediate_size\": 5632, \"vocab_size\": 151936,"
        " \"num_experts\": 60, \"num_experts_per_tok\": 4, \"moe_intermediate_size\": 1408,"
        " \"mlp_only_layers\": [0, 1], \"decoder_sparse_step\": 1}",
        "c.json", &m, &d);
    CHECK(s == EST_OK && m.moe_first_dense == 2 && m.moe_every == 1 && m.shared_experts == 0,
          "mlp_only_layers [0,1] -> moe_first_dense 2; no shared expert without its size");
    est_param_counts pc;
    est_model_params(&m, &pc);
    CHECK_EQ_I64(pc.moe_layers, 22, "22 of 24 layers sparse");
}

int main(void)
{
    test_counts();
    test_bad();
    return check_summary();
}
