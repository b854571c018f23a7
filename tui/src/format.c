/* format.c -- number formatting for the dashboard (see format.h). Display units only: the state
 * keeps bytes and seconds.
 */
#include "tui/format.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static size_t put(char *buf, size_t cap, int n)
{
    if (n < 0) {
        if (cap > 0) {
            buf[0] = '\0';
        }
        return 0;
    }
    return (size_t)n;
}

size_t tui_fmt_bytes(char *buf, size_t cap, double bytes)
{
    const double kib = 1024.0;
    if (isnan(bytes)) {
        return put(buf, cap, snprintf(buf, cap, "n/a"));
    }
    if (bytes >= kib * kib * kib) {
        return put(buf, cap, snprintf(buf, cap, "%.2f GiB", bytes / (kib * kib * kib)));
    }
    if (bytes >= kib * kib) {
        return put(buf, cap, snprintf(buf, cap, "%.1f MiB", bytes / (kib * kib)));
    }
    if (bytes >= kib) {
        return put(buf, cap, snprintf(buf, cap, "%.1f KiB", bytes / kib));
    }
    return put(buf, cap, snprintf(buf, cap, "%llu B", (unsigned long long)(bytes < 0 ? 0 : bytes)));
}

size_t tui_fmt_seconds(char *buf, size_t cap, double s, bool ascii)
{
    if (isnan(s)) {
        return put(buf, cap, snprintf(buf, cap, "n/a"));
    }
    if (s < 1e-3) {
        return put(buf, cap, snprintf(buf, cap, "%.0f %s", s * 1e6, ascii ? "us" : "\u00b5s"));
    }
    if (s < 1.0) {
        return put(buf, cap, snprintf(buf, cap, "%.1f ms", s * 1e3));
    }
    if (s < 120.0) {
        return put(buf, cap, snprintf(buf, cap, "%.2f s", s));
    }
    if (s < 7200.0) {
        return put(buf, cap, snprintf(buf, cap, "%.1f min", s / 60.0));
    }
    return put(buf, cap, snprintf(buf, cap, "%.1f h", s / 3600.0));
}

size_t tui_fmt_si(char *buf, size_t cap, double v)
{
    static const char suffix[] = {' ', 'k', 'M', 'G', 'T', 'P', 'E'};
    int i = 0;
    double a = fabs(v);
    if (isnan(v)) {
        return put(buf, cap, snprintf(buf, cap, "n/a"));
    }
    while (a >= 999.5 && i < 6) {
        a /= 1000.0;
        v /= 1000.0;
        i++;
    }
    if (i == 0) {
        return put(buf, cap, snprintf(buf, cap, "%.3g", v));
    }
    if (a >= 99.95) {
        return put(buf, cap, snprintf(buf, cap, "%.0f%c", v, suffix[i]));
    }
    if (a >= 9.995) {
        return put(buf, cap, snprintf(buf, cap, "%.1f%c", v, suffix[i]));
    }
    return put(buf, cap, snprintf(buf, cap, "%.2f%c", v, suffix[i]));
}

size_t tui_fmt_percent(char *buf, size_t cap, double fraction)
{
    if (isnan(fraction)) {
        return put(buf, cap, snprintf(buf, cap, "n/a"));
    }
    return put(buf, cap, snprintf(buf, cap, "%.1f%%", fraction * 100.0));
}

size_t tui_fmt_money(char *buf, size_t cap, double amount)
{
    char num[32];
    if (isnan(amount)) {
        return put(buf, cap, snprintf(buf, cap, "n/a"));
    }
    tui_fmt_si(num, sizeof num, amount);
    return put(buf, cap, snprintf(buf, cap, "$%s", num));
}

int tui_parse_count(const char *s, double *out)
{
    char *end = NULL;
    double v;
    if (s == NULL || *s == '\0') {
        return -1;
    }
    v = strtod(s, &end);
    if (end == s || isnan(v) || isinf(v)) {
        return -1;
    }
    switch (*end) {
    case 'k':
    case 'K':
        v *= 1e3;
        end++;
        break;
    case 'M':
    case 'm':
        v *= 1e6;
        end++;
        break;
    case 'G':
    case 'g':
    case 'B':
    case 'b':
        v *= 1e9;
        end++;
        break;
    case 'T':
    case 't':
        v *= 1e12;
        end++;
        break;
    case 'P':
    case 'p':
        v *= 1e15;
        end++;
        break;
    default: break;
    }
    if (*end != '\0' || v < 0) {
        return -1;
    }
    *out = v;
    return 0;
}
