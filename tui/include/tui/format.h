/* format.h -- numbers into caller buffers for the dashboard (htop Meter_humanUnit style).
 *
 * Every function writes a NUL-terminated string into buf (at most cap bytes, truncating) and
 * returns the length it needed, snprintf-style. Units convert here and nowhere else in the
 * dashboard: the state holds bytes and seconds. NAN prints as "n/a". Pure; thread-safe.
 */
#ifndef LLMCAL_TUI_FORMAT_H
#define LLMCAL_TUI_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes in binary units: ">= 1 GiB" -> "%.2f GiB", ">= 1 MiB" -> "%.1f MiB", ">= 1 KiB" ->
 * "%.1f KiB", else "%llu B". The tmux test formats `llmcal estimate --json` bytes the same way. */
size_t tui_fmt_bytes(char *buf, size_t cap, double bytes);

/* Seconds: < 1 ms -> "%.0f us" (micro sign unless ascii), < 1 s -> "%.1f ms", < 120 s ->
 * "%.2f s", < 2 h -> "%.1f min", else "%.1f h". */
size_t tui_fmt_seconds(char *buf, size_t cap, double s, bool ascii);

/* A count with an SI suffix: 1234 -> "1.23k", 15e12 -> "15.0T"; 3 significant digits. */
size_t tui_fmt_si(char *buf, size_t cap, double v);

/* A fraction as a percentage with one decimal: 0.4163 -> "41.6%". */
size_t tui_fmt_percent(char *buf, size_t cap, double fraction);

/* Money with an SI suffix: 1234567 -> "$1.23M". */
size_t tui_fmt_money(char *buf, size_t cap, double amount);

/* Parses a count typed by the user: an integer or decimal, optionally in e-notation or with a
 * k/M/G/T/P suffix (decimal: 15T = 15e12). Whole string; returns 0 and *out on success, -1 on a
 * malformed or negative value. */
int tui_parse_count(const char *s, double *out);

#endif /* LLMCAL_TUI_FORMAT_H */
