/* layout.c -- panel rectangles for a terminal size and page (see layout.h). Pure arithmetic. */
#include "tui/layout.h"

#include <string.h>

static const char *const region_names[TUI_R_COUNT] = {"title",  "config",      "memory", "time",
                                                      "search", "calibration", "status", "keys"};

const char *tui_region_name(tui_region r)
{
    return (r >= 0 && r < TUI_R_COUNT) ? region_names[r] : "?";
}

bool tui_rect_overlap(tui_rect a, tui_rect b)
{
    if (a.rows < 1 || a.cols < 1 || b.rows < 1 || b.cols < 1) {
        return false;
    }
    return a.row < b.row + b.rows && b.row < a.row + a.rows && a.col < b.col + b.cols &&
           b.col < a.col + a.cols;
}

static tui_rect rect(int row, int col, int rows, int cols)
{
    tui_rect r = {row, col, rows, cols};
    return r;
}

static void show(tui_layout *l, tui_region g, tui_rect r)
{
    if (r.rows >= 1 && r.cols >= 1) {
        l->visible[g] = true;
        l->r[g] = r;
    }
}

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

void tui_layout_compute(int rows, int cols, tui_page page, tui_layout *out)
{
    int body_row = 1;
    int body_rows;
    int cfg_cols;
    int right_col;
    int right_cols;
    memset(out, 0, sizeof *out);
    out->rows = rows;
    out->cols = cols;
    if (rows < 1 || cols < 1) {
        out->too_small = true;
        return;
    }
    /* help overlay: centred, at most 64 x 22, always inside the screen */
    {
        int hr = clampi(rows - 2, 1, 22);
        int hc = clampi(cols - 4, 1, 64);
        out->help = rect((rows - hr) / 2, (cols - hc) / 2, hr, hc);
    }
    if (rows < TUI_MIN_ROWS || cols < TUI_MIN_COLS) {
        out->too_small = true;
        show(out, TUI_R_TITLE, rect(0, 0, rows, cols));
        return;
    }
    body_rows = rows - 3;
    show(out, TUI_R_TITLE, rect(0, 0, 1, cols));
    show(out, TUI_R_STATUS, rect(rows - 2, 0, 1, cols));
    show(out, TUI_R_KEYS, rect(rows - 1, 0, 1, cols));

    /* configuration: 30% of the width, 34..44 columns; one blank column separates the right side.
       The search and calibration tables need ~78 columns: below 120 they take the whole width. */
    cfg_cols = clampi(cols * 3 / 10, 34, 44);
    if (page != TUI_PAGE_MAIN && cols < 120) {
        right_col = 0;
        right_cols = cols;
    } else {
        show(out, TUI_R_CONFIG, rect(body_row, 0, body_rows, cfg_cols));
        right_col = cfg_cols + 1;
        right_cols = cols - right_col;
    }

    switch (page) {
    case TUI_PAGE_SEARCH:
        if (body_rows >= 40) {
            int mem_rows = 14;
            show(out, TUI_R_MEMORY, rect(body_row, right_col, mem_rows, right_cols));
            show(out, TUI_R_SEARCH,
                 rect(body_row + mem_rows, right_col, body_rows - mem_rows, right_cols));
        } else {
            show(out, TUI_R_SEARCH, rect(body_row, right_col, body_rows, right_cols));
        }
        break;
    case TUI_PAGE_CALIB:
        show(out, TUI_R_CALIB, rect(body_row, right_col, body_rows, right_cols));
        break;
    case TUI_PAGE_MAIN:
    default: {
        /* time needs at most 11 rows (header, bar, 7 legend rows, throughput, budget); memory
           14..18; from 34 body rows the calibration table gets the rest */
        int time_rows;
        int mem_rows;
        int calib_rows = 0;
        if (body_rows >= 34) {
            time_rows = 11;
            mem_rows = clampi((body_rows - time_rows) / 2, 14, 18);
            calib_rows = body_rows - time_rows - mem_rows;
        } else {
            time_rows = clampi(body_rows / 2, 1, 11);
            mem_rows = body_rows - time_rows;
        }
        show(out, TUI_R_MEMORY, rect(body_row, right_col, mem_rows, right_cols));
        show(out, TUI_R_TIME, rect(body_row + mem_rows, right_col, time_rows, right_cols));
        if (calib_rows > 0) {
            show(out, TUI_R_CALIB,
                 rect(body_row + mem_rows + time_rows, right_col, calib_rows, right_cols));
        }
        break;
    }
    }
}
