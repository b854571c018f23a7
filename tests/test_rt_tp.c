/* test_rt_tp.c -- Megatron tensor parallelism (column/row-parallel linears, vocab-parallel
 * embedding and cross-entropy) and sequence parallelism give the same training step as TP=1.
 *
 * Compared, per canonical tensor as max|a-b| / max|b|: the loss and reduced gradient of step 1,
 * and the parameters after two steps (the second starts from the first's AdamW update, so the
 * whole loop -- reduction, optimizer, ZeRO all-gather -- is covered).
 * Tolerance 1e-4 for gradients and losses: TP only reorders fp32 sums (row-parallel partial
 * products added by the all-reduce, per-rank max/sum-exp in the cross-entropy); with <= 64-term
 * dot products the reordering error is ~ sqrt(64) * 6e-8 ~ 5e-7 relative per element, and it
 * propagates through two layers and a softmax. Parameters: 1e-3, since AdamW's first update is
 * ~lr*sign(g) and elements with tiny gradients amplify reordering noise (bounded by lr=1e-3 over
 * parameters of magnitude ~0.03..1).
 */
#include "test_rt_tiny.h"

typedef struct result {
    float *g, *p;
    double loss;
} result;

static result run(const est_model *m, int tp, bool sp, est_attention attn, est_recompute rc)
{
    tiny t;
    tiny_init(&t, m, tp, 1, 1, 1, sp, 0, 2, 4);
    t.cfg.par.attention = attn;
    t.cfg.par.recompute = rc;
    result r = {tiny_vec(m), tiny_vec(m), 0.0};
    est_status st = tiny_run(&t, 1, NULL, r.g, NULL, &r.loss);
    st = st == EST_OK ? tiny_run(&t, 2, NULL, NULL, r.p, NULL) : st;
    CHECK(st == EST_OK, "tensor-parallel run succeeds");
    return r;
}

static void compare(const est_model *m, const result *a, const result *ref, const char *what)
{
    char buf[160];
    snprintf(buf, sizeof buf, "%s: gradients (step 1)", what);
    CHECK(tiny_maxrel(m, a->g, ref->g, buf) <= 1e-4, buf);
    snprintf(buf, sizeof buf, "%s: parameters after 2 steps", what);
    CHECK(tiny_maxrel(m, a->p, ref->p, buf) <= 1e-3, buf);
    snprintf(buf, sizeof buf, "%s: loss", what);
    CHECK_REL(a->loss, ref->loss, 1e-5, buf);
}

static void done(result *r)
{
    free(r->g);
    free(r->p);
}

int main(void)
{
    est_model gpt = tiny_gpt(2);
    est_model llama = tiny_llama(2);
    est_model llama4 = tiny_llama(2); /* g=4 so that tp=4 divides the kv heads */
    llama4.kv_heads = 4;
    const est_model *models[3] = {&gpt, &llama, &llama4};
    const char *names[3] = {"gpt", "llama g=2", "llama g=4"};
    for (int i = 0; i < 3; i++) {
        const est_model *m = models[i];
        result ref = run(m, 1, false, EST_ATTN_FLASH, EST_RECOMPUTE_NONE);
        for (int tp = 2; tp <= 4; tp *= 2) {
            if (m->kv_heads % tp != 0) {
                continue;
            }
            for (int sp = 0; sp <= 1; sp++) {
                char what[96];
                snprintf(what, sizeof what, "%s tp=%d%s", names[i], tp, sp ? " sp" : "");
                result r = run(m, tp, sp, EST_ATTN_FLASH, EST_RECOMPUTE_NONE);
                compare(m, &r, &ref, what);
                done(&r);
            }
        }
        /* recompute and standard attention change storage, never the numbers (same kernels) */
        result a = run(m, 2, true, EST_ATTN_STANDARD, EST_RECOMPUTE_NONE);
        compare(m, &a, &ref, "standard attention tp=2 sp");
        done(&a);
        result b = run(m, 2, false, EST_ATTN_FLASH, EST_RECOMPUTE_FULL);
        compare(m, &b, &ref, "full recompute tp=2");
        done(&b);
        result c = run(m, 1, false, EST_ATTN_STANDARD, EST_RECOMPUTE_SELECTIVE);
        compare(m, &c, &ref, "selective recompute, standard attention");
        done(&c);
        done(&ref);
    }
    return check_summary();
}
