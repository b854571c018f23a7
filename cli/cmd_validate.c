/* cmd_validate.c -- `llmcal validate`: predicted vs measured, per memory component and per time
 * component, with the error in percent, for a list of configurations; exit 1 beyond thresholds.
 *
 * Measured results come from saved run results (--measured FILE..., `llmcal run --json` output
 * or hand-written) or, in a CUDA build with the runtime, from running each case (validate_rt.c).
 * Not here: the comparison itself (calib/src/compare.c), running the runtime (validate_rt.c).
 */
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cal/compare.h" // provides: cal_predicted_json, cal_measured_normalize, cal_error_pct
#include "cal/profile.h" // provides: cal_coeffs_load (--calibration)
#include "est/compute.h" // provides: est_time_opts, est_step_time_ex
#include "opts.h"        // provides: cli_setup, cli_config_flag, cli_estimate_json
#include "validate_rt.h" // provides: validate_run_case (CUDA runtime build)

#define MAX_ARGS 256

typedef struct vargs {
    const char *cases;         /* --cases FILE */
    const char *measured[256]; /* --measured FILE... */
    int n_measured;
    const char *calibration; /* --calibration NAME|FILE */
    const char *out;         /* --out FILE */
    double max_time_err;     /* --max-time-err PCT (NAN: none) */
    double max_mem_err;      /* --max-mem-err PCT */
    bool strict;             /* thresholds on every component, not just the headline */
    bool json;
    bool cpu; /* --backend cpu: the runtime's CPU reference backend */
    long long steps;
    char *common[MAX_ARGS]; /* shared config flags given on the command line */
    int n_common;
} vargs;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: llmcal validate (--cases FILE | --measured FILE...) [flags] [config flags]\n"
            "  predicted vs measured memory and time per component, error in percent\n\n"
            "  --cases FILE          JSON list: [{\"name\": ..., \"args\": [\"--model\", ...] or\n"
            "                        \"config\": {\"model\": ..., \"tp\": 2, \"sp\": true},\n"
            "                        \"measured\": \"run.json\" (optional)}, ...]\n"
            "  --measured FILE...    saved run results (llmcal run --json); matched to cases by\n"
            "                        \"name\", or each one a case of its own \"args\"/\"config\"\n"
            "                        (without either, cases run on the CUDA runtime)\n"
            "  --calibration X       calibrated profile (name or file) for the prediction\n"
            "  --max-time-err PCT    exit 1 if |iteration time error| exceeds PCT\n"
            "  --max-mem-err PCT     exit 1 if |peak memory error| exceeds PCT\n"
            "  --strict              apply the thresholds to every component\n"
            "  --steps N             runtime steps per case (default 5)\n"
            "  --backend cuda|cpu    runtime backend for cases without a measured file\n"
            "                        (default cuda; cpu: the fp32 reference, tiny models)\n"
            "  --json                print the results as JSON\n"
            "  --out FILE            also write {\"cases\": [...]} to FILE\n"
            "  config flags (--gpu, --model...) given here apply to every case first\n");
}

// ---------------------------------------------------------------------------
// flags

static int parse_args(vargs *a, int argc, char **argv, est_diag *d)
{
    static cli_setup probe; /* only to learn which shared flags take a value */
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(f, "--help") == 0 || strcmp(f, "-h") == 0) {
            return 1;
        }
        if (strcmp(f, "--json") == 0) {
            a->json = true;
        } else if (strcmp(f, "--strict") == 0) {
            a->strict = true;
        } else if (strcmp(f, "--measured") == 0) {
            while (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) {
                if (a->n_measured == 256) {
                    EST_FAIL(d, EST_EINVAL, "--measured: more than 256 files");
                    return -1;
                }
                a->measured[a->n_measured++] = argv[++i];
            }
            if (a->n_measured == 0) {
                EST_FAIL(d, EST_EINVAL, "--measured: expected one or more files");
                return -1;
            }
        } else if (strcmp(f, "--cases") == 0 || strcmp(f, "--calibration") == 0 ||
                   strcmp(f, "--out") == 0) {
            if (v == NULL || v[0] == '\0') {
                EST_FAIL(d, EST_EINVAL, "%s: missing value", f);
                return -1;
            }
            *(f[2] == 'c' ? (f[3] == 'a' && f[4] == 's' ? &a->cases : &a->calibration) : &a->out) =
                v;
            i++;
        } else if (strcmp(f, "--max-time-err") == 0 || strcmp(f, "--max-mem-err") == 0) {
            double *dst = f[6] == 't' ? &a->max_time_err : &a->max_mem_err;
            if (cli_parse_f64(f, v, 0.0, 1e9, dst, d) != 0) {
                return -1;
            }
            i++;
        } else if (strcmp(f, "--backend") == 0) {
            if (v == NULL || (strcmp(v, "cpu") != 0 && strcmp(v, "cuda") != 0)) {
                EST_FAIL(d, EST_EINVAL, "--backend: expected cuda or cpu");
                return -1;
            }
            a->cpu = v[1] == 'p';
            i++;
        } else if (strcmp(f, "--steps") == 0) {
            if (cli_parse_i64(f, v, 2, 100000, &a->steps, d) != 0) {
                return -1;
            }
            i++;
        } else {
            int start = i;
            cli_setup_init(&probe);
            int r = cli_config_flag(&probe, argc, argv, &i, d);
            if (r < 0) {
                return -1;
            }
            if (r == 0) {
                EST_FAIL(d, EST_EINVAL, "unknown flag '%s' (see llmcal validate --help)", f);
                return -1;
            }
            for (int j = start; j <= i && a->n_common < MAX_ARGS; j++) {
                a->common[a->n_common++] = argv[j];
            }
        }
    }
    if (a->cases == NULL && a->n_measured == 0) {
        EST_FAIL(d, EST_EINVAL, "give --cases FILE and/or --measured FILE...");
        return -1;
    }
    return 0;
}

// ---------------------------------------------------------------------------
// cases

static json_t *load_json(const char *path, est_diag *d)
{
    json_error_t e;
    json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &e);
    if (j == NULL) {
        EST_FAIL(d, EST_EPARSE, "%s:%d:%d: %s", path, e.line, e.column, e.text);
    }
    return j;
}

/* estimate flags from a config object: the resolved config of `estimate --json` or a hand one */
static est_status config_to_args(json_t *cfg, const char *origin, json_t *args, est_diag *d)
{
    static const char *const flags[] = {"model",
                                        "gpu",
                                        "cluster",
                                        "gpus",
                                        "tp",
                                        "sp",
                                        "pp",
                                        "vpp",
                                        "cp",
                                        "ep",
                                        "zero",
                                        "fsdp",
                                        "fsdp_shard_size",
                                        "mbs",
                                        "gbs",
                                        "seq",
                                        "recompute",
                                        "recompute_layers",
                                        "attention",
                                        "precision",
                                        "framework",
                                        "optimizer",
                                        "optimizer_impl",
                                        "finetune",
                                        "lora_rank",
                                        "dropout"};
    static const char *const derived[] = {
        "dp",         "microbatches",  "first_stage_layers", "last_stage_layers",
        "grads_fp32", "gpus_per_node", "lora_targets"};
    const char *key;
    json_t *v;
    json_object_foreach(cfg, key, v)
    {
        bool known = false;
        for (size_t i = 0; i < sizeof flags / sizeof flags[0] && !known; i++) {
            known = strcmp(flags[i], key) == 0;
        }
        bool skip = false;
        for (size_t i = 0; i < sizeof derived / sizeof derived[0] && !skip; i++) {
            skip = strcmp(derived[i], key) == 0;
        }
        if (skip) {
            continue;
        }
        if (!known) {
            return EST_FAIL(d, EST_EINVAL, "%s: config.%s: not a configuration key", origin, key);
        }
        char flag[64];
        snprintf(flag, sizeof flag, "--%s", key);
        for (char *c = flag; *c; c++) {
            *c = *c == '_' ? '-' : *c;
        }
        if (strcmp(key, "recompute_layers") == 0) {
            snprintf(flag, sizeof flag, "--recompute-num-layers");
        }
        if (json_is_boolean(v)) {
            if (json_is_true(v)) {
                json_array_append_new(args, json_string(flag));
            } else if (strcmp(key, "sp") == 0 || strcmp(key, "dropout") == 0) {
                char no[64];
                snprintf(no, sizeof no, "--no-%s", key);
                json_array_append_new(args, json_string(no));
            }
        } else if (json_is_integer(v)) {
            if (json_integer_value(v) == 0 &&
                (strcmp(key, "recompute_layers") == 0 || strcmp(key, "lora_rank") == 0 ||
                 strcmp(key, "fsdp_shard_size") == 0)) {
                continue; /* 0 = unset in the resolved config */
            }
            char num[32];
            snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
            json_array_append_new(args, json_string(flag));
            json_array_append_new(args, json_string(num));
        } else if (json_is_string(v)) {
            json_array_append_new(args, json_string(flag));
            json_array_append_new(args, json_string(json_string_value(v)));
        } else {
            return EST_FAIL(d, EST_EINVAL, "%s: config.%s: expected a string, integer or boolean",
                            origin, key);
        }
    }
    return EST_OK;
}

/* a case {"name", "args"} from an entry's "args" array or "config" object */
static est_status case_args(json_t *entry, const char *origin, json_t **args, est_diag *d)
{
    json_t *a = json_object_get(entry, "args");
    json_t *c = json_object_get(entry, "config");
    *args = json_array();
    if (a != NULL) {
        size_t i;
        json_t *v;
        if (!json_is_array(a)) {
            return EST_FAIL(d, EST_EINVAL, "%s: args: expected an array of strings", origin);
        }
        json_array_foreach(a, i, v)
        {
            if (!json_is_string(v)) {
                return EST_FAIL(d, EST_EINVAL, "%s: args[%zu]: expected a string", origin, i);
            }
            json_array_append(*args, v);
        }
    } else if (json_is_object(c)) {
        return config_to_args(c, origin, *args, d);
    } else if (c != NULL) {
        return EST_FAIL(d, EST_EINVAL, "%s: config: expected an object", origin);
    } else {
        return EST_FAIL(d, EST_EINVAL, "%s: needs \"args\" (flags) or \"config\" (object)", origin);
    }
    return EST_OK;
}

static void stem(const char *path, char *out, size_t cap)
{
    const char *b = strrchr(path, '/');
    b = b != NULL ? b + 1 : path;
    snprintf(out, cap, "%s", b);
    char *dot = strrchr(out, '.');
    if (dot != NULL && dot != out) {
        *dot = '\0';
    }
}

/* builds [{"name", "args", "measured": <raw run JSON>|absent, "measured_origin"}] */
static est_status build_cases(const vargs *a, json_t *cases, est_diag *d)
{
    est_status st = EST_OK;
    if (a->cases != NULL) {
        json_t *root = load_json(a->cases, d);
        if (root == NULL) {
            return EST_EPARSE;
        }
        json_t *list = json_is_object(root) ? json_object_get(root, "cases") : root;
        if (!json_is_array(list)) {
            json_decref(root);
            return EST_FAIL(d, EST_EINVAL, "%s: expected a list of cases or {\"cases\": [...]}",
                            a->cases);
        }
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", a->cases);
        const char *base = dirname(dir);
        size_t i;
        json_t *e;
        json_array_foreach(list, i, e)
        {
            char origin[4200];
            snprintf(origin, sizeof origin, "%s: cases[%zu]", a->cases, i);
            json_t *name = json_object_get(e, "name");
            if (!json_is_object(e) || !json_is_string(name)) {
                st = EST_FAIL(d, EST_EINVAL, "%s: needs a \"name\" string", origin);
                break;
            }
            json_t *args = NULL;
            if ((st = case_args(e, origin, &args, d)) != EST_OK) {
                json_decref(args);
                break;
            }
            json_t *c = json_object();
            json_object_set(c, "name", name);
            json_object_set_new(c, "args", args);
            json_t *m = json_object_get(e, "measured");
            if (json_is_string(m)) {
                char path[8400];
                const char *mp = json_string_value(m);
                snprintf(path, sizeof path, "%s%s%s", mp[0] == '/' ? "" : base,
                         mp[0] == '/' ? "" : "/", mp);
                json_t *run = load_json(path, d);
                if (run == NULL) {
                    json_decref(c);
                    st = EST_EPARSE;
                    break;
                }
                json_object_set_new(c, "measured", run);
                json_object_set_new(c, "measured_origin", json_string(path));
            }
            json_array_append_new(cases, c);
        }
        json_decref(root);
    }
    for (int f = 0; f < a->n_measured && st == EST_OK; f++) {
        json_t *run = load_json(a->measured[f], d);
        if (run == NULL) {
            return EST_EPARSE;
        }
        json_t *name = json_object_get(run, "name");
        json_t *target = NULL;
        size_t i;
        json_t *c;
        json_array_foreach(cases, i, c)
        {
            bool free_slot = json_object_get(c, "measured") == NULL;
            bool named =
                json_is_string(name) &&
                strcmp(json_string_value(name), json_string_value(json_object_get(c, "name"))) == 0;
            if (free_slot && (named || (!json_is_string(name) && a->n_measured == 1 &&
                                        json_array_size(cases) == 1))) {
                target = c;
                break;
            }
        }
        if (target == NULL) {
            if (a->cases != NULL &&
                (json_object_get(run, "args") == NULL && json_object_get(run, "config") == NULL)) {
                json_decref(run);
                return EST_FAIL(d, EST_EINVAL,
                                "%s: matches no case of %s by \"name\" and has no "
                                "\"args\"/\"config\" of its own",
                                a->measured[f], a->cases);
            }
            json_t *args = NULL;
            if ((st = case_args(run, a->measured[f], &args, d)) != EST_OK) {
                json_decref(args);
                json_decref(run);
                return st;
            }
            char nm[256];
            stem(a->measured[f], nm, sizeof nm);
            target = json_object();
            json_object_set_new(target, "name",
                                json_is_string(name) ? json_copy(name) : json_string(nm));
            json_object_set_new(target, "args", args);
            json_array_append_new(cases, target);
        }
        json_object_set_new(target, "measured", run);
        json_object_set_new(target, "measured_origin", json_string(a->measured[f]));
    }
    return st;
}

// ---------------------------------------------------------------------------
// one case

static est_status setup_case(const vargs *a, json_t *c, cli_setup *s, est_diag *d)
{
    char *argv[2 * MAX_ARGS + 1];
    int argc = 0;
    argv[argc++] = "validate";
    for (int i = 0; i < a->n_common; i++) {
        argv[argc++] = a->common[i];
    }
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(c, "args"), i, v)
    {
        if (argc == 2 * MAX_ARGS) {
            return EST_FAIL(d, EST_EINVAL, "too many arguments");
        }
        argv[argc++] = (char *)json_string_value(v);
    }
    cli_setup_init(s);
    for (int k = 1; k < argc; k++) {
        int r = cli_config_flag(s, argc, argv, &k, d);
        if (r < 0) {
            return EST_EINVAL;
        }
        if (r == 0) {
            return EST_FAIL(d, EST_EINVAL, "'%s' is not a configuration flag", argv[k]);
        }
    }
    return cli_setup_finish(s, true, d);
}

static bool over(double err, double limit)
{
    return !isnan(limit) && (isnan(err) || isinf(err) || fabs(err) > limit);
}

static void print_value(const char *key, json_t *p, json_t *m, json_t *e, bool mem)
{
    double sc = mem ? 1.0 / (1024.0 * 1024.0 * 1024.0) : 1.0;
    json_t *pv = json_object_get(p, key);
    json_t *mv = json_object_get(m, key);
    if (mv == NULL) {
        return;
    }
    json_t *ev = json_object_get(e, key);
    printf("    %-16s %12.4f %12.4f", key, json_number_value(pv) * sc, json_number_value(mv) * sc);
    if (json_is_number(ev)) {
        printf(" %+9.1f%%\n", json_number_value(ev));
    } else {
        printf(" %10s\n", "n/a");
    }
}

static void print_case(json_t *r)
{
    json_t *p = json_object_get(r, "predicted");
    json_t *m = json_object_get(r, "measured");
    json_t *e = json_object_get(r, "error_pct");
    printf("case %s  (measured: %s)\n", json_string_value(json_object_get(r, "name")),
           json_string_value(json_object_get(r, "source")));
    static const char *const mk[] = {"weights",        "gradients",     "optimizer",
                                     "activations",    "logits",        "comm_buffers",
                                     "workspace",      "context",       "fragmentation",
                                     "peak_allocated", "peak_reserved", "total"};
    static const char *const tk[] = {"compute", "tp_comm", "cp_comm",   "ep_comm",  "pp_comm",
                                     "dp_comm", "comm",    "optimizer", "iteration"};
    printf("    %-16s %12s %12s %10s\n", "memory (GiB)", "predicted", "measured", "error");
    for (size_t i = 0; i < sizeof mk / sizeof mk[0]; i++) {
        print_value(mk[i], json_object_get(p, "memory_bytes"), json_object_get(m, "memory_bytes"),
                    json_object_get(e, "memory_bytes"), true);
    }
    printf("    %-16s %12s %12s %10s\n", "time (s)", "predicted", "measured", "error");
    for (size_t i = 0; i < sizeof tk / sizeof tk[0]; i++) {
        print_value(tk[i], json_object_get(p, "time_s"), json_object_get(m, "time_s"),
                    json_object_get(e, "time_s"), false);
    }
    printf("    -> %s\n\n",
           json_is_true(json_object_get(r, "pass")) ? "within thresholds" : "BEYOND THRESHOLDS");
}

/* runs one case: predicted, measured, errors; *pass says whether it is within the thresholds */
static est_status run_case(const vargs *a, json_t *c, json_t **result, est_diag *d)
{
    cli_setup *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return EST_FAIL(d, EST_ENOMEM, "out of memory");
    }
    const char *name = json_string_value(json_object_get(c, "name"));
    est_diag sub = {{0}, NULL, 0};
    est_status st = setup_case(a, c, s, &sub);
    est_coeffs k;
    est_time_opts topt = est_time_opts_default();
    if (st == EST_OK && a->calibration != NULL) {
        st = cal_coeffs_load(a->calibration, &s->gpu, &s->cluster, &k, NULL, 0, &sub);
        topt.coeffs = &k;
    }
    est_memory_report mem;
    est_time_report tr;
    if (st == EST_OK) {
        st = est_memory(&s->cfg, &mem, &sub);
    }
    if (st == EST_OK) {
        st = est_step_time_ex(&s->cfg, &topt, &tr, &sub);
    }
    json_t *measured = NULL;
    json_t *raw = json_object_get(c, "measured");
    char source[512] = "";
    if (st == EST_OK && raw != NULL) {
        const char *origin = json_string_value(json_object_get(c, "measured_origin"));
        snprintf(source, sizeof source, "%s", origin);
        st = cal_measured_normalize(raw, origin, &measured, &sub);
    } else if (st == EST_OK) {
#ifdef LLMCAL_HAVE_RT
        json_t *run = NULL;
        st = validate_run_case(&s->cfg, (int)a->steps, a->cpu, &run, source, sizeof source, &sub);
        if (st == EST_OK) {
            st = cal_measured_normalize(run, "runtime", &measured, &sub);
        }
        json_decref(run);
#else
        st = EST_FAIL(&sub, EST_EUNSUPPORTED,
                      "no measured result given and running the case "
                      "needs the CUDA runtime (a CUDA build with runtime/); pass --measured FILE");
#endif
    }
    if (st != EST_OK) {
        EST_FAIL(d, st, "case %s: %s", name, sub.msg);
        free(s);
        return st;
    }
    json_t *pred = cal_predicted_json(&mem, &tr);
    json_t *est = cli_estimate_json(&s->cfg, &mem, &tr);
    json_t *err = cal_error_pct(pred, measured);
    cal_verdict v;
    cal_verdict_of(err, &v);
    bool fail = a->strict ? (over(v.max_mem_err_pct, a->max_mem_err) ||
                             over(v.max_time_err_pct, a->max_time_err))
                          : ((v.mem_key != NULL && over(v.mem_err_pct, a->max_mem_err)) ||
                             (v.time_key != NULL && over(v.time_err_pct, a->max_time_err)));
    json_t *r = json_object();
    json_object_set_new(r, "name", json_string(name));
    json_object_set(r, "config", json_object_get(est, "config"));
    json_object_set_new(r, "predicted", pred);
    json_object_set_new(r, "measured", measured);
    json_object_set_new(r, "error_pct", err);
    json_object_set_new(r, "source", json_string(source));
    json_object_set_new(r, "pass", json_boolean(!fail));
    json_decref(est);
    free(s);
    *result = r;
    return EST_OK;
}

// ---------------------------------------------------------------------------
// command

int cmd_validate(int argc, char **argv)
{
    vargs a;
    memset(&a, 0, sizeof a);
    a.max_time_err = NAN;
    a.max_mem_err = NAN;
    a.steps = 5;
    est_diag d = {{0}, NULL, 0};
    int pr = parse_args(&a, argc, argv, &d);
    if (pr > 0) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (pr < 0) {
        cli_error("validate", &d, EST_EINVAL);
        return CLI_EXIT_USAGE;
    }
    json_t *cases = json_array();
    est_status st = build_cases(&a, cases, &d);
    if (st == EST_OK && json_array_size(cases) == 0) {
        st = EST_FAIL(&d, EST_EINVAL, "no cases");
    }
    if (st != EST_OK) {
        cli_error("validate", &d, st);
        json_decref(cases);
        return CLI_EXIT_USAGE;
    }
    json_t *results = json_array();
    int rc = CLI_EXIT_OK;
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c)
    {
        json_t *r = NULL;
        st = run_case(&a, c, &r, &d);
        if (st != EST_OK) {
            cli_error("validate", &d, st);
            rc = st == EST_EUNSUPPORTED || st >= EST_ECUDA ? CLI_EXIT_FAIL : CLI_EXIT_USAGE;
            break;
        }
        if (!json_is_true(json_object_get(r, "pass"))) {
            rc = CLI_EXIT_FAIL;
        }
        if (!a.json) {
            print_case(r);
        }
        json_array_append_new(results, r);
    }
    json_t *root = json_object();
    json_object_set_new(root, "cases", results);
    if (rc != CLI_EXIT_USAGE) {
        json_object_set_new(root, "pass", json_boolean(rc == CLI_EXIT_OK));
        if (a.json) {
            char *text =
                json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
            if (text != NULL) {
                puts(text);
            }
            free(text);
        }
        if (a.out != NULL &&
            json_dump_file(root, a.out,
                           JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10)) != 0) {
            fprintf(stderr, "llmcal validate: cannot write %s\n", a.out);
            rc = CLI_EXIT_FAIL;
        }
    }
    json_decref(root);
    json_decref(cases);
    return rc;
}
