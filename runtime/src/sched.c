/* sched.c -- pipeline schedules, shared by both backends: the order of forward (F) and backward (B)
 * micro-batch passes on one pipeline rank.
 *
 * 1F1B (PipeDream-Flush; Narayanan et al. 2021 Sec. 2.2): rank r of p runs min(p-r-1, m) warm-up
 * forwards, then alternates F/B, then drains the backwards. Interleaved 1F1B (Sec. 2.2,
 * Megatron-LM schedules.py forward_backward_pipelining_with_interleaving): v model chunks per rank,
 * m*v virtual micro-batches, (p-r-1)*2 + (v-1)*p warm-up forwards; the k-th forward runs chunk
 * (k mod pv) / p of micro-batch (k / pv) * p + k mod p, the k-th backward the mirrored chunk.
 * Megatron requires m to be a multiple of p for the interleaved schedule; so do we.
 */
#include "rt_internal.h"

#include <stdlib.h>

int rt_sched_count(int pp, int vpp, int m)
{
    (void)pp;
    return 2 * m * vpp;
}

static rt_sched_op op_of(bool fwd, int k, int pp, int vpp)
{
    rt_sched_op o;
    int pv = pp * vpp;
    o.fwd = fwd;
    o.mb = (k / pv) * pp + k % pp;
    int c = (k % pv) / pp;
    o.chunk = fwd ? c : vpp - 1 - c;
    return o;
}

est_status rt_sched_build(int pp, int vpp, int rank, int m, rt_sched_op *ops, int cap,
                          est_diag *diag)
{
    if (pp < 1 || vpp < 1 || m < 1 || rank < 0 || rank >= pp) {
        return EST_FAIL(diag, EST_EINVAL, "schedule: bad pp=%d vpp=%d rank=%d m=%d", pp, vpp, rank,
                        m);
    }
    if (vpp > 1 && m % pp != 0) {
        return EST_FAIL(diag, EST_EINVAL,
                        "gbs: %d micro-batches per step must be a multiple of pp=%d for the "
                        "interleaved schedule",
                        m, pp);
    }
    int total = m * vpp;
    if (cap < 2 * total) {
        return EST_FAIL(diag, EST_ERANGE, "schedule: capacity %d < %d ops", cap, 2 * total);
    }
    int warm;
    if (vpp == 1) {
        warm = pp - rank - 1 < m ? pp - rank - 1 : m;
    } else {
        warm = (pp - rank - 1) * 2 + (vpp - 1) * pp;
        if (warm > total) {
            warm = total;
        }
    }
    int n = 0;
    for (int k = 0; k < warm; k++) {
        ops[n++] = vpp == 1 ? (rt_sched_op){true, k, 0} : op_of(true, k, pp, vpp);
    }
    for (int i = 0; i < total - warm; i++) {
        ops[n++] = vpp == 1 ? (rt_sched_op){true, warm + i, 0} : op_of(true, warm + i, pp, vpp);
        ops[n++] = vpp == 1 ? (rt_sched_op){false, i, 0} : op_of(false, i, pp, vpp);
    }
    for (int k = total - warm; k < total; k++) {
        ops[n++] = vpp == 1 ? (rt_sched_op){false, k, 0} : op_of(false, k, pp, vpp);
    }
    return EST_OK;
}

// ---------------------------------------------------------------------------
// point-to-point transfers of the schedule and their pairing (Megatron p2p_communication.py)

int rt_sched_tag(int pp, int vpp, bool fwd, int mb, int vstage)
{
    return ((mb * pp * vpp) + vstage) * 2 + (fwd ? 0 : 1);
}

void rt_sched_msgs(int pp, int vpp, int rank, const rt_sched_op *op, rt_p2p_msg *recv,
                   rt_p2p_msg *send)
{
    int vs = op->chunk * pp + rank;
    bool first = vs == 0;
    bool last = vs == pp * vpp - 1;
    *recv = (rt_p2p_msg){0};
    *send = (rt_p2p_msg){0};
    if (op->fwd) { /* activations: from virtual stage vs-1, to vs+1 */
        if (!first) {
            *recv = (rt_p2p_msg){true, false, true, (vs - 1) % pp, op->mb, vs};
        }
        if (!last) {
            *send = (rt_p2p_msg){true, true, true, (vs + 1) % pp, op->mb, vs + 1};
        }
    } else { /* gradients: from virtual stage vs+1, to vs-1 */
        if (!last) {
            *recv = (rt_p2p_msg){true, false, false, (vs + 1) % pp, op->mb, vs};
        }
        if (!first) {
            *send = (rt_p2p_msg){true, true, false, (vs - 1 + pp) % pp, op->mb, vs - 1};
        }
    }
}

/* one transfer of the simulation: its rank, group and place in its channel (src -> dst) */
typedef struct sim_msg {
    rt_p2p_msg m;
    int group;
    int nth; /* index among the rank's messages on the same channel and direction */
    bool done;
} sim_msg;

typedef struct sim_rank {
    sim_msg *msg;
    int nmsg;
    int ngroups;
    int at; /* current group */
} sim_rank;

static void sim_add(sim_rank *s, const rt_p2p_msg *m, int group)
{
    if (!m->valid) {
        return;
    }
    int nth = 0;
    for (int i = 0; i < s->nmsg; i++) {
        nth += s->msg[i].m.send == m->send && s->msg[i].m.peer == m->peer;
    }
    s->msg[s->nmsg++] = (sim_msg){*m, group, nth, false};
}

void rt_sched_groups(int pp, int vpp, const rt_sched_op *ops, int n, bool *before)
{
    (void)pp;
    int warm = 0;
    while (warm < n && ops[warm].fwd) {
        warm++;
    }
    /* steady state: F, B alternate after the warm-up forwards, 2 * (total - warm) ops */
    int steady_end = warm + 2 * (n / 2 - warm);
    for (int k = 0; k < n; k++) {
        bool steady_b = k >= warm && k < steady_end && (k - warm) % 2 == 1;
        /* 1F1B (Megatron forward_backward_pipelining_without_interleaving): a group between
           every two ops (send_forward_recv_backward, send_backward_recv_forward); interleaved
           (..._with_interleaving): a steady-state forward and backward form one unit followed
           by send_forward_backward_recv_forward_backward */
        before[k] = vpp == 1 || !steady_b;
    }
}

/* the rank's transfers in groups: paired, as step.c posts them (rt_sched_groups); unpaired, a
   blocking receive before each op and a blocking send after it, each alone */
static est_status sim_build(int pp, int vpp, int rank, int m, bool paired, sim_rank *s,
                            est_diag *diag)
{
    int n = rt_sched_count(pp, vpp, m);
    rt_sched_op *ops = malloc((size_t)n * sizeof *ops);
    bool *before = malloc((size_t)n * sizeof *before);
    s->msg = malloc((size_t)(2 * n + 1) * sizeof *s->msg);
    if (!ops || !before || !s->msg) {
        free(ops);
        free(before);
        return EST_FAIL(diag, EST_ENOMEM, "schedule check: host allocation failed");
    }
    est_status st = rt_sched_build(pp, vpp, rank, m, ops, n, diag);
    s->nmsg = 0;
    s->at = 0;
    if (st == EST_OK) {
        rt_sched_groups(pp, vpp, ops, n, before);
    }
    /* a group's receives are those of the ops that follow it; its sends those of the ops before
       it since the previous group: posted in the order fwd then bwd for both */
    int g = -1;
    for (int k = 0; st == EST_OK && k < n; k++) {
        rt_p2p_msg rv;
        rt_p2p_msg sd;
        rt_sched_msgs(pp, vpp, rank, &ops[k], &rv, &sd);
        if (!paired) {
            sim_add(s, &rv, 2 * k);
            sim_add(s, &sd, 2 * k + 1);
            continue;
        }
        if (before[k]) {
            g++;
        }
        sim_add(s, &rv, g);
        int nb = k + 1;
        while (nb < n && !before[nb]) {
            nb++;
        }
        sim_add(s, &sd, g + 1); /* the next group, posted before op nb (or at the end) */
    }
    s->ngroups = paired ? g + 2 : 2 * n;
    if (paired) { /* posting order inside a group: fwd before bwd, receives before sends */
        for (int i = 1; i < s->nmsg; i++) {
            for (int j = i; j > 0; j--) {
                sim_msg *a = &s->msg[j - 1];
                sim_msg *b = &s->msg[j];
                int ka = a->group * 4 + (a->m.send ? 2 : 0) + (a->m.fwd ? 0 : 1);
                int kb = b->group * 4 + (b->m.send ? 2 : 0) + (b->m.fwd ? 0 : 1);
                if (ka <= kb) {
                    break;
                }
                sim_msg t = *a;
                *a = *b;
                *b = t;
            }
        }
        for (int i = 0; i < s->nmsg; i++) { /* renumber the channel positions in that order */
            int nth = 0;
            for (int j = 0; j < i; j++) {
                nth += s->msg[j].m.send == s->msg[i].m.send && s->msg[j].m.peer == s->msg[i].m.peer;
            }
            s->msg[i].nth = nth;
        }
    }
    free(ops);
    free(before);
    return st;
}

static sim_msg *sim_match(sim_rank *all, int me, const sim_msg *x)
{
    sim_rank *peer = &all[x->m.peer];
    for (int i = 0; i < peer->nmsg; i++) {
        sim_msg *y = &peer->msg[i];
        if (y->m.send != x->m.send && y->m.peer == me && y->nth == x->nth) {
            return y;
        }
    }
    return NULL;
}

est_status rt_sched_check(int pp, int vpp, int m, bool paired, est_diag *diag)
{
    sim_rank *s = calloc((size_t)pp, sizeof *s);
    if (!s) {
        return EST_FAIL(diag, EST_ENOMEM, "schedule check: host allocation failed");
    }
    est_status st = EST_OK;
    for (int r = 0; r < pp && st == EST_OK; r++) {
        st = sim_build(pp, vpp, r, m, paired, &s[r], diag);
    }
    /* order: NCCL matches the n-th send from a to b with the n-th receive on b from a */
    for (int r = 0; r < pp && st == EST_OK; r++) {
        for (int i = 0; i < s[r].nmsg && st == EST_OK; i++) {
            const sim_msg *x = &s[r].msg[i];
            const sim_msg *y = sim_match(s, r, x);
            bool same =
                y && y->m.fwd == x->m.fwd && y->m.mb == x->m.mb && y->m.vstage == x->m.vstage;
            if (!same) {
                st = EST_FAIL(diag, EST_EINVAL,
                              "schedule: pp=%d vpp=%d m=%d: transfer %d %s rank %d (%s, "
                              "micro-batch %d, stage %d) has no transfer in the same place on "
                              "rank %d",
                              pp, vpp, m, x->nth, x->m.send ? "to" : "from", x->m.peer,
                              x->m.fwd ? "activation" : "gradient", x->m.mb, x->m.vstage, r);
            }
        }
    }
    /* 1F1B (a line of stages): matched transfers do not cross -- a transfer in an earlier group
       than another on one side is not in a later group on the other (the premise of the no-cycle
       argument in docs/runtime.md) */
    for (int r = 0; r < pp && st == EST_OK && paired && vpp == 1; r++) {
        for (int i = 0; i < s[r].nmsg && st == EST_OK; i++) {
            for (int j = 0; j < s[r].nmsg && st == EST_OK; j++) {
                const sim_msg *a = &s[r].msg[i];
                const sim_msg *b = &s[r].msg[j];
                if (a->m.peer != b->m.peer || a->group >= b->group) {
                    continue;
                }
                const sim_msg *ma = sim_match(s, r, a);
                const sim_msg *mb = sim_match(s, r, b);
                if (ma && mb && ma->group > mb->group) {
                    st = EST_FAIL(diag, EST_EINVAL,
                                  "schedule: pp=%d m=%d: groups %d < %d of rank %d match "
                                  "groups %d > %d of rank %d (crossing)",
                                  pp, m, a->group, b->group, r, ma->group, mb->group, a->m.peer);
                }
            }
        }
    }
    /* rendezvous: a transfer happens when both ranks are in the groups holding it; a rank leaves
       its group when every transfer in it has happened */
    bool moved = true;
    while (st == EST_OK && moved) {
        moved = false;
        for (int r = 0; r < pp; r++) {
            for (int i = 0; i < s[r].nmsg; i++) {
                sim_msg *x = &s[r].msg[i];
                sim_msg *y = x->done ? NULL : sim_match(s, r, x);
                if (y && x->group == s[r].at && y->group == s[x->m.peer].at) {
                    x->done = y->done = true;
                    moved = true;
                }
            }
        }
        for (int r = 0; r < pp; r++) {
            bool open = false;
            for (int i = 0; i < s[r].nmsg; i++) {
                open |= s[r].msg[i].group == s[r].at && !s[r].msg[i].done;
            }
            if (!open && s[r].at < s[r].ngroups) {
                s[r].at++;
                moved = true;
            }
        }
    }
    for (int r = 0; r < pp && st == EST_OK; r++) {
        if (s[r].at < s[r].ngroups) {
            st = EST_FAIL(diag, EST_EINVAL,
                          "schedule: pp=%d vpp=%d m=%d deadlocks: rank %d waits in group %d of "
                          "%d",
                          pp, vpp, m, r, s[r].at, s[r].ngroups);
        }
    }
    for (int r = 0; r < pp; r++) {
        free(s[r].msg);
    }
    free(s);
    return st;
}
