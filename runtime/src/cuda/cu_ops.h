/* cu_ops.h -- the CUDA backend's per-rank context and its kernel launchers (gemm.cu,
 * attention.cu, norm.cu, elementwise.cu, optimizer.cu), with the signatures of the rt_backend
 * table's entries (rt_internal.h), so backend.c can fill the table. C-compatible; only built with
 * LLMCAL_WITH_CUDA. Tensors typed void * are in the rank's compute type r->adt (fp32 or bf16).
 */
#ifndef LLMCAL_RT_CU_OPS_H
#define LLMCAL_RT_CU_OPS_H

#include <cublasLt.h>
#include <cuda_runtime.h>
#include <nccl.h>

#include "rt_internal.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CU_GEMM_CACHE      64          /* cached cuBLASLt heuristic choices per rank */
#define CU_WORKSPACE_BYTES (32u << 20) /* cuBLASLt workspace (Hopper recommendation) */
#define CU_MAX_MARKS       4096        /* timeline events per step before an early flush */

typedef struct cu_gemm_key {
    int ta, tb, m, n, k, ab, cd, epi; /* transposes, shape, A/B and C/D types, epilogue */
    float beta;
} cu_gemm_key;

typedef struct cu_gemm_entry {
    cu_gemm_key key;
    cublasLtMatmulDesc_t op;
    cublasLtMatrixLayout_t la, lb, lc;
    cublasLtMatmulAlgo_t algo;
    int has_algo; /* 0: the heuristic found none; cublasLtMatmul picks */
} cu_gemm_entry;

typedef struct cu_ctx {
    int dev;        /* CUDA device of this rank */
    cudaStream_t s; /* the rank's one stream: kernels, GEMMs and NCCL in order */
    cublasLtHandle_t lt;
    void *workspace; /* CU_WORKSPACE_BYTES for cuBLASLt */
    cu_gemm_entry cache[CU_GEMM_CACHE];
    int ncache;
    ncclComm_t world;            /* every rank (of this process, or of the launch) */
    ncclComm_t comm[RT_G_COUNT]; /* split per group; NULL where the group has one rank */
    int status;                  /* first CUDA/cuBLAS error seen by a launcher (0 = none) */
    /* phase timeline: events recorded on s, their parts; summed by flush */
    cudaEvent_t ev[CU_MAX_MARKS];
    int part[CU_MAX_MARKS];
    int nev, nev_created;
} cu_ctx;

/* gemm.cu: cuBLASLt with fp32 accumulation (CUBLAS_COMPUTE_32F), A/B/C in the compute type,
   weight gradients accumulated into fp32 main grads; heuristic choice cached per shape */
int cu_gemm_init(cu_ctx *c); /* 0 or a cuBLAS status */
void cu_gemm_destroy(cu_ctx *c);
void cu_matmul_fwd(rt_rank *r, void *out, const void *inp, const void *w, const void *bias, int N,
                   int C, int OC);
void cu_bias_grad(rt_rank *r, float *db, const void *dout, int N, int OC); /* db += colsum */
void cu_matmul_bwd(rt_rank *r, void *dinp, float *dw, float *db, const void *dout, const void *inp,
                   const void *w, int N, int C, int OC);
/* the same GEMM on raw arguments (benchmarks): D (m x n, column-major) = op(A) op(B) (+ beta D) */
int cu_gemm_raw(cu_ctx *c, rt_dtype ab, rt_dtype cd, int ta, int tb, int m, int n, int k,
                const void *A, int lda, const void *B, int ldb, void *D, int ldd, float beta,
                const void *bias);

/* attention.cu: RoPE and the tiled flash attention (online softmax, log-sum-exp saved, GQA) */
void cu_rope(rt_rank *r, void *qkv, int B, int T, int nq, int nkv, int d, bool inverse);
void cu_attn_fwd(rt_rank *r, void *out, float *lse, void *att, const void *qkv, int B, int T,
                 int nq, int nkv, int d);
void cu_attn_bwd(rt_rank *r, void *dqkv, const void *dout, const void *qkv, const void *out,
                 const float *lse, const void *att, int B, int T, int nq, int nkv, int d);
/* raw forms on a stream (benchmarks, tests): dt is the storage type */
int cu_flash_fwd(cudaStream_t s, rt_dtype dt, void *out, float *lse, void *att, const void *qkv,
                 int B, int T, int nq, int nkv, int d);
int cu_flash_bwd(cudaStream_t s, rt_dtype dt, void *dqkv, const void *dout, const void *qkv,
                 const void *out, const float *lse, const void *att, int B, int T, int nq, int nkv,
                 int d);

/* norm.cu */
void cu_norm_fwd(rt_rank *r, void *out, float *mean, float *rstd, const void *inp, const void *w,
                 const void *b, int N, int C, bool rms);
void cu_norm_bwd(rt_rank *r, void *dinp, float *dw, float *db, const void *dout, const void *inp,
                 const void *w, const float *mean, const float *rstd, int N, int C, bool rms);

/* elementwise.cu */
void cu_embed_fwd(rt_rank *r, void *out, const int *tok, const void *wte, int N, int C, int voff,
                  int V);
void cu_embed_bwd(rt_rank *r, float *dwte, const void *dout, const int *tok, int N, int C, int voff,
                  int V);
void cu_pos_fwd(rt_rank *r, void *out, const void *wpe, int N, int T, int C, int row0);
void cu_pos_bwd(rt_rank *r, float *dwpe, const void *dout, int N, int T, int C, int row0);
void cu_act_fwd(rt_rank *r, void *out, const void *inp, int N, int F, rt_actkind k);
void cu_act_bwd(rt_rank *r, void *dinp, const void *dout, const void *inp, int N, int F,
                rt_actkind k);
void cu_residual_fwd(rt_rank *r, void *out, const void *a, const void *b, const void *bias, int N,
                     int C);
void cu_bias_bwd(rt_rank *r, float *db, const void *dout, int N, int C);
void cu_add(rt_rank *r, float *dst, const float *src, size_t n);
void cu_ce_max(rt_rank *r, float *mx, const void *logits, int N, int V);
void cu_ce_partial(rt_rank *r, float *stats, const void *logits, const float *mx, const int *tgt,
                   int N, int V, int voff);
void cu_ce_finish(rt_rank *r, float *probs, float *losses, const float *stats, const float *mx,
                  const void *logits, int N, int V);
void cu_ce_bwd(rt_rank *r, void *dlogits, const float *probs, const int *tgt, int N, int V,
               int voff, float scale);

/* optimizer.cu: fused AdamW over a flat buffer (all tensors of a chunk in one launch), fp32
   master and moments, bf16 write-back of the compute copy when model != NULL */
void cu_adamw(rt_rank *r, float *p, const float *g, float *m, float *v, void *model, size_t n,
              float lr, float b1, float b2, float eps, float wd, int t);

#ifdef __cplusplus
}
#endif

#endif /* LLMCAL_RT_CU_OPS_H */
