/* status.c -- est_status names and the estimator's own tiny formatter for est_diag messages.
 *
 * The estimator core may not use the standard I/O header (ARCHITECTURE.md; the est_purity test), so
 * diagnostics are formatted here with a small subset of the usual format directives. Not general.
 */
#include "est/status.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

const char *est_status_str(est_status s)
{
    switch (s) {
    case EST_OK: return "ok";
    case EST_EINVAL: return "invalid argument";
    case EST_ERANGE: return "value out of range";
    case EST_ENOMEM: return "out of memory";
    case EST_EIO: return "input/output error";
    case EST_EPARSE: return "parse error";
    case EST_ECUDA: return "CUDA error";
    case EST_ECUBLAS: return "cuBLAS error";
    case EST_ENCCL: return "NCCL error";
    case EST_ENOFIT: return "fit failed";
    case EST_EUNSUPPORTED: return "not supported";
    case EST_ENOTFOUND: return "not found";
    }
    return "unknown status";
}

// ---------------------------------------------------------------------------
// formatter

typedef struct outbuf {
    char *p;
    size_t cap;
    size_t n;
} outbuf;

static void put_c(outbuf *o, char c)
{
    if (o->n + 1 < o->cap) {
        o->p[o->n] = c;
        o->p[o->n + 1] = '\0';
    }
    o->n++;
}

static void put_s(outbuf *o, const char *s)
{
    if (s == NULL) {
        s = "(null)";
    }
    while (*s) {
        put_c(o, *s++);
    }
}

static void put_u(outbuf *o, unsigned long long v)
{
    char tmp[24];
    int k = 0;
    do {
        tmp[k++] = (char)('0' + (int)(v % 10u));
        v /= 10u;
    } while (v != 0u && k < 24);
    while (k > 0) {
        put_c(o, tmp[--k]);
    }
}

static void put_i(outbuf *o, long long v)
{
    if (v < 0) {
        put_c(o, '-');
        put_u(o, (unsigned long long)(-(v + 1)) + 1u);
    } else {
        put_u(o, (unsigned long long)v);
    }
}

/* fixed notation with `prec` digits after the point */
static void put_fixed(outbuf *o, double v, int prec)
{
    if (v < 0) {
        put_c(o, '-');
        v = -v;
    }
    double scale = pow(10.0, prec);
    double r = floor(v * scale + 0.5);
    if (r > 1.8e19) {
        put_s(o, "huge");
        return;
    }
    unsigned long long all = (unsigned long long)r;
    unsigned long long sc = (unsigned long long)scale;
    put_u(o, all / sc);
    if (prec > 0) {
        put_c(o, '.');
        unsigned long long frac = all % sc;
        char tmp[24];
        for (int i = prec - 1; i >= 0; i--) {
            tmp[i] = (char)('0' + (int)(frac % 10u));
            frac /= 10u;
        }
        for (int i = 0; i < prec; i++) {
            put_c(o, tmp[i]);
        }
    }
}

/* %g-like: `sig` significant digits, trailing zeros removed, exponent form outside 1e-4..1e15 */
static void put_g(outbuf *o, double v, int sig)
{
    if (isnan(v)) {
        put_s(o, "nan");
        return;
    }
    if (isinf(v)) {
        put_s(o, v < 0 ? "-inf" : "inf");
        return;
    }
    if (v == 0.0) {
        put_c(o, '0');
        return;
    }
    if (v < 0) {
        put_c(o, '-');
        v = -v;
    }
    int e = (int)floor(log10(v));
    double m = v;
    int expo = 0;
    if (e < -4 || e >= 15) {
        m = v / pow(10.0, e);
        expo = e;
        e = 0;
    }
    int prec = sig - 1 - e;
    if (prec < 0) {
        prec = 0;
    }
    if (prec > 17) {
        prec = 17;
    }
    char tmp[64];
    outbuf t = {tmp, sizeof tmp, 0};
    tmp[0] = '\0';
    put_fixed(&t, m, prec);
    if (prec > 0 && strchr(tmp, '.') != NULL) {
        size_t n = strlen(tmp);
        while (n > 0 && tmp[n - 1] == '0') {
            tmp[--n] = '\0';
        }
        if (n > 0 && tmp[n - 1] == '.') {
            tmp[--n] = '\0';
        }
    }
    put_s(o, tmp);
    if (expo != 0) {
        put_c(o, 'e');
        put_i(o, expo);
    }
}

est_status est_diag_set(est_diag *diag, est_status s, const char *file, int line, const char *fmt,
                        ...)
{
    if (diag == NULL) {
        return s;
    }
    diag->file = file;
    diag->line = line;
    outbuf o = {diag->msg, sizeof diag->msg, 0};
    diag->msg[0] = '\0';
    va_list ap;
    va_start(ap, fmt);
    for (const char *f = fmt; *f; f++) {
        if (*f != '%') {
            put_c(&o, *f);
            continue;
        }
        f++;
        int prec = -1;
        if (*f == '.') {
            f++;
            prec = 0;
            while (*f >= '0' && *f <= '9') {
                prec = prec * 10 + (*f - '0');
                f++;
            }
        }
        int longs = 0;
        int size_t_mod = 0;
        while (*f == 'l') {
            longs++;
            f++;
        }
        if (*f == 'z') {
            size_t_mod = 1;
            f++;
        }
        switch (*f) {
        case 's': put_s(&o, va_arg(ap, const char *)); break;
        case 'c': put_c(&o, (char)va_arg(ap, int)); break;
        case 'd':
            if (longs >= 2) {
                put_i(&o, va_arg(ap, long long));
            } else if (longs == 1) {
                put_i(&o, va_arg(ap, long));
            } else {
                put_i(&o, va_arg(ap, int));
            }
            break;
        case 'u':
            if (size_t_mod) {
                put_u(&o, va_arg(ap, size_t));
            } else if (longs >= 2) {
                put_u(&o, va_arg(ap, unsigned long long));
            } else if (longs == 1) {
                put_u(&o, va_arg(ap, unsigned long));
            } else {
                put_u(&o, va_arg(ap, unsigned int));
            }
            break;
        case 'g': put_g(&o, va_arg(ap, double), prec < 0 ? 6 : (prec == 0 ? 1 : prec)); break;
        case 'f': put_fixed(&o, va_arg(ap, double), prec < 0 ? 6 : prec); break;
        case '%': put_c(&o, '%'); break;
        case '\0': f--; break;
        default:
            put_c(&o, '%');
            put_c(&o, *f);
            break;
        }
    }
    va_end(ap);
    return s;
}
