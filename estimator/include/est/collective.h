/* collective.h -- alpha-beta cost of NCCL collectives (ring and tree) over the cluster's hierarchy
 * (NVLink inside a node, network between nodes), and which parallel groups cross nodes.
 *
 * Sizes follow nccl-tests (doc/PERFORMANCE.md): `bytes` is the buffer size S that nccl-tests
 * prints (all-reduce: the whole buffer; all-gather: the gathered output; reduce-scatter: the whole
 * input; all-to-all: one rank's send buffer; send/recv: the message). algbw = S/t and
 * busbw = algbw * factor(kind, n) with factor 2(n-1)/n for all-reduce, (n-1)/n for all-gather,
 * reduce-scatter and all-to-all, 1 for send/recv. The model is
 *     t = steps(kind, algo, n) * alpha + S * factor(kind, n) / busbw
 * with steps = 2(n-1) for a ring all-reduce, (n-1) for ring all-gather/reduce-scatter/all-to-all,
 * 2*ceil(log2 n) for a tree all-reduce, 1 for send/recv. busbw is the coefficient set's achieved
 * bus bandwidth of the link class. Formulas and sources: docs/time.md#communication.
 * Pure: no allocation, no I/O.
 */
#ifndef LLMCAL_EST_COLLECTIVE_H
#define LLMCAL_EST_COLLECTIVE_H

#include <stdint.h>

#include "est/compute.h"

typedef enum est_coll {
    EST_COLL_ALLREDUCE = 0,
    EST_COLL_ALLGATHER,
    EST_COLL_REDUCE_SCATTER,
    EST_COLL_ALLTOALL,
    EST_COLL_SENDRECV,
    EST_COLL_COUNT
} est_coll;

typedef enum est_coll_algo {
    EST_ALGO_AUTO = 0, /* the faster of ring and tree (NCCL's tuner picks per size) */
    EST_ALGO_RING,
    EST_ALGO_TREE /* all-reduce only; other kinds use the ring */
} est_coll_algo;

typedef enum est_link {
    EST_LINK_INTRA = 0, /* all ranks in one NVLink domain */
    EST_LINK_INTER      /* ranks spread over nodes, one rank per node (network bound) */
} est_link;

/* nccl-tests bus-bandwidth factor of `kind` on n ranks (1 for n <= 1 except send/recv). */
double est_busbw_factor(est_coll kind, int nranks);

/* Time (s) of one collective of `bytes` (nccl-tests size) over `nranks` ranks on one link class,
 * with the coefficient set's alpha and busbw for that class. 0 when nranks <= 1 (send/recv: a
 * single transfer whatever nranks is). */
double est_collective_time_s(const est_coeffs *k, est_coll kind, est_coll_algo algo, double bytes,
                             int nranks, est_link link);

/* The same for a group of `nranks` ranks of which `ranks_per_node` share each node (1 = every
 * rank on its own node; == nranks: the whole group inside one node). A group that crosses nodes
 * is network bound: its busbw is min(intra busbw, ranks_per_node * inter busbw), since NCCL runs
 * one channel per NIC and each local rank brings its own NIC (docs/time.md#hierarchy); its alpha
 * is the inter-node one. Two exceptions: an all-to-all sends (n-local)/n of each rank's buffer
 * through that rank's own NIC (and the rest over NVLink, concurrently), and send/recv steps that
 * leave the node go through one GPU's NIC. */
double est_group_collective_time_s(const est_coeffs *k, est_coll kind, est_coll_algo algo,
                                   double bytes, int nranks, int ranks_per_node);

/* How many ranks of one group share a node, for a group of `size` ranks whose members are
 * `stride` ranks apart in the global rank order, on nodes of `gpus_per_node`:
 * min(size, max(1, gpus_per_node / stride)). */
int est_group_ranks_per_node(int size, int64_t stride, int gpus_per_node);

/* Name of a collective ("all-reduce"...), static string. */
const char *est_coll_name(est_coll kind);

#endif /* LLMCAL_EST_COLLECTIVE_H */
