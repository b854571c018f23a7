/* test_tui_format.c -- number formatting, the canvas, bar arithmetic, scrolling and the validate
 * results reader. Expected strings are worked by hand from the format rules in
 * tui/include/tui/format.h and the definitions of the units (1 GiB = 2^30 bytes).
 */
#include "tui/calib.h"
#include "tui/canvas.h"
#include "tui/format.h"
#include "tui/view.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static int streq(const char *a, const char *b)
{
    if (strcmp(a, b) != 0) {
        fprintf(stderr, "  expected '%s', got '%s'\n", b, a);
        return 0;
    }
    return 1;
}

static void test_format(void)
{
    char b[64];
    size_t n;
    tui_fmt_bytes(b, sizeof b, 85899345920.0); /* 80 * 2^30 */
    CHECK(streq(b, "80.00 GiB"), "80 GiB = 80*2^30 bytes");
    tui_fmt_bytes(b, sizeof b, 1572864.0); /* 1.5 * 2^20 */
    CHECK(streq(b, "1.5 MiB"), "1.5 MiB");
    tui_fmt_bytes(b, sizeof b, 512.0);
    CHECK(streq(b, "512 B"), "bytes below 1 KiB");
    tui_fmt_bytes(b, sizeof b, NAN);
    CHECK(streq(b, "n/a"), "missing value is n/a, never 0");
    tui_fmt_seconds(b, sizeof b, 0.0123, false);
    CHECK(streq(b, "12.3 ms"), "12.3 ms");
    tui_fmt_seconds(b, sizeof b, 5e-4, true);
    CHECK(streq(b, "500 us"), "ASCII micro");
    tui_fmt_seconds(b, sizeof b, 5e-4, false);
    CHECK(streq(b, "500 \u00b5s"), "UTF-8 micro sign");
    tui_fmt_seconds(b, sizeof b, 7.5, false);
    CHECK(streq(b, "7.50 s"), "seconds");
    tui_fmt_seconds(b, sizeof b, 600, false);
    CHECK(streq(b, "10.0 min"), "600 s = 10 min");
    tui_fmt_si(b, sizeof b, 1234);
    CHECK(streq(b, "1.23k"), "1234 -> 1.23k");
    tui_fmt_si(b, sizeof b, 15e12);
    CHECK(streq(b, "15.0T"), "15e12 -> 15.0T");
    tui_fmt_si(b, sizeof b, 999.4);
    CHECK(streq(b, "999"), "below 999.5 keeps no suffix");
    tui_fmt_percent(b, sizeof b, 0.4163);
    CHECK(streq(b, "41.6%"), "0.4163 -> 41.6%");
    tui_fmt_money(b, sizeof b, 1234567);
    CHECK(streq(b, "$1.23M"), "money");
    n = tui_fmt_bytes(b, 4, 85899345920.0);
    CHECK(n == 9 && streq(b, "80."), "truncates and returns the needed length");
    {
        double v = 0;
        CHECK(tui_parse_count("15T", &v) == 0 && v == 15e12, "15T = 15e12");
        CHECK(tui_parse_count("2.5e9", &v) == 0 && v == 2.5e9, "e-notation");
        CHECK(tui_parse_count("300B", &v) == 0 && v == 300e9, "B = billion");
        CHECK(tui_parse_count("abc", &v) == -1, "malformed rejected");
        CHECK(tui_parse_count("-1", &v) == -1, "negative rejected");
        CHECK(tui_parse_count("12x", &v) == -1, "trailing garbage rejected");
        CHECK(tui_parse_count("", &v) == -1, "empty rejected");
    }
}

static void test_canvas(void)
{
    tui_canvas *c = tui_canvas_alloc(3, 10);
    char text[256];
    int n;
    CHECK(c != NULL, "alloc");
    CHECK(tui_canvas_alloc(0, 5) == NULL, "0 rows refused");
    n = tui_canvas_text(c, 0, 2, 6, "abcdefgh", TUI_ST_NORMAL);
    CHECK_EQ_I64(n, 4, "clipped to columns 2..5");
    n = tui_canvas_text(c, 1, 8, 100, "\u2588\u2591\u2502", TUI_ST_NORMAL);
    CHECK_EQ_I64(n, 2, "clipped to the canvas width; UTF-8 is one cell per code point");
    tui_canvas_text(c, 5, 0, 10, "off", TUI_ST_NORMAL); /* outside: ignored */
    tui_canvas_to_text(c, text, sizeof text);
    CHECK(streq(text, "  abcd\n        \u2588\u2591\n\n"), "text frame, trailing blanks trimmed");
    tui_canvas_text(c, 2, 0, 10,
                    "\xff"
                    "x",
                    TUI_ST_NORMAL);
    CHECK(c->cells[20].ch == '?' && c->cells[21].ch == 'x', "malformed UTF-8 shows '?'");
    tui_canvas_free(c);
    tui_canvas_free(NULL);
}

static void test_bars(void)
{
    /* values 1,1,2 over a scale of 4 in 8 cells: ends at round(2), round(4), round(8) */
    tui_bar_seg s[3] = {{0, 1, 0}, {1, 1, 0}, {2, 2, 0}};
    tui_bar_seg t[3] = {{0, 1, 0}, {1, 1, 0}, {2, 1, 0}};
    tui_bar_seg o[2] = {{0, 6, 0}, {1, 6, 0}};
    tui_bar_fit(s, 3, 4, 8);
    CHECK(s[0].cells == 2 && s[1].cells == 2 && s[2].cells == 4, "1:1:2 of 8 cells = 2,2,4");
    /* thirds of 10 cells: ends round(3.33)=3, round(6.67)=7, 10 -> 3,4,3: sum stays 10 */
    tui_bar_fit(t, 3, 3, 10);
    CHECK(t[0].cells + t[1].cells + t[2].cells == 10, "cumulative rounding keeps the total");
    /* 12 over a scale of 10: clipped to the width */
    tui_bar_fit(o, 2, 10, 10);
    CHECK(o[0].cells == 6 && o[1].cells == 4, "overflow clipped at the bar end");
    CHECK_EQ_I64(tui_scroll(0, 25, 10, 30), 16, "cursor 25 in 10 rows: first 16");
    CHECK_EQ_I64(tui_scroll(16, 3, 10, 30), 3, "cursor above: scroll up to it");
    CHECK_EQ_I64(tui_scroll(5, 7, 10, 30), 5, "cursor inside: keep");
    CHECK_EQ_I64(tui_scroll(0, 2, 10, 4), 0, "fewer rows than the window");
}

static void test_calib(void)
{
    tui_calib *k = calloc(1, sizeof *k);
    est_diag d = {{0}, NULL, 0};
    const char *good =
        "{\"cases\": [{\"name\": \"llama-3-8b tp2\", \"predicted\": {\"peak_allocated_bytes\": "
        "1000, \"iteration_s\": 0.5}, \"measured\": {\"peak_allocated_bytes\": 1100, "
        "\"iteration_s\": null, \"nvml_used_bytes\": 2000}},"
        "{\"name\": \"b\", \"predicted\": {}, \"measured\": {}}]}";
    CHECK(tui_calib_from_string(good, "t.json", k, &d) == EST_OK && k->loaded, "good file");
    CHECK_EQ_I64(k->n_cases, 2, "two cases");
    CHECK_EQ_I64(k->n_rows, 3, "peak, iteration (predicted only measured null), nvml (measured)");
    CHECK(k->rows[0].predicted == 1000 && k->rows[0].measured == 1100, "values kept");
    CHECK(isnan(k->rows[1].measured), "null is NAN (n/a), never 0");
    CHECK(isnan(k->rows[2].predicted) && k->rows[2].measured == 2000, "one-sided metric");
    CHECK(tui_calib_from_string("{\"cases\": [", "t.json", k, &d) == EST_EPARSE &&
              strstr(d.msg, "t.json: line 1") != NULL && !k->loaded,
          "malformed JSON names the file and line");
    CHECK(tui_calib_from_string("{}", "t.json", k, &d) == EST_EINVAL &&
              strstr(d.msg, "cases: missing") != NULL,
          "missing cases named");
    CHECK(tui_calib_from_string("{\"cases\":[{\"name\":\"a\",\"predicted\":{}}]}", "t.json", k,
                                &d) == EST_EINVAL &&
              strstr(d.msg, "cases[0].measured") != NULL,
          "missing measured named with its index");
    CHECK(tui_calib_from_string("{\"cases\":[{\"name\":\"a\",\"predicted\":{\"x_s\":\"fast\"},"
                                "\"measured\":{}}]}",
                                "t.json", k, &d) == EST_EINVAL &&
              strstr(d.msg, "cases[0].x_s: not a number") != NULL,
          "non-numeric metric named");
    CHECK(tui_calib_load_file("/nonexistent/llmcal.json", k, &d) == EST_EIO &&
              strstr(d.msg, "/nonexistent/llmcal.json") != NULL,
          "unreadable file names the path");
    free(k);
}

int main(void)
{
    test_format();
    test_canvas();
    test_bars();
    test_calib();
    return check_summary();
}
