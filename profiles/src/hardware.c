/* hardware.c -- GPU and cluster profile schemas (docs/profiles.md#gpus, #clusters) into est_gpu and
 * est_cluster.
 *
 * Quantities take base units or unit strings (units.c). Absent optional rates are NAN, never 0
 * (STYLE.md 3.10.9). The efficiency defaults below are the ones docs/profiles.md cites; built-in
 * files state their own.
 */
#include "prof_internal.h"

#include <math.h>
#include <string.h>

static const char *const dtype_keys[EST_DT_COUNT] = {"fp32", "tf32", "bf16", "fp16", "fp8"};

/* a plain fraction in (0, 1] */
static est_status get_fraction(prof_ctx *c, const char *key, double *out, est_diag *diag)
{
    double v = *out;
    EST_TRY(prof_get_qty(c, key, false, PROF_UNIT_PARAMS, false, &v, diag));
    if (!(v > 0.0) || v > 1.0) {
        return EST_FAIL(diag, EST_EINVAL, "%s: %s: %g must be a fraction in (0, 1]", c->origin, key,
                        v);
    }
    *out = v;
    return EST_OK;
}

static est_status get_bytes_u64(prof_ctx *c, const char *key, bool required, uint64_t *out,
                                est_diag *diag)
{
    double v = -1.0;
    EST_TRY(prof_get_qty(c, key, required, PROF_UNIT_BYTES, false, &v, diag));
    if (v < 0) {
        return EST_OK; /* absent, optional */
    }
    if (v != floor(v) || v > 1.8e19) {
        return EST_FAIL(diag, EST_EINVAL, "%s: %s: %g is not a whole number of bytes", c->origin,
                        key, v);
    }
    *out = (uint64_t)v;
    return EST_OK;
}

static est_status positive_rate(prof_ctx *c, const char *key, double v, est_diag *diag)
{
    if (!isnan(v) && !(v > 0)) {
        return EST_FAIL(diag, EST_EINVAL, "%s: %s: must be positive (or null when absent)",
                        c->origin, key);
    }
    return EST_OK;
}

// ---------------------------------------------------------------------------
// GPU

est_status prof_gpu_from_json(json_t *root, const char *origin, const char *name, est_gpu *out,
                              prof_info *info, est_diag *diag)
{
    prof_ctx c;
    prof_ctx_init(&c, origin, root, "");
    est_gpu g;
    memset(&g, 0, sizeof g);
    prof_copy(g.name, sizeof g.name, name);

    EST_TRY(
        prof_get_str(&c, "description", false, info->description, sizeof info->description, diag));
    EST_TRY(prof_get_source(&c, "source", false, info, diag));
    EST_TRY(get_bytes_u64(&c, "memory_bytes", true, &g.memory_bytes, diag));

    json_t *peaks = json_object_get(root, "peak_flop_per_s");
    prof_mark_seen(&c, "peak_flop_per_s");
    if (peaks == NULL) {
        return EST_FAIL(diag, EST_EINVAL, "%s: peak_flop_per_s: missing (required)", origin);
    }
    if (!json_is_object(peaks)) {
        return EST_FAIL(diag, EST_EINVAL,
                        "%s: peak_flop_per_s: expected an object "
                        "{\"bf16\": \"989TFLOP/s\", ...}",
                        origin);
    }
    prof_ctx pc;
    prof_ctx_init(&pc, origin, peaks, "peak_flop_per_s.");
    for (int d = 0; d < EST_DT_COUNT; d++) {
        g.peak_flop_per_s[d] = NAN;
        EST_TRY(prof_get_qty(&pc, dtype_keys[d], false, PROF_UNIT_FLOP_PER_S, true,
                             &g.peak_flop_per_s[d], diag));
        EST_TRY(positive_rate(&pc, dtype_keys[d], g.peak_flop_per_s[d], diag));
    }
    EST_TRY(prof_check_unknown(&pc, diag));

    g.hbm_bytes_per_s = NAN;
    g.nvlink_bytes_per_s = NAN;
    g.pcie_bytes_per_s = NAN;
    EST_TRY(prof_get_qty(&c, "hbm_bytes_per_s", true, PROF_UNIT_BYTES_PER_S, false,
                         &g.hbm_bytes_per_s, diag));
    EST_TRY(prof_get_qty(&c, "nvlink_bytes_per_s", false, PROF_UNIT_BYTES_PER_S, true,
                         &g.nvlink_bytes_per_s, diag));
    EST_TRY(positive_rate(&c, "nvlink_bytes_per_s", g.nvlink_bytes_per_s, diag));
    EST_TRY(prof_get_qty(&c, "pcie_bytes_per_s", true, PROF_UNIT_BYTES_PER_S, false,
                         &g.pcie_bytes_per_s, diag));
    int64_t sms = 0;
    EST_TRY(prof_get_i64(&c, "sm_count", true, 1, &sms, diag));
    if (sms > 100000) {
        return EST_FAIL(diag, EST_EINVAL, "%s: sm_count: %lld is implausible", origin,
                        (long long)sms);
    }
    g.sm_count = (int)sms;
    EST_TRY(get_bytes_u64(&c, "cuda_context_bytes", false, &g.cuda_context_bytes, diag));
    EST_TRY(get_bytes_u64(&c, "reserved_bytes", false, &g.reserved_bytes, diag));
    /* memory the peers leave out; 0 / absent = the estimator's documented defaults
       (docs/memory.md#overheads) until calibration measures them */
    EST_TRY(get_bytes_u64(&c, "nccl_comm_bytes", false, &g.nccl_comm_bytes, diag));
    EST_TRY(get_bytes_u64(&c, "workspace_bytes", false, &g.workspace_bytes, diag));
    g.alloc_frag_fraction = 0.0;
    if (json_object_get(root, "alloc_frag_fraction") != NULL) {
        EST_TRY(get_fraction(&c, "alloc_frag_fraction", &g.alloc_frag_fraction, diag));
    }

    /* defaults (docs/profiles.md#efficiency-defaults) */
    g.gemm_eff_max = 0.75;
    g.gemm_half_dim = 256.0;
    g.attn_eff = 0.5;
    g.mem_eff = 0.85;
    EST_TRY(get_fraction(&c, "gemm_eff_max", &g.gemm_eff_max, diag));
    EST_TRY(
        prof_get_qty(&c, "gemm_half_dim", false, PROF_UNIT_PARAMS, false, &g.gemm_half_dim, diag));
    if (!(g.gemm_half_dim > 0)) {
        return EST_FAIL(diag, EST_EINVAL, "%s: gemm_half_dim: must be positive", origin);
    }
    EST_TRY(get_fraction(&c, "attn_eff", &g.attn_eff, diag));
    EST_TRY(get_fraction(&c, "mem_eff", &g.mem_eff, diag));
    EST_TRY(prof_check_unknown(&c, diag));

    est_diag sub = {{0}, NULL, 0};
    est_status s = est_gpu_validate(&g, &sub);
    if (s != EST_OK) {
        return EST_FAIL(diag, s, "%s: %s", origin, sub.msg);
    }
    *out = g;
    return EST_OK;
}

// ---------------------------------------------------------------------------
// cluster

static est_status get_int(prof_ctx *c, const char *key, bool required, int64_t min, int *out,
                          est_diag *diag)
{
    int64_t v = *out;
    EST_TRY(prof_get_i64(c, key, required, min, &v, diag));
    if (v > 1000000) {
        return EST_FAIL(diag, EST_EINVAL, "%s: %s: %lld is implausible", c->origin, key,
                        (long long)v);
    }
    *out = (int)v;
    return EST_OK;
}

est_status prof_cluster_from_json(json_t *root, const char *origin, const char *name,
                                  est_cluster *out, prof_info *info, est_diag *diag)
{
    prof_ctx c;
    prof_ctx_init(&c, origin, root, "");
    est_cluster k;
    memset(&k, 0, sizeof k);
    prof_copy(k.name, sizeof k.name, name);

    EST_TRY(
        prof_get_str(&c, "description", false, info->description, sizeof info->description, diag));
    EST_TRY(prof_get_source(&c, "source", false, info, diag));
    char gpu[512] = "";
    EST_TRY(prof_get_str(&c, "gpu", true, gpu, sizeof gpu, diag));
    if (strlen(gpu) >= sizeof k.gpu) {
        return EST_FAIL(diag, EST_EINVAL, "%s: gpu: name longer than %d characters", origin,
                        LLMCAL_NAME_MAX - 1);
    }
    est_gpu g;
    est_diag sub = {{0}, NULL, 0};
    est_status s = prof_gpu_load(gpu, &g, &sub);
    if (s != EST_OK) {
        return EST_FAIL(diag, s, "%s: gpu: %s", origin, sub.msg);
    }
    prof_copy(k.gpu, sizeof k.gpu, g.name);

    EST_TRY(get_int(&c, "gpus_per_node", true, 1, &k.gpus_per_node, diag));
    EST_TRY(get_int(&c, "nodes", false, 0, &k.nodes, diag));
    k.intra_bytes_per_s = isnan(g.nvlink_bytes_per_s) ? g.pcie_bytes_per_s : g.nvlink_bytes_per_s;
    EST_TRY(prof_get_qty(&c, "intra_bytes_per_s", false, PROF_UNIT_BYTES_PER_S, false,
                         &k.intra_bytes_per_s, diag));
    EST_TRY(prof_get_qty(&c, "intra_latency_s", true, PROF_UNIT_SECONDS, false, &k.intra_latency_s,
                         diag));
    EST_TRY(get_int(&c, "nics_per_node", true, 1, &k.nics_per_node, diag));
    EST_TRY(prof_get_qty(&c, "nic_bytes_per_s", true, PROF_UNIT_BYTES_PER_S, false,
                         &k.nic_bytes_per_s, diag));
    k.inter_bytes_per_s = k.nic_bytes_per_s * k.nics_per_node / k.gpus_per_node;
    EST_TRY(prof_get_qty(&c, "inter_bytes_per_s", false, PROF_UNIT_BYTES_PER_S, false,
                         &k.inter_bytes_per_s, diag));
    EST_TRY(prof_get_qty(&c, "inter_latency_s", true, PROF_UNIT_SECONDS, false, &k.inter_latency_s,
                         diag));
    EST_TRY(prof_check_unknown(&c, diag));

    s = est_cluster_validate(&k, &sub);
    if (s != EST_OK) {
        return EST_FAIL(diag, s, "%s: %s", origin, sub.msg);
    }
    *out = k;
    return EST_OK;
}
