/* test_est_config.c -- configuration resolution, name parsing and the diagnostic formatter.
 * Expected values are worked by hand in the comments.
 */
#include <string.h>

#include "check.h"
#include "est/config.h"
#include "est/status.h"

static void test_diag_format(void)
{
    est_diag d;
    est_diag_set(&d, EST_EINVAL, "f", 1, "%s=%d %lld %g %.2f %zu %%", "tp", -3, 123456789012LL,
                 0.125, 2.345, (size_t)7);
    CHECK(strcmp(d.msg, "tp=-3 123456789012 0.125 2.35 7 %") == 0, "formatter subset");
    est_diag_set(&d, EST_EINVAL, "f", 1, "%g %g %g", 1e20, 3.0, 1.0 / 3.0);
    CHECK(strcmp(d.msg, "1e20 3 0.333333") == 0, "formatter %g");
    CHECK(strcmp(est_status_str(EST_ENOTFOUND), "not found") == 0, "status names");
}

static void test_names(void)
{
    for (int i = 0; i < EST_PREC_COUNT; i++) {
        CHECK(est_precision_parse(est_precision_name((est_precision)i)) == i, "precision names");
    }
    for (int i = 0; i < EST_FW_COUNT; i++) {
        CHECK(est_framework_parse(est_framework_name((est_framework)i)) == i, "framework names");
    }
    CHECK(est_precision_parse("BF16_MIXED") == EST_PREC_BF16_MIXED, "case and _ insensitive");
    CHECK(est_optimizer_parse("lion") == -1, "unknown optimizer");
}

static void test_param_counts(void)
{
    /* GPT-2 small (Radford et al. 2019; HF gpt2): 124,439,808 parameters:
       embeddings 50257*768 + 1024*768 = 39,383,808; per layer attention 4*768^2 + 4*768 =
       2,362,368, MLP 2*768*3072 + 3072 + 768 = 4,722,432, two LayerNorms 3,072 -> 7,087,872;
       x12 = 85,054,464; final LayerNorm 1,536; tied head */
    est_model m;
    memset(&m, 0, sizeof m);
    m.hidden = 768;
    m.layers = 12;
    m.heads = 12;
    m.kv_heads = 12;
    m.head_dim = 64;
    m.ffn = 3072;
    m.vocab = 50257;
    m.max_positions = 1024;
    m.norm = EST_NORM_LAYERNORM;
    m.act = EST_ACT_GELU;
    m.pos = EST_POS_LEARNED;
    m.tied_embeddings = true;
    m.qkv_bias = m.out_bias = m.mlp_bias = true;
    est_param_counts pc;
    est_model_params(&m, &pc);
    CHECK_EQ_I64(pc.total, 124439808, "GPT-2 small 124,439,808 parameters");
    CHECK_EQ_I64(pc.lm_head, 0, "tied head");
}

static void test_resolve_defaults(void)
{
    est_model m;
    memset(&m, 0, sizeof m);
    m.hidden = 4096;
    m.layers = 32;
    m.heads = 32;
    m.kv_heads = 8;
    m.head_dim = 128;
    m.ffn = 14336;
    m.vocab = 128256;
    m.norm = EST_NORM_RMSNORM;
    m.act = EST_ACT_SWIGLU;
    m.pos = EST_POS_ROPE;
    est_gpu g;
    memset(&g, 0, sizeof g);
    g.memory_bytes = 80ULL << 30;
    g.peak_flop_per_s[EST_DT_BF16] = 989e12;
    g.hbm_bytes_per_s = 3.35e12;
    g.nvlink_bytes_per_s = 450e9;
    g.pcie_bytes_per_s = 64e9;
    est_cluster c = est_cluster_for_gpu(&g);
    est_config cfg = {&m, &g, &c, est_parallel_default()};
    cfg.par.gpus = 64;
    cfg.par.tp = 8;
    cfg.par.mbs = 2;
    est_diag d = {{0}, NULL, 0};
    CHECK(est_config_resolve(&cfg, &d) == EST_OK, "resolves");
    CHECK_EQ_I64(cfg.par.dp, 8, "dp = 64/8");
    CHECK_EQ_I64(cfg.par.gbs, 16, "gbs defaults to mbs*dp");
    CHECK(cfg.par.dropout == 0, "RoPE model: dropout off by default");
    CHECK(cfg.par.grads_fp32, "bf16-mixed keeps fp32 grads");
    cfg.par.tp = 16;
    cfg.par.gpus = 64;
    CHECK(est_config_resolve(&cfg, &d) == EST_EINVAL, "tp 16 > kv heads 8");
    CHECK(strstr(d.msg, "kv_heads=8") != NULL, "names kv_heads");
}

static void test_model_scaled(void)
{
    /* the planned shape lands within one layer of the target (a layer of a 70B-class model is
       ~0.9B, so within 2% of 70B; ~2.5% at 7B), keeps h/L between 48 and 512, and its heads
       divide by its KV heads (est_model_validate) */
    const double targets[] = {7e9, 70e9, 400e9, 2e12};
    for (int i = 0; i < 4; i++) {
        est_model m;
        est_diag d = {{0}, NULL, 0};
        CHECK(est_model_scaled(targets[i], &m, &d) == EST_OK, "scaled model");
        est_param_counts pc;
        est_model_params(&m, &pc);
        CHECK_REL((double)pc.total, targets[i], 0.03, "planned model size");
        CHECK(est_model_validate(&m, NULL) == EST_OK, "planned model is valid");
        double aspect = (double)m.hidden / (double)m.layers;
        CHECK(aspect >= 48.0 && aspect <= 512.0, "planned aspect ratio");
    }
    est_model m;
    CHECK(est_model_scaled(1e15, &m, NULL) == EST_ERANGE, "absurd size refused");
}

int main(void)
{
    test_model_scaled();
    test_diag_format();
    test_names();
    test_param_counts();
    test_resolve_defaults();
    return check_summary();
}
