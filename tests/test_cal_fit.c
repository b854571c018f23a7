/* test_cal_fit.c -- the calibration fit (cal_fit, GSL) recovers known coefficients from synthetic
 * samples, and ill-posed inputs are EST_ENOFIT/EST_EINVAL with words, never an abort.
 *
 * Synthetic data: every "measured" time is est_predict_sample() under a TRUE coefficient set chosen
 * below (so the expected fitted values are those chosen numbers, by construction), times a
 * multiplicative noise exp(sigma * N(0,1)) from gsl_rng_mt19937 with a fixed seed. The fit starts
 * from est_coeffs_from_hw() of an H100-like GPU (different values), so recovery is not trivial.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "cal/fit.h"
#include "cal/plan.h"
#include "cal/samples_io.h"
#include "check.h"
#include "est/collective.h"
#include "est/compute.h"
#include "est/sample.h"

/* H100 SXM-like GPU: NVIDIA H100 datasheet dense peaks (bf16 989.4 TFLOP/s, fp8 1978.9), HBM3
   3.35 TB/s, 132 SMs; efficiency fields are the starting guesses of the fit */
static est_gpu test_gpu(void)
{
    est_gpu g;
    memset(&g, 0, sizeof g);
    snprintf(g.name, sizeof g.name, "h100-sxm");
    g.memory_bytes = 80ull << 30;
    g.peak_flop_per_s[EST_DT_FP32] = 66.9e12;
    g.peak_flop_per_s[EST_DT_TF32] = 494.7e12;
    g.peak_flop_per_s[EST_DT_BF16] = 989.4e12;
    g.peak_flop_per_s[EST_DT_FP16] = 989.4e12;
    g.peak_flop_per_s[EST_DT_FP8] = 1978.9e12;
    g.hbm_bytes_per_s = 3.35e12;
    g.nvlink_bytes_per_s = 450e9;
    g.pcie_bytes_per_s = 64e9;
    g.sm_count = 132;
    g.gemm_eff_max = 0.75;
    g.gemm_half_dim = 256;
    g.attn_eff = 0.5;
    g.mem_eff = 0.85;
    return g;
}

static est_coeffs start_coeffs(void)
{
    est_gpu g = test_gpu();
    return est_coeffs_from_hw(&g, NULL);
}

/* the "true" machine the synthetic samples come from */
static est_coeffs true_coeffs(void)
{
    est_coeffs k = start_coeffs();
    k.gemm_eff_max = 0.72;
    k.gemm_half_dim = 310.0;
    k.fp8_gemm_ratio = 0.68;
    k.attn_eff = 0.41;
    k.mem_eff = 0.88;
    k.intra_alpha_s = 7e-6;
    k.intra_bytes_per_s = 3.6e11;
    k.inter_alpha_s = 1.8e-5;
    k.inter_bytes_per_s = 4.5e10;
    return k;
}

static void measure(cal_sample_set *set, const est_coeffs *truth, gsl_rng *rng, double sigma)
{
    for (size_t i = 0; i < set->n; i++) {
        est_sample *s = &set->s[i];
        double t = est_predict_sample(s, truth);
        double noise = sigma > 0.0 ? exp(sigma * gsl_ran_gaussian(rng, 1.0)) : 1.0;
        s->p50_s = t * noise;
        s->min_s = s->p50_s * 0.98;
        s->p99_s = s->p50_s * 1.05;
        s->count = 20;
    }
}

/* the calibrate sweep for 8 GPUs (GEMM, standard attention, copies, intra collectives) plus the
   kinds one node cannot produce: fp8 GEMMs, flash attention, inter-node collectives */
static void build_samples(cal_sample_set *set)
{
    cal_sample_set_init(set);
    cal_plan_options po = cal_plan_default();
    po.gpus = 8;
    est_status st = cal_plan_build(&po, set, NULL);
    CHECK(st == EST_OK, "plan builds");
    for (int64_t d = 512; d <= 16384; d *= 2) {
        est_sample s = est_sample_default(EST_SAMPLE_GEMM);
        s.dtype = EST_DT_FP8;
        s.m = s.n = s.k = d;
        cal_sample_set_push(set, &s, NULL);
    }
    for (int64_t sq = 1024; sq <= 16384; sq *= 2) {
        for (int bwd = 0; bwd < 2; bwd++) {
            est_sample s = est_sample_default(EST_SAMPLE_ATTENTION);
            s.b = 1;
            s.heads = 32;
            s.head_dim = 128;
            s.seq = s.seq_kv = sq;
            s.attn = EST_ATTN_FLASH;
            s.backward = bwd != 0;
            cal_sample_set_push(set, &s, NULL);
        }
    }
    for (double b = 4096; b <= 1 << 30; b *= 4) {
        est_sample s = est_sample_default(EST_SAMPLE_COLLECTIVE);
        s.coll = EST_COLL_ALLREDUCE;
        s.link = EST_LINK_INTER;
        s.nranks = 4;
        s.bytes = b;
        cal_sample_set_push(set, &s, NULL);
    }
}

static void check_recovery(const est_coeffs *got, const cal_report *rep, const est_coeffs *truth,
                           double rel, bool use_sigma, const char *what)
{
    est_coeffs t = *truth;
    const double want[CAL_PARAM_COUNT] = {
        t.gemm_eff_max,  t.gemm_half_dim,     t.fp8_gemm_ratio, t.attn_eff,         t.mem_eff,
        t.intra_alpha_s, t.intra_bytes_per_s, t.inter_alpha_s,  t.inter_bytes_per_s};
    for (int p = 0; p < CAL_PARAM_COUNT; p++) {
        char msg[160];
        snprintf(msg, sizeof msg, "%s: %s recovered (true value chosen in true_coeffs())", what,
                 cal_param_name((cal_param)p));
        CHECK(rep->param[p].fitted, msg);
        CHECK_REL(rep->param[p].value, want[p], rel, msg);
        if (use_sigma) {
            snprintf(msg, sizeof msg, "%s: %s within 4 sigma (sigma %.3g)", what,
                     cal_param_name((cal_param)p), rep->param[p].std_err);
            CHECK(fabs(rep->param[p].value - want[p]) <= 4.0 * rep->param[p].std_err, msg);
        }
        printf("  %-18s true %-12.6g fit %-12.6g +- %-10.3g (rel err %.2e)\n",
               cal_param_name((cal_param)p), want[p], rep->param[p].value, rep->param[p].std_err,
               fabs(rep->param[p].value / want[p] - 1.0));
    }
    /* fields that are not fitted stay as they were (peaks come from the datasheet) */
    CHECK_REL(got->peak_flop_per_s[EST_DT_BF16], 989.4e12, 0.0, "bf16 peak untouched");
    CHECK_REL(got->overlap_slowdown, truth->overlap_slowdown, 0.0, "overlap_slowdown untouched");
    CHECK_EQ_I64(got->sm_count, 132, "sm_count untouched");
}

static void test_noise_free(void)
{
    cal_sample_set set;
    build_samples(&set);
    est_coeffs truth = true_coeffs();
    measure(&set, &truth, NULL, 0.0);
    est_coeffs k = start_coeffs();
    cal_report rep;
    est_diag d = {{0}, NULL, 0};
    est_status st = cal_fit(set.s, set.n, 0, NULL, &k, &rep, &d);
    printf("noise-free: %zu samples, %d params, %d iterations, rms %.2e (start %.2e) %s\n",
           rep.n_used, rep.n_params, rep.iterations, rep.rms_rel, rep.start_rms_rel, d.msg);
    CHECK(st == EST_OK, "noise-free fit succeeds");
    CHECK_EQ_I64(rep.n_params, CAL_PARAM_COUNT, "every parameter informed");
    /* exact data: the fit must hit the truth to the solver's tolerance */
    check_recovery(&k, &rep, &truth, 1e-6, false, "noise-free");
    CHECK(rep.rms_rel < 1e-8, "noise-free residual vanishes");
    CHECK(rep.start_rms_rel > 0.05, "the start was off (a real fit happened)");
    cal_sample_set_free(&set);
}

static void test_noisy(void)
{
    cal_sample_set set;
    build_samples(&set);
    est_coeffs truth = true_coeffs();
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 20240611UL);
    const double sigma = 0.02; /* 2% run-to-run jitter, log-normal */
    measure(&set, &truth, rng, sigma);
    gsl_rng_free(rng);
    est_coeffs k = start_coeffs();
    cal_report rep;
    est_diag d = {{0}, NULL, 0};
    est_status st = cal_fit(set.s, set.n, 0, NULL, &k, &rep, &d);
    printf("noisy (sigma %.2f): %zu samples, rms %.4f, max %.4f, rcond %.3g %s\n", sigma,
           rep.n_used, rep.rms_rel, rep.max_rel, rep.rcond, d.msg);
    CHECK(st == EST_OK, "noisy fit succeeds");
    /* tolerance: 2% noise over 5-20 samples per parameter group gives standard errors of ~1%
       on the efficiencies and bandwidths and up to ~10% on the latencies, whose signal is only
       in the smallest messages; 15% bounds every parameter, 4 sigma checks the uncertainties */
    check_recovery(&k, &rep, &truth, 0.15, true, "noisy");
    CHECK_REL(rep.param[CAL_GEMM_EFF_MAX].value, 0.72, 0.01, "gemm_eff_max within 1%");
    CHECK_REL(rep.param[CAL_MEM_EFF].value, 0.88, 0.01, "mem_eff within 1%");
    CHECK_REL(rep.param[CAL_INTRA_BW].value, 3.6e11, 0.02, "intra busbw within 2%");
    /* the residual RMS estimates the noise: sigma within a factor 1.5 */
    CHECK(rep.rms_rel > sigma / 1.5 && rep.rms_rel < sigma * 1.5, "rms residual ~ sigma");
    cal_sample_set_free(&set);
}

/* only some parameters: the others keep their values; min statistic */
static void test_subset(void)
{
    cal_sample_set set;
    build_samples(&set);
    est_coeffs truth = true_coeffs();
    measure(&set, &truth, NULL, 0.0);
    est_coeffs k = start_coeffs();
    double start_attn = k.attn_eff;
    unsigned bits = 0;
    est_diag d = {{0}, NULL, 0};
    CHECK(cal_params_parse("membound,intra", &bits, &d) == EST_OK, "group names parse");
    CHECK_EQ_I64(bits, CAL_BIT(CAL_MEM_EFF) | CAL_BIT(CAL_INTRA_ALPHA) | CAL_BIT(CAL_INTRA_BW),
                 "membound,intra bits");
    cal_options o = cal_default_options();
    o.stat = CAL_STAT_MIN;
    cal_report rep;
    est_status st = cal_fit(set.s, set.n, bits, &o, &k, &rep, &d);
    CHECK(st == EST_OK, "subset fit succeeds");
    /* min = 0.98 * p50 (measure()): a time 2% shorter is a rate 1/0.98 higher */
    CHECK_REL(k.mem_eff, 0.88 / 0.98, 1e-6, "mem_eff from min times = truth / 0.98");
    CHECK_REL(k.intra_bytes_per_s, 3.6e11 / 0.98, 1e-6, "busbw from min times = truth / 0.98");
    CHECK_REL(k.attn_eff, start_attn, 0.0, "attn_eff not fitted, unchanged");
    CHECK(!rep.param[CAL_ATTN_EFF].fitted, "attn_eff reported as not fitted");
    CHECK(cal_params_parse("gemm,bogus", &bits, &d) == EST_EINVAL, "unknown name rejected");
    CHECK(strstr(d.msg, "bogus") != NULL, "message names the bad entry");
    cal_sample_set_free(&set);
}

static est_sample gemm(int64_t m, int64_t n, int64_t k, double t)
{
    est_sample s = est_sample_default(EST_SAMPLE_GEMM);
    s.m = m;
    s.n = n;
    s.k = k;
    s.p50_s = t;
    return s;
}

static void expect_nofit(const est_sample *s, size_t n, unsigned bits, est_status want,
                         const char *needle, const char *what)
{
    est_coeffs k = start_coeffs();
    est_coeffs before = k;
    cal_report rep;
    est_diag d = {{0}, NULL, 0};
    est_status st = cal_fit(s, n, bits, NULL, &k, &rep, &d);
    printf("  %s -> %s: %s\n", what, est_status_str(st), d.msg);
    CHECK(st == want, what);
    CHECK(strstr(d.msg, needle) != NULL, what);
    CHECK(memcmp(&k, &before, sizeof k) == 0, "coefficients unchanged on error");
}

static void test_ill_posed(void)
{
    est_coeffs truth = true_coeffs();
    unsigned g2 = CAL_BIT(CAL_GEMM_EFF_MAX) | CAL_BIT(CAL_GEMM_HALF_DIM);
    est_sample s[16];
    /* too few points: 2 samples for 2 parameters */
    s[0] = gemm(1024, 1024, 1024, 0);
    s[1] = gemm(8192, 8192, 8192, 0);
    for (int i = 0; i < 2; i++) {
        s[i].p50_s = est_predict_sample(&s[i], &truth);
    }
    expect_nofit(s, 2, g2, EST_ENOFIT, "insufficient data points", "2 samples, 2 params");
    /* degenerate shapes: ten GEMMs of one shape cannot separate eff_max from half_dim */
    for (int i = 0; i < 10; i++) {
        s[i] = gemm(4096, 4096, 4096, 0);
        s[i].p50_s = est_predict_sample(&s[i], &truth) * (1.0 + 0.001 * i);
    }
    expect_nofit(s, 10, g2, EST_ENOFIT, "cannot separate gemm_eff_max", "one GEMM shape");
    /* permutations of one shape have the same harmonic mean too */
    s[0] = gemm(1024, 4096, 8192, 1e-3);
    s[1] = gemm(8192, 1024, 4096, 1e-3);
    s[2] = gemm(4096, 8192, 1024, 1e-3);
    expect_nofit(s, 3, g2, EST_ENOFIT, "same harmonic-mean dimension", "permuted shape");
    /* nearly one shape: passes the check in words, caught by the condition number */
    for (int i = 0; i < 10; i++) {
        s[i] = gemm(16384 + (i % 2), 16384, 16384, 0);
        s[i].p50_s = est_predict_sample(&s[i], &truth) * (1.0 + 0.01 * (i % 3));
    }
    expect_nofit(s, 10, g2, EST_ENOFIT, "ill-conditioned", "near-degenerate shapes");
    /* a collective of one size: alpha and busbw inseparable */
    for (int i = 0; i < 5; i++) {
        s[i] = est_sample_default(EST_SAMPLE_COLLECTIVE);
        s[i].nranks = 8;
        s[i].bytes = 1 << 20;
        s[i].p50_s = 1e-5 * (1.0 + 0.01 * i);
    }
    expect_nofit(s, 5, 0, EST_ENOFIT, "measure at least 2 message sizes", "one message size");
    /* a parameter nothing informs */
    for (int i = 0; i < 4; i++) {
        s[i] = gemm(512 << i, 512 << i, 512 << i, 0);
        s[i].p50_s = est_predict_sample(&s[i], &truth);
    }
    expect_nofit(s, 4, CAL_BIT(CAL_ATTN_EFF), EST_ENOFIT, "no flash-attention samples",
                 "attn_eff without attention samples");
    /* measurements faster than the peak allows: eff > 1 is reported, not clamped */
    est_coeffs fast = truth;
    fast.gemm_eff_max = 1.3;
    for (int i = 0; i < 6; i++) {
        s[i] = gemm(1024 << (i % 4), 1024 << (i % 4), 2048 << (i / 4), 0);
        s[i].p50_s = est_predict_sample(&s[i], &fast);
    }
    expect_nofit(s, 6, g2, EST_ENOFIT, "exceeds 1", "faster than peak");
    /* an invalid sample is named by its position */
    s[2].p50_s = 0.0;
    expect_nofit(s, 6, g2, EST_EINVAL, "sample 3: sample.p50_s", "zero time");
    s[2].p50_s = 1e-3;
    s[4].k = -5;
    expect_nofit(s, 6, g2, EST_EINVAL, "sample 5: sample.k", "negative dim");
    expect_nofit(s, 0, 0, EST_ENOFIT, "no samples", "empty input");
    /* bad starting coefficients */
    est_coeffs k = start_coeffs();
    k.mem_eff = 0.0;
    est_diag d = {{0}, NULL, 0};
    s[4].k = 1024;
    CHECK(cal_fit(s, 6, g2, NULL, &k, NULL, &d) == EST_EINVAL, "bad start coefficients");
    CHECK(strstr(d.msg, "mem_eff") != NULL, "names the bad start field");
}

int main(void)
{
    test_noise_free();
    test_noisy();
    test_subset();
    test_ill_posed();
    return check_summary();
}
