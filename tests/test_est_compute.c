/* test_est_compute.c -- GEMM/attention/memory-bound costs against hand-worked numbers. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "est/compute.h"

static est_coeffs coeffs(void)
{
    est_coeffs k;
    memset(&k, 0, sizeof k);
    for (int i = 0; i < EST_DT_COUNT; i++) {
        k.peak_flop_per_s[i] = NAN;
    }
    k.peak_flop_per_s[EST_DT_BF16] = 1e15;
    k.peak_flop_per_s[EST_DT_FP8] = 2e15;
    k.gemm_eff_max = 0.8;
    k.gemm_half_dim = 256;
    k.attn_eff = 0.5;
    k.mem_eff = 0.8;
    k.fp8_gemm_ratio = 0.75;
    k.hbm_bytes_per_s = 3e12;
    k.intra_bytes_per_s = 1e11;
    k.inter_bytes_per_s = 4e10;
    k.gpus_per_node = 8;
    return k;
}

int main(void)
{
    est_coeffs k = coeffs();
    est_diag d;
    CHECK(est_coeffs_validate(&k, &d) == EST_OK, "valid coefficient set");
    /* square 4096 GEMM: D = 4096, eff = 0.8*4096/(4096+256) = 0.752941...;
       t = 2*4096^3/(1e15*eff) */
    double eff = 0.8 * 4096.0 / (4096.0 + 256.0);
    CHECK_REL(est_gemm_eff(&k, 4096, 4096, 4096), eff, 1e-12, "shape efficiency, square");
    CHECK_REL(est_gemm_time_s(&k, 4096, 4096, 4096, EST_DT_BF16),
              2.0 * 4096.0 * 4096 * 4096 / (1e15 * eff), 1e-12, "GEMM time = flop/(peak*eff)");
    /* skinny: m=8192, n=128, k=8192: D = 3/(1/8192+1/128+1/8192) = 370.9...; eff = 0.8*D/(D+256) */
    double dsk = 3.0 / (2.0 / 8192.0 + 1.0 / 128.0);
    CHECK_REL(est_gemm_eff(&k, 8192, 128, 8192), 0.8 * dsk / (dsk + 256.0), 1e-12,
              "shape efficiency, skinny");
    CHECK(est_gemm_eff(&k, 8192, 128, 8192) < est_gemm_eff(&k, 4096, 4096, 4096),
          "skinny GEMMs are slower than square ones");
    /* fp8: twice the peak times the 0.75 ratio -> 1.5x faster than bf16 */
    CHECK_REL(est_gemm_time_s(&k, 4096, 4096, 4096, EST_DT_BF16) /
                  est_gemm_time_s(&k, 4096, 4096, 4096, EST_DT_FP8),
              1.5, 1e-12, "fp8 = 2x peak x 0.75");
    /* wave quantisation with 132 SMs: m = 128, n = 128*133 -> 133 tiles, 2 waves: 133/264 */
    k.sm_count = 132;
    double no_wave =
        0.8 * (3.0 / (1.0 / 128 + 2.0 / 17024.0)) / (3.0 / (1.0 / 128 + 2.0 / 17024.0) + 256.0);
    CHECK_REL(est_gemm_eff(&k, 128, 17024, 17024), no_wave * 133.0 / 264.0, 1e-12,
              "wave quantisation: 133 tiles on 132 SMs");
    k.sm_count = 0;
    /* flash attention, causal: 4*b*a*s*s*d/2 flop forward at attn_eff; backward 2.5x */
    double fwd = 4.0 * 2 * 32 * 4096.0 * 4096 * 128 * 0.5 / (1e15 * 0.5);
    CHECK_REL(
        est_attention_time_s(&k, 2, 32, 128, 4096, 4096, true, EST_ATTN_FLASH, false, EST_DT_BF16),
        fwd, 1e-12, "flash attention forward");
    CHECK_REL(
        est_attention_time_s(&k, 2, 32, 128, 4096, 4096, true, EST_ATTN_FLASH, true, EST_DT_BF16),
        2.5 * fwd, 1e-12, "flash attention backward = 2.5x");
    CHECK(est_attention_time_s(&k, 2, 32, 128, 4096, 4096, true, EST_ATTN_STANDARD, false,
                               EST_DT_BF16) > fwd,
          "standard attention slower than flash at s = 4096");
    /* memory-bound: 1 GB at 3 TB/s * 0.8 = 416.7 us */
    CHECK_REL(est_membound_time_s(&k, 1e9), 1e9 / 2.4e12, 1e-12, "memory-bound bytes/(bw*eff)");
    /* bad coefficients are named */
    k.mem_eff = 1.5;
    CHECK(est_coeffs_validate(&k, &d) == EST_EINVAL && strstr(d.msg, "mem_eff") != NULL,
          "mem_eff > 1 rejected by name");
    return check_summary();
}
