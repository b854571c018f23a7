/* layout.h -- where each panel of the dashboard goes for a terminal size (pure; nvtop
 * compute_sizes_from_layout style, tested without a terminal in tests/test_tui_layout.c).
 *
 * Screen: a title bar (top row), the body, a status line and a key-hint line (bottom rows). The
 * body has the configuration panel on the left and, on the right, the panels of the current page:
 *   main:   memory over time (and calibration below them when the screen is tall)
 *   search: the search table (with memory above it when the screen is tall)
 *   calib:  the calibration table
 * Tables need ~78 columns: below 120 columns the search and calibration pages use the whole width
 * (the configuration panel is hidden there).
 * Below TUI_MIN_COLS x TUI_MIN_ROWS only the title region is visible, covering the screen, and
 * too_small is set (the frame then says so in words).
 */
#ifndef LLMCAL_TUI_LAYOUT_H
#define LLMCAL_TUI_LAYOUT_H

#include <stdbool.h>

#include "tui/canvas.h"

#define TUI_MIN_COLS 80
#define TUI_MIN_ROWS 24

typedef enum tui_page {
    TUI_PAGE_MAIN = 0, /* configuration, memory, time (and calibration when tall) */
    TUI_PAGE_SEARCH,   /* the search table */
    TUI_PAGE_CALIB,    /* the calibration table */
    TUI_PAGE_COUNT
} tui_page;

typedef enum tui_region {
    TUI_R_TITLE = 0,
    TUI_R_CONFIG,
    TUI_R_MEMORY,
    TUI_R_TIME,
    TUI_R_SEARCH,
    TUI_R_CALIB,
    TUI_R_STATUS,
    TUI_R_KEYS,
    TUI_R_COUNT
} tui_region;

typedef struct tui_layout {
    int rows;                  /* terminal height, cells */
    int cols;                  /* terminal width, cells */
    bool too_small;            /* below the minimum: only TUI_R_TITLE, covering the screen */
    bool visible[TUI_R_COUNT]; /* which regions are shown */
    tui_rect r[TUI_R_COUNT];   /* their rectangles (zero size when not visible) */
    tui_rect help;             /* the help overlay (drawn over the others), inside the screen */
} tui_layout;

/* Computes the layout of `page` on a rows x cols terminal into *out. Visible regions lie inside the
 * screen, do not overlap each other and are at least 1x1; the help rectangle lies inside the
 * screen.
 * rows or cols < 1 give an empty layout (nothing visible). Pure. */
void tui_layout_compute(int rows, int cols, tui_page page, tui_layout *out);

/* Whether two rectangles share a cell. */
bool tui_rect_overlap(tui_rect a, tui_rect b);

/* Name of a region, for test messages ("memory"). */
const char *tui_region_name(tui_region r);

#endif /* LLMCAL_TUI_LAYOUT_H */
