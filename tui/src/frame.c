/* frame.c -- the search and calibration tables, the title/status/key lines, the help overlay, and
 * tui_frame_render(), which puts one whole frame into a canvas. Pure.
 */
#include "tui/view.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tui/format.h"

static const char *rc_short(est_recompute r)
{
    return r == EST_RECOMPUTE_NONE ? "none" : (r == EST_RECOMPUTE_SELECTIVE ? "sel" : "full");
}

// ---------------------------------------------------------------------------
// search

void tui_search_render(const tui_state *st, tui_canvas *c, tui_rect r)
{
    static const char spin[] = "|/-\\";
    const tui_search *s = &st->search;
    char title[300];
    char line[200];
    int rows = r.rows - 2; /* header + column titles */
    int first;
    if (!s->prepared) {
        snprintf(title, sizeof title, "Search");
    } else if (s->running) {
        snprintf(title, sizeof title, "Search %s on %lld x %s: running %c %.1f s", s->model.name,
                 (long long)s->base.par.gpus, s->gpu.name, spin[(int)(s->elapsed_s * 8) % 4],
                 s->elapsed_s);
    } else {
        snprintf(title, sizeof title,
                 "Search %lld x %s, gbs %lld seq %lld: %llu tried, "
                 "%llu valid, %llu fit (%.2f s)",
                 (long long)s->base.par.gpus, s->gpu.name, (long long)s->base.par.gbs,
                 (long long)s->base.par.seq, (unsigned long long)s->stats.evaluated,
                 (unsigned long long)s->stats.valid, (unsigned long long)s->stats.fitting,
                 s->elapsed_s);
    }
    tui_header_render(c, r, title, st->focus == TUI_FOCUS_SEARCH);
    if (r.rows < 2) {
        return;
    }
    if (!s->prepared) {
        tui_canvas_text(c, r.row + 1, r.col + 1, r.col + r.cols,
                        "press s to search TP/PP/VPP/CP/EP/ZeRO/micro-batch/recompute for this "
                        "model, GPU and count",
                        TUI_ST_DIM);
        return;
    }
    if (s->running) {
        snprintf(line, sizeof line,
                 "searching every configuration (%.1f s so far); keys still "
                 "work, Esc stops",
                 s->elapsed_s);
        tui_canvas_text(c, r.row + 1, r.col + 1, r.col + r.cols, line, TUI_ST_DIM);
        return;
    }
    if (s->n_hits == 0) {
        snprintf(line, sizeof line, "nothing fits: %.180s",
                 s->error[0] ? s->error : "no candidates");
        tui_canvas_text(c, r.row + 1, r.col + 1, r.col + r.cols, line, TUI_ST_ERROR);
        return;
    }
    snprintf(line, sizeof line, "%3s %2s %3s %2s %2s %2s %5s %1s %3s %-4s %9s %8s %6s %5s", "#",
             "TP", "PP", "V", "CP", "EP", "DP", "Z", "mbs", "rc", "memory", "iter", "tok/s", "MFU");
    tui_canvas_text(c, r.row + 1, r.col + 1, r.col + r.cols, line, TUI_ST_DIM);
    first = tui_scroll(0, st->search_sel, rows, s->n_hits);
    for (int i = 0; i < rows && first + i < s->n_hits; i++) {
        const est_search_result *h = &s->hits[first + i];
        char mem[32];
        char it[32];
        char tok[32];
        char mfu[32];
        bool sel = (first + i == st->search_sel);
        tui_style style =
            sel ? (st->focus == TUI_FOCUS_SEARCH ? TUI_ST_SELECTED : TUI_ST_HEADER) : TUI_ST_NORMAL;
        tui_fmt_bytes(mem, sizeof mem, (double)h->memory.worst.total);
        tui_fmt_seconds(it, sizeof it, h->time.iteration_s, st->ascii);
        tui_fmt_si(tok, sizeof tok, h->time.tokens_per_s);
        tui_fmt_percent(mfu, sizeof mfu, h->time.mfu);
        snprintf(line, sizeof line, "%3d %2d %3d %2d %2d %2d %5d %1d %3lld %-4s %9s %8s %6s %5s",
                 first + i + 1, h->par.tp, h->par.pp, h->par.vpp, h->par.cp, h->par.ep, h->par.dp,
                 h->par.zero, (long long)h->par.mbs, rc_short(h->par.recompute), mem, it, tok, mfu);
        if (sel) {
            tui_canvas_fill(c, (tui_rect){r.row + 2 + i, r.col, 1, r.cols}, ' ', style);
        }
        tui_canvas_text(c, r.row + 2 + i, r.col + 1, r.col + r.cols, line, style);
    }
}

// ---------------------------------------------------------------------------
// calibration

static void fmt_metric(const tui_state *st, const char *metric, double v, char *buf, size_t cap)
{
    size_t n = strlen(metric);
    if (n > 6 && strcmp(metric + n - 6, "_bytes") == 0) {
        tui_fmt_bytes(buf, cap, v);
    } else if (n > 2 && strcmp(metric + n - 2, "_s") == 0) {
        tui_fmt_seconds(buf, cap, v, st->ascii);
    } else if (isnan(v)) {
        snprintf(buf, cap, "n/a");
    } else {
        snprintf(buf, cap, "%.4g", v);
    }
}

void tui_calib_render(const tui_state *st, tui_canvas *c, tui_rect r)
{
    const tui_calib *k = &st->calib;
    char title[600];
    char line[300];
    int name_w = 34; /* metric names up to 32 characters, indented by 2 */
    if (k->loaded) {
        snprintf(title, sizeof title, "Calibration: predicted vs measured, %d cases (%s)",
                 k->n_cases, k->path);
    } else {
        snprintf(title, sizeof title, "Calibration: predicted vs measured");
    }
    tui_header_render(c, r, title, st->focus == TUI_FOCUS_CALIB);
    if (r.rows < 2) {
        return;
    }
    if (!k->loaded) {
        snprintf(line, sizeof line,
                 "no validate results%s%.200s; run `llmcal validate` (or pass "
                 "--results FILE)",
                 k->path[0] ? " at " : "", k->path);
        tui_canvas_text(c, r.row + 1, r.col + 1, r.col + r.cols, line, TUI_ST_DIM);
        return;
    }
    snprintf(line, sizeof line, "%-*s %10s %10s %8s", name_w, "case / metric", "predicted",
             "measured", "error");
    tui_canvas_text(c, r.row + 1, r.col + 1, r.col + r.cols, line, TUI_ST_DIM);
    /* a case's name on its own line, its metrics indented below it */
    for (int i = st->calib_top, y = r.row + 2; i < k->n_rows && y < r.row + r.rows; i++) {
        const tui_calib_row *row = &k->rows[i];
        char p[32];
        char m[32];
        char e[32];
        double err = (row->predicted - row->measured) / row->measured;
        tui_style style = TUI_ST_NORMAL;
        if (i == st->calib_top || strcmp(row->case_name, k->rows[i - 1].case_name) != 0) {
            tui_canvas_text(c, y++, r.col + 1, r.col + r.cols, row->case_name, TUI_ST_HEADER);
            if (y >= r.row + r.rows) {
                break;
            }
        }
        fmt_metric(st, row->metric, row->predicted, p, sizeof p);
        fmt_metric(st, row->metric, row->measured, m, sizeof m);
        if (isnan(err) || isinf(err)) {
            snprintf(e, sizeof e, "n/a");
        } else {
            snprintf(e, sizeof e, "%+.1f%%", 100.0 * err);
            style =
                fabs(err) <= 0.10 ? TUI_ST_OK : (fabs(err) <= 0.25 ? TUI_ST_WARN : TUI_ST_ERROR);
        }
        snprintf(line, sizeof line, "  %-*.*s %10s %10s", name_w - 2, name_w - 2, row->metric, p,
                 m);
        tui_canvas_text(c, y, r.col + 1, r.col + r.cols, line, TUI_ST_NORMAL);
        snprintf(line, sizeof line, " %8s", e);
        tui_canvas_text(c, y++, r.col + 1 + name_w + 22, r.col + r.cols, line, style);
    }
}

// ---------------------------------------------------------------------------
// title, status, keys, help

static void title_render(const tui_state *st, tui_canvas *c, tui_rect r)
{
    char line[300];
    static const char *const pages[TUI_PAGE_COUNT] = {"1 main", "2 search", "3 calib"};
    int x;
    tui_canvas_fill(c, r, ' ', TUI_ST_TITLE);
    if (st->ok) {
        snprintf(line, sizeof line, "llmcal  %s on %lld x %s  TP %d PP %d DP %d  %s",
                 st->setup.model.name, (long long)st->cfg.par.gpus, st->setup.gpu.name,
                 st->cfg.par.tp, st->cfg.par.pp, st->cfg.par.dp,
                 st->mem.fits ? "fits" : "DOES NOT FIT");
    } else {
        snprintf(line, sizeof line, "llmcal  %s on %lld x %s  invalid configuration",
                 st->setup.model.name, (long long)st->setup.cfg.par.gpus, st->setup.gpu.name);
    }
    tui_canvas_text(c, r.row, r.col + 1, r.col + r.cols, line, TUI_ST_TITLE);
    x = r.col + r.cols - 30;
    if (x > r.col + (int)strlen(line) + 2) {
        for (int p = 0; p < TUI_PAGE_COUNT; p++) {
            char tab[16];
            snprintf(tab, sizeof tab, p == (int)st->page ? "[%s]" : " %s ", pages[p]);
            x += tui_canvas_text(c, r.row, x, r.col + r.cols, tab,
                                 p == (int)st->page ? TUI_ST_SELECTED : TUI_ST_TITLE);
        }
    }
}

static void status_render(const tui_state *st, tui_canvas *c, tui_rect r)
{
    char line[300];
    tui_style style = st->msg_level == TUI_MSG_ERROR
                          ? TUI_ST_ERROR
                          : (st->msg_level == TUI_MSG_WARN ? TUI_ST_WARN : TUI_ST_NORMAL);
    if (st->search.running) {
        snprintf(line, sizeof line, "searching: %.1f s elapsed, Esc stops", st->search.elapsed_s);
        style = TUI_ST_NORMAL;
    } else {
        snprintf(line, sizeof line, "%s", st->msg);
    }
    tui_canvas_text(c, r.row, r.col + 1, r.col + r.cols, line, style);
}

static void keys_render(const tui_state *st, tui_canvas *c, tui_rect r)
{
    const char *text = st->ascii ? "?:help  up/dn:move  <-/->,+/-:change  Enter:type  s:search  "
                                   "Tab:panel  1/2/3:page  r:revert  q:quit"
                                 : "?:help  \u2191\u2193:move  \u2190\u2192,+/-:change  "
                                   "Enter:type  s:search  Tab:panel  1/2/3:page  r:revert  q:quit";
    tui_canvas_fill(c, r, ' ', TUI_ST_HEADER);
    tui_canvas_text(c, r.row, r.col + 1, r.col + r.cols, text, TUI_ST_HEADER);
}

static const char *const help_lines[] = {
    "llmcal tui: explore a training configuration",
    "",
    "up/down, j/k      select a configuration row (or a result)",
    "left/right, h/l   change the value (also - and +)",
    "Enter             type a value (Enter applies, Esc cancels);",
    "                  on a search result: load it",
    "s                 search this model, GPU and GPU count",
    "Esc               stop a running search",
    "Tab               move between configuration and table",
    "1 2 3             main / search / calibration page",
    "r                 revert to the last valid configuration",
    "?                 this help (any key closes it)",
    "q                 quit",
    "",
    "An invalid combination stays in the editor; the status line",
    "says why. Numbers: llmcal estimate's, for the worst rank.",
};

static void help_render(const tui_state *st, tui_canvas *c, tui_rect r)
{
    int n = (int)(sizeof help_lines / sizeof help_lines[0]);
    uint32_t h = st->ascii ? '-' : 0x2500u;
    uint32_t v = st->ascii ? '|' : 0x2502u;
    tui_canvas_fill(c, r, ' ', TUI_ST_NORMAL);
    for (int x = r.col; x < r.col + r.cols; x++) {
        tui_canvas_set(c, r.row, x, h, TUI_ST_HEADER);
        tui_canvas_set(c, r.row + r.rows - 1, x, h, TUI_ST_HEADER);
    }
    for (int y = r.row; y < r.row + r.rows; y++) {
        tui_canvas_set(c, y, r.col, v, TUI_ST_HEADER);
        tui_canvas_set(c, y, r.col + r.cols - 1, v, TUI_ST_HEADER);
    }
    tui_canvas_set(c, r.row, r.col, st->ascii ? '+' : 0x250Cu, TUI_ST_HEADER);
    tui_canvas_set(c, r.row, r.col + r.cols - 1, st->ascii ? '+' : 0x2510u, TUI_ST_HEADER);
    tui_canvas_set(c, r.row + r.rows - 1, r.col, st->ascii ? '+' : 0x2514u, TUI_ST_HEADER);
    tui_canvas_set(c, r.row + r.rows - 1, r.col + r.cols - 1, st->ascii ? '+' : 0x2518u,
                   TUI_ST_HEADER);
    tui_canvas_text(c, r.row, r.col + 2, r.col + r.cols - 1, " Help ", TUI_ST_HEADER);
    for (int i = 0; i < n && i + 2 < r.rows; i++) {
        tui_canvas_text(c, r.row + 1 + i, r.col + 2, r.col + r.cols - 1, help_lines[i],
                        TUI_ST_NORMAL);
    }
}

// ---------------------------------------------------------------------------
// frame

void tui_frame_render(const tui_state *st, const tui_layout *l, tui_canvas *c)
{
    tui_canvas_clear(c);
    if (l->too_small) {
        char m[120];
        tui_rect r = l->r[TUI_R_TITLE];
        if (!l->visible[TUI_R_TITLE]) {
            return;
        }
        snprintf(m, sizeof m, "terminal too small: %dx%d, need %dx%d (q quits)", l->cols, l->rows,
                 TUI_MIN_COLS, TUI_MIN_ROWS);
        tui_canvas_text(c, r.row + r.rows / 2, r.col, r.col + r.cols, m, TUI_ST_ERROR);
        return;
    }
    title_render(st, c, l->r[TUI_R_TITLE]);
    if (l->visible[TUI_R_CONFIG]) {
        tui_config_view v;
        tui_config_prepare(st, l->r[TUI_R_CONFIG].rows - 1, &v);
        tui_config_render(st, &v, c, l->r[TUI_R_CONFIG]);
    }
    if (l->visible[TUI_R_MEMORY]) {
        tui_memory_view v;
        tui_memory_prepare(st, l->r[TUI_R_MEMORY].cols - 24, &v);
        tui_memory_render(st, &v, c, l->r[TUI_R_MEMORY]);
    }
    if (l->visible[TUI_R_TIME]) {
        tui_time_view v;
        tui_time_prepare(st, l->r[TUI_R_TIME].cols - 2, &v);
        tui_time_render(st, &v, c, l->r[TUI_R_TIME]);
    }
    if (l->visible[TUI_R_SEARCH]) {
        tui_search_render(st, c, l->r[TUI_R_SEARCH]);
    }
    if (l->visible[TUI_R_CALIB]) {
        tui_calib_render(st, c, l->r[TUI_R_CALIB]);
    }
    status_render(st, c, l->r[TUI_R_STATUS]);
    keys_render(st, c, l->r[TUI_R_KEYS]);
    if (st->help) {
        help_render(st, c, l->help);
    }
}
