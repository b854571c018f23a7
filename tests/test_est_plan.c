/* test_est_plan.c -- compute-optimal points (Hoffmann et al. 2022; DeepSeek LLM 2024). */
#include <math.h>

#include "check.h"
#include "est/plan.h"

int main(void)
{
    est_plan_point pt;
    est_diag d;
    /* Approaches 1/2 (a = b = 0.5, D = 20N): Chinchilla's own budget, 70B x 1.4T tokens:
       C = 6*70e9*1.4e12 = 5.88e23 -> N = sqrt(C/120) = 70e9 */
    CHECK(est_plan_optimal(5.88e23, EST_LAW_CHINCHILLA_12, &pt, &d) == EST_OK, "chinchilla");
    CHECK_REL(pt.params, 70e9, 1e-3, "Chinchilla 70B at 5.88e23 FLOPs");
    CHECK_REL(pt.tokens, 1.4e12, 1e-3, "Chinchilla 1.4T tokens");
    CHECK_REL(6.0 * pt.params * pt.tokens, 5.88e23, 1e-12, "C = 6ND");
    /* Approach 3: N_opt minimises L(N, C/(6N)); L is larger 10% either side */
    CHECK(est_plan_optimal(5.76e23, EST_LAW_CHINCHILLA_3, &pt, &d) == EST_OK, "approach 3");
    double c6 = 5.76e23 / 6.0;
    double l0 = est_chinchilla_loss(pt.params, c6 / pt.params);
    CHECK(l0 < est_chinchilla_loss(0.9 * pt.params, c6 / (0.9 * pt.params)) &&
              l0 < est_chinchilla_loss(1.1 * pt.params, c6 / (1.1 * pt.params)),
          "approach 3 point is the minimum of L along C = 6ND");
    CHECK_REL(6.0 * pt.params * pt.tokens, 5.76e23, 1e-9, "approach 3 spends the budget");
    /* Approach 3's exponents: N_opt ~ C^(beta/(alpha+beta)) = C^0.4516 */
    est_plan_point p2;
    est_plan_optimal(5.76e24, EST_LAW_CHINCHILLA_3, &p2, &d);
    CHECK_REL(p2.params / pt.params, pow(10.0, 0.28 / 0.62), 1e-9, "N_opt exponent 0.452");
    /* DeepSeek LLM Eq. (4): M*D = 0.1715*5.8316*C = 1.00012*C */
    CHECK(est_plan_optimal(1e24, EST_LAW_DEEPSEEK, &pt, &d) == EST_OK, "deepseek");
    CHECK_REL(pt.flop_per_token * pt.tokens, 1.00012e24, 1e-5, "DeepSeek M*D = C");
    CHECK_REL(pt.flop_per_token, 0.1715 * pow(1e24, 0.5243), 1e-12, "DeepSeek M_opt");
    /* bad input */
    CHECK(est_plan_optimal(-1.0, EST_LAW_DEEPSEEK, &pt, &d) == EST_EINVAL, "negative budget");
    CHECK(est_scaling_law_parse("deepseek") == EST_LAW_DEEPSEEK, "parse law");
    CHECK(est_scaling_law_parse("kaplan") == -1, "unknown law");
    return check_summary();
}
