/* backend.c -- the CUDA backend's table (kernels from ops.cu), its memory and clock, NCCL
 * collectives, and rt_cuda_run(): one thread per rank bound to a local GPU (nccl-tests -t
 * convention), communicators split per group from one ncclCommInitAll world; or, under a
 * multi-process launch (mpirun/srun), this process's one rank on its local-rank GPU, the world
 * from ncclCommInitRank with the id exchanged through the rendezvous file (rt/launch.h).
 *
 * Every call's error is turned into an est_status with the library's message (RT_CUDA / RT_NCCL /
 * RT_CUBLAS, STYLE.md 3.4). Timing: a timeline of CUDA events recorded on the rank's stream at
 * every phase change (forward, backward, tp/pp/dp communication, optimizer; no synchronisation
 * per phase); flush() waits once at the end of a step and sums cudaEventElapsedTime per phase.
 * clock() (step wall time) synchronises. Memory: cudaMemGetInfo at each new allocator peak.
 * Pipeline transfers: one PP communicator per (tp, dp) pair; step.c batches each schedule step's
 * sends and receives into one ncclGroupStart/End (cu_p2p), which rt_sched_check proves
 * deadlock-free for 1F1B and the interleaved schedule (docs/runtime.md).
 */
#include "cuda/rt_cuda.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cuda/cu_ops.h"

#define RT_CUDA(call, diag)                                                                        \
    do {                                                                                           \
        cudaError_t e_ = (call);                                                                   \
        if (e_ != cudaSuccess) {                                                                   \
            return est_diag_set((diag), EST_ECUDA, __FILE__, __LINE__, "cuda: %s: %s", #call,      \
                                cudaGetErrorString(e_));                                           \
        }                                                                                          \
    } while (0)

#define RT_NCCL(call, diag)                                                                        \
    do {                                                                                           \
        ncclResult_t e_ = (call);                                                                  \
        if (e_ != ncclSuccess) {                                                                   \
            return est_diag_set((diag), EST_ENCCL, __FILE__, __LINE__, "nccl: %s: %s", #call,      \
                                ncclGetErrorString(e_));                                           \
        }                                                                                          \
    } while (0)

#define RT_CUBLAS(call, diag)                                                                      \
    do {                                                                                           \
        cublasStatus_t e_ = (call);                                                                \
        if (e_ != CUBLAS_STATUS_SUCCESS) {                                                         \
            return est_diag_set((diag), EST_ECUBLAS, __FILE__, __LINE__, "cublas: %s: status %d",  \
                                #call, (int)e_);                                                   \
        }                                                                                          \
    } while (0)

static cu_ctx *CX(rt_rank *r)
{
    return (cu_ctx *)r->bctx;
}

// ---------------------------------------------------------------------------
// memory, copies, clock

static void *cu_alloc(rt_rank *r, size_t bytes)
{
    (void)r;
    void *p = NULL;
    if (cudaMalloc(&p, bytes > 0 ? bytes : 1) != cudaSuccess) {
        cudaGetLastError(); /* clear the sticky-free error so the OOM is an answer */
        return NULL;
    }
    return p;
}

static void cu_free(rt_rank *r, void *p)
{
    (void)r;
    cudaFree(p);
}

static void cu_zero(rt_rank *r, void *p, size_t bytes)
{
    cudaMemsetAsync(p, 0, bytes, CX(r)->s);
}

static void cu_copy(rt_rank *r, void *dst, const void *src, size_t bytes)
{
    if (dst != src) {
        cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, CX(r)->s);
    }
}

static void cu_to_host(rt_rank *r, void *dst, const void *src, size_t bytes)
{
    cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, CX(r)->s);
    cudaStreamSynchronize(CX(r)->s);
}

static void cu_to_dev(rt_rank *r, void *dst, const void *src, size_t bytes)
{
    cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, CX(r)->s);
    cudaStreamSynchronize(CX(r)->s); /* src is a reused host buffer */
}

static double cu_clock(rt_rank *r)
{
    cudaError_t e = cudaStreamSynchronize(CX(r)->s);
    if (e != cudaSuccess && CX(r)->status == 0) {
        CX(r)->status = (int)e;
    }
    if (CX(r)->status != 0 && r->kst == EST_OK) {
        r->kst = CX(r)->status >= 1000 ? EST_ECUBLAS : EST_ECUDA;
    }
    return rt_now_s();
}

// ---------------------------------------------------------------------------
// phase timeline (CUDA events)

static void sum_marks(cu_ctx *c, rt_rank *r)
{
    if (c->nev == 0) {
        return;
    }
    if (cudaEventSynchronize(c->ev[c->nev - 1]) != cudaSuccess && c->status == 0) {
        c->status = (int)cudaErrorLaunchFailure;
    }
    for (int i = 1; i < c->nev; i++) {
        int p = c->part[i - 1];
        float ms = 0.0f;
        if (p >= 0 && p < RT_T_STEP &&
            cudaEventElapsedTime(&ms, c->ev[i - 1], c->ev[i]) == cudaSuccess) {
            r->time_acc[p] += 1e-3 * ms;
        }
    }
    /* the last mark opens the next segment: keep it as the first */
    cudaEvent_t last = c->ev[c->nev - 1];
    c->ev[c->nev - 1] = c->ev[0];
    c->ev[0] = last;
    c->part[0] = c->part[c->nev - 1];
    c->nev = 1;
}

static void cu_mark(rt_rank *r, int part)
{
    cu_ctx *c = CX(r);
    if (c->nev == CU_MAX_MARKS) {
        sum_marks(c, r); /* rare: more phase changes in a step than events */
    }
    if (c->nev == c->nev_created) {
        if (cudaEventCreate(&c->ev[c->nev]) != cudaSuccess) {
            if (c->status == 0) {
                c->status = (int)cudaErrorMemoryAllocation;
            }
            return;
        }
        c->nev_created++;
    }
    cudaEventRecord(c->ev[c->nev], c->s);
    c->part[c->nev] = part;
    c->nev++;
}

static void cu_flush(rt_rank *r)
{
    sum_marks(CX(r), r);
    if (CX(r)->status != 0 && r->kst == EST_OK) {
        r->kst = CX(r)->status >= 1000 ? EST_ECUBLAS : EST_ECUDA;
    }
}

static uint64_t cu_driver_used(rt_rank *r)
{
    (void)r;
    size_t free_b = 0;
    size_t total_b = 0;
    if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) {
        return 0;
    }
    return (uint64_t)(total_b - free_b);
}

// ---------------------------------------------------------------------------
// collectives

static int group_nranks(rt_rank *r, rt_group g)
{
    return rt_group_size(r, g);
}

static ncclDataType_t nty(rt_dtype dt)
{
    return dt == RT_BF16 ? ncclBfloat16 : ncclFloat;
}

static est_status cu_allreduce(rt_rank *r, rt_group g, void *buf, size_t n, rt_dtype dt,
                               rt_redop op, est_diag *diag)
{
    if (r->solo || group_nranks(r, g) == 1) {
        return EST_OK;
    }
    RT_NCCL(ncclAllReduce(buf, buf, n, nty(dt), op == RT_OP_SUM ? ncclSum : ncclMax, CX(r)->comm[g],
                          CX(r)->s),
            diag);
    return EST_OK;
}

static est_status cu_reduce_scatter(rt_rank *r, rt_group g, void *buf, size_t count, rt_dtype dt,
                                    est_diag *diag)
{
    if (r->solo || group_nranks(r, g) == 1) {
        return EST_OK;
    }
    int me = rt_group_index(r, g);
    RT_NCCL(ncclReduceScatter(buf, rt_elem(buf, (size_t)me * count, dt), count, nty(dt), ncclSum,
                              CX(r)->comm[g], CX(r)->s),
            diag);
    return EST_OK;
}

static est_status cu_allgather(rt_rank *r, rt_group g, const void *in, void *out, size_t count,
                               rt_dtype dt, est_diag *diag)
{
    int n = group_nranks(r, g);
    if (r->solo || n == 1) {
        for (int j = 0; j < n; j++) { /* local work of the same size */
            cu_copy(r, rt_elem(out, (size_t)j * count, dt), in, count * rt_dsize(dt));
        }
        return EST_OK;
    }
    RT_NCCL(ncclAllGather(in, out, count, nty(dt), CX(r)->comm[g], CX(r)->s), diag);
    return EST_OK;
}

/* one group of pipeline transfers on the PP communicator (Megatron p2p_communication.py
   _batched_p2p_ops): posted between ncclGroupStart and ncclGroupEnd, so a stage's send to its
   successor and its receive from it progress together instead of each waiting for the other */
static est_status cu_p2p(rt_rank *r, const rt_p2p_op *ops, int n, est_diag *diag)
{
    if (r->solo) {
        for (int i = 0; i < n; i++) {
            if (!ops[i].send) {
                cu_zero(r, ops[i].buf, ops[i].n * rt_dsize(ops[i].dt));
            }
        }
        return EST_OK;
    }
    ncclComm_t c = CX(r)->comm[RT_G_PP];
    RT_NCCL(ncclGroupStart(), diag);
    ncclResult_t e = ncclSuccess;
    int i = 0;
    for (; i < n && e == ncclSuccess; i++) {
        const rt_p2p_op *o = &ops[i];
        e = o->send ? ncclSend(o->buf, o->n, nty(o->dt), o->peer, c, CX(r)->s)
                    : ncclRecv(o->buf, o->n, nty(o->dt), o->peer, c, CX(r)->s);
    }
    ncclResult_t e2 = ncclGroupEnd();
    if (e != ncclSuccess || e2 != ncclSuccess) {
        return EST_FAIL(diag, EST_ENCCL, "nccl: pipeline %s of %d transfers (rank %d, pp %d): %s",
                        e != ncclSuccess ? "posting" : "ncclGroupEnd", n, r->rank, r->pp,
                        ncclGetErrorString(e != ncclSuccess ? e : e2));
    }
    return EST_OK;
}

static est_status cu_world_sum(rt_rank *r, double *v, int n, est_diag *diag)
{
    cu_ctx *c = CX(r);
    if (r->solo || !c->world || n <= 0) {
        return EST_OK;
    }
    double *d = NULL;
    RT_CUDA(cudaMalloc((void **)&d, (size_t)n * sizeof *d), diag);
    cudaMemcpyAsync(d, v, (size_t)n * sizeof *d, cudaMemcpyHostToDevice, c->s);
    ncclResult_t e = ncclAllReduce(d, d, (size_t)n, ncclFloat64, ncclSum, c->world, c->s);
    cudaMemcpyAsync(v, d, (size_t)n * sizeof *d, cudaMemcpyDeviceToHost, c->s);
    cudaError_t ce = cudaStreamSynchronize(c->s);
    cudaFree(d);
    if (e != ncclSuccess) {
        return EST_FAIL(diag, EST_ENCCL, "nccl: loss all-reduce over the world: %s",
                        ncclGetErrorString(e));
    }
    if (ce != cudaSuccess) {
        return EST_FAIL(diag, EST_ECUDA, "cuda: loss all-reduce: %s", cudaGetErrorString(ce));
    }
    return EST_OK;
}

const rt_backend rt_backend_cuda = {
    .name = "cuda",
    .dev_alloc = cu_alloc,
    .dev_free = cu_free,
    .zero = cu_zero,
    .copy = cu_copy,
    .to_host = cu_to_host,
    .to_dev = cu_to_dev,
    .clock = cu_clock,
    .driver_used = cu_driver_used,
    .mark = cu_mark,
    .flush = cu_flush,
    .embed_fwd = cu_embed_fwd,
    .embed_bwd = cu_embed_bwd,
    .pos_fwd = cu_pos_fwd,
    .pos_bwd = cu_pos_bwd,
    .norm_fwd = cu_norm_fwd,
    .norm_bwd = cu_norm_bwd,
    .matmul_fwd = cu_matmul_fwd,
    .matmul_bwd = cu_matmul_bwd,
    .rope = cu_rope,
    .attn_fwd = cu_attn_fwd,
    .attn_bwd = cu_attn_bwd,
    .act_fwd = cu_act_fwd,
    .act_bwd = cu_act_bwd,
    .residual_fwd = cu_residual_fwd,
    .bias_bwd = cu_bias_bwd,
    .add = cu_add,
    .ce_max = cu_ce_max,
    .ce_partial = cu_ce_partial,
    .ce_finish = cu_ce_finish,
    .ce_bwd = cu_ce_bwd,
    .adamw = cu_adamw,
    .allreduce = cu_allreduce,
    .reduce_scatter = cu_reduce_scatter,
    .allgather = cu_allgather,
    .p2p = cu_p2p,
    .world_sum = cu_world_sum,
};

// ---------------------------------------------------------------------------
// ranks as threads, one GPU each

typedef struct cu_thread {
    rt_rank *r;
    void *slot;
    void *(*main)(void *);
    cu_ctx ctx;
    est_status st;
    est_diag diag;
} cu_thread;

static est_status split(ncclComm_t world, int color, int key, ncclComm_t *out, est_diag *diag)
{
    *out = NULL;
    RT_NCCL(ncclCommSplit(world, color, key, out, NULL), diag);
    return EST_OK;
}

/* NCCL connects point-to-point peers on first use, with a host-side handshake inside
   ncclGroupEnd; one single-element exchange with both pipeline neighbours in one group connects
   them here, so no schedule step waits on the host for a connection */
static est_status connect_pp(rt_rank *r, cu_ctx *c, est_diag *diag)
{
    int P = r->P_;
    if (P < 2) {
        return EST_OK;
    }
    float *d = NULL;
    RT_CUDA(cudaMalloc((void **)&d, 4 * sizeof *d), diag);
    cudaMemsetAsync(d, 0, 4 * sizeof *d, c->s);
    int next = (r->pp + 1) % P;
    int prev = (r->pp + P - 1) % P;
    ncclComm_t pc = c->comm[RT_G_PP];
    ncclResult_t e = ncclGroupStart();
    e = e == ncclSuccess ? ncclSend(d, 1, ncclFloat, next, pc, c->s) : e;
    e = e == ncclSuccess ? ncclSend(d + 1, 1, ncclFloat, prev, pc, c->s) : e;
    e = e == ncclSuccess ? ncclRecv(d + 2, 1, ncclFloat, prev, pc, c->s) : e;
    e = e == ncclSuccess ? ncclRecv(d + 3, 1, ncclFloat, next, pc, c->s) : e;
    ncclResult_t e2 = ncclGroupEnd();
    cudaError_t ce = cudaStreamSynchronize(c->s);
    cudaFree(d);
    if (e != ncclSuccess || e2 != ncclSuccess) {
        return EST_FAIL(diag, EST_ENCCL, "nccl: connecting pipeline neighbours of rank %d: %s",
                        r->rank, ncclGetErrorString(e != ncclSuccess ? e : e2));
    }
    if (ce != cudaSuccess) {
        return EST_FAIL(diag, EST_ECUDA, "cuda: connecting pipeline neighbours: %s",
                        cudaGetErrorString(ce));
    }
    return EST_OK;
}

static est_status ctx_setup(cu_thread *t)
{
    rt_rank *r = t->r;
    cu_ctx *c = &t->ctx;
    est_diag *diag = &t->diag;
    RT_CUDA(cudaSetDevice(c->dev), diag);
    RT_CUDA(cudaStreamCreate(&c->s), diag);
    int gs = cu_gemm_init(c);
    if (gs != 0) {
        return EST_FAIL(diag, EST_ECUBLAS,
                        "cublas: cuBLASLt setup (handle, %u MiB workspace) "
                        "failed with status %d",
                        CU_WORKSPACE_BYTES >> 20, gs);
    }
    if (r->solo) {
        return EST_OK;
    }
    est_status st;
    int T = r->T_;
    int D = r->D_;
    int P = r->P_;
    /* every rank calls every split in the same order (ncclCommSplit is collective) */
    if ((st = split(c->world, r->dp + D * r->pp, r->tp, &c->comm[RT_G_TP], diag)) != EST_OK ||
        (st = split(c->world, r->tp + T * r->pp, r->dp, &c->comm[RT_G_DP], diag)) != EST_OK ||
        (st = split(c->world, r->tp + T * r->dp, r->pp, &c->comm[RT_G_PP], diag)) != EST_OK) {
        return st;
    }
    bool emb = r->cfg->model->tied_embeddings && P > 1 && (r->pp == 0 || r->pp == P - 1);
    st = split(c->world, emb ? r->tp + T * r->dp : NCCL_SPLIT_NOCOLOR, r->pp, &c->comm[RT_G_EMB],
               diag);
    return st == EST_OK ? connect_pp(r, c, diag) : st;
}

static void ctx_destroy(cu_ctx *c)
{
    for (int i = 0; i < RT_G_COUNT; i++) {
        if (c->comm[i]) {
            ncclCommDestroy(c->comm[i]);
        }
    }
    for (int i = 0; i < c->nev_created; i++) {
        cudaEventDestroy(c->ev[i]);
    }
    c->nev = c->nev_created = 0;
    cu_gemm_destroy(c);
    if (c->s) {
        cudaStreamDestroy(c->s);
    }
}

static void *cu_thread_main(void *arg)
{
    cu_thread *t = arg;
    t->r->bctx = &t->ctx;
    t->r->be = &rt_backend_cuda;
    t->st = ctx_setup(t);
    if (t->st == EST_OK) {
        t->main(t->slot);
    }
    ctx_destroy(&t->ctx);
    return NULL;
}

/* multi-process launch: the world communicator from the id rank 0 publishes in the rendezvous
   file (rt/launch.h); rank 0 removes the file once every rank has joined (ncclCommInitRank
   returns only then) */
static est_status world_init_rank(const rt_options *opt, int dev, ncclComm_t *world, est_diag *diag)
{
    const rt_launch *L = &opt->launch;
    RT_CUDA(cudaSetDevice(dev), diag);
    ncclUniqueId id;
    memset(&id, 0, sizeof id);
    est_status st;
    if (L->rank == 0) {
        RT_NCCL(ncclGetUniqueId(&id), diag);
        st = rt_rendezvous_publish(opt->rendezvous, L->job, L->size, &id, sizeof id, diag);
    } else {
        st = rt_rendezvous_wait(opt->rendezvous, L->job, L->size, &id, sizeof id,
                                opt->rendezvous_timeout_s, diag);
    }
    if (st != EST_OK) {
        return st;
    }
    ncclResult_t e = ncclCommInitRank(world, L->size, id, L->rank);
    if (L->rank == 0) {
        unlink(opt->rendezvous);
    }
    if (e != ncclSuccess) {
        return EST_FAIL(diag, EST_ENCCL, "nccl: ncclCommInitRank (rank %d of %d, device %d): %s",
                        L->rank, L->size, dev, ncclGetErrorString(e));
    }
    return EST_OK;
}

est_status rt_cuda_run(const est_config *cfg, const rt_options *opt, int nrun, rt_rank *first,
                       size_t slot_size, void *(*thread_main)(void *), est_diag *diag)
{
    (void)cfg;
    int ndev = 0;
    if (cudaGetDeviceCount(&ndev) != cudaSuccess || ndev == 0) {
        return EST_FAIL(diag, EST_ECUDA, "backend: cuda found no GPU on this machine");
    }
    const rt_launch *L = &opt->launch;
    if (L->present) {
        int dev = opt->device0 + L->local_rank;
        if (opt->device0 < 0 || dev >= ndev) {
            return EST_FAIL(diag, EST_EINVAL,
                            "gpus: local rank %d (%s launcher) drives device %d, this node has %d "
                            "GPUs; start at most %d processes per node",
                            L->local_rank, L->launcher, dev, ndev, ndev - opt->device0);
        }
    } else if (opt->device0 < 0 || opt->device0 + nrun > ndev) {
        return EST_FAIL(diag, EST_EINVAL,
                        "gpus: %d ranks from device %d need %d GPUs, this machine has %d; use "
                        "--rank R to run one rank's share on one GPU",
                        nrun, opt->device0, opt->device0 + nrun, ndev);
    }
    cu_thread *th = calloc((size_t)nrun, sizeof *th);
    pthread_t *tid = calloc((size_t)nrun, sizeof *tid);
    ncclComm_t *world = calloc((size_t)nrun, sizeof *world);
    int *devs = calloc((size_t)nrun, sizeof *devs);
    est_status st = EST_OK;
    if (!th || !tid || !world || !devs) {
        st = EST_FAIL(diag, EST_ENOMEM, "runtime: host allocation for %d GPU threads failed", nrun);
        goto done;
    }
    for (int i = 0; i < nrun; i++) {
        devs[i] = opt->device0 + (L->present ? L->local_rank : i);
    }
    if (L->present) {
        if ((st = world_init_rank(opt, devs[0], &world[0], diag)) != EST_OK) {
            goto done;
        }
    } else if (!(opt->solo_rank >= 0)) {
        ncclResult_t e = ncclCommInitAll(world, nrun, devs);
        if (e != ncclSuccess) {
            st = EST_FAIL(diag, EST_ENCCL, "nccl: ncclCommInitAll over %d GPUs: %s", nrun,
                          ncclGetErrorString(e));
            goto done;
        }
    }
    int started = 0;
    for (int i = 0; i < nrun; i++) {
        th[i].r = (rt_rank *)((char *)first + (size_t)i * slot_size);
        th[i].slot = th[i].r;
        th[i].main = thread_main;
        th[i].ctx.dev = devs[i];
        th[i].ctx.world = world[i];
        if (pthread_create(&tid[i], NULL, cu_thread_main, &th[i]) != 0) {
            st = EST_FAIL(diag, EST_ENOMEM, "runtime: could not start GPU thread %d", i);
            break;
        }
        started++;
    }
    for (int i = 0; i < started; i++) {
        pthread_join(tid[i], NULL);
    }
    for (int i = 0; i < started && st == EST_OK; i++) {
        if (th[i].st != EST_OK) {
            st = th[i].st;
            if (diag) {
                *diag = th[i].diag;
            }
        }
    }
    for (int i = 0; i < nrun; i++) {
        if (world[i]) {
            ncclCommDestroy(world[i]);
        }
    }
done:
    free(th);
    free(tid);
    free(world);
    free(devs);
    return st;
}
