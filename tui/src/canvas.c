/* canvas.c -- the character grid every frame is rendered into (see canvas.h). */
#include "tui/canvas.h"

#include <stdlib.h>
#include <string.h>

tui_canvas *tui_canvas_alloc(int rows, int cols)
{
    tui_canvas *c;
    if (rows < 1 || cols < 1) {
        return NULL;
    }
    c = malloc(sizeof *c);
    if (c == NULL) {
        return NULL;
    }
    c->rows = rows;
    c->cols = cols;
    c->cells = malloc((size_t)rows * (size_t)cols * sizeof *c->cells);
    if (c->cells == NULL) {
        tui_canvas_free(c);
        return NULL;
    }
    tui_canvas_clear(c);
    return c;
}

void tui_canvas_free(tui_canvas *c)
{
    if (c == NULL) {
        return;
    }
    free(c->cells);
    free(c);
}

void tui_canvas_clear(tui_canvas *c)
{
    size_t n = (size_t)c->rows * (size_t)c->cols;
    for (size_t i = 0; i < n; i++) {
        c->cells[i].ch = ' ';
        c->cells[i].style = TUI_ST_NORMAL;
    }
}

void tui_canvas_set(tui_canvas *c, int row, int col, uint32_t ch, tui_style style)
{
    if (row < 0 || col < 0 || row >= c->rows || col >= c->cols) {
        return;
    }
    c->cells[(size_t)row * (size_t)c->cols + (size_t)col].ch = ch;
    c->cells[(size_t)row * (size_t)c->cols + (size_t)col].style = (uint8_t)style;
}

/* Decodes one UTF-8 sequence at s; returns its length (>= 1) and the code point ('?' if bad). */
static size_t utf8_next(const unsigned char *s, uint32_t *cp)
{
    size_t n;
    uint32_t v;
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if ((s[0] & 0xE0) == 0xC0) {
        n = 2;
        v = s[0] & 0x1Fu;
    } else if ((s[0] & 0xF0) == 0xE0) {
        n = 3;
        v = s[0] & 0x0Fu;
    } else if ((s[0] & 0xF8) == 0xF0) {
        n = 4;
        v = s[0] & 0x07u;
    } else {
        *cp = '?';
        return 1;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *cp = '?';
            return i;
        }
        v = (v << 6) | (s[i] & 0x3Fu);
    }
    *cp = v;
    return n;
}

int tui_canvas_text(tui_canvas *c, int row, int col, int limit, const char *utf8, tui_style style)
{
    const unsigned char *s = (const unsigned char *)utf8;
    int written = 0;
    if (limit > c->cols) {
        limit = c->cols;
    }
    while (*s != '\0' && col < limit) {
        uint32_t cp;
        s += utf8_next(s, &cp);
        if (cp < 0x20) {
            cp = ' ';
        }
        if (col >= 0) {
            tui_canvas_set(c, row, col, cp, style);
            written++;
        }
        col++;
    }
    return written;
}

void tui_canvas_fill(tui_canvas *c, tui_rect r, uint32_t ch, tui_style style)
{
    for (int i = r.row; i < r.row + r.rows; i++) {
        for (int j = r.col; j < r.col + r.cols; j++) {
            tui_canvas_set(c, i, j, ch, style);
        }
    }
}

void tui_canvas_restyle(tui_canvas *c, tui_rect r, tui_style style)
{
    for (int i = r.row; i < r.row + r.rows; i++) {
        for (int j = r.col; j < r.col + r.cols; j++) {
            if (i >= 0 && j >= 0 && i < c->rows && j < c->cols) {
                c->cells[(size_t)i * (size_t)c->cols + (size_t)j].style = (uint8_t)style;
            }
        }
    }
}

size_t tui_utf8_encode(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    if (cp < 0x110000) {
        out[0] = (char)(0xF0 | (cp >> 18));
        out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[3] = (char)(0x80 | (cp & 0x3F));
        return 4;
    }
    return 0;
}

size_t tui_canvas_to_text(const tui_canvas *c, char *buf, size_t cap)
{
    size_t len = 0;
    for (int i = 0; i < c->rows; i++) {
        const tui_cell *row = c->cells + (size_t)i * (size_t)c->cols;
        int end = c->cols;
        while (end > 0 && row[end - 1].ch == ' ') {
            end--;
        }
        for (int j = 0; j < end; j++) {
            char enc[4];
            size_t n = tui_utf8_encode(row[j].ch, enc);
            for (size_t k = 0; k < n; k++) {
                if (len + 1 < cap) {
                    buf[len] = enc[k];
                }
                len++;
            }
        }
        if (len + 1 < cap) {
            buf[len] = '\n';
        }
        len++;
    }
    if (cap > 0) {
        buf[len < cap ? len : cap - 1] = '\0';
    }
    return len;
}
