/* view.h -- the panels: prepare (state -> plain view struct, pure, tested) and render (view ->
 * canvas rectangle, pure), htop MeterClass .updateValues vs .draw. tui_frame_render() renders a
 * whole frame; draw.c only copies the canvas to the terminal.
 */
#ifndef LLMCAL_TUI_VIEW_H
#define LLMCAL_TUI_VIEW_H

#include <stdbool.h>
#include <stdint.h>

#include "est/memory.h"

#include "tui/canvas.h"
#include "tui/layout.h"
#include "tui/state.h"

// ---------------------------------------------------------------------------
// configuration panel

typedef struct tui_config_row {
    const char *label; /* static row label */
    char value[64];    /* value as shown (or the text being typed) */
    bool selected;     /* cursor row */
    bool derived;      /* not editable (DP) */
    bool editing;      /* value is the typed text */
} tui_config_row;

typedef struct tui_config_view {
    tui_config_row rows[TUI_F_COUNT]; /* every row */
    int first;                        /* first row shown (scrolled so the cursor is visible) */
    int shown;                        /* rows that fit */
    bool focused;                     /* the panel takes the arrows */
} tui_config_view;

/* Fills *v for a panel with `height` rows for fields (scrolls to keep the cursor shown). */
void tui_config_prepare(const tui_state *st, int height, tui_config_view *v);

// ---------------------------------------------------------------------------
// memory panel

typedef struct tui_bar_seg {
    int group;    /* est_mem_group, or the time item index in the time bar */
    double value; /* bytes or seconds of the segment */
    int cells;    /* cells it takes in the bar */
} tui_bar_seg;

typedef struct tui_mem_bar {
    char label[24];                       /* "stage 3 (worst)" */
    uint64_t total;                       /* the stage's device total, bytes */
    tui_bar_seg seg[EST_MEM_GROUP_COUNT]; /* non-empty groups, in group order */
    int n_seg;
} tui_mem_bar;

typedef struct tui_memory_view {
    bool ok;                                   /* false: error says why, nothing else is set */
    char error[256];                           /* the resolver's reason */
    int width;                                 /* bar cells */
    double scale_bytes;                        /* bytes the full bar width stands for */
    int usable_cell;                           /* bar cell of the usable limit (0..width-1) */
    int capacity_cell;                         /* bar cell where capacity ends (0..width) */
    uint64_t capacity_bytes;                   /* GPU memory */
    uint64_t usable_bytes;                     /* capacity minus reserve */
    bool fits;                                 /* worst total <= usable */
    int64_t headroom_bytes;                    /* usable - worst total (negative: short by) */
    uint64_t group_bytes[EST_MEM_GROUP_COUNT]; /* worst rank, per group */
    uint64_t peak_allocated;                   /* worst rank */
    uint64_t peak_reserved;                    /* worst rank */
    uint64_t total;                            /* worst rank */
    int worst_stage;                           /* pipeline rank of the worst */
    int pp;                                    /* pipeline stages */
    tui_mem_bar bars[3]; /* worst first, then first/last when pp > 1 and distinct */
    int n_bars;
} tui_memory_view;

/* Fills *v with the bars of `width` cells (>= 1). Pure. */
void tui_memory_prepare(const tui_state *st, int width, tui_memory_view *v);

// ---------------------------------------------------------------------------
// time panel

#define TUI_TIME_ITEMS 8

typedef struct tui_time_view {
    bool ok; /* false: error says why */
    char error[256];
    int width;                         /* bar cells */
    const char *label[TUI_TIME_ITEMS]; /* "compute", "TP comm", ... */
    tui_bar_seg seg[TUI_TIME_ITEMS];   /* all items (cells 0 when value is 0) */
    double iteration_s;                /* sum of the items */
    double tokens_per_s;
    double tflops_per_gpu;
    double mfu;
    double days; /* token budget / tokens_per_s, in days */
    double cost; /* days * 24 * gpus * usd_per_gpu_hour; NAN without price */
} tui_time_view;

void tui_time_prepare(const tui_state *st, int width, tui_time_view *v);

// ---------------------------------------------------------------------------
// rendering (pure: into the canvas rectangle r, clipped to it)

void tui_config_render(const tui_state *st, const tui_config_view *v, tui_canvas *c, tui_rect r);
void tui_memory_render(const tui_state *st, const tui_memory_view *v, tui_canvas *c, tui_rect r);
void tui_time_render(const tui_state *st, const tui_time_view *v, tui_canvas *c, tui_rect r);
void tui_search_render(const tui_state *st, tui_canvas *c, tui_rect r);
void tui_calib_render(const tui_state *st, tui_canvas *c, tui_rect r);

/* A panel header: the title on a full-width header-styled row. */
void tui_header_render(tui_canvas *c, tui_rect r, const char *title, bool focused);

// ---------------------------------------------------------------------------
// whole frame

/* Cells per segment so that the cumulative widths round consistently: the k-th segment ends at
 * round(sum_{i<=k} value_i * width / scale). Pure helper, exposed for tests. */
void tui_bar_fit(tui_bar_seg *seg, int n, double scale, int width);

/* First row to show so that `sel` is visible in a window of `height` rows over n rows, keeping
 * `first` when possible. */
int tui_scroll(int first, int sel, int height, int n);

/* Renders the whole frame of st on layout l into c (which must be l->rows x l->cols). Pure. */
void tui_frame_render(const tui_state *st, const tui_layout *l, tui_canvas *c);

#endif /* LLMCAL_TUI_VIEW_H */
