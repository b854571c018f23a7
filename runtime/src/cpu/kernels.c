/* kernels.c -- the CPU reference backend: every forward/backward op of the model in plain fp32 C,
 * following karpathy/llm.c train_gpt2.c (layernorm, matmul, attention, gelu, crossentropy, adamw)
 * plus RMSNorm, RoPE, SwiGLU, GQA and the vocab-parallel cross-entropy pieces of Megatron.
 *
 * All arguments fp32; cpu/backend.c adapts them to the rank's compute type (bf16 storage: widen,
 * run these, round once on store), so these functions are the arithmetic of both precisions.
 * This file is the specification the CUDA backend must match. It is deliberately simple (loops,
 * no blocking, no threads inside an op): ranks already run as threads. Sums that feed the loss
 * are accumulated in double so finite-difference checks are not drowned in rounding.
 * Not here: the backend table and bf16 storage (backend.c), collectives (comm_local.c), parallel
 * logic (layer.c, step.c).
 */
#include "cpu/cpu_kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

// ---------------------------------------------------------------------------
// embedding (vocab-parallel: rows [voff, voff+V) live here, others give 0)

void rtk_embed_fwd(rt_rank *r, float *out, const int *tok, const float *wte, int N, int C, int voff,
                   int V)
{
    (void)r;
    for (int n = 0; n < N; n++) {
        float *o = out + (size_t)n * C;
        int t = tok[n] - voff;
        if (t >= 0 && t < V) {
            memcpy(o, wte + (size_t)t * C, (size_t)C * sizeof *o);
        } else {
            memset(o, 0, (size_t)C * sizeof *o);
        }
    }
}

void rtk_embed_bwd(rt_rank *r, float *dwte, const float *dout, const int *tok, int N, int C,
                   int voff, int V)
{
    (void)r;
    for (int n = 0; n < N; n++) {
        int t = tok[n] - voff;
        if (t < 0 || t >= V) {
            continue;
        }
        const float *d = dout + (size_t)n * C;
        float *w = dwte + (size_t)t * C;
        for (int i = 0; i < C; i++) {
            w[i] += d[i];
        }
    }
}

/* rows are (b, t) flattened; row0 is the global row of out[0] (sequence-parallel shards) */
void rtk_pos_fwd(rt_rank *r, float *out, const float *wpe, int N, int T, int C, int row0)
{
    (void)r;
    for (int n = 0; n < N; n++) {
        const float *p = wpe + (size_t)((row0 + n) % T) * C;
        float *o = out + (size_t)n * C;
        for (int i = 0; i < C; i++) {
            o[i] += p[i];
        }
    }
}

void rtk_pos_bwd(rt_rank *r, float *dwpe, const float *dout, int N, int T, int C, int row0)
{
    (void)r;
    for (int n = 0; n < N; n++) {
        float *p = dwpe + (size_t)((row0 + n) % T) * C;
        const float *d = dout + (size_t)n * C;
        for (int i = 0; i < C; i++) {
            p[i] += d[i];
        }
    }
}

// ---------------------------------------------------------------------------
// LayerNorm / RMSNorm (eps 1e-5 as llm.c); mean unused (may be NULL) for RMSNorm

void rtk_norm_fwd(rt_rank *r, float *out, float *mean, float *rstd, const float *inp,
                  const float *w, const float *b, int N, int C, bool rms)
{
    (void)r;
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;
        double m = 0.0;
        if (!rms) {
            for (int i = 0; i < C; i++) {
                m += x[i];
            }
            m /= C;
        }
        double v = 0.0;
        for (int i = 0; i < C; i++) {
            double xm = x[i] - m;
            v += xm * xm;
        }
        v /= C;
        float s = (float)(1.0 / sqrt(v + 1e-5));
        float *o = out + (size_t)n * C;
        for (int i = 0; i < C; i++) {
            float xh = (float)(x[i] - m) * s;
            o[i] = xh * w[i] + (b ? b[i] : 0.0f);
        }
        if (mean) {
            mean[n] = (float)m;
        }
        rstd[n] = s;
    }
}

void rtk_norm_bwd(rt_rank *r, float *dinp, float *dw, float *db, const float *dout,
                  const float *inp, const float *w, const float *mean, const float *rstd, int N,
                  int C, bool rms)
{
    (void)r;
    for (int n = 0; n < N; n++) {
        const float *d = dout + (size_t)n * C;
        const float *x = inp + (size_t)n * C;
        float *dx = dinp + (size_t)n * C;
        float m = (rms || !mean) ? 0.0f : mean[n];
        float s = rstd[n];
        double dn_mean = 0.0;
        double dnx_mean = 0.0;
        for (int i = 0; i < C; i++) {
            float xh = (x[i] - m) * s;
            float dn = w[i] * d[i];
            dn_mean += dn;
            dnx_mean += dn * xh;
        }
        dn_mean /= C;
        dnx_mean /= C;
        if (rms) {
            dn_mean = 0.0;
        }
        for (int i = 0; i < C; i++) {
            float xh = (x[i] - m) * s;
            float dn = w[i] * d[i];
            if (db) {
                db[i] += d[i];
            }
            dw[i] += xh * d[i];
            dx[i] += (float)(dn - dn_mean - xh * dnx_mean) * s;
        }
    }
}

// ---------------------------------------------------------------------------
// matmul: out (N, OC) = inp (N, C) @ w (OC, C)^T + bias (OC)

void rtk_matmul_fwd(rt_rank *r, float *out, const float *inp, const float *w, const float *bias,
                    int N, int C, int OC)
{
    (void)r;
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;
        float *o = out + (size_t)n * OC;
        for (int j = 0; j < OC; j++) {
            const float *wr = w + (size_t)j * C;
            float s = bias ? bias[j] : 0.0f;
            for (int i = 0; i < C; i++) {
                s += x[i] * wr[i];
            }
            o[j] = s;
        }
    }
}

/* dinp (N, C) = dout @ w (overwritten; may be NULL); dw (OC, C) += dout^T @ inp;
   db (OC) += column sums of dout (may be NULL) */
void rtk_matmul_bwd(rt_rank *r, float *dinp, float *dw, float *db, const float *dout,
                    const float *inp, const float *w, int N, int C, int OC)
{
    (void)r;
    if (dinp) {
        for (int n = 0; n < N; n++) {
            float *dx = dinp + (size_t)n * C;
            const float *d = dout + (size_t)n * OC;
            memset(dx, 0, (size_t)C * sizeof *dx);
            for (int j = 0; j < OC; j++) {
                const float *wr = w + (size_t)j * C;
                float dj = d[j];
                for (int i = 0; i < C; i++) {
                    dx[i] += dj * wr[i];
                }
            }
        }
    }
    for (int j = 0; j < OC; j++) {
        float *dwr = dw + (size_t)j * C;
        float sb = 0.0f;
        for (int n = 0; n < N; n++) {
            float dj = dout[(size_t)n * OC + j];
            const float *x = inp + (size_t)n * C;
            sb += dj;
            for (int i = 0; i < C; i++) {
                dwr[i] += dj * x[i];
            }
        }
        if (db) {
            db[j] += sb;
        }
    }
}

// ---------------------------------------------------------------------------
// RoPE (rotate-half pairing of GPT-NeoX/Llama, base 10000) on q and k of each qkv row;
// inverse rotates by -theta (the backward of a rotation is its transpose)

void rtk_rope(rt_rank *r, float *qkv, int B, int T, int nq, int nkv, int d, bool inverse)
{
    (void)r;
    int QKV = (nq + 2 * nkv) * d;
    int half = d / 2;
    for (int b = 0; b < B; b++) {
        for (int t = 0; t < T; t++) {
            float *row = qkv + ((size_t)b * T + t) * QKV;
            for (int h = 0; h < nq + nkv; h++) {
                float *x = row + (size_t)h * d;
                for (int i = 0; i < half; i++) {
                    double theta = t * pow(10000.0, -2.0 * i / d);
                    float c = (float)cos(theta);
                    float s = (float)sin(theta);
                    if (inverse) {
                        s = -s;
                    }
                    float x1 = x[i];
                    float x2 = x[i + half];
                    x[i] = x1 * c - x2 * s;
                    x[i + half] = x1 * s + x2 * c;
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// causal attention with GQA (query head h reads kv head h / (nq/nkv)); stores the log-sum-exp
// per row (flash-style) and, when att != NULL, the probabilities (standard attention)

void rtk_attn_fwd(rt_rank *r, float *out, float *lse, float *att, const float *qkv, int B, int T,
                  int nq, int nkv, int d)
{
    int QKV = (nq + 2 * nkv) * d;
    int grp = nq / nkv;
    float scale = 1.0f / sqrtf((float)d);
    double *p = malloc((size_t)T * sizeof *p);
    if (!p) {
        r->kst = EST_ENOMEM; /* reported at the end of the step */
        return;
    }
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < nq; h++) {
            int kh = h / grp;
            for (int t = 0; t < T; t++) {
                const float *q = qkv + ((size_t)b * T + t) * QKV + (size_t)h * d;
                double mx = -INFINITY;
                for (int j = 0; j <= t; j++) {
                    const float *k = qkv + ((size_t)b * T + j) * QKV + (size_t)(nq + kh) * d;
                    double s = 0.0;
                    for (int i = 0; i < d; i++) {
                        s += (double)q[i] * k[i];
                    }
                    p[j] = s * scale;
                    if (p[j] > mx) {
                        mx = p[j];
                    }
                }
                double sum = 0.0;
                for (int j = 0; j <= t; j++) {
                    p[j] = exp(p[j] - mx);
                    sum += p[j];
                }
                lse[((size_t)b * nq + h) * T + t] = (float)(mx + log(sum));
                float *o = out + ((size_t)b * T + t) * (size_t)(nq * d) + (size_t)h * d;
                memset(o, 0, (size_t)d * sizeof *o);
                float *arow = att ? att + (((size_t)b * nq + h) * T + t) * T : NULL;
                for (int j = 0; j < T; j++) {
                    float pj = j <= t ? (float)(p[j] / sum) : 0.0f;
                    if (arow) {
                        arow[j] = pj;
                    }
                    if (j > t) {
                        continue;
                    }
                    const float *v = qkv + ((size_t)b * T + j) * QKV + (size_t)(nq + nkv + kh) * d;
                    for (int i = 0; i < d; i++) {
                        o[i] += pj * v[i];
                    }
                }
            }
        }
    }
    free(p);
}

void rtk_attn_bwd(rt_rank *r, float *dqkv, const float *dout, const float *qkv, const float *out,
                  const float *lse, const float *att, int B, int T, int nq, int nkv, int d)
{
    (void)r;
    int QKV = (nq + 2 * nkv) * d;
    int grp = nq / nkv;
    float scale = 1.0f / sqrtf((float)d);
    memset(dqkv, 0, (size_t)B * T * QKV * sizeof *dqkv);
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < nq; h++) {
            int kh = h / grp;
            for (int t = 0; t < T; t++) {
                size_t row = (size_t)b * T + t;
                const float *q = qkv + row * QKV + (size_t)h * d;
                float *dq = dqkv + row * QKV + (size_t)h * d;
                const float *dO = dout + row * (size_t)(nq * d) + (size_t)h * d;
                const float *O = out + row * (size_t)(nq * d) + (size_t)h * d;
                float L = lse[((size_t)b * nq + h) * T + t];
                double D = 0.0;
                for (int i = 0; i < d; i++) {
                    D += (double)dO[i] * O[i];
                }
                for (int j = 0; j <= t; j++) {
                    size_t rj = (size_t)b * T + j;
                    const float *k = qkv + rj * QKV + (size_t)(nq + kh) * d;
                    const float *v = qkv + rj * QKV + (size_t)(nq + nkv + kh) * d;
                    float *dk = dqkv + rj * QKV + (size_t)(nq + kh) * d;
                    float *dv = dqkv + rj * QKV + (size_t)(nq + nkv + kh) * d;
                    float pj;
                    if (att) {
                        pj = att[(((size_t)b * nq + h) * T + t) * T + j];
                    } else {
                        double s = 0.0;
                        for (int i = 0; i < d; i++) {
                            s += (double)q[i] * k[i];
                        }
                        pj = (float)exp(s * scale - L);
                    }
                    double dp = 0.0;
                    for (int i = 0; i < d; i++) {
                        dp += (double)dO[i] * v[i];
                    }
                    float ds = (float)(pj * (dp - D)) * scale;
                    for (int i = 0; i < d; i++) {
                        dq[i] += ds * k[i];
                        dk[i] += ds * q[i];
                        dv[i] += pj * dO[i];
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// MLP activations: GELU (tanh form, llm.c) on (N, F); SwiGLU on (N, 2F) rows [gate | up]

#define GELU_SCALE 0.7978845608028654f /* sqrt(2/pi) */

void rtk_act_fwd(rt_rank *r, float *out, const float *inp, int N, int F, rt_actkind k)
{
    (void)r;
    for (int n = 0; n < N; n++) {
        float *o = out + (size_t)n * F;
        if (k == RT_ACT_GELU) {
            const float *x = inp + (size_t)n * F;
            for (int i = 0; i < F; i++) {
                float c = x[i] * x[i] * x[i];
                o[i] = 0.5f * x[i] * (1.0f + tanhf(GELU_SCALE * (x[i] + 0.044715f * c)));
            }
        } else {
            const float *g = inp + (size_t)n * 2 * F;
            const float *u = g + F;
            for (int i = 0; i < F; i++) {
                float s = 1.0f / (1.0f + expf(-g[i]));
                o[i] = g[i] * s * u[i];
            }
        }
    }
}

void rtk_act_bwd(rt_rank *r, float *dinp, const float *dout, const float *inp, int N, int F,
                 rt_actkind k)
{
    (void)r;
    for (int n = 0; n < N; n++) {
        const float *d = dout + (size_t)n * F;
        if (k == RT_ACT_GELU) {
            const float *x = inp + (size_t)n * F;
            float *dx = dinp + (size_t)n * F;
            for (int i = 0; i < F; i++) {
                float c = x[i] * x[i] * x[i];
                float a = GELU_SCALE * (x[i] + 0.044715f * c);
                float th = tanhf(a);
                float ch = coshf(a);
                float sech2 = 1.0f / (ch * ch);
                float grad = 0.5f * (1.0f + th) + x[i] * 0.5f * sech2 * GELU_SCALE *
                                                      (1.0f + 3.0f * 0.044715f * x[i] * x[i]);
                dx[i] = grad * d[i];
            }
        } else {
            const float *g = inp + (size_t)n * 2 * F;
            const float *u = g + F;
            float *dg = dinp + (size_t)n * 2 * F;
            float *du = dg + F;
            for (int i = 0; i < F; i++) {
                float s = 1.0f / (1.0f + expf(-g[i]));
                float silu = g[i] * s;
                dg[i] = d[i] * u[i] * s * (1.0f + g[i] * (1.0f - s));
                du[i] = d[i] * silu;
            }
        }
    }
}

// ---------------------------------------------------------------------------
// residual, bias, add

void rtk_residual_fwd(rt_rank *r, float *out, const float *a, const float *b, const float *bias,
                      int N, int C)
{
    (void)r;
    for (int n = 0; n < N; n++) {
        for (int i = 0; i < C; i++) {
            size_t k = (size_t)n * C + i;
            out[k] = a[k] + b[k] + (bias ? bias[i] : 0.0f);
        }
    }
}

void rtk_bias_bwd(rt_rank *r, float *db, const float *dout, int N, int C)
{
    (void)r;
    for (int i = 0; i < C; i++) {
        float s = 0.0f;
        for (int n = 0; n < N; n++) {
            s += dout[(size_t)n * C + i];
        }
        db[i] += s;
    }
}

void rtk_add(rt_rank *r, float *dst, const float *src, size_t n)
{
    (void)r;
    for (size_t i = 0; i < n; i++) {
        dst[i] += src[i];
    }
}

// ---------------------------------------------------------------------------
// vocab-parallel cross-entropy (Megatron's _VocabParallelCrossEntropy): local max, then
// (after an all-reduce MAX) local sum of exp and the target logit, then (after all-reduce SUM)
// loss = log(sum) + max - target_logit and probs = exp(l - max) / sum

void rtk_ce_max(rt_rank *r, float *mx, const float *logits, int N, int V)
{
    (void)r;
    for (int n = 0; n < N; n++) {
        const float *l = logits + (size_t)n * V;
        float m = -INFINITY;
        for (int i = 0; i < V; i++) {
            m = l[i] > m ? l[i] : m;
        }
        mx[n] = m;
    }
}

/* stats[n] = sum exp(l - mx); stats[N + n] = target logit if the target is local, else 0 */
void rtk_ce_partial(rt_rank *r, float *stats, const float *logits, const float *mx, const int *tgt,
                    int N, int V, int voff)
{
    (void)r;
    for (int n = 0; n < N; n++) {
        const float *l = logits + (size_t)n * V;
        double s = 0.0;
        for (int i = 0; i < V; i++) {
            s += exp((double)l[i] - mx[n]);
        }
        stats[n] = (float)s;
        int t = tgt[n] - voff;
        stats[N + n] = (t >= 0 && t < V) ? l[t] : 0.0f;
    }
}

void rtk_ce_finish(rt_rank *r, float *probs, float *losses, const float *stats, const float *mx,
                   const float *logits, int N, int V)
{
    (void)r;
    for (int n = 0; n < N; n++) {
        float *p = probs + (size_t)n * V;
        const float *l = logits + (size_t)n * V;
        double s = stats[n];
        losses[n] = (float)(log(s) + mx[n] - stats[N + n]);
        for (int i = 0; i < V; i++) {
            p[i] = (float)(exp((double)l[i] - mx[n]) / s);
        }
    }
}

/* dlogits = (probs - onehot(target)) * scale (may be in place) */
void rtk_ce_bwd(rt_rank *r, float *dlogits, const float *probs, const int *tgt, int N, int V,
                int voff, float scale)
{
    (void)r;
    for (int n = 0; n < N; n++) {
        float *l = dlogits + (size_t)n * V;
        const float *p = probs + (size_t)n * V;
        int t = tgt[n] - voff;
        for (int i = 0; i < V; i++) {
            l[i] = (p[i] - (i == t ? 1.0f : 0.0f)) * scale;
        }
    }
}

// ---------------------------------------------------------------------------
// AdamW (Loshchilov & Hutter 2019; llm.c gpt2_update), t counts from 1

void rtk_adamw(rt_rank *r, float *p, const float *g, float *m, float *v, size_t n, float lr,
               float b1, float b2, float eps, float wd, int t)
{
    (void)r;
    float c1 = 1.0f - powf(b1, (float)t);
    float c2 = 1.0f - powf(b2, (float)t);
    for (size_t i = 0; i < n; i++) {
        m[i] = b1 * m[i] + (1.0f - b1) * g[i];
        v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
        float mh = m[i] / c1;
        float vh = v[i] / c2;
        p[i] -= lr * (mh / (sqrtf(vh) + eps) + wd * p[i]);
    }
}
