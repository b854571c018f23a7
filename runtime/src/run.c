/* run.c -- rt_run(): check that the runtime can execute the configuration, start one thread per
 * rank (or one rank in single-GPU shard mode), run the steps, and gather the per-rank reports.
 *
 * Rank order is Megatron's default (tp fastest, then dp, then pp): rank = tp + t*(dp + d*pp).
 * Under a multi-process launch (opt->launch) this process runs its own rank only (CUDA).
 * A rank that fails aborts the world so no other rank waits forever; the first failure is the
 * one reported.
 */
#include "rt/rt.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "rt_internal.h"

#ifdef LLMCAL_WITH_CUDA
#include "cuda/rt_cuda.h"
#endif

typedef struct run_slot {
    rt_rank r;
    est_status st;
    est_diag diag;
    atomic_int *first_fail;
    rt_rank_report rep;
    double *loss; /* [steps] copied before teardown */
} run_slot;

rt_options rt_options_default(void)
{
    rt_options o;
    memset(&o, 0, sizeof o);
    o.backend = RT_BACKEND_CPU;
    o.steps = 2;
    o.solo_rank = -1;
    o.seed = 1234;
    o.lr = 1e-3;
    o.beta1 = 0.9;
    o.beta2 = 0.95;
    o.eps = 1e-8;
    o.weight_decay = 0.1;
    o.rendezvous_timeout_s = 300.0;
    return o;
}

bool rt_backend_compiled(rt_backend_kind kind)
{
#ifdef LLMCAL_WITH_CUDA
    return kind == RT_BACKEND_CPU || kind == RT_BACKEND_CUDA;
#else
    return kind == RT_BACKEND_CPU;
#endif
}

const char *rt_time_part_name(rt_time_part p)
{
    static const char *const names[RT_T_COUNT] = {"forward", "backward",  "tp_comm",  "pp_comm",
                                                  "dp_comm", "optimizer", "iteration"};
    return (int)p >= 0 && p < RT_T_COUNT ? names[p] : "unknown";
}

void rt_report_free(rt_report *r)
{
    if (!r) {
        return;
    }
    free(r->ranks);
    free(r->loss);
    r->ranks = NULL;
    r->loss = NULL;
    r->nranks = 0;
}

// ---------------------------------------------------------------------------
// what the runtime can run

static est_status check_supported(const est_config *cfg, const rt_options *o, est_diag *diag)
{
    const est_model *m = cfg->model;
    const est_parallel *p = &cfg->par;
    if (!rt_backend_compiled(o->backend)) {
        return EST_FAIL(diag, EST_EUNSUPPORTED,
                        "backend: cuda was not compiled in (configure with -DLLMCAL_WITH_CUDA=ON)");
    }
    if (o->steps < 1 || o->steps > 1000000) {
        return EST_FAIL(diag, EST_EINVAL, "steps: %d must be in 1..1000000", o->steps);
    }
    if (o->solo_rank < -1 || o->solo_rank >= p->gpus) {
        return EST_FAIL(diag, EST_EINVAL, "rank: %d is not a rank of %lld GPUs", o->solo_rank,
                        (long long)p->gpus);
    }
    if (o->launch.present) {
        const rt_launch *l = &o->launch;
        if (o->backend != RT_BACKEND_CUDA) {
            return EST_FAIL(diag, EST_EUNSUPPORTED,
                            "launch: the cpu backend runs every rank as a thread of one process; "
                            "a multi-process launch (%s, %s=%d) needs --backend cuda",
                            l->launcher, l->rank_var, l->rank);
        }
        if (l->size != p->gpus) {
            return EST_FAIL(diag, EST_EINVAL,
                            "gpus: the layout has %lld ranks but the %s launcher started %d "
                            "processes (one per rank)",
                            (long long)p->gpus, l->launcher, l->size);
        }
        if (o->solo_rank >= 0) {
            return EST_FAIL(diag, EST_EINVAL,
                            "rank: --rank runs one rank's share in one process, not under a "
                            "multi-process launch");
        }
        if (!o->rendezvous || !*o->rendezvous) {
            return EST_FAIL(diag, EST_EINVAL,
                            "rendezvous: a multi-process launch needs a file path on a filesystem "
                            "every rank shares (--rendezvous PATH)");
        }
    }
    if (p->precision != EST_PREC_FP32 && p->precision != EST_PREC_BF16_MIXED) {
        return EST_FAIL(diag, EST_EUNSUPPORTED,
                        "precision: %s is not implemented by the runtime (fp32 or bf16-mixed)",
                        est_precision_name(p->precision));
    }
    if (m->experts > 0) {
        return EST_FAIL(diag, EST_EUNSUPPORTED,
                        "model: MoE layers (experts=%lld) are not implemented by the runtime",
                        (long long)m->experts);
    }
    if (m->qk_norm || m->parallel_block || m->act == EST_ACT_GEGLU) {
        return EST_FAIL(diag, EST_EUNSUPPORTED,
                        "model: qk_norm, parallel blocks and GEGLU are not implemented by the "
                        "runtime");
    }
    if (p->cp != 1 || p->ep != 1) {
        return EST_FAIL(diag, EST_EUNSUPPORTED,
                        "cp/ep: context and expert parallelism are not "
                        "implemented by the runtime (cp=%d ep=%d)",
                        p->cp, p->ep);
    }
    if (p->fsdp != EST_FSDP_NONE || p->zero > 2) {
        return EST_FAIL(diag, EST_EUNSUPPORTED,
                        "zero: the runtime implements ZeRO 0, 1 and 2 (got zero=%d%s)", p->zero,
                        p->fsdp != EST_FSDP_NONE ? ", fsdp" : "");
    }
    if (p->finetune != EST_FT_FULL) {
        return EST_FAIL(diag, EST_EUNSUPPORTED, "finetune: LoRA is not implemented by the runtime");
    }
    if (m->pos == EST_POS_ROPE && m->head_dim % 2 != 0) {
        return EST_FAIL(diag, EST_EINVAL, "model.head_dim: %lld must be even for RoPE",
                        (long long)m->head_dim);
    }
    if (m->pos == EST_POS_LEARNED && p->seq > m->max_positions) {
        return EST_FAIL(diag, EST_EINVAL, "seq: %lld exceeds model.max_positions=%lld",
                        (long long)p->seq, (long long)m->max_positions);
    }
    if (p->vpp > RT_MAX_CHUNKS) {
        return EST_FAIL(diag, EST_ERANGE, "vpp: %d exceeds the runtime's %d chunks", p->vpp,
                        RT_MAX_CHUNKS);
    }
    if (p->vpp > 1 && (p->first_stage_layers || p->last_stage_layers)) {
        return EST_FAIL(diag, EST_EUNSUPPORTED,
                        "vpp: uneven first/last stages with the interleaved schedule are not "
                        "implemented by the runtime");
    }
    if (p->vpp > 1 && m->layers % ((int64_t)p->pp * p->vpp) != 0) {
        return EST_FAIL(diag, EST_EINVAL, "layers: %lld not divisible by pp*vpp=%d",
                        (long long)m->layers, p->pp * p->vpp);
    }
    int64_t N = p->mbs * p->seq;
    int64_t vpad = rt_padded_vocab(cfg); /* a multiple of tp: vocab-parallel rows */
    int64_t biggest = m->hidden > vpad ? m->hidden : vpad;
    if (N > INT32_MAX / 4 || biggest > INT32_MAX / 4 || 2 * m->ffn > INT32_MAX / 4) {
        return EST_FAIL(diag, EST_ERANGE, "mbs*seq: %lld rows exceed the runtime's int32 shapes",
                        (long long)N);
    }
    int64_t M = p->gbs / (p->mbs * p->dp);
    if (M > 1000000) {
        return EST_FAIL(diag, EST_ERANGE, "gbs: %lld micro-batches per step is too many",
                        (long long)M);
    }
    if (o->solo_rank < 0 && o->backend == RT_BACKEND_CPU && p->gpus > 4096) {
        return EST_FAIL(diag, EST_ERANGE,
                        "gpus: %lld ranks as CPU threads is too many; use --rank for one of them",
                        (long long)p->gpus);
    }
    return EST_OK;
}

/* model FLOPs per step (no recompute): 6 x tokens x matmul parameters (lm head included) plus
   attention 12 x tokens x L x s x a x d (Narayanan et al. 2021 eq. 3, GQA/SwiGLU generalised) */
static double model_flop(const est_config *cfg)
{
    const est_model *m = cfg->model;
    double h = (double)m->hidden;
    double qd = (double)(m->heads * m->head_dim);
    double kvd = (double)(m->kv_heads * m->head_dim);
    double f = (double)m->ffn;
    double mlp = (m->act == EST_ACT_GELU ? 2.0 : 3.0) * h * f;
    double pmm = (double)m->layers * (h * (qd + 2 * kvd) + qd * h + mlp) + (double)m->vocab * h;
    double tokens = (double)(cfg->par.gbs * cfg->par.seq);
    return 6.0 * tokens * pmm + 12.0 * tokens * (double)m->layers * (double)cfg->par.seq * qd;
}

// ---------------------------------------------------------------------------
// ranks

static void *rank_main(void *arg)
{
    run_slot *s = arg;
    rt_rank *r = &s->r;
    s->st = rt_rank_setup(r, &s->diag);
    if (s->st == EST_OK) {
        s->st = rt_rank_train(r, &s->diag);
    }
    if (s->st == EST_OK && r->opt->launch.present && r->be->world_sum) {
        /* one process per rank: the loss contributions of the other processes */
        s->st = r->be->world_sum(r, r->loss_per_step, r->opt->steps, &s->diag);
    }
    if (s->st != EST_OK) {
        int expect = -1;
        atomic_compare_exchange_strong(s->first_fail, &expect, r->rank);
        rt_world_abort(r->world);
    }
    rt_rank_report *rep = &s->rep;
    rep->rank = r->rank;
    rep->tp_rank = r->tp;
    rep->dp_rank = r->dp;
    rep->pp_rank = r->pp;
    rep->peak_bytes = r->peak_total;
    memcpy(rep->at_peak_bytes, r->at_peak, sizeof rep->at_peak_bytes);
    memcpy(rep->group_peak_bytes, r->gpeak, sizeof rep->group_peak_bytes);
    rep->driver_used_bytes = r->driver_used;
    rep->oom = r->oom;
    for (int i = 0; i < RT_T_COUNT; i++) {
        rep->time_s[i] = r->timed_steps > 0 ? r->time_acc[i] / r->timed_steps : NAN;
        rep->time_measured[i] = r->time_measured[i];
    }
    if (r->loss_per_step && s->loss) {
        memcpy(s->loss, r->loss_per_step, (size_t)r->opt->steps * sizeof *s->loss);
    }
    rt_rank_teardown(r);
    return NULL;
}

est_status rt_run(const est_config *cfg_in, const rt_options *opt, rt_report *out, est_diag *diag)
{
    memset(out, 0, sizeof *out);
    if (!cfg_in || !opt) {
        return EST_FAIL(diag, EST_EINVAL, "runtime: config and options are required");
    }
    est_config cfg = *cfg_in;
    est_status st = est_config_resolve(&cfg, diag);
    if (st != EST_OK) {
        return st;
    }
    if ((st = check_supported(&cfg, opt, diag)) != EST_OK) {
        return st;
    }
    const est_parallel *p = &cfg.par;
    bool solo = opt->solo_rank >= 0;
    bool multiproc = opt->launch.present;
    int R = (int)p->gpus;
    int nrun = solo || multiproc ? 1 : R;
    bool emb = cfg.model->tied_embeddings && p->pp > 1;
    rt_world *w = NULL;
    if (opt->backend == RT_BACKEND_CPU) {
        if ((st = rt_world_create(R, p->tp, p->dp, p->pp, emb, solo, &w, diag)) != EST_OK) {
            return st;
        }
    }
    run_slot *slots = calloc((size_t)nrun, sizeof *slots);
    double *losses = calloc((size_t)nrun * (size_t)opt->steps, sizeof *losses);
    pthread_t *th = calloc((size_t)nrun, sizeof *th);
    atomic_int first_fail;
    atomic_init(&first_fail, -1);
    if (!slots || !losses || !th) {
        st = EST_FAIL(diag, EST_ENOMEM, "runtime: host allocation for %d ranks failed", nrun);
        goto done;
    }
    for (int i = 0; i < nrun; i++) {
        run_slot *s = &slots[i];
        rt_rank *r = &s->r;
        int g = solo ? opt->solo_rank : (multiproc ? opt->launch.rank : i);
        r->be = &rt_backend_cpu;
        r->cfg = &cfg;
        r->opt = opt;
        r->rank = g;
        r->T_ = p->tp;
        r->D_ = p->dp;
        r->P_ = p->pp;
        r->V_ = p->vpp;
        r->tp = g % p->tp;
        r->dp = (g / p->tp) % p->dp;
        r->pp = g / (p->tp * p->dp);
        r->M = (int)(p->gbs / (p->mbs * p->dp));
        r->solo = solo;
        r->adt = p->precision == EST_PREC_BF16_MIXED ? RT_BF16 : RT_F32;
        s->first_fail = &first_fail;
        s->loss = losses + (size_t)i * (size_t)opt->steps;
        rt_world_attach(w, r);
    }
#ifdef LLMCAL_WITH_CUDA
    if (opt->backend == RT_BACKEND_CUDA) {
        st = rt_cuda_run(slots[0].r.cfg, opt, nrun, &slots[0].r, sizeof(run_slot), rank_main, diag);
        if (st != EST_OK) {
            goto done;
        }
    } else
#endif
    {
        int started = 0;
        for (int i = 0; i < nrun; i++) {
            if (pthread_create(&th[i], NULL, rank_main, &slots[i]) != 0) {
                slots[i].st = EST_FAIL(&slots[i].diag, EST_ENOMEM,
                                       "runtime: could not start the thread of rank %d", i);
                int expect = -1;
                atomic_compare_exchange_strong(&first_fail, &expect, slots[i].r.rank);
                rt_world_abort(w);
                break;
            }
            started++;
        }
        for (int i = 0; i < started; i++) {
            pthread_join(th[i], NULL);
        }
    }
    out->backend = opt->backend;
    out->solo = solo;
    out->multiproc = multiproc;
    out->nranks = nrun;
    out->steps = opt->steps;
    out->ranks = calloc((size_t)nrun, sizeof *out->ranks);
    out->loss = calloc((size_t)opt->steps, sizeof *out->loss);
    if (!out->ranks || !out->loss) {
        rt_report_free(out);
        st = EST_FAIL(diag, EST_ENOMEM, "runtime: host allocation of the report failed");
        goto done;
    }
    int64_t M = p->gbs / (p->mbs * p->dp);
    for (int s = 0; s < opt->steps; s++) {
        double sum = 0.0;
        for (int i = 0; i < nrun; i++) {
            sum += losses[(size_t)i * (size_t)opt->steps + (size_t)s];
        }
        out->loss[s] = solo ? NAN : sum / (double)(M * p->dp);
    }
    out->step_s = 0.0;
    for (int i = 0; i < nrun; i++) {
        out->ranks[i] = slots[i].rep;
        if (slots[i].rep.time_s[RT_T_STEP] > out->step_s) {
            out->step_s = slots[i].rep.time_s[RT_T_STEP];
        }
        if (slots[i].rep.oom) {
            out->oom = true;
        }
    }
    out->model_flop = model_flop(&cfg);
    out->tokens_per_step = (double)(p->gbs * p->seq);
    out->tokens_per_s = out->step_s > 0 ? out->tokens_per_step / out->step_s : NAN;
    out->tflops_per_gpu =
        out->step_s > 0 ? out->model_flop / out->step_s / (double)p->gpus / 1e12 : NAN;
    double peak = cfg.gpu->peak_flop_per_s[EST_DT_BF16];
    out->mfu =
        opt->backend == RT_BACKEND_CUDA && peak > 0 ? out->tflops_per_gpu * 1e12 / peak : NAN;
    int ff = atomic_load(&first_fail);
    if (ff >= 0) {
        for (int i = 0; i < nrun; i++) {
            if (slots[i].r.rank == ff) {
                st = slots[i].st;
                if (diag) {
                    *diag = slots[i].diag;
                }
                if (out->oom) {
                    memcpy(out->oom_msg, slots[i].diag.msg, sizeof out->oom_msg);
                    out->oom_msg[sizeof out->oom_msg - 1] = '\0';
                }
            }
        }
        if (st != EST_ENOMEM) {
            rt_report_free(out);
        }
    }
done:
    free(slots);
    free(losses);
    free(th);
    rt_world_destroy(w);
    return st;
}
