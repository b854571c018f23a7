/* units.c -- the small unit lexer of profile files: "80GiB", "3.35TB/s", "989.4TFLOP/s", "3us",
 * "70.6B" into base units (bytes, bytes/s, FLOP/s, seconds, parameters).
 *
 * Not a general dimensional-analysis library: one field has one unit kind, and the lexer only
 * checks that the suffix belongs to it. Decimal prefixes are powers of 1000 and binary ones (Ki,
 * Mi...) powers of 1024 (IEC 80000-13), "B" is a byte and "b" a bit, as in network datasheets.
 * docs/profiles.md#units lists every accepted spelling.
 */
#include "prof/prof.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

// ---------------------------------------------------------------------------
// prefixes

/* multiplier of a decimal SI prefix letter, 0 if none */
static double si_prefix(char c)
{
    switch (c) {
    case 'k':
    case 'K': return 1e3;
    case 'M': return 1e6;
    case 'G': return 1e9;
    case 'T': return 1e12;
    case 'P': return 1e15;
    default: return 0.0;
    }
}

/* multiplier of a binary prefix letter (the letter before "i"), 0 if none */
static double bin_prefix(char c)
{
    switch (c) {
    case 'k':
    case 'K': return 1024.0;
    case 'M': return 1048576.0;
    case 'G': return 1073741824.0;
    case 'T': return 1099511627776.0;
    case 'P': return 1125899906842624.0;
    default: return 0.0;
    }
}

/* "B", "KB", "KiB", "b", "Gb", "Gbit" ... -> bytes (bits / 8); 0 when not a byte/bit unit */
static double byte_unit(const char *u, bool allow_bits)
{
    double mult = 1.0;
    const char *p = u;
    if (p[0] != '\0' && p[1] == 'i' && bin_prefix(p[0]) > 0) {
        mult = bin_prefix(p[0]);
        p += 2;
    } else if (p[0] != '\0' && p[0] != 'B' && p[0] != 'b' && si_prefix(p[0]) > 0) {
        mult = si_prefix(p[0]);
        p += 1;
    }
    if (strcmp(p, "B") == 0 || strcmp(p, "byte") == 0 || strcmp(p, "bytes") == 0) {
        return mult;
    }
    if (allow_bits && (strcmp(p, "b") == 0 || strcmp(p, "bit") == 0 || strcmp(p, "bits") == 0)) {
        return mult / 8.0;
    }
    return 0.0;
}

static double flops_unit(const char *u)
{
    double mult = 1.0;
    const char *p = u;
    if (si_prefix(p[0]) > 0 && p[0] != 'F') {
        mult = si_prefix(p[0]);
        p++;
    }
    if (strcmp(p, "FLOP/s") == 0 || strcmp(p, "FLOPS") == 0 || strcmp(p, "flop/s") == 0 ||
        strcmp(p, "FLOPs/s") == 0) {
        return mult;
    }
    return 0.0;
}

static double seconds_unit(const char *u)
{
    if (strcmp(u, "s") == 0) {
        return 1.0;
    }
    if (strcmp(u, "ms") == 0) {
        return 1e-3;
    }
    if (strcmp(u, "us") == 0 || strcmp(u, "\xc2\xb5s") == 0 || strcmp(u, "\xce\xbcs") == 0) {
        return 1e-6;
    }
    if (strcmp(u, "ns") == 0) {
        return 1e-9;
    }
    return 0.0;
}

static double params_unit(const char *u)
{
    if (strcmp(u, "K") == 0 || strcmp(u, "k") == 0) {
        return 1e3;
    }
    if (strcmp(u, "M") == 0) {
        return 1e6;
    }
    if (strcmp(u, "B") == 0 || strcmp(u, "G") == 0) {
        return 1e9;
    }
    if (strcmp(u, "T") == 0) {
        return 1e12;
    }
    return 0.0;
}

static const char *unit_help(prof_unit unit)
{
    switch (unit) {
    case PROF_UNIT_BYTES: return "bytes, or a size like \"80GiB\", \"40GB\", \"512MiB\"";
    case PROF_UNIT_BYTES_PER_S:
        return "bytes/s, or a rate like \"3.35TB/s\", \"900GB/s\", \"400Gb/s\"";
    case PROF_UNIT_FLOP_PER_S: return "FLOP/s, or a rate like \"989.4TFLOP/s\"";
    case PROF_UNIT_SECONDS: return "seconds, or a time like \"3us\", \"1.5ms\"";
    case PROF_UNIT_PARAMS: return "a count, or one like \"70.6B\", \"124M\"";
    case PROF_UNIT_COUNT_: break;
    }
    return "a number";
}

// ---------------------------------------------------------------------------
// public

est_status prof_parse_quantity(const char *text, prof_unit unit, double *out, double *half_ulp,
                               est_diag *diag)
{
    if (text == NULL) {
        return EST_FAIL(diag, EST_EINVAL, "quantity: missing text");
    }
    const char *p = text;
    while (isspace((unsigned char)*p)) {
        p++;
    }
    if (*p == '\0') {
        return EST_FAIL(diag, EST_EINVAL, "\"%s\": empty; expected %s", text, unit_help(unit));
    }
    if (*p == '-') {
        return EST_FAIL(diag, EST_EINVAL, "\"%s\": must not be negative", text);
    }
    if (!(isdigit((unsigned char)*p) || (*p == '.' && isdigit((unsigned char)p[1])))) {
        return EST_FAIL(diag, EST_EINVAL, "\"%s\": expected a number first; expected %s", text,
                        unit_help(unit));
    }
    /* digits after the point and the exponent decide the precision the writer stated */
    int decimals = 0;
    const char *q = p;
    while (isdigit((unsigned char)*q)) {
        q++;
    }
    if (*q == '.') {
        q++;
        while (isdigit((unsigned char)*q)) {
            q++;
            decimals++;
        }
    }
    errno = 0;
    char *end = NULL;
    double v = strtod(p, &end);
    if (end == p || errno == ERANGE || !isfinite(v)) {
        return EST_FAIL(diag, EST_EINVAL, "\"%s\": not a finite number", text);
    }
    int expo = 0;
    if (end > q && (*q == 'e' || *q == 'E')) {
        expo = atoi(q + 1);
    }
    /* unit text: skip blanks, trim trailing blanks */
    while (isspace((unsigned char)*end)) {
        end++;
    }
    char u[32];
    size_t n = strlen(end);
    while (n > 0 && isspace((unsigned char)end[n - 1])) {
        n--;
    }
    if (n >= sizeof u) {
        return EST_FAIL(diag, EST_EINVAL, "\"%s\": unknown unit; expected %s", text,
                        unit_help(unit));
    }
    memcpy(u, end, n);
    u[n] = '\0';

    double mult = 0.0;
    if (u[0] == '\0') {
        mult = 1.0;
    } else {
        switch (unit) {
        case PROF_UNIT_BYTES: mult = byte_unit(u, false); break;
        case PROF_UNIT_BYTES_PER_S:
            if (n > 2 && strcmp(u + n - 2, "/s") == 0) {
                u[n - 2] = '\0';
                mult = byte_unit(u, true);
            } else if (n > 2 && strcmp(u + n - 2, "ps") == 0) { /* "Gbps", "GBps" */
                u[n - 2] = '\0';
                mult = byte_unit(u, true);
            }
            break;
        case PROF_UNIT_FLOP_PER_S: mult = flops_unit(u); break;
        case PROF_UNIT_SECONDS: mult = seconds_unit(u); break;
        case PROF_UNIT_PARAMS: mult = params_unit(u); break;
        case PROF_UNIT_COUNT_: break;
        }
    }
    if (!(mult > 0.0)) {
        return EST_FAIL(diag, EST_EINVAL, "\"%s\": unknown unit '%s'; expected %s", text, end,
                        unit_help(unit));
    }
    *out = v * mult;
    if (half_ulp != NULL) {
        *half_ulp = 0.5 * pow(10.0, (double)(expo - decimals)) * mult;
    }
    return EST_OK;
}
