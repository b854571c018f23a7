/* draw.c -- copies a rendered canvas to the terminal with ncursesw (see draw.h). Styles map to
 * colour pairs, or to attributes on a monochrome terminal. The only file besides main.c that
 * includes <curses.h>.
 */
#include "draw.h"

#include <curses.h>
#include <wchar.h>

#include "tui/state.h"

static attr_t style_attr[TUI_ST_COUNT];
static short style_pair[TUI_ST_COUNT];

static void styles(bool color)
{
    /* segment colours: weights, gradients, optimizer, activations, logits, comm, workspace,
       context, fragmentation (and the time items in the same order of pairs) */
    static const short seg_fg[TUI_N_SEG] = {COLOR_BLUE, COLOR_MAGENTA, COLOR_YELLOW, COLOR_GREEN,
                                            COLOR_CYAN, COLOR_RED,     COLOR_WHITE,  COLOR_BLUE,
                                            COLOR_RED,  COLOR_WHITE};
    for (int i = 0; i < TUI_ST_COUNT; i++) {
        style_attr[i] = A_NORMAL;
        style_pair[i] = 0;
    }
    if (!color) {
        style_attr[TUI_ST_TITLE] = A_REVERSE | A_BOLD;
        style_attr[TUI_ST_HEADER] = A_REVERSE;
        style_attr[TUI_ST_SELECTED] = A_REVERSE | A_BOLD;
        style_attr[TUI_ST_EDIT] = A_UNDERLINE | A_BOLD;
        style_attr[TUI_ST_DIM] = A_DIM;
        style_attr[TUI_ST_ERROR] = A_BOLD;
        style_attr[TUI_ST_WARN] = A_BOLD;
        style_attr[TUI_ST_MARK] = A_BOLD;
        return;
    }
    init_pair(1, COLOR_BLACK, COLOR_CYAN);
    init_pair(2, COLOR_BLACK, COLOR_GREEN);
    init_pair(3, COLOR_BLACK, COLOR_YELLOW);
    init_pair(4, COLOR_GREEN, -1);
    init_pair(5, COLOR_YELLOW, -1);
    init_pair(6, COLOR_RED, -1);
    init_pair(7, COLOR_WHITE, COLOR_RED);
    style_pair[TUI_ST_TITLE] = 1;
    style_pair[TUI_ST_HEADER] = 2;
    style_pair[TUI_ST_SELECTED] = 1;
    style_attr[TUI_ST_SELECTED] = A_BOLD;
    style_pair[TUI_ST_EDIT] = 3;
    style_attr[TUI_ST_DIM] = A_DIM;
    style_pair[TUI_ST_OK] = 4;
    style_pair[TUI_ST_WARN] = 5;
    style_attr[TUI_ST_WARN] = A_BOLD;
    style_pair[TUI_ST_ERROR] = 6;
    style_attr[TUI_ST_ERROR] = A_BOLD;
    style_pair[TUI_ST_MARK] = 7;
    style_attr[TUI_ST_MARK] = A_BOLD;
    for (int i = 0; i < TUI_N_SEG; i++) {
        init_pair((short)(10 + i), seg_fg[i], -1);
        style_pair[TUI_ST_SEG0 + i] = (short)(10 + i);
        if (i >= 7) {
            style_attr[TUI_ST_SEG0 + i] = A_DIM;
        }
    }
}

bool tui_draw_begin(bool *color)
{
    if (initscr() == NULL) {
        return false;
    }
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    curs_set(0);
    set_escdelay(25);
    if (*color && has_colors()) {
        start_color();
        use_default_colors();
    } else {
        *color = false;
    }
    styles(*color);
    return true;
}

void tui_draw_end(void)
{
    endwin();
}

void tui_draw_size(int *rows, int *cols)
{
    getmaxyx(stdscr, *rows, *cols);
}

void tui_draw_canvas(const tui_canvas *c, bool color)
{
    (void)color;
    for (int y = 0; y < c->rows; y++) {
        for (int x = 0; x < c->cols; x++) {
            const tui_cell *cell = &c->cells[(size_t)y * (size_t)c->cols + (size_t)x];
            wchar_t wc[2] = {(wchar_t)cell->ch, L'\0'};
            cchar_t cc;
            int st = cell->style < TUI_ST_COUNT ? cell->style : 0;
            setcchar(&cc, wc, style_attr[st], style_pair[st], NULL);
            mvwadd_wch(stdscr, y, x, &cc); /* the bottom-right cell reports ERR; it is drawn */
        }
    }
    wnoutrefresh(stdscr);
    doupdate();
}

int tui_draw_key(int timeout_ms)
{
    wint_t wch = 0;
    int r;
    timeout(timeout_ms);
    r = get_wch(&wch);
    if (r == ERR) {
        return 0;
    }
    if (r == KEY_CODE_YES) {
        switch (wch) {
        case KEY_RESIZE: return -1;
        case KEY_UP: return TUI_KEY_UP;
        case KEY_DOWN: return TUI_KEY_DOWN;
        case KEY_LEFT: return TUI_KEY_LEFT;
        case KEY_RIGHT: return TUI_KEY_RIGHT;
        case KEY_ENTER: return TUI_KEY_ENTER;
        case KEY_BACKSPACE: return TUI_KEY_BACKSPACE;
        case KEY_BTAB: return TUI_KEY_BTAB;
        case KEY_PPAGE: return TUI_KEY_PGUP;
        case KEY_NPAGE: return TUI_KEY_PGDN;
        case KEY_HOME: return TUI_KEY_HOME;
        case KEY_END: return TUI_KEY_END;
        case KEY_F(1): return TUI_KEY_F1;
        default: return 0;
        }
    }
    switch (wch) {
    case 27: return TUI_KEY_ESC;
    case '\n':
    case '\r': return TUI_KEY_ENTER;
    case 127:
    case 8: return TUI_KEY_BACKSPACE;
    case '\t': return TUI_KEY_TAB;
    default: return (int)wch;
    }
}
