/* test_tui_layout.c -- tui_layout_compute() across terminal sizes, without a terminal (nvtop
 * interfaceTests style): every visible region inside the screen and non-empty, no two overlapping,
 * the panels present (and big enough to read) from 80x24 up, the help overlay inside the screen,
 * and below 80x24 a single "too small" region.
 * Expected values come from the layout contract in tui/include/tui/layout.h.
 */
#include "tui/layout.h"

#include <stdio.h>

#include "check.h"

static int inside(tui_rect r, int rows, int cols)
{
    return r.row >= 0 && r.col >= 0 && r.rows >= 1 && r.cols >= 1 && r.row + r.rows <= rows &&
           r.col + r.cols <= cols;
}

static int check_size(int rows, int cols, tui_page page)
{
    tui_layout l;
    int bad = 0;
    char what[160];
    tui_layout_compute(rows, cols, page, &l);
    for (int i = 0; i < TUI_R_COUNT; i++) {
        if (!l.visible[i]) {
            continue;
        }
        if (!inside(l.r[i], rows, cols)) {
            snprintf(what, sizeof what, "%dx%d page %d: %s outside the screen", cols, rows, page,
                     tui_region_name((tui_region)i));
            CHECK(0, what);
            bad++;
        }
        for (int j = i + 1; j < TUI_R_COUNT; j++) {
            if (l.visible[j] && tui_rect_overlap(l.r[i], l.r[j])) {
                snprintf(what, sizeof what, "%dx%d page %d: %s overlaps %s", cols, rows, page,
                         tui_region_name((tui_region)i), tui_region_name((tui_region)j));
                CHECK(0, what);
                bad++;
            }
        }
    }
    if (!inside(l.help, rows, cols)) {
        snprintf(what, sizeof what, "%dx%d: help overlay outside the screen", cols, rows);
        CHECK(0, what);
        bad++;
    }
    if (rows < TUI_MIN_ROWS || cols < TUI_MIN_COLS) {
        int n = 0;
        for (int i = 0; i < TUI_R_COUNT; i++) {
            n += l.visible[i];
        }
        if (!l.too_small || n != 1 || l.r[TUI_R_TITLE].rows != rows ||
            l.r[TUI_R_TITLE].cols != cols) {
            snprintf(what, sizeof what, "%dx%d: below 80x24 one too-small region", cols, rows);
            CHECK(0, what);
            bad++;
        }
        return bad;
    }
    /* from 80x24: title, status and key lines; configuration on the main page */
    if (l.too_small || !l.visible[TUI_R_TITLE] || !l.visible[TUI_R_STATUS] ||
        !l.visible[TUI_R_KEYS]) {
        snprintf(what, sizeof what, "%dx%d: title/status/keys missing", cols, rows);
        CHECK(0, what);
        bad++;
    }
    if (page == TUI_PAGE_MAIN) {
        /* memory needs header, fit line, bar, 5 legend rows = 8; time: header, bar, 4 legend
           rows, throughput, budget = 8; configuration 34 columns for label + value */
        if (!l.visible[TUI_R_CONFIG] || !l.visible[TUI_R_MEMORY] || !l.visible[TUI_R_TIME] ||
            l.r[TUI_R_MEMORY].rows < 8 || l.r[TUI_R_TIME].rows < 8 || l.r[TUI_R_CONFIG].cols < 34 ||
            l.r[TUI_R_MEMORY].cols < 45) {
            snprintf(what, sizeof what, "%dx%d: main page panels missing or too small", cols, rows);
            CHECK(0, what);
            bad++;
        }
    } else {
        tui_region t = page == TUI_PAGE_SEARCH ? TUI_R_SEARCH : TUI_R_CALIB;
        /* the tables are 72 columns wide plus margins */
        if (!l.visible[t] || l.r[t].cols < 74 || l.r[t].rows < 5) {
            snprintf(what, sizeof what, "%dx%d: table page too small", cols, rows);
            CHECK(0, what);
            bad++;
        }
    }
    return bad;
}

int main(void)
{
    int bad = 0;
    int sizes = 0;
    for (int rows = 1; rows <= 100; rows += (rows < 30 ? 1 : 7)) {
        for (int cols = 1; cols <= 300; cols += (cols < 130 ? 1 : 11)) {
            for (int p = 0; p < TUI_PAGE_COUNT; p++) {
                bad += check_size(rows, cols, (tui_page)p);
                sizes++;
            }
        }
    }
    CHECK(bad == 0, "every size from 1x1 to 300x100 lays out cleanly");
    CHECK(sizes > 1000, "the sweep covers many sizes");
    {
        /* 80x24 exactly: body = 24 - 3 = 21 rows; configuration 34 wide (30% of 80 = 24,
           clamped to 34); the right side starts after one blank column */
        tui_layout l;
        tui_layout_compute(24, 80, TUI_PAGE_MAIN, &l);
        CHECK_EQ_I64(l.r[TUI_R_CONFIG].cols, 34, "config width clamps to 34 at 80 columns");
        CHECK_EQ_I64(l.r[TUI_R_MEMORY].col, 35, "memory starts after config + 1 gap column");
        CHECK_EQ_I64(l.r[TUI_R_MEMORY].rows + l.r[TUI_R_TIME].rows, 21,
                     "memory + time fill the 21 body rows");
        CHECK_EQ_I64(l.r[TUI_R_TIME].rows, 10, "time gets half of 21 rows (10)");
        CHECK_EQ_I64(l.r[TUI_R_STATUS].row, 22, "status line is the second-last row");
        CHECK_EQ_I64(l.r[TUI_R_KEYS].row, 23, "key line is the last row");
        tui_layout_compute(50, 160, TUI_PAGE_MAIN, &l);
        CHECK(l.visible[TUI_R_CALIB],
              "a tall screen (47 body rows >= 34) shows calibration on main");
        CHECK_EQ_I64(l.r[TUI_R_TIME].rows, 11, "time panel: 11 rows when tall");
        tui_layout_compute(33, 120, TUI_PAGE_MAIN, &l);
        CHECK(!l.visible[TUI_R_CALIB], "30 body rows: no calibration on main");
        tui_layout_compute(24, 80, TUI_PAGE_SEARCH, &l);
        CHECK(!l.visible[TUI_R_CONFIG] && l.r[TUI_R_SEARCH].cols == 80,
              "search under 120 columns takes the whole width");
        tui_layout_compute(0, 0, TUI_PAGE_MAIN, &l);
        CHECK(l.too_small && !l.visible[TUI_R_TITLE], "0x0 lays out nothing");
    }
    return check_summary();
}
