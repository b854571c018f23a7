/* test_rt_gradcheck.c -- the CPU reference backend's backward pass against finite differences of
 * its own forward pass, for the tiny GPT- and Llama-style models (every op: embedding, positions,
 * LayerNorm/RMSNorm, qkv with bias, RoPE, causal GQA attention, GELU/SwiGLU, residuals, tied and
 * untied heads, cross-entropy).
 *
 * For each canonical tensor k, along the unit direction u = g_k/|g_k| the directional derivative
 * is |g_k|; the central difference (L(x+eu) - L(x-eu)) / 2e with e = 1e-2 must agree within 1%.
 * Why 1%: fp32 forward (loss error ~1e-7 relative, i.e. ~4e-7 absolute on a loss of ln 64 = 4.16)
 * divided by 2e gives ~2e-5 absolute noise against |g_k| of 1e-3..1e-1, and the O(e^2)
 * truncation term is below 1e-4 relative for these smooth functions. Also the loss at init is
 * checked against ln(v): with weights of std 0.02 the logits are near 0, the softmax near uniform.
 */
#include "test_rt_tiny.h"

static void check_model(const est_model *m, const char *name)
{
    tiny t;
    tiny_init(&t, m, 1, 1, 1, 1, false, 0, 2, 2);
    int64_t n = rt_canonical_size(m);
    float *x0 = tiny_vec(m);
    float *g = tiny_vec(m);
    float *xp = tiny_vec(m);
    rt_options o = rt_options_default();
    o.lr = 0.0;
    o.weight_decay = 0.0;
    double L0 = 0.0;
    CHECK(tiny_run_opt(&t, &o, 1, NULL, g, x0, &L0) == EST_OK, "run at init");
    /* near-uniform softmax at init: loss ~ ln(64) = 4.1589 (llm.c: "expect ~ln(vocab)") */
    CHECK_REL(L0, log(64.0), 0.02, "initial loss ~ ln(vocab)");
    int64_t starts[64 * RT_TK_COUNT];
    int ns = tiny_tensors(m, starts);
    double eps = 1e-2;
    double worst = 0.0;
    int bad = 0;
    for (int i = 0; i < ns; i++) {
        int64_t s = starts[i];
        int64_t e = i + 1 < ns ? starts[i + 1] : n;
        double norm = 0.0;
        for (int64_t k = s; k < e; k++) {
            norm += (double)g[k] * g[k];
        }
        norm = sqrt(norm);
        if (norm == 0.0) {
            fprintf(stderr, "%s tensor %d has a zero gradient\n", name, i);
            bad++;
            continue;
        }
        double lp = 0.0;
        double lm = 0.0;
        memcpy(xp, x0, (size_t)n * sizeof *xp);
        for (int64_t k = s; k < e; k++) {
            xp[k] = (float)(x0[k] + eps * g[k] / norm);
        }
        tiny_run_opt(&t, &o, 1, xp, NULL, NULL, &lp);
        for (int64_t k = s; k < e; k++) {
            xp[k] = (float)(x0[k] - eps * g[k] / norm);
        }
        tiny_run_opt(&t, &o, 1, xp, NULL, NULL, &lm);
        double fd = (lp - lm) / (2 * eps);
        double rel = fabs(fd - norm) / norm;
        if (rel > worst) {
            worst = rel;
        }
        if (rel > 0.01) {
            fprintf(stderr, "%s tensor %d [%lld, %lld): analytic %.6g, numeric %.6g\n", name, i,
                    (long long)s, (long long)e, norm, fd);
            bad++;
        }
    }
    printf("  %-12s %d tensors, worst directional rel err %.3g\n", name, ns, worst);
    CHECK(bad == 0, "every tensor's gradient matches central differences within 1%");
    free(x0);
    free(g);
    free(xp);
}

int main(void)
{
    est_model gpt = tiny_gpt(2);
    est_model llama = tiny_llama(2);
    est_param_counts pc;
    est_model_params(&gpt, &pc);
    CHECK_EQ_I64(rt_canonical_size(&gpt), pc.total, "canonical layout = est_model_params total");
    est_model_params(&llama, &pc);
    CHECK_EQ_I64(rt_canonical_size(&llama), pc.total, "canonical layout = est_model_params total");
    check_model(&gpt, "gpt");
    check_model(&llama, "llama");
    return check_summary();
}
