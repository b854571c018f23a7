/* state.c -- the dashboard's state and its key handler (see state.h). Pure: no I/O, no terminal;
 * the estimator is reached only through engine.c.
 *
 * Edits change st->setup.cfg.par (the configuration as the user set it) and re-estimate at once.
 * A combination the resolver rejects stays in the editor and its reason is shown, never applied
 * silently: the panels then show the reason instead of numbers, and 'r' goes back to the last
 * configuration that resolved.
 */
#include "tui/state.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui/canvas.h"
#include "tui/format.h"

static const char *const field_labels[TUI_F_COUNT] = {
    "model",     "GPU",         "cluster",      "GPUs",      "TP",        "SP",
    "PP",        "VPP",         "CP",           "EP",        "DP",        "ZeRO",
    "FSDP",      "micro-batch", "global batch", "sequence",  "recompute", "precision",
    "framework", "attention",   "token budget", "$/GPU-hour"};

const char *tui_field_label(tui_field f)
{
    return (f >= 0 && f < TUI_F_COUNT) ? field_labels[f] : "?";
}

bool tui_field_derived(tui_field f)
{
    return f == TUI_F_DP;
}

void tui_state_message(tui_state *st, tui_msg_level level, const char *text)
{
    st->msg_level = level;
    snprintf(st->msg, sizeof st->msg, "%s", text);
}

/* The configuration's pointers must point at this state's profiles (the setup may have been
 * copied in). */
static void repoint(tui_state *st)
{
    st->setup.cfg.model = &st->setup.model;
    st->setup.cfg.gpu = &st->setup.gpu;
    st->setup.cfg.cluster = &st->setup.cluster;
}

void tui_state_init(tui_state *st, const cli_setup *setup)
{
    memset(st, 0, sizeof *st);
    st->setup = *setup;
    repoint(st);
    st->token_budget = 1e12;
    st->usd_per_gpu_hour = NAN;
    st->page = TUI_PAGE_MAIN;
    st->focus = TUI_FOCUS_CONFIG;
    st->field = TUI_F_TP;
    st->color = true;
    st->last_good = st->setup.cfg.par;
    tui_state_recompute(st);
}

void tui_state_recompute(tui_state *st)
{
    est_config c;
    est_status s;
    est_status ts = EST_OK;
    est_diag d = {{0}, NULL, 0};
    est_diag td = {{0}, NULL, 0};
    char need[32];
    char usable[32];
    char room[32];
    repoint(st);
    c = st->setup.cfg;
    s = tui_engine_estimate(&c, &st->setup.coeffs, &st->mem, &st->time, &ts, &td, &d);
    if (s != EST_OK) {
        st->ok = false;
        st->time_ok = false;
        snprintf(st->error, sizeof st->error, "%s", d.msg[0] ? d.msg : est_status_str(s));
        snprintf(st->msg, sizeof st->msg, "invalid: %.200s ('r' reverts)", st->error);
        st->msg_level = TUI_MSG_ERROR;
        return;
    }
    st->ok = true;
    st->error[0] = '\0';
    st->cfg = c;
    st->last_good = st->setup.cfg.par;
    st->time_ok = (ts == EST_OK);
    if (st->time_ok) {
        st->time_error[0] = '\0';
    } else {
        snprintf(st->time_error, sizeof st->time_error, "%s",
                 td.msg[0] ? td.msg : est_status_str(ts));
    }
    tui_fmt_bytes(need, sizeof need, (double)st->mem.worst.total);
    tui_fmt_bytes(usable, sizeof usable, (double)st->mem.usable_bytes);
    if (st->mem.fits) {
        tui_fmt_bytes(room, sizeof room, (double)(st->mem.usable_bytes - st->mem.worst.total));
        snprintf(st->msg, sizeof st->msg, "fits: %s of %s usable, headroom %s", need, usable, room);
        st->msg_level = TUI_MSG_INFO;
    } else {
        tui_fmt_bytes(room, sizeof room, (double)(st->mem.worst.total - st->mem.usable_bytes));
        snprintf(st->msg, sizeof st->msg, "does not fit: needs %s, %s usable (short by %s)", need,
                 usable, room);
        st->msg_level = TUI_MSG_WARN;
    }
}

// ---------------------------------------------------------------------------
// values of the rows

void tui_field_value(const tui_state *st, tui_field f, char *buf, size_t cap)
{
    const est_parallel *p = &st->setup.cfg.par;
    switch (f) {
    case TUI_F_MODEL: snprintf(buf, cap, "%s", st->setup.model.name); break;
    case TUI_F_GPU: snprintf(buf, cap, "%s", st->setup.gpu.name); break;
    case TUI_F_CLUSTER:
        if (st->setup.cluster_arg[0]) {
            snprintf(buf, cap, "%s", st->setup.cluster.name);
        } else {
            snprintf(buf, cap, "default, %d/node", st->setup.cluster.gpus_per_node);
        }
        break;
    case TUI_F_GPUS: snprintf(buf, cap, "%lld", (long long)p->gpus); break;
    case TUI_F_TP: snprintf(buf, cap, "%d", p->tp); break;
    case TUI_F_SP: snprintf(buf, cap, "%s", p->sp ? "on" : "off"); break;
    case TUI_F_PP: snprintf(buf, cap, "%d", p->pp); break;
    case TUI_F_VPP: snprintf(buf, cap, "%d", p->vpp < 1 ? 1 : p->vpp); break;
    case TUI_F_CP: snprintf(buf, cap, "%d", p->cp); break;
    case TUI_F_EP: snprintf(buf, cap, "%d", p->ep); break;
    case TUI_F_DP:
        if (st->ok) {
            snprintf(buf, cap, "%d", st->cfg.par.dp);
        } else {
            snprintf(buf, cap, "-");
        }
        break;
    case TUI_F_ZERO: snprintf(buf, cap, "%d", p->zero); break;
    case TUI_F_FSDP: snprintf(buf, cap, "%s", est_fsdp_name(p->fsdp)); break;
    case TUI_F_MBS: snprintf(buf, cap, "%lld", (long long)p->mbs); break;
    case TUI_F_GBS:
        if (p->gbs > 0) {
            snprintf(buf, cap, "%lld", (long long)p->gbs);
        } else if (st->ok) {
            snprintf(buf, cap, "auto (%lld)", (long long)st->cfg.par.gbs);
        } else {
            snprintf(buf, cap, "auto");
        }
        break;
    case TUI_F_SEQ: snprintf(buf, cap, "%lld", (long long)p->seq); break;
    case TUI_F_RECOMPUTE: snprintf(buf, cap, "%s", est_recompute_name(p->recompute)); break;
    case TUI_F_PRECISION: snprintf(buf, cap, "%s", est_precision_name(p->precision)); break;
    case TUI_F_FRAMEWORK: snprintf(buf, cap, "%s", est_framework_name(p->framework)); break;
    case TUI_F_ATTENTION: snprintf(buf, cap, "%s", est_attention_name(p->attention)); break;
    case TUI_F_TOKENS: tui_fmt_si(buf, cap, st->token_budget); break;
    case TUI_F_COST:
        if (isnan(st->usd_per_gpu_hour)) {
            snprintf(buf, cap, "none");
        } else {
            snprintf(buf, cap, "%.2f", st->usd_per_gpu_hour);
        }
        break;
    case TUI_F_COUNT:
    default: snprintf(buf, cap, "?"); break;
    }
}

// ---------------------------------------------------------------------------
// changing a row with +/-

static int64_t times2(int64_t v, int dir, int64_t lo, int64_t hi)
{
    int64_t n = dir > 0 ? v * 2 : v / 2;
    if (v < lo) {
        n = lo;
    }
    return n < lo ? lo : (n > hi ? hi : n);
}

/* Next divisor of n after v in direction dir (v itself if none). */
static int64_t next_divisor(int64_t n, int64_t v, int dir)
{
    for (int64_t k = v + dir; k >= 1 && k <= n; k += dir) {
        if (n % k == 0) {
            return k;
        }
    }
    return v;
}

static int cycle(int v, int n, int dir)
{
    return ((v + dir) % n + n) % n;
}

static int name_index(const tui_names *names, const char *arg, const char *name)
{
    for (int i = 0; i < names->n; i++) {
        if (strcmp(names->name[i], arg) == 0 || strcmp(names->name[i], name) == 0) {
            return i;
        }
    }
    return -1;
}

/* Sets a profile argument, remembering the old ones for tui_state_reload(). */
static int set_profile_arg(tui_state *st, int which, const char *value)
{
    char *args[3] = {st->setup.model_arg, st->setup.gpu_arg, st->setup.cluster_arg};
    snprintf(st->prev_arg[0], sizeof st->prev_arg[0], "%s", st->setup.model_arg);
    snprintf(st->prev_arg[1], sizeof st->prev_arg[1], "%s", st->setup.gpu_arg);
    snprintf(st->prev_arg[2], sizeof st->prev_arg[2], "%s", st->setup.cluster_arg);
    snprintf(args[which], sizeof st->setup.model_arg, "%s", value);
    if (which == 2 && value[0] != '\0') {
        st->setup.gpu_arg[0] = '\0'; /* a cluster brings its own GPU */
    }
    return TUI_ACT_RELOAD;
}

static int cycle_profile(tui_state *st, int which, int dir)
{
    const tui_names *names = which == 0 ? &st->models : (which == 1 ? &st->gpus : &st->clusters);
    const char *args[3] = {st->setup.model_arg, st->setup.gpu_arg, st->setup.cluster_arg};
    const char *cur[3] = {st->setup.model.name, st->setup.gpu.name, st->setup.cluster.name};
    int n = names->n + (which == 2 ? 1 : 0); /* clusters: position 0 is "the GPU's default" */
    int i;
    if (names->n == 0) {
        tui_state_message(st, TUI_MSG_WARN,
                          "no built-in profiles listed; press Enter to type a name");
        return TUI_ACT_NONE;
    }
    i = name_index(names, args[which], which == 2 && args[2][0] == '\0' ? "" : cur[which]);
    if (which == 2) {
        i = args[2][0] == '\0' ? 0 : i + 1;
    }
    i = (i < 0) ? (dir > 0 ? 0 : n - 1) : cycle(i, n, dir);
    if (which == 2) {
        return set_profile_arg(st, 2, i == 0 ? "" : names->name[i - 1]);
    }
    return set_profile_arg(st, which, names->name[i]);
}

static int change(tui_state *st, int dir)
{
    est_parallel *p = &st->setup.cfg.par;
    switch ((tui_field)st->field) {
    case TUI_F_MODEL: return cycle_profile(st, 0, dir);
    case TUI_F_GPU: return cycle_profile(st, 1, dir);
    case TUI_F_CLUSTER: return cycle_profile(st, 2, dir);
    case TUI_F_GPUS:
        p->gpus = times2(p->gpus, dir, 1, (int64_t)1 << 24);
        st->setup.gpus_given = true;
        break;
    case TUI_F_TP: p->tp = (int)times2(p->tp, dir, 1, 1 << 16); break;
    case TUI_F_SP: p->sp = !p->sp; break;
    case TUI_F_PP: p->pp = (int)next_divisor(st->setup.model.layers, p->pp, dir); break;
    case TUI_F_VPP: p->vpp = (int)(p->vpp + dir < 1 ? 1 : p->vpp + dir); break;
    case TUI_F_CP: p->cp = (int)times2(p->cp, dir, 1, 1 << 16); break;
    case TUI_F_EP: p->ep = (int)times2(p->ep, dir, 1, 1 << 16); break;
    case TUI_F_DP:
        tui_state_message(st, TUI_MSG_WARN, "DP is derived: GPUs / (TP x PP x CP); change GPUs");
        return TUI_ACT_NONE;
    case TUI_F_ZERO:
        p->zero = p->zero + dir < 0 ? 0 : (p->zero + dir > 3 ? 3 : p->zero + dir);
        break;
    case TUI_F_FSDP: p->fsdp = (est_fsdp)cycle((int)p->fsdp, 4, dir); break;
    case TUI_F_MBS: p->mbs = times2(p->mbs, dir, 1, 1 << 20); break;
    case TUI_F_GBS:
        p->gbs = times2(p->gbs > 0 ? p->gbs : (st->ok ? st->cfg.par.gbs : p->mbs), dir, 1, 1 << 30);
        break;
    case TUI_F_SEQ: p->seq = times2(p->seq, dir, 1, (int64_t)1 << 27); break;
    case TUI_F_RECOMPUTE:
        p->recompute = (est_recompute)cycle((int)p->recompute, EST_RECOMPUTE_COUNT, dir);
        break;
    case TUI_F_PRECISION:
        p->precision = (est_precision)cycle((int)p->precision, EST_PREC_COUNT, dir);
        break;
    case TUI_F_FRAMEWORK:
        p->framework = (est_framework)cycle((int)p->framework, EST_FW_COUNT, dir);
        break;
    case TUI_F_ATTENTION:
        p->attention = (est_attention)cycle((int)p->attention, EST_ATTN_COUNT, dir);
        break;
    case TUI_F_TOKENS:
        st->token_budget = dir > 0 ? st->token_budget * 2 : st->token_budget / 2;
        return TUI_ACT_NONE;
    case TUI_F_COST:
        if (isnan(st->usd_per_gpu_hour)) {
            st->usd_per_gpu_hour = 2.0;
        } else {
            st->usd_per_gpu_hour += 0.25 * dir;
            if (st->usd_per_gpu_hour < 0) {
                st->usd_per_gpu_hour = 0;
            }
        }
        return TUI_ACT_NONE;
    case TUI_F_COUNT:
    default: return TUI_ACT_NONE;
    }
    tui_state_recompute(st);
    return TUI_ACT_NONE;
}

// ---------------------------------------------------------------------------
// typing a value

/* Parses a whole integer in [lo, hi]; on failure explains in the status line and returns -1. */
static int typed_int(tui_state *st, const char *text, long long lo, long long hi, long long *out)
{
    char *end = NULL;
    long long v;
    char m[256];
    errno = 0;
    v = strtoll(text, &end, 10);
    if (end == text || *end != '\0' || errno != 0 || v < lo || v > hi) {
        snprintf(m, sizeof m, "%s: '%.40s' is not a whole number in %lld..%lld",
                 tui_field_label((tui_field)st->field), text, lo, hi);
        tui_state_message(st, TUI_MSG_ERROR, m);
        return -1;
    }
    *out = v;
    return 0;
}

static int typed_name(tui_state *st, const char *text, int v, const char *choices)
{
    char m[256];
    if (v < 0) {
        snprintf(m, sizeof m, "%s: unknown '%.40s' (one of %s)",
                 tui_field_label((tui_field)st->field), text, choices);
        tui_state_message(st, TUI_MSG_ERROR, m);
    }
    return v;
}

static int commit(tui_state *st, const char *text)
{
    est_parallel *p = &st->setup.cfg.par;
    long long v = 0;
    double d = 0;
    int e;
    char m[256];
    switch ((tui_field)st->field) {
    case TUI_F_MODEL: return text[0] ? set_profile_arg(st, 0, text) : TUI_ACT_NONE;
    case TUI_F_GPU: return text[0] ? set_profile_arg(st, 1, text) : TUI_ACT_NONE;
    case TUI_F_CLUSTER: return set_profile_arg(st, 2, strcmp(text, "default") == 0 ? "" : text);
    case TUI_F_GPUS:
        if (typed_int(st, text, 1, 1LL << 24, &v) == 0) {
            p->gpus = v;
            st->setup.gpus_given = true;
            break;
        }
        return TUI_ACT_NONE;
    case TUI_F_TP:
    case TUI_F_PP:
    case TUI_F_VPP:
    case TUI_F_CP:
    case TUI_F_EP:
        if (typed_int(st, text, 1, 1 << 16, &v) != 0) {
            return TUI_ACT_NONE;
        }
        if (st->field == TUI_F_TP) {
            p->tp = (int)v;
        } else if (st->field == TUI_F_PP) {
            p->pp = (int)v;
        } else if (st->field == TUI_F_VPP) {
            p->vpp = (int)v;
        } else if (st->field == TUI_F_CP) {
            p->cp = (int)v;
        } else {
            p->ep = (int)v;
        }
        break;
    case TUI_F_SP:
        if (strcmp(text, "on") == 0 || strcmp(text, "1") == 0 || strcmp(text, "true") == 0) {
            p->sp = true;
        } else if (strcmp(text, "off") == 0 || strcmp(text, "0") == 0 ||
                   strcmp(text, "false") == 0) {
            p->sp = false;
        } else {
            typed_name(st, text, -1, "on, off");
            return TUI_ACT_NONE;
        }
        break;
    case TUI_F_DP: return TUI_ACT_NONE;
    case TUI_F_ZERO:
        if (typed_int(st, text, 0, 3, &v) != 0) {
            return TUI_ACT_NONE;
        }
        p->zero = (int)v;
        break;
    case TUI_F_FSDP:
        if ((e = typed_name(st, text, est_fsdp_parse(text), "none, full, hybrid, grad-op")) < 0) {
            return TUI_ACT_NONE;
        }
        p->fsdp = (est_fsdp)e;
        break;
    case TUI_F_MBS:
        if (typed_int(st, text, 1, 1 << 20, &v) != 0) {
            return TUI_ACT_NONE;
        }
        p->mbs = v;
        break;
    case TUI_F_GBS:
        if (strcmp(text, "auto") == 0) {
            p->gbs = 0;
        } else if (typed_int(st, text, 0, 1LL << 30, &v) == 0) {
            p->gbs = v;
        } else {
            return TUI_ACT_NONE;
        }
        break;
    case TUI_F_SEQ:
        if (typed_int(st, text, 1, 1LL << 27, &v) != 0) {
            return TUI_ACT_NONE;
        }
        p->seq = v;
        break;
    case TUI_F_RECOMPUTE:
        if ((e = typed_name(st, text, est_recompute_parse(text), "none, selective, full")) < 0) {
            return TUI_ACT_NONE;
        }
        p->recompute = (est_recompute)e;
        break;
    case TUI_F_PRECISION:
        if ((e = typed_name(st, text, est_precision_parse(text),
                            "fp32, bf16-mixed, fp16-mixed, bf16, fp8-mixed")) < 0) {
            return TUI_ACT_NONE;
        }
        p->precision = (est_precision)e;
        break;
    case TUI_F_FRAMEWORK:
        if ((e = typed_name(st, text, est_framework_parse(text),
                            "megatron, deepspeed, fsdp, pytorch")) < 0) {
            return TUI_ACT_NONE;
        }
        p->framework = (est_framework)e;
        break;
    case TUI_F_ATTENTION:
        if ((e = typed_name(st, text, est_attention_parse(text), "flash, standard")) < 0) {
            return TUI_ACT_NONE;
        }
        p->attention = (est_attention)e;
        break;
    case TUI_F_TOKENS:
        if (tui_parse_count(text, &d) != 0 || d <= 0) {
            snprintf(m, sizeof m, "token budget: '%.40s' is not a positive count (e.g. 15T)", text);
            tui_state_message(st, TUI_MSG_ERROR, m);
            return TUI_ACT_NONE;
        }
        st->token_budget = d;
        return TUI_ACT_NONE;
    case TUI_F_COST:
        if (strcmp(text, "none") == 0 || text[0] == '\0') {
            st->usd_per_gpu_hour = NAN;
        } else if (tui_parse_count(text, &d) == 0) {
            st->usd_per_gpu_hour = d;
        } else {
            snprintf(m, sizeof m, "$/GPU-hour: '%.40s' is not a price (e.g. 2.50, or none)", text);
            tui_state_message(st, TUI_MSG_ERROR, m);
        }
        return TUI_ACT_NONE;
    case TUI_F_COUNT:
    default: return TUI_ACT_NONE;
    }
    tui_state_recompute(st);
    return TUI_ACT_NONE;
}

static int edit_key(tui_state *st, int key)
{
    size_t len = strlen(st->edit);
    if (key == TUI_KEY_ESC || key == 27) {
        st->editing = false;
        tui_state_message(st, TUI_MSG_INFO, "edit cancelled");
        return TUI_ACT_NONE;
    }
    if (key == TUI_KEY_ENTER || key == '\n' || key == '\r') {
        char text[sizeof st->edit];
        char *s = text;
        size_t n;
        st->editing = false;
        snprintf(text, sizeof text, "%s", st->edit);
        while (isspace((unsigned char)*s)) {
            s++;
        }
        n = strlen(s);
        while (n > 0 && isspace((unsigned char)s[n - 1])) {
            s[--n] = '\0';
        }
        return commit(st, s);
    }
    if (key == TUI_KEY_BACKSPACE || key == 127 || key == 8) {
        while (len > 0 && ((unsigned char)st->edit[len - 1] & 0xC0) == 0x80) {
            len--; /* continuation bytes of a UTF-8 character */
        }
        if (len > 0) {
            len--;
        }
        st->edit[len] = '\0';
        return TUI_ACT_NONE;
    }
    if (key >= 0x20 && key < 0x110000 && key != 127) {
        char enc[4];
        size_t n = tui_utf8_encode((uint32_t)key, enc);
        if (len + n < sizeof st->edit) {
            memcpy(st->edit + len, enc, n);
            st->edit[len + n] = '\0';
        }
    }
    return TUI_ACT_NONE;
}

// ---------------------------------------------------------------------------
// the key handler

static void move_sel(int *sel, int n, int delta)
{
    int v = *sel + delta;
    if (v >= n) {
        v = n - 1;
    }
    if (v < 0) {
        v = 0;
    }
    *sel = v;
}

static int load_hit(tui_state *st)
{
    const est_search_result *h;
    est_parallel *p = &st->setup.cfg.par;
    char m[256];
    char done[200];
    if (st->search_sel < 0 || st->search_sel >= st->search.n_hits) {
        tui_state_message(st, TUI_MSG_WARN, "no search result to load; press s to search");
        return TUI_ACT_NONE;
    }
    h = &st->search.hits[st->search_sel];
    p->gpus = h->par.gpus;
    p->tp = h->par.tp;
    p->sp = h->par.sp;
    p->pp = h->par.pp;
    p->vpp = h->par.vpp;
    p->cp = h->par.cp;
    p->ep = h->par.ep;
    p->zero = h->par.zero;
    p->fsdp = h->par.fsdp;
    p->mbs = h->par.mbs;
    p->gbs = h->par.gbs;
    p->recompute = h->par.recompute;
    p->recompute_layers = h->par.recompute_layers;
    tui_state_recompute(st);
    snprintf(done, sizeof done, "%.190s", st->msg);
    snprintf(m, sizeof m, "loaded result #%d (tp %d pp %d dp %d mbs %lld): %s", st->search_sel + 1,
             p->tp, p->pp, st->ok ? st->cfg.par.dp : 0, (long long)p->mbs, done);
    tui_state_message(st, st->msg_level, m);
    st->page = TUI_PAGE_MAIN;
    st->focus = TUI_FOCUS_CONFIG;
    return TUI_ACT_NONE;
}

static int config_key(tui_state *st, int key)
{
    switch (key) {
    case TUI_KEY_UP:
    case 'k': move_sel(&st->field, TUI_F_COUNT, -1); break;
    case TUI_KEY_DOWN:
    case 'j': move_sel(&st->field, TUI_F_COUNT, 1); break;
    case TUI_KEY_PGUP: move_sel(&st->field, TUI_F_COUNT, -8); break;
    case TUI_KEY_PGDN: move_sel(&st->field, TUI_F_COUNT, 8); break;
    case TUI_KEY_HOME:
    case 'g': st->field = 0; break;
    case TUI_KEY_END:
    case 'G': st->field = TUI_F_COUNT - 1; break;
    case TUI_KEY_LEFT:
    case 'h':
    case '-':
    case '_': return change(st, -1);
    case TUI_KEY_RIGHT:
    case 'l':
    case '+':
    case '=': return change(st, 1);
    case TUI_KEY_ENTER:
    case '\n':
    case '\r':
        if (tui_field_derived((tui_field)st->field)) {
            tui_state_message(st, TUI_MSG_WARN,
                              "DP is derived: GPUs / (TP x PP x CP); change GPUs");
            break;
        }
        st->editing = true;
        if (st->field == TUI_F_CLUSTER) {
            snprintf(st->edit, sizeof st->edit, "%s",
                     st->setup.cluster_arg[0] ? st->setup.cluster.name : "default");
        } else if (st->field == TUI_F_GBS && st->setup.cfg.par.gbs == 0) {
            snprintf(st->edit, sizeof st->edit, "auto");
        } else {
            tui_field_value(st, (tui_field)st->field, st->edit, sizeof st->edit);
        }
        tui_state_message(st, TUI_MSG_INFO, "type a value, Enter to apply, Esc to cancel");
        break;
    default: break;
    }
    return TUI_ACT_NONE;
}

static int search_key(tui_state *st, int key)
{
    int n = st->search.n_hits;
    switch (key) {
    case TUI_KEY_UP:
    case 'k': move_sel(&st->search_sel, n, -1); break;
    case TUI_KEY_DOWN:
    case 'j': move_sel(&st->search_sel, n, 1); break;
    case TUI_KEY_PGUP: move_sel(&st->search_sel, n, -10); break;
    case TUI_KEY_PGDN: move_sel(&st->search_sel, n, 10); break;
    case TUI_KEY_HOME:
    case 'g': st->search_sel = 0; break;
    case TUI_KEY_END:
    case 'G': move_sel(&st->search_sel, n, n); break;
    case TUI_KEY_ENTER:
    case '\n':
    case '\r': return load_hit(st);
    default: break;
    }
    return TUI_ACT_NONE;
}

static int calib_key(tui_state *st, int key)
{
    int n = st->calib.n_rows;
    switch (key) {
    case TUI_KEY_UP:
    case 'k': move_sel(&st->calib_top, n, -1); break;
    case TUI_KEY_DOWN:
    case 'j': move_sel(&st->calib_top, n, 1); break;
    case TUI_KEY_PGUP: move_sel(&st->calib_top, n, -10); break;
    case TUI_KEY_PGDN: move_sel(&st->calib_top, n, 10); break;
    case TUI_KEY_HOME:
    case 'g': st->calib_top = 0; break;
    default: break;
    }
    return TUI_ACT_NONE;
}

static void set_page(tui_state *st, tui_page page)
{
    st->page = page;
    st->focus = page == TUI_PAGE_SEARCH
                    ? TUI_FOCUS_SEARCH
                    : (page == TUI_PAGE_CALIB ? TUI_FOCUS_CALIB : TUI_FOCUS_CONFIG);
}

int tui_state_apply_key(tui_state *st, int key)
{
    if (st->help) {
        st->help = false; /* any key closes the overlay; q still quits */
        return (key == 'q' || key == 'Q') ? TUI_ACT_QUIT : TUI_ACT_NONE;
    }
    if (st->editing) {
        return edit_key(st, key);
    }
    switch (key) {
    case 'q':
    case 'Q': return TUI_ACT_QUIT;
    case '?':
    case TUI_KEY_F1: st->help = true; return TUI_ACT_NONE;
    case 's':
    case 'S':
        set_page(st, TUI_PAGE_SEARCH);
        st->search_sel = 0;
        return TUI_ACT_SEARCH;
    case TUI_KEY_ESC:
    case 27: return st->search.running ? TUI_ACT_CANCEL : TUI_ACT_NONE;
    case '1': set_page(st, TUI_PAGE_MAIN); return TUI_ACT_NONE;
    case '2': set_page(st, TUI_PAGE_SEARCH); return TUI_ACT_NONE;
    case '3': set_page(st, TUI_PAGE_CALIB); return TUI_ACT_NONE;
    case TUI_KEY_TAB:
    case '\t':
    case TUI_KEY_BTAB:
        if (st->focus != TUI_FOCUS_CONFIG) {
            st->focus = TUI_FOCUS_CONFIG;
        } else if (st->page == TUI_PAGE_SEARCH) {
            st->focus = TUI_FOCUS_SEARCH;
        } else if (st->page == TUI_PAGE_CALIB) {
            st->focus = TUI_FOCUS_CALIB;
        }
        return TUI_ACT_NONE;
    case 'r':
    case 'R':
        st->setup.cfg.par = st->last_good;
        tui_state_recompute(st);
        return TUI_ACT_NONE;
    default: break;
    }
    switch (st->focus) {
    case TUI_FOCUS_SEARCH: return search_key(st, key);
    case TUI_FOCUS_CALIB: return calib_key(st, key);
    case TUI_FOCUS_CONFIG:
    default: return config_key(st, key);
    }
}
