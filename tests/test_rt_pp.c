/* test_rt_pp.c -- pipeline parallelism: 1F1B and interleaved (virtual-stage) schedules over
 * batched send/recv give the same training step as PP=1, for GPT (tied embeddings: the first and
 * last stage each hold the table and sync its gradient) and Llama (untied). Also the schedules'
 * shape itself (Narayanan et al. 2021 Sec. 2.2): every (micro-batch, chunk) runs F once and B once,
 * B after its F, and the 1F1B warm-up has p - r - 1 forwards; and the transfers, grouped as
 * step.c posts them (Megatron's send_forward_recv_backward pairing), cannot deadlock under
 * NCCL's rendezvous semantics (rt_sched_check), while the naive blocking order does.
 *
 * Tolerance 1e-4 per tensor (gradients, loss), 1e-3 parameters (as test_rt_tp.c): PP moves no
 * arithmetic between ranks, but the tied embedding's two gradient halves are summed by the
 * embedding-group all-reduce instead of accumulated in place (one reordered fp32 addition).
 */
#include "test_rt_tiny.h"

typedef struct result {
    float *g, *p;
    double loss;
} result;

static result run_t(const est_model *m, int tp, bool sp, int pp, int vpp, int first, int last,
                    int gbs)
{
    tiny t;
    tiny_init(&t, m, tp, pp, vpp, 1, sp, 0, 1, gbs);
    t.cfg.par.first_stage_layers = first;
    t.cfg.par.last_stage_layers = last;
    result r = {tiny_vec(m), tiny_vec(m), 0.0};
    est_status st = tiny_run(&t, 1, NULL, r.g, NULL, &r.loss);
    st = st == EST_OK ? tiny_run(&t, 2, NULL, NULL, r.p, NULL) : st;
    CHECK(st == EST_OK, "pipeline-parallel run succeeds");
    return r;
}

static result run(const est_model *m, int tp, bool sp, int pp, int vpp, int first, int last)
{
    return run_t(m, tp, sp, pp, vpp, first, last, 4);
}

static result run_gbs(const est_model *m, int pp, int vpp, int gbs)
{
    return run_t(m, 1, false, pp, vpp, 0, 0, gbs);
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

static void check_schedule(int pp, int vpp, int m)
{
    for (int rank = 0; rank < pp; rank++) {
        rt_sched_op ops[256];
        int n = rt_sched_count(pp, vpp, m);
        CHECK(rt_sched_build(pp, vpp, rank, m, ops, 256, NULL) == EST_OK, "schedule builds");
        int seenf[64][8] = {{0}};
        int seenb[64][8] = {{0}};
        bool ordered = true;
        for (int i = 0; i < n; i++) {
            if (ops[i].fwd) {
                seenf[ops[i].mb][ops[i].chunk]++;
            } else {
                ordered = ordered && seenf[ops[i].mb][ops[i].chunk] == 1;
                seenb[ops[i].mb][ops[i].chunk]++;
            }
        }
        bool once = true;
        for (int b = 0; b < m; b++) {
            for (int c = 0; c < vpp; c++) {
                once = once && seenf[b][c] == 1 && seenb[b][c] == 1;
            }
        }
        CHECK(once, "every (micro-batch, chunk) has one forward and one backward");
        CHECK(ordered, "every backward follows its forward");
        if (vpp == 1) {
            int warm = 0;
            while (warm < n && ops[warm].fwd) {
                warm++;
            }
            /* warm-up forwards p - r - 1, then the first steady-state forward (Narayanan Fig. 4) */
            int expect = (pp - rank - 1 < m ? pp - rank - 1 : m) + (pp - rank - 1 < m ? 1 : 0);
            CHECK_EQ_I64(warm, expect, "1F1B: forwards before the first backward");
        }
    }
}

/* the transfers as step.c groups them, simulated under NCCL's semantics (a send completes only
   once the peer has posted the matching receive; matching by order per pair of ranks) */
static void check_deadlock_free(void)
{
    int ok = 0;
    int cases = 0;
    for (int p = 2; p <= 8; p++) {
        for (int v = 1; v <= 4; v++) {
            for (int m = 1; m <= 3 * p + 1; m++) {
                if (v > 1 && m % p != 0) {
                    continue;
                }
                est_diag d;
                memset(&d, 0, sizeof d);
                cases++;
                if (rt_sched_check(p, v, m, true, &d) == EST_OK) {
                    ok++;
                } else {
                    fprintf(stderr, "  %s\n", d.msg);
                }
            }
        }
    }
    printf("  batched transfers: %d of %d (pp 2..8, vpp 1..4, m 1..3pp+1) complete\n", ok, cases);
    CHECK(ok == cases && cases > 100, "batched pipeline transfers never deadlock");
    /* the unbatched 1F1B (blocking send after each op, receive before it) deadlocks for pp 2,
       m 2: rank 0 runs F0 F1 B0 B1 and rank 1 F0 B0 F1 B1 (warm-up p - r - 1); after F1
       rank 0 sends activation 1 and waits for rank 1 to receive it, while rank 1, after B0,
       sends gradient 0 and waits for rank 0 to receive it: each waits for the other */
    est_diag d;
    memset(&d, 0, sizeof d);
    CHECK(rt_sched_check(2, 1, 2, false, &d) == EST_EINVAL && strstr(d.msg, "deadlock"),
          "unbatched blocking send/recv 1F1B deadlocks (the simulation can fail)");
    printf("  unbatched: %s\n", d.msg);
    memset(&d, 0, sizeof d);
    CHECK(rt_sched_check(4, 2, 8, false, &d) == EST_EINVAL, "unbatched interleaved deadlocks");
}

int main(void)
{
    check_deadlock_free();
    check_schedule(4, 1, 8);
    check_schedule(4, 1, 2);
    check_schedule(2, 2, 4);
    check_schedule(4, 2, 8);
    CHECK(rt_sched_build(4, 2, 0, 6, (rt_sched_op[64]){{0}}, 64, NULL) == EST_EINVAL,
          "interleaved needs m divisible by pp (Megatron)");
    est_model gpt = tiny_gpt(8);
    est_model llama = tiny_llama(8);
    const est_model *models[2] = {&gpt, &llama};
    const char *names[2] = {"gpt", "llama"};
    for (int i = 0; i < 2; i++) {
        const est_model *m = models[i];
        result ref = run(m, 1, false, 1, 1, 0, 0);
        int cases[][3] = {{2, 1, 0}, {2, 2, 0}, {2, 4, 0}, {4, 1, 0}, {4, 2, 0}};
        for (int k = 0; k < 5; k++) {
            char what[96];
            snprintf(what, sizeof what, "%s pp=%d vpp=%d", names[i], cases[k][0], cases[k][1]);
            result r = run(m, 1, false, cases[k][0], cases[k][1], 0, 0);
            compare(m, &r, &ref, what);
            done(&r);
        }
        char what[96];
        snprintf(what, sizeof what, "%s pp=4 first=1 last=1 (uneven)", names[i]);
        result u = run(m, 1, false, 4, 1, 1, 1);
        compare(m, &u, &ref, what);
        done(&u);
        snprintf(what, sizeof what, "%s tp=2 sp pp=2 vpp=2", names[i]);
        result x = run(m, 2, true, 2, 2, 0, 0);
        compare(m, &x, &ref, what);
        done(&x);
        done(&ref);
        /* 8 micro-batches on pp=4 vpp=2: past the warm-up, so the interleaved steady state's
           batched transfers (forward and backward sends with both receives) carry data */
        result ref8 = run_gbs(m, 1, 1, 8);
        result y = run_gbs(m, 4, 2, 8);
        snprintf(what, sizeof what, "%s pp=4 vpp=2 m=8", names[i]);
        compare(m, &y, &ref8, what);
        done(&y);
        done(&ref8);
    }
    return check_summary();
}
