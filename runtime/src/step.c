/* step.c -- one rank's training step: run the pipeline schedule (forward and backward passes of
 * its chunks, with send/recv between stages), then reduce gradients (DP all-reduce, or ZeRO
 * reduce-scatter; SP's replicated-parameter TP all-reduce; the tied-embedding sync between the
 * first and last stage), AdamW on the held shard, and the ZeRO parameter all-gather.
 *
 * Memory: parameter buffers at setup (model.c); per rank scratch once; per (chunk, micro-batch)
 * one activation slab allocated by its forward and freed by its backward, so the high-water mark
 * follows the schedule's micro-batches in flight. ZeRO-2 keeps only the gradient shard; a chunk's
 * full gradient exists only during one backward pass (reduce-scattered right after).
 * Timing: compute of an F/B op excludes the communication inside it (comm.c charges that).
 */
#include "rt_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// ---------------------------------------------------------------------------
// data: token of sequence `seq` at position `pos` is a hash (same for every layout)

static int token_at(uint64_t seed, int64_t seq, int64_t pos, int64_t T, int64_t vocab)
{
    uint64_t x = (seed ^ 0xA5A5A5A5ull) + (uint64_t)(seq * (T + 1) + pos) * 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    x ^= x >> 31;
    return (int)(x % (uint64_t)vocab);
}

/* tokens and next-token targets of micro-batch mb of this DP rank in the current step */
static void load_batch(rt_rank *r, int mb)
{
    const rt_dims *dm = &r->dm;
    int64_t gbs = r->cfg->par.gbs;
    int64_t v = r->cfg->model->vocab;
    for (int b = 0; b < dm->B; b++) {
        int64_t seq =
            (int64_t)r->step * gbs + (int64_t)r->dp * r->M * dm->B + (int64_t)mb * dm->B + b;
        for (int t = 0; t < dm->T; t++) {
            r->host_tok[b * dm->T + t] = token_at(r->opt->seed, seq, t, dm->T, v);
            r->host_tok[dm->N + b * dm->T + t] = token_at(r->opt->seed, seq, t + 1, dm->T, v);
        }
    }
    r->be->to_dev(r, r->tok, r->host_tok, (size_t)dm->N * sizeof(int));
    r->be->to_dev(r, r->tgt, r->host_tok + dm->N, (size_t)dm->N * sizeof(int));
}

// ---------------------------------------------------------------------------
// activation slabs

static bool recomputed(const rt_rank *r, int l)
{
    const est_parallel *p = &r->cfg->par;
    if (p->recompute != EST_RECOMPUTE_FULL) {
        return false;
    }
    return p->recompute_layers <= 0 || l < p->recompute_layers;
}

/* bytes of the (Ns, C) residual-stream tensor in the compute type */
static size_t xs_bytes(const rt_rank *r)
{
    return (size_t)r->dm.Ns * (size_t)r->dm.C * rt_dsize(r->adt);
}

/* the head's stored tensors: chunk output and final-norm output (adt), mean and rstd (fp32) */
static size_t head_bytes(const rt_rank *r)
{
    size_t Ns = (size_t)r->dm.Ns;
    size_t f = sizeof(float);
    return 2 * rt_align_bytes(xs_bytes(r)) + (r->dm.rms ? 0 : rt_align_bytes(Ns * f)) +
           rt_align_bytes(Ns * f);
}

static size_t slab_bytes(const rt_rank *r, const rt_chunk *c)
{
    size_t n = 0;
    for (int l = 0; l < c->nl; l++) {
        n += rt_layer_act_bytes(&r->dm, r->adt, !recomputed(r, l));
    }
    return n + (c->last ? head_bytes(r) : 0);
}

/* pointers of layer l of chunk c in slab a (recomputed layers point into r->recomp) */
static void lact_get(rt_rank *r, const rt_chunk *c, rt_act *a, int l, rt_lact *la)
{
    (void)c;
    char *p = a->slab;
    for (int j = 0; j < l; j++) {
        p += rt_layer_act_bytes(&r->dm, r->adt, !recomputed(r, j));
    }
    if (recomputed(r, l)) {
        rt_lact_carve(&r->dm, r->adt, r->recomp, la);
        la->x = p;
    } else {
        rt_lact_carve(&r->dm, r->adt, p, la);
    }
}

static void head_carve(rt_rank *r, const rt_chunk *c, rt_act *a)
{
    char *p = a->slab;
    for (int j = 0; j < c->nl; j++) {
        p += rt_layer_act_bytes(&r->dm, r->adt, !recomputed(r, j));
    }
    size_t Ns = (size_t)r->dm.Ns;
    a->xout = p;
    p += rt_align_bytes(xs_bytes(r));
    a->lnf = p;
    p += rt_align_bytes(xs_bytes(r));
    a->lnfm = r->dm.rms ? NULL : (float *)p;
    p += r->dm.rms ? 0 : rt_align_bytes(Ns * sizeof(float));
    a->lnfr = (float *)p;
}

/* logits (N, V): in the compute type, plus the fp32 softmax under bf16 (Megatron's vocab-parallel
   cross-entropy keeps both: 2 + 4 bytes per logit); one fp32 buffer under fp32 */
static est_status alloc_logits(rt_rank *r, rt_act *a, est_diag *diag)
{
    size_t nv = (size_t)r->dm.N * (size_t)r->dm.V;
    size_t lb = rt_align_bytes(nv * rt_dsize(r->adt));
    a->logits_bytes = r->adt == RT_F32 ? lb : lb + nv * sizeof(float);
    EST_TRY(rt_alloc(r, EST_MEM_LOGITS, a->logits_bytes, "logits", &a->logits, diag));
    a->probs = r->adt == RT_F32 ? (float *)a->logits : (float *)((char *)a->logits + lb);
    return EST_OK;
}

// ---------------------------------------------------------------------------
// pipeline transfers: batched into groups where the schedule pairs them (rt_sched_groups)

/* the sends of the ops since the last group, waiting for the next one */
typedef struct p2p_batch {
    rt_p2p_op op[8];
    int n;
    rt_act *sent_xout[4]; /* forward outputs freed once their group has run */
    int nxout;
} p2p_batch;

static void batch_add(rt_rank *r, p2p_batch *b, const rt_p2p_msg *m, void *buf)
{
    size_t xs = (size_t)r->dm.Ns * (size_t)r->dm.C;
    b->op[b->n++] = (rt_p2p_op){
        m->send, m->peer, buf, xs, r->adt, rt_sched_tag(r->P_, r->V_, m->fwd, m->mb, m->vstage)};
}

/* posts a group: receives before sends, activations before gradients (the order the receiving
   rank posts the matching operations in: NCCL pairs the n-th send with the n-th receive) */
static est_status batch_post(rt_rank *r, p2p_batch *b, est_diag *diag)
{
    for (int i = 1; i < b->n; i++) {
        for (int j = i; j > 0; j--) {
            rt_p2p_op *x = &b->op[j - 1];
            rt_p2p_op *y = &b->op[j];
            int kx = (x->send ? 2 : 0) + (x->tag & 1);
            int ky = (y->send ? 2 : 0) + (y->tag & 1);
            if (kx <= ky) {
                break;
            }
            rt_p2p_op t = *x;
            *x = *y;
            *y = t;
        }
    }
    est_status st = rt_c_p2p(r, b->op, b->n, diag);
    for (int i = 0; i < b->nxout; i++) {
        rt_free(r, EST_MEM_ACTIVATIONS, b->sent_xout[i]->xout, xs_bytes(r));
        b->sent_xout[i]->xout = NULL;
    }
    b->n = 0;
    b->nxout = 0;
    return st;
}

// ---------------------------------------------------------------------------
// forward and backward passes of one (chunk, micro-batch)

/* before the group that receives its input: the activation slab (layer 0's input is the
   receive buffer) and the pipeline output */
static est_status fwd_prepare(rt_rank *r, const rt_sched_op *op, p2p_batch *b, est_diag *diag)
{
    const rt_chunk *c = &r->chunk[op->chunk];
    rt_act *a = &r->acts[op->chunk * r->M + op->mb];
    char what[96];
    snprintf(what, sizeof what, "activations of chunk %d, micro-batch %d", op->chunk, op->mb);
    a->bytes = slab_bytes(r, c);
    EST_TRY(rt_alloc(r, EST_MEM_ACTIVATIONS, a->bytes, what, &a->slab, diag));
    if (c->last) {
        head_carve(r, c, a);
    } else {
        EST_TRY(rt_alloc(r, EST_MEM_ACTIVATIONS, xs_bytes(r), "pipeline output", &a->xout, diag));
    }
    rt_p2p_msg rv;
    rt_p2p_msg sd;
    rt_sched_msgs(r->P_, r->V_, r->pp, op, &rv, &sd);
    if (rv.valid) {
        rt_lact la;
        lact_get(r, c, a, 0, &la);
        batch_add(r, b, &rv, la.x);
    }
    return EST_OK;
}

static est_status op_fwd(rt_rank *r, const rt_sched_op *op, p2p_batch *sends, est_diag *diag)
{
    const rt_chunk *c = &r->chunk[op->chunk];
    rt_act *a = &r->acts[op->chunk * r->M + op->mb];
    if (c->first || c->last) {
        load_batch(r, op->mb);
    }
    rt_lact la;
    lact_get(r, c, a, 0, &la);
    if (c->first) {
        EST_TRY(rt_embed_fwd(r, c, la.x, diag));
    }
    for (int l = 0; l < c->nl; l++) {
        rt_lact nx;
        void *out = a->xout;
        if (l + 1 < c->nl) {
            lact_get(r, c, a, l + 1, &nx);
            out = nx.x;
        }
        lact_get(r, c, a, l, &la);
        EST_TRY(rt_layer_fwd(r, c, l, &la, out, diag));
    }
    if (c->last) {
        EST_TRY(alloc_logits(r, a, diag));
        EST_TRY(rt_head_fwd(r, c, a, diag));
        return EST_OK;
    }
    rt_p2p_msg rv;
    rt_p2p_msg sd;
    rt_sched_msgs(r->P_, r->V_, r->pp, op, &rv, &sd);
    batch_add(r, sends, &sd, a->xout); /* sent by the next group, freed after it */
    sends->sent_xout[sends->nxout++] = a;
    return EST_OK;
}

/* buffers a chunk's backward writes gradients to */
static int chunk_bufs(const rt_chunk *c, int *ids)
{
    int n = 0;
    ids[n++] = c->buf;
    if (c->first && c->wte_buf != c->buf) {
        ids[n++] = c->wte_buf;
    }
    if (c->last && c->head_buf != c->buf && (n < 2 || ids[1] != c->head_buf)) {
        ids[n++] = c->head_buf;
    }
    return n;
}

/* before the group: the gradient of the chunk output arrives in r->dres */
static void bwd_prepare(rt_rank *r, const rt_sched_op *op, p2p_batch *b)
{
    rt_p2p_msg rv;
    rt_p2p_msg sd;
    rt_sched_msgs(r->P_, r->V_, r->pp, op, &rv, &sd);
    if (rv.valid) {
        batch_add(r, b, &rv, r->dres);
    }
}

static est_status op_bwd(rt_rank *r, const rt_sched_op *op, p2p_batch *sends, est_diag *diag)
{
    int ci = op->chunk;
    int mb = op->mb;
    const rt_chunk *c = &r->chunk[ci];
    rt_act *a = &r->acts[ci * r->M + mb];
    bool zero2 = r->cfg->par.zero >= 2;
    int ids[3];
    int nb = chunk_bufs(c, ids);
    if (zero2) {
        for (int i = 0; i < nb; i++) {
            rt_pbuf *b = &r->buf[ids[i]];
            EST_TRY(rt_alloc(r, EST_MEM_GRADIENTS, (size_t)b->n * sizeof(float),
                             "gradients (ZeRO-2 bucket)", (void **)&b->gw, diag));
            r->be->zero(r, b->gw, (size_t)b->n * sizeof(float));
        }
    }
    if (c->first || c->last) {
        load_batch(r, mb);
    }
    if (c->last) {
        EST_TRY(rt_head_bwd(r, c, a, diag));
        rt_free(r, EST_MEM_LOGITS, a->logits, a->logits_bytes);
        a->logits = NULL;
        a->probs = NULL;
    }
    for (int l = c->nl - 1; l >= 0; l--) {
        rt_lact la;
        lact_get(r, c, a, l, &la);
        if (recomputed(r, l)) {
            void *tmp = (char *)r->recomp + r->recomp_bytes - rt_align_bytes(xs_bytes(r));
            EST_TRY(rt_layer_fwd(r, c, l, &la, tmp, diag));
        }
        EST_TRY(rt_layer_bwd(r, c, l, &la, diag));
    }
    if (c->first) {
        EST_TRY(rt_embed_bwd(r, c, diag));
    } else { /* the input gradient waits in dsend for the next group; dres receives the next */
        void *t = r->dres;
        r->dres = r->dsend;
        r->dsend = t;
        rt_p2p_msg rv;
        rt_p2p_msg sd;
        rt_sched_msgs(r->P_, r->V_, r->pp, op, &rv, &sd);
        batch_add(r, sends, &sd, r->dsend);
    }
    rt_free(r, EST_MEM_ACTIVATIONS, a->slab, a->bytes);
    a->slab = NULL;
    if (zero2) {
        for (int i = 0; i < nb; i++) {
            rt_pbuf *b = &r->buf[ids[i]];
            size_t part = (size_t)(b->n / r->D_);
            EST_TRY(rt_c_reduce_scatter(r, RT_G_DP, b->gw, part, RT_F32, diag));
            r->be->add(r, b->g, b->gw + (size_t)r->dp * part, part);
            rt_free(r, EST_MEM_GRADIENTS, b->gw, (size_t)b->n * sizeof(float));
            b->gw = NULL;
        }
    }
    return EST_OK;
}

/* the schedule with its transfers: at each group, the receives of the ops up to the next group
   (their buffers allocated first) and the sends of the ops since the last one */
static est_status run_schedule(rt_rank *r, est_diag *diag)
{
    p2p_batch sends;
    memset(&sends, 0, sizeof sends);
    for (int k = 0; k < r->nops; k++) {
        const rt_sched_op *op = &r->ops[k];
        if (r->p2p_before[k]) {
            for (int j = k; j < r->nops && (j == k || !r->p2p_before[j]); j++) {
                rt_phase(r, r->ops[j].fwd ? RT_T_FORWARD : RT_T_BACKWARD);
                if (r->ops[j].fwd) {
                    EST_TRY(fwd_prepare(r, &r->ops[j], &sends, diag));
                } else {
                    bwd_prepare(r, &r->ops[j], &sends);
                }
            }
            EST_TRY(batch_post(r, &sends, diag));
        }
        rt_phase(r, op->fwd ? RT_T_FORWARD : RT_T_BACKWARD);
        EST_TRY(op->fwd ? op_fwd(r, op, &sends, diag) : op_bwd(r, op, &sends, diag));
    }
    return batch_post(r, &sends, diag);
}

// ---------------------------------------------------------------------------
// gradient reduction, optimizer, capture

/* held gradients of b, indexed from b->lo */
static float *held_grads(const rt_rank *r, rt_pbuf *b)
{
    return r->cfg->par.zero >= 2 ? b->g : b->g + b->lo;
}

static est_status reduce_grads(rt_rank *r, est_diag *diag)
{
    int zero = r->cfg->par.zero;
    for (int i = 0; i < r->nbuf; i++) {
        rt_pbuf *b = &r->buf[i];
        if (zero == 0) {
            EST_TRY(rt_c_allreduce(r, RT_G_DP, b->g, (size_t)b->n, RT_F32, RT_OP_SUM, diag));
        } else if (zero == 1) {
            EST_TRY(rt_c_reduce_scatter(r, RT_G_DP, b->g, (size_t)(b->n / r->D_), RT_F32, diag));
        }
        float *gh = held_grads(r, b);
        if (r->dm.sp) { /* Megatron allreduce_layernorm_grads: SP-replicated params */
            for (int k = 0; k < b->nt; k++) {
                const rt_tensor *t = &b->t[k];
                int64_t s = t->off > b->lo ? t->off : b->lo;
                int64_t e = t->off + t->n < b->hi ? t->off + t->n : b->hi;
                if (t->tp_repl && e > s) {
                    EST_TRY(rt_c_allreduce(r, RT_G_TP, gh + (s - b->lo), (size_t)(e - s), RT_F32,
                                           RT_OP_SUM, diag));
                }
            }
        }
        if (b->is_wte) { /* Megatron _allreduce_word_embedding_grads */
            EST_TRY(
                rt_c_allreduce(r, RT_G_EMB, gh, (size_t)(b->hi - b->lo), RT_F32, RT_OP_SUM, diag));
        }
    }
    return EST_OK;
}

static void capture(rt_rank *r, rt_pbuf *b, const float *dev, int64_t lo, int64_t hi, float *outv,
                    est_status *st)
{
    float *host = malloc((size_t)(hi - lo) * sizeof *host + 1);
    if (!host) {
        *st = EST_ENOMEM;
        return;
    }
    r->be->to_host(r, host, dev, (size_t)(hi - lo) * sizeof *host);
    for (int k = 0; k < b->nt; k++) {
        const rt_tensor *t = &b->t[k];
        if (!t->writer) {
            continue;
        }
        for (int64_t i = 0; i < t->n; i++) {
            int64_t at = t->off + i;
            int64_t ci = rt_canon_index(&t->desc, r->tp, i);
            if (at >= lo && at < hi && ci < t->canon_n) { /* padded vocabulary rows: not output */
                outv[t->canon_off + ci] = host[at - lo];
            }
        }
    }
    free(host);
}

static est_status optimizer(rt_rank *r, bool last_step, est_diag *diag)
{
    const rt_options *o = r->opt;
    int zero = r->cfg->par.zero;
    est_status cst = EST_OK;
    for (int i = 0; i < r->nbuf; i++) {
        rt_pbuf *b = &r->buf[i];
        float *gh = held_grads(r, b);
        bool holder = !r->solo && (zero > 0 || r->dp == 0); /* one writer per element */
        if (last_step && o->grads_out && holder) {
            rt_phase(r, RT_T_COUNT);
            capture(r, b, gh, b->lo, b->hi, o->grads_out, &cst);
        }
        rt_phase(r, RT_T_OPTIMIZER);
        r->be->adamw(r, b->master, gh, b->m, b->v,
                     r->adt == RT_F32 ? NULL : rt_elem(b->p, (size_t)b->lo, r->adt),
                     (size_t)(b->hi - b->lo), (float)o->lr, (float)o->beta1, (float)o->beta2,
                     (float)o->eps, (float)o->weight_decay, r->step + 1);
        if (zero >= 1) { /* Megatron's distributed optimizer gathers the compute-type params */
            EST_TRY(rt_c_allgather(r, RT_G_DP, rt_elem(b->p, (size_t)b->lo, r->adt), b->p,
                                   (size_t)(b->n / r->D_), r->adt, diag));
        }
        size_t gn = zero >= 2 ? (size_t)(b->hi - b->lo) : (size_t)b->n;
        r->be->zero(r, b->g, gn * sizeof(float));
        if (last_step && o->params_out && holder) { /* the fp32 master weights */
            rt_phase(r, RT_T_COUNT);
            capture(r, b, b->master, b->lo, b->hi, o->params_out, &cst);
        }
    }
    if (cst != EST_OK) {
        return EST_FAIL(diag, cst, "rank %d: host allocation for a capture failed", r->rank);
    }
    return EST_OK;
}

// ---------------------------------------------------------------------------
// setup, train, teardown

static est_status alloc_scratch(rt_rank *r, est_diag *diag)
{
    const rt_dims *dm = &r->dm;
    size_t N = (size_t)dm->N;
    size_t C = (size_t)dm->C;
    size_t e = rt_dsize(r->adt);
    size_t f = sizeof(float);
    bool last = r->chunk[r->nchunks - 1].last;
    size_t full = rt_align_bytes(N * C * e);
    size_t n_comm = 2 * full;
    size_t n_logit =
        last ? rt_align_bytes(N * f) + rt_align_bytes(2 * N * f) + rt_align_bytes(N * f) : 0;
    /* gradients, tokens, targets; with pp > 1 a second residual-gradient buffer holds the
       input gradient being sent while the next one is received (Megatron's input_tensor_grad
       beside output_tensor_grad) */
    size_t ws[8] = {rt_align_bytes((size_t)dm->Ns * C * e),
                    rt_align_bytes(N * dm->QKV * e),
                    rt_align_bytes(N * dm->qd * e),
                    rt_align_bytes(N * dm->Fin * e),
                    rt_align_bytes(N * dm->F * e),
                    rt_align_bytes(N * sizeof(int)),
                    rt_align_bytes(N * sizeof(int)),
                    r->P_ > 1 ? rt_align_bytes((size_t)dm->Ns * C * e) : 0};
    size_t n_ws = 0;
    for (int i = 0; i < 8; i++) {
        n_ws += ws[i];
    }
    r->recomp_bytes = 0;
    if (r->cfg->par.recompute == EST_RECOMPUTE_FULL) {
        r->recomp_bytes = rt_layer_act_bytes(dm, r->adt, true) + rt_align_bytes(xs_bytes(r));
    }
    size_t want[EST_MEM_GROUP_COUNT] = {0};
    want[EST_MEM_COMM] = n_comm;
    want[EST_MEM_LOGITS] = n_logit;
    want[EST_MEM_WORKSPACE] = n_ws;
    want[EST_MEM_ACTIVATIONS] = r->recomp_bytes;
    const char *names[EST_MEM_GROUP_COUNT] = {0};
    names[EST_MEM_COMM] = "TP gather/partial-sum buffers";
    names[EST_MEM_LOGITS] = "cross-entropy buffers";
    names[EST_MEM_WORKSPACE] = "backward workspace";
    names[EST_MEM_ACTIVATIONS] = "full-recompute layer buffer";
    for (int g = 0; g < EST_MEM_GROUP_COUNT; g++) {
        if (want[g] == 0) {
            continue;
        }
        r->scratch_bytes[g] = want[g];
        EST_TRY(rt_alloc(r, (est_mem_group)g, r->scratch_bytes[g], names[g], &r->scratch_slab[g],
                         diag));
    }
    char *p = r->scratch_slab[EST_MEM_COMM];
    r->full1 = p;
    r->full2 = p + full;
    if (last) {
        p = r->scratch_slab[EST_MEM_LOGITS];
        r->mx = (float *)p;
        r->stats = (float *)(p + rt_align_bytes(N * f));
        r->losses = (float *)(p + rt_align_bytes(N * f) + rt_align_bytes(2 * N * f));
    }
    p = r->scratch_slab[EST_MEM_WORKSPACE];
    void **dst[5] = {&r->dres, &r->dqkv, &r->datty, &r->dfch, &r->dfca};
    for (int i = 0; i < 5; i++) {
        *dst[i] = p;
        p += ws[i];
    }
    r->tok = (int *)p;
    r->tgt = (int *)(p + ws[5]);
    r->dsend = ws[7] > 0 ? p + ws[5] + ws[6] : NULL;
    r->recomp = r->scratch_slab[EST_MEM_ACTIVATIONS];
    return EST_OK;
}

est_status rt_rank_setup(rt_rank *r, est_diag *diag)
{
    rt_dims_init(r);
    r->phase = RT_T_COUNT;
    for (int i = 0; i < RT_T_COUNT; i++) {
        r->time_measured[i] = true;
    }
    EST_TRY(rt_model_layout(r, diag));
    EST_TRY(alloc_scratch(r, diag));
    size_t N = (size_t)r->dm.N;
    r->host_losses = malloc(N * sizeof *r->host_losses);
    r->host_tok = malloc(2 * N * sizeof *r->host_tok);
    r->acts = calloc((size_t)r->nchunks * (size_t)r->M, sizeof *r->acts);
    r->nops = rt_sched_count(r->P_, r->V_, r->M);
    r->ops = malloc((size_t)r->nops * sizeof *r->ops);
    r->loss_per_step = calloc((size_t)r->opt->steps, sizeof *r->loss_per_step);
    r->p2p_before = calloc((size_t)r->nops, sizeof *r->p2p_before);
    if (!r->host_losses || !r->host_tok || !r->acts || !r->ops || !r->loss_per_step ||
        !r->p2p_before) {
        return EST_FAIL(diag, EST_ENOMEM, "rank %d: host allocation failed", r->rank);
    }
    EST_TRY(rt_sched_build(r->P_, r->V_, r->pp, r->M, r->ops, r->nops, diag));
    rt_sched_groups(r->P_, r->V_, r->ops, r->nops, r->p2p_before);
    return EST_OK;
}

est_status rt_rank_train(rt_rank *r, est_diag *diag)
{
    int steps = r->opt->steps;
    r->timed_steps = 0;
    for (r->step = 0; r->step < steps; r->step++) {
        if (r->step == 1) { /* the first step warms up; time the rest */
            for (int i = 0; i < RT_T_COUNT; i++) {
                r->time_acc[i] = 0.0;
            }
            r->timed_steps = 0;
        }
        double t_step = r->be->clock(r);
        double before[RT_T_COUNT];
        memcpy(before, r->time_acc, sizeof before);
        r->loss_sum = 0.0;
        EST_TRY(run_schedule(r, diag));
        rt_phase(r, RT_T_COUNT);
        EST_TRY(reduce_grads(r, diag));
        EST_TRY(optimizer(r, r->step == steps - 1, diag));
        rt_phase_flush(r); /* one wait per step: sums the phase segments */
        if (r->kst != EST_OK) {
            return EST_FAIL(diag, r->kst, "rank %d: a %s kernel failed in step %d%s", r->rank,
                            r->be->name, r->step,
                            r->kst == EST_ENOMEM ? " (host memory for bf16 emulation)" : "");
        }
        double wall = r->be->clock(r) - t_step;
        if (r->solo) { /* compute measured + communication modelled, serialised; no bubble */
            wall = 0.0;
            for (int p = RT_T_FORWARD; p < RT_T_STEP; p++) {
                wall += r->time_acc[p] - before[p];
            }
            r->time_measured[RT_T_STEP] = false;
        }
        r->time_acc[RT_T_STEP] += wall;
        r->timed_steps++;
        bool reporter = r->chunk[r->nchunks - 1].last && r->tp == 0;
        r->loss_per_step[r->step] = reporter ? r->loss_sum : 0.0;
    }
    return EST_OK;
}

void rt_rank_teardown(rt_rank *r)
{
    if (r->acts) {
        for (int i = 0; i < r->nchunks * r->M; i++) {
            rt_act *a = &r->acts[i];
            rt_free(r, EST_MEM_ACTIVATIONS, a->slab, a->bytes);
            rt_free(r, EST_MEM_LOGITS, a->logits, a->logits_bytes);
            if (a->xout && !r->chunk[i / r->M].last) {
                rt_free(r, EST_MEM_ACTIVATIONS, a->xout, xs_bytes(r));
            }
        }
    }
    for (int i = 0; i < r->nbuf; i++) {
        if (r->cfg->par.zero >= 2 && r->buf[i].gw) {
            rt_free(r, EST_MEM_GRADIENTS, r->buf[i].gw, (size_t)r->buf[i].n * sizeof(float));
        }
    }
    for (int g = 0; g < EST_MEM_GROUP_COUNT; g++) {
        rt_free(r, (est_mem_group)g, r->scratch_slab[g], r->scratch_bytes[g]);
        r->scratch_slab[g] = NULL;
    }
    rt_model_free(r);
    free(r->acts);
    free(r->ops);
    free(r->host_losses);
    free(r->host_tok);
    free(r->loss_per_step);
    free(r->p2p_before);
    r->p2p_before = NULL;
    r->acts = NULL;
    r->ops = NULL;
    r->host_losses = NULL;
    r->host_tok = NULL;
    r->loss_per_step = NULL;
}
