/* model.c -- parameter layout of one rank: which tensors it holds (its TP shard of every layer of
 * its pipeline chunks, the embedding on the first stage, the head on the last), how each local
 * element maps to the canonical TP=1 model, DP/ZeRO sharding of the flat buffers, and the
 * deterministic initialisation (every value is a hash of the seed and its canonical index, so any
 * layout of the same model starts from the same weights).
 *
 * Canonical layout (rt_canonical_size; element counts agree with est_model_params):
 *   wte (v, h) | wpe (max_positions, h) learned only | L x layer |
 *   lnf w (h), b (h) LayerNorm only | lm_head (v, h) untied only
 * layer: ln1 w (h), b | qkv w (a*d + 2*g*d, h) rows [Q | K | V] | qkv b |
 *   attn out w (h, a*d) | b (h) |
 *   ln2 w, b | fc w (f or 2f, h) rows [gate | up] when gated | fc b | fc proj w (h, f) | b (h)
 * Megatron TP: qkv and fc are column-parallel (each of Q, K, V / gate, up split by heads / rows),
 * attn out and fc proj row-parallel, wte and lm_head vocab-parallel; norms, wpe and row-parallel
 * biases replicated.
 */
#include "rt_internal.h"
#include "rt_bf16.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// ---------------------------------------------------------------------------
// shapes

void rt_dims_init(rt_rank *r)
{
    const est_model *m = r->cfg->model;
    const est_parallel *p = &r->cfg->par;
    rt_dims *d = &r->dm;
    int t = p->tp;
    d->B = (int)p->mbs;
    d->T = (int)p->seq;
    d->N = d->B * d->T;
    d->sp = p->sp && t > 1;
    d->Ns = d->sp ? d->N / t : d->N;
    d->C = (int)m->hidden;
    d->nq = (int)(m->heads / t);
    d->nkv = (int)(m->kv_heads / t);
    d->d = (int)m->head_dim;
    d->qd = d->nq * d->d;
    d->kvd = d->nkv * d->d;
    d->QKV = d->qd + 2 * d->kvd;
    d->gated = m->act != EST_ACT_GELU;
    d->act = d->gated ? RT_ACT_SWIGLU : RT_ACT_GELU;
    d->F = (int)(m->ffn / t);
    d->Fin = d->gated ? 2 * d->F : d->F;
    d->V = (int)(rt_padded_vocab(r->cfg) / t);
    d->voff = r->tp * d->V;
    d->maxpos = m->pos == EST_POS_LEARNED ? (int)m->max_positions : 0;
    d->rms = m->norm == EST_NORM_RMSNORM;
    d->rope = m->pos == EST_POS_ROPE;
    d->store_att = p->attention == EST_ATTN_STANDARD && p->recompute == EST_RECOMPUTE_NONE;
}

static rt_tdesc desc1(int64_t rows, int64_t lrows, int64_t cols, int64_t lcols)
{
    rt_tdesc d;
    memset(&d, 0, sizeof d);
    d.nparts = 1;
    d.crow[0] = rows;
    d.lrow[0] = lrows;
    d.ccol = cols;
    d.lcol = lcols;
    return d;
}

int64_t rt_padded_vocab(const est_config *cfg)
{
    int64_t mult = (cfg->par.vocab_divisor > 0 ? cfg->par.vocab_divisor : 1) * cfg->par.tp;
    return (cfg->model->vocab + mult - 1) / mult * mult;
}

/* descriptor of tensor `kind` of model m under tp, the vocabulary tensors with vrows rows (the
   padded vocabulary; m->vocab in the canonical layout); false if the model has no such tensor */
static bool tensor_desc(const est_model *m, int tp, int64_t vrows, int kind, rt_tdesc *out)
{
    int64_t h = m->hidden;
    int64_t QD = m->heads * m->head_dim;
    int64_t KVD = m->kv_heads * m->head_dim;
    int64_t f = m->ffn;
    bool ln = m->norm == EST_NORM_LAYERNORM;
    bool gated = m->act != EST_ACT_GELU;
    switch (kind) {
    case RT_LN1W:
    case RT_LN2W:
    case RT_LNFW: *out = desc1(h, h, 1, 1); return true;
    case RT_LN1B:
    case RT_LN2B:
    case RT_LNFB: *out = desc1(h, h, 1, 1); return ln;
    case RT_QKVW:
    case RT_QKVB: {
        int64_t cols = kind == RT_QKVW ? h : 1;
        *out = desc1(QD, QD / tp, cols, cols);
        out->nparts = 3;
        out->crow[1] = out->crow[2] = KVD;
        out->lrow[1] = out->lrow[2] = KVD / tp;
        return kind == RT_QKVW || m->qkv_bias;
    }
    case RT_AOW: *out = desc1(h, h, QD, QD / tp); return true;
    case RT_AOB: *out = desc1(h, h, 1, 1); return m->out_bias;
    case RT_FCW:
    case RT_FCB: {
        int64_t cols = kind == RT_FCW ? h : 1;
        *out = desc1(f, f / tp, cols, cols);
        if (gated) {
            out->nparts = 2;
            out->crow[1] = f;
            out->lrow[1] = f / tp;
        }
        return kind == RT_FCW || m->mlp_bias;
    }
    case RT_FPW: *out = desc1(h, h, f, f / tp); return true;
    case RT_FPB: *out = desc1(h, h, 1, 1); return m->mlp_bias;
    case RT_WTE: *out = desc1(vrows, vrows / tp, h, h); return true;
    case RT_HEAD: *out = desc1(vrows, vrows / tp, h, h); return !m->tied_embeddings;
    case RT_WPE:
        *out = desc1(m->max_positions, m->max_positions, h, h);
        return m->pos == EST_POS_LEARNED;
    default: return false;
    }
}

static int64_t desc_numel(const rt_tdesc *d, bool local)
{
    int64_t rows = 0;
    for (int i = 0; i < d->nparts; i++) {
        rows += local ? d->lrow[i] : d->crow[i];
    }
    return rows * (local ? d->lcol : d->ccol);
}

int64_t rt_canon_index(const rt_tdesc *d, int tp_rank, int64_t li)
{
    int64_t lr = li / d->lcol;
    int64_t lc = li % d->lcol;
    int64_t cbase = 0;
    int64_t lbase = 0;
    int64_t crow = 0;
    for (int p = 0; p < d->nparts; p++) {
        if (lr < lbase + d->lrow[p]) {
            int64_t shard = d->lrow[p] < d->crow[p] ? tp_rank * d->lrow[p] : 0;
            crow = cbase + shard + (lr - lbase);
            break;
        }
        cbase += d->crow[p];
        lbase += d->lrow[p];
    }
    int64_t cc = d->lcol < d->ccol ? tp_rank * d->lcol + lc : lc;
    return crow * d->ccol + cc;
}

void rt_canonical_offsets(const est_model *m, int64_t *off, int64_t *layer_size)
{
    rt_tdesc d;
    int64_t pos = 0;
    for (int k = 0; k < RT_TK_COUNT; k++) {
        off[k] = -1;
    }
    off[RT_WTE] = pos;
    pos += m->vocab * m->hidden;
    if (tensor_desc(m, 1, m->vocab, RT_WPE, &d)) {
        off[RT_WPE] = pos;
        pos += desc_numel(&d, false);
    }
    int64_t lay = 0;
    for (int k = 0; k < RT_LT_COUNT; k++) {
        if (tensor_desc(m, 1, m->vocab, k, &d)) {
            off[k] = pos + lay; /* layer 0; layer l adds l * layer_size */
            lay += desc_numel(&d, false);
        }
    }
    *layer_size = lay;
    pos += m->layers * lay;
    for (int k = RT_LNFW; k <= RT_HEAD; k++) {
        if (tensor_desc(m, 1, m->vocab, k, &d)) {
            off[k] = pos;
            pos += desc_numel(&d, false);
        }
    }
}

int64_t rt_canonical_size(const est_model *m)
{
    int64_t off[RT_TK_COUNT];
    int64_t lay = 0;
    rt_canonical_offsets(m, off, &lay);
    int64_t total = 0;
    rt_tdesc d;
    for (int k = 0; k < RT_TK_COUNT; k++) {
        if (tensor_desc(m, 1, m->vocab, k, &d)) {
            total += desc_numel(&d, false) * (k < RT_LT_COUNT ? m->layers : 1);
        }
    }
    return total;
}

// ---------------------------------------------------------------------------
// initialisation

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

float rt_init_value(int kind, int64_t canon_global, int layers, uint64_t seed)
{
    uint64_t hsh = splitmix64(seed * 0x2545F4914F6CDD1Dull ^ (uint64_t)canon_global);
    /* uniform on [-sqrt3, sqrt3): unit standard deviation */
    double z = ((double)(hsh >> 11) * 0x1.0p-53 * 2.0 - 1.0) * 1.7320508075688772;
    switch (kind) {
    case RT_LN1W:
    case RT_LN2W:
    case RT_LNFW:
        return (float)(1.0 + 0.1 * z); /* not exactly 1, so norm-weight bugs show in tests */
    case RT_AOW:
    case RT_FPW:
        return (float)(0.02 / sqrt(2.0 * layers) * z); /* GPT-2 residual-projection scaling */
    default: return (float)(0.02 * z); /* weights and (deliberately non-zero) biases */
    }
}

// ---------------------------------------------------------------------------
// layout of a rank

static est_status add_tensor(rt_rank *r, rt_pbuf *b, int kind, int layer, int64_t *pos,
                             int64_t *off_out, est_diag *diag)
{
    const est_model *m = r->cfg->model;
    rt_tdesc d;
    *off_out = -1;
    if (!tensor_desc(m, r->T_, rt_padded_vocab(r->cfg), kind, &d)) {
        return EST_OK;
    }
    rt_tensor *nt = realloc(b->t, (size_t)(b->nt + 1) * sizeof *nt);
    if (!nt) {
        return EST_FAIL(diag, EST_ENOMEM, "runtime: host allocation of the tensor table failed");
    }
    b->t = nt;
    int64_t coff[RT_TK_COUNT];
    int64_t lay = 0;
    rt_canonical_offsets(m, coff, &lay);
    rt_tensor *t = &b->t[b->nt++];
    memset(t, 0, sizeof *t);
    t->kind = kind;
    t->layer = layer;
    t->off = *pos;
    t->desc = d;
    t->n = desc_numel(&d, true);
    t->canon_off = coff[kind] + (layer >= 0 ? (int64_t)layer * lay : 0);
    /* Megatron's vocabulary padding: rows vocab..padded-1 of wte / lm_head are outside the
       canonical layout; they are initialised from indices past its end (the same for every
       layout with the same padded vocabulary) */
    t->canon_n = desc_numel(&d, false);
    t->pad_base = rt_canonical_size(m);
    if (kind == RT_WTE || kind == RT_HEAD) {
        int64_t pad = (rt_padded_vocab(r->cfg) - m->vocab) * m->hidden;
        t->canon_n -= pad;
        t->pad_base += kind == RT_HEAD ? pad : 0;
    }
    t->tp_repl = desc_numel(&d, true) == desc_numel(&d, false) && kind != RT_WTE && kind != RT_HEAD;
    if (r->T_ == 1) {
        t->tp_repl = false;
    }
    t->writer = (!t->tp_repl || r->tp == 0) && !(b->is_wte && r->pp != 0);
    *off_out = *pos;
    *pos += t->n;
    return EST_OK;
}

/* bytes of each array of b: compute weights, main gradients, master copy (0 when the weights are
   their own master: fp32), one AdamW moment */
static void buf_bytes(const rt_rank *r, const rt_pbuf *b, size_t *w, size_t *g, size_t *mst,
                      size_t *mom)
{
    size_t held = (size_t)(b->hi - b->lo);
    size_t f = sizeof(float);
    *w = (size_t)b->n * rt_dsize(r->adt);
    *g = (r->cfg->par.zero >= 2 ? held : (size_t)b->n) * f;
    *mst = r->adt == RT_F32 ? 0 : held * f;
    *mom = held * f;
}

static est_status alloc_buf(rt_rank *r, rt_pbuf *b, int64_t n, const char *what, est_diag *diag)
{
    int D = r->D_;
    int zero = r->cfg->par.zero;
    b->n = (n + D - 1) / D * D;
    if (zero >= 1) {
        b->lo = (int64_t)r->dp * (b->n / D);
        b->hi = b->lo + b->n / D;
    } else {
        b->lo = 0;
        b->hi = b->n;
    }
    size_t wb, gb, mb, ob;
    buf_bytes(r, b, &wb, &gb, &mb, &ob);
    est_status st;
    char w1[96];
    char w2[96];
    char w3[96];
    char w4[96];
    snprintf(w1, sizeof w1, "weights of %s", what);
    snprintf(w2, sizeof w2, "gradients of %s", what);
    snprintf(w3, sizeof w3, "AdamW moments of %s", what);
    snprintf(w4, sizeof w4, "fp32 master weights of %s", what);
    if ((st = rt_alloc(r, EST_MEM_WEIGHTS, wb, w1, &b->p, diag)) ||
        (st = rt_alloc(r, EST_MEM_GRADIENTS, gb, w2, (void **)&b->g, diag)) ||
        (mb > 0 && (st = rt_alloc(r, EST_MEM_OPTIMIZER, mb, w4, (void **)&b->master, diag))) ||
        (st = rt_alloc(r, EST_MEM_OPTIMIZER, ob, w3, (void **)&b->m, diag)) ||
        (st = rt_alloc(r, EST_MEM_OPTIMIZER, ob, w3, (void **)&b->v, diag))) {
        return st;
    }
    if (mb == 0) {
        b->master = (float *)b->p + b->lo;
    }
    r->be->zero(r, b->p, wb);
    r->be->zero(r, b->g, gb);
    r->be->zero(r, b->m, ob);
    r->be->zero(r, b->v, ob);
    b->gw = zero >= 2 ? NULL : b->g;
    return EST_OK;
}

/* initial values in fp32 on the host; the master copy takes them as they are, the bf16 compute
   copy rounded to nearest even */
static est_status init_buf(rt_rank *r, rt_pbuf *b, est_diag *diag)
{
    float *host = calloc((size_t)b->n, sizeof *host);
    if (!host) {
        return EST_FAIL(diag, EST_ENOMEM, "runtime: host allocation of %lld floats failed",
                        (long long)b->n);
    }
    const rt_options *o = r->opt;
    int L = (int)r->cfg->model->layers;
    for (int i = 0; i < b->nt; i++) {
        const rt_tensor *t = &b->t[i];
        for (int64_t k = 0; k < t->n; k++) {
            int64_t ci = rt_canon_index(&t->desc, r->tp, k);
            if (ci >= t->canon_n) { /* a padded vocabulary row: initialised like the others */
                host[t->off + k] =
                    rt_init_value(t->kind, t->pad_base + ci - t->canon_n, L, o->seed);
                continue;
            }
            int64_t g = t->canon_off + ci;
            host[t->off + k] = o->init_params && !r->solo ? o->init_params[g]
                                                          : rt_init_value(t->kind, g, L, o->seed);
        }
    }
    if (r->adt == RT_F32) {
        r->be->to_dev(r, b->p, host, (size_t)b->n * sizeof *host);
    } else {
        r->be->to_dev(r, b->master, host + b->lo, (size_t)(b->hi - b->lo) * sizeof *host);
        uint16_t *h16 = malloc((size_t)b->n * sizeof *h16);
        if (!h16) {
            free(host);
            return EST_FAIL(diag, EST_ENOMEM, "runtime: host allocation of %lld bf16 failed",
                            (long long)b->n);
        }
        for (int64_t k = 0; k < b->n; k++) {
            h16[k] = rt_f32_to_bf16(host[k]);
        }
        r->be->to_dev(r, b->p, h16, (size_t)b->n * sizeof *h16);
        free(h16);
    }
    free(host);
    return EST_OK;
}

est_status rt_model_layout(rt_rank *r, est_diag *diag)
{
    const est_config *cfg = r->cfg;
    const est_model *m = cfg->model;
    int P = r->P_;
    int V = r->V_;
    int L = (int)m->layers;
    bool tied_split = m->tied_embeddings && P > 1;
    r->nchunks = V;
    r->nbuf = 0;
    est_status st;
    /* the tied embedding shared by the first and last stage gets its own buffer */
    int wte_shared = -1;
    if (tied_split && (r->pp == 0 || r->pp == P - 1)) {
        wte_shared = r->nbuf++;
        rt_pbuf *b = &r->buf[wte_shared];
        memset(b, 0, sizeof *b);
        b->is_wte = true;
        int64_t pos = 0;
        int64_t off;
        if ((st = add_tensor(r, b, RT_WTE, -1, &pos, &off, diag)) != EST_OK) {
            return st;
        }
        if ((st = alloc_buf(r, b, pos, "the tied embedding", diag)) != EST_OK) {
            return st;
        }
    }
    for (int c = 0; c < V; c++) {
        rt_chunk *ch = &r->chunk[c];
        memset(ch, 0, sizeof *ch);
        ch->vstage = c * P + r->pp;
        if (V == 1) {
            int64_t l0 = 0;
            for (int s = 0; s < r->pp; s++) {
                l0 += est_stage_layers(cfg, s);
            }
            ch->layer0 = (int)l0;
            ch->nl = (int)est_stage_layers(cfg, r->pp);
        } else {
            ch->nl = L / (P * V);
            ch->layer0 = ch->vstage * ch->nl;
        }
        ch->first = ch->vstage == 0;
        ch->last = ch->vstage == P * V - 1;
        ch->buf = r->nbuf++;
        ch->wte_buf = ch->head_buf = -1;
        ch->wte_off = ch->head_off = ch->wpe_off = ch->lnfw_off = ch->lnfb_off = -1;
        rt_pbuf *b = &r->buf[ch->buf];
        memset(b, 0, sizeof *b);
        int64_t pos = 0;
        if (ch->first) {
            if (wte_shared >= 0) {
                ch->wte_buf = wte_shared;
                ch->wte_off = 0;
            } else {
                ch->wte_buf = ch->buf;
                if ((st = add_tensor(r, b, RT_WTE, -1, &pos, &ch->wte_off, diag)) != EST_OK) {
                    return st;
                }
            }
            if ((st = add_tensor(r, b, RT_WPE, -1, &pos, &ch->wpe_off, diag)) != EST_OK) {
                return st;
            }
        }
        ch->lay_off = pos;
        for (int l = 0; l < ch->nl; l++) {
            int64_t start = pos;
            for (int k = 0; k < RT_LT_COUNT; k++) {
                int64_t off;
                if ((st = add_tensor(r, b, k, ch->layer0 + l, &pos, &off, diag)) != EST_OK) {
                    return st;
                }
                if (l == 0) {
                    ch->toff[k] = off < 0 ? -1 : off - start;
                }
            }
            ch->lay_stride = pos - start;
        }
        if (ch->last) {
            if ((st = add_tensor(r, b, RT_LNFW, -1, &pos, &ch->lnfw_off, diag)) != EST_OK ||
                (st = add_tensor(r, b, RT_LNFB, -1, &pos, &ch->lnfb_off, diag)) != EST_OK) {
                return st;
            }
            if (m->tied_embeddings) {
                ch->head_buf = wte_shared >= 0 ? wte_shared : ch->wte_buf;
                ch->head_off = wte_shared >= 0 ? 0 : ch->wte_off;
            } else {
                ch->head_buf = ch->buf;
                if ((st = add_tensor(r, b, RT_HEAD, -1, &pos, &ch->head_off, diag)) != EST_OK) {
                    return st;
                }
            }
        }
        if ((st = alloc_buf(r, b, pos, "a pipeline chunk", diag)) != EST_OK) {
            return st;
        }
    }
    for (int i = 0; i < r->nbuf; i++) {
        if ((st = init_buf(r, &r->buf[i], diag)) != EST_OK) {
            return st;
        }
    }
    return EST_OK;
}

void rt_model_free(rt_rank *r)
{
    for (int i = 0; i < r->nbuf; i++) {
        rt_pbuf *b = &r->buf[i];
        size_t wb, gb, mb, ob;
        buf_bytes(r, b, &wb, &gb, &mb, &ob);
        if (mb > 0) {
            rt_free(r, EST_MEM_OPTIMIZER, b->master, mb);
        }
        rt_free(r, EST_MEM_WEIGHTS, b->p, wb);
        rt_free(r, EST_MEM_GRADIENTS, b->g, gb);
        rt_free(r, EST_MEM_OPTIMIZER, b->m, ob);
        rt_free(r, EST_MEM_OPTIMIZER, b->v, ob);
        free(b->t);
        memset(b, 0, sizeof *b);
    }
    r->nbuf = 0;
}
