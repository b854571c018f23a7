/* test_cal_io.c -- calibration files and plans: sample TSV round trip and malformed files (EPARSE
 * naming the line), calibrated profile JSON round trip and strictness, the calibrate sweep's GEMM
 * shapes for a model, and validate's predicted-vs-measured comparison.
 *
 * Expected values: shapes from the Llama-3.1-8B config.json (hidden 4096, 32 heads, 8 kv heads,
 * head_dim 128, ffn 14336, vocab 128256; huggingface.co/meta-llama/Llama-3.1-8B) worked by hand
 * below; errors in percent from their definition 100 * (predicted - measured) / measured.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cal/compare.h"
#include "cal/fit.h"
#include "cal/plan.h"
#include "cal/profile.h"
#include "cal/samples_io.h"
#include "check.h"
#include "prof/prof.h"

// ---------------------------------------------------------------------------
// sample files

static void fill_set(cal_sample_set *set)
{
    cal_sample_set_init(set);
    cal_meta_set(&set->meta, "device", "NVIDIA H200", NULL);
    cal_meta_set(&set->meta, "date", "2025-01-31", NULL);
    est_sample g = est_sample_default(EST_SAMPLE_GEMM);
    g.m = 8192;
    g.n = 3072;
    g.k = 4096;
    g.min_s = 1.0e-4 / 3.0; /* not short in decimal: must still read back exactly */
    g.p50_s = 0.1e-3;
    g.p99_s = 1.234567890123e-4;
    g.count = 20;
    cal_sample_set_push(set, &g, NULL);
    est_sample a = est_sample_default(EST_SAMPLE_ATTENTION);
    a.b = 2;
    a.heads = 16;
    a.head_dim = 128;
    a.seq = 4096;
    a.seq_kv = 4096;
    a.attn = EST_ATTN_STANDARD;
    a.backward = true;
    a.p50_s = 2e-3;
    cal_sample_set_push(set, &a, NULL);
    est_sample m = est_sample_default(EST_SAMPLE_MEMBOUND);
    m.bytes = 1 << 30;
    m.p50_s = 3e-4;
    cal_sample_set_push(set, &m, NULL);
    est_sample c = est_sample_default(EST_SAMPLE_COLLECTIVE);
    c.coll = EST_COLL_REDUCE_SCATTER;
    c.algo = EST_ALGO_RING;
    c.link = EST_LINK_INTER;
    c.nranks = 16;
    c.bytes = 268435456;
    c.min_s = 5e-3;
    c.p50_s = 5.5e-3;
    c.p99_s = 6e-3;
    c.count = 50;
    cal_sample_set_push(set, &c, NULL);
}

static void test_tsv_round_trip(void)
{
    cal_sample_set a;
    fill_set(&a);
    char path[] = "/tmp/llmcal_cal_io_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "temp file");
    close(fd);
    est_diag d = {{0}, NULL, 0};
    CHECK(cal_samples_save(path, &a, &d) == EST_OK, "save samples");
    cal_sample_set b;
    est_status st = cal_samples_load(path, &b, &d);
    CHECK(st == EST_OK, "load samples back");
    if (st != EST_OK) {
        fprintf(stderr, "  %s\n", d.msg);
        cal_sample_set_free(&a);
        return;
    }
    CHECK_EQ_I64(b.n, a.n, "sample count survives");
    for (size_t i = 0; i < a.n && i < b.n; i++) {
        /* every field, bit for bit (NAN == NAN compared as both NAN) */
        const est_sample *x = &a.s[i];
        const est_sample *y = &b.s[i];
        CHECK(x->kind == y->kind && x->dtype == y->dtype && x->batch == y->batch && x->m == y->m &&
                  x->n == y->n && x->k == y->k && x->b == y->b && x->heads == y->heads &&
                  x->head_dim == y->head_dim && x->seq == y->seq && x->seq_kv == y->seq_kv &&
                  x->attn == y->attn && x->backward == y->backward,
              "shape fields survive");
        CHECK((x->kind != EST_SAMPLE_ATTENTION || x->causal == y->causal) &&
                  (x->kind != EST_SAMPLE_COLLECTIVE ||
                   (x->coll == y->coll && x->algo == y->algo && x->link == y->link &&
                    x->nranks == y->nranks)),
              "enum fields survive");
        CHECK(x->bytes == y->bytes && x->p50_s == y->p50_s && x->count == y->count &&
                  (x->min_s == y->min_s || (isnan(x->min_s) && isnan(y->min_s))) &&
                  (x->p99_s == y->p99_s || (isnan(x->p99_s) && isnan(y->p99_s))),
              "numbers read back exactly");
    }
    CHECK(cal_meta_get(&b.meta, "device") != NULL &&
              strcmp(cal_meta_get(&b.meta, "device"), "NVIDIA H200") == 0,
          "metadata survives");
    remove(path);
    cal_sample_set_free(&a);
    cal_sample_set_free(&b);
}

static void expect_parse_error(const char *text, const char *needle, const char *what)
{
    cal_sample_set s;
    est_diag d = {{0}, NULL, 0};
    est_status st = cal_samples_from_string(text, "t.tsv", &s, &d);
    printf("  %s -> %s\n", what, d.msg);
    CHECK(st == EST_EPARSE, what);
    CHECK(strstr(d.msg, needle) != NULL, what);
    CHECK(s.n == 0 && s.s == NULL, "set left empty on error");
}

static void test_tsv_malformed(void)
{
    /* a hand-written file: spaces instead of tabs, columns in another order, optional ones out */
    const char *ok = "# device: test\n"
                     "# kind m n k p50\n"
                     "# (-) (elem) (elem) (elem) (s)\n"
                     "gemm 1024 1024 1024 1e-4\n"
                     "\n"
                     "gemm 2048 2048 2048 6e-4\n";
    cal_sample_set s;
    est_diag d = {{0}, NULL, 0};
    CHECK(cal_samples_from_string(ok, "ok.tsv", &s, &d) == EST_OK, "subset of columns parses");
    CHECK_EQ_I64(s.n, 2, "two samples");
    CHECK(s.n == 2 && s.s[1].m == 2048 && s.s[1].p50_s == 6e-4, "values by column name");
    cal_sample_set_free(&s);

    expect_parse_error("# kind m n k p50\ngemm 1024 1024 1024\n", "t.tsv:2: 4 fields",
                       "missing field");
    expect_parse_error("# kind m n k p50\ngemm 1024 x 1024 1e-4\n",
                       "t.tsv:2: column 'n': 'x' is not an integer", "bad integer");
    expect_parse_error("# kind m n k p50\ngemm 1024 1024 1024 fast\n",
                       "t.tsv:2: column 'p50': 'fast' is not a number", "bad number");
    expect_parse_error("# kind m n k p50\n\n\ngemv 1 1 1 1e-4\n", "t.tsv:4: column 'kind'",
                       "unknown kind, line counted past blanks");
    expect_parse_error("# kind m n k p50 flops\ngemm 1 1 1 1 1\n",
                       "t.tsv:1: header: unknown column 'flops'", "unknown column");
    expect_parse_error("gemm 1 1 1 1\n", "t.tsv:1: a sample before", "no header first");
    expect_parse_error("# kind m n k p50\ngemm 0 1024 1024 1e-4\n",
                       "t.tsv:2: sample.m: 0 must be positive", "zero dimension");
    expect_parse_error("# kind m n k p50\ngemm 1 1 1 -1e-4\n", "t.tsv:2: sample.p50_s",
                       "negative time");
    expect_parse_error("# kind bytes coll nranks p50\ncollective 1024 broadcast 8 1e-5\n",
                       "column 'coll': 'broadcast' is not one of", "unknown collective");
    expect_parse_error("# kind bytes coll nranks p50\ncollective 1024 all-reduce 1 1e-5\n",
                       "sample.nranks: 1 ranks", "all-reduce on one rank");
    expect_parse_error("# device: x\n", "no '# kind ...' header", "no header at all");
    expect_parse_error("# kind m n k p50\n", "no samples", "header only");
    expect_parse_error("# kind m kind p50\n", "given twice", "duplicate column");

    cal_sample_set none;
    CHECK(cal_samples_load("/nonexistent/samples.tsv", &none, &d) == EST_EIO, "missing file");
    CHECK(strstr(d.msg, "/nonexistent/samples.tsv") != NULL, "names the path");
}

// ---------------------------------------------------------------------------
// calibrated profiles

static void test_profile_round_trip(void)
{
    est_gpu g;
    est_diag d = {{0}, NULL, 0};
    est_status st = prof_gpu_load("h200", &g, &d);
    CHECK(st == EST_OK, "built-in h200 loads");
    if (st != EST_OK) {
        return;
    }
    est_coeffs k = est_coeffs_from_hw(&g, NULL);
    k.gemm_eff_max = 0.7123;
    k.intra_bytes_per_s = 3.7e11;
    cal_report rep;
    memset(&rep, 0, sizeof rep);
    rep.n_used = 42;
    rep.rms_rel = 0.031;
    rep.max_rel = 0.09;
    rep.param[CAL_GEMM_EFF_MAX].fitted = true;
    rep.param[CAL_GEMM_EFF_MAX].std_err = 0.004;
    rep.param[CAL_INTRA_BW].fitted = true;
    rep.param[CAL_INTRA_BW].std_err = 2e9;
    cal_meta meta;
    memset(&meta, 0, sizeof meta);
    cal_meta_set(&meta, "device", "NVIDIA H200", NULL);
    cal_meta_set(&meta, "driver", "570.86.15", NULL);
    cal_meta_set(&meta, "cuda", "12.8", NULL);
    cal_meta_set(&meta, "date", "2025-02-01T10:00:00Z", NULL);
    cal_profile p;
    cal_profile_from_fit(&p, "h200", &k, &rep, &meta);
    char path[] = "/tmp/llmcal_cal_prof_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    CHECK(cal_profile_save(path, &p, &rep, "samples.tsv", &d) == EST_OK, "profile saves");
    cal_profile q;
    st = cal_profile_load(path, &q, &d);
    CHECK(st == EST_OK, "profile loads back");
    if (st == EST_OK) {
        CHECK(strcmp(q.gpu, "h200") == 0 && strcmp(q.device, "NVIDIA H200") == 0 &&
                  strcmp(q.driver, "570.86.15") == 0 && strcmp(q.cuda, "12.8") == 0,
              "provenance survives");
        CHECK_EQ_I64(q.samples, 42, "sample count survives");
        CHECK_REL(q.coeffs.gemm_eff_max, 0.7123, 1e-12, "fitted value survives");
        CHECK_REL(q.coeffs.peak_flop_per_s[EST_DT_BF16], k.peak_flop_per_s[EST_DT_BF16], 1e-12,
                  "peak survives");
        CHECK_EQ_I64(q.fitted, CAL_BIT(CAL_GEMM_EFF_MAX) | CAL_BIT(CAL_INTRA_BW), "fitted set");
        CHECK_REL(q.std_err[CAL_INTRA_BW], 2e9, 1e-12, "uncertainty survives");
    }
    /* overlay onto another cluster's defaults: only the fitted fields move */
    est_cluster cl = est_cluster_for_gpu(&g);
    cl.inter_bytes_per_s = 12.5e9;
    est_coeffs out;
    char gname[LLMCAL_NAME_MAX];
    st = cal_coeffs_load(path, &g, &cl, &out, gname, sizeof gname, &d);
    CHECK(st == EST_OK, "cal_coeffs_load with a gpu");
    CHECK(strcmp(gname, "h200") == 0, "reports the base gpu");
    CHECK_REL(out.gemm_eff_max, 0.7123, 1e-12, "fitted field taken");
    CHECK_REL(out.inter_bytes_per_s, 0.90 * 12.5e9, 1e-12,
              "unfitted field from this cluster (est_coeffs_from_hw: 0.90 x NIC share)");
    est_gpu other = g;
    snprintf(other.name, sizeof other.name, "h100-sxm");
    st = cal_coeffs_load(path, &other, NULL, &out, NULL, 0, &d);
    CHECK(st == EST_EINVAL, "calibration for another gpu refused");
    CHECK(strstr(d.msg, "is for gpu 'h200', not 'h100-sxm'") != NULL, "says which gpus");
    remove(path);

    st = cal_profile_load("no-such-calibration", &q, &d);
    CHECK(st == EST_ENOTFOUND, "unknown name");
    CHECK(strstr(d.msg, "no-such-calibration") != NULL, "names it");
}

static void expect_profile_error(const char *json, est_status want, const char *needle,
                                 const char *what)
{
    cal_profile p;
    est_diag d = {{0}, NULL, 0};
    est_status st = cal_profile_from_string(json, "c.json", &p, &d);
    printf("  %s -> %s\n", what, d.msg);
    CHECK(st == want, what);
    CHECK(strstr(d.msg, needle) != NULL, what);
}

static void test_profile_bad(void)
{
    expect_profile_error("{\"gpu\": \"h200\"", EST_EPARSE, "c.json:1:", "truncated JSON");
    expect_profile_error("{\"gpu\": \"h200\"}", EST_EINVAL, "llmcal_calibrated_profile: missing",
                         "not a calibrated profile");
    expect_profile_error("{\"llmcal_calibrated_profile\": 9, \"gpu\": \"h200\"}", EST_EUNSUPPORTED,
                         "version 9", "future version");
    expect_profile_error("{\"llmcal_calibrated_profile\": 1, \"gpu\": \"h200\", \"colour\": 1}",
                         EST_EINVAL, "colour: unknown key", "unknown key");
    expect_profile_error("{\"llmcal_calibrated_profile\": 1, \"gpu\": \"h200\"}", EST_EINVAL,
                         "coeffs: missing", "no coeffs");
    expect_profile_error("{\"llmcal_calibrated_profile\": 1, \"gpu\": \"h200\", \"coeffs\": "
                         "{\"peak_flop_per_s\": {\"bf16\": 1e15}}}",
                         EST_EINVAL, "coeffs.peak_flop_per_s.fp32: missing", "missing peak");
}

// ---------------------------------------------------------------------------
// plan

static bool has_gemm(const cal_sample_set *s, int64_t m, int64_t n, int64_t k)
{
    for (size_t i = 0; i < s->n; i++) {
        if (s->s[i].kind == EST_SAMPLE_GEMM && s->s[i].m == m && s->s[i].n == n && s->s[i].k == k) {
            return true;
        }
    }
    return false;
}

static void test_plan(void)
{
    est_model m;
    est_diag d = {{0}, NULL, 0};
    est_status st = prof_model_load("llama-3.1-8b", &m, &d);
    CHECK(st == EST_OK, "llama-3.1-8b loads");
    if (st != EST_OK) {
        return;
    }
    cal_plan_options o = cal_plan_default();
    o.model = &m;
    o.tp = 2;
    o.mbs = 1;
    o.seq = 8192;
    o.generic = false;
    o.gpus = 2;
    cal_sample_set s;
    cal_sample_set_init(&s);
    CHECK(cal_plan_build(&o, &s, &d) == EST_OK, "plan builds");
    /* T = 1 * 8192 tokens; TP 2: 16 q heads and 4 kv heads of 128 per rank.
       QKV: n = (16 + 2*4) * 128 = 3072, k = 4096 -> fwd (8192,3072,4096), dgrad (8192,4096,3072),
       wgrad (4096,3072,8192). Output proj: n = 4096, k = 16*128 = 2048. SwiGLU up+gate:
       n = 2 * 14336 / 2 = 14336, k = 4096; down: n = 4096, k = 7168. LM head: n = 128256/2 =
       64128, k = 4096. */
    CHECK(has_gemm(&s, 8192, 3072, 4096), "QKV forward");
    CHECK(has_gemm(&s, 8192, 4096, 3072), "QKV input gradient");
    CHECK(has_gemm(&s, 4096, 3072, 8192), "QKV weight gradient");
    CHECK(has_gemm(&s, 8192, 4096, 2048), "attention output projection forward");
    CHECK(has_gemm(&s, 8192, 14336, 4096), "SwiGLU up+gate forward");
    CHECK(has_gemm(&s, 8192, 4096, 7168), "MLP down forward");
    CHECK(has_gemm(&s, 8192, 64128, 4096), "vocab-parallel LM head forward");
    size_t coll = 0;
    size_t attn = 0;
    for (size_t i = 0; i < s.n; i++) {
        coll += s.s[i].kind == EST_SAMPLE_COLLECTIVE;
        if (s.s[i].kind == EST_SAMPLE_ATTENTION) {
            attn++;
            CHECK(s.s[i].heads == 16 && s.s[i].head_dim == 128, "attention heads per rank");
        }
    }
    /* nccl-tests -b 1K -e 1G -f 4: 1K,4K,...,1G = 11 sizes, 5 collectives */
    CHECK_EQ_I64(coll, 55, "11 sizes x 5 collectives");
    /* seq 512..8192 doubling = 5 lengths, forward and backward */
    CHECK_EQ_I64(attn, 10, "5 lengths x fwd/bwd");
    cal_sample_set_free(&s);
    o.tp = 3;
    cal_sample_set_init(&s);
    CHECK(cal_plan_build(&o, &s, &d) == EST_EINVAL, "tp 3 does not divide 32 heads");
    CHECK(strstr(d.msg, "tp=3") != NULL, "names tp");
    cal_sample_set_free(&s);
}

// ---------------------------------------------------------------------------
// validate's comparison

static json_t *parse(const char *s)
{
    json_error_t e;
    return json_loads(s, 0, &e);
}

static void test_compare(void)
{
    json_t *pred = parse("{\"memory_bytes\": {\"weights\": 1100, \"activations\": 900,"
                         " \"peak_allocated\": 2000, \"logits\": 5},"
                         " \"time_s\": {\"compute\": 1.0, \"tp_comm\": 0.2, \"comm\": 0.3,"
                         " \"iteration\": 1.5}}");
    /* the runtime's per-rank form: memory of the rank with the largest peak, times the max over
       ranks; rank 1's tp_comm is modelled (solo mode) and is dropped with the comm sum */
    json_t *run = parse("{\"ranks\": ["
                        " {\"memory_bytes\": {\"weights\": 1000, \"activations\": 800,"
                        "   \"peak_allocated\": 1900, \"logits\": 0},"
                        "  \"time_s\": {\"forward\": 0.4, \"backward\": 0.8, \"step\": 1.2}},"
                        " {\"memory_bytes\": {\"weights\": 1000, \"peak_allocated\": 1000},"
                        "  \"time_s\": {\"forward\": 0.3, \"backward\": 0.6, \"tp_comm\": 0.1,"
                        "   \"step\": 1.25}, \"time_measured\": {\"tp_comm\": false}}]}");
    json_t *meas = NULL;
    est_diag d = {{0}, NULL, 0};
    CHECK(cal_measured_normalize(run, "run.json", &meas, &d) == EST_OK, "normalise rank form");
    json_t *err = cal_error_pct(pred, meas);
    json_t *me = json_object_get(err, "memory_bytes");
    json_t *te = json_object_get(err, "time_s");
    /* weights 100*(1100-1000)/1000 = 10; activations 100*(900-800)/800 = 12.5;
       peak 100*(2000-1900)/1900 = 5.263...; logits: measured 0, predicted 5 -> null */
    CHECK_REL(json_number_value(json_object_get(me, "weights")), 10.0, 1e-12, "weights err");
    CHECK_REL(json_number_value(json_object_get(me, "activations")), 12.5, 1e-12, "act err");
    CHECK_REL(json_number_value(json_object_get(me, "peak_allocated")), 100.0 * 100.0 / 1900.0,
              1e-12, "peak err");
    CHECK(json_is_null(json_object_get(me, "logits")), "0 measured: no percentage");
    /* compute = max over ranks of forward+backward = 0.4+0.8 = 1.2 -> 100*(1.0-1.2)/1.2;
       iteration = max(1.2, 1.25) = 1.25 -> 100*(1.5-1.25)/1.25 = 20 */
    CHECK_REL(json_number_value(json_object_get(te, "compute")), 100.0 * (1.0 - 1.2) / 1.2, 1e-12,
              "compute err");
    CHECK_REL(json_number_value(json_object_get(te, "iteration")), 20.0, 1e-12, "iteration err");
    CHECK(json_object_get(te, "tp_comm") == NULL, "modelled tp_comm not compared");
    CHECK(json_object_get(te, "comm") == NULL, "comm over a modelled part not compared");
    cal_verdict v;
    cal_verdict_of(err, &v);
    CHECK(v.mem_key != NULL && strcmp(v.mem_key, "peak_allocated") == 0, "headline memory");
    CHECK_REL(v.time_err_pct, 20.0, 1e-12, "headline time");
    CHECK(v.max_mem_key != NULL && strcmp(v.max_mem_key, "logits") == 0,
          "largest component: the undefined one counts as infinite");
    json_decref(err);
    json_decref(meas);
    json_decref(run);
    json_decref(pred);

    json_t *bad = parse("{\"memory_bytes\": {\"weights\": -1}}");
    CHECK(cal_measured_normalize(bad, "bad.json", &meas, &d) == EST_EINVAL, "negative value");
    CHECK(strstr(d.msg, "bad.json: memory_bytes.weights") != NULL, "names the key");
    json_decref(bad);
    bad = parse("{\"loss\": 2.0}");
    CHECK(cal_measured_normalize(bad, "bad.json", &meas, &d) == EST_EINVAL, "nothing to compare");
    json_decref(bad);
}

int main(void)
{
    test_tsv_round_trip();
    test_tsv_malformed();
    test_profile_round_trip();
    test_profile_bad();
    test_plan();
    test_compare();
    return check_summary();
}
