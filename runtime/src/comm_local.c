/* comm_local.c -- the CPU backend's collectives: R ranks are threads of one process, and every
 * collective is exact over host buffers (all-reduce, reduce-scatter, all-gather, send/recv).
 *
 * Sums run over the group's ranks in rank order, so a result does not depend on thread timing
 * (deterministic, and ZeRO-1's reduce-scatter sums exactly as ZeRO-0's all-reduce does). Sends are
 * buffered (copied into the receiver's mailbox) and a receive takes the next message from its
 * source in send order and checks its tag, so a schedule whose two sides disagree on the order
 * (which NCCL, matching by order, would silently mis-deliver) fails here. Deadlock freedom under
 * NCCL's unbuffered semantics is checked separately (rt_sched_check). A failing rank calls
 * rt_world_abort(), which wakes every waiter with an error instead of hanging.
 * In solo mode (single-GPU shard mode) there is one rank and no world traffic: the collectives do
 * local work of the same size (copies) and receives deliver zeros.
 * Not here: timing (comm.c), NCCL (cuda/).
 */
#include "rt_internal.h"
#include "rt_bf16.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef struct lgroup {
    int n; /* members */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int arrived;
    unsigned gen;
    void **out; /* (n) posted buffers */
} lgroup;

typedef struct msg {
    struct msg *next;
    int src; /* global rank of the sender */
    int tag;
    size_t n; /* bytes */
    unsigned char data[];
} msg;

typedef struct mailbox {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    msg *head;
} mailbox;

struct rt_world {
    int R, T, D, P;
    bool solo;
    atomic_int aborted;
    lgroup *tpg, *dpg, *embg; /* [D*P], [T*P], [T*D] */
    int n_tpg, n_dpg, n_embg;
    mailbox *mbox; /* [R] */
};

// ---------------------------------------------------------------------------
// world

static est_status lgroups_init(lgroup **out, int count, int n, est_diag *diag)
{
    lgroup *g = calloc((size_t)(count > 0 ? count : 1), sizeof *g);
    if (!g) {
        return EST_FAIL(diag, EST_ENOMEM, "runtime: host allocation of %d groups failed", count);
    }
    *out = g;
    for (int i = 0; i < count; i++) {
        g[i].n = n;
        pthread_mutex_init(&g[i].mu, NULL);
        pthread_cond_init(&g[i].cv, NULL);
        g[i].out = calloc((size_t)n, sizeof *g[i].out);
        if (!g[i].out) {
            return EST_FAIL(diag, EST_ENOMEM, "runtime: host allocation of a group failed");
        }
    }
    return EST_OK;
}

static void lgroups_free(lgroup *g, int count)
{
    if (!g) {
        return;
    }
    for (int i = 0; i < count; i++) {
        pthread_mutex_destroy(&g[i].mu);
        pthread_cond_destroy(&g[i].cv);
        free(g[i].out);
    }
    free(g);
}

est_status rt_world_create(int nranks, int tp, int dp, int pp, bool emb_group, bool solo,
                           rt_world **out, est_diag *diag)
{
    *out = NULL;
    rt_world *w = calloc(1, sizeof *w);
    if (!w) {
        return EST_FAIL(diag, EST_ENOMEM, "runtime: host allocation of the world failed");
    }
    w->R = nranks;
    w->T = tp;
    w->D = dp;
    w->P = pp;
    w->solo = solo;
    atomic_init(&w->aborted, 0);
    est_status st = EST_OK;
    if (!solo) {
        w->n_tpg = dp * pp;
        w->n_dpg = tp * pp;
        w->n_embg = emb_group ? tp * dp : 0;
        if ((st = lgroups_init(&w->tpg, w->n_tpg, tp, diag)) != EST_OK ||
            (st = lgroups_init(&w->dpg, w->n_dpg, dp, diag)) != EST_OK ||
            (st = lgroups_init(&w->embg, w->n_embg, 2, diag)) != EST_OK) {
            goto fail;
        }
        w->mbox = calloc((size_t)nranks, sizeof *w->mbox);
        if (!w->mbox) {
            st = EST_FAIL(diag, EST_ENOMEM, "runtime: host allocation of mailboxes failed");
            goto fail;
        }
        for (int i = 0; i < nranks; i++) {
            pthread_mutex_init(&w->mbox[i].mu, NULL);
            pthread_cond_init(&w->mbox[i].cv, NULL);
        }
    }
    *out = w;
    return EST_OK;
fail:
    rt_world_destroy(w);
    return st;
}

void rt_world_destroy(rt_world *w)
{
    if (!w) {
        return;
    }
    lgroups_free(w->tpg, w->n_tpg);
    lgroups_free(w->dpg, w->n_dpg);
    lgroups_free(w->embg, w->n_embg);
    if (w->mbox) {
        for (int i = 0; i < w->R; i++) {
            msg *m = w->mbox[i].head;
            while (m) {
                msg *nx = m->next;
                free(m);
                m = nx;
            }
            pthread_mutex_destroy(&w->mbox[i].mu);
            pthread_cond_destroy(&w->mbox[i].cv);
        }
        free(w->mbox);
    }
    free(w);
}

static void wake_all(lgroup *g, int count)
{
    for (int i = 0; g && i < count; i++) {
        pthread_mutex_lock(&g[i].mu);
        pthread_cond_broadcast(&g[i].cv);
        pthread_mutex_unlock(&g[i].mu);
    }
}

void rt_world_abort(rt_world *w)
{
    if (!w) {
        return;
    }
    atomic_store(&w->aborted, 1);
    wake_all(w->tpg, w->n_tpg);
    wake_all(w->dpg, w->n_dpg);
    wake_all(w->embg, w->n_embg);
    for (int i = 0; w->mbox && i < w->R; i++) {
        pthread_mutex_lock(&w->mbox[i].mu);
        pthread_cond_broadcast(&w->mbox[i].cv);
        pthread_mutex_unlock(&w->mbox[i].mu);
    }
}

void rt_world_attach(rt_world *w, rt_rank *r)
{
    r->world = w;
}

// ---------------------------------------------------------------------------
// groups

int rt_group_size(const rt_rank *r, rt_group g)
{
    switch (g) {
    case RT_G_TP: return r->T_;
    case RT_G_DP: return r->D_;
    case RT_G_PP: return r->P_;
    case RT_G_EMB: return r->P_ > 1 ? 2 : 1;
    default: return 1;
    }
}

int rt_group_index(const rt_rank *r, rt_group g)
{
    switch (g) {
    case RT_G_TP: return r->tp;
    case RT_G_DP: return r->dp;
    case RT_G_PP: return r->pp;
    case RT_G_EMB: return r->pp == 0 ? 0 : 1;
    default: return 0;
    }
}

static lgroup *group_of(rt_rank *r, rt_group g)
{
    rt_world *w = r->world;
    switch (g) {
    case RT_G_TP: return &w->tpg[r->dp + w->D * r->pp];
    case RT_G_DP: return &w->dpg[r->tp + w->T * r->pp];
    case RT_G_EMB: return w->n_embg ? &w->embg[r->tp + w->T * r->dp] : NULL;
    default: return NULL;
    }
}

static est_status aborted(rt_rank *r, est_diag *diag)
{
    return EST_FAIL(diag, EST_EINVAL, "rank %d: stopped because another rank failed", r->rank);
}

/* generation barrier that gives up when the world is aborted */
static est_status barrier(rt_rank *r, lgroup *G, est_diag *diag)
{
    pthread_mutex_lock(&G->mu);
    unsigned gen = G->gen;
    if (++G->arrived == G->n) {
        G->arrived = 0;
        G->gen++;
        pthread_cond_broadcast(&G->cv);
    } else {
        while (gen == G->gen && !atomic_load(&r->world->aborted)) {
            pthread_cond_wait(&G->cv, &G->mu);
        }
    }
    pthread_mutex_unlock(&G->mu);
    return atomic_load(&r->world->aborted) ? aborted(r, diag) : EST_OK;
}

// ---------------------------------------------------------------------------
// collectives (declared in rt_internal.h through the backend table)

/* element k of a posted buffer as fp32, and back (bf16: round to nearest even once, after the
   fp32 sum over the ranks in rank order) */
static float ld(const void *p, size_t k, rt_dtype dt)
{
    return dt == RT_BF16 ? rt_bf16_to_f32(((const uint16_t *)p)[k]) : ((const float *)p)[k];
}

static void st(void *p, size_t k, float v, rt_dtype dt)
{
    if (dt == RT_BF16) {
        ((uint16_t *)p)[k] = rt_f32_to_bf16(v);
    } else {
        ((float *)p)[k] = v;
    }
}

est_status rt_local_allreduce(rt_rank *r, rt_group g, void *buf, size_t n, rt_dtype dt, rt_redop op,
                              est_diag *diag)
{
    int size = rt_group_size(r, g);
    if (size == 1 || r->solo) {
        return EST_OK; /* solo: the sum of one rank's data is its data; same bytes touched */
    }
    lgroup *G = group_of(r, g);
    int me = rt_group_index(r, g);
    G->out[me] = buf;
    est_status s = barrier(r, G, diag);
    if (s != EST_OK) {
        return s;
    }
    size_t lo = n * (size_t)me / (size_t)size;
    size_t hi = n * (size_t)(me + 1) / (size_t)size;
    for (size_t k = lo; k < hi; k++) {
        float v = ld(G->out[0], k, dt);
        for (int j = 1; j < size; j++) {
            float x = ld(G->out[j], k, dt);
            v = op == RT_OP_SUM ? v + x : (x > v ? x : v);
        }
        for (int j = 0; j < size; j++) {
            st(G->out[j], k, v, dt);
        }
    }
    return barrier(r, G, diag);
}

est_status rt_local_reduce_scatter(rt_rank *r, rt_group g, void *buf, size_t count, rt_dtype dt,
                                   est_diag *diag)
{
    int size = rt_group_size(r, g);
    if (size == 1 || r->solo) {
        return EST_OK;
    }
    lgroup *G = group_of(r, g);
    int me = rt_group_index(r, g);
    G->out[me] = buf;
    est_status s = barrier(r, G, diag);
    if (s != EST_OK) {
        return s;
    }
    size_t base = (size_t)me * count;
    for (size_t k = 0; k < count; k++) {
        float v = ld(G->out[0], base + k, dt);
        for (int j = 1; j < size; j++) {
            v += ld(G->out[j], base + k, dt);
        }
        st(buf, base + k, v, dt);
    }
    return barrier(r, G, diag);
}

est_status rt_local_allgather(rt_rank *r, rt_group g, const void *in, void *out, size_t count,
                              rt_dtype dt, est_diag *diag)
{
    int size = rt_group_size(r, g);
    int me = rt_group_index(r, g);
    size_t bytes = count * rt_dsize(dt);
    if (size == 1 || r->solo) {
        for (int j = 0; j < size; j++) { /* solo: local copies of the same size */
            void *dst = (char *)out + (size_t)j * bytes;
            if (dst != in) {
                memmove(dst, in, bytes);
            }
        }
        return EST_OK;
    }
    lgroup *G = group_of(r, g);
    G->out[me] = out;
    est_status s = barrier(r, G, diag);
    if (s != EST_OK) {
        return s;
    }
    for (int j = 0; j < size; j++) {
        void *dst = (char *)G->out[j] + (size_t)me * bytes;
        if (dst != in) {
            memcpy(dst, in, bytes);
        }
    }
    return barrier(r, G, diag);
}

static int global_of_pp(const rt_rank *r, int peer_pp)
{
    return r->tp + r->T_ * (r->dp + r->D_ * peer_pp);
}

static est_status post_send(rt_rank *r, const rt_p2p_op *o, est_diag *diag)
{
    size_t bytes = o->n * rt_dsize(o->dt);
    msg *m = malloc(sizeof *m + bytes);
    if (!m) {
        return EST_FAIL(diag, EST_ENOMEM, "rank %d: host allocation of a %zu-byte message failed",
                        r->rank, bytes);
    }
    m->next = NULL;
    m->src = r->rank;
    m->tag = o->tag;
    m->n = bytes;
    memcpy(m->data, o->buf, bytes);
    mailbox *mb = &r->world->mbox[global_of_pp(r, o->peer)];
    pthread_mutex_lock(&mb->mu);
    msg **pp = &mb->head;
    while (*pp) {
        pp = &(*pp)->next;
    }
    *pp = m;
    pthread_cond_broadcast(&mb->cv);
    pthread_mutex_unlock(&mb->mu);
    return EST_OK;
}

/* the next message from the peer, in the order it was sent (NCCL's matching): its tag must be
   the one expected, or the schedules of the two ranks disagree on the order */
static est_status take_recv(rt_rank *r, const rt_p2p_op *o, est_diag *diag)
{
    size_t bytes = o->n * rt_dsize(o->dt);
    int src = global_of_pp(r, o->peer);
    mailbox *mb = &r->world->mbox[r->rank];
    pthread_mutex_lock(&mb->mu);
    msg *got = NULL;
    for (;;) {
        for (msg **pp = &mb->head; *pp; pp = &(*pp)->next) {
            if ((*pp)->src == src) {
                got = *pp;
                *pp = got->next;
                break;
            }
        }
        if (got || atomic_load(&r->world->aborted)) {
            break;
        }
        pthread_cond_wait(&mb->cv, &mb->mu);
    }
    pthread_mutex_unlock(&mb->mu);
    if (!got) {
        return aborted(r, diag);
    }
    est_status st = EST_OK;
    if (got->tag != o->tag) {
        st = EST_FAIL(diag, EST_EINVAL,
                      "pp: rank %d expected message tag %d from rank %d, the next one sent is tag "
                      "%d (NCCL pairs sends and receives in order)",
                      r->rank, o->tag, src, got->tag);
    } else if (got->n != bytes) {
        st = EST_FAIL(diag, EST_EINVAL, "pp: rank %d: message tag %d has %zu bytes, expected %zu",
                      r->rank, o->tag, got->n, bytes);
    } else {
        memcpy(o->buf, got->data, bytes);
    }
    free(got);
    return st;
}

/* a group: every send is posted (buffered in the peer's mailbox) before any receive waits, so the
   group cannot block on its own sends, as a NCCL group posts all its operations together */
est_status rt_local_p2p(rt_rank *r, const rt_p2p_op *ops, int n, est_diag *diag)
{
    if (r->solo) {
        for (int i = 0; i < n; i++) {
            if (!ops[i].send) {
                memset(ops[i].buf, 0, ops[i].n * rt_dsize(ops[i].dt));
            }
        }
        return EST_OK;
    }
    est_status st = EST_OK;
    for (int i = 0; i < n && st == EST_OK; i++) {
        if (ops[i].send) {
            st = post_send(r, &ops[i], diag);
        }
    }
    for (int i = 0; i < n && st == EST_OK; i++) {
        if (!ops[i].send) {
            st = take_recv(r, &ops[i], diag);
        }
    }
    return st;
}
