/* check.h -- the project's small assertion header (libuv ASSERT_EQ / GSL gsl_test_rel style).
 *
 * CHECK(cond, fmt, ...)                       plain condition
 * CHECK_EQ_I64(actual, expected, what)        integers, prints both
 * CHECK_REL(actual, expected, rel, what)      |a-e| <= rel*|e|, prints both and the relative error
 * CHECK_ABS(actual, expected, abs, what)      |a-e| <= abs
 * check_summary()                             prints "N passed, N failed" alone on a line and
 *                                             returns the exit code (0 when nothing failed)
 * `what` names the formula or source the expected value comes from.
 */
#ifndef LLMCAL_TESTS_CHECK_H
#define LLMCAL_TESTS_CHECK_H

#include <inttypes.h>
#include <math.h>
#include <stdio.h>

static int check_passed_;
static int check_failed_;

static inline void check_report_(int ok, const char *file, int line, const char *what)
{
    if (ok) {
        check_passed_++;
    } else {
        check_failed_++;
        fprintf(stderr, "%s:%d: FAILED: %s\n", file, line, what);
    }
}

#define CHECK(cond, what) check_report_((cond) ? 1 : 0, __FILE__, __LINE__, (what))

#define CHECK_EQ_I64(actual, expected, what)                                                       \
    do {                                                                                           \
        long long a_ = (long long)(actual);                                                        \
        long long e_ = (long long)(expected);                                                      \
        if (a_ != e_) {                                                                            \
            fprintf(stderr, "  expected %lld, got %lld (diff %lld)\n", e_, a_, a_ - e_);           \
        }                                                                                          \
        check_report_(a_ == e_, __FILE__, __LINE__, (what));                                       \
    } while (0)

#define CHECK_REL(actual, expected, rel, what)                                                     \
    do {                                                                                           \
        double a_ = (double)(actual);                                                              \
        double e_ = (double)(expected);                                                            \
        double r_ = (e_ != 0.0) ? fabs(a_ - e_) / fabs(e_) : fabs(a_);                             \
        int ok_ = r_ <= (double)(rel);                                                             \
        if (!ok_) {                                                                                \
            fprintf(stderr, "  expected %.10g, got %.10g (rel err %.3g > %.3g)\n", e_, a_, r_,     \
                    (double)(rel));                                                                \
        }                                                                                          \
        check_report_(ok_, __FILE__, __LINE__, (what));                                            \
    } while (0)

#define CHECK_ABS(actual, expected, tol, what)                                                     \
    do {                                                                                           \
        double a_ = (double)(actual);                                                              \
        double e_ = (double)(expected);                                                            \
        int ok_ = fabs(a_ - e_) <= (double)(tol);                                                  \
        if (!ok_) {                                                                                \
            fprintf(stderr, "  expected %.10g, got %.10g (abs err %.3g > %.3g)\n", e_, a_,         \
                    fabs(a_ - e_), (double)(tol));                                                 \
        }                                                                                          \
        check_report_(ok_, __FILE__, __LINE__, (what));                                            \
    } while (0)

static inline int check_summary(void)
{
    printf("%d passed, %d failed\n", check_passed_, check_failed_);
    return check_failed_ == 0 ? 0 : 1;
}

#endif /* LLMCAL_TESTS_CHECK_H */
