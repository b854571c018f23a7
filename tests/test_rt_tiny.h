/* test_rt_tiny.h -- tiny models and run helpers shared by the runtime tests (test_rt_*.c).
 *
 * The models are built here as est_model structs (no profiles): GPT-style (LayerNorm, GELU,
 * learned positions, biases, tied embeddings, MHA) and Llama-style (RMSNorm, SwiGLU, RoPE,
 * GQA g=2, untied, no biases), h=32 a=4 d=8 f=64 v=64 s=16; L as the test needs.
 * Comparisons are per canonical tensor, so a wrong small tensor (a bias) is not hidden by a large
 * one (the embedding).
 */
#ifndef LLMCAL_TESTS_RT_TINY_H
#define LLMCAL_TESTS_RT_TINY_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "est/config.h"
#include "rt/rt.h"
#include "rt_internal.h"

typedef struct tiny {
    est_model m;
    est_gpu g;
    est_cluster c;
    est_config cfg;
} tiny;

static inline est_model tiny_gpt(int layers)
{
    est_model m;
    memset(&m, 0, sizeof m);
    snprintf(m.name, sizeof m.name, "tiny-gpt");
    m.hidden = 32;
    m.layers = layers;
    m.heads = 4;
    m.kv_heads = 4;
    m.head_dim = 8;
    m.ffn = 64;
    m.vocab = 64;
    m.max_positions = 16;
    m.norm = EST_NORM_LAYERNORM;
    m.act = EST_ACT_GELU;
    m.pos = EST_POS_LEARNED;
    m.tied_embeddings = true;
    m.qkv_bias = m.out_bias = m.mlp_bias = true;
    return m;
}

static inline est_model tiny_llama(int layers)
{
    est_model m = tiny_gpt(layers);
    snprintf(m.name, sizeof m.name, "tiny-llama");
    m.kv_heads = 2;
    m.max_positions = 0;
    m.norm = EST_NORM_RMSNORM;
    m.act = EST_ACT_SWIGLU;
    m.pos = EST_POS_ROPE;
    m.tied_embeddings = false;
    m.qkv_bias = m.out_bias = m.mlp_bias = false;
    return m;
}

/* tp/pp/vpp/dp layout, mbs and global batch gbs (sequences), seq 16 */
static inline void tiny_init(tiny *t, const est_model *m, int tp, int pp, int vpp, int dp, bool sp,
                             int zero, int mbs, int gbs)
{
    memset(t, 0, sizeof *t);
    t->m = *m;
    snprintf(t->g.name, sizeof t->g.name, "test-gpu");
    t->g.memory_bytes = 80ull << 30;
    for (int i = 0; i < EST_DT_COUNT; i++) {
        t->g.peak_flop_per_s[i] = 989e12;
    }
    t->g.hbm_bytes_per_s = 3.35e12;
    t->g.nvlink_bytes_per_s = 450e9;
    t->g.pcie_bytes_per_s = 64e9;
    t->g.sm_count = 132;
    t->c = est_cluster_for_gpu(&t->g);
    t->cfg.model = &t->m;
    t->cfg.gpu = &t->g;
    t->cfg.cluster = &t->c;
    t->cfg.par = est_parallel_default();
    t->cfg.par.tp = tp;
    t->cfg.par.pp = pp;
    t->cfg.par.vpp = vpp;
    t->cfg.par.gpus = (int64_t)tp * pp * dp;
    t->cfg.par.sp = sp;
    t->cfg.par.zero = zero;
    t->cfg.par.mbs = mbs;
    t->cfg.par.gbs = gbs;
    t->cfg.par.seq = 16;
    t->cfg.par.precision = EST_PREC_FP32; /* tests opt into bf16-mixed explicitly */
    /* no vocabulary padding: v = 64 is a multiple of tp = 1, 2, 4, so every layout compared holds
       the same (unpadded) vocabulary; test_rt_vocab.c opts into Megatron's padding */
    t->cfg.par.vocab_divisor = 1;
}

/* runs `steps` steps capturing the last step's gradient and the parameters after it (either may
   be NULL) and the loss of step 0; returns the status */
static inline est_status tiny_run_opt(tiny *t, const rt_options *base, int steps, const float *init,
                                      float *grads, float *params, double *loss0)
{
    rt_options o = base ? *base : rt_options_default();
    o.steps = steps;
    o.init_params = init;
    o.grads_out = grads;
    o.params_out = params;
    rt_report rep;
    est_diag d;
    memset(&d, 0, sizeof d);
    est_status st = rt_run(&t->cfg, &o, &rep, &d);
    if (st != EST_OK) {
        fprintf(stderr, "rt_run: %s: %s\n", est_status_str(st), d.msg);
        rt_report_free(&rep);
        return st;
    }
    if (loss0) {
        *loss0 = rep.loss[0];
    }
    rt_report_free(&rep);
    return st;
}

static inline est_status tiny_run(tiny *t, int steps, const float *init, float *grads,
                                  float *params, double *loss0)
{
    return tiny_run_opt(t, NULL, steps, init, grads, params, loss0);
}

static inline float *tiny_vec(const est_model *m)
{
    return calloc((size_t)rt_canonical_size(m), sizeof(float));
}

/* start offsets of the canonical tensors of m, in order; returns their number */
static inline int tiny_tensors(const est_model *m, int64_t *starts)
{
    int64_t off[RT_TK_COUNT];
    int64_t lay = 0;
    rt_canonical_offsets(m, off, &lay);
    int ns = 0;
    for (int k = RT_WTE; k <= RT_WPE; k++) {
        if (off[k] >= 0) {
            starts[ns++] = off[k];
        }
    }
    for (int l = 0; l < m->layers; l++) {
        for (int k = 0; k < RT_LT_COUNT; k++) {
            if (off[k] >= 0) {
                starts[ns++] = off[k] + l * lay;
            }
        }
    }
    for (int k = RT_LNFW; k < RT_TK_COUNT; k++) {
        if (off[k] >= 0) {
            starts[ns++] = off[k];
        }
    }
    return ns;
}

/* largest per-tensor relative difference max|a-b| / max|b| over the canonical tensors of m */
static inline double tiny_maxrel(const est_model *m, const float *a, const float *b,
                                 const char *what)
{
    int64_t starts[64 * RT_TK_COUNT];
    int ns = tiny_tensors(m, starts);
    int64_t total = rt_canonical_size(m);
    double worst = 0.0;
    for (int i = 0; i < ns; i++) {
        int64_t s = starts[i];
        int64_t e = i + 1 < ns ? starts[i + 1] : total;
        double md = 0.0;
        double mb = 0.0;
        for (int64_t k = s; k < e; k++) {
            double d = fabs((double)a[k] - b[k]);
            md = d > md ? d : md;
            mb = fabs(b[k]) > mb ? fabs(b[k]) : mb;
        }
        double rel = mb > 0 ? md / mb : md;
        if (!(rel <= worst)) {
            worst = rel;
        }
    }
    printf("  %-48s max per-tensor rel diff %.3g\n", what, worst);
    return worst;
}

#endif /* LLMCAL_TESTS_RT_TINY_H */
