/* comm.c -- timed collectives: every collective the model code issues goes through here, so each
 * lands in its time part (tp_comm, pp_comm, dp_comm) and is excluded from compute time.
 *
 * Timing is a per-rank timeline of phases (rt_phase): a collective opens a segment of its part
 * and restores the phase it interrupted, so compute never includes communication.
 * In solo mode (single-GPU shard mode) the backend does local work of the same size instead, and
 * the time charged is modelled: the ring alpha-beta model over the cluster profile
 * (nccl-tests PERFORMANCE.md bus factors: all-reduce 2(n-1)/n, all-gather and reduce-scatter
 * (n-1)/n; a group whose ranks span more than one node uses the inter-node link).
 */
#include "rt_internal.h"

#include <time.h>

double rt_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static rt_time_part part_of(rt_group g)
{
    switch (g) {
    case RT_G_TP: return RT_T_TP_COMM;
    case RT_G_PP: return RT_T_PP_COMM;
    default: return RT_T_DP_COMM;
    }
}

/* distance in global ranks between neighbours of a group (Megatron order tp, dp, pp) */
static int64_t group_stride(const rt_rank *r, rt_group g)
{
    switch (g) {
    case RT_G_TP: return 1;
    case RT_G_DP: return r->T_;
    default: return (int64_t)r->T_ * r->D_;
    }
}

double rt_model_coll_s(const rt_rank *r, rt_group g, int kind, size_t bytes)
{
    const est_cluster *c = r->cfg->cluster;
    int n = rt_group_size(r, g);
    if (g == RT_G_EMB) {
        n = 2;
    }
    if (n <= 1) {
        return 0.0;
    }
    int64_t span = group_stride(r, g) * (kind == RT_COLL_P2P ? 1 : n - 1) + 1;
    if (g == RT_G_EMB) {
        span = group_stride(r, RT_G_PP) * (r->P_ - 1) + 1;
    }
    bool inter = span > c->gpus_per_node;
    double bw = inter ? c->inter_bytes_per_s : c->intra_bytes_per_s;
    double alpha = inter ? c->inter_latency_s : c->intra_latency_s;
    double b = (double)bytes;
    switch (kind) {
    case RT_COLL_AR: return 2.0 * (n - 1) / n * b / bw + 2.0 * (n - 1) * alpha;
    case RT_COLL_RS:
    case RT_COLL_AG: return (double)(n - 1) / n * b / bw + (n - 1) * alpha;
    default: return b / bw + alpha;
    }
}

// ---------------------------------------------------------------------------
// phase timeline: the CPU measures each segment with the host clock; a backend with mark/flush
// (CUDA events) records a mark on its stream and sums the segments once per step

void rt_phase(rt_rank *r, int part)
{
    if (r->be->mark) {
        r->be->mark(r, part);
        r->phase = part;
        return;
    }
    double t = rt_now_s();
    if (r->phase >= 0 && r->phase < RT_T_STEP) {
        r->time_acc[r->phase] += t - r->phase_t0;
    }
    r->phase = part;
    r->phase_t0 = t;
}

void rt_phase_flush(rt_rank *r)
{
    rt_phase(r, RT_T_COUNT);
    if (r->be->flush) {
        r->be->flush(r);
    }
}

/* a collective's segment: its communication part, or untimed in solo mode (modelled instead) */
static int coll_begin(rt_rank *r, rt_group g)
{
    int prev = r->phase;
    rt_phase(r, r->solo ? RT_T_COUNT : (int)part_of(g));
    return prev;
}

static void coll_end(rt_rank *r, rt_group g, int kind, size_t bytes, int prev)
{
    if (r->solo) {
        rt_time_part p = part_of(g);
        r->time_acc[p] += rt_model_coll_s(r, g, kind, bytes);
        r->time_measured[p] = false;
    }
    rt_phase(r, prev);
}

est_status rt_c_allreduce(rt_rank *r, rt_group g, void *buf, size_t n, rt_dtype dt, rt_redop op,
                          est_diag *diag)
{
    if (rt_group_size(r, g) <= 1) {
        return EST_OK;
    }
    int prev = coll_begin(r, g);
    est_status st = r->be->allreduce(r, g, buf, n, dt, op, diag);
    coll_end(r, g, RT_COLL_AR, n * rt_dsize(dt), prev);
    return st;
}

est_status rt_c_reduce_scatter(rt_rank *r, rt_group g, void *buf, size_t count, rt_dtype dt,
                               est_diag *diag)
{
    int n = rt_group_size(r, g);
    if (n <= 1) {
        return EST_OK;
    }
    int prev = coll_begin(r, g);
    est_status st = r->be->reduce_scatter(r, g, buf, count, dt, diag);
    coll_end(r, g, RT_COLL_RS, (size_t)n * count * rt_dsize(dt), prev);
    return st;
}

est_status rt_c_allgather(rt_rank *r, rt_group g, const void *in, void *out, size_t count,
                          rt_dtype dt, est_diag *diag)
{
    int n = rt_group_size(r, g);
    if (n <= 1) {
        r->be->copy(r, out, in, count * rt_dsize(dt));
        return EST_OK;
    }
    int prev = coll_begin(r, g);
    est_status st = r->be->allgather(r, g, in, out, count, dt, diag);
    coll_end(r, g, RT_COLL_AG, (size_t)n * count * rt_dsize(dt), prev);
    return st;
}

est_status rt_c_p2p(rt_rank *r, const rt_p2p_op *ops, int n, est_diag *diag)
{
    if (n == 0) {
        return EST_OK;
    }
    size_t biggest = 0;
    for (int i = 0; i < n; i++) {
        size_t b = ops[i].n * rt_dsize(ops[i].dt);
        biggest = b > biggest ? b : biggest;
    }
    int prev = coll_begin(r, RT_G_PP);
    est_status st = r->be->p2p(r, ops, n, diag);
    coll_end(r, RT_G_PP, RT_COLL_P2P, biggest, prev);
    return st;
}
