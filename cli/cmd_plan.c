/* cmd_plan.c -- `llmcal plan`: compute-optimal parameters and tokens for a budget (Chinchilla
 * Approaches 1/2 and 3, DeepSeek LLM), and for the given model the best configuration on the
 * cluster and the wall-clock time to train it on the optimal tokens.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "est/config.h" // provides: est_model_params
#include "est/plan.h"   // provides: est_plan_optimal, est_scaling_law_parse
#include "est/search.h" // provides: est_search
#include "opts.h"       // provides: cli_setup, cli_config_flag

int cmd_plan(int argc, char **argv); /* the subcommand (dispatched from main.c) */

static void usage(FILE *f)
{
    fprintf(f, "usage: llmcal plan (--flops C | --gpu-days D) [--law L] [--model M --gpus N "
               "--gbs B --seq S ...]\n"
               "  compute-optimal parameters and tokens for a budget, and the best configuration\n"
               "  of --model on the cluster with the days it needs for those tokens\n"
               "  --flops C      budget in FLOPs\n"
               "  --gpu-days D   budget in GPU-days on --gpu (converted at the best config's "
               "model FLOP/s)\n"
               "  --law L        chinchilla (Approaches 1/2, default), chinchilla-3, deepseek\n\n");
    cli_config_usage(f);
}

int cmd_plan(int argc, char **argv)
{
    static cli_setup setup;
    static est_search_result top[1];
    cli_setup *s = &setup;
    cli_setup_init(s);
    est_diag diag = {{0}, NULL, 0};
    double flops = 0.0, gpu_days = 0.0;
    int law = EST_LAW_CHINCHILLA_12;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return CLI_EXIT_OK;
        }
        int r = cli_config_flag(s, argc, argv, &i, &diag);
        if (r < 0) {
            cli_error("plan", &diag, EST_EINVAL);
            return CLI_EXIT_USAGE;
        }
        if (r > 0) {
            continue;
        }
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--flops") == 0 || strcmp(argv[i], "--gpu-days") == 0) {
            double *dst = argv[i][2] == 'f' ? &flops : &gpu_days;
            if (cli_parse_f64(argv[i], v, 1e-30, 1e40, dst, &diag) != 0) {
                cli_error("plan", &diag, EST_EINVAL);
                return CLI_EXIT_USAGE;
            }
            i++;
        } else if (strcmp(argv[i], "--law") == 0) {
            law = v != NULL ? est_scaling_law_parse(v) : -1;
            if (law < 0) {
                fprintf(stderr, "llmcal plan: --law: '%s' unknown (chinchilla, chinchilla-3, "
                                "deepseek)\n",
                        v != NULL ? v : "");
                return CLI_EXIT_USAGE;
            }
            i++;
        } else {
            fprintf(stderr, "llmcal plan: unknown flag '%s' (see llmcal plan --help)\n", argv[i]);
            return CLI_EXIT_USAGE;
        }
    }
    if ((flops > 0.0) == (gpu_days > 0.0)) {
        fprintf(stderr, "llmcal plan: give exactly one budget: --flops C or --gpu-days D\n");
        return CLI_EXIT_USAGE;
    }
    est_status st = cli_setup_finish(s, false, &diag);
    if (st != EST_OK) {
        cli_error("plan", &diag, st);
        return CLI_EXIT_USAGE;
    }
    /* best configuration of the model on the cluster (needs a global batch) */
    bool have_cfg = false;
    if (s->gbs_given && s->cfg.par.gbs > 0) {
        est_search_stats stats;
        int n = 0;
        st = est_search(&s->cfg, NULL, NULL, top, 1, &n, &stats, &diag);
        if (st != EST_OK) {
            cli_error("plan", &diag, st);
            return CLI_EXIT_FAIL;
        }
        have_cfg = n > 0;
    } else if (gpu_days > 0.0) {
        fprintf(stderr, "llmcal plan: --gpu-days needs --gbs (the configuration search sets the "
                        "FLOP/s a GPU-day buys)\n");
        return CLI_EXIT_USAGE;
    }
    if (gpu_days > 0.0) {
        flops = gpu_days * 86400.0 * top[0].time.tflops_per_gpu * 1e12;
    }
    est_plan_point pt;
    st = est_plan_optimal(flops, (est_scaling_law)law, &pt, &diag);
    if (st != EST_OK) {
        cli_error("plan", &diag, st);
        return CLI_EXIT_USAGE;
    }
    est_param_counts pc;
    est_model_params(&s->model, &pc);
    double days = 0.0;
    if (have_cfg) {
        days = pt.tokens / top[0].time.tokens_per_s / 86400.0;
    }
    if (s->json) {
        json_t *o = json_object();
        json_object_set_new(o, "law", json_string(est_scaling_law_name((est_scaling_law)law)));
        json_object_set_new(o, "budget_flops", json_real(flops));
        json_object_set_new(o, "optimal_params", json_real(pt.params));
        json_object_set_new(o, "optimal_tokens", json_real(pt.tokens));
        json_object_set_new(o, "flops_per_token", json_real(pt.flop_per_token));
        json_object_set_new(o, "model_params", json_integer((json_int_t)pc.total));
        if (have_cfg) {
            est_config c = s->cfg;
            c.par = top[0].par;
            json_object_set_new(o, "best", cli_estimate_json(&c, &top[0].memory, &top[0].time));
            json_object_set_new(o, "train_days", json_real(days));
        }
        char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
        if (text) {
            puts(text);
        }
        free(text);
        json_decref(o);
        return CLI_EXIT_OK;
    }
    printf("budget %.3g FLOPs (%s): optimal %.3g parameters, %.3g tokens (%.3g FLOPs/token)\n",
           flops, est_scaling_law_name((est_scaling_law)law), pt.params, pt.tokens,
           pt.flop_per_token);
    if (have_cfg) {
        const est_search_result *r = &top[0];
        printf("%s (%.3g parameters) on %lld x %s: best tp %d pp %d vpp %d cp %d dp %d mbs %lld "
               "%s, %.0f tokens/s, MFU %.1f%%: %.3g tokens in %.1f days\n",
               s->model.name, (double)pc.total, (long long)r->par.gpus, s->gpu.name, r->par.tp,
               r->par.pp, r->par.vpp, r->par.cp, r->par.dp, (long long)r->par.mbs,
               est_recompute_name(r->par.recompute), r->time.tokens_per_s, 100.0 * r->time.mfu,
               pt.tokens, days);
    }
    return CLI_EXIT_OK;
}
