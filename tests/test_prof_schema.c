/* test_prof_schema.c -- llmcal's own model schema from strings (good and bad snippets), the unit
 * lexer, name normalisation and suggestion, and $LLMCAL_PROFILE_PATH user overrides.
 *
 * Expected numbers: parameter counts are hand-derived in the comments; line:column values are
 * counted in the snippets themselves.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "prof/prof.h"

/* a minimal valid GPT-style model: h 64, L 2, a 4, f 256, v 100, 16 learned positions */
#define GOOD_HEAD                                                                                  \
    "{\"hidden\": 64, \"layers\": 2, \"heads\": 4, \"ffn\": 256, \"vocab\": 100,\n"                \
    " \"max_positions\": 16, \"norm\": \"layernorm\", \"act\": \"gelu\", \"pos\": \"learned\",\n"  \
    " \"tied_embeddings\": true, \"biases\": true"

static int contains(const char *hay, const char *needle)
{
    return strstr(hay, needle) != NULL;
}

/* expects status `want` and every needle in the message */
static void bad(const char *json, est_status want, const char *needle1, const char *needle2,
                const char *what)
{
    est_model m;
    est_diag d = {{0}, NULL, 0};
    est_status s = prof_model_from_string(json, "t.json", &m, &d);
    if (s != want || !contains(d.msg, needle1) || (needle2 && !contains(d.msg, needle2))) {
        fprintf(stderr, "  status %d (want %d), msg: %s\n", (int)s, (int)want, d.msg);
    }
    CHECK(s == want && contains(d.msg, needle1) && (needle2 == NULL || contains(d.msg, needle2)),
          what);
}

static void test_good(void)
{
    est_model m;
    est_diag d = {{0}, NULL, 0};
    est_status s = prof_model_from_string(GOOD_HEAD "}", "tiny.json", &m, &d);
    CHECK(s == EST_OK, d.msg);
    CHECK_EQ_I64(m.kv_heads, 4, "kv_heads defaults to heads");
    CHECK_EQ_I64(m.head_dim, 16, "head_dim defaults to hidden/heads = 64/4");
    CHECK(m.qkv_bias && m.out_bias && m.mlp_bias, "biases: true sets all three");
    CHECK(strcmp(m.name, "tiny") == 0, "name is the origin's stem");
    est_param_counts pc;
    est_model_params(&m, &pc);
    /* 12h^2+13h per layer = 49152+832 = 49984, *2 = 99968; (100+16)*64 = 7424; final 2h = 128
       -> 107,520 (Narayanan Eq. 2 + final LayerNorm) */
    CHECK_EQ_I64(pc.total, 107520, "tiny GPT total (hand-derived)");

    s = prof_model_from_string(GOOD_HEAD ", \"kv_heads\": 2, \"qkv_bias\": false, "
                                         "\"params_stated\": \"0.1M\"}",
                               NULL, &m, &d);
    CHECK(s == EST_OK && m.kv_heads == 2 && !m.qkv_bias && m.out_bias, "overrides");
    CHECK_ABS(m.params_stated, 1e5, 1e-6, "params_stated \"0.1M\" = 100000");
}

static void test_bad(void)
{
    bad("{\"hidden\": 64,\n \"layers\": }", EST_EPARSE, "t.json:2:", NULL,
        "malformed JSON: EPARSE with line 2");
    bad("{\"hidden\": 64, \"layers\": 2", EST_EPARSE, "t.json:1:", NULL, "truncated JSON");
    bad("", EST_EPARSE, "t.json", NULL, "empty text");
    bad("[1, 2]", EST_EPARSE, "top level", NULL, "array at top level");
    bad("{\"hidden\": 64, \"layers\": 2, \"heads\": 4, \"ffn\": 256, \"norm\": \"layernorm\", "
        "\"act\": \"gelu\", \"pos\": \"rope\", \"tied_embeddings\": true, \"biases\": false}",
        EST_EINVAL, "vocab", "missing", "missing vocab");
    bad(GOOD_HEAD ", \"kv_heads\": -2}", EST_EINVAL, "kv_heads", "positive", "negative kv_heads");
    bad(GOOD_HEAD ", \"experts\": -1}", EST_EINVAL, "experts", "negative", "negative experts");
    bad(GOOD_HEAD ", \"head_dim\": \"16\"}", EST_EINVAL, "head_dim", "integer",
        "string where integer");
    bad(GOOD_HEAD ", \"qk_norm\": 1}", EST_EINVAL, "qk_norm", "true or false", "int where bool");
    bad(GOOD_HEAD ", \"kv_head\": 2}", EST_EINVAL, "kv_head", "unknown key", "typo: unknown key");
    bad(GOOD_HEAD ", \"hidden\": 32}", EST_EPARSE, "duplicate", NULL, "duplicate key");
    bad(GOOD_HEAD ", \"layers_x\": 1.5}", EST_EINVAL, "layers_x", "unknown", "unknown key 2");
    bad("{\"hidden\": 64.5, \"layers\": 2}", EST_EINVAL, "hidden", "whole number",
        "fractional integer");
    bad("{\"hidden\": 64, \"layers\": 2, \"heads\": 4, \"ffn\": 256, \"vocab\": 100, "
        "\"norm\": \"rmsnorm\", \"act\": \"relu\", \"pos\": \"rope\", \"tied_embeddings\": true, "
        "\"biases\": false}",
        EST_EINVAL, "act", "swiglu", "unknown enum names the choices");
    bad("{\"hidden\": 64, \"layers\": 2, \"heads\": 4, \"ffn\": 256, \"vocab\": 100, "
        "\"norm\": \"rmsnorm\", \"act\": \"gelu\", \"pos\": \"learned\", "
        "\"tied_embeddings\": true, \"biases\": false}",
        EST_EINVAL, "max_positions", "missing", "learned positions need max_positions");
    bad(GOOD_HEAD ", \"kv_heads\": 3}", EST_EINVAL, "kv_heads", "divide",
        "est_model_validate: kv_heads must divide heads");
    bad(GOOD_HEAD ", \"experts\": 8, \"moe_ffn\": 64}", EST_EINVAL, "top_k", "missing",
        "MoE needs top_k");
    bad(GOOD_HEAD ", \"top_k\": 2}", EST_EINVAL, "experts", NULL, "MoE fields without experts");
    bad(GOOD_HEAD ", \"params_stated\": \"7 parsecs\"}", EST_EINVAL, "params_stated", "unit",
        "bad unit in params_stated");
    bad(GOOD_HEAD ", \"source\": 5}", EST_EINVAL, "source", NULL, "source of wrong type");
    bad(GOOD_HEAD ", \"source\": {\"config\": 5}}", EST_EINVAL, "source.config", NULL,
        "source object of non-strings");
}

static void test_units(void)
{
    double v = 0;
    double ulp = 0;
    CHECK(prof_parse_quantity("80GiB", PROF_UNIT_BYTES, &v, NULL, NULL) == EST_OK &&
              v == 85899345920.0,
          "80GiB = 80 * 2^30");
    CHECK(prof_parse_quantity("81559MiB", PROF_UNIT_BYTES, &v, NULL, NULL) == EST_OK &&
              v == 85520809984.0,
          "81559MiB = 85520809984 B (nvidia-smi H100)");
    CHECK(prof_parse_quantity("40 GB", PROF_UNIT_BYTES, &v, NULL, NULL) == EST_OK && v == 40e9,
          "40 GB = 40e9 (decimal)");
    CHECK(prof_parse_quantity("3.35TB/s", PROF_UNIT_BYTES_PER_S, &v, NULL, NULL) == EST_OK &&
              fabs(v - 3.35e12) < 1,
          "3.35TB/s");
    CHECK(prof_parse_quantity("400Gb/s", PROF_UNIT_BYTES_PER_S, &v, NULL, NULL) == EST_OK &&
              v == 50e9,
          "400Gb/s = 50e9 B/s (bits / 8)");
    CHECK(prof_parse_quantity("400Gbps", PROF_UNIT_BYTES_PER_S, &v, NULL, NULL) == EST_OK &&
              v == 50e9,
          "400Gbps");
    CHECK(prof_parse_quantity("989.4TFLOP/s", PROF_UNIT_FLOP_PER_S, &v, NULL, NULL) == EST_OK &&
              fabs(v - 989.4e12) < 1,
          "989.4TFLOP/s");
    CHECK(prof_parse_quantity("312TFLOPS", PROF_UNIT_FLOP_PER_S, &v, NULL, NULL) == EST_OK &&
              v == 312e12,
          "312TFLOPS");
    CHECK(prof_parse_quantity("2.25PFLOP/s", PROF_UNIT_FLOP_PER_S, &v, NULL, NULL) == EST_OK &&
              fabs(v - 2.25e15) < 1,
          "2.25PFLOP/s");
    CHECK(prof_parse_quantity("3us", PROF_UNIT_SECONDS, &v, NULL, NULL) == EST_OK &&
              fabs(v - 3e-6) < 1e-18,
          "3us");
    CHECK(prof_parse_quantity("1.5 ms", PROF_UNIT_SECONDS, &v, NULL, NULL) == EST_OK &&
              fabs(v - 1.5e-3) < 1e-15,
          "1.5 ms");
    CHECK(prof_parse_quantity("70.6B", PROF_UNIT_PARAMS, &v, &ulp, NULL) == EST_OK &&
              fabs(v - 70.6e9) < 1 && fabs(ulp - 0.05e9) < 1,
          "70.6B, tolerance 0.05B");
    CHECK(prof_parse_quantity("124439808", PROF_UNIT_PARAMS, &v, &ulp, NULL) == EST_OK &&
              v == 124439808.0 && ulp == 0.5,
          "exact count, tolerance 0.5");
    CHECK(prof_parse_quantity("1.5e3", PROF_UNIT_PARAMS, &v, &ulp, NULL) == EST_OK && v == 1500 &&
              fabs(ulp - 50) < 1e-9,
          "1.5e3: tolerance 0.05e3");
    est_diag d = {{0}, NULL, 0};
    CHECK(prof_parse_quantity("80GiB/s", PROF_UNIT_BYTES, &v, NULL, &d) == EST_EINVAL,
          "rate where a size is expected");
    CHECK(prof_parse_quantity("-5GB", PROF_UNIT_BYTES, &v, NULL, &d) == EST_EINVAL &&
              contains(d.msg, "negative"),
          "negative quantity");
    CHECK(prof_parse_quantity("GB", PROF_UNIT_BYTES, &v, NULL, &d) == EST_EINVAL,
          "unit without number");
    CHECK(prof_parse_quantity("80GB", PROF_UNIT_BYTES_PER_S, &v, NULL, &d) == EST_EINVAL &&
              contains(d.msg, "GB/s"),
          "size where a rate is expected names the form");
    CHECK(prof_parse_quantity("5 furlongs", PROF_UNIT_SECONDS, &v, NULL, &d) == EST_EINVAL,
          "unknown unit");
    CHECK(prof_parse_quantity("", PROF_UNIT_SECONDS, &v, NULL, &d) == EST_EINVAL, "empty");
}

static void test_names(void)
{
    est_model m;
    est_diag d = {{0}, NULL, 0};
    est_status s = prof_model_load("lama-3-8b", &m, &d);
    CHECK(s == EST_ENOTFOUND, "unknown model -> EST_ENOTFOUND");
    CHECK(strcmp(d.msg, "unknown model 'lama-3-8b' (did you mean 'llama-3-8b'?)") == 0, d.msg);
    s = prof_model_load("zzzzzzzzzzzzzzzzzzzz", &m, &d);
    CHECK(s == EST_ENOTFOUND && !contains(d.msg, "did you mean"), "far name: no suggestion");
    char buf[LLMCAL_NAME_MAX];
    prof_suggest(PROF_GPU, "h100sxm", buf, sizeof buf);
    CHECK(strcmp(buf, "h100-sxm") == 0, "GPU suggestion h100sxm -> h100-sxm");
    CHECK(prof_model_load("LLAMA_3.1_8B", &m, &d) == EST_OK && strcmp(m.name, "llama-3.1-8b") == 0,
          "case-insensitive, '_' and '.' match '-'");
    CHECK(prof_model_load("Llama-3-1-8b", &m, &d) == EST_OK, "'-' matches '.' in the stem");
    est_gpu g;
    CHECK(prof_gpu_load("no/such/file.json", &g, &d) == EST_EIO && contains(d.msg, "cannot open"),
          "missing file -> EST_EIO");
}

static void test_user_path(void)
{
    char dir[] = "/tmp/llmcal_prof_test_XXXXXX";
    if (mkdtemp(dir) == NULL) {
        CHECK(0, "mkdtemp");
        return;
    }
    char sub[256];
    char path[300];
    snprintf(sub, sizeof sub, "%s/models", dir);
    CHECK(mkdir(sub, 0700) == 0, "mkdir models");
    /* a user file shadowing a built-in name, and a new one */
    snprintf(path, sizeof path, "%s/llama-3-8b.json", sub);
    FILE *f = fopen(path, "w");
    if (f != NULL) {
        fputs(GOOD_HEAD ", \"description\": \"user override\"}\n", f);
        fclose(f);
    }
    snprintf(path, sizeof path, "%s/my-model.json", sub);
    f = fopen(path, "w");
    if (f != NULL) {
        fputs(GOOD_HEAD "}\n", f);
        fclose(f);
    }
    setenv("LLMCAL_PROFILE_PATH", dir, 1);
    est_model m;
    est_diag d = {{0}, NULL, 0};
    CHECK(prof_model_load("llama-3-8b", &m, &d) == EST_OK && m.hidden == 64,
          "LLMCAL_PROFILE_PATH is searched before the built-in dir");
    CHECK(prof_model_load("my-model", &m, &d) == EST_OK && m.hidden == 64, "user-only model");
    char names[256][LLMCAL_NAME_MAX];
    size_t n = prof_list(PROF_MODEL, names, 256);
    int found = 0;
    int dup = 0;
    for (size_t i = 0; i < n && i < 256; i++) {
        found += strcmp(names[i], "my-model") == 0;
        dup += strcmp(names[i], "llama-3-8b") == 0;
    }
    CHECK(found == 1, "prof_list includes the user's model");
    CHECK(dup == 1, "a shadowed name is listed once");
    for (size_t i = 1; i < n && i < 256; i++) {
        if (strcmp(names[i - 1], names[i]) >= 0) {
            CHECK(0, "prof_list is sorted");
            break;
        }
    }
    char desc[256];
    prof_describe(PROF_MODEL, "my-model", desc, sizeof desc);
    CHECK(contains(desc, "params"), desc);
    /* a path argument: read directly */
    CHECK(prof_model_load(path, &m, &d) == EST_OK && strcmp(m.name, "my-model") == 0,
          "path argument");
    unsetenv("LLMCAL_PROFILE_PATH");
    CHECK(prof_model_load("my-model", &m, &d) == EST_ENOTFOUND, "gone without the env var");
    CHECK(prof_model_load("llama-3-8b", &m, &d) == EST_OK && m.hidden == 4096,
          "built-in again without the env var");
    remove(path);
    snprintf(path, sizeof path, "%s/llama-3-8b.json", sub);
    remove(path);
    rmdir(sub);
    rmdir(dir);
}

static void test_builtin_dir(void)
{
    setenv("LLMCAL_PROFILE_DIR", "/nonexistent-llmcal", 1);
    CHECK(strcmp(prof_builtin_dir(), "/nonexistent-llmcal") == 0, "LLMCAL_PROFILE_DIR wins");
    est_model m;
    CHECK(prof_model_load("llama-3-8b", &m, NULL) == EST_ENOTFOUND, "nothing in a bare dir");
    unsetenv("LLMCAL_PROFILE_DIR");
    CHECK(strcmp(prof_builtin_dir(), LLMCAL_SOURCE_DIR "/profiles") == 0,
          "compiled-in source tree dir");
}

int main(void)
{
    test_good();
    test_bad();
    test_units();
    test_names();
    test_user_path();
    test_builtin_dir();
    return check_summary();
}
