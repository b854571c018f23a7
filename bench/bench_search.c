/* bench_search.c -- speed of `llmcal search`'s exhaustive enumeration on one core.
 *
 * Targets (issue 3): Llama-3.1-405B on 16,384 H100s (gbs 2048, seq 8192) in under 0.5 s;
 * Llama-3-70B on 64 H100s in under 50 ms; >= 1 million configurations per second per core.
 * Model and GPU are the built-in profiles `llmcal search` uses (profiles/). Prints the measured
 * numbers and whether each target is met; exit 1 if one is missed (2 if a profile fails to load).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "est/search.h" // provides: est_search, est_search_space_default
#include "prof/prof.h"  // provides: prof_model_load, prof_gpu_load

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int run(const char *what, est_model *m, const est_gpu *gpu, int64_t gpus, int64_t gbs,
               int64_t seq, double target_s)
{
    est_gpu g = *gpu;
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
    est_model m405;
    est_model m70;
    est_gpu h100;
    est_diag d = {{0}, NULL, 0};
    if (prof_model_load("llama-3.1-405b", &m405, &d) != EST_OK ||
        prof_model_load("llama-3-70b", &m70, &d) != EST_OK ||
        prof_gpu_load("h100-sxm", &h100, &d) != EST_OK) {
        fprintf(stderr, "bench_search: %s\n", d.msg);
        return 2;
    }
    int bad = 0;
    bad |= run("llama-3.1-405b, 16384 x H100", &m405, &h100, 16384, 2048, 8192, 0.5);
    bad |= run("llama-3-70b, 64 x H100", &m70, &h100, 64, 512, 8192, 0.05);
    return bad;
}
