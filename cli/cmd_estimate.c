/* cmd_estimate.c -- `llmcal estimate`: per-GPU memory (first, last and worst pipeline rank) and
 * step time of one configuration, as an aligned table or the JSON contract object.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opts.h" // provides: cli_setup, cli_config_flag, cli_estimate_json/print

static void usage(FILE *f)
{
    fprintf(f, "usage: llmcal estimate [flags]\n"
               "  per-GPU memory (itemised, worst rank) and step time of one configuration\n"
               "  --tokens T            training tokens: days (and cost) to train on them\n"
               "  --gpu-hour-price USD  price of one GPU-hour, for the cost\n\n");
    cli_config_usage(f);
}

int cmd_estimate(int argc, char **argv)
{
    cli_setup *s = NULL;
    static cli_setup setup; /* large; one per process */
    s = &setup;
    cli_setup_init(s);
    est_diag diag = {{0}, NULL, 0};
    double tokens = 0.0;
    double price = 0.0;
    for (int i = 1; i < argc; i++) {
        int rc = CLI_EXIT_OK;
        cli_arg a = cli_shared_arg(s, argc, argv, &i, "estimate", usage, &rc);
        if (a == CLI_ARG_EXIT) {
            return rc;
        }
        if (a == CLI_ARG_TAKEN) {
            continue;
        }
        if (strcmp(argv[i], "--tokens") == 0 || strcmp(argv[i], "--gpu-hour-price") == 0) {
            double *dst = argv[i][2] == 't' ? &tokens : &price;
            if (cli_parse_f64(argv[i], i + 1 < argc ? argv[i + 1] : NULL, 0.0, 1e18, dst, &diag) !=
                0) {
                cli_error("estimate", &diag, EST_EINVAL);
                return CLI_EXIT_USAGE;
            }
            i++;
            continue;
        }
        fprintf(stderr, "llmcal estimate: unknown flag '%s' (see llmcal estimate --help)\n",
                argv[i]);
        return CLI_EXIT_USAGE;
    }
    est_status st = cli_setup_finish(s, true, &diag);
    if (st != EST_OK) {
        cli_error("estimate", &diag, st);
        return CLI_EXIT_USAGE;
    }
    est_memory_report mem;
    st = est_memory(&s->cfg, &mem, &diag);
    if (st != EST_OK) {
        cli_error("estimate", &diag, st);
        return CLI_EXIT_USAGE;
    }
    est_time_report tr;
    est_time_opts topts = cli_time_opts(s);
    st = est_step_time_ex(&s->cfg, &topts, &tr, &diag);
    if (st != EST_OK) {
        cli_error("estimate", &diag, st);
        return CLI_EXIT_USAGE;
    }
    double days = 0.0;
    if (tokens > 0.0 && tr.tokens_per_s > 0.0) {
        days = tokens / tr.tokens_per_s / 86400.0;
    }
    if (s->json) {
        json_t *o = cli_estimate_json(&s->cfg, &mem, &tr);
        if (tokens > 0.0) {
            json_object_set_new(o, "train_tokens", json_real(tokens));
            json_object_set_new(o, "train_days", json_real(days));
            if (price > 0.0) {
                json_object_set_new(o, "train_cost_usd",
                                    json_real(days * 24.0 * (double)s->cfg.par.gpus * price));
            }
        }
        char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
        if (text) {
            puts(text);
        }
        free(text);
        json_decref(o);
    } else {
        cli_estimate_print(stdout, &s->cfg, &mem, &tr);
        if (tokens > 0.0) {
            printf("\n  %.3g tokens: %.1f days on %lld GPUs", tokens, days,
                   (long long)s->cfg.par.gpus);
            if (price > 0.0) {
                printf(", $%.0f at $%.2f per GPU-hour",
                       days * 24.0 * (double)s->cfg.par.gpus * price, price);
            }
            printf("\n");
        }
    }
    return CLI_EXIT_OK;
}
