/* test_prof_hw.c -- GPU and cluster profiles: every built-in file loads and validates, cites its
 * sources, and carries the datasheet numbers (checked here against the datasheets, not against
 * the files); bad snippets fail with the field named.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "prof/prof.h"

#define MAXN 64

static void every_file(void)
{
    char names[MAXN][LLMCAL_NAME_MAX];
    size_t n = prof_list(PROF_GPU, names, MAXN);
    CHECK(n >= 11, "11 built-in GPUs");
    for (size_t i = 0; i < n && i < MAXN; i++) {
        est_gpu g;
        prof_info info;
        est_diag d = {{0}, NULL, 0};
        char what[512];
        est_status s = prof_gpu_load_info(names[i], &g, &info, &d);
        snprintf(what, sizeof what, "gpu %s loads (%s)", names[i], d.msg);
        CHECK(s == EST_OK, what);
        snprintf(what, sizeof what, "gpu %s cites a source per measured field", names[i]);
        CHECK(strstr(info.source_keys, "memory_bytes") &&
                  strstr(info.source_keys, "peak_flop_per_s") &&
                  strstr(info.source_keys, "hbm_bytes_per_s") &&
                  strstr(info.source_keys, "nvlink_bytes_per_s") &&
                  strstr(info.source_keys, "cuda_context_bytes") &&
                  strstr(info.source_keys, "gemm_eff_max"),
              what);
        snprintf(what, sizeof what, "gpu %s: context and efficiencies set", names[i]);
        CHECK(s != EST_OK || (g.cuda_context_bytes > 0 && g.gemm_eff_max > 0 && g.sm_count > 0),
              what);
        char desc[256];
        prof_describe(PROF_GPU, names[i], desc, sizeof desc);
        CHECK(strstr(desc, "TFLOP/s") != NULL, desc);
    }
    n = prof_list(PROF_CLUSTER, names, MAXN);
    CHECK(n >= 4, "4 built-in clusters");
    for (size_t i = 0; i < n && i < MAXN; i++) {
        est_cluster c;
        prof_info info;
        est_diag d = {{0}, NULL, 0};
        char what[512];
        est_status s = prof_cluster_load_info(names[i], &c, &info, &d);
        snprintf(what, sizeof what, "cluster %s loads (%s)", names[i], d.msg);
        CHECK(s == EST_OK, what);
        CHECK(strlen(info.source) > 10, names[i]);
        char desc[256];
        prof_describe(PROF_CLUSTER, names[i], desc, sizeof desc);
        CHECK(strstr(desc, "per node") != NULL, desc);
    }
}

static void datasheet_values(void)
{
    est_gpu g;
    est_diag d = {{0}, NULL, 0};
    CHECK(prof_gpu_load("h100-sxm", &g, &d) == EST_OK, d.msg);
    /* nvidia-smi on HGX H100 (NVIDIA/nccl#1264): 81559MiB = 81559 * 2^20 = 85,520,809,984 B */
    CHECK_EQ_I64((long long)g.memory_bytes, 85520809984LL, "H100 SXM memory as nvidia-smi");
    /* H100 datasheet: 1,979 TFLOP/s bf16 with sparsity -> 989.4 dense (FORMULAS.md sec. 1) */
    CHECK_REL(g.peak_flop_per_s[EST_DT_BF16], 989.4e12, 1e-9, "H100 bf16 dense peak");
    CHECK_REL(g.nvlink_bytes_per_s, 450e9, 1e-12, "H100 NVLink 900 GB/s total -> 450 one way");
    CHECK_REL(g.hbm_bytes_per_s, 3.35e12, 1e-12, "H100 HBM3 3.35 TB/s");
    CHECK_EQ_I64(g.sm_count, 132, "H100 SXM5 132 SMs (whitepaper)");
    CHECK(prof_gpu_load("a100-80gb", &g, &d) == EST_OK, d.msg);
    CHECK_REL(g.peak_flop_per_s[EST_DT_BF16], 312e12, 1e-12, "A100 312 TFLOP/s (Narayanan 5.1)");
    CHECK(isnan(g.peak_flop_per_s[EST_DT_FP8]), "A100 has no fp8: NAN");
    CHECK(prof_gpu_load("v100-32gb", &g, &d) == EST_OK, d.msg);
    CHECK(isnan(g.peak_flop_per_s[EST_DT_BF16]) && g.peak_flop_per_s[EST_DT_FP16] == 125e12,
          "V100: no bf16, fp16 tensor 125 TFLOP/s");
    CHECK(prof_gpu_load("l40s", &g, &d) == EST_OK && isnan(g.nvlink_bytes_per_s),
          "L40S: no NVLink -> NAN");

    est_cluster c;
    CHECK(prof_cluster_load("dgx-h100", &c, &d) == EST_OK, d.msg);
    CHECK(strcmp(c.gpu, "h100-sxm") == 0 && c.gpus_per_node == 8 && c.nics_per_node == 8,
          "DGX H100: 8x h100-sxm, 8 NICs");
    /* ConnectX-7 400 Gb/s = 50e9 B/s; 8 NICs over 8 GPUs -> 50e9 per GPU */
    CHECK_REL(c.nic_bytes_per_s, 50e9, 1e-12, "400 Gb/s NIC");
    CHECK_REL(c.inter_bytes_per_s, 50e9, 1e-12, "inter-node per GPU = 8*50e9/8");
    CHECK(c.intra_latency_s > 0 && c.intra_latency_s < 1e-4, "intra alpha in microseconds");
}

static void bad_gpu(const char *json, const char *needle, const char *what)
{
    est_gpu g;
    est_diag d = {{0}, NULL, 0};
    est_status s = prof_gpu_from_string(json, "g.json", &g, &d);
    int ok = s != EST_OK && strstr(d.msg, needle) != NULL;
    if (!ok) {
        fprintf(stderr, "  status %d, msg: %s\n", (int)s, d.msg);
    }
    CHECK(ok, what);
}

#define GPU_OK                                                                                     \
    "{\"memory_bytes\": \"24GiB\", \"peak_flop_per_s\": {\"bf16\": \"100TFLOP/s\"},"               \
    " \"hbm_bytes_per_s\": \"1TB/s\", \"pcie_bytes_per_s\": \"32GB/s\", \"sm_count\": 80"

static void snippets(void)
{
    est_gpu g;
    est_diag d = {{0}, NULL, 0};
    CHECK(prof_gpu_from_string(GPU_OK "}", "mine.json", &g, &d) == EST_OK, d.msg);
    CHECK_EQ_I64((long long)g.memory_bytes, 25769803776LL, "24GiB = 24 * 2^30");
    CHECK(isnan(g.peak_flop_per_s[EST_DT_FP8]) && isnan(g.nvlink_bytes_per_s),
          "absent peaks and NVLink are NAN");
    CHECK(g.gemm_eff_max == 0.75 && g.mem_eff == 0.85, "documented efficiency defaults");
    CHECK(prof_gpu_from_string(GPU_OK ", \"memory_bytes\": 1}", "g", &g, &d) == EST_EPARSE,
          "duplicate key");
    bad_gpu(GPU_OK ", \"gemm_eff_max\": 1.5}", "gemm_eff_max", "efficiency above 1");
    bad_gpu(GPU_OK ", \"nvlink_bytes_per_s\": \"900GB\"}", "nvlink_bytes_per_s",
            "size where a rate is expected");
    bad_gpu(GPU_OK ", \"reserved_bytes\": -1}", "reserved_bytes", "negative reserve");
    bad_gpu(GPU_OK ", \"sm_count\": 0}", "sm_count", "zero SMs");
    bad_gpu(GPU_OK ", \"hbm_bandwidth\": 5}", "hbm_bandwidth", "unknown key");
    bad_gpu("{\"memory_bytes\": \"24GiB\", \"peak_flop_per_s\": {\"bf16x\": 1e12},"
            " \"hbm_bytes_per_s\": 1e12, \"pcie_bytes_per_s\": 3e10, \"sm_count\": 80}",
            "peak_flop_per_s.bf16x", "unknown dtype key");
    bad_gpu("{\"memory_bytes\": \"24GiB\", \"peak_flop_per_s\": {\"fp32\": 1e12},"
            " \"hbm_bytes_per_s\": 1e12, \"pcie_bytes_per_s\": 3e10, \"sm_count\": 80}",
            "bf16 or fp16", "est_gpu_validate: a 16-bit peak is required");
    bad_gpu("{\"peak_flop_per_s\": {}, \"hbm_bytes_per_s\": 1e12}", "memory_bytes",
            "missing memory");

    est_cluster c;
    CHECK(prof_cluster_from_string("{\"gpu\": \"a100-80gb\", \"gpus_per_node\": 4, \"nodes\": 16,"
                                   " \"intra_latency_s\": \"5us\", \"nics_per_node\": 2,"
                                   " \"nic_bytes_per_s\": \"200Gb/s\", \"inter_latency_s\": 1e-5}",
                                   "my-cluster.json", &c, &d) == EST_OK,
          d.msg);
    CHECK(c.nodes == 16 && c.gpus_per_node == 4, "nodes and gpus_per_node");
    /* 2 NICs * 25e9 B/s / 4 GPUs = 12.5e9 per GPU; intra defaults to the GPU's NVLink 300e9 */
    CHECK_REL(c.inter_bytes_per_s, 12.5e9, 1e-12, "inter-node per GPU derived from NICs");
    CHECK_REL(c.intra_bytes_per_s, 300e9, 1e-12, "intra defaults to the GPU's NVLink");
    CHECK(prof_cluster_from_string("{\"gpu\": \"h100sxm\", \"gpus_per_node\": 8,"
                                   " \"intra_latency_s\": 0, \"nics_per_node\": 8,"
                                   " \"nic_bytes_per_s\": 5e10, \"inter_latency_s\": 0}",
                                   "k", &c, &d) == EST_ENOTFOUND &&
              strstr(d.msg, "did you mean 'h100-sxm'") != NULL,
          "cluster naming an unknown GPU suggests the nearest");
    CHECK(prof_cluster_from_string("{\"gpu\": \"h100-sxm\", \"gpus_per_node\": 8,"
                                   " \"nics_per_node\": 8, \"nic_bytes_per_s\": 5e10,"
                                   " \"inter_latency_s\": 0}",
                                   "k", &c, &d) == EST_EINVAL &&
              strstr(d.msg, "intra_latency_s: missing") != NULL,
          "missing latency named");
}

int main(void)
{
    every_file();
    datasheet_values();
    snippets();
    return check_summary();
}
