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
