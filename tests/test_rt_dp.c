/* test_rt_dp.c -- data parallelism and the distributed optimizer: DP=2 equals one rank with twice
 * the batch; ZeRO-1 (reduce-scatter, sharded AdamW, all-gather) equals ZeRO-0 (all-reduce, full
 * AdamW) exactly; ZeRO-2 (per-micro-batch reduce-scatter into a gradient shard) equals ZeRO-0
 * within reordering; and a 3-D layout (tp=2, sp, pp=2, vpp=2, dp=2, ZeRO-1; 8 ranks) equals one
 * rank.
 *
 * Why ZeRO-1 == ZeRO-0 bit for bit: the in-process all-reduce and reduce-scatter both sum the
 * ranks' values in rank order, and AdamW is elementwise, so the held shard is computed by the same
 * float operations. DP vs one rank and ZeRO-2: gradient accumulation and the rank sum happen in a
 * different order: 1e-4 per tensor, as test_rt_tp.c argues.
 */
#include "test_rt_tiny.h"

typedef struct result {
    float *g, *p;
    double loss;
} result;

static result run(const est_model *m, int tp, bool sp, int pp, int vpp, int dp, int zero, int mbs,
                  int gbs)
{
    tiny t;
    tiny_init(&t, m, tp, pp, vpp, dp, sp, zero, mbs, gbs);
    if (zero == 2) {
        t.cfg.par.framework = EST_FW_DEEPSPEED; /* megatron stops at its distributed optimizer */
    }
    result r = {tiny_vec(m), tiny_vec(m), 0.0};
    est_status st = tiny_run(&t, 1, NULL, r.g, NULL, &r.loss);
    st = st == EST_OK ? tiny_run(&t, 2, NULL, NULL, r.p, NULL) : st;
    CHECK(st == EST_OK, "data-parallel run succeeds");
    return r;
}

static void compare(const est_model *m, const result *a, const result *ref, const char *what,
                    double tol_g, double tol_p)
{
    char buf[160];
    snprintf(buf, sizeof buf, "%s: gradients (step 1)", what);
    CHECK(tiny_maxrel(m, a->g, ref->g, buf) <= tol_g, buf);
    snprintf(buf, sizeof buf, "%s: parameters after 2 steps", what);
    CHECK(tiny_maxrel(m, a->p, ref->p, buf) <= tol_p, buf);
    snprintf(buf, sizeof buf, "%s: loss", what);
    CHECK_REL(a->loss, ref->loss, tol_g > 0 ? 1e-5 : 0.0, buf);
}

static void done(result *r)
{
    free(r->g);
    free(r->p);
}

int main(void)
{
    est_model gpt = tiny_gpt(4);
    est_model llama = tiny_llama(4);
    const est_model *models[2] = {&gpt, &llama};
    const char *names[2] = {"gpt", "llama"};
    for (int i = 0; i < 2; i++) {
        const est_model *m = models[i];
        char what[128];
        /* one rank, global batch 4 as 2 micro-batches of 2 */
        result one = run(m, 1, false, 1, 1, 1, 0, 2, 4);
        result dp2 = run(m, 1, false, 1, 1, 2, 0, 2, 4);
        snprintf(what, sizeof what, "%s dp=2 vs one rank with twice the batch", names[i]);
        compare(m, &dp2, &one, what, 1e-4, 1e-3);
        for (int dp = 2; dp <= 4; dp *= 2) {
            result z0 = run(m, 1, false, 1, 1, dp, 0, 1, 8);
            result z1 = run(m, 1, false, 1, 1, dp, 1, 1, 8);
            result z2 = run(m, 1, false, 1, 1, dp, 2, 1, 8);
            snprintf(what, sizeof what, "%s dp=%d zero-1 vs zero-0 (exact)", names[i], dp);
            compare(m, &z1, &z0, what, 0.0, 0.0);
            snprintf(what, sizeof what, "%s dp=%d zero-2 vs zero-0", names[i], dp);
            compare(m, &z2, &z0, what, 1e-4, 1e-3);
            done(&z0);
            done(&z1);
            done(&z2);
        }
        result ref = run(m, 1, false, 1, 1, 1, 0, 1, 4);
        result x = run(m, 2, true, 2, 2, 2, 1, 1, 4);
        snprintf(what, sizeof what, "%s tp=2 sp pp=2 vpp=2 dp=2 zero-1 vs one rank", names[i]);
        compare(m, &x, &ref, what, 1e-4, 1e-3);
        done(&x);
        done(&ref);
        done(&one);
        done(&dp2);
    }
    return check_summary();
}
