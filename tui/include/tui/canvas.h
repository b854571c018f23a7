/* canvas.h -- a character grid the panels render into (pure; no terminal).
 *
 * The dashboard draws every frame into a tui_canvas: one Unicode code point and one style per cell.
 * The curses half (draw.c) copies the canvas to the screen and calls doupdate() once; --snapshot
 * prints the same canvas as UTF-8 text. So the whole frame is testable without a terminal.
 * Not here: colours (a style is an index that draw.c maps to attributes).
 */
#ifndef LLMCAL_TUI_CANVAS_H
#define LLMCAL_TUI_CANVAS_H

#include <stddef.h>
#include <stdint.h>

/* What a cell looks like; draw.c maps each to a colour pair or, in monochrome, an attribute. */
typedef enum tui_style {
    TUI_ST_NORMAL = 0,
    TUI_ST_TITLE,    /* top bar */
    TUI_ST_HEADER,   /* panel header line */
    TUI_ST_SELECTED, /* the cursor row */
    TUI_ST_EDIT,     /* a value being typed */
    TUI_ST_DIM,      /* derived or secondary text */
    TUI_ST_OK,       /* fits */
    TUI_ST_WARN,     /* tight */
    TUI_ST_ERROR,    /* does not fit / invalid */
    TUI_ST_MARK,     /* the usable-memory limit marker */
    TUI_ST_SEG0,     /* stacked-bar segments SEG0 .. SEG0+TUI_N_SEG-1 */
    TUI_ST_COUNT = TUI_ST_SEG0 + 10
} tui_style;

#define TUI_N_SEG 10

/* A rectangle on the screen: top-left cell and size, in cells. */
typedef struct tui_rect {
    int row;  /* top row, 0-based */
    int col;  /* left column, 0-based */
    int rows; /* height in cells */
    int cols; /* width in cells */
} tui_rect;

typedef struct tui_cell {
    uint32_t ch;   /* Unicode code point (all glyphs used are one column wide) */
    uint8_t style; /* tui_style */
} tui_cell;

typedef struct tui_canvas {
    int rows;        /* height in cells */
    int cols;        /* width in cells */
    tui_cell *cells; /* rows*cols, row-major; owned */
} tui_canvas;

/* Allocates a rows x cols canvas of blanks. Returns NULL if rows or cols is < 1 or on allocation
 * failure. Free with tui_canvas_free(). */
tui_canvas *tui_canvas_alloc(int rows, int cols);

/* Frees a canvas; NULL is a no-op. */
void tui_canvas_free(tui_canvas *c);

/* Fills every cell with a blank in TUI_ST_NORMAL. */
void tui_canvas_clear(tui_canvas *c);

/* Sets one cell; cells outside the canvas are ignored. */
void tui_canvas_set(tui_canvas *c, int row, int col, uint32_t ch, tui_style style);

/* Writes UTF-8 text at (row, col), clipped to columns [col, limit) and to the canvas. Malformed
 * UTF-8 bytes show as '?'. Returns the number of cells written. */
int tui_canvas_text(tui_canvas *c, int row, int col, int limit, const char *utf8, tui_style style);

/* Fills a rectangle (clipped) with one character and style. */
void tui_canvas_fill(tui_canvas *c, tui_rect r, uint32_t ch, tui_style style);

/* Sets the style of a rectangle's cells, keeping their characters. */
void tui_canvas_restyle(tui_canvas *c, tui_rect r, tui_style style);

/* The canvas as UTF-8 text, one line per row, trailing blanks removed, each line ending in '\n'.
 * Writes at most cap bytes (NUL-terminated); returns the length needed. */
size_t tui_canvas_to_text(const tui_canvas *c, char *buf, size_t cap);

/* Encodes one code point as UTF-8 into out (>= 4 bytes); returns the byte count (0 if invalid). */
size_t tui_utf8_encode(uint32_t cp, char *out);

#endif /* LLMCAL_TUI_CANVAS_H */
