/* est_fixtures.h -- hardware fixtures shared by the estimator's tests, independent of the profile
 * files so a profile edit cannot move a test's expected numbers.
 *
 * fixture_h100(mem): NVIDIA H100 SXM datasheet dense peaks (bf16/fp16 989.4 TFLOP/s, fp8 1978.9),
 * HBM3 3.35 TB/s, NVLink 450 GB/s one way, PCIe Gen5 64 GB/s one way, 132 SMs; efficiencies the
 * H100 set of docs/time.md#defaults (0.72, 400, 0.40, 0.80).
 */
#ifndef LLMCAL_TESTS_EST_FIXTURES_H
#define LLMCAL_TESTS_EST_FIXTURES_H

#include <math.h>
#include <string.h>

#include "est/config.h"

static inline est_gpu fixture_h100(uint64_t memory_bytes)
{
    est_gpu g;
    memset(&g, 0, sizeof g);
    strcpy(g.name, "h100-sxm");
    g.memory_bytes = memory_bytes;
    for (int i = 0; i < EST_DT_COUNT; i++) {
        g.peak_flop_per_s[i] = NAN;
    }
    g.peak_flop_per_s[EST_DT_BF16] = g.peak_flop_per_s[EST_DT_FP16] = 989.4e12;
    g.peak_flop_per_s[EST_DT_FP8] = 1978.9e12;
    g.hbm_bytes_per_s = 3.35e12;
    g.nvlink_bytes_per_s = 450e9;
    g.pcie_bytes_per_s = 64e9;
    g.sm_count = 132;
    g.gemm_eff_max = 0.72;
    g.gemm_half_dim = 400;
    g.attn_eff = 0.40;
    g.mem_eff = 0.80;
    return g;
}

#endif /* LLMCAL_TESTS_EST_FIXTURES_H */
