/* describe.c -- one-line descriptions of profiles for `llmcal list`:
 *   "Llama-3.1 70B: 70.6B params, GQA 64/8, h 8192, L 80"
 *   "H100 SXM5 80GB: 79.6 GiB, 989 TFLOP/s bf16, HBM 3.35 TB/s, NVLink 450 GB/s"
 * Not used for anything a program parses (the JSON output carries the numbers).
 */
#include "prof/prof.h"

#include <math.h>
#include <stdio.h>

/* "70.6B", "124M" with 3 significant digits */
static void fmt_count(char *buf, size_t cap, double v)
{
    if (v >= 1e12) {
        snprintf(buf, cap, "%.3gT", v / 1e12);
    } else if (v >= 1e9) {
        snprintf(buf, cap, "%.3gB", v / 1e9);
    } else if (v >= 1e6) {
        snprintf(buf, cap, "%.3gM", v / 1e6);
    } else {
        snprintf(buf, cap, "%.0f", v);
    }
}

static int describe_model(const char *name, char *buf, size_t cap)
{
    est_model m;
    prof_info info;
    est_diag d = {{0}, NULL, 0};
    if (prof_model_load_info(name, &m, &info, &d) != EST_OK) {
        return snprintf(buf, cap, "error: %s", d.msg);
    }
    est_param_counts pc;
    est_model_params(&m, &pc);
    char total[32];
    char active[32];
    fmt_count(total, sizeof total, (double)pc.total);
    fmt_count(active, sizeof active, (double)pc.active);
    char attn[48];
    if (m.kv_heads == m.heads) {
        snprintf(attn, sizeof attn, "MHA %lld", (long long)m.heads);
    } else if (m.kv_heads == 1) {
        snprintf(attn, sizeof attn, "MQA %lld/1", (long long)m.heads);
    } else {
        snprintf(attn, sizeof attn, "GQA %lld/%lld", (long long)m.heads, (long long)m.kv_heads);
    }
    const char *label = info.description[0] != '\0' ? info.description : m.name;
    if (m.experts > 0) {
        return snprintf(buf, cap,
                        "%s: %s params (%s active), MoE %lld experts top-%lld, %s, "
                        "h %lld, L %lld",
                        label, total, active, (long long)m.experts, (long long)m.top_k, attn,
                        (long long)m.hidden, (long long)m.layers);
    }
    return snprintf(buf, cap, "%s: %s params, %s, h %lld, L %lld", label, total, attn,
                    (long long)m.hidden, (long long)m.layers);
}

static int describe_gpu(const char *name, char *buf, size_t cap)
{
    est_gpu g;
    prof_info info;
    est_diag d = {{0}, NULL, 0};
    if (prof_gpu_load_info(name, &g, &info, &d) != EST_OK) {
        return snprintf(buf, cap, "error: %s", d.msg);
    }
    const char *label = info.description[0] != '\0' ? info.description : g.name;
    double peak = g.peak_flop_per_s[EST_DT_BF16];
    const char *dt = "bf16";
    if (isnan(peak)) {
        peak = g.peak_flop_per_s[EST_DT_FP16];
        dt = "fp16";
    }
    char link[48] = "no NVLink";
    if (!isnan(g.nvlink_bytes_per_s)) {
        snprintf(link, sizeof link, "NVLink %.0f GB/s", g.nvlink_bytes_per_s / 1e9);
    }
    return snprintf(buf, cap, "%s: %.1f GiB, %.0f TFLOP/s %s, HBM %.3g TB/s, %s", label,
                    (double)g.memory_bytes / 1073741824.0, peak / 1e12, dt,
                    g.hbm_bytes_per_s / 1e12, link);
}

static int describe_cluster(const char *name, char *buf, size_t cap)
{
    est_cluster c;
    prof_info info;
    est_diag d = {{0}, NULL, 0};
    if (prof_cluster_load_info(name, &c, &info, &d) != EST_OK) {
        return snprintf(buf, cap, "error: %s", d.msg);
    }
    const char *label = info.description[0] != '\0' ? info.description : c.name;
    char nodes[32] = "";
    if (c.nodes > 0) {
        snprintf(nodes, sizeof nodes, ", %d nodes", c.nodes);
    }
    return snprintf(buf, cap, "%s: %d x %s per node%s, intra %.0f GB/s, %d x %.0f Gb/s NICs", label,
                    c.gpus_per_node, c.gpu, nodes, c.intra_bytes_per_s / 1e9, c.nics_per_node,
                    c.nic_bytes_per_s * 8 / 1e9);
}

size_t prof_describe(prof_kind kind, const char *name, char *buf, size_t cap)
{
    int n = 0;
    switch (kind) {
    case PROF_MODEL: n = describe_model(name, buf, cap); break;
    case PROF_GPU: n = describe_gpu(name, buf, cap); break;
    case PROF_CLUSTER: n = describe_cluster(name, buf, cap); break;
    case PROF_KIND_COUNT: n = snprintf(buf, cap, "error: bad profile kind"); break;
    }
    return n < 0 ? 0 : (size_t)n;
}
