/* test_est_search.c -- exhaustive search: counts, ordering, agreement with a direct evaluation,
 * and the messages when nothing is valid or nothing fits. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "est_fixtures.h"
#include "est/search.h"

static est_model small(void)
{
    est_model m;
    memset(&m, 0, sizeof m);
    strcpy(m.name, "llama-1b-like");
    m.hidden = 2048;
    m.layers = 16;
    m.heads = 32;
    m.kv_heads = 8;
    m.head_dim = 64;
    m.ffn = 8192;
    m.vocab = 128256;
    m.norm = EST_NORM_RMSNORM;
    m.act = EST_ACT_SWIGLU;
    m.pos = EST_POS_ROPE;
    return m;
}

static est_search_result top[8];

int main(void)
{
    est_model m = small();
    est_gpu g = fixture_h100(80ull << 30);
    est_cluster c = est_cluster_for_gpu(&g);
    est_config base = {&m, &g, &c, est_parallel_default()};
    base.par.gpus = 8;
    base.par.gbs = 32;
    base.par.seq = 4096;
    est_search_stats st;
    est_diag d = {0};
    int n = 0;
    est_status s = est_search(&base, NULL, NULL, top, 8, &n, &st, &d);
    CHECK(s == EST_OK, "search finds configurations");
    CHECK(n == 8, "top-8 filled");
    uint64_t rej = 0;
    for (int r = 0; r < EST_REJ_COUNT; r++) {
        rej += st.rejected[r];
    }
    CHECK_EQ_I64(st.evaluated, st.valid + rej, "evaluated = valid + rejected");
    CHECK(st.fitting <= st.valid && st.fitting > 0, "fitting <= valid");
    for (int i = 1; i < n; i++) {
        CHECK(top[i - 1].time.tokens_per_s >= top[i].time.tokens_per_s, "best first");
    }
    for (int i = 0; i < n; i++) {
        CHECK(top[i].memory.fits, "kept results fit");
    }
    /* the best result, re-evaluated directly, gives the same time (no hidden state) */
    est_config again = base;
    again.par = top[0].par;
    est_time_report t;
    CHECK(est_config_resolve(&again, &d) == EST_OK && est_step_time(&again, &t, &d) == EST_OK,
          "best config re-evaluates");
    CHECK_REL(t.iteration_s, top[0].time.iteration_s, 1e-12, "search = direct evaluation");
    /* enumerated space (hand count for 8 GPUs, heads 32/kv 8, 16 layers, gbs 32, seq 4096,
       megatron): tp {1,2,4,8} x pp {1,2,4,8} (dividing 8/tp) x cp {1,2,4,8} (dividing 8/(tp*pp))
       gives 20 (tp,pp,cp) triples; every one is enumerated with at least one mbs */
    CHECK(st.evaluated >= 20 * 2 * 3, "space covers tp x pp x cp x zero x recompute");
    /* a batch that cannot be split: gbs 3 with only dp = 8 allowed */
    est_search_space sp = est_search_space_default();
    sp.max_tp = 1;
    sp.max_pp = 1;
    sp.max_cp = 1;
    base.par.gbs = 3;
    s = est_search(&base, &sp, NULL, top, 8, &n, &st, &d);
    CHECK(s == EST_EINVAL && n == 0, "no valid configuration");
    CHECK(strstr(d.msg, "gbs") != NULL, "message names the gbs constraint");
    CHECK(st.rejected[EST_REJ_GBS] == st.evaluated, "all rejected by gbs");
    /* nothing fits: a 4 GiB card */
    est_gpu tiny = fixture_h100(4ull << 30);
    est_config b2 = {&m, &tiny, &c, est_parallel_default()};
    b2.par.gpus = 1;
    b2.par.gbs = 8;
    b2.par.seq = 4096;
    s = est_search(&b2, NULL, NULL, top, 8, &n, &st, &d);
    CHECK(s == EST_EINVAL && st.valid > 0 && st.fitting == 0, "valid but none fits");
    CHECK(strstr(d.msg, "memory") != NULL, "message says memory");
    /* missing batch */
    b2.par.gbs = 0;
    CHECK(est_search(&b2, NULL, NULL, top, 8, &n, &st, &d) == EST_EINVAL &&
              strstr(d.msg, "gbs") != NULL,
          "gbs required");
    return check_summary();
}
