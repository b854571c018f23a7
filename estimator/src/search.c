/* search.c -- exhaustive enumeration of parallel configurations, ranked by throughput.
 *
 * Not here: the cost models (steptime.c, memory.c). The loop nests over tp, pp (+ uneven split),
 * vpp, cp, ep, zero/fsdp, mbs, recompute, sp and rank order; each candidate is resolved with
 * est_config_resolve(), timed with est_step_time_ex() and sized with est_memory(). The K best
 * fitting ones are kept in a fixed min-heap (caller's array). docs/time.md#search.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "est/search.h"

// ---------------------------------------------------------------------------
// helpers

typedef struct sctx {
    const est_config *base;
    const est_search_space *sp;
    est_time_opts opts;
    est_coeffs coeffs;
    est_search_result *top;
    int cap;
    int n;
    est_search_stats *st;
    est_memory_report mem; /* scratch */
} sctx;

static est_reject classify(const char *msg)
{
    if (strncmp(msg, "gbs", 3) == 0) {
        return EST_REJ_GBS;
    }
    if (strncmp(msg, "seq", 3) == 0) {
        return EST_REJ_SEQ;
    }
    if (strncmp(msg, "layers", 6) == 0 || strncmp(msg, "vpp", 3) == 0 ||
        strncmp(msg, "first", 5) == 0 || strncmp(msg, "recompute_layers", 16) == 0) {
        return EST_REJ_LAYERS;
    }
    if (strncmp(msg, "ep", 2) == 0) {
        return EST_REJ_EP;
    }
    if (strncmp(msg, "zero", 4) == 0 || strncmp(msg, "fsdp", 4) == 0 ||
        strncmp(msg, "framework", 9) == 0) {
        return EST_REJ_FRAMEWORK;
    }
    return EST_REJ_OTHER;
}

static void reject(sctx *c, est_reject r, const est_diag *d)
{
    c->st->rejected[r]++;
    if (c->st->example[r][0] == '\0') {
        size_t n = strlen(d->msg);
        if (n >= sizeof c->st->example[r]) {
            n = sizeof c->st->example[r] - 1;
        }
        memcpy(c->st->example[r], d->msg, n);
        c->st->example[r][n] = '\0';
    }
}

/* min-heap on tokens/s: the root is the slowest kept result */
static bool worse(const est_search_result *a, const est_search_result *b)
{
    return a->time.tokens_per_s < b->time.tokens_per_s;
}

static void swap_res(est_search_result *a, est_search_result *b)
{
    est_search_result t = *a;
    *a = *b;
    *b = t;
}

static void sift_down(est_search_result *h, int n, int i)
{
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && worse(&h[l], &h[m])) {
            m = l;
        }
        if (r < n && worse(&h[r], &h[m])) {
            m = r;
        }
        if (m == i) {
            return;
        }
        swap_res(&h[i], &h[m]);
        i = m;
    }
}

static void sift_up(est_search_result *h, int i)
{
    while (i > 0) {
        int p = (i - 1) / 2;
        if (!worse(&h[i], &h[p])) {
            return;
        }
        swap_res(&h[i], &h[p]);
        i = p;
    }
}

static void keep(sctx *c, const est_parallel *par, est_rank_order order, const est_time_report *t)
{
    if (c->cap <= 0) {
        return;
    }
    if (c->n == c->cap && t->tokens_per_s <= c->top[0].time.tokens_per_s) {
        return;
    }
    est_search_result *slot = c->n < c->cap ? &c->top[c->n] : &c->top[0];
    slot->par = *par;
    slot->order = order;
    slot->time = *t;
    slot->memory = c->mem;
    if (c->n < c->cap) {
        sift_up(c->top, c->n);
        c->n++;
    } else {
        sift_down(c->top, c->n, 0);
    }
}

static void evaluate(sctx *c, const est_parallel *par)
{
    est_config cfg = *c->base;
    cfg.par = *par;
    est_diag d;
    d.msg[0] = '\0';
    c->st->evaluated++;
    est_status s = est_config_resolve(&cfg, &d);
    if (s != EST_OK) {
        reject(c, classify(d.msg), &d);
        return;
    }
    if (est_memory(&cfg, &c->mem, &d) != EST_OK) {
        reject(c, EST_REJ_OTHER, &d);
        return;
    }
    int orders = c->sp->try_orders && (cfg.par.pp > 1 && cfg.par.dp > 1) ? EST_ORDER_COUNT : 1;
    for (int o = 0; o < orders; o++) {
        est_time_opts opts = c->opts;
        opts.order = o == 0 ? c->opts.order : (est_rank_order)o;
        est_time_report t;
        if (est_step_time_ex(&cfg, &opts, &t, &d) != EST_OK) {
            reject(c, EST_REJ_TIME, &d);
            return;
        }
        if (o == 0) {
            c->st->valid++;
            if (c->mem.worst.total < c->st->min_total_bytes) {
                c->st->min_total_bytes = c->mem.worst.total;
            }
            if (!c->mem.fits) {
                return;
            }
            c->st->fitting++;
        }
        keep(c, &cfg.par, opts.order, &t);
    }
}

static bool divides(int64_t a, int64_t b)
{
    return a > 0 && b % a == 0;
}

/* zero/fsdp variants of the framework: megatron 0/1, deepspeed 0..3, fsdp full/grad-op/hybrid */
static int n_shardings(est_framework fw)
{
    switch (fw) {
    case EST_FW_MEGATRON: return 2;
    case EST_FW_DEEPSPEED: return 4;
    case EST_FW_FSDP: return 3;
    default: return 1;
    }
}

static void set_sharding(est_parallel *p, int i)
{
    p->zero = 0;
    p->fsdp = EST_FSDP_NONE;
    switch (p->framework) {
    case EST_FW_MEGATRON:
    case EST_FW_DEEPSPEED: p->zero = i; break;
    case EST_FW_FSDP:
        p->fsdp = i == 0 ? EST_FSDP_FULL : (i == 1 ? EST_FSDP_GRAD_OP : EST_FSDP_HYBRID);
        break;
    default: break;
    }
}

/* inner loops: everything below (tp, pp, split, vpp, cp) */
static void inner(sctx *c, est_parallel p)
{
    const est_model *m = c->base->model;
    int64_t dpc = p.gpus / ((int64_t)p.tp * p.pp * p.cp); /* dp */
    int64_t per_rank = dpc > 0 ? p.gbs / dpc : 0;
    /* ep: divisors of experts that divide dp*cp (MoE only) */
    int64_t max_ep = m->experts > 0 ? m->experts : 1;
    for (int64_t ep = 1; ep <= max_ep; ep++) {
        if (m->experts > 0 && (!divides(ep, m->experts) || !divides(ep, dpc * p.cp))) {
            continue;
        }
        p.ep = (int)ep;
        for (int z = 0; z < n_shardings(p.framework); z++) {
            set_sharding(&p, z);
            /* mbs: divisors of gbs/dp; a batch that cannot be split is evaluated once (mbs 1)
               so that the rejection is counted */
            int64_t lim = per_rank > 0 && p.gbs % dpc == 0 ? per_rank : 1;
            if (c->sp->max_mbs > 0 && lim > c->sp->max_mbs) {
                lim = c->sp->max_mbs;
            }
            for (int64_t b = 1; b <= lim; b++) {
                if (lim > 1 && per_rank % b != 0) {
                    continue;
                }
                p.mbs = b;
                for (int rc = 0; rc < EST_RECOMPUTE_COUNT; rc++) {
                    p.recompute = (est_recompute)rc;
                    p.recompute_layers = 0;
                    for (int s = 0; s < (p.tp > 1 ? 2 : 1); s++) {
                        p.sp = s == 1;
                        evaluate(c, &p);
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// public

est_search_space est_search_space_default(void)
{
    est_search_space s;
    memset(&s, 0, sizeof s);
    s.uneven_pp = true;
    s.try_orders = false;
    s.fixed_framework = true;
    return s;
}

const char *est_reject_name(est_reject r)
{
    static const char *names[EST_REJ_COUNT] = {"gbs",       "seq",   "layers",    "ep",
                                               "framework", "other", "time model"};
    return (int)r >= 0 && r < EST_REJ_COUNT ? names[r] : "unknown";
}

est_status est_search(const est_config *base, const est_search_space *space,
                      const est_time_opts *opts, est_search_result *top, int cap, int *n_top,
                      est_search_stats *stats, est_diag *diag)
{
    if (base == NULL || base->model == NULL || base->gpu == NULL || base->cluster == NULL ||
        stats == NULL || (cap > 0 && top == NULL)) {
        return EST_FAIL(diag, EST_EINVAL, "search: base config, profiles and stats are required");
    }
    memset(stats, 0, sizeof *stats);
    stats->min_total_bytes = UINT64_MAX;
    if (n_top != NULL) {
        *n_top = 0;
    }
    est_status s = est_model_validate(base->model, diag);
    if (s != EST_OK) {
        return s;
    }
    const est_parallel *bp = &base->par;
    if (bp->gpus <= 0) {
        return EST_FAIL(diag, EST_EINVAL, "gpus: %lld must be positive", (long long)bp->gpus);
    }
    if (bp->gbs <= 0) {
        return EST_FAIL(diag, EST_EINVAL, "gbs: the search needs a global batch (--gbs)");
    }
    est_search_space sp = space != NULL ? *space : est_search_space_default();
    sctx c;
    memset(&c, 0, sizeof c);
    c.base = base;
    c.sp = &sp;
    c.opts = opts != NULL ? *opts : est_time_opts_default();
    if (c.opts.coeffs == NULL) {
        c.coeffs = est_coeffs_from_hw(base->gpu, base->cluster);
        c.opts.coeffs = &c.coeffs;
    }
    c.top = top;
    c.cap = cap;
    c.st = stats;
    const est_model *m = base->model;
    int max_tp = sp.max_tp > 0 ? sp.max_tp : base->cluster->gpus_per_node;
    int64_t max_pp = sp.max_pp > 0 ? sp.max_pp : m->layers;
    int max_cp = sp.max_cp > 0 ? sp.max_cp : 16;
    est_parallel p = *bp;
    p.first_stage_layers = 0;
    p.last_stage_layers = 0;
    for (int tp = 1; tp <= max_tp; tp++) {
        if (!divides(tp, m->heads) || !divides(tp, m->kv_heads) || !divides(tp, bp->gpus)) {
            continue;
        }
        p.tp = tp;
        for (int64_t pp = 1; pp <= max_pp && pp <= bp->gpus / tp; pp++) {
            if (!divides(pp, bp->gpus / tp)) {
                continue;
            }
            p.pp = (int)pp;
            /* even split, or (pp not dividing L) middle stages of ceil(L/pp) layers and the
               rest shared by the first and last stages */
            int64_t L = m->layers, k = L / pp, first = 0, last = 0;
            if (L % pp != 0) {
                if (!sp.uneven_pp || pp < 3) {
                    continue;
                }
                k = (L + pp - 1) / pp;
                int64_t rest = L - (pp - 2) * k;
                if (rest < 2) {
                    continue;
                }
                first = rest / 2;
                last = rest - first;
            }
            p.first_stage_layers = first;
            p.last_stage_layers = last;
            int64_t max_v = pp > 1 ? k : 1;
            if (first > 0) {
                max_v = 1; /* interleaving needs equal chunks */
            }
            if (sp.max_vpp > 0 && max_v > sp.max_vpp) {
                max_v = sp.max_vpp;
            }
            for (int64_t v = 1; v <= max_v; v++) {
                if (!divides(v, k)) {
                    continue;
                }
                p.vpp = (int)v;
                for (int cp = 1; cp <= max_cp; cp *= 2) {
                    int64_t tpc = (int64_t)tp * pp * cp;
                    if (!divides(tpc, bp->gpus)) {
                        break;
                    }
                    p.cp = cp;
                    inner(&c, p);
                }
            }
        }
    }
    /* best first: heap-sort the kept results by decreasing throughput */
    for (int n = c.n; n > 1; n--) {
        swap_res(&top[0], &top[n - 1]);
        sift_down(top, n - 1, 0);
    }
    if (n_top != NULL) {
        *n_top = c.n;
    }
    if (stats->valid == 0) {
        /* the reason that rejected the most candidates */
        int worst = 0;
        for (int r = 1; r < EST_REJ_COUNT; r++) {
            if (stats->rejected[r] > stats->rejected[worst]) {
                worst = r;
            }
        }
        if (stats->evaluated == 0) {
            return EST_FAIL(diag, EST_EINVAL,
                            "no candidate: no tp <= %d divides heads=%lld, kv_heads=%lld and "
                            "gpus=%lld",
                            max_tp, (long long)m->heads, (long long)m->kv_heads,
                            (long long)bp->gpus);
        }
        return EST_FAIL(diag, EST_EINVAL,
                        "no valid configuration: %llu of %llu candidates rejected by %s (e.g. %s)",
                        (unsigned long long)stats->rejected[worst],
                        (unsigned long long)stats->evaluated, est_reject_name((est_reject)worst),
                        stats->example[worst]);
    }
    if (stats->fitting == 0) {
        return EST_FAIL(diag, EST_EINVAL,
                        "memory: none of the %llu valid configurations fits; the smallest needs "
                        "%.1f GiB per GPU of %.1f GiB",
                        (unsigned long long)stats->valid,
                        (double)stats->min_total_bytes / 1073741824.0,
                        (double)base->gpu->memory_bytes / 1073741824.0);
    }
    return EST_OK;
}
