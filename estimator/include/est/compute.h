/* compute.h -- per-operation compute cost model: GEMMs, attention and memory-bound kernels, and the
 * coefficient set (est_coeffs) that the time model, the search and the calibration share.
 *
 * The calibration (GSL fits) fits exactly the fields of est_coeffs through these functions, so a
 * fitted coefficient means what the estimator uses. Formulas and sources: docs/time.md#compute.
 * Pure: no allocation, no I/O, no globals. All functions are reentrant.
 *
 * GEMM model (docs/time.md#gemm):
 *   t = 2*m*n*k / (peak[dtype] * eff),  eff = gemm_eff_max * D/(D + gemm_half_dim) * wave(m, n)
 *   D = 3 / (1/m + 1/n + 1/k)   (harmonic mean of the dims; a GEMM's arithmetic intensity in
 *                                 flop/element is D/3, so small and skinny GEMMs are slower)
 *   wave(m, n) = tiles / (ceil(tiles / sm_count) * sm_count), tiles = ceil(m/128)*ceil(n/128)
 *                 (wave quantisation; 1 when sm_count == 0)
 * Attention: flash (fused, causal blocks skipped) at attn_eff of peak; standard attention as two
 *   batched GEMMs plus a memory-bound softmax over the b*a*s*s score matrix.
 * Memory-bound kernels: t = bytes / (hbm_bytes_per_s * mem_eff).
 */
#ifndef LLMCAL_EST_COMPUTE_H
#define LLMCAL_EST_COMPUTE_H

#include <stdbool.h>
#include <stdint.h>

#include "est/config.h"
#include "est/status.h"

/* Rank order of the parallel groups, innermost (fastest-varying, NVLink-nearest) first.
 * Megatron-Core's default is tp-cp-ep-dp-pp; tp-cp-ep-pp-dp keeps pipeline neighbours closer. */
typedef enum est_rank_order {
    EST_ORDER_TP_CP_EP_DP_PP = 0, /* Megatron default: --order tp-cp-ep-dp-pp */
    EST_ORDER_TP_CP_EP_PP_DP,     /* pipeline inside, data parallel outermost */
    EST_ORDER_COUNT
} est_rank_order;

/* Every coefficient of the time model. Plain data: fill it from the hardware profiles with
 * est_coeffs_from_hw(), or from a calibrated profile (the calibration writes these keys). */
typedef struct est_coeffs {
    /* compute (per GPU) */
    double peak_flop_per_s[EST_DT_COUNT]; /* dense peak per dtype (flop/s), copied from est_gpu */
    double gemm_eff_max;                  /* fraction of peak a large square GEMM reaches (0..1] */
    double gemm_half_dim;   /* harmonic-mean GEMM dimension (elements) at which eff halves */
    double attn_eff;        /* flash attention fwd and bwd, fraction of peak on causal flops */
    double mem_eff;         /* achievable fraction of HBM bandwidth for elementwise kernels */
    double fp8_gemm_ratio;  /* fp8 GEMM efficiency over the bf16 one (per-tensor scaling casts,
                                 amax reductions and transposes of Transformer Engine) */
    double hbm_bytes_per_s; /* datasheet HBM bandwidth (bytes/s), copied from est_gpu */
    int sm_count;           /* streaming multiprocessors for wave quantisation; 0 = off */
    /* communication: alpha-beta per link class; the bandwidths are achieved nccl-tests bus
       bandwidths (busbw) per GPU, one direction, not datasheet link rates */
    double intra_alpha_s;     /* latency of one algorithm step inside a node (s) */
    double intra_bytes_per_s; /* busbw inside a node (NVLink/NVSwitch), bytes/s */
    double inter_alpha_s;     /* latency of one algorithm step between nodes (s) */
    double inter_bytes_per_s; /* busbw per GPU between nodes (its NIC share), bytes/s */
    int gpus_per_node;        /* ranks sharing one NVLink domain */
    /* overlap */
    double overlap_slowdown;  /* compute slows by this fraction of the communication time it
                                 hides (SM and HBM contention); 0 = perfect overlap */
    double kernel_overhead_s; /* fixed launch/sync cost per layer per micro-batch pass (s) */
} est_coeffs;

/* Defaults from the hardware profiles: the GPU's peaks and efficiency fields (gemm_eff_max,
 * gemm_half_dim, attn_eff, mem_eff, sm_count) and the cluster's links times the achievable
 * fractions of docs/time.md#defaults (busbw/link: 0.80 NVLink, 0.90 InfiniBand). A GPU profile
 * field that is NAN or <= 0 falls back to the H100/A100 values in docs/time.md. Never fails. */
est_coeffs est_coeffs_from_hw(const est_gpu *gpu, const est_cluster *cluster);

/* Checks a coefficient set (fractions in (0,1], positive bandwidths...) and names the first bad
 * field. Returns EST_OK or EST_EINVAL. */
est_status est_coeffs_validate(const est_coeffs *k, est_diag *diag);

/* Efficiency (fraction of peak, 0..1] of an m x n x k GEMM under the model above. */
double est_gemm_eff(const est_coeffs *k, int64_t m, int64_t n, int64_t kdim);

/* Time (s) of one C[m,n] = A[m,k] * B[k,n] in `dt` (2*m*n*k flop). 0 if any dim is <= 0.
 * A dtype without a peak (NAN) falls back to the bf16 peak. */
double est_gemm_time_s(const est_coeffs *k, int64_t m, int64_t n, int64_t kdim, est_dtype dt);

/* Time (s) of `batch` independent GEMMs of one shape (batched GEMM: waves over batch*tiles). */
double est_gemm_batched_time_s(const est_coeffs *k, int64_t batch, int64_t m, int64_t n,
                               int64_t kdim, est_dtype dt);

/* Attention core (scores, softmax, values) of b sequences, `heads` query heads of dimension
 * head_dim, s query tokens attending to s_kv keys, on one GPU. `causal` halves the work of the
 * square part as fused kernels skip masked blocks. flash: flop/(peak*attn_eff); standard: two
 * batched GEMMs plus softmax (and its mask/dropout) over b*heads*s*s_kv elements from HBM.
 * `backward` selects the backward pass (2x the forward GEMM flops; flash also recomputes the
 * scores: 2.5x). Returns seconds. */
double est_attention_time_s(const est_coeffs *k, int64_t b, int64_t heads, int64_t head_dim,
                            int64_t s, int64_t s_kv, bool causal, est_attention kind, bool backward,
                            est_dtype dt);

/* Time (s) of a memory-bound kernel moving `bytes` to and from HBM. */
double est_membound_time_s(const est_coeffs *k, double bytes);

/* The compute dtype of a precision (bf16 for bf16-mixed and bf16, fp8 for fp8-mixed...). */
est_dtype est_compute_dtype(est_precision p);

/* Peak (flop/s) used for MFU under a precision: the dtype's dense peak, except fp8-mixed which
 * reports against the bf16 peak unless `fp8_peak` (NeMo/Megatron-Bridge quote model TFLOP/s and
 * leave the peak unstated). */
double est_mfu_peak_flop_per_s(const est_coeffs *k, est_precision p, bool fp8_peak);

// ---------------------------------------------------------------------------
// options of the iteration model (est_step_time_ex in steptime.c)

/* What est_step_time() assumes when called without options: coefficients from the profiles,
 * Megatron's rank order, TP communication exposed in forward (backward input-gradient
 * collectives overlap the weight-gradient GEMMs, as Megatron's async TP all-reduce does). */
typedef struct est_time_opts {
    const est_coeffs *coeffs; /* NULL: est_coeffs_from_hw(cfg->gpu, cfg->cluster) */
    est_rank_order order;     /* rank order of the groups (which cross nodes) */
    bool tp_comm_overlap;     /* --tp-comm-overlap (TE userbuffers): TP/SP collectives hidden
                                 behind the GEMMs they feed, forward and backward */
    bool fp8_mfu_peak;        /* fp8-mixed: MFU against the fp8 peak instead of bf16 */
    bool calibrated;          /* coeffs come from a calibrated profile (reported in the notes) */
} est_time_opts;

/* Defaults described above, by value. */
est_time_opts est_time_opts_default(void);

struct est_time_report;

/* est_step_time() with explicit options (calibrated coefficients, rank order...). `opts` may be
 * NULL (defaults). Same contract as est_step_time() (est/steptime.h). */
est_status est_step_time_ex(const est_config *cfg, const est_time_opts *opts,
                            struct est_time_report *out, est_diag *diag);

#endif /* LLMCAL_EST_COMPUTE_H */
