/* panels.c -- the configuration, memory and time panels: prepare (state -> view, pure) and render
 * (view -> canvas). Every number shown is the estimator's; this file only scales and formats.
 */
#include "tui/view.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tui/format.h"

/* Glyphs: UTF-8 or the --ascii fallback. */
#define G_BLOCK(a) ((a) ? (uint32_t)'#' : 0x2588u)
#define G_FREE(a)  ((a) ? (uint32_t)'.' : 0x2591u)
#define G_MARK(a)  ((a) ? (uint32_t)'|' : 0x2502u)

/* Letters of the memory groups in monochrome bars (and the legend). */
static const char mem_letter[EST_MEM_GROUP_COUNT + 1] = "WGOALCKXF";
static const char *const mem_label[EST_MEM_GROUP_COUNT] = {
    "weights",      "gradients", "optimizer",    "activations",  "logits",
    "comm buffers", "workspace", "CUDA context", "fragmentation"};
static const char time_letter[TUI_TIME_ITEMS + 1] = "CTXEBPDO";
static const char *const time_label[TUI_TIME_ITEMS] = {
    "compute", "TP comm", "CP comm", "EP comm", "PP bubble", "PP comm", "DP comm", "optimizer"};

// ---------------------------------------------------------------------------
// shared helpers

void tui_header_render(tui_canvas *c, tui_rect r, const char *title, bool focused)
{
    tui_rect h = {r.row, r.col, 1, r.cols};
    tui_style st = focused ? TUI_ST_SELECTED : TUI_ST_HEADER;
    tui_canvas_fill(c, h, ' ', st);
    tui_canvas_text(c, r.row, r.col + 1, r.col + r.cols, title, st);
}

void tui_bar_fit(tui_bar_seg *seg, int n, double scale, int width)
{
    double cum = 0;
    int end_prev = 0;
    for (int i = 0; i < n; i++) {
        int end;
        cum += seg[i].value > 0 ? seg[i].value : 0;
        end = scale > 0 ? (int)lround(cum * width / scale) : 0;
        if (end > width) {
            end = width;
        }
        if (end < end_prev) {
            end = end_prev;
        }
        seg[i].cells = end - end_prev;
        end_prev = end;
    }
}

int tui_scroll(int first, int sel, int height, int n)
{
    if (height < 1) {
        return sel < 0 ? 0 : sel;
    }
    if (sel < first) {
        first = sel;
    }
    if (sel >= first + height) {
        first = sel - height + 1;
    }
    if (first > n - height) {
        first = n - height;
    }
    return first < 0 ? 0 : first;
}

/* Draws segments from column col; returns the column after the last cell. */
static int draw_segs(const tui_state *st, tui_canvas *c, int row, int col, const tui_bar_seg *seg,
                     int n, const char *letters)
{
    for (int i = 0; i < n; i++) {
        uint32_t ch = st->color ? G_BLOCK(st->ascii) : (uint32_t)letters[seg[i].group];
        tui_style style = (tui_style)(TUI_ST_SEG0 + seg[i].group % TUI_N_SEG);
        for (int k = 0; k < seg[i].cells; k++) {
            tui_canvas_set(c, row, col++, ch, style);
        }
    }
    return col;
}

/* "W weights  35.21 GiB" legend cells, in columns of `cw` cells. Returns rows used. */
static int legend(const tui_state *st, tui_canvas *c, tui_rect r, int row, const char *const *names,
                  const char *letters, const double *values, const bool *show, int n, bool bytes)
{
    int cw = 28;
    int per_row = r.cols / cw < 1 ? 1 : r.cols / cw;
    int k = 0;
    for (int i = 0; i < n; i++) {
        char v[32];
        char cell[64];
        int x;
        int y;
        if (!show[i]) {
            continue;
        }
        y = row + k / per_row;
        x = r.col + 1 + (k % per_row) * cw;
        if (y >= r.row + r.rows) {
            break;
        }
        if (bytes) {
            tui_fmt_bytes(v, sizeof v, values[i]);
        } else {
            tui_fmt_seconds(v, sizeof v, values[i], st->ascii);
        }
        tui_canvas_set(c, y, x, st->color ? G_BLOCK(st->ascii) : (uint32_t)letters[i],
                       (tui_style)(TUI_ST_SEG0 + i % TUI_N_SEG));
        snprintf(cell, sizeof cell, "%-13s %11s", names[i], v);
        tui_canvas_text(c, y, x + 2, r.col + r.cols, cell, TUI_ST_NORMAL);
        k++;
    }
    return k == 0 ? 0 : (k + per_row - 1) / per_row;
}

static void error_box(tui_canvas *c, tui_rect r, const char *what, const char *why)
{
    char m[320];
    int row = r.row + 1;
    int w = r.cols - 2;
    size_t len;
    size_t off = 0;
    snprintf(m, sizeof m, "%s: %s", what, why);
    len = strlen(m);
    /* wrap the reason over the panel's rows (byte-wise; the messages are ASCII) */
    while (off < len && row < r.row + r.rows && w > 0) {
        char line[320];
        size_t n = len - off < (size_t)w ? len - off : (size_t)w;
        memcpy(line, m + off, n);
        line[n] = '\0';
        tui_canvas_text(c, row++, r.col + 1, r.col + r.cols, line, TUI_ST_ERROR);
        off += n;
    }
}

// ---------------------------------------------------------------------------
// configuration

void tui_config_prepare(const tui_state *st, int height, tui_config_view *v)
{
    memset(v, 0, sizeof *v);
    for (int f = 0; f < TUI_F_COUNT; f++) {
        tui_config_row *row = &v->rows[f];
        row->label = tui_field_label((tui_field)f);
        row->selected = (f == st->field);
        row->derived = tui_field_derived((tui_field)f);
        row->editing = row->selected && st->editing;
        if (row->editing) {
            snprintf(row->value, sizeof row->value, "%.63s", st->edit);
        } else {
            tui_field_value(st, (tui_field)f, row->value, sizeof row->value);
        }
    }
    v->shown = height < TUI_F_COUNT ? (height < 0 ? 0 : height) : TUI_F_COUNT;
    v->first = tui_scroll(0, st->field, v->shown, TUI_F_COUNT);
    v->focused = st->focus == TUI_FOCUS_CONFIG;
}

void tui_config_render(const tui_state *st, const tui_config_view *v, tui_canvas *c, tui_rect r)
{
    char title[64];
    snprintf(title, sizeof title, "Configuration%s", v->first > 0 ? " (more above)" : "");
    tui_header_render(c, r, title, v->focused);
    for (int i = 0; i < v->shown && i + 1 < r.rows; i++) {
        const tui_config_row *row = &v->rows[v->first + i];
        int y = r.row + 1 + i;
        tui_style style = row->selected && v->focused ? TUI_ST_SELECTED : TUI_ST_NORMAL;
        char val[80];
        int cps = 0;
        int x;
        if (row->selected) {
            tui_rect line = {y, r.col, 1, r.cols};
            tui_canvas_fill(c, line, ' ', style);
            tui_canvas_set(c, y, r.col, st->ascii ? '>' : 0x25B6u, style);
        }
        tui_canvas_text(c, y, r.col + 2, r.col + r.cols, row->label, style);
        if (row->editing) {
            snprintf(val, sizeof val, "[%s_]", row->value);
        } else if (row->selected && !row->derived) {
            snprintf(val, sizeof val, "%s %s %s", st->ascii ? "<" : "\u25c2", row->value,
                     st->ascii ? ">" : "\u25b8");
        } else {
            snprintf(val, sizeof val, "%s", row->value);
        }
        for (const unsigned char *p = (const unsigned char *)val; *p; p++) {
            cps += (*p & 0xC0) != 0x80; /* code points, one cell each: right-align */
        }
        x = r.col + r.cols - 1 - cps;
        if (x < r.col + 15) {
            x = r.col + 15;
        }
        tui_canvas_text(c, y, x, r.col + r.cols, val,
                        row->editing ? TUI_ST_EDIT : (row->derived ? TUI_ST_DIM : style));
    }
}

// ---------------------------------------------------------------------------
// memory

static void mem_bar(const est_stage_memory *sm, const char *label, tui_mem_bar *b, double scale,
                    int width)
{
    memset(b, 0, sizeof *b);
    snprintf(b->label, sizeof b->label, "%s", label);
    b->total = sm->total;
    for (int g = 0; g < EST_MEM_GROUP_COUNT; g++) {
        if (sm->bytes[g] > 0) {
            b->seg[b->n_seg].group = g;
            b->seg[b->n_seg].value = (double)sm->bytes[g];
            b->n_seg++;
        }
    }
    tui_bar_fit(b->seg, b->n_seg, scale, width);
}

void tui_memory_prepare(const tui_state *st, int width, tui_memory_view *v)
{
    const est_memory_report *m = &st->mem;
    double biggest;
    char label[24];
    memset(v, 0, sizeof *v);
    if (!st->ok) {
        snprintf(v->error, sizeof v->error, "%s", st->error);
        return;
    }
    v->ok = true;
    v->width = width < 1 ? 1 : width;
    v->capacity_bytes = m->capacity_bytes;
    v->usable_bytes = m->usable_bytes;
    v->fits = m->fits;
    v->headroom_bytes = (int64_t)m->usable_bytes - (int64_t)m->worst.total;
    memcpy(v->group_bytes, m->worst.bytes, sizeof v->group_bytes);
    v->peak_allocated = m->worst.peak_allocated;
    v->peak_reserved = m->worst.peak_reserved;
    v->total = m->worst.total;
    v->worst_stage = m->worst.stage;
    v->pp = st->cfg.par.pp;
    /* the bar spans the capacity, or the largest stage when that is bigger */
    biggest = (double)m->capacity_bytes;
    {
        const est_stage_memory *all[3] = {&m->worst, &m->first, &m->last};
        for (int i = 0; i < 3; i++) {
            double sum = 0;
            for (int g = 0; g < EST_MEM_GROUP_COUNT; g++) {
                sum += (double)all[i]->bytes[g];
            }
            if (sum > biggest) {
                biggest = sum;
            }
        }
    }
    v->scale_bytes = biggest > 0 ? biggest : 1;
    v->usable_cell = (int)lround((double)m->usable_bytes * v->width / v->scale_bytes);
    if (v->usable_cell > v->width - 1) {
        v->usable_cell = v->width - 1;
    }
    v->capacity_cell = (int)lround((double)m->capacity_bytes * v->width / v->scale_bytes);
    snprintf(label, sizeof label, "worst s%d", m->worst.stage);
    mem_bar(&m->worst, label, &v->bars[v->n_bars++], v->scale_bytes, v->width);
    if (v->pp > 1) {
        if (m->first.stage != m->worst.stage) {
            snprintf(label, sizeof label, "first s%d", m->first.stage);
            mem_bar(&m->first, label, &v->bars[v->n_bars++], v->scale_bytes, v->width);
        }
        if (m->last.stage != m->worst.stage) {
            snprintf(label, sizeof label, "last s%d", m->last.stage);
            mem_bar(&m->last, label, &v->bars[v->n_bars++], v->scale_bytes, v->width);
        }
    }
}

static void draw_mem_bar(const tui_state *st, const tui_memory_view *v, const tui_mem_bar *b,
                         tui_canvas *c, int row, int col)
{
    int end;
    tui_canvas_text(c, row, col, col + 9, b->label, TUI_ST_DIM);
    col += 10;
    end = draw_segs(st, c, row, col, b->seg, b->n_seg, mem_letter);
    for (int x = end; x < col + v->capacity_cell && x < col + v->width; x++) {
        tui_canvas_set(c, row, x, G_FREE(st->ascii), TUI_ST_DIM);
    }
    tui_canvas_set(c, row, col + v->usable_cell, G_MARK(st->ascii), TUI_ST_MARK);
}

void tui_memory_render(const tui_state *st, const tui_memory_view *v, tui_canvas *c, tui_rect r)
{
    char title[160];
    char a[32];
    char b[32];
    char d[32];
    char line[200];
    int y = r.row + 1;
    int bottom = r.row + r.rows;
    double values[EST_MEM_GROUP_COUNT];
    bool show[EST_MEM_GROUP_COUNT];
    if (!v->ok) {
        tui_header_render(c, r, "Memory per GPU", false);
        error_box(c, r, "invalid configuration", v->error);
        return;
    }
    snprintf(title, sizeof title, "Memory per GPU - worst rank: stage %d of %d", v->worst_stage,
             v->pp);
    tui_header_render(c, r, title, false);
    tui_fmt_bytes(a, sizeof a, (double)v->total);
    tui_fmt_bytes(b, sizeof b, (double)v->usable_bytes);
    tui_fmt_bytes(d, sizeof d, fabs((double)v->headroom_bytes));
    if (v->fits) {
        snprintf(line, sizeof line, "FITS %s of %s, %s free", a, b, d);
    } else {
        snprintf(line, sizeof line, "DOES NOT FIT %s of %s, %s short", a, b, d);
    }
    if (y < bottom) {
        tui_canvas_text(c, y++, r.col + 1, r.col + r.cols, line,
                        v->fits ? TUI_ST_OK : TUI_ST_ERROR);
    }
    if (y < bottom) {
        draw_mem_bar(st, v, &v->bars[0], c, y, r.col + 1);
        tui_canvas_text(c, y++, r.col + 12 + v->width, r.col + r.cols, a, TUI_ST_DIM);
    }
    for (int g = 0; g < EST_MEM_GROUP_COUNT; g++) {
        values[g] = (double)v->group_bytes[g];
        show[g] = v->group_bytes[g] > 0;
    }
    if (y < bottom) {
        y += legend(st, c, (tui_rect){y, r.col, bottom - y, r.cols}, y, mem_label, mem_letter,
                    values, show, EST_MEM_GROUP_COUNT, true);
    }
    if (y < bottom) {
        char pa[32];
        char pr[32];
        char cap[32];
        tui_fmt_bytes(pa, sizeof pa, (double)v->peak_allocated);
        tui_fmt_bytes(pr, sizeof pr, (double)v->peak_reserved);
        tui_fmt_bytes(cap, sizeof cap, (double)v->capacity_bytes);
        snprintf(line, sizeof line, "allocated %s  reserved %s  %s usable %s of %s", pa, pr,
                 st->ascii ? "|" : "\u2502", b, cap);
        tui_canvas_text(c, y++, r.col + 1, r.col + r.cols, line, TUI_ST_NORMAL);
    }
    for (int i = 1; i < v->n_bars && y < bottom; i++) {
        char tot[32];
        draw_mem_bar(st, v, &v->bars[i], c, y, r.col + 1);
        tui_fmt_bytes(tot, sizeof tot, (double)v->bars[i].total);
        tui_canvas_text(c, y++, r.col + 12 + v->width, r.col + r.cols, tot, TUI_ST_DIM);
    }
}

// ---------------------------------------------------------------------------
// time

void tui_time_prepare(const tui_state *st, int width, tui_time_view *v)
{
    const est_time_report *t = &st->time;
    double sum = 0;
    memset(v, 0, sizeof *v);
    if (!st->ok || !st->time_ok) {
        snprintf(v->error, sizeof v->error, "%s", st->ok ? st->time_error : st->error);
        return;
    }
    v->ok = true;
    v->width = width < 1 ? 1 : width;
    {
        const double val[TUI_TIME_ITEMS] = {t->compute_s, t->tp_comm_s,   t->cp_comm_s,
                                            t->ep_comm_s, t->pp_bubble_s, t->pp_comm_s,
                                            t->dp_comm_s, t->optimizer_s};
        for (int i = 0; i < TUI_TIME_ITEMS; i++) {
            v->label[i] = time_label[i];
            v->seg[i].group = i;
            v->seg[i].value = val[i];
            sum += val[i] > 0 ? val[i] : 0;
        }
    }
    tui_bar_fit(v->seg, TUI_TIME_ITEMS, sum, v->width);
    v->iteration_s = t->iteration_s;
    v->tokens_per_s = t->tokens_per_s;
    v->tflops_per_gpu = t->tflops_per_gpu;
    v->mfu = t->mfu;
    v->days = t->tokens_per_s > 0 ? st->token_budget / t->tokens_per_s / 86400.0 : NAN;
    v->cost = isnan(st->usd_per_gpu_hour)
                  ? NAN
                  : v->days * 24.0 * (double)st->cfg.par.gpus * st->usd_per_gpu_hour;
}

void tui_time_render(const tui_state *st, const tui_time_view *v, tui_canvas *c, tui_rect r)
{
    char title[96];
    char a[32];
    char b[32];
    char d[32];
    char line[200];
    int y = r.row + 1;
    int bottom = r.row + r.rows;
    double values[TUI_TIME_ITEMS];
    bool show[TUI_TIME_ITEMS];
    if (!v->ok) {
        tui_header_render(c, r, "Time per iteration", false);
        error_box(c, r, st->ok ? "time model" : "invalid configuration", v->error);
        return;
    }
    tui_fmt_seconds(a, sizeof a, v->iteration_s, st->ascii);
    snprintf(title, sizeof title, "Time per iteration - %s", a);
    tui_header_render(c, r, title, false);
    if (y < bottom) {
        draw_segs(st, c, y++, r.col + 1, v->seg, TUI_TIME_ITEMS, time_letter);
    }
    for (int i = 0; i < TUI_TIME_ITEMS; i++) {
        values[i] = v->seg[i].value;
        show[i] = v->seg[i].value > 0 || i == 0;
    }
    if (y < bottom) {
        y += legend(st, c, (tui_rect){y, r.col, bottom - y, r.cols}, y, time_label, time_letter,
                    values, show, TUI_TIME_ITEMS, false);
    }
    tui_fmt_si(a, sizeof a, v->tokens_per_s);
    tui_fmt_percent(b, sizeof b, v->mfu);
    if (y < bottom) {
        snprintf(line, sizeof line, "tokens/s %s   TFLOP/s per GPU %.1f   MFU %s", a,
                 v->tflops_per_gpu, b);
        tui_canvas_text(c, y++, r.col + 1, r.col + r.cols, line, TUI_ST_NORMAL);
    }
    if (y < bottom) {
        tui_fmt_si(a, sizeof a, st->token_budget);
        tui_fmt_money(d, sizeof d, v->cost);
        if (isnan(v->cost)) {
            snprintf(line, sizeof line, "%s tokens: %.1f days", a, v->days);
        } else {
            snprintf(line, sizeof line, "%s tokens: %.1f days, %s at $%.2f/GPU-hour", a, v->days, d,
                     st->usd_per_gpu_hour);
        }
        tui_canvas_text(c, y++, r.col + 1, r.col + r.cols, line, TUI_ST_NORMAL);
    }
}
