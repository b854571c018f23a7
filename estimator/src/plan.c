/* plan.c -- compute-optimal parameters and tokens for a budget (Chinchilla, DeepSeek LLM).
 *
 * Not here: the configuration search for the plan (search.c) or wall-clock time (steptime.c);
 * cli/cmd_plan.c combines them. References: Hoffmann et al. 2022 Sec. 3 and Table 3 (Approaches
 * 1-3, Eq. (2) and its closed-form minimum, App. D.2); DeepSeek-AI 2024 "DeepSeek LLM" Sec. 3.2
 * Eq. (4). docs/time.md#plan.
 */
#include <math.h>
#include <string.h>

#include "est/plan.h"

/* Chinchilla Approach 3 fit (Hoffmann et al. 2022 Eq. (10)) */
#define CH_E     1.69
#define CH_A     406.4
#define CH_B     410.7
#define CH_ALPHA 0.34
#define CH_BETA  0.28

double est_chinchilla_loss(double params, double tokens)
{
    return CH_E + CH_A / pow(params, CH_ALPHA) + CH_B / pow(tokens, CH_BETA);
}

est_status est_plan_optimal(double compute_flop, est_scaling_law law, est_plan_point *out,
                            est_diag *diag)
{
    if (!(compute_flop > 0.0) || isinf(compute_flop)) {
        return EST_FAIL(diag, EST_EINVAL, "budget: %g FLOPs must be positive and finite",
                        compute_flop);
    }
    memset(out, 0, sizeof *out);
    out->compute_flop = compute_flop;
    out->loss = NAN;
    switch (law) {
    case EST_LAW_CHINCHILLA_12:
        /* a = b = 0.50; the coefficient puts Chinchilla itself (70B, 1.4T tokens) on the line:
           D/N = 20, so C = 6*N*20N and N = (C/120)^0.5 */
        out->params = pow(compute_flop / 120.0, 0.5);
        out->tokens = compute_flop / (6.0 * out->params);
        out->flop_per_token = 6.0 * out->params;
        out->loss = est_chinchilla_loss(out->params, out->tokens);
        return EST_OK;
    case EST_LAW_CHINCHILLA_3: {
        double s = CH_ALPHA + CH_BETA;
        double g = pow(CH_ALPHA * CH_A / (CH_BETA * CH_B), 1.0 / s);
        out->params = g * pow(compute_flop / 6.0, CH_BETA / s);
        out->tokens = pow(compute_flop / 6.0, CH_ALPHA / s) / g;
        out->flop_per_token = 6.0 * out->params;
        out->loss = est_chinchilla_loss(out->params, out->tokens);
        return EST_OK;
    }
    case EST_LAW_DEEPSEEK:
        out->flop_per_token = 0.1715 * pow(compute_flop, 0.5243);
        out->tokens = 5.8316 * pow(compute_flop, 0.4757);
        out->params = out->flop_per_token / 6.0;
        return EST_OK;
    default: return EST_FAIL(diag, EST_EINVAL, "law: %d unknown", (int)law);
    }
}

const char *est_scaling_law_name(est_scaling_law law)
{
    switch (law) {
    case EST_LAW_CHINCHILLA_12: return "chinchilla";
    case EST_LAW_CHINCHILLA_3: return "chinchilla-3";
    case EST_LAW_DEEPSEEK: return "deepseek";
    default: return "unknown";
    }
}

int est_scaling_law_parse(const char *s)
{
    for (int i = 0; i < EST_LAW_COUNT; i++) {
        if (strcmp(s, est_scaling_law_name((est_scaling_law)i)) == 0) {
            return i;
        }
    }
    return -1;
}
