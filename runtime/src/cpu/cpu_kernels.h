/* cpu_kernels.h -- the CPU reference kernels (cpu/kernels.c): every op of the model in fp32,
 * the arithmetic specification of both backends. cpu/backend.c wraps them into the rt_backend
 * table with bf16 storage emulated exactly (widen, compute in fp32, round to nearest even once).
 */
#ifndef LLMCAL_RT_CPU_KERNELS_H
#define LLMCAL_RT_CPU_KERNELS_H

#include "rt_internal.h"

void rtk_embed_fwd(rt_rank *r, float *out, const int *tok, const float *wte, int N, int C, int voff,
                   int V);
void rtk_embed_bwd(rt_rank *r, float *dwte, const float *dout, const int *tok, int N, int C,
                   int voff, int V);
void rtk_pos_fwd(rt_rank *r, float *out, const float *wpe, int N, int T, int C, int row0);
void rtk_pos_bwd(rt_rank *r, float *dwpe, const float *dout, int N, int T, int C, int row0);
void rtk_norm_fwd(rt_rank *r, float *out, float *mean, float *rstd, const float *inp,
                  const float *w, const float *b, int N, int C, bool rms);
void rtk_norm_bwd(rt_rank *r, float *dinp, float *dw, float *db, const float *dout,
                  const float *inp, const float *w, const float *mean, const float *rstd, int N,
                  int C, bool rms);
void rtk_matmul_fwd(rt_rank *r, float *out, const float *inp, const float *w, const float *bias,
                    int N, int C, int OC);
void rtk_matmul_bwd(rt_rank *r, float *dinp, float *dw, float *db, const float *dout,
                    const float *inp, const float *w, int N, int C, int OC);
void rtk_rope(rt_rank *r, float *qkv, int B, int T, int nq, int nkv, int d, bool inverse);
void rtk_attn_fwd(rt_rank *r, float *out, float *lse, float *att, const float *qkv, int B, int T,
                  int nq, int nkv, int d);
void rtk_attn_bwd(rt_rank *r, float *dqkv, const float *dout, const float *qkv, const float *out,
                  const float *lse, const float *att, int B, int T, int nq, int nkv, int d);
void rtk_act_fwd(rt_rank *r, float *out, const float *inp, int N, int F, rt_actkind k);
void rtk_act_bwd(rt_rank *r, float *dinp, const float *dout, const float *inp, int N, int F,
                 rt_actkind k);
void rtk_residual_fwd(rt_rank *r, float *out, const float *a, const float *b, const float *bias,
                      int N, int C);
void rtk_bias_bwd(rt_rank *r, float *db, const float *dout, int N, int C);
void rtk_add(rt_rank *r, float *dst, const float *src, size_t n);
void rtk_ce_max(rt_rank *r, float *mx, const float *logits, int N, int V);
void rtk_ce_partial(rt_rank *r, float *stats, const float *logits, const float *mx, const int *tgt,
                    int N, int V, int voff);
void rtk_ce_finish(rt_rank *r, float *probs, float *losses, const float *stats, const float *mx,
                   const float *logits, int N, int V);
void rtk_ce_bwd(rt_rank *r, float *dlogits, const float *probs, const int *tgt, int N, int V,
                int voff, float scale);
void rtk_adamw(rt_rank *r, float *p, const float *g, float *m, float *v, size_t n, float lr,
               float b1, float b2, float eps, float wd, int t);

#endif /* LLMCAL_RT_CPU_KERNELS_H */
