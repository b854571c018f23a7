/* test_est_collective.c -- alpha-beta collectives against hand-worked numbers and nccl-tests'
 * bus-bandwidth factors (doc/PERFORMANCE.md). */
#include <string.h>

#include "check.h"
#include "est/collective.h"

int main(void)
{
    /* nccl-tests PERFORMANCE.md: all-reduce 2(n-1)/n, all-gather/reduce-scatter (n-1)/n */
    CHECK_REL(est_busbw_factor(EST_COLL_ALLREDUCE, 8), 1.75, 1e-12, "all-reduce factor n=8");
    CHECK_REL(est_busbw_factor(EST_COLL_ALLGATHER, 8), 0.875, 1e-12, "all-gather factor n=8");
    CHECK_REL(est_busbw_factor(EST_COLL_REDUCE_SCATTER, 4), 0.75, 1e-12, "reduce-scatter n=4");
    CHECK_REL(est_busbw_factor(EST_COLL_SENDRECV, 2), 1.0, 1e-12, "send/recv factor 1");
    est_coeffs k;
    memset(&k, 0, sizeof k);
    k.intra_alpha_s = 1e-5;
    k.intra_bytes_per_s = 1e11;
    k.inter_alpha_s = 2e-5;
    k.inter_bytes_per_s = 4e10;
    k.gpus_per_node = 8;
    /* ring all-reduce of 1 GB on 8 ranks: 2*7 steps * 10 us + 1e9*1.75/1e11 = 0.01764 s */
    CHECK_REL(est_collective_time_s(&k, EST_COLL_ALLREDUCE, EST_ALGO_RING, 1e9, 8, EST_LINK_INTRA),
              0.01764, 1e-12, "ring all-reduce");
    /* tree: 2*ceil(log2 8) = 6 steps: 60 us + 0.0175 = 0.01756 s; auto picks the smaller */
    CHECK_REL(est_collective_time_s(&k, EST_COLL_ALLREDUCE, EST_ALGO_TREE, 1e9, 8, EST_LINK_INTRA),
              0.01756, 1e-12, "tree all-reduce");
    CHECK_REL(est_collective_time_s(&k, EST_COLL_ALLREDUCE, EST_ALGO_AUTO, 1e9, 8, EST_LINK_INTRA),
              0.01756, 1e-12, "auto = min(ring, tree)");
    /* all-gather 1 GB over 4 nodes (one rank each): 3 * 20 us + 1e9*0.75/4e10 = 0.01881 s */
    CHECK_REL(est_collective_time_s(&k, EST_COLL_ALLGATHER, EST_ALGO_RING, 1e9, 4, EST_LINK_INTER),
              0.01881, 1e-12, "inter-node ring all-gather");
    CHECK_ABS(est_collective_time_s(&k, EST_COLL_ALLREDUCE, EST_ALGO_AUTO, 1e9, 1, EST_LINK_INTRA),
              0.0, 0.0, "one rank: no communication");
    /* groups: stride 1 -> 8 per node; stride 8 -> 1 per node; 16 ranks of stride 1 -> 8 */
    CHECK_EQ_I64(est_group_ranks_per_node(8, 1, 8), 8, "TP group inside a node");
    CHECK_EQ_I64(est_group_ranks_per_node(8, 8, 8), 1, "DP group of stride 8: one per node");
    CHECK_EQ_I64(est_group_ranks_per_node(16, 1, 8), 8, "16 ranks span two nodes");
    CHECK_EQ_I64(est_group_ranks_per_node(4, 2, 8), 4, "CP group of stride 2 inside a node");
    /* a group of 16 with 8 per node: busbw = min(1e11, 8*4e10) = 1e11, inter alpha:
       2*15*20us + 1e9*1.875/1e11 = 0.01935 (ring) vs tree 2*4*20us + 0.01875 = 0.01891 */
    CHECK_REL(est_group_collective_time_s(&k, EST_COLL_ALLREDUCE, EST_ALGO_AUTO, 1e9, 16, 8),
              0.01891, 1e-12, "hierarchical all-reduce, 2 nodes x 8");
    /* one rank per node: network bound */
    CHECK_REL(est_group_collective_time_s(&k, EST_COLL_ALLGATHER, EST_ALGO_RING, 1e9, 4, 1),
              0.01881, 1e-12, "one rank per node = inter link");
    /* monotone: more bytes never faster */
    CHECK(est_group_collective_time_s(&k, EST_COLL_ALLREDUCE, EST_ALGO_AUTO, 2e9, 16, 8) >
              est_group_collective_time_s(&k, EST_COLL_ALLREDUCE, EST_ALGO_AUTO, 1e9, 16, 8),
          "more bytes take longer");
    return check_summary();
}
