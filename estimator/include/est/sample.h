/* sample.h -- one measured microbenchmark (the runtime -> calibration contract) and the estimator's
 * prediction of it.
 *
 * A sample is what `llmcal calibrate` measures on a GPU (or reads back from a sample file): a GEMM,
 * an attention core (forward or backward), a memory-bound copy, or an NCCL collective, with the
 * shape the estimator's cost functions take and the measured time. est_predict_sample() calls
 * exactly those cost functions (est/compute.h, est/collective.h), so the calibration's fit (GSL,
 * calib/src/fit.c) fits the coefficients the estimator uses and nothing else.
 *
 * Not here: file formats (calib/src/samples_io.c), the fit (calib/src/fit.c), the probes that
 * measure (calib/probes/). Pure: no allocation, no I/O, no globals.
 * References: nccl-tests src/util.h (struct IterStats: min/p50/p99 over iterations) and
 * doc/PERFORMANCE.md (collective sizes, algbw, busbw).
 */
#ifndef LLMCAL_EST_SAMPLE_H
#define LLMCAL_EST_SAMPLE_H

#include <stdbool.h>
#include <stdint.h>

#include "est/collective.h"
#include "est/compute.h"
#include "est/config.h"
#include "est/status.h"

typedef enum est_sample_kind {
    EST_SAMPLE_GEMM = 0,   /* batch x (C[m,n] = A[m,k] B[k,n]) */
    EST_SAMPLE_ATTENTION,  /* attention core of b sequences (scores, softmax, values) */
    EST_SAMPLE_MEMBOUND,   /* a kernel moving `bytes` through HBM (read + write counted) */
    EST_SAMPLE_COLLECTIVE, /* one NCCL collective of `bytes` (nccl-tests size) over nranks */
    EST_SAMPLE_KIND_COUNT
} est_sample_kind;

typedef struct est_sample {
    est_sample_kind kind;
    est_dtype dtype; /* GEMM and attention compute dtype */
    /* GEMM: C[m,n] = A[m,k] * B[k,n], `batch` of them (1 = a plain GEMM) */
    int64_t batch; /* independent GEMMs of the same shape (>= 1) */
    int64_t m;     /* rows of C */
    int64_t n;     /* columns of C */
    int64_t k;     /* reduction dimension */
    /* attention: b sequences, heads query heads of head_dim, seq queries against seq_kv keys */
    int64_t b;          /* sequences (micro-batch) */
    int64_t heads;      /* query heads on this GPU */
    int64_t head_dim;   /* d, per-head size (elements) */
    int64_t seq;        /* query tokens per sequence */
    int64_t seq_kv;     /* key/value tokens per sequence */
    bool causal;        /* causal mask (fused kernels skip masked blocks) */
    est_attention attn; /* flash or standard */
    bool backward;      /* backward pass (else forward) */
    /* memory-bound kernels and collectives */
    double bytes;       /* membound: bytes read + written; collective: nccl-tests size S */
    est_coll coll;      /* collective kind */
    est_coll_algo algo; /* algorithm the model assumes (auto: NCCL's tuner) */
    est_link link;      /* link class: intra (one NVLink domain) or inter (1 rank per node) */
    int nranks;         /* ranks in the communicator */
    /* measurement (nccl-tests IterStats) */
    double min_s;  /* fastest timed iteration (s) */
    double p50_s;  /* median (s) */
    double p99_s;  /* 99th percentile (s) */
    int64_t count; /* timed iterations behind the statistics */
} est_sample;

/* A zeroed sample of `kind` with neutral defaults (dtype bf16, batch 1, causal, flash, forward,
 * all-reduce, auto, intra, 1 rank, times NAN), by value. */
est_sample est_sample_default(est_sample_kind kind);

/* Checks the fields `s->kind` uses: positive shape dims, bytes > 0, nranks >= 2 (1 allowed for
 * send/recv), measured p50_s (and min_s/p99_s when not NAN) positive and finite, min <= p50 <= p99,
 * count >= 1. Returns EST_OK or EST_EINVAL with diag naming the field ("sample.m: 0 must be
 * positive"). */
est_status est_sample_validate(const est_sample *s, est_diag *diag);

/* The estimator's time (s) for the work a sample measured, under coefficient set `k`:
 *   gemm       est_gemm_batched_time_s(k, batch, m, n, k, dtype)
 *   attention  est_attention_time_s(k, b, heads, head_dim, seq, seq_kv, causal, attn, backward,
 *                                   dtype)
 *   membound   est_membound_time_s(k, bytes)
 *   collective est_collective_time_s(k, coll, algo, bytes, nranks, link)
 * Returns NAN for an unknown kind. Pure and reentrant. */
double est_predict_sample(const est_sample *s, const est_coeffs *k);

/* Work rate a sample achieved, for display: flop/s for GEMM and attention (the model's flop
 * count: 2*batch*m*n*k; attention 4*b*heads*seq*seq_kv*d, halved when causal, x2.5 backward for
 * flash and x2 for standard), bytes/s for membound, nccl-tests busbw (bytes/s) for collectives.
 * `t_s` is the time to divide by (measured or predicted). 0 when t_s <= 0. */
double est_sample_rate(const est_sample *s, double t_s);

/* Static names for files and JSON: "gemm", "attention", "membound", "collective"; parse back
 * (-1 for an unknown name). */
const char *est_sample_kind_name(est_sample_kind k);
int est_sample_kind_parse(const char *s);

/* Names used in sample files for the enums a sample holds, and parsing back (-1 when unknown):
 * dtype "fp32" "tf32" "bf16" "fp16" "fp8"; collective "all-reduce" "all-gather" "reduce-scatter"
 * "all-to-all" "send-recv" (est_coll_name()'s names; "send/recv", and nccl-tests' "allreduce",
 * "allgather", "reducescatter", "alltoall", "sendrecv" parse too); algorithm "auto" "ring" "tree";
 * link "intra" "inter"; attention "flash" "standard" (est_attention_parse()). */
const char *est_sample_dtype_name(est_dtype d);
int est_sample_dtype_parse(const char *s);
const char *est_sample_coll_name(est_coll c);
int est_sample_coll_parse(const char *s);
const char *est_sample_algo_name(est_coll_algo a);
int est_sample_algo_parse(const char *s);
const char *est_sample_link_name(est_link l);
int est_sample_link_parse(const char *s);

#endif /* LLMCAL_EST_SAMPLE_H */
