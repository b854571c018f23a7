/* test_rt_bf16.c -- mixed precision as the estimator models it (--precision bf16-mixed, Megatron
 * semantics): bf16 weights copy, activations and TP/PP traffic; fp32 main gradients, master
 * weights and AdamW moments.
 *
 * 1. bf16 rounding (rt_bf16.h) against the IEEE 754 definition of roundTiesToEven on the top 16
 *    bits of a binary32: 1 + 2^-8 is a tie between 1 and 1 + 2^-7 and goes to the even 1.0;
 *    1 + 3*2^-8 goes up to 1 + 2^-6 (0x3F82, even); anything above a tie goes up; FLT_MAX
 *    overflows to +inf; NaN stays NaN (0x7FFF, as __float2bfloat16_rn).
 * 2. Bytes per parameter (docs/memory.md, megatron bf16-mixed row, Megatron's theoretical memory
 *    "6 + 12/N_d"): weights 2 B, main gradients 4 B (sharded only by ZeRO-2), master 4 B and
 *    Adam moments 8 B divided by dp under the distributed optimizer. P from est_model_params,
 *    padded to a multiple of dp as the runtime's flat buffers are.
 * 3. Stored activations of one tiny-GPT layer in bf16 (the list of test_rt_shard.c, 2 bytes per
 *    element, fp32 mean/rstd/lse, each piece rounded up to 256 bytes), N = 16, C = 32, a = 4,
 *    f = 64: x 1024 + ln1 1024 + mean 256 + rstd 256 + qkv 3072 + atty 1024 + lse 256 + x2 1024
 *    + ln2 1024 + 256 + 256 + fc 2048 + gelu 2048 = 13568 bytes; logits of the last stage
 *    (2 + 4) x N x V = 6 x 16 x 64 = 6144 bytes (Megatron's bf16 logits + fp32 softmax).
 * 4. Equivalence in bf16, with tolerances by what a layout changes:
 *    - PP (1F1B, interleaved) and DP vs one rank: the forward is the same sequence of bf16
 *      roundings (stages exchange the bf16 tensors as they are; rows are independent), only the
 *      fp32 accumulation order of the main gradients differs: the fp32 tolerances of
 *      test_rt_pp.c / test_rt_dp.c (1e-4 gradients, 1e-3 parameters, 1e-5 loss).
 *    - ZeRO-1 vs ZeRO-0: bit for bit (same sums in rank order; AdamW elementwise; the gathered
 *      bf16 copy is the rounding of the same fp32 master).
 *    - TP vs TP=1: row-parallel partial sums are rounded to bf16 before the all-reduce and again
 *      after it (Megatron reduces in bf16), so activations differ by up to about one bf16 unit
 *      roundoff u = 2^-9 ~ 2e-3 per rounding; through two layers, the softmax and the loss this
 *      gives per-tensor gradient differences of a few u: tolerance 10 u = 2e-2 (observed ~1e-2).
 *      Parameters after two AdamW steps are compared in absolute terms: an AdamW update is
 *      lr * m^/sqrt(v^) with |m^/sqrt(v^)| <= ~1.25 over the first two steps whatever the
 *      gradient's size, so a near-zero gradient whose sign the bf16 noise flips moves a weight by
 *      up to 2 * 1.25 lr per step: |dp| <= 2 steps * 2.5e-3 = 5e-3 (observed 3.7e-3, on the
 *      0.02/sqrt(2L)-scaled projections, which is why a relative bound cannot work here).
 *      The loss 1e-3 (u/2 averaged over 64 tokens).
 *    - bf16 vs fp32 (same layout): loss within 1e-2 relative (bf16 storage of every activation,
 *      errors ~u per op over ~10 ops).
 * 5. Shard mode (one rank) memory == the full run's, in bf16, for a 3-D layout.
 */
#include <float.h>

#include "rt_bf16.h"
#include "test_rt_tiny.h"

typedef struct result {
    float *g, *p;
    double loss;
} result;

static void rounding(void)
{
    float one = 1.0f;
    CHECK_EQ_I64(rt_f32_to_bf16(one), 0x3F80, "1.0 is exact");
    CHECK_EQ_I64(rt_f32_to_bf16(1.0f + 0x1p-8f), 0x3F80, "tie 1 + 2^-8 goes to even 1.0");
    CHECK_EQ_I64(rt_f32_to_bf16(1.0f + 0x3p-8f), 0x3F82, "tie 1 + 3*2^-8 goes to even 0x3F82");
    CHECK_EQ_I64(rt_f32_to_bf16(1.0f + 0x1p-8f + 0x1p-20f), 0x3F81, "above a tie goes up");
    CHECK_EQ_I64(rt_f32_to_bf16(-2.0f), 0xC000, "-2.0");
    CHECK_EQ_I64(rt_f32_to_bf16(FLT_MAX), 0x7F80, "FLT_MAX overflows to +inf");
    CHECK_EQ_I64(rt_f32_to_bf16(NAN), 0x7FFF, "NaN is the canonical quiet NaN");
    CHECK(rt_bf16_to_f32(0x3F81) == 1.0f + 0x1p-7f, "bf16 -> fp32 is exact");
}

static est_status run_rep(tiny *t, int solo, rt_report *rep)
{
    rt_options o = rt_options_default();
    o.steps = 1;
    o.solo_rank = solo;
    est_diag d;
    memset(&d, 0, sizeof d);
    est_status st = rt_run(&t->cfg, &o, rep, &d);
    if (st != EST_OK) {
        fprintf(stderr, "rt_run: %s\n", d.msg);
    }
    return st;
}

static void bytes_per_param(void)
{
    est_model gpt = tiny_gpt(2);
    est_param_counts pc;
    est_model_params(&gpt, &pc);
    int64_t P = pc.total;
    for (int zero = 0; zero <= 2; zero++) {
        tiny t;
        tiny_init(&t, &gpt, 1, 1, 1, 2, false, zero, 1, 2);
        t.cfg.par.precision = EST_PREC_BF16_MIXED;
        t.cfg.par.framework = zero == 2 ? EST_FW_DEEPSPEED : EST_FW_MEGATRON;
        rt_report rep;
        if (run_rep(&t, -1, &rep) != EST_OK) {
            CHECK(false, "bf16 dp=2 run");
            continue;
        }
        int64_t n = (P + 1) / 2 * 2;
        int64_t held = zero == 0 ? n : n / 2;
        const uint64_t *gp = rep.ranks[1].group_peak_bytes;
        char what[96];
        snprintf(what, sizeof what, "zero-%d: weights = 2 B x params", zero);
        CHECK_EQ_I64((int64_t)gp[EST_MEM_WEIGHTS], 2 * n, what);
        snprintf(what, sizeof what, "zero-%d: master + moments = 12 B x params held", zero);
        CHECK_EQ_I64((int64_t)gp[EST_MEM_OPTIMIZER], 12 * held, what);
        snprintf(what, sizeof what, "zero-%d: fp32 main gradients", zero);
        /* ZeRO-2: the shard at rest plus one backward pass's full fp32 bucket */
        CHECK_EQ_I64((int64_t)gp[EST_MEM_GRADIENTS], zero == 2 ? 4 * held + 4 * n : 4 * n, what);
        rt_report_free(&rep);
    }
    /* activations of one layer and logits (item 3): pp = 1, one layer, one micro-batch */
    est_model one = tiny_gpt(1);
    tiny t;
    tiny_init(&t, &one, 1, 1, 1, 1, false, 0, 1, 1);
    t.cfg.par.precision = EST_PREC_BF16_MIXED;
    rt_report rep;
    if (run_rep(&t, -1, &rep) == EST_OK) {
        const uint64_t *gp = rep.ranks[0].group_peak_bytes;
        /* the head keeps xout (1024) + lnf (1024) + mean (256) + rstd (256) = 2560 bytes */
        CHECK_EQ_I64((int64_t)gp[EST_MEM_ACTIVATIONS], 13568 + 2560,
                     "bf16 activations: one layer 13568 B + head 2560 B");
        /* plus the cross-entropy scratch: max, (sum-exp, target logit), loss per row, fp32,
           16/32/16 floats, each rounded up to 256 bytes */
        CHECK_EQ_I64((int64_t)gp[EST_MEM_LOGITS], 6144 + 3 * 256, "bf16 logits (2 + 4) x N x V");
        rt_report_free(&rep);
    } else {
        CHECK(false, "bf16 one-layer run");
    }
}

static result run(const est_model *m, est_precision prec, int tp, bool sp, int pp, int vpp, int dp,
                  int zero, int mbs, int gbs)
{
    tiny t;
    tiny_init(&t, m, tp, pp, vpp, dp, sp, zero, mbs, gbs);
    t.cfg.par.precision = prec;
    result r = {tiny_vec(m), tiny_vec(m), 0.0};
    est_status st = tiny_run(&t, 1, NULL, r.g, NULL, &r.loss);
    st = st == EST_OK ? tiny_run(&t, 2, NULL, NULL, r.p, NULL) : st;
    CHECK(st == EST_OK, "bf16 run succeeds");
    return r;
}

static void compare(const est_model *m, const result *a, const result *ref, const char *what,
                    double tol_g, double tol_p, double tol_l)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s: gradients (step 1)", what);
    CHECK(tiny_maxrel(m, a->g, ref->g, buf) <= tol_g, buf);
    snprintf(buf, sizeof buf, "%s: parameters after 2 steps", what);
    CHECK(tiny_maxrel(m, a->p, ref->p, buf) <= tol_p, buf);
    snprintf(buf, sizeof buf, "%s: loss", what);
    CHECK_REL(a->loss, ref->loss, tol_l, buf);
}

static void compare_abs_p(const est_model *m, const result *a, const result *ref, const char *what,
                          double tol_g, double tol_p_abs, double tol_l)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s: gradients (step 1)", what);
    CHECK(tiny_maxrel(m, a->g, ref->g, buf) <= tol_g, buf);
    double md = 0.0;
    for (int64_t k = 0; k < rt_canonical_size(m); k++) {
        double d = fabs((double)a->p[k] - ref->p[k]);
        md = d > md ? d : md;
    }
    snprintf(buf, sizeof buf, "%s: parameters after 2 steps, max abs diff", what);
    printf("  %-48s %.3g\n", buf, md);
    CHECK(md <= tol_p_abs, buf);
    snprintf(buf, sizeof buf, "%s: loss", what);
    CHECK_REL(a->loss, ref->loss, tol_l, buf);
}

static void done(result *r)
{
    free(r->g);
    free(r->p);
}

static void equivalence(void)
{
    est_model gpt = tiny_gpt(4);
    est_model llama = tiny_llama(4);
    const est_model *models[2] = {&gpt, &llama};
    const char *names[2] = {"gpt", "llama"};
    const est_precision B = EST_PREC_BF16_MIXED;
    for (int i = 0; i < 2; i++) {
        const est_model *m = models[i];
        char what[128];
        result ref = run(m, B, 1, false, 1, 1, 1, 0, 2, 4);
        result f32 = run(m, EST_PREC_FP32, 1, false, 1, 1, 1, 0, 2, 4);
        snprintf(what, sizeof what, "%s bf16 vs fp32: loss", names[i]);
        CHECK_REL(ref.loss, f32.loss, 1e-2, what);
        printf("  %-48s %.6f vs %.6f\n", what, ref.loss, f32.loss);
        done(&f32);
        result a = run(m, B, 2, true, 1, 1, 1, 0, 2, 4);
        snprintf(what, sizeof what, "%s bf16 tp=2 sp", names[i]);
        compare_abs_p(m, &a, &ref, what, 2e-2, 5e-3, 1e-3);
        done(&a);
        result b = run(m, B, 1, false, 2, 2, 1, 0, 1, 4);
        snprintf(what, sizeof what, "%s bf16 pp=2 vpp=2", names[i]);
        compare(m, &b, &ref, what, 1e-4, 1e-3, 1e-5);
        done(&b);
        result c = run(m, B, 1, false, 1, 1, 2, 0, 2, 4);
        snprintf(what, sizeof what, "%s bf16 dp=2", names[i]);
        compare(m, &c, &ref, what, 1e-4, 1e-3, 1e-5);
        result d = run(m, B, 1, false, 1, 1, 2, 1, 2, 4);
        snprintf(what, sizeof what, "%s bf16 dp=2 zero-1 vs zero-0 (exact)", names[i]);
        compare(m, &d, &c, what, 0.0, 0.0, 0.0);
        done(&c);
        done(&d);
        done(&ref);
    }
}

int main(void)
{
    rounding();
    bytes_per_param();
    equivalence();
    est_model gpt = tiny_gpt(8);
    tiny t;
    tiny_init(&t, &gpt, 2, 2, 2, 2, true, 1, 1, 4);
    t.cfg.par.precision = EST_PREC_BF16_MIXED;
    rt_report full;
    if (run_rep(&t, -1, &full) == EST_OK) {
        int same = 0;
        for (int r = 0; r < full.nranks; r++) {
            rt_report one;
            if (run_rep(&t, r, &one) != EST_OK) {
                continue;
            }
            same += one.ranks[0].peak_bytes == full.ranks[r].peak_bytes &&
                    memcmp(one.ranks[0].group_peak_bytes, full.ranks[r].group_peak_bytes,
                           sizeof one.ranks[0].group_peak_bytes) == 0;
            rt_report_free(&one);
        }
        CHECK_EQ_I64(same, full.nranks, "bf16 shard mode memory == full run, every rank");
        rt_report_free(&full);
    } else {
        CHECK(false, "bf16 3-D run");
    }
    return check_summary();
}
