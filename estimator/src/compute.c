/* compute.c -- per-operation compute cost: GEMM efficiency (shape and wave quantisation),
 * attention (flash vs standard) and memory-bound kernels; the coefficient defaults.
 *
 * Not here: FLOP counting (flops.c), collectives (collective.c), the iteration (steptime.c).
 * References: docs/time.md#compute; NVIDIA "Matrix Multiplication Background" user guide (tile and
 * wave quantisation); Dao 2023 FlashAttention-2 Sec. 4 (causal block skipping, bwd recompute).
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "est/compute.h"

/* output tile of one thread block for wave quantisation (cuBLAS's common 128x128 bf16 tile) */
#define TILE_M 128
#define TILE_N 128

// ---------------------------------------------------------------------------
// helpers

static bool usable(double x)
{
    return !isnan(x) && x > 0.0;
}

static double or_default(double x, double dflt)
{
    return usable(x) ? x : dflt;
}

static double peak_of(const est_coeffs *k, est_dtype dt)
{
    double p = k->peak_flop_per_s[dt];
    if (!usable(p)) {
        p = k->peak_flop_per_s[EST_DT_BF16];
    }
    return usable(p) ? p : 1.0;
}

static double ceil_div(double a, double b)
{
    return ceil(a / b);
}

/* fraction of the last wave's SMs that do useful work, averaged over all waves */
static double wave_eff(const est_coeffs *k, double batch, double m, double n)
{
    if (k->sm_count <= 0) {
        return 1.0;
    }
    double tiles = batch * ceil_div(m, TILE_M) * ceil_div(n, TILE_N);
    double sms = (double)k->sm_count;
    double waves = ceil_div(tiles, sms);
    return tiles / (waves * sms);
}

static double shape_eff(const est_coeffs *k, double m, double n, double kd)
{
    double dim = 3.0 / (1.0 / m + 1.0 / n + 1.0 / kd);
    return k->gemm_eff_max * dim / (dim + k->gemm_half_dim);
}

// ---------------------------------------------------------------------------
// coefficients

est_coeffs est_coeffs_from_hw(const est_gpu *gpu, const est_cluster *cluster)
{
    est_coeffs k;
    memset(&k, 0, sizeof k);
    for (int i = 0; i < EST_DT_COUNT; i++) {
        k.peak_flop_per_s[i] = gpu->peak_flop_per_s[i];
    }
    /* fallbacks: docs/time.md#defaults (H100-class values) */
    k.gemm_eff_max = or_default(gpu->gemm_eff_max, 0.80);
    k.gemm_half_dim = or_default(gpu->gemm_half_dim, 256.0);
    k.attn_eff = or_default(gpu->attn_eff, 0.45);
    k.mem_eff = or_default(gpu->mem_eff, 0.80);
    /* NeMo/Megatron-Bridge H100 tables: fp8 runs reach ~1.5x, not 2x, the bf16 model TFLOP/s */
    k.fp8_gemm_ratio = 0.75;
    k.hbm_bytes_per_s = or_default(gpu->hbm_bytes_per_s, 2.0e12);
    k.sm_count = gpu->sm_count > 0 ? gpu->sm_count : 0;
    /* achieved busbw over link rate: nccl-tests all_reduce on DGX H100 reaches ~360 of 450 GB/s
       NVLink (0.80); a 400 Gb/s NDR NIC ~45-48 of 50 GB/s (0.90). docs/time.md#defaults */
    double intra = cluster != NULL ? cluster->intra_bytes_per_s : NAN;
    if (!usable(intra)) {
        intra = usable(gpu->nvlink_bytes_per_s) ? gpu->nvlink_bytes_per_s : gpu->pcie_bytes_per_s;
    }
    k.intra_bytes_per_s = 0.80 * or_default(intra, 25e9);
    k.intra_alpha_s = cluster != NULL ? or_default(cluster->intra_latency_s, 3e-6) : 3e-6;
    double inter = cluster != NULL ? cluster->inter_bytes_per_s : NAN;
    k.inter_bytes_per_s = 0.90 * or_default(inter, 50e9);
    k.inter_alpha_s = cluster != NULL ? or_default(cluster->inter_latency_s, 10e-6) : 10e-6;
    k.gpus_per_node = cluster != NULL && cluster->gpus_per_node > 0 ? cluster->gpus_per_node : 8;
    k.overlap_slowdown = 0.10;
    k.kernel_overhead_s = 0.0;
    return k;
}

static est_status check_frac(const char *name, double x, est_diag *diag)
{
    if (!(x > 0.0 && x <= 1.0)) {
        return EST_FAIL(diag, EST_EINVAL, "coeffs.%s: %g must be in (0, 1]", name, x);
    }
    return EST_OK;
}

static est_status check_pos(const char *name, double x, est_diag *diag)
{
    if (!(x > 0.0) || isinf(x)) {
        return EST_FAIL(diag, EST_EINVAL, "coeffs.%s: %g must be positive", name, x);
    }
    return EST_OK;
}

est_status est_coeffs_validate(const est_coeffs *k, est_diag *diag)
{
    est_status s;
    if ((s = check_frac("gemm_eff_max", k->gemm_eff_max, diag)) != EST_OK ||
        (s = check_frac("attn_eff", k->attn_eff, diag)) != EST_OK ||
        (s = check_frac("mem_eff", k->mem_eff, diag)) != EST_OK ||
        (s = check_frac("fp8_gemm_ratio", k->fp8_gemm_ratio, diag)) != EST_OK ||
        (s = check_pos("hbm_bytes_per_s", k->hbm_bytes_per_s, diag)) != EST_OK ||
        (s = check_pos("intra_bytes_per_s", k->intra_bytes_per_s, diag)) != EST_OK ||
        (s = check_pos("inter_bytes_per_s", k->inter_bytes_per_s, diag)) != EST_OK ||
        (s = check_pos("peak_flop_per_s[bf16]", k->peak_flop_per_s[EST_DT_BF16], diag)) != EST_OK) {
        return s;
    }
    if (!(k->gemm_half_dim >= 0.0) || isinf(k->gemm_half_dim)) {
        return EST_FAIL(diag, EST_EINVAL, "coeffs.gemm_half_dim: %g must be >= 0",
                        k->gemm_half_dim);
    }
    if (!(k->intra_alpha_s >= 0.0) || !(k->inter_alpha_s >= 0.0)) {
        return EST_FAIL(diag, EST_EINVAL, "coeffs.*_alpha_s: latencies must be >= 0");
    }
    if (!(k->overlap_slowdown >= 0.0 && k->overlap_slowdown <= 1.0)) {
        return EST_FAIL(diag, EST_EINVAL, "coeffs.overlap_slowdown: %g must be in [0, 1]",
                        k->overlap_slowdown);
    }
    if (k->sm_count < 0 || k->gpus_per_node <= 0) {
        return EST_FAIL(diag, EST_EINVAL, "coeffs.sm_count/gpus_per_node: must be positive");
    }
    return EST_OK;
}

// ---------------------------------------------------------------------------
// GEMM

double est_gemm_eff(const est_coeffs *k, int64_t m, int64_t n, int64_t kdim)
{
    if (m <= 0 || n <= 0 || kdim <= 0) {
        return 0.0;
    }
    double dm = (double)m, dn = (double)n, dk = (double)kdim;
    return shape_eff(k, dm, dn, dk) * wave_eff(k, 1.0, dm, dn);
}

double est_gemm_time_s(const est_coeffs *k, int64_t m, int64_t n, int64_t kdim, est_dtype dt)
{
    return est_gemm_batched_time_s(k, 1, m, n, kdim, dt);
}

double est_gemm_batched_time_s(const est_coeffs *k, int64_t batch, int64_t m, int64_t n,
                               int64_t kdim, est_dtype dt)
{
    if (batch <= 0 || m <= 0 || n <= 0 || kdim <= 0) {
        return 0.0;
    }
    double db = (double)batch, dm = (double)m, dn = (double)n, dk = (double)kdim;
    double eff = shape_eff(k, dm, dn, dk) * wave_eff(k, db, dm, dn);
    if (dt == EST_DT_FP8) {
        eff *= k->fp8_gemm_ratio;
    }
    return 2.0 * db * dm * dn * dk / (peak_of(k, dt) * eff);
}

// ---------------------------------------------------------------------------
// attention and memory-bound kernels

double est_membound_time_s(const est_coeffs *k, double bytes)
{
    if (!(bytes > 0.0)) {
        return 0.0;
    }
    return bytes / (k->hbm_bytes_per_s * k->mem_eff);
}

double est_attention_time_s(const est_coeffs *k, int64_t b, int64_t heads, int64_t head_dim,
                            int64_t s, int64_t s_kv, bool causal, est_attention kind, bool backward,
                            est_dtype dt)
{
    if (b <= 0 || heads <= 0 || head_dim <= 0 || s <= 0 || s_kv <= 0) {
        return 0.0;
    }
    double db = (double)b, da = (double)heads, dd = (double)head_dim;
    double ds = (double)s, dkv = (double)s_kv;
    /* scores and values: 2 GEMMs of 2*s*s_kv*d flop per head; causal: half the square */
    double frac = causal ? 0.5 : 1.0;
    double fwd_flop = 4.0 * db * da * ds * dkv * dd * frac;
    if (kind == EST_ATTN_FLASH) {
        /* FA2: backward is 2x the GEMMs plus recomputing the scores: 2.5x forward */
        double mult = backward ? 2.5 : 1.0;
        return mult * fwd_flop / (peak_of(k, dt) * k->attn_eff);
    }
    /* standard (Megatron's fused scale-mask-softmax, then dropout) over the b*a*s*s_kv scores
       in 16-bit: forward reads and writes them twice plus a 1-byte mask (9 bytes/element);
       backward: dropout and softmax gradients, 11 bytes/element. GEMMs skip nothing. */
    int64_t bh = b * heads;
    double t;
    if (!backward) {
        t = est_gemm_batched_time_s(k, bh, s, s_kv, head_dim, dt) +
            est_gemm_batched_time_s(k, bh, s, head_dim, s_kv, dt);
    } else {
        t = 2.0 * (est_gemm_batched_time_s(k, bh, s, s_kv, head_dim, dt) +
                   est_gemm_batched_time_s(k, bh, s, head_dim, s_kv, dt));
    }
    double elems = db * da * ds * dkv;
    double bytes = (backward ? 11.0 : 9.0) * elems;
    return t + est_membound_time_s(k, bytes);
}

est_dtype est_compute_dtype(est_precision p)
{
    switch (p) {
    case EST_PREC_FP32: return EST_DT_TF32;
    case EST_PREC_FP16_MIXED: return EST_DT_FP16;
    case EST_PREC_FP8_MIXED: return EST_DT_FP8;
    default: return EST_DT_BF16;
    }
}

double est_mfu_peak_flop_per_s(const est_coeffs *k, est_precision p, bool fp8_peak)
{
    est_dtype dt = est_compute_dtype(p);
    if (dt == EST_DT_FP8 && !fp8_peak) {
        dt = EST_DT_BF16;
    }
    return peak_of(k, dt);
}
