/* coll.c -- calibrate's NCCL probes: all-reduce, all-gather, reduce-scatter, all-to-all and
 * send/recv (ring shift) over `gpus` devices of this process, one communicator per device made by
 * ncclCommInitAll and driven from one thread with group calls (nccl-tests -g N). Each timed
 * iteration: an event on every stream, the grouped collective, an event on every stream; the time
 * is the slowest device's. Sizes are nccl-tests': all-reduce the buffer, all-gather the gathered
 * output, reduce-scatter the input, all-to-all one rank's send buffer, send/recv the message.
 *
 * References: nccl-tests src/common.cu (startColl/completeColl, -g), src/all_to_all.cu (grouped
 * send/recv), doc/PERFORMANCE.md.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime_api.h>
#include <nccl.h>

#include "probe_internal.h"

#define MAX_GPUS 64

typedef struct coll_ctx {
    int n;
    int dev[MAX_GPUS];
    ncclComm_t comm[MAX_GPUS];
    cudaStream_t stream[MAX_GPUS];
    cudaEvent_t ev0[MAX_GPUS], ev1[MAX_GPUS];
    void *send[MAX_GPUS], *recv[MAX_GPUS];
    size_t cap; /* bytes of each buffer */
} coll_ctx;

static void coll_done(coll_ctx *c)
{
    for (int i = 0; i < c->n; i++) {
        cudaSetDevice(c->dev[i]);
        cudaFree(c->send[i]);
        cudaFree(c->recv[i]);
        if (c->ev0[i] != NULL) {
            cudaEventDestroy(c->ev0[i]);
        }
        if (c->ev1[i] != NULL) {
            cudaEventDestroy(c->ev1[i]);
        }
        if (c->stream[i] != NULL) {
            cudaStreamDestroy(c->stream[i]);
        }
        if (c->comm[i] != NULL) {
            ncclCommDestroy(c->comm[i]);
        }
    }
}

static ncclResult_t launch(coll_ctx *c, est_coll kind, size_t bytes)
{
    int n = c->n;
    size_t elems = bytes / 2; /* bf16 elements of the nccl-tests size */
    ncclResult_t r = ncclGroupStart();
    for (int i = 0; i < n && r == ncclSuccess; i++) {
        switch (kind) {
        case EST_COLL_ALLREDUCE:
            r = ncclAllReduce(c->send[i], c->recv[i], elems, ncclBfloat16, ncclSum, c->comm[i],
                              c->stream[i]);
            break;
        case EST_COLL_ALLGATHER:
            r = ncclAllGather(c->send[i], c->recv[i], elems / (size_t)n, ncclBfloat16, c->comm[i],
                              c->stream[i]);
            break;
        case EST_COLL_REDUCE_SCATTER:
            r = ncclReduceScatter(c->send[i], c->recv[i], elems / (size_t)n, ncclBfloat16, ncclSum,
                                  c->comm[i], c->stream[i]);
            break;
        case EST_COLL_ALLTOALL: {
            size_t chunk = elems / (size_t)n;
            for (int p = 0; p < n && r == ncclSuccess; p++) {
                r = ncclSend((char *)c->send[i] + (size_t)p * chunk * 2, chunk, ncclBfloat16, p,
                             c->comm[i], c->stream[i]);
                if (r == ncclSuccess) {
                    r = ncclRecv((char *)c->recv[i] + (size_t)p * chunk * 2, chunk, ncclBfloat16, p,
                                 c->comm[i], c->stream[i]);
                }
            }
            break;
        }
        case EST_COLL_SENDRECV:
        default:
            r = ncclSend(c->send[i], elems, ncclBfloat16, (i + 1) % n, c->comm[i], c->stream[i]);
            if (r == ncclSuccess) {
                r = ncclRecv(c->recv[i], elems, ncclBfloat16, (i + n - 1) % n, c->comm[i],
                             c->stream[i]);
            }
            break;
        }
    }
    ncclResult_t e = ncclGroupEnd();
    return r != ncclSuccess ? r : e;
}

static est_status time_one(coll_ctx *c, const cal_probe_options *o, est_sample *s, double *t,
                           est_diag *diag)
{
    est_status st = EST_OK;
    for (int it = 0; it < o->warmup + o->iters; it++) {
        for (int i = 0; i < c->n; i++) {
            CAL_CUDA(cudaSetDevice(c->dev[i]), diag);
            CAL_CUDA(cudaEventRecord(c->ev0[i], c->stream[i]), diag);
        }
        ncclResult_t r = launch(c, s->coll, (size_t)s->bytes);
        if (r != ncclSuccess) {
            return EST_FAIL(diag, EST_ENCCL, "%s of %.0f bytes: %s", est_coll_name(s->coll),
                            s->bytes, ncclGetErrorString(r));
        }
        double worst = 0.0;
        for (int i = 0; i < c->n; i++) {
            float ms = 0.0f;
            CAL_CUDA(cudaSetDevice(c->dev[i]), diag);
            CAL_CUDA(cudaEventRecord(c->ev1[i], c->stream[i]), diag);
            CAL_CUDA(cudaEventSynchronize(c->ev1[i]), diag);
            CAL_CUDA(cudaEventElapsedTime(&ms, c->ev0[i], c->ev1[i]), diag);
            worst = fmax(worst, (double)ms * 1e-3);
        }
        if (it >= o->warmup) {
            t[it - o->warmup] = worst;
        }
    }
    return EST_OK;
fail:
    return st;
}

est_status cal_probe_collectives(cal_sample_set *set, const cal_probe_options *o, int gpus,
                                 cal_probe_progress cb, void *ctx, size_t *done, size_t total,
                                 est_diag *diag)
{
    est_status st = EST_OK;
    coll_ctx c;
    memset(&c, 0, sizeof c);
    double *t = NULL;
    if (gpus > MAX_GPUS) {
        gpus = MAX_GPUS;
    }
    c.n = gpus;
    for (size_t i = 0; i < set->n; i++) {
        const est_sample *s = &set->s[i];
        if (s->kind == EST_SAMPLE_COLLECTIVE && isnan(s->p50_s) && s->bytes > (double)c.cap) {
            c.cap = (size_t)s->bytes;
        }
    }
    if (c.cap == 0) {
        return EST_OK;
    }
    for (int i = 0; i < gpus; i++) {
        c.dev[i] = o->device0 + i;
    }
    ncclResult_t r = ncclCommInitAll(c.comm, gpus, c.dev);
    if (r != ncclSuccess) {
        st = EST_FAIL(diag, EST_ENCCL, "ncclCommInitAll on %d GPUs: %s", gpus,
                      ncclGetErrorString(r));
        memset(c.comm, 0, sizeof c.comm);
        goto fail;
    }
    for (int i = 0; i < gpus; i++) {
        CAL_CUDA(cudaSetDevice(c.dev[i]), diag);
        CAL_CUDA(cudaStreamCreate(&c.stream[i]), diag);
        CAL_CUDA(cudaEventCreate(&c.ev0[i]), diag);
        CAL_CUDA(cudaEventCreate(&c.ev1[i]), diag);
        CAL_CUDA(cudaMalloc(&c.send[i], c.cap), diag);
        CAL_CUDA(cudaMalloc(&c.recv[i], c.cap), diag);
        CAL_CUDA(cudaMemset(c.send[i], 0, c.cap), diag);
    }
    t = malloc((size_t)o->iters * sizeof *t);
    if (t == NULL) {
        st = EST_FAIL(diag, EST_ENOMEM, "probes: out of memory");
        goto fail;
    }
    for (size_t i = 0; i < set->n; i++) {
        est_sample *s = &set->s[i];
        if (s->kind != EST_SAMPLE_COLLECTIVE || !isnan(s->p50_s)) {
            continue;
        }
        if (s->nranks != gpus) {
            s->p50_s = -1.0; /* planned for another GPU count: skipped */
            continue;
        }
        st = time_one(&c, o, s, t, diag);
        if (st != EST_OK) {
            goto fail;
        }
        cal_probe_stats(t, o->iters, s);
        s->link = EST_LINK_INTRA; /* one process, one node */
        if (cb != NULL) {
            cb(++*done, total, s, ctx);
        }
    }
fail:
    free(t);
    coll_done(&c);
    return st;
}
