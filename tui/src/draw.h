/* draw.h -- the curses half of the dashboard: terminal setup and copying a rendered canvas to the
 * screen with one doupdate() per frame. Only draw.c and main.c include <curses.h>.
 */
#ifndef LLMCAL_TUI_DRAW_H
#define LLMCAL_TUI_DRAW_H

#include <stdbool.h>

#include "tui/canvas.h"

/* Starts curses (wide characters, keypad, no echo). Returns false if the terminal cannot be
 * opened. *color is cleared when the terminal has no colours. */
bool tui_draw_begin(bool *color);

/* Ends curses and restores the terminal. */
void tui_draw_end(void);

/* Copies the canvas to the screen (one doupdate()). */
void tui_draw_canvas(const tui_canvas *c, bool color);

/* Terminal size in cells. */
void tui_draw_size(int *rows, int *cols);

/* Waits for a key up to timeout_ms (< 0: forever) and returns it as a Unicode code point or a
 * TUI_KEY_*; 0 when none arrived, -1 on a resize. */
int tui_draw_key(int timeout_ms);

#endif /* LLMCAL_TUI_DRAW_H */
