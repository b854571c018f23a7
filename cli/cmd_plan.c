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
               "  on the cluster with the days it takes: of a Llama-style model of the optimal "
               "size, or of\n"
               "  --model trained on all the tokens the budget buys (6N FLOPs per token)\n"
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
        int rc = CLI_EXIT_OK;
        cli_arg a = cli_shared_arg(s, argc, argv, &i, "plan", usage, &rc);
        if (a == CLI_ARG_EXIT) {
            return rc;
        }
        if (a == CLI_ARG_TAKEN) {
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
                fprintf(stderr,
                        "llmcal plan: --law: '%s' unknown (chinchilla, chinchilla-3, "
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
    if (gpu_days > 0.0 && !(s->gbs_given && s->cfg.par.gbs > 0)) {
        fprintf(stderr, "llmcal plan: --gpu-days needs --gbs (the configuration search sets the "
                        "FLOP/s a GPU-day buys)\n");
        return CLI_EXIT_USAGE;
    }
    /* Without --model the plan is for a Llama-style model of the compute-optimal size
       (est_model_scaled). A GPU-day budget buys FLOPs at the best configuration's model FLOP/s,
       which depends on the model: iterate that fixed point a few times. */
    est_plan_point pt;
    bool have_cfg = false;
    est_time_opts topts = cli_time_opts(s);
    int rounds = gpu_days > 0.0 && !s->model_given ? 8 : 1;
    if (gpu_days > 0.0 && !s->model_given) {
        /* a first guess of the planned model at 40 % of the GPU's bf16 peak, so the first search
           is of a model of about the right size */
        double guess = gpu_days * 86400.0 * 0.4 * s->gpu.peak_flop_per_s[EST_DT_BF16];
        st = est_plan_optimal(guess, (est_scaling_law)law, &pt, &diag);
        if (st == EST_OK) {
            st = est_model_scaled(pt.params, &s->model, &diag);
        }
        if (st != EST_OK) {
            cli_error("plan", &diag, st);
            return CLI_EXIT_USAGE;
        }
    }
    for (int it = 0; it < rounds; it++) {
        if (gpu_days > 0.0) {
            est_search_stats stats;
            int n = 0;
            st = est_search(&s->cfg, NULL, &topts, top, 1, &n, &stats, &diag);
            if (st != EST_OK || n == 0) {
                cli_error("plan", &diag, st != EST_OK ? st : EST_EINVAL);
                return CLI_EXIT_FAIL;
            }
            flops = gpu_days * 86400.0 * top[0].time.tflops_per_gpu * 1e12;
        }
        st = est_plan_optimal(flops, (est_scaling_law)law, &pt, &diag);
        if (st != EST_OK) {
            cli_error("plan", &diag, st);
            return CLI_EXIT_USAGE;
        }
        if (!s->model_given) {
            st = est_model_scaled(pt.params, &s->model, &diag);
            if (st != EST_OK) {
                cli_error("plan", &diag, st);
                return CLI_EXIT_USAGE;
            }
        }
    }
    /* best configuration of the planned (or given) model on the cluster */
    if (s->gbs_given && s->cfg.par.gbs > 0) {
        est_search_stats stats;
        int n = 0;
        st = est_search(&s->cfg, NULL, &topts, top, 1, &n, &stats, &diag);
        if (st != EST_OK) {
            cli_error("plan", &diag, st);
            return CLI_EXIT_FAIL;
        }
        have_cfg = n > 0;
    }
    est_param_counts pc;
    est_model_params(&s->model, &pc);
    /* tokens: the optimal D for the planned model; a given model spends the whole budget at
       6N FLOPs per token, N its active parameters (a MoE token visits top_k experts) */
    double tokens = s->model_given ? flops / (6.0 * (double)pc.active) : pt.tokens;
    double days = 0.0;
    if (have_cfg) {
        days = tokens / top[0].time.tokens_per_s / 86400.0;
    }
    if (s->json) {
        json_t *o = json_object();
        json_object_set_new(o, "law", json_string(est_scaling_law_name((est_scaling_law)law)));
        json_object_set_new(o, "budget_flops", json_real(flops));
        json_object_set_new(o, "optimal_params", json_real(pt.params));
        json_object_set_new(o, "optimal_tokens", json_real(pt.tokens));
        json_object_set_new(o, "flops_per_token", json_real(pt.flop_per_token));
        json_t *mj = json_object();
        json_object_set_new(mj, "name", json_string(s->model.name));
        json_object_set_new(mj, "planned", json_boolean(!s->model_given));
        json_object_set_new(mj, "hidden", json_integer(s->model.hidden));
        json_object_set_new(mj, "layers", json_integer(s->model.layers));
        json_object_set_new(mj, "heads", json_integer(s->model.heads));
        json_object_set_new(mj, "kv_heads", json_integer(s->model.kv_heads));
        json_object_set_new(mj, "ffn", json_integer(s->model.ffn));
        json_object_set_new(mj, "params", json_integer((json_int_t)pc.total));
        json_object_set_new(o, "model", mj);
        json_object_set_new(o, "train_tokens", json_real(tokens));
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
    if (!s->model_given) {
        printf("planned model: Llama-style, h %lld, %lld layers, ffn %lld, %lld heads (%lld KV), "
               "%.3g parameters\n",
               (long long)s->model.hidden, (long long)s->model.layers, (long long)s->model.ffn,
               (long long)s->model.heads, (long long)s->model.kv_heads, (double)pc.total);
    } else {
        printf("%s (%.3g parameters, %.3g active): the budget trains it on %.3g tokens (%.2gx "
               "its compute-optimal %.3g)\n",
               s->model.name, (double)pc.total, (double)pc.active, tokens,
               tokens / (20.0 * (double)pc.active), 20.0 * (double)pc.active);
    }
    if (!have_cfg) {
        printf("(give --gpus and --gbs for the best configuration and the days to train)\n");
    }
    if (have_cfg) {
        const est_search_result *r = &top[0];
        printf("%s (%.3g parameters) on %lld x %s: best tp %d pp %d vpp %d cp %d dp %d mbs %lld "
               "%s, %.0f tokens/s, MFU %.1f%%: %.3g tokens in %.1f days\n",
               s->model.name, (double)pc.total, (long long)r->par.gpus, s->gpu.name, r->par.tp,
               r->par.pp, r->par.vpp, r->par.cp, r->par.dp, (long long)r->par.mbs,
               est_recompute_name(r->par.recompute), r->time.tokens_per_s, 100.0 * r->time.mfu,
               tokens, days);
        if (gpu_days > 0.0) {
            printf("(the scaling law budgets 6N FLOPs per token; the step also runs the attention "
                   "FLOPs, so the days exceed GPU-days / GPUs by that share)\n");
        }
    }
    return CLI_EXIT_OK;
}
