/* bench_estimate.c -- how many full estimates (resolve + memory + step time) one core makes per
 * second, for the README's figure and the search's budget (target >= 1 million per second).
 * Usage: bench_estimate [model] [gpu] [seconds] [full|memory]. Varies tp/pp/mbs/recompute so the
 * branch predictor sees a search-like mix. Prints one line: estimates/s and ns per estimate.
 * `memory` times est_config_resolve + est_memory only.
 */
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "est/config.h"
#include "est/memory.h"
#include "est/steptime.h"
#include "prof/prof.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    const char *model_name = argc > 1 ? argv[1] : "llama-3-70b";
    const char *gpu_name = argc > 2 ? argv[2] : "h100-sxm";
    double seconds = argc > 3 ? atof(argv[3]) : 2.0;
    bool memory_only = argc > 4 && strcmp(argv[4], "memory") == 0;
    est_model m;
    est_gpu g;
    est_diag d = {{0}, NULL, 0};
    if (prof_model_load(model_name, &m, &d) != EST_OK ||
        prof_gpu_load(gpu_name, &g, &d) != EST_OK) {
        fprintf(stderr, "bench_estimate: %s\n", d.msg);
        return 2;
    }
    est_cluster c = est_cluster_for_gpu(&g);
    static const int tps[] = {1, 2, 4, 8};
    static const int pps[] = {1, 2, 4, 8};
    static const int mbss[] = {1, 2, 4};
    long n = 0;
    long ok = 0;
    double sink = 0.0;
    double t0 = now_s();
    double t1 = t0;
    const est_parallel base = est_parallel_default();
    while (t1 - t0 < seconds) {
        for (int i = 0; i < 4 * 4 * 3 * 3; i++) {
            est_config cfg = {&m, &g, &c, base};
            cfg.par.gpus = 512;
            cfg.par.seq = 8192;
            cfg.par.gbs = 1024;
            cfg.par.tp = tps[i % 4];
            cfg.par.sp = cfg.par.tp > 1;
            cfg.par.pp = pps[(i / 4) % 4];
            cfg.par.mbs = mbss[(i / 16) % 3];
            cfg.par.recompute = (est_recompute)((i / 48) % 3);
            cfg.par.zero = 1;
            est_memory_report mr;
            est_time_report tr;
            n++;
            if (est_config_resolve(&cfg, NULL) == EST_OK && est_memory(&cfg, &mr, NULL) == EST_OK &&
                (memory_only || est_step_time(&cfg, &tr, NULL) == EST_OK)) {
                ok++;
                sink += (double)mr.worst.total + (memory_only ? 0.0 : tr.iteration_s);
            }
        }
        t1 = now_s();
    }
    double dt = t1 - t0;
    printf(
        "bench_estimate (%s): %s on %s: %.0f estimates/s (%.0f ns each, %ld of %ld valid) [%g]\n",
        memory_only ? "resolve + memory" : "resolve + memory + time", m.name, g.name,
        (double)n / dt, 1e9 * dt / (double)n, ok, n, sink > 0 ? 1.0 : 0.0);
    return 0;
}
