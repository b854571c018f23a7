/* test_rt_cuda.c -- the CUDA backend against the CPU reference backend (label gpu; exits 77 where
 * cudaGetDeviceCount gives 0, so CI without a GPU stays green).
 *
 * 1. Tiny GPT and Llama, one GPU: loss and gradients of step 1 equal the CPU backend's within
 *    1e-3 per tensor (fp32 cuBLAS GEMMs and atomics reorder sums; TF32 is off by default in
 *    cuBLAS, so differences stay at fp32 reordering scale, ~1e-6, with margin for the attention's
 *    atomic accumulation order).
 * 2. Single-GPU shard mode of an 8-rank layout: each rank's allocator high-water mark on the GPU
 *    equals the CPU backend's for the same rank (same buffers, same schedule), and the driver
 *    reports more in use than the allocator (context, cuBLAS, module images).
 * 3. With 2+ GPUs: tp=2 (NCCL) equals the CPU backend's tp=2.
 */
#include <cuda_runtime.h>

#include "test_rt_tiny.h"

static void compare_backends(const est_model *m, int tp, const char *what)
{
    tiny t;
    tiny_init(&t, m, tp, 1, 1, 1, tp > 1, 0, 2, 4);
    float *gc = tiny_vec(m);
    float *gg = tiny_vec(m);
    double lc = 0.0;
    double lg = 0.0;
    rt_options o = rt_options_default();
    CHECK(tiny_run_opt(&t, &o, 1, NULL, gc, NULL, &lc) == EST_OK, "cpu run");
    o.backend = RT_BACKEND_CUDA;
    CHECK(tiny_run_opt(&t, &o, 1, NULL, gg, NULL, &lg) == EST_OK, "cuda run");
    char buf[128];
    snprintf(buf, sizeof buf, "%s: cuda vs cpu gradients", what);
    CHECK(tiny_maxrel(m, gg, gc, buf) <= 1e-3, buf);
    snprintf(buf, sizeof buf, "%s: cuda vs cpu loss", what);
    CHECK_REL(lg, lc, 1e-5, buf);
    free(gc);
    free(gg);
}

int main(void)
{
    int ndev = 0;
    if (cudaGetDeviceCount(&ndev) != cudaSuccess || ndev == 0) {
        printf("no CUDA device: skipped\n");
        return 77;
    }
    est_model gpt = tiny_gpt(2);
    est_model llama = tiny_llama(2);
    compare_backends(&gpt, 1, "gpt");
    compare_backends(&llama, 1, "llama");
    if (ndev >= 2) {
        compare_backends(&gpt, 2, "gpt tp=2 sp");
        compare_backends(&llama, 2, "llama tp=2 sp");
    }
    est_model g8 = tiny_gpt(8);
    tiny t;
    tiny_init(&t, &g8, 2, 2, 2, 2, true, 1, 1, 4);
    for (int r = 0; r < 8; r++) {
        rt_options o = rt_options_default();
        o.steps = 1;
        o.solo_rank = r;
        rt_report a;
        rt_report b;
        est_status s1 = rt_run(&t.cfg, &o, &a, NULL);
        o.backend = RT_BACKEND_CUDA;
        est_status s2 = rt_run(&t.cfg, &o, &b, NULL);
        CHECK(s1 == EST_OK && s2 == EST_OK, "solo runs on both backends");
        if (s1 == EST_OK && s2 == EST_OK) {
            CHECK_EQ_I64(b.ranks[0].peak_bytes, a.ranks[0].peak_bytes,
                         "solo rank: cuda allocator peak == cpu allocator peak");
            CHECK(b.ranks[0].driver_used_bytes > b.ranks[0].peak_bytes,
                  "driver-reported use exceeds the allocator's (context, libraries)");
        }
        rt_report_free(&a);
        rt_report_free(&b);
    }
    return check_summary();
}
