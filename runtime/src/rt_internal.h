/* rt_internal.h -- what the runtime's files share: the backend table (memory, kernels,
 * collectives), the per-rank state, the model layout and the schedule.
 *
 * The model and step code (model.c, layer.c, step.c) is written once against rt_backend; the CPU
 * backend (cpu/kernels.c + comm_local.c) is the specification, the CUDA backend (cuda/) provides
 * the same entry points with cuBLAS kernels and NCCL. Element types: rt_dtype below.
 */
#ifndef LLMCAL_RT_INTERNAL_H
#define LLMCAL_RT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "est/config.h"
#include "est/memory.h"
#include "est/status.h"
#include "rt/rt.h"

#define RT_ALIGN_BYTES 256 /* alignment of every carved sub-buffer */
#define RT_MAX_CHUNKS  64  /* virtual stages per rank (vpp) */

typedef struct rt_rank rt_rank;
typedef struct rt_world rt_world;

typedef enum rt_group { RT_G_TP = 0, RT_G_DP, RT_G_PP, RT_G_EMB, RT_G_COUNT } rt_group;
typedef enum rt_redop { RT_OP_SUM = 0, RT_OP_MAX } rt_redop;
typedef enum rt_actkind { RT_ACT_GELU = 0, RT_ACT_SWIGLU } rt_actkind;

// ---------------------------------------------------------------------------
// element types

/* Storage type of a device buffer. Under --precision bf16-mixed (Megatron semantics) the model's
 * compute copy of the weights, the activations, the activation gradients and the TP/PP traffic
 * are bf16 (r->adt); main gradients, master weights, AdamW moments, norm statistics (mean, rstd),
 * the attention log-sum-exp and the cross-entropy softmax/statistics stay fp32. Under fp32 every
 * buffer is fp32 and the weights are their own master copy. */
typedef enum rt_dtype { RT_F32 = 0, RT_BF16 } rt_dtype;

static inline size_t rt_dsize(rt_dtype t)
{
    return t == RT_BF16 ? 2 : 4;
}

/* p advanced by n elements of type t */
static inline void *rt_elem(const void *p, size_t n, rt_dtype t)
{
    return p ? (void *)((const char *)p + n * rt_dsize(t)) : NULL;
}

/* one operation of a batched point-to-point call (all posted together, NCCL group semantics) */
typedef struct rt_p2p_op {
    bool send;
    int peer; /* pipeline rank */
    void *buf;
    size_t n; /* elements of dt */
    rt_dtype dt;
    int tag; /* rt_sched_tag: checked by the CPU backend, implied by order on NCCL */
} rt_p2p_op;

// ---------------------------------------------------------------------------
// backend table: every device operation the model code uses
//
// Tensor arguments typed `void *` hold elements of the rank's compute type r->adt (fp32 or bf16);
// `float *` arguments are fp32 whatever the precision (main gradients, statistics, master weights,
// moments). Kernels read bf16, compute in fp32 and round once when they store.

typedef struct rt_backend {
    const char *name;
    /* memory: raw device allocation (NULL on failure); accounting is alloc.c's */
    void *(*dev_alloc)(rt_rank *r, size_t bytes);
    void (*dev_free)(rt_rank *r, void *p);
    void (*zero)(rt_rank *r, void *p, size_t bytes);
    void (*copy)(rt_rank *r, void *dst, const void *src, size_t bytes);
    void (*to_host)(rt_rank *r, void *dst, const void *src, size_t bytes);
    void (*to_dev)(rt_rank *r, void *dst, const void *src, size_t bytes);
    double (*clock)(rt_rank *r);         /* seconds; waits for queued device work first */
    uint64_t (*driver_used)(rt_rank *r); /* bytes in use as the driver reports; NULL = n/a */
    /* phase timeline (NULL: host clock, as on the CPU): mark(part) records an event on the stream
       without waiting, opening a segment of `part` (RT_T_COUNT: not timed) that the next mark
       closes; flush() waits once (end of step) and adds each closed segment's elapsed time to
       r->time_acc[its part] */
    void (*mark)(rt_rank *r, int part);
    void (*flush)(rt_rank *r);
    /* kernels (llm.c shapes): N rows, C channels, OC outputs */
    void (*embed_fwd)(rt_rank *r, void *out, const int *tok, const void *wte, int N, int C,
                      int voff, int V);
    void (*embed_bwd)(rt_rank *r, float *dwte, const void *dout, const int *tok, int N, int C,
                      int voff, int V);
    void (*pos_fwd)(rt_rank *r, void *out, const void *wpe, int N, int T, int C, int row0);
    void (*pos_bwd)(rt_rank *r, float *dwpe, const void *dout, int N, int T, int C, int row0);
    void (*norm_fwd)(rt_rank *r, void *out, float *mean, float *rstd, const void *inp,
                     const void *w, const void *b, int N, int C, bool rms);
    /* dinp += (accumulates into the residual-stream gradient) */
    void (*norm_bwd)(rt_rank *r, void *dinp, float *dw, float *db, const void *dout,
                     const void *inp, const void *w, const float *mean, const float *rstd, int N,
                     int C, bool rms);
    void (*matmul_fwd)(rt_rank *r, void *out, const void *inp, const void *w, const void *bias,
                       int N, int C, int OC);
    /* dinp = (may be NULL); dw += and db += in fp32 (Megatron's gradient-accumulation fusion into
       main_grad) */
    void (*matmul_bwd)(rt_rank *r, void *dinp, float *dw, float *db, const void *dout,
                       const void *inp, const void *w, int N, int C, int OC);
    void (*rope)(rt_rank *r, void *qkv, int B, int T, int nq, int nkv, int d, bool inverse);
    void (*attn_fwd)(rt_rank *r, void *out, float *lse, void *att, const void *qkv, int B, int T,
                     int nq, int nkv, int d);
    void (*attn_bwd)(rt_rank *r, void *dqkv, const void *dout, const void *qkv, const void *out,
                     const float *lse, const void *att, int B, int T, int nq, int nkv, int d);
    void (*act_fwd)(rt_rank *r, void *out, const void *inp, int N, int F, rt_actkind k);
    void (*act_bwd)(rt_rank *r, void *dinp, const void *dout, const void *inp, int N, int F,
                    rt_actkind k);
    void (*residual_fwd)(rt_rank *r, void *out, const void *a, const void *b, const void *bias,
                         int N, int C);
    void (*bias_bwd)(rt_rank *r, float *db, const void *dout, int N, int C);
    void (*add)(rt_rank *r, float *dst, const float *src, size_t n); /* fp32 */
    void (*ce_max)(rt_rank *r, float *mx, const void *logits, int N, int V);
    void (*ce_partial)(rt_rank *r, float *stats, const void *logits, const float *mx,
                       const int *tgt, int N, int V, int voff);
    /* probs (fp32) may alias logits when r->adt is fp32 */
    void (*ce_finish)(rt_rank *r, float *probs, float *losses, const float *stats, const float *mx,
                      const void *logits, int N, int V);
    /* dlogits = (probs - onehot) * scale, stored in r->adt; may alias probs when fp32 */
    void (*ce_bwd)(rt_rank *r, void *dlogits, const float *probs, const int *tgt, int N, int V,
                   int voff, float scale);
    /* AdamW on fp32 master p; when model != NULL also writes p to it in r->adt (bf16 copy) */
    void (*adamw)(rt_rank *r, float *p, const float *g, float *m, float *v, void *model, size_t n,
                  float lr, float b1, float b2, float eps, float wd, int t);
    /* collectives over a group of ranks, elements of type dt; in place where noted */
    est_status (*allreduce)(rt_rank *r, rt_group g, void *buf, size_t n, rt_dtype dt, rt_redop op,
                            est_diag *diag);
    /* reduce_scatter: buf holds size*count; the sum of this rank's part lands at
       buf + idx*count (idx = this rank's index in the group) */
    est_status (*reduce_scatter)(rt_rank *r, rt_group g, void *buf, size_t count, rt_dtype dt,
                                 est_diag *diag);
    /* allgather: out receives size*count; `in` may be out + idx*count */
    est_status (*allgather)(rt_rank *r, rt_group g, const void *in, void *out, size_t count,
                            rt_dtype dt, est_diag *diag);
    /* batched pipeline point-to-point (Megatron's batch_isend_irecv): every operation is posted
       together (ncclGroupStart/End) and all have completed, in stream order, on return; a
       rank's n-th send to a peer matches the peer's n-th receive from it. Solo mode: receives
       deliver zeros. */
    est_status (*p2p)(rt_rank *r, const rt_p2p_op *ops, int n, est_diag *diag);
    /* multi-process launch: v[0..n) summed over every process of the world (NULL: not needed,
       the ranks are threads of this process) */
    est_status (*world_sum)(rt_rank *r, double *v, int n, est_diag *diag);
} rt_backend;

extern const rt_backend rt_backend_cpu;

// ---------------------------------------------------------------------------
// model layout

/* tensors of one transformer layer, in buffer order */
enum {
    RT_LN1W = 0,
    RT_LN1B,
    RT_QKVW,
    RT_QKVB,
    RT_AOW,
    RT_AOB,
    RT_LN2W,
    RT_LN2B,
    RT_FCW,
    RT_FCB,
    RT_FPW,
    RT_FPB,
    RT_LT_COUNT
};
/* tensors outside the layers */
enum { RT_WTE = RT_LT_COUNT, RT_WPE, RT_LNFW, RT_LNFB, RT_HEAD, RT_TK_COUNT };

/* how a local (TP-sharded) tensor maps into its canonical TP=1 tensor: rows in up to 3 parts
 * (q/k/v, gate/up), each part row-sharded when lrow < crow; columns sharded when lcol < ccol */
typedef struct rt_tdesc {
    int nparts;
    int64_t crow[3], lrow[3];
    int64_t ccol, lcol;
} rt_tdesc;

typedef struct rt_tensor {
    int kind;          /* RT_LN1W.. or RT_WTE.. */
    int layer;         /* global layer, -1 outside layers */
    int64_t off;       /* offset in its buffer (floats) */
    int64_t n;         /* local elements */
    int64_t canon_off; /* offset of the canonical tensor in the canonical layout */
    int64_t canon_n;   /* its canonical elements; local ones mapping at or past it are padding */
    int64_t pad_base;  /* init index of the first padded element (vocabulary padding) */
    rt_tdesc desc;
    bool tp_repl; /* replicated over TP: its gradient is TP-summed under SP */
    bool writer;  /* this rank writes it to canonical outputs (one writer per element) */
} rt_tensor;

/* a flat parameter buffer and its DP shard (ZeRO) */
typedef struct rt_pbuf {
    int64_t n;      /* elements, padded to a multiple of dp */
    int64_t lo, hi; /* range of grads/optimizer states this rank holds */
    void *p;        /* (n) parameters used by forward/backward, in r->adt */
    float *master;  /* (hi-lo) fp32 master weights: own buffer (bf16) or p + lo (fp32) */
    float *g;       /* (n) gradients (ZeRO 0/1) or (hi-lo) shard accumulator (ZeRO-2) */
    float *gw;      /* (n) gradients being written by backward (= g unless ZeRO-2) */
    float *m, *v;   /* (hi-lo) AdamW moments */
    rt_tensor *t;   /* tensors, nt of them (owned) */
    int nt;
    bool is_wte; /* the tied embedding copy shared by first and last stage (EMB group) */
} rt_pbuf;

typedef struct rt_chunk {
    int vstage;                /* virtual pipeline stage 0..pp*vpp-1 */
    int layer0, nl;            /* first global layer, layers */
    bool first, last;          /* holds the embedding / the head */
    int buf;                   /* its parameter buffer */
    int64_t lay_off;           /* offset of layer 0 in buf */
    int64_t lay_stride;        /* elements per layer */
    int64_t toff[RT_LT_COUNT]; /* offset of each tensor inside a layer, -1 = absent */
    int wte_buf;
    int64_t wte_off;                     /* embedding table (first) / tied head (last) */
    int64_t wpe_off, lnfw_off, lnfb_off; /* -1 = absent */
    int head_buf;
    int64_t head_off; /* output projection (last) */
} rt_chunk;

/* local (per-rank) shapes */
typedef struct rt_dims {
    int B, T, N, Ns;  /* micro-batch, sequence, rows B*T, rows held between ops (N/t under SP) */
    int C;            /* hidden */
    int nq, nkv, d;   /* local query heads, local kv heads, head dim */
    int qd, kvd, QKV; /* nq*d, nkv*d, qd + 2*kvd */
    int F, Fin;       /* local ffn, local fc outputs (2F when gated) */
    int V, voff;      /* local vocab rows and their first canonical row */
    int maxpos;       /* learned positions (0 with RoPE) */
    bool rms, rope, gated, sp, store_att;
    rt_actkind act;
} rt_dims;

/* pointers into one layer's stored activations */
/* pointers into one layer's stored activations (void *: r->adt; float *: fp32 statistics) */
typedef struct rt_lact {
    void *x;            /* (Ns, C) layer input */
    void *ln1;          /* (Ns, C) */
    float *ln1m, *ln1r; /* (Ns), (Ns) */
    void *qkv;          /* (N, QKV) after RoPE */
    void *atty;         /* (N, qd) */
    float *lse;         /* (B, nq, T) */
    void *att;          /* (B, nq, T, T) or NULL */
    void *x2;           /* (Ns, C) after attention residual */
    void *ln2;
    float *ln2m, *ln2r;
    void *fch; /* (N, Fin) */
    void *fca; /* (N, F) */
} rt_lact;

typedef struct rt_act { /* activations of one (chunk, micro-batch), one slab */
    void *slab;
    size_t bytes;
    void *xout; /* (Ns, C) chunk output (kept in the slab on the last chunk) */
    void *lnf;  /* head (last chunk) */
    float *lnfm, *lnfr;
    void *logits; /* (N, V) logits (r->adt), then the logit gradient; group logits */
    float *probs; /* (N, V) fp32 softmax (= logits under fp32) */
    size_t logits_bytes;
} rt_act;

typedef struct rt_sched_op {
    bool fwd;
    int mb;
    int chunk;
} rt_sched_op;

/* one pipeline transfer of a schedule op: a receive before its compute or a send after it */
typedef struct rt_p2p_msg {
    bool valid;
    bool send;  /* send (after the op) or receive (before it) */
    bool fwd;   /* activation (forward) or gradient (backward) */
    int peer;   /* pipeline rank */
    int mb;     /* micro-batch */
    int vstage; /* virtual stage that receives it (names the message: rt_sched_tag) */
} rt_p2p_msg;

// ---------------------------------------------------------------------------
// rank

struct rt_rank {
    const rt_backend *be;
    rt_world *world;
    void *bctx; /* backend's per-rank context (CUDA handles) */
    const est_config *cfg;
    const rt_options *opt;
    int rank, tp, dp, pp; /* global rank and coordinates */
    int T_, D_, P_, V_;   /* tp, dp, pp, vpp sizes */
    int M;                /* micro-batches per step */
    bool solo;
    rt_dtype adt; /* compute type: weights copy, activations, TP/PP traffic */
    rt_dims dm;
    int nchunks;
    rt_chunk chunk[RT_MAX_CHUNKS];
    int nbuf;
    rt_pbuf buf[RT_MAX_CHUNKS + 1];
    /* memory accounting */
    uint64_t cur[EST_MEM_GROUP_COUNT], cur_total, peak_total;
    uint64_t at_peak[EST_MEM_GROUP_COUNT], gpeak[EST_MEM_GROUP_COUNT];
    uint64_t driver_used;
    bool oom;
    est_status kst; /* first kernel failure (host OOM in bf16 emulation, CUDA launch
                                     error); checked once per step */
    /* scratch (allocated once) */
    void *full1, *full2;              /* (N, C) gathers and partial sums (adt) */
    void *dres;                       /* (Ns, C) residual-stream gradient (adt) */
    void *dsend;                      /* (Ns, C) input gradient being sent (pp > 1; swaps with
                                         dres) */
    void *dqkv, *datty, *dfch, *dfca; /* activation gradients (adt) */
    float *mx, *stats;                /* (N), (2N) cross-entropy */
    float *losses;                    /* (N) */
    int *tok, *tgt;                   /* (N) device ints */
    void *recomp;                     /* one layer's activations (full recompute) */
    size_t scratch_bytes[EST_MEM_GROUP_COUNT];
    void *scratch_slab[EST_MEM_GROUP_COUNT];
    size_t recomp_bytes; /* bytes of recomp (0 without full recompute) */
    rt_act *acts;        /* [nchunks * M] */
    rt_sched_op *ops;
    int nops;
    bool *p2p_before; /* [nops] a group of transfers is posted before op k (rt_sched_groups) */
    /* step state */
    int step;
    double loss_sum; /* this step, last stage, tp rank 0 */
    int phase;       /* open timeline segment's part (RT_T_COUNT: not timed) */
    double phase_t0; /* host clock at its start (CPU timeline) */
    double time_acc[RT_T_COUNT];
    bool time_measured[RT_T_COUNT];
    float *host_losses;    /* (N) host copy */
    int *host_tok;         /* (2N) host ints: tokens, targets */
    double *loss_per_step; /* [steps] host; this rank's contribution */
    int timed_steps;
};

// ---------------------------------------------------------------------------
// functions shared between files

/* alloc.c: accounted allocation; on failure fills diag with what/bytes/in use/capacity */
est_status rt_alloc(rt_rank *r, est_mem_group g, size_t bytes, const char *what, void **out,
                    est_diag *diag);
void rt_free(rt_rank *r, est_mem_group g, void *p, size_t bytes);
size_t rt_align_bytes(size_t bytes);

/* sched.c */
int rt_sched_count(int pp, int vpp, int m);
est_status rt_sched_build(int pp, int vpp, int rank, int m, rt_sched_op *ops, int cap,
                          est_diag *diag);
/* the tag of a message: direction, micro-batch and the virtual stage receiving it */
int rt_sched_tag(int pp, int vpp, bool fwd, int mb, int vstage);
/* the receive op needs before its compute and the send it makes after (valid = false: none) */
void rt_sched_msgs(int pp, int vpp, int rank, const rt_sched_op *op, rt_p2p_msg *recv,
                   rt_p2p_msg *send);
/* where step.c posts its batched transfers: before[k] is true when a group is posted before op k;
   it holds the receives of the ops up to the next group and the sends of the ops since the
   previous one (one more group after the last op holds its sends). 1F1B: before every op
   (Megatron's send_forward_recv_backward / send_backward_recv_forward); interleaved: a steady-state
   forward and its backward form one unit (send_forward_backward_recv_forward_backward) */
void rt_sched_groups(int pp, int vpp, const rt_sched_op *ops, int n, bool *before);
/* Simulates every pipeline rank's transfers under NCCL's semantics (a send completes only when
   the peer has posted the matching receive; the n-th send from a to b matches the n-th receive on
   b from a; operations of one group are posted together). paired: step.c's grouping
   (rt_sched_groups; inside a group receives before sends, activations before gradients);
   unpaired: each transfer alone, receive before the op, send after it. Also checks, paired and
   vpp = 1, that matched transfers never cross (the premise of the no-cycle argument,
   docs/runtime.md). EST_OK, or EST_EINVAL with diag naming the deadlocked
   rank, the mismatched transfer or the crossing groups. */
est_status rt_sched_check(int pp, int vpp, int m, bool paired, est_diag *diag);

/* model.c */
void rt_dims_init(rt_rank *r);
est_status rt_model_layout(rt_rank *r, est_diag *diag);
void rt_model_free(rt_rank *r);
int64_t rt_canon_index(const rt_tdesc *d, int tp_rank, int64_t li);
/* Megatron's padded vocabulary (_vocab_size_with_padding): vocab rounded up to a multiple of
   par.vocab_divisor * tp; the embedding and output layer hold that many rows */
int64_t rt_padded_vocab(const est_config *cfg);
float rt_init_value(int kind, int64_t canon_global, int layers, uint64_t seed);
void rt_canonical_offsets(const est_model *m, int64_t *off /* [RT_TK_COUNT] */,
                          int64_t *layer_size);

/* layer.c */
size_t rt_layer_act_bytes(const rt_dims *dm, rt_dtype t, bool stored_full);
void rt_lact_carve(const rt_dims *dm, rt_dtype t, void *base, rt_lact *la);
est_status rt_layer_fwd(rt_rank *r, const rt_chunk *c, int l, rt_lact *la, void *xout,
                        est_diag *diag);
est_status rt_layer_bwd(rt_rank *r, const rt_chunk *c, int l, rt_lact *la, est_diag *diag);
est_status rt_embed_fwd(rt_rank *r, const rt_chunk *c, void *x0, est_diag *diag);
est_status rt_embed_bwd(rt_rank *r, const rt_chunk *c, est_diag *diag);
est_status rt_head_fwd(rt_rank *r, const rt_chunk *c, rt_act *a, est_diag *diag);
est_status rt_head_bwd(rt_rank *r, const rt_chunk *c, rt_act *a, est_diag *diag);

/* step.c */
est_status rt_rank_setup(rt_rank *r, est_diag *diag);
est_status rt_rank_train(rt_rank *r, est_diag *diag);
void rt_rank_teardown(rt_rank *r);

/* comm.c: timed collectives (measured, or modelled in solo mode); kinds for the model */
enum { RT_COLL_AR = 0, RT_COLL_RS, RT_COLL_AG, RT_COLL_P2P };
est_status rt_c_allreduce(rt_rank *r, rt_group g, void *buf, size_t n, rt_dtype dt, rt_redop op,
                          est_diag *diag);
est_status rt_c_reduce_scatter(rt_rank *r, rt_group g, void *buf, size_t count, rt_dtype dt,
                               est_diag *diag);
est_status rt_c_allgather(rt_rank *r, rt_group g, const void *in, void *out, size_t count,
                          rt_dtype dt, est_diag *diag);
/* one group of pipeline transfers (time: pp_comm; modelled in solo mode as its largest transfer,
   the others running concurrently on full-duplex links) */
est_status rt_c_p2p(rt_rank *r, const rt_p2p_op *ops, int n, est_diag *diag);
/* timeline: switch the rank's current phase (RT_T_COUNT = not timed); flush at the end of a
   step (one device synchronisation) */
void rt_phase(rt_rank *r, int part);
void rt_phase_flush(rt_rank *r);
int rt_group_size(const rt_rank *r, rt_group g);
int rt_group_index(const rt_rank *r, rt_group g);
double rt_now_s(void);
double rt_model_coll_s(const rt_rank *r, rt_group g, int kind, size_t bytes);

/* comm_local.c: the in-process world of the CPU backend */
est_status rt_world_create(int nranks, int tp, int dp, int pp, bool emb_group, bool solo,
                           rt_world **out, est_diag *diag);
void rt_world_destroy(rt_world *w);
void rt_world_abort(rt_world *w);
void rt_world_attach(rt_world *w, rt_rank *r);
est_status rt_local_allreduce(rt_rank *r, rt_group g, void *buf, size_t n, rt_dtype dt, rt_redop op,
                              est_diag *diag);
est_status rt_local_reduce_scatter(rt_rank *r, rt_group g, void *buf, size_t count, rt_dtype dt,
                                   est_diag *diag);
est_status rt_local_allgather(rt_rank *r, rt_group g, const void *in, void *out, size_t count,
                              rt_dtype dt, est_diag *diag);
est_status rt_local_p2p(rt_rank *r, const rt_p2p_op *ops, int n, est_diag *diag);

#endif /* LLMCAL_RT_INTERNAL_H */
