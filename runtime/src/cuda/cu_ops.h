/* cu_ops.h -- the CUDA backend's per-rank context and its kernel launchers (cuda/ops.cu), with the
 * same signatures as the rt_backend table's entries (rt_internal.h), so backend.c can fill the
 * table. C-compatible. Only built with LLMCAL_WITH_CUDA.
 */
#ifndef LLMCAL_RT_CU_OPS_H
#define LLMCAL_RT_CU_OPS_H

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <nccl.h>

#include "rt_internal.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cu_ctx {
    int dev;                    /* CUDA device of this rank */
    cudaStream_t s;             /* the rank's one stream: kernels, GEMMs and NCCL in order */
    cublasHandle_t blas;
    ncclComm_t world;           /* all ranks of this process */
    ncclComm_t comm[RT_G_COUNT]; /* split per group; NULL where the group has one rank */
    ncclComm_t pp_fwd, pp_bwd;  /* pipeline: activations forward, gradients backward */
    int status;                 /* first CUDA/cuBLAS error seen by a launcher (0 = none) */
} cu_ctx;

void cu_embed_fwd(rt_rank *r, float *out, const int *tok, const float *wte, int N, int C, int voff,
                  int V);
void cu_embed_bwd(rt_rank *r, float *dwte, const float *dout, const int *tok, int N, int C,
                  int voff, int V);
void cu_pos_fwd(rt_rank *r, float *out, const float *wpe, int N, int T, int C, int row0);
void cu_pos_bwd(rt_rank *r, float *dwpe, const float *dout, int N, int T, int C, int row0);
void cu_norm_fwd(rt_rank *r, float *out, float *mean, float *rstd, const float *inp,
                 const float *w, const float *b, int N, int C, bool rms);
void cu_norm_bwd(rt_rank *r, float *dinp, float *dw, float *db, const float *dout,
                 const float *inp, const float *w, const float *mean, const float *rstd, int N,
                 int C, bool rms);
void cu_matmul_fwd(rt_rank *r, float *out, const float *inp, const float *w, const float *bias,
                   int N, int C, int OC);
void cu_matmul_bwd(rt_rank *r, float *dinp, float *dw, float *db, const float *dout,
                   const float *inp, const float *w, int N, int C, int OC);
void cu_rope(rt_rank *r, float *qkv, int B, int T, int nq, int nkv, int d, bool inverse);
void cu_attn_fwd(rt_rank *r, float *out, float *lse, float *att, const float *qkv, int B, int T,
                 int nq, int nkv, int d);
void cu_attn_bwd(rt_rank *r, float *dqkv, const float *dout, const float *qkv, const float *out,
                 const float *lse, const float *att, int B, int T, int nq, int nkv, int d);
void cu_act_fwd(rt_rank *r, float *out, const float *inp, int N, int F, rt_actkind k);
void cu_act_bwd(rt_rank *r, float *dinp, const float *dout, const float *inp, int N, int F,
                rt_actkind k);
void cu_residual_fwd(rt_rank *r, float *out, const float *a, const float *b, const float *bias,
                     int N, int C);
void cu_bias_bwd(rt_rank *r, float *db, const float *dout, int N, int C);
void cu_add(rt_rank *r, float *dst, const float *src, size_t n);
void cu_ce_max(rt_rank *r, float *mx, const float *logits, int N, int V);
void cu_ce_partial(rt_rank *r, float *stats, const float *logits, const float *mx, const int *tgt,
                   int N, int V, int voff);
void cu_ce_finish(rt_rank *r, float *probs, float *losses, const float *stats, const float *mx,
                  int N, int V);
void cu_ce_bwd(rt_rank *r, float *dlogits, const int *tgt, int N, int V, int voff, float scale);
void cu_adamw(rt_rank *r, float *p, const float *g, float *m, float *v, size_t n, float lr,
              float b1, float b2, float eps, float wd, int t);

#ifdef __cplusplus
}
#endif

#endif /* LLMCAL_RT_CU_OPS_H */
