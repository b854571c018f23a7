/* bench_search.c -- speed of `llmcal search`'s exhaustive enumeration on one core.
 *
 * Targets (issue 3): Llama-3.1-405B on 16,384 H100s (gbs 2048, seq 8192) in under 0.5 s;
 * Llama-3-70B on 64 H100s in under 50 ms; >= 1 million configurations per second per core.
 * Models are the publishers' config.json values; the H100 is the SXM datasheet. Prints the
 * measured numbers and whether each target is met; exit 1 if one is missed.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "est/search.h" // provides: est_search, est_search_space_default

static est_model llama(const char *name, int64_t h, int64_t L, int64_t a, int64_t g, int64_t f)
{
    est_model m;
    memset(&m, 0, sizeof m);
    snprintf(m.name, sizeof m.name, "%s", name);
    m.hidden = h;
    m.layers = L;
    m.heads = a;
    m.kv_heads = g;
    m.head_dim = h / a;
    m.ffn = f;
    m.vocab = 128256;
    m.norm = EST_NORM_RMSNORM;
    m.act = EST_ACT_SWIGLU;
    m.pos = EST_POS_ROPE;
    return m;
}

static est_gpu h100(void)
{
    est_gpu g;
    memset(&g, 0, sizeof g);
    snprintf(g.name, sizeof g.name, "h100-sxm");
    g.memory_bytes = 80ull << 30;
    for (int i = 0; i < EST_DT_COUNT; i++) {
        g.peak_flop_per_s[i] = NAN;
    }
    g.peak_flop_per_s[EST_DT_BF16] = g.peak_flop_per_s[EST_DT_FP16] = 989.4e12;
    g.peak_flop_per_s[EST_DT_FP8] = 1978.9e12;
    g.peak_flop_per_s[EST_DT_TF32] = 494.7e12;
    g.hbm_bytes_per_s = 3.35e12;
    g.nvlink_bytes_per_s = 450e9;
    g.pcie_bytes_per_s = 64e9;
    g.sm_count = 132;
    g.gemm_eff_max = 0.72;
    g.gemm_half_dim = 400;
    g.attn_eff = 0.40;
    g.mem_eff = 0.80;
    g.cuda_context_bytes = 600ull << 20;
    return g;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int run(const char *what, est_model *m, int64_t gpus, int64_t gbs, int64_t seq,
               double target_s)
{
    est_gpu g = h100();
    est_cluster c = est_cluster_for_gpu(&g);
    est_config cfg = {m, &g, &c, est_parallel_default()};
    cfg.par.gpus = gpus;
    cfg.par.gbs = gbs;
    cfg.par.seq = seq;
    static est_search_result top[10];
    est_search_stats st;
    est_diag d = {0};
    int n = 0;
    double best = 1e30;
    est_status s = EST_OK;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = now_s();
        s = est_search(&cfg, NULL, NULL, top, 10, &n, &st, &d);
        double t = now_s() - t0;
        best = t < best ? t : best;
    }
    double rate = (double)st.evaluated / best;
    printf("%-34s evaluated %8llu valid %8llu fitting %7llu  %.4f s  %.2f M configs/s  %s\n", what,
           (unsigned long long)st.evaluated, (unsigned long long)st.valid,
           (unsigned long long)st.fitting, best, rate / 1e6,
           best < target_s && rate >= 1e6 ? "OK" : "MISSED");
    if (s != EST_OK) {
        printf("  search: %s\n", d.msg);
    } else {
        printf("  best: tp %d pp %d vpp %d cp %d dp %d mbs %lld zero %d sp %d rc %s: %.0f tok/s, "
               "MFU %.1f%%\n",
               top[0].par.tp, top[0].par.pp, top[0].par.vpp, top[0].par.cp, top[0].par.dp,
               (long long)top[0].par.mbs, top[0].par.zero, top[0].par.sp,
               est_recompute_name(top[0].par.recompute), top[0].time.tokens_per_s,
               100 * top[0].time.mfu);
    }
    return best < target_s && rate >= 1e6 ? 0 : 1;
}

int main(void)
{
    est_model m405 = llama("llama-3.1-405b", 16384, 126, 128, 8, 53248);
    est_model m70 = llama("llama-3-70b", 8192, 80, 64, 8, 28672);
    int bad = 0;
    bad |= run("llama-3.1-405b, 16384 x H100", &m405, 16384, 2048, 8192, 0.5);
    bad |= run("llama-3-70b, 64 x H100", &m70, 64, 512, 8192, 0.05);
    return bad;
}
