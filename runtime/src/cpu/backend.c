/* backend.c -- the CPU reference backend's table: host memory, the fp32 kernels of kernels.c,
 * and the in-process collectives of comm_local.c.
 *
 * bf16 storage is emulated exactly: under --precision bf16-mixed every compute-type tensor
 * (weights copy, activations, activation gradients) is stored as uint16_t bf16; each op widens
 * its inputs to fp32, runs the fp32 kernel, and rounds its outputs to nearest even once on store
 * (rt_bf16.h). That is what the CUDA kernels do (load bf16, compute fp32, __float2bfloat16_rn on
 * store), so elementwise ops agree bit for bit and GEMMs/reductions up to summation order.
 * fp32 arguments (main gradients, statistics, master weights, moments) pass through untouched.
 * A host allocation failure inside an op sets r->kst (reported at the end of the step).
 */
#include "cpu/cpu_kernels.h"
#include "rt_bf16.h"

#include <stdlib.h>
#include <string.h>

// ---------------------------------------------------------------------------
// memory

static void *cpu_alloc(rt_rank *r, size_t bytes)
{
    (void)r;
    return calloc(1, bytes > 0 ? bytes : 1);
}

static void cpu_free(rt_rank *r, void *p)
{
    (void)r;
    free(p);
}

static void cpu_zero(rt_rank *r, void *p, size_t bytes)
{
    (void)r;
    memset(p, 0, bytes);
}

static void cpu_copy(rt_rank *r, void *dst, const void *src, size_t bytes)
{
    (void)r;
    if (dst != src) {
        memmove(dst, src, bytes);
    }
}

static void cpu_bytes(rt_rank *r, void *dst, const void *src, size_t bytes)
{
    (void)r;
    memcpy(dst, src, bytes);
}

static double cpu_clock(rt_rank *r)
{
    (void)r;
    return rt_now_s();
}

// ---------------------------------------------------------------------------
// fp32 views of compute-type tensors for one op

#define ARENA_MAX 8

typedef struct arena {
    rt_rank *r;
    bool bf;
    bool ok;
    int n;
    float *tmp[ARENA_MAX];
    void *dst[ARENA_MAX]; /* NULL: input only */
    size_t len[ARENA_MAX];
} arena;

static arena arena_begin(rt_rank *r)
{
    arena a;
    memset(&a, 0, sizeof a);
    a.r = r;
    a.bf = r->adt == RT_BF16;
    a.ok = true;
    return a;
}

/* fp32 view of n elements at p: p itself under fp32; a widened copy under bf16 (widen = false:
   uninitialised, for pure outputs); out marks it to be rounded back into p by arena_end */
static float *view(arena *a, const void *p, size_t n, bool widen, bool out)
{
    if (!a->bf || !p) {
        return (float *)p;
    }
    float *f = a->n < ARENA_MAX ? malloc(n * sizeof *f + 1) : NULL;
    if (!f) {
        a->ok = false;
        return NULL;
    }
    if (widen) {
        const uint16_t *h = p;
        for (size_t i = 0; i < n; i++) {
            f[i] = rt_bf16_to_f32(h[i]);
        }
    }
    a->tmp[a->n] = f;
    a->dst[a->n] = out ? (void *)p : NULL;
    a->len[a->n] = n;
    a->n++;
    return f;
}

static const float *in(arena *a, const void *p, size_t n)
{
    return view(a, p, n, true, false);
}

static float *out(arena *a, void *p, size_t n)
{
    return view(a, p, n, false, true);
}

static float *inout(arena *a, void *p, size_t n)
{
    return view(a, p, n, true, true);
}

/* rounds the outputs back (when the op ran) and frees the views */
static void arena_end(arena *a)
{
    for (int i = 0; i < a->n; i++) {
        if (a->ok && a->dst[i]) {
            uint16_t *h = a->dst[i];
            for (size_t k = 0; k < a->len[i]; k++) {
                h[k] = rt_f32_to_bf16(a->tmp[i][k]);
            }
        }
        free(a->tmp[i]);
    }
    if (!a->ok && a->r->kst == EST_OK) {
        a->r->kst = EST_ENOMEM;
    }
}

static size_t Z(int a, int b)
{
    return (size_t)a * (size_t)b;
}

// ---------------------------------------------------------------------------
// the ops in the compute type

static void embed_fwd(rt_rank *r, void *o, const int *tok, const void *wte, int N, int C, int voff,
                      int V)
{
    arena a = arena_begin(r);
    float *of = out(&a, o, Z(N, C));
    const float *wf = in(&a, wte, Z(V, C));
    if (a.ok) {
        rtk_embed_fwd(r, of, tok, wf, N, C, voff, V);
    }
    arena_end(&a);
}

static void embed_bwd(rt_rank *r, float *dwte, const void *dout, const int *tok, int N, int C,
                      int voff, int V)
{
    arena a = arena_begin(r);
    const float *df = in(&a, dout, Z(N, C));
    if (a.ok) {
        rtk_embed_bwd(r, dwte, df, tok, N, C, voff, V);
    }
    arena_end(&a);
}

static void pos_fwd(rt_rank *r, void *o, const void *wpe, int N, int T, int C, int row0)
{
    arena a = arena_begin(r);
    float *of = inout(&a, o, Z(N, C));
    const float *wf = in(&a, wpe, Z(T, C)); /* rows used: < T */
    if (a.ok) {
        rtk_pos_fwd(r, of, wf, N, T, C, row0);
    }
    arena_end(&a);
}

static void pos_bwd(rt_rank *r, float *dwpe, const void *dout, int N, int T, int C, int row0)
{
    arena a = arena_begin(r);
    const float *df = in(&a, dout, Z(N, C));
    if (a.ok) {
        rtk_pos_bwd(r, dwpe, df, N, T, C, row0);
    }
    arena_end(&a);
}

static void norm_fwd(rt_rank *r, void *o, float *mean, float *rstd, const void *inp, const void *w,
                     const void *b, int N, int C, bool rms)
{
    arena a = arena_begin(r);
    float *of = out(&a, o, Z(N, C));
    const float *xf = in(&a, inp, Z(N, C));
    const float *wf = in(&a, w, (size_t)C);
    const float *bf = in(&a, b, (size_t)C);
    if (a.ok) {
        rtk_norm_fwd(r, of, mean, rstd, xf, wf, bf, N, C, rms);
    }
    arena_end(&a);
}

static void norm_bwd(rt_rank *r, void *dinp, float *dw, float *db, const void *dout,
                     const void *inp, const void *w, const float *mean, const float *rstd, int N,
                     int C, bool rms)
{
    arena a = arena_begin(r);
    float *dxf = inout(&a, dinp, Z(N, C));
    const float *df = in(&a, dout, Z(N, C));
    const float *xf = in(&a, inp, Z(N, C));
    const float *wf = in(&a, w, (size_t)C);
    if (a.ok) {
        rtk_norm_bwd(r, dxf, dw, db, df, xf, wf, mean, rstd, N, C, rms);
    }
    arena_end(&a);
}

static void matmul_fwd(rt_rank *r, void *o, const void *inp, const void *w, const void *bias, int N,
                       int C, int OC)
{
    arena a = arena_begin(r);
    float *of = out(&a, o, Z(N, OC));
    const float *xf = in(&a, inp, Z(N, C));
    const float *wf = in(&a, w, Z(OC, C));
    const float *bf = in(&a, bias, (size_t)OC);
    if (a.ok) {
        rtk_matmul_fwd(r, of, xf, wf, bf, N, C, OC);
    }
    arena_end(&a);
}

static void matmul_bwd(rt_rank *r, void *dinp, float *dw, float *db, const void *dout,
                       const void *inp, const void *w, int N, int C, int OC)
{
    arena a = arena_begin(r);
    float *dxf = out(&a, dinp, Z(N, C));
    const float *df = in(&a, dout, Z(N, OC));
    const float *xf = in(&a, inp, Z(N, C));
    const float *wf = in(&a, w, Z(OC, C));
    if (a.ok) {
        rtk_matmul_bwd(r, dxf, dw, db, df, xf, wf, N, C, OC);
    }
    arena_end(&a);
}

static void rope(rt_rank *r, void *qkv, int B, int T, int nq, int nkv, int d, bool inverse)
{
    arena a = arena_begin(r);
    float *qf = inout(&a, qkv, Z(B * T, (nq + 2 * nkv) * d));
    if (a.ok) {
        rtk_rope(r, qf, B, T, nq, nkv, d, inverse);
    }
    arena_end(&a);
}

static void attn_fwd(rt_rank *r, void *o, float *lse, void *att, const void *qkv, int B, int T,
                     int nq, int nkv, int d)
{
    arena a = arena_begin(r);
    float *of = out(&a, o, Z(B * T, nq * d));
    float *af = out(&a, att, Z(B * nq, T) * (size_t)T);
    const float *qf = in(&a, qkv, Z(B * T, (nq + 2 * nkv) * d));
    if (a.ok) {
        rtk_attn_fwd(r, of, lse, af, qf, B, T, nq, nkv, d);
    }
    arena_end(&a);
}

static void attn_bwd(rt_rank *r, void *dqkv, const void *dout, const void *qkv, const void *o,
                     const float *lse, const void *att, int B, int T, int nq, int nkv, int d)
{
    arena a = arena_begin(r);
    size_t rows = (size_t)B * (size_t)T;
    float *dqf = out(&a, dqkv, rows * (size_t)((nq + 2 * nkv) * d));
    const float *df = in(&a, dout, rows * (size_t)(nq * d));
    const float *qf = in(&a, qkv, rows * (size_t)((nq + 2 * nkv) * d));
    const float *of = in(&a, o, rows * (size_t)(nq * d));
    const float *af = in(&a, att, Z(B * nq, T) * (size_t)T);
    if (a.ok) {
        rtk_attn_bwd(r, dqf, df, qf, of, lse, af, B, T, nq, nkv, d);
    }
    arena_end(&a);
}

static void act_fwd(rt_rank *r, void *o, const void *inp, int N, int F, rt_actkind k)
{
    arena a = arena_begin(r);
    float *of = out(&a, o, Z(N, F));
    const float *xf = in(&a, inp, Z(N, k == RT_ACT_SWIGLU ? 2 * F : F));
    if (a.ok) {
        rtk_act_fwd(r, of, xf, N, F, k);
    }
    arena_end(&a);
}

static void act_bwd(rt_rank *r, void *dinp, const void *dout, const void *inp, int N, int F,
                    rt_actkind k)
{
    arena a = arena_begin(r);
    int Fin = k == RT_ACT_SWIGLU ? 2 * F : F;
    float *dxf = out(&a, dinp, Z(N, Fin));
    const float *df = in(&a, dout, Z(N, F));
    const float *xf = in(&a, inp, Z(N, Fin));
    if (a.ok) {
        rtk_act_bwd(r, dxf, df, xf, N, F, k);
    }
    arena_end(&a);
}

static void residual_fwd(rt_rank *r, void *o, const void *x, const void *y, const void *bias, int N,
                         int C)
{
    arena a = arena_begin(r);
    const float *xf = in(&a, x, Z(N, C));
    const float *yf = in(&a, y, Z(N, C));
    const float *bf = in(&a, bias, (size_t)C);
    float *of = out(&a, o, Z(N, C));
    if (a.ok) {
        rtk_residual_fwd(r, of, xf, yf, bf, N, C);
    }
    arena_end(&a);
}

static void bias_bwd(rt_rank *r, float *db, const void *dout, int N, int C)
{
    arena a = arena_begin(r);
    const float *df = in(&a, dout, Z(N, C));
    if (a.ok) {
        rtk_bias_bwd(r, db, df, N, C);
    }
    arena_end(&a);
}

static void ce_max(rt_rank *r, float *mx, const void *logits, int N, int V)
{
    arena a = arena_begin(r);
    const float *lf = in(&a, logits, Z(N, V));
    if (a.ok) {
        rtk_ce_max(r, mx, lf, N, V);
    }
    arena_end(&a);
}

static void ce_partial(rt_rank *r, float *stats, const void *logits, const float *mx,
                       const int *tgt, int N, int V, int voff)
{
    arena a = arena_begin(r);
    const float *lf = in(&a, logits, Z(N, V));
    if (a.ok) {
        rtk_ce_partial(r, stats, lf, mx, tgt, N, V, voff);
    }
    arena_end(&a);
}

static void ce_finish(rt_rank *r, float *probs, float *losses, const float *stats, const float *mx,
                      const void *logits, int N, int V)
{
    arena a = arena_begin(r);
    const float *lf = in(&a, logits, Z(N, V));
    if (a.ok) {
        rtk_ce_finish(r, probs, losses, stats, mx, lf, N, V);
    }
    arena_end(&a);
}

static void ce_bwd(rt_rank *r, void *dlogits, const float *probs, const int *tgt, int N, int V,
                   int voff, float scale)
{
    arena a = arena_begin(r);
    float *df = out(&a, dlogits, Z(N, V));
    if (a.ok) {
        rtk_ce_bwd(r, df, probs, tgt, N, V, voff, scale);
    }
    arena_end(&a);
}

static void adamw(rt_rank *r, float *p, const float *g, float *m, float *v, void *model, size_t n,
                  float lr, float b1, float b2, float eps, float wd, int t)
{
    rtk_adamw(r, p, g, m, v, n, lr, b1, b2, eps, wd, t);
    if (model) { /* the compute copy Megatron's optimizer writes back after the step */
        uint16_t *h = model;
        for (size_t i = 0; i < n; i++) {
            h[i] = rt_f32_to_bf16(p[i]);
        }
    }
}

// ---------------------------------------------------------------------------
// the table

const rt_backend rt_backend_cpu = {
    .name = "cpu",
    .dev_alloc = cpu_alloc,
    .dev_free = cpu_free,
    .zero = cpu_zero,
    .copy = cpu_copy,
    .to_host = cpu_bytes,
    .to_dev = cpu_bytes,
    .clock = cpu_clock,
    .embed_fwd = embed_fwd,
    .embed_bwd = embed_bwd,
    .pos_fwd = pos_fwd,
    .pos_bwd = pos_bwd,
    .norm_fwd = norm_fwd,
    .norm_bwd = norm_bwd,
    .matmul_fwd = matmul_fwd,
    .matmul_bwd = matmul_bwd,
    .rope = rope,
    .attn_fwd = attn_fwd,
    .attn_bwd = attn_bwd,
    .act_fwd = act_fwd,
    .act_bwd = act_bwd,
    .residual_fwd = residual_fwd,
    .bias_bwd = bias_bwd,
    .add = rtk_add,
    .ce_max = ce_max,
    .ce_partial = ce_partial,
    .ce_finish = ce_finish,
    .ce_bwd = ce_bwd,
    .adamw = adamw,
    .allreduce = rt_local_allreduce,
    .reduce_scatter = rt_local_reduce_scatter,
    .allgather = rt_local_allgather,
    .p2p = rt_local_p2p,
};
