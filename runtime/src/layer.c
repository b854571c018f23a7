/* layer.c -- forward and backward of one transformer layer, the embedding and the head (final
 * norm, vocab-parallel output layer and cross-entropy) of one rank, with Megatron's tensor and
 * sequence parallelism spelled out: column-parallel qkv/fc read the full sequence (all-gathered
 * under SP), row-parallel attn-out/fc-proj produce partial sums that are all-reduced (or
 * reduce-scattered under SP) before their bias and the residual add.
 *
 * Shapes (llm.c style): N = B*T rows; Ns = N/t rows between ops under SP (the rank's contiguous
 * block of rows; every op between the linears is row-wise, so any row split is a valid SP split),
 * Ns = N otherwise. Backend-agnostic: every device op goes through r->be.
 */
#include "rt_internal.h"

#include <stdlib.h>

// ---------------------------------------------------------------------------
// activation layout of one layer: tensors in the compute type t, norm statistics and the
// log-sum-exp in fp32 (as Megatron/flash-attention keep them), each piece 256-byte aligned

typedef struct carver {
    char *p; /* NULL: only count */
    size_t bytes;
} carver;

static void *take(carver *k, size_t n, size_t esize)
{
    void *q = k->p ? k->p + k->bytes : NULL;
    k->bytes += rt_align_bytes(n * esize);
    return q;
}

/* carves (or, base == NULL, counts) one layer's stored activations: all of them, or only the
   input (full recompute) */
static size_t carve(const rt_dims *dm, rt_dtype t, bool stored_full, void *base, rt_lact *la)
{
    size_t Ns = (size_t)dm->Ns;
    size_t N = (size_t)dm->N;
    size_t C = (size_t)dm->C;
    size_t e = rt_dsize(t);
    size_t f = sizeof(float);
    size_t bnt = (size_t)dm->B * (size_t)dm->nq * (size_t)dm->T;
    carver k = {base, 0};
    rt_lact tmp;
    if (!la) {
        la = &tmp;
    }
    la->x = take(&k, Ns * C, e);
    if (!stored_full) {
        return k.bytes;
    }
    la->ln1 = take(&k, Ns * C, e);
    la->ln1m = dm->rms ? NULL : take(&k, Ns, f);
    la->ln1r = take(&k, Ns, f);
    la->qkv = take(&k, N * (size_t)dm->QKV, e);
    la->atty = take(&k, N * (size_t)dm->qd, e);
    la->lse = take(&k, bnt, f);
    la->att = dm->store_att ? take(&k, bnt * (size_t)dm->T, e) : NULL;
    la->x2 = take(&k, Ns * C, e);
    la->ln2 = take(&k, Ns * C, e);
    la->ln2m = dm->rms ? NULL : take(&k, Ns, f);
    la->ln2r = take(&k, Ns, f);
    la->fch = take(&k, N * (size_t)dm->Fin, e);
    la->fca = take(&k, N * (size_t)dm->F, e);
    return k.bytes;
}

size_t rt_layer_act_bytes(const rt_dims *dm, rt_dtype t, bool stored_full)
{
    return carve(dm, t, stored_full, NULL, NULL);
}

/* carves a full layer's activations from base (rt_layer_act_bytes(dm, t, true) bytes) */
void rt_lact_carve(const rt_dims *dm, rt_dtype t, void *base, rt_lact *la)
{
    carve(dm, t, true, base, la);
}

// ---------------------------------------------------------------------------
// parameter access

/* weights of tensor k of layer l (compute copy, r->adt) */
static void *P(rt_rank *r, const rt_chunk *c, int l, int k)
{
    if (c->toff[k] < 0) {
        return NULL;
    }
    return rt_elem(r->buf[c->buf].p, (size_t)(c->lay_off + (int64_t)l * c->lay_stride + c->toff[k]),
                   r->adt);
}

/* weights at offset off of buffer b */
static void *PB(rt_rank *r, int b, int64_t off)
{
    return off < 0 ? NULL : rt_elem(r->buf[b].p, (size_t)off, r->adt);
}

static float *G(rt_rank *r, const rt_chunk *c, int l, int k)
{
    if (c->toff[k] < 0) {
        return NULL;
    }
    return r->buf[c->buf].gw + c->lay_off + (int64_t)l * c->lay_stride + c->toff[k];
}

/* reduce a row-parallel partial (N, C) in full1: all-reduce, or reduce-scatter under SP.
   Returns the (Ns, C) result pointer. */
static est_status reduce_partial(rt_rank *r, void **out, est_diag *diag)
{
    const rt_dims *dm = &r->dm;
    if (dm->sp) {
        EST_TRY(rt_c_reduce_scatter(r, RT_G_TP, r->full1, (size_t)dm->Ns * dm->C, r->adt, diag));
        *out = rt_elem(r->full1, (size_t)r->tp * dm->Ns * dm->C, r->adt);
    } else {
        EST_TRY(
            rt_c_allreduce(r, RT_G_TP, r->full1, (size_t)dm->N * dm->C, r->adt, RT_OP_SUM, diag));
        *out = r->full1;
    }
    return EST_OK;
}

/* full-sequence view of an (Ns, C) tensor: itself, or all-gathered into `scratch` under SP */
static est_status gather_rows(rt_rank *r, const void *in, void *scratch, const void **out,
                              est_diag *diag)
{
    const rt_dims *dm = &r->dm;
    if (!dm->sp) {
        *out = in;
        return EST_OK;
    }
    EST_TRY(rt_c_allgather(r, RT_G_TP, in, scratch, (size_t)dm->Ns * dm->C, r->adt, diag));
    *out = scratch;
    return EST_OK;
}

// ---------------------------------------------------------------------------
// transformer layer

est_status rt_layer_fwd(rt_rank *r, const rt_chunk *c, int l, rt_lact *la, void *xout,
                        est_diag *diag)
{
    const rt_backend *be = r->be;
    const rt_dims *dm = &r->dm;
    int N = dm->N;
    int Ns = dm->Ns;
    int C = dm->C;
    const void *lnF;
    void *red;
    /* attention block */
    be->norm_fwd(r, la->ln1, la->ln1m, la->ln1r, la->x, P(r, c, l, RT_LN1W), P(r, c, l, RT_LN1B),
                 Ns, C, dm->rms);
    EST_TRY(gather_rows(r, la->ln1, r->full1, &lnF, diag));
    be->matmul_fwd(r, la->qkv, lnF, P(r, c, l, RT_QKVW), P(r, c, l, RT_QKVB), N, C, dm->QKV);
    if (dm->rope) {
        be->rope(r, la->qkv, dm->B, dm->T, dm->nq, dm->nkv, dm->d, false);
    }
    be->attn_fwd(r, la->atty, la->lse, la->att, la->qkv, dm->B, dm->T, dm->nq, dm->nkv, dm->d);
    be->matmul_fwd(r, r->full1, la->atty, P(r, c, l, RT_AOW), NULL, N, dm->qd, C);
    EST_TRY(reduce_partial(r, &red, diag));
    be->residual_fwd(r, la->x2, la->x, red, P(r, c, l, RT_AOB), Ns, C);
    /* MLP block */
    be->norm_fwd(r, la->ln2, la->ln2m, la->ln2r, la->x2, P(r, c, l, RT_LN2W), P(r, c, l, RT_LN2B),
                 Ns, C, dm->rms);
    EST_TRY(gather_rows(r, la->ln2, r->full1, &lnF, diag));
    be->matmul_fwd(r, la->fch, lnF, P(r, c, l, RT_FCW), P(r, c, l, RT_FCB), N, C, dm->Fin);
    be->act_fwd(r, la->fca, la->fch, N, dm->F, dm->act);
    be->matmul_fwd(r, r->full1, la->fca, P(r, c, l, RT_FPW), NULL, N, dm->F, C);
    EST_TRY(reduce_partial(r, &red, diag));
    be->residual_fwd(r, xout, la->x2, red, P(r, c, l, RT_FPB), Ns, C);
    return EST_OK;
}

/* on entry r->dres holds d(layer output) (Ns, C); on exit d(layer input) */
est_status rt_layer_bwd(rt_rank *r, const rt_chunk *c, int l, rt_lact *la, est_diag *diag)
{
    const rt_backend *be = r->be;
    const rt_dims *dm = &r->dm;
    int N = dm->N;
    int Ns = dm->Ns;
    int C = dm->C;
    const void *dyF;
    const void *lnF;
    void *dln;
    /* MLP block: x3 = x2 + fcproj(act(fc(ln2(x2)))) + b */
    if (G(r, c, l, RT_FPB)) {
        be->bias_bwd(r, G(r, c, l, RT_FPB), r->dres, Ns, C);
    }
    EST_TRY(gather_rows(r, r->dres, r->full1, &dyF, diag));
    be->matmul_bwd(r, r->dfca, G(r, c, l, RT_FPW), NULL, dyF, la->fca, P(r, c, l, RT_FPW), N, dm->F,
                   C);
    be->act_bwd(r, r->dfch, r->dfca, la->fch, N, dm->F, dm->act);
    EST_TRY(gather_rows(r, la->ln2, r->full2, &lnF, diag));
    be->matmul_bwd(r, r->full1, G(r, c, l, RT_FCW), G(r, c, l, RT_FCB), r->dfch, lnF,
                   P(r, c, l, RT_FCW), N, C, dm->Fin);
    EST_TRY(reduce_partial(r, &dln, diag));
    be->norm_bwd(r, r->dres, G(r, c, l, RT_LN2W), G(r, c, l, RT_LN2B), dln, la->x2,
                 P(r, c, l, RT_LN2W), la->ln2m, la->ln2r, Ns, C, dm->rms);
    /* attention block: x2 = x + attnout(attn(qkv(ln1(x)))) + b */
    if (G(r, c, l, RT_AOB)) {
        be->bias_bwd(r, G(r, c, l, RT_AOB), r->dres, Ns, C);
    }
    EST_TRY(gather_rows(r, r->dres, r->full1, &dyF, diag));
    be->matmul_bwd(r, r->datty, G(r, c, l, RT_AOW), NULL, dyF, la->atty, P(r, c, l, RT_AOW), N,
                   dm->qd, C);
    be->attn_bwd(r, r->dqkv, r->datty, la->qkv, la->atty, la->lse, la->att, dm->B, dm->T, dm->nq,
                 dm->nkv, dm->d);
    if (dm->rope) {
        be->rope(r, r->dqkv, dm->B, dm->T, dm->nq, dm->nkv, dm->d, true);
    }
    EST_TRY(gather_rows(r, la->ln1, r->full2, &lnF, diag));
    be->matmul_bwd(r, r->full1, G(r, c, l, RT_QKVW), G(r, c, l, RT_QKVB), r->dqkv, lnF,
                   P(r, c, l, RT_QKVW), N, C, dm->QKV);
    EST_TRY(reduce_partial(r, &dln, diag));
    be->norm_bwd(r, r->dres, G(r, c, l, RT_LN1W), G(r, c, l, RT_LN1B), dln, la->x,
                 P(r, c, l, RT_LN1W), la->ln1m, la->ln1r, Ns, C, dm->rms);
    return EST_OK;
}

// ---------------------------------------------------------------------------
// embedding: vocab-parallel lookup (all-reduce / reduce-scatter), then learned positions

est_status rt_embed_fwd(rt_rank *r, const rt_chunk *c, void *x0, est_diag *diag)
{
    const rt_backend *be = r->be;
    const rt_dims *dm = &r->dm;
    const void *wte = PB(r, c->wte_buf, c->wte_off);
    void *red;
    be->embed_fwd(r, r->full1, r->tok, wte, dm->N, dm->C, dm->voff, dm->V);
    if (r->T_ > 1) {
        EST_TRY(reduce_partial(r, &red, diag));
    } else {
        red = r->full1;
    }
    be->copy(r, x0, red, (size_t)dm->Ns * dm->C * rt_dsize(r->adt));
    if (c->wpe_off >= 0) {
        int row0 = dm->sp ? r->tp * dm->Ns : 0;
        be->pos_fwd(r, x0, PB(r, c->buf, c->wpe_off), dm->Ns, dm->T, dm->C, row0);
    }
    return EST_OK;
}

/* r->dres holds d(embedding output) (Ns, C) */
est_status rt_embed_bwd(rt_rank *r, const rt_chunk *c, est_diag *diag)
{
    const rt_backend *be = r->be;
    const rt_dims *dm = &r->dm;
    const void *dF;
    if (c->wpe_off >= 0) {
        int row0 = dm->sp ? r->tp * dm->Ns : 0;
        be->pos_bwd(r, r->buf[c->buf].gw + c->wpe_off, r->dres, dm->Ns, dm->T, dm->C, row0);
    }
    EST_TRY(gather_rows(r, r->dres, r->full1, &dF, diag));
    be->embed_bwd(r, r->buf[c->wte_buf].gw + c->wte_off, dF, r->tok, dm->N, dm->C, dm->voff, dm->V);
    return EST_OK;
}

// ---------------------------------------------------------------------------
// head: final norm, vocab-parallel logits and cross-entropy (Megatron _VocabParallelCrossEntropy)

est_status rt_head_fwd(rt_rank *r, const rt_chunk *c, rt_act *a, est_diag *diag)
{
    const rt_backend *be = r->be;
    const rt_dims *dm = &r->dm;
    const void *lnF;
    int N = dm->N;
    be->norm_fwd(r, a->lnf, a->lnfm, a->lnfr, a->xout, PB(r, c->buf, c->lnfw_off),
                 PB(r, c->buf, c->lnfb_off), dm->Ns, dm->C, dm->rms);
    EST_TRY(gather_rows(r, a->lnf, r->full1, &lnF, diag));
    be->matmul_fwd(r, a->logits, lnF, PB(r, c->head_buf, c->head_off), NULL, N, dm->C, dm->V);
    be->ce_max(r, r->mx, a->logits, N, dm->V);
    EST_TRY(rt_c_allreduce(r, RT_G_TP, r->mx, (size_t)N, RT_F32, RT_OP_MAX, diag));
    be->ce_partial(r, r->stats, a->logits, r->mx, r->tgt, N, dm->V, dm->voff);
    EST_TRY(rt_c_allreduce(r, RT_G_TP, r->stats, 2 * (size_t)N, RT_F32, RT_OP_SUM, diag));
    be->ce_finish(r, a->probs, r->losses, r->stats, r->mx, a->logits, N, dm->V);
    be->to_host(r, r->host_losses, r->losses, (size_t)N * sizeof(float));
    double s = 0.0;
    for (int n = 0; n < N; n++) {
        s += r->host_losses[n];
    }
    r->loss_sum += s / N;
    return EST_OK;
}

/* leaves d(chunk output) in r->dres */
est_status rt_head_bwd(rt_rank *r, const rt_chunk *c, rt_act *a, est_diag *diag)
{
    const rt_backend *be = r->be;
    const rt_dims *dm = &r->dm;
    rt_pbuf *b = &r->buf[c->buf];
    const void *lnF;
    void *dln;
    int N = dm->N;
    /* d(mean over the global batch) / d(logit): 1 / (N tokens * M micro-batches * dp) */
    float scale = (float)(1.0 / ((double)N * r->M * r->D_));
    be->ce_bwd(r, a->logits, a->probs, r->tgt, N, dm->V, dm->voff, scale);
    EST_TRY(gather_rows(r, a->lnf, r->full2, &lnF, diag));
    be->matmul_bwd(r, r->full1, r->buf[c->head_buf].gw + c->head_off, NULL, a->logits, lnF,
                   PB(r, c->head_buf, c->head_off), N, dm->C, dm->V);
    if (r->T_ > 1) {
        EST_TRY(reduce_partial(r, &dln, diag));
    } else {
        dln = r->full1;
    }
    be->zero(r, r->dres, (size_t)dm->Ns * dm->C * rt_dsize(r->adt));
    be->norm_bwd(r, r->dres, b->gw + c->lnfw_off, c->lnfb_off >= 0 ? b->gw + c->lnfb_off : NULL,
                 dln, a->xout, PB(r, c->buf, c->lnfw_off), a->lnfm, a->lnfr, dm->Ns, dm->C,
                 dm->rms);
    return EST_OK;
}
