/* cmd_search.c -- `llmcal search`: every valid parallel configuration of a model on N GPUs for a
 * global batch and sequence length, those that fit ranked by throughput; the top K as a table or
 * the JSON contract {"results": [...], "evaluated", "valid", "fitting", "elapsed_s"}.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "est/search.h" // provides: est_search, est_search_space_default
#include "opts.h"       // provides: cli_setup, cli_config_flag, cli_estimate_json/print

#define SEARCH_MAX_TOP 1000

int cmd_search(int argc, char **argv); /* the subcommand (dispatched from main.c) */

static void usage(FILE *f)
{
    fprintf(f, "usage: llmcal search --model M --gpu G --gpus N --gbs B --seq S [flags]\n"
               "  exhaustive search over tp, sp, pp, vpp, cp, ep, zero/fsdp, mbs, recompute\n"
               "  --top K               configurations to print (default 5, max 1000)\n"
               "  --max-tp T            largest tensor-parallel size (default: GPUs per node)\n"
               "  --max-cp C            largest context-parallel size (default 16)\n"
               "  --try-orders          also try the tp-cp-ep-pp-dp rank order\n"
               "  --tokens T            training tokens: days (and cost) for each result\n"
               "  --gpu-hour-price USD  price of one GPU-hour, for the cost\n\n");
    cli_config_usage(f);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void add_cost(json_t *o, const est_search_result *r, double tokens, double price)
{
    if (tokens <= 0.0 || r->time.tokens_per_s <= 0.0) {
        return;
    }
    double days = tokens / r->time.tokens_per_s / 86400.0;
    json_object_set_new(o, "train_tokens", json_real(tokens));
    json_object_set_new(o, "train_days", json_real(days));
    if (price > 0.0) {
        json_object_set_new(o, "train_cost_usd",
                            json_real(days * 24.0 * (double)r->par.gpus * price));
    }
}

static void print_table(const cli_setup *s, const est_search_result *top, int n, double tokens,
                        double price)
{
    printf("%-3s %3s %2s %3s %3s %3s %3s %5s %4s %4s %-9s %8s %8s %10s %7s %6s", "#", "tp", "sp",
           "pp", "vpp", "cp", "ep", "dp", "mbs", "zero", "recompute", "mem GiB", "iter s",
           "tokens/s", "TFLOP/s", "MFU");
    if (tokens > 0.0) {
        printf(" %8s", "days");
        if (price > 0.0) {
            printf(" %12s", "cost USD");
        }
    }
    printf("\n");
    for (int i = 0; i < n; i++) {
        const est_search_result *r = &top[i];
        int zero = r->par.framework == EST_FW_FSDP ? (int)r->par.fsdp : r->par.zero;
        printf("%-3d %3d %2s %3d %3d %3d %3d %5d %4lld %4d %-9s %8.1f %8.3f %10.0f %7.1f %5.1f%%",
               i + 1, r->par.tp, r->par.sp ? "y" : "n", r->par.pp, r->par.vpp, r->par.cp, r->par.ep,
               r->par.dp, (long long)r->par.mbs, zero, est_recompute_name(r->par.recompute),
               (double)r->memory.worst.total / 1073741824.0, r->time.iteration_s,
               r->time.tokens_per_s, r->time.tflops_per_gpu, 100.0 * r->time.mfu);
        if (tokens > 0.0) {
            double days = tokens / r->time.tokens_per_s / 86400.0;
            printf(" %8.1f", days);
            if (price > 0.0) {
                printf(" %12.0f", days * 24.0 * (double)r->par.gpus * price);
            }
        }
        printf("\n");
    }
    (void)s;
}

int cmd_search(int argc, char **argv)
{
    static cli_setup setup; /* large; one per process */
    static est_search_result top[SEARCH_MAX_TOP];
    cli_setup *s = &setup;
    cli_setup_init(s);
    est_diag diag = {{0}, NULL, 0};
    long long k = 5;
    double tokens = 0.0, price = 0.0;
    est_search_space space = est_search_space_default();
    for (int i = 1; i < argc; i++) {
        int rc = CLI_EXIT_OK;
        cli_arg a = cli_shared_arg(s, argc, argv, &i, "search", usage, &rc);
        if (a == CLI_ARG_EXIT) {
            return rc;
        }
        if (a == CLI_ARG_TAKEN) {
            continue;
        }
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        long long n = 0;
        if (strcmp(argv[i], "--top") == 0) {
            if (cli_parse_i64("--top", v, 1, SEARCH_MAX_TOP, &k, &diag) != 0) {
                cli_error("search", &diag, EST_EINVAL);
                return CLI_EXIT_USAGE;
            }
            i++;
        } else if (strcmp(argv[i], "--max-tp") == 0 || strcmp(argv[i], "--max-cp") == 0) {
            if (cli_parse_i64(argv[i], v, 1, 1024, &n, &diag) != 0) {
                cli_error("search", &diag, EST_EINVAL);
                return CLI_EXIT_USAGE;
            }
            if (argv[i][6] == 't') {
                space.max_tp = (int)n;
            } else {
                space.max_cp = (int)n;
            }
            i++;
        } else if (strcmp(argv[i], "--try-orders") == 0) {
            space.try_orders = true;
        } else if (strcmp(argv[i], "--tokens") == 0 || strcmp(argv[i], "--gpu-hour-price") == 0) {
            double *dst = argv[i][2] == 't' ? &tokens : &price;
            if (cli_parse_f64(argv[i], v, 0.0, 1e18, dst, &diag) != 0) {
                cli_error("search", &diag, EST_EINVAL);
                return CLI_EXIT_USAGE;
            }
            i++;
        } else {
            fprintf(stderr, "llmcal search: unknown flag '%s' (see llmcal search --help)\n",
                    argv[i]);
            return CLI_EXIT_USAGE;
        }
    }
    /* the dimensions the search enumerates: a value given for one is not a constraint */
    static const char *const enumerated[] = {
        "--tp",  "--sp",        "--pp",   "--vpp",
        "--cp",  "--ep",        "--zero", "--use-distributed-optimizer",
        "--mbs", "--recompute", "--fsdp"};
    for (size_t j = 0; j < sizeof enumerated / sizeof enumerated[0]; j++) {
        if (cli_given(s, enumerated[j])) {
            fprintf(stderr,
                    "llmcal search: note: %s is a dimension the search enumerates; the value "
                    "given is ignored (--max-tp/--max-cp bound the space)\n",
                    enumerated[j]);
        }
    }
    est_status st = cli_setup_finish(s, false, &diag);
    if (st != EST_OK) {
        cli_error("search", &diag, st);
        return CLI_EXIT_USAGE;
    }
    if (!s->gbs_given || s->cfg.par.gbs <= 0) {
        fprintf(stderr, "llmcal search: --gbs: the search needs a global batch (sequences)\n");
        return CLI_EXIT_USAGE;
    }
    est_search_stats stats;
    int n_top = 0;
    double t0 = now_s();
    est_time_opts topts = cli_time_opts(s);
    st = est_search(&s->cfg, &space, &topts, top, (int)k, &n_top, &stats, &diag);
    double elapsed = now_s() - t0;
    if (st != EST_OK && stats.valid == 0) {
        cli_error("search", &diag, st);
        return CLI_EXIT_USAGE;
    }
    if (s->json) {
        json_t *o = json_object();
        json_t *arr = json_array();
        for (int i = 0; i < n_top; i++) {
            est_config c = s->cfg;
            c.par = top[i].par;
            json_t *e = cli_estimate_json(&c, &top[i].memory, &top[i].time);
            json_object_set_new(e, "rank_order",
                                json_string(top[i].order == EST_ORDER_TP_CP_EP_DP_PP
                                                ? "tp-cp-ep-dp-pp"
                                                : "tp-cp-ep-pp-dp"));
            add_cost(e, &top[i], tokens, price);
            json_array_append_new(arr, e);
        }
        json_object_set_new(o, "results", arr);
        json_object_set_new(o, "evaluated", json_integer((json_int_t)stats.evaluated));
        json_object_set_new(o, "valid", json_integer((json_int_t)stats.valid));
        json_object_set_new(o, "fitting", json_integer((json_int_t)stats.fitting));
        json_object_set_new(o, "elapsed_s", json_real(elapsed));
        if (st != EST_OK) {
            json_object_set_new(o, "error", json_string(diag.msg));
        }
        char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
        if (text) {
            puts(text);
        }
        free(text);
        json_decref(o);
    } else {
        printf("%s on %lld x %s, gbs %lld, seq %lld: evaluated %llu, valid %llu, fitting %llu "
               "in %.3f s\n",
               s->model.name, (long long)s->cfg.par.gpus, s->gpu.name, (long long)s->cfg.par.gbs,
               (long long)s->cfg.par.seq, (unsigned long long)stats.evaluated,
               (unsigned long long)stats.valid, (unsigned long long)stats.fitting, elapsed);
        if (st != EST_OK) {
            fprintf(stderr, "llmcal search: %s\n", diag.msg);
        } else {
            print_table(s, top, n_top, tokens, price);
        }
    }
    return st == EST_OK ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}
