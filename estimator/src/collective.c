/* collective.c -- alpha-beta cost of NCCL collectives, ring and tree, over NVLink and the network.
 *
 * Not here: which collectives a configuration issues (steptime.c).
 * References: NVIDIA/nccl-tests doc/PERFORMANCE.md (algbw, busbw and the factors 2(n-1)/n,
 * (n-1)/n, 1); Thakur, Rabenseifner & Gropp 2005 (ring/tree step counts);
 * docs/time.md#communication.
 */
#include <math.h>
#include <stdint.h>

#include "est/collective.h"

// ---------------------------------------------------------------------------
// helpers

static double ring_steps(est_coll kind, int n)
{
    switch (kind) {
    case EST_COLL_ALLREDUCE: return 2.0 * (double)(n - 1);
    case EST_COLL_SENDRECV: return 1.0;
    default: return (double)(n - 1);
    }
}

static double alpha_beta(double alpha_s, double busbw, double steps, double factor, double bytes)
{
    return steps * alpha_s + bytes * factor / busbw;
}

// ---------------------------------------------------------------------------
// public

double est_busbw_factor(est_coll kind, int nranks)
{
    double n = (double)nranks;
    switch (kind) {
    case EST_COLL_ALLREDUCE: return nranks <= 1 ? 1.0 : 2.0 * (n - 1.0) / n;
    case EST_COLL_ALLGATHER:
    case EST_COLL_REDUCE_SCATTER:
    case EST_COLL_ALLTOALL: return nranks <= 1 ? 1.0 : (n - 1.0) / n;
    case EST_COLL_SENDRECV:
    default: return 1.0;
    }
}

static double coll_time(double alpha_s, double busbw, est_coll kind, est_coll_algo algo,
                        double bytes, int nranks)
{
    if (!(bytes > 0.0)) {
        return 0.0;
    }
    if (kind != EST_COLL_SENDRECV && nranks <= 1) {
        return 0.0;
    }
    int n = nranks < 1 ? 1 : nranks;
    double factor = est_busbw_factor(kind, n);
    double ring = alpha_beta(alpha_s, busbw, ring_steps(kind, n), factor, bytes);
    if (kind != EST_COLL_ALLREDUCE || algo == EST_ALGO_RING) {
        return ring;
    }
    /* double binary tree: reduce up and broadcast down, 2*ceil(log2 n) steps, same busbw in the
       pipelined limit (NCCL 2.4 release notes) */
    double tree = alpha_beta(alpha_s, busbw, 2.0 * ceil(log2((double)n)), factor, bytes);
    if (algo == EST_ALGO_TREE) {
        return tree;
    }
    return tree < ring ? tree : ring;
}

double est_collective_time_s(const est_coeffs *k, est_coll kind, est_coll_algo algo, double bytes,
                             int nranks, est_link link)
{
    if (link == EST_LINK_INTRA) {
        return coll_time(k->intra_alpha_s, k->intra_bytes_per_s, kind, algo, bytes, nranks);
    }
    return coll_time(k->inter_alpha_s, k->inter_bytes_per_s, kind, algo, bytes, nranks);
}

double est_group_collective_time_s(const est_coeffs *k, est_coll kind, est_coll_algo algo,
                                   double bytes, int nranks, int ranks_per_node)
{
    if (ranks_per_node >= nranks) {
        /* NCCL runs rings inside an NVLink domain (its tuner picks tree across nodes) */
        est_coll_algo a = algo == EST_ALGO_AUTO ? EST_ALGO_RING : algo;
        return coll_time(k->intra_alpha_s, k->intra_bytes_per_s, kind, a, bytes, nranks);
    }
    int local = ranks_per_node < 1 ? 1 : ranks_per_node;
    if (kind == EST_COLL_ALLTOALL && bytes > 0.0 && nranks > 1) {
        /* each rank sends (local-1)/n of its buffer over NVLink and (n-local)/n through its own
           NIC share, concurrently: the slower part bounds it (nccl-tests alltoall_perf) */
        double n = (double)nranks;
        double t_intra = bytes * ((double)local - 1.0) / n / k->intra_bytes_per_s;
        double t_inter = bytes * (n - (double)local) / n / k->inter_bytes_per_s;
        return k->inter_alpha_s * (n - 1.0) + (t_intra > t_inter ? t_intra : t_inter);
    }
    if (kind == EST_COLL_SENDRECV) {
        /* a ring of point-to-point steps (CP) or a stage boundary (PP) that leaves the node is
           bounded by the one GPU's NIC on that hop */
        return coll_time(k->inter_alpha_s, k->inter_bytes_per_s, kind, algo, bytes, nranks);
    }
    double busbw = (double)local * k->inter_bytes_per_s;
    if (busbw > k->intra_bytes_per_s) {
        busbw = k->intra_bytes_per_s;
    }
    return coll_time(k->inter_alpha_s, busbw, kind, algo, bytes, nranks);
}

int est_group_ranks_per_node(int size, int64_t stride, int gpus_per_node)
{
    if (stride < 1) {
        stride = 1;
    }
    int64_t per = stride >= gpus_per_node ? 1 : gpus_per_node / stride;
    if (per < 1) {
        per = 1;
    }
    return per < size ? (int)per : size;
}

const char *est_coll_name(est_coll kind)
{
    switch (kind) {
    case EST_COLL_ALLREDUCE: return "all-reduce";
    case EST_COLL_ALLGATHER: return "all-gather";
    case EST_COLL_REDUCE_SCATTER: return "reduce-scatter";
    case EST_COLL_ALLTOALL: return "all-to-all";
    case EST_COLL_SENDRECV: return "send/recv";
    default: return "unknown";
    }
}
