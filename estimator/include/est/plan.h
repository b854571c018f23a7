/* plan.h -- compute-optimal model size and token count for a compute budget (scaling laws).
 *
 * Chinchilla (Hoffmann et al. 2022): Approaches 1/2 give N_opt = G*C^a, D_opt = C/(6*N_opt) with
 * a = b = 0.50; Approach 3 fits L(N, D) = E + A/N^alpha + B/D^beta with E=1.69, A=406.4,
 * B=410.7, alpha=0.34, beta=0.28 and C = 6ND, whose minimum is
 * N_opt = G*(C/6)^(beta/(alpha+beta)), G = (alpha*A/(beta*B))^(1/(alpha+beta)).
 * DeepSeek LLM 2024 (Eq. 4): M_opt = 0.1715*C^0.5243, D_opt = 5.8316*C^0.4757 with M the
 * non-embedding FLOPs per token and C = M*D. docs/time.md#plan. Pure.
 */
#ifndef LLMCAL_EST_PLAN_H
#define LLMCAL_EST_PLAN_H

#include "est/status.h"

typedef enum est_scaling_law {
    EST_LAW_CHINCHILLA_12 = 0, /* Approaches 1/2: a = b = 0.50, D/N ~ 20 */
    EST_LAW_CHINCHILLA_3,      /* Approach 3 parametric fit */
    EST_LAW_DEEPSEEK,          /* DeepSeek LLM 2024 (M = non-embedding FLOPs/token) */
    EST_LAW_COUNT
} est_scaling_law;

typedef struct est_plan_point {
    double compute_flop;   /* C */
    double params;         /* N_opt (Chinchilla); DeepSeek: M_opt / 6 as an equivalent N */
    double tokens;         /* D_opt */
    double flop_per_token; /* 6N (Chinchilla) or M_opt (DeepSeek) */
    double loss;           /* Approach 3's predicted loss at (N, D); NAN for the others */
} est_plan_point;

/* Compute-optimal point for `compute_flop` under `law`. EST_EINVAL for C <= 0 or unknown law. */
est_status est_plan_optimal(double compute_flop, est_scaling_law law, est_plan_point *out,
                            est_diag *diag);

/* Approach 3's loss L(N, D) = E + A/N^alpha + B/D^beta. */
double est_chinchilla_loss(double params, double tokens);

/* Name of a law ("chinchilla", "chinchilla-3", "deepseek") and parsing back (-1 if unknown). */
const char *est_scaling_law_name(est_scaling_law law);
int est_scaling_law_parse(const char *s);

#endif /* LLMCAL_EST_PLAN_H */
