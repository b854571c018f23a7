/* test_rt_cuda.c -- the CUDA backend against the CPU reference backend (label gpu; exits 77 where
 * cudaGetDeviceCount gives 0, so CI without a GPU stays green).
 *
 * 1. Tiny GPT and Llama, one GPU: loss and gradients of step 1 equal the CPU backend's within
 *    1e-3 per tensor (fp32 cuBLAS GEMMs and atomics reorder sums; TF32 is off by default in
 *    cuBLAS, so differences stay at fp32 reordering scale, ~1e-6, with margin for the attention's
 *    atomic accumulation order).
 * 2. Single-GPU shard mode of an 8-rank layout: each rank's allocator high-water mark on the GPU
 *    equals the CPU backend's for the same rank (same buffers, same schedule), and the driver
 *    reports more in use than the allocator (context, cuBLAS, module images).
 * 3. With 2+ GPUs: tp=2 (NCCL) equals the CPU backend's tp=2.
 * 4. Every CUDA kernel against the CPU kernel through the two backend tables, on small random
 *    inputs (values rounded to bf16 so both start from the same stored numbers), in fp32 and bf16
 *    storage. Tolerance, max|cuda - cpu| / max|cpu| per output: fp32 1e-4 (reordered fp32 sums,
 *    __expf in attention ~2 ulp); bf16 2^-7 = 7.8e-3 (two bf16 units: the results round to bf16
 *    from fp32 values that differ by reordering, so a value near a rounding boundary can land one
 *    unit apart, plus the inputs of chained ops such as the attention output feeding D_t).
 * 5. The tiny TP=1 step in bf16-mixed on both backends: loss 1e-3 and gradients 2e-2 per tensor,
 *    the bf16 tolerances test_rt_bf16.c argues for a change of rounding points (here: GEMM and
 *    attention accumulation order inside fp32 before each bf16 store).
 */
#include <cuda_runtime.h>

#include "cuda/cu_ops.h"
#include "cuda/rt_cuda.h"
#include "rt_bf16.h"
#include "test_rt_tiny.h"

// ---------------------------------------------------------------------------
// kernel-by-kernel harness

typedef struct pair {
    rt_rank cpu, gpu;
    cu_ctx ctx;
} pair;

static uint64_t g_rng = 0x12345678u;

static float frand(void)
{
    g_rng = g_rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((double)(g_rng >> 11) * 0x1.0p-53 * 2.0 - 1.0);
}

/* a tensor held on both backends: host fp32 values (bf16-representable), CPU copy, GPU copy */
typedef struct ten {
    size_t n;
    rt_dtype dt;
    float *h;
    void *c, *g;
} ten;

static ten mk(pair *P, size_t n, rt_dtype dt, float scale)
{
    ten t = {n, dt, malloc(n * sizeof(float) + 1), NULL, NULL};
    t.c = calloc(n, rt_dsize(dt) + 2);
    cudaMalloc(&t.g, n * rt_dsize(dt) + 4);
    for (size_t i = 0; i < n; i++) {
        t.h[i] = rt_bf16_round(scale * frand());
        if (dt == RT_BF16) {
            ((uint16_t *)t.c)[i] = rt_f32_to_bf16(t.h[i]);
        } else {
            ((float *)t.c)[i] = t.h[i];
        }
    }
    cudaMemcpy(t.g, t.c, n * rt_dsize(dt), cudaMemcpyHostToDevice);
    (void)P;
    return t;
}

static float at(const void *p, size_t i, rt_dtype dt)
{
    return dt == RT_BF16 ? rt_bf16_to_f32(((const uint16_t *)p)[i]) : ((const float *)p)[i];
}

/* max|gpu - cpu| / max|cpu| over the tensor */
static double diff(const ten *t)
{
    size_t b = t->n * rt_dsize(t->dt);
    void *h = malloc(b + 1);
    cudaDeviceSynchronize();
    cudaMemcpy(h, t->g, b, cudaMemcpyDeviceToHost);
    double md = 0.0;
    double mc = 0.0;
    for (size_t i = 0; i < t->n; i++) {
        double c = at(t->c, i, t->dt);
        double d = fabs(at(h, i, t->dt) - c);
        md = d > md || d != d ? d : md;
        mc = fabs(c) > mc ? fabs(c) : mc;
    }
    free(h);
    return mc > 0 ? md / mc : md;
}

static void rm(ten *t)
{
    free(t->h);
    free(t->c);
    cudaFree(t->g);
}

static void kcheck(const ten *t, rt_dtype adt, const char *what)
{
    double tol = adt == RT_BF16 ? 0x1p-7 : 1e-4;
    double d = diff(t);
    char buf[128];
    snprintf(buf, sizeof buf, "%s (%s): cuda vs cpu %.3g", what, adt == RT_BF16 ? "bf16" : "fp32",
             d);
    printf("  %s\n", buf);
    CHECK(d <= tol, buf);
}

static void kernels(rt_dtype A)
{
    pair P;
    memset(&P, 0, sizeof P);
    P.cpu.be = &rt_backend_cpu;
    P.gpu.be = &rt_backend_cuda;
    P.cpu.adt = P.gpu.adt = A;
    P.gpu.bctx = &P.ctx;
    cudaStreamCreate(&P.ctx.s);
    CHECK(cu_gemm_init(&P.ctx) == 0, "cuBLASLt init");
    rt_rank *c = &P.cpu;
    rt_rank *g = &P.gpu;
    const rt_backend *bc = c->be;
    const rt_backend *bg = g->be;
    int N = 64, C = 96, OC = 80, B = 2, T = 40, nq = 4, nkv = 2, d = 16;
    int QKV = (nq + 2 * nkv) * d;
    /* GEMM forward with bias, backward into fp32 main grads */
    ten x = mk(&P, (size_t)N * C, A, 1.0f), w = mk(&P, (size_t)OC * C, A, 0.1f);
    ten bias = mk(&P, (size_t)OC, A, 0.1f), y = mk(&P, (size_t)N * OC, A, 0.0f);
    bc->matmul_fwd(c, y.c, x.c, w.c, bias.c, N, C, OC);
    bg->matmul_fwd(g, y.g, x.g, w.g, bias.g, N, C, OC);
    kcheck(&y, A, "matmul_fwd (+bias epilogue)");
    ten dy = mk(&P, (size_t)N * OC, A, 1.0f), dx = mk(&P, (size_t)N * C, A, 0.0f);
    ten dw = mk(&P, (size_t)OC * C, RT_F32, 0.5f), db = mk(&P, (size_t)OC, RT_F32, 0.5f);
    bc->matmul_bwd(c, dx.c, dw.c, db.c, dy.c, x.c, w.c, N, C, OC);
    bg->matmul_bwd(g, dx.g, dw.g, db.g, dy.g, x.g, w.g, N, C, OC);
    kcheck(&dx, A, "matmul_bwd dinp");
    kcheck(&dw, A, "matmul_bwd dw += (fp32)");
    kcheck(&db, A, "matmul_bwd db += (fp32)");
    /* norms */
    for (int rms = 0; rms <= 1; rms++) {
        ten o = mk(&P, (size_t)N * C, A, 0.0f), mean = mk(&P, (size_t)N, RT_F32, 0.0f);
        ten rstd = mk(&P, (size_t)N, RT_F32, 0.0f), nw = mk(&P, (size_t)C, A, 1.0f);
        bc->norm_fwd(c, o.c, rms ? NULL : mean.c, rstd.c, x.c, nw.c, rms ? NULL : bias.c, N, C,
                     rms);
        bg->norm_fwd(g, o.g, rms ? NULL : mean.g, rstd.g, x.g, nw.g, rms ? NULL : bias.g, N, C,
                     rms);
        kcheck(&o, A, rms ? "rmsnorm_fwd" : "layernorm_fwd");
        kcheck(&rstd, A, "norm rstd");
        ten dxn = mk(&P, (size_t)N * C, A, 1.0f), dwn = mk(&P, (size_t)C, RT_F32, 0.0f);
        ten dbn = mk(&P, (size_t)C, RT_F32, 0.0f);
        bc->norm_bwd(c, dxn.c, dwn.c, rms ? NULL : dbn.c, dx.c, x.c, nw.c, rms ? NULL : mean.c,
                     rstd.c, N, C, rms);
        bg->norm_bwd(g, dxn.g, dwn.g, rms ? NULL : dbn.g, dx.g, x.g, nw.g, rms ? NULL : mean.g,
                     rstd.g, N, C, rms);
        kcheck(&dxn, A, "norm_bwd dinp +=");
        kcheck(&dwn, A, "norm_bwd dw");
        rm(&o), rm(&mean), rm(&rstd), rm(&nw), rm(&dxn), rm(&dwn), rm(&dbn);
    }
    /* activations */
    for (int k = 0; k <= 1; k++) {
        rt_actkind ak = k ? RT_ACT_SWIGLU : RT_ACT_GELU;
        int F = 48;
        ten in = mk(&P, (size_t)N * 2 * F, A, 2.0f), out = mk(&P, (size_t)N * F, A, 0.0f);
        ten dout = mk(&P, (size_t)N * F, A, 1.0f), din = mk(&P, (size_t)N * 2 * F, A, 0.0f);
        bc->act_fwd(c, out.c, in.c, N, F, ak);
        bg->act_fwd(g, out.g, in.g, N, F, ak);
        kcheck(&out, A, k ? "swiglu_fwd" : "gelu_fwd");
        bc->act_bwd(c, din.c, dout.c, in.c, N, F, ak);
        bg->act_bwd(g, din.g, dout.g, in.g, N, F, ak);
        kcheck(&din, A, k ? "swiglu_bwd" : "gelu_bwd");
        rm(&in), rm(&out), rm(&dout), rm(&din);
    }
    /* residual (arithmetic only: bit for bit) */
    ten ra = mk(&P, (size_t)N * C, A, 1.0f), rs = mk(&P, (size_t)N * C, A, 0.0f);
    bc->residual_fwd(c, rs.c, x.c, ra.c, bias.c, N, C);
    bg->residual_fwd(g, rs.g, x.g, ra.g, bias.g, N, C);
    CHECK(diff(&rs) == 0.0, "residual add: cuda == cpu bit for bit");
    /* RoPE and attention (GQA g = 2), flash and standard */
    ten qkv = mk(&P, (size_t)B * T * QKV, A, 1.0f);
    bc->rope(c, qkv.c, B, T, nq, nkv, d, false);
    bg->rope(g, qkv.g, B, T, nq, nkv, d, false);
    kcheck(&qkv, A, "rope");
    for (int std = 0; std <= 1; std++) {
        ten o = mk(&P, (size_t)B * T * nq * d, A, 0.0f),
            lse = mk(&P, (size_t)B * nq * T, RT_F32, 0);
        ten att = mk(&P, (size_t)B * nq * T * T, A, 0.0f);
        ten dO = mk(&P, (size_t)B * T * nq * d, A, 1.0f), dq = mk(&P, (size_t)B * T * QKV, A, 0);
        bc->attn_fwd(c, o.c, lse.c, std ? att.c : NULL, qkv.c, B, T, nq, nkv, d);
        bg->attn_fwd(g, o.g, lse.g, std ? att.g : NULL, qkv.g, B, T, nq, nkv, d);
        kcheck(&o, A, std ? "attention fwd (standard)" : "flash attention fwd");
        kcheck(&lse, A, "attention log-sum-exp");
        /* backward from the CPU's forward results on both, so only the backward is compared */
        cudaMemcpy(o.g, o.c, o.n * rt_dsize(A), cudaMemcpyHostToDevice);
        cudaMemcpy(lse.g, lse.c, lse.n * 4, cudaMemcpyHostToDevice);
        cudaMemcpy(att.g, att.c, att.n * rt_dsize(A), cudaMemcpyHostToDevice);
        bc->attn_bwd(c, dq.c, dO.c, qkv.c, o.c, lse.c, std ? att.c : NULL, B, T, nq, nkv, d);
        bg->attn_bwd(g, dq.g, dO.g, qkv.g, o.g, lse.g, std ? att.g : NULL, B, T, nq, nkv, d);
        kcheck(&dq, A, std ? "attention bwd (standard)" : "flash attention bwd");
        rm(&o), rm(&lse), rm(&att), rm(&dO), rm(&dq);
    }
    /* cross-entropy pieces and AdamW with bf16 write-back */
    int V = 72;
    ten lg = mk(&P, (size_t)N * V, A, 3.0f), mx = mk(&P, (size_t)N, RT_F32, 0);
    ten stt = mk(&P, 2 * (size_t)N, RT_F32, 0), pr = mk(&P, (size_t)N * V, RT_F32, 0);
    ten ls = mk(&P, (size_t)N, RT_F32, 0), dl = mk(&P, (size_t)N * V, A, 0);
    int *tg = malloc((size_t)N * sizeof *tg);
    int *tgd = NULL;
    for (int i = 0; i < N; i++) {
        tg[i] = (i * 7) % V;
    }
    cudaMalloc((void **)&tgd, (size_t)N * sizeof *tgd);
    cudaMemcpy(tgd, tg, (size_t)N * sizeof *tg, cudaMemcpyHostToDevice);
    bc->ce_max(c, mx.c, lg.c, N, V);
    bg->ce_max(g, mx.g, lg.g, N, V);
    CHECK(diff(&mx) == 0.0, "ce max: exact");
    bc->ce_partial(c, stt.c, lg.c, mx.c, tg, N, V, 0);
    bg->ce_partial(g, stt.g, lg.g, mx.g, tgd, N, V, 0);
    kcheck(&stt, A, "ce partial (sum-exp, target logit)");
    bc->ce_finish(c, pr.c, ls.c, stt.c, mx.c, lg.c, N, V);
    bg->ce_finish(g, pr.g, ls.g, stt.g, mx.g, lg.g, N, V);
    kcheck(&pr, A, "ce softmax");
    kcheck(&ls, A, "ce loss");
    cudaMemcpy(pr.g, pr.c, pr.n * 4, cudaMemcpyHostToDevice);
    bc->ce_bwd(c, dl.c, pr.c, tg, N, V, 0, 0.01f);
    bg->ce_bwd(g, dl.g, pr.g, tgd, N, V, 0, 0.01f);
    CHECK(diff(&dl) == 0.0, "ce backward (arithmetic only): bit for bit");
    ten p = mk(&P, 1000, RT_F32, 1.0f), gr = mk(&P, 1000, RT_F32, 1.0f);
    ten m = mk(&P, 1000, RT_F32, 0.1f), v = mk(&P, 1000, RT_F32, 0.1f);
    ten mdl = mk(&P, 1000, RT_BF16, 0.0f);
    for (size_t i = 0; i < 1000; i++) { /* moments: v >= 0 */
        ((float *)v.c)[i] = fabsf(((float *)v.c)[i]);
    }
    cudaMemcpy(v.g, v.c, 4000, cudaMemcpyHostToDevice);
    bc->adamw(c, p.c, gr.c, m.c, v.c, A == RT_BF16 ? mdl.c : NULL, 1000, 1e-3f, 0.9f, 0.95f, 1e-8f,
              0.1f, 3);
    bg->adamw(g, p.g, gr.g, m.g, v.g, A == RT_BF16 ? mdl.g : NULL, 1000, 1e-3f, 0.9f, 0.95f, 1e-8f,
              0.1f, 3);
    kcheck(&p, RT_F32, "adamw master (fp32, no fma: expect exact)");
    if (A == RT_BF16) {
        CHECK(diff(&mdl) == 0.0 || diff(&p) > 0.0, "adamw bf16 write-back = rounding of master");
    }
    free(tg);
    cudaFree(tgd);
    rm(&x), rm(&w), rm(&bias), rm(&y), rm(&dy), rm(&dx), rm(&dw), rm(&db), rm(&ra), rm(&rs);
    rm(&qkv), rm(&lg), rm(&mx), rm(&stt), rm(&pr), rm(&ls), rm(&dl), rm(&p), rm(&gr), rm(&m);
    rm(&v), rm(&mdl);
    CHECK(P.ctx.status == 0, "no CUDA/cuBLAS error recorded by the launchers");
    cu_gemm_destroy(&P.ctx);
    cudaStreamDestroy(P.ctx.s);
}

static void compare_backends_prec(const est_model *m, int tp, est_precision prec, const char *what)
{
    tiny t;
    tiny_init(&t, m, tp, 1, 1, 1, tp > 1, 0, 2, 4);
    t.cfg.par.precision = prec;
    bool bf = prec == EST_PREC_BF16_MIXED;
    float *gc = tiny_vec(m);
    float *gg = tiny_vec(m);
    double lc = 0.0;
    double lg = 0.0;
    rt_options o = rt_options_default();
    CHECK(tiny_run_opt(&t, &o, 1, NULL, gc, NULL, &lc) == EST_OK, "cpu run");
    o.backend = RT_BACKEND_CUDA;
    CHECK(tiny_run_opt(&t, &o, 1, NULL, gg, NULL, &lg) == EST_OK, "cuda run");
    char buf[128];
    snprintf(buf, sizeof buf, "%s: cuda vs cpu gradients", what);
    CHECK(tiny_maxrel(m, gg, gc, buf) <= (bf ? 2e-2 : 1e-3), buf);
    snprintf(buf, sizeof buf, "%s: cuda vs cpu loss", what);
    CHECK_REL(lg, lc, bf ? 1e-3 : 1e-5, buf);
    free(gc);
    free(gg);
}

static void compare_backends(const est_model *m, int tp, const char *what)
{
    char buf[128];
    compare_backends_prec(m, tp, EST_PREC_FP32, what);
    snprintf(buf, sizeof buf, "%s bf16-mixed", what);
    compare_backends_prec(m, tp, EST_PREC_BF16_MIXED, buf);
}

/* pipeline parallelism across GPUs: the batched NCCL transfers (ncclGroupStart/End) against the
   CPU backend's mailboxes, fp32, same tolerance as the one-GPU step */
static void compare_pp(const est_model *m, int pp, int vpp, int gbs, const char *what)
{
    tiny t;
    tiny_init(&t, m, 1, pp, vpp, 1, false, 0, 1, gbs);
    float *gc = tiny_vec(m);
    float *gg = tiny_vec(m);
    double lc = 0.0;
    double lg = 0.0;
    rt_options o = rt_options_default();
    CHECK(tiny_run_opt(&t, &o, 1, NULL, gc, NULL, &lc) == EST_OK, "cpu pipeline run");
    o.backend = RT_BACKEND_CUDA;
    CHECK(tiny_run_opt(&t, &o, 1, NULL, gg, NULL, &lg) == EST_OK, "cuda pipeline run");
    char buf[128];
    snprintf(buf, sizeof buf, "%s: cuda vs cpu gradients", what);
    CHECK(tiny_maxrel(m, gg, gc, buf) <= 1e-3, buf);
    snprintf(buf, sizeof buf, "%s: cuda vs cpu loss", what);
    CHECK_REL(lg, lc, 1e-5, buf);
    free(gc);
    free(gg);
}

int main(void)
{
    int ndev = 0;
    if (cudaGetDeviceCount(&ndev) != cudaSuccess || ndev == 0) {
        printf("no CUDA device: skipped\n");
        return 77;
    }
    kernels(RT_F32);
    kernels(RT_BF16);
    est_model gpt = tiny_gpt(2);
    est_model llama = tiny_llama(2);
    compare_backends(&gpt, 1, "gpt");
    compare_backends(&llama, 1, "llama");
    if (ndev >= 2) {
        compare_backends(&gpt, 2, "gpt tp=2 sp");
        compare_backends(&llama, 2, "llama tp=2 sp");
    }
    est_model g8 = tiny_gpt(8);
    est_model l8 = tiny_llama(8);
    if (ndev >= 2) { /* 1F1B and interleaved over NCCL p2p; tied embedding over the EMB group */
        compare_pp(&g8, 2, 1, 4, "gpt pp=2 (1F1B)");
        compare_pp(&l8, 2, 2, 8, "llama pp=2 vpp=2 m=8");
        compare_pp(&g8, 2, 2, 8, "gpt pp=2 vpp=2 m=8 (tied)");
    }
    if (ndev >= 4) {
        compare_pp(&g8, 4, 1, 8, "gpt pp=4 (1F1B) m=8");
        compare_pp(&l8, 4, 2, 8, "llama pp=4 vpp=2 m=8");
    }
    tiny t;
    tiny_init(&t, &g8, 2, 2, 2, 2, true, 1, 1, 4);
    for (int r = 0; r < 8; r++) {
        rt_options o = rt_options_default();
        o.steps = 1;
        o.solo_rank = r;
        rt_report a;
        rt_report b;
        est_status s1 = rt_run(&t.cfg, &o, &a, NULL);
        o.backend = RT_BACKEND_CUDA;
        est_status s2 = rt_run(&t.cfg, &o, &b, NULL);
        CHECK(s1 == EST_OK && s2 == EST_OK, "solo runs on both backends");
        if (s1 == EST_OK && s2 == EST_OK) {
            CHECK_EQ_I64(b.ranks[0].peak_bytes, a.ranks[0].peak_bytes,
                         "solo rank: cuda allocator peak == cpu allocator peak");
            CHECK(b.ranks[0].driver_used_bytes > b.ranks[0].peak_bytes,
                  "driver-reported use exceeds the allocator's (context, libraries)");
        }
        rt_report_free(&a);
        rt_report_free(&b);
    }
    return check_summary();
}
