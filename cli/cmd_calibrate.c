/* cmd_calibrate.c -- `llmcal calibrate`: measure microbenchmarks on this machine's GPUs (CUDA
 * build) or read them from a sample file, fit the time model's coefficients (GSL), print values,
 * uncertainties and residuals, and write a calibrated GPU profile.
 *
 * Not here: the fit (calib/src/fit.c), the probes (calib/probes/), file formats (calib/src/).
 * Units convert here only: us, TFLOP/s and GB/s on screen; seconds and bytes in files.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cal/fit.h"        // provides: cal_fit, cal_report, cal_params_parse
#include "cal/plan.h"       // provides: cal_plan_build
#include "cal/probes.h"     // provides: cal_probe_run (CUDA build)
#include "cal/profile.h"    // provides: cal_profile_from_fit, cal_profile_save
#include "cal/samples_io.h" // provides: cal_samples_load/save
#include "opts.h"           // provides: CLI_EXIT_*, cli_error, cli_parse_*
#include "prof/prof.h"      // provides: prof_gpu_load, prof_cluster_load, prof_model_load

typedef struct cal_args {
    const char *samples;      /* --samples FILE: fit saved samples (no GPU) */
    const char *save_samples; /* --save-samples FILE: where measured samples go */
    const char *gpu;          /* --gpu: base GPU profile */
    const char *cluster;      /* --cluster: starting communication coefficients */
    const char *model;        /* --model: GEMM/attention shapes of this model */
    const char *out;          /* --out FILE: calibrated profile path */
    const char *name;         /* --name NAME: profiles/calibrated/NAME.json */
    const char *fit;          /* --fit LIST */
    long long tp, mbs, seq, gpus, iters, warmup;
    double coll_min, coll_max, coll_factor;
    bool generic;
    bool use_min;
    bool json;
    int top; /* worst samples to list */
} cal_args;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: llmcal calibrate [--samples FILE | measure on this machine's GPUs] [flags]\n"
            "  fits the time model's coefficients (GEMM efficiency curve, attention and HBM\n"
            "  efficiency, alpha-beta per link class) to measured microbenchmarks\n\n"
            "  --samples FILE       fit a saved sample file instead of measuring (no GPU needed)\n"
            "  --gpu NAME|FILE      base GPU profile: peaks and starting values (default: the\n"
            "                       samples' 'gpu' metadata, else h100-sxm)\n"
            "  --cluster NAME|FILE  starting communication coefficients\n"
            "  --fit LIST           parameters: all (default: every one the samples\n"
            "                       inform), gemm, fp8, attention, membound, intra, inter,\n"
            "                       or field names\n"
            "  --stat p50|min       measured statistic to fit (default p50)\n"
            "  --out FILE           write the calibrated profile to FILE\n"
            "  --name NAME          write it to <profile dir>/calibrated/NAME.json\n"
            "  --json               print the fit report as JSON\n"
            "  --top N              list the N worst-predicted samples (default 5)\n"
            " measuring (CUDA build):\n"
            "  --model M --tp T --mbs B --seq S   GEMM/attention shapes of this model and TP\n"
            "  --no-generic         skip the square/skinny GEMM sweep\n"
            "  --save-samples FILE  where to write the samples (default llmcal-samples.tsv)\n"
            "  --gpus N             GPUs for the NCCL collectives (default: all visible)\n"
            "  -b BYTES -e BYTES -f FACTOR   collective sizes (nccl-tests; 1K, 1G, 4)\n"
            "  -n ITERS -w WARMUP   timed and warm-up iterations (20, 5)\n");
}

// ---------------------------------------------------------------------------
// flags

static int parse_args(cal_args *a, int argc, char **argv, est_diag *d)
{
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        const char **str = NULL;
        long long *num = NULL;
        double *real = NULL;
        long long lo = 1;
        long long hi = 1LL << 40;
        if (strcmp(f, "--help") == 0 || strcmp(f, "-h") == 0) {
            return 1;
        } else if (strcmp(f, "--json") == 0) {
            a->json = true;
            continue;
        } else if (strcmp(f, "--no-generic") == 0) {
            a->generic = false;
            continue;
        }
        if (strcmp(f, "--samples") == 0) {
            str = &a->samples;
        } else if (strcmp(f, "--save-samples") == 0) {
            str = &a->save_samples;
        } else if (strcmp(f, "--gpu") == 0) {
            str = &a->gpu;
        } else if (strcmp(f, "--cluster") == 0) {
            str = &a->cluster;
        } else if (strcmp(f, "--model") == 0) {
            str = &a->model;
        } else if (strcmp(f, "--out") == 0) {
            str = &a->out;
        } else if (strcmp(f, "--name") == 0) {
            str = &a->name;
        } else if (strcmp(f, "--fit") == 0) {
            str = &a->fit;
        } else if (strcmp(f, "--stat") == 0) {
            if (v == NULL || (strcmp(v, "p50") != 0 && strcmp(v, "min") != 0)) {
                EST_FAIL(d, EST_EINVAL, "--stat: expected p50 or min");
                return -1;
            }
            a->use_min = v[0] == 'm';
            i++;
            continue;
        } else if (strcmp(f, "--tp") == 0 || strcmp(f, "--tensor-model-parallel-size") == 0) {
            num = &a->tp;
        } else if (strcmp(f, "--mbs") == 0 || strcmp(f, "--micro-batch-size") == 0) {
            num = &a->mbs;
        } else if (strcmp(f, "--seq") == 0 || strcmp(f, "--seq-length") == 0) {
            num = &a->seq;
        } else if (strcmp(f, "--gpus") == 0) {
            num = &a->gpus;
            lo = 0;
        } else if (strcmp(f, "-n") == 0 || strcmp(f, "--iters") == 0) {
            num = &a->iters;
        } else if (strcmp(f, "-w") == 0 || strcmp(f, "--warmup") == 0) {
            num = &a->warmup;
            lo = 0;
        } else if (strcmp(f, "--top") == 0) {
            long long t = 0;
            if (cli_parse_i64(f, v, 0, 1000, &t, d) != 0) {
                return -1;
            }
            a->top = (int)t;
            i++;
            continue;
        } else if (strcmp(f, "-b") == 0) {
            real = &a->coll_min;
        } else if (strcmp(f, "-e") == 0) {
            real = &a->coll_max;
        } else if (strcmp(f, "-f") == 0) {
            real = &a->coll_factor;
        } else {
            EST_FAIL(d, EST_EINVAL, "unknown flag '%s' (see llmcal calibrate --help)", f);
            return -1;
        }
        if (str != NULL) {
            if (v == NULL || v[0] == '\0') {
                EST_FAIL(d, EST_EINVAL, "%s: missing value", f);
                return -1;
            }
            *str = v;
        } else if (num != NULL) {
            if (cli_parse_i64(f, v, lo, hi, num, d) != 0) {
                return -1;
            }
        } else if (cli_parse_f64(f, v, 1.0, 1e15, real, d) != 0) {
            return -1;
        }
        i++;
    }
    return 0;
}

// ---------------------------------------------------------------------------
// measuring (CUDA build)

#ifdef LLMCAL_HAVE_PROBES
static void progress(size_t done, size_t total, const est_sample *s, void *ctx)
{
    (void)ctx;
    fprintf(stderr, "\r  measured %zu/%zu (%s)      ", done, total, est_sample_kind_name(s->kind));
    if (done == total) {
        fprintf(stderr, "\n");
    }
}
#endif

static est_status measure(const cal_args *a, cal_sample_set *set, est_diag *d)
{
#ifdef LLMCAL_HAVE_PROBES
    int devices = cal_probe_device_count();
    if (devices <= 0) {
        return EST_FAIL(d, EST_EUNSUPPORTED,
                        "no CUDA device visible; use --samples FILE to fit "
                        "samples measured elsewhere");
    }
    est_model m;
    cal_plan_options po = cal_plan_default();
    if (a->model != NULL) {
        est_status st = prof_model_load(a->model, &m, d);
        if (st != EST_OK) {
            return st;
        }
        po.model = &m;
    }
    po.tp = (int)a->tp;
    po.mbs = a->mbs;
    po.seq = a->seq;
    po.generic = a->generic;
    po.also_flash = true; /* the probes time the runtime's fused kernel: attn_eff gets samples */
    po.gpus = a->gpus > 0 ? (int)a->gpus : devices;
    po.coll_min_bytes = a->coll_min;
    po.coll_max_bytes = a->coll_max;
    po.coll_factor = a->coll_factor;
    est_status st = cal_plan_build(&po, set, d);
    if (st != EST_OK) {
        return st;
    }
    cal_probe_options o = cal_probe_default();
    o.iters = (int)a->iters;
    o.warmup = (int)a->warmup;
    o.gpus = po.gpus;
    size_t skipped = 0;
    fprintf(stderr, "llmcal calibrate: %zu microbenchmarks on %d GPU(s)\n", set->n, po.gpus);
    st = cal_probe_run(set, &o, progress, NULL, &skipped, d);
    if (st != EST_OK) {
        return st;
    }
    if (skipped > 0) {
        fprintf(stderr, "llmcal calibrate: %zu samples skipped (not runnable here)\n", skipped);
    }
    if (a->gpu != NULL) {
        cal_meta_set(&set->meta, "gpu", a->gpu, NULL);
    }
    const char *path = a->save_samples != NULL ? a->save_samples : "llmcal-samples.tsv";
    st = cal_samples_save(path, set, d);
    if (st == EST_OK) {
        fprintf(stderr, "llmcal calibrate: samples written to %s\n", path);
    }
    return st;
#else
    (void)a;
    (void)set;
    return EST_FAIL(d, EST_EUNSUPPORTED,
                    "measuring needs the CUDA build (configure with -DLLMCAL_WITH_CUDA=ON where "
                    "nvcc, cuBLAS and NCCL are installed); use --samples FILE to fit saved "
                    "samples");
#endif
}

// ---------------------------------------------------------------------------
// report

static double display_scale(cal_param p, const char **unit)
{
    switch (p) {
    case CAL_INTRA_ALPHA:
    case CAL_INTER_ALPHA: *unit = "us"; return 1e6;
    case CAL_INTRA_BW:
    case CAL_INTER_BW: *unit = "GB/s"; return 1e-9;
    case CAL_GEMM_HALF_DIM: *unit = "elem"; return 1.0;
    default: *unit = ""; return 1.0;
    }
}

static void describe_sample(const est_sample *s, char *buf, size_t cap)
{
    switch (s->kind) {
    case EST_SAMPLE_GEMM:
        snprintf(buf, cap, "gemm %s %lldx%lldx%lld%s", est_sample_dtype_name(s->dtype),
                 (long long)s->m, (long long)s->n, (long long)s->k, s->batch > 1 ? " batched" : "");
        break;
    case EST_SAMPLE_ATTENTION:
        snprintf(buf, cap, "attention %s %s b%lld h%lld d%lld s%lld", est_attention_name(s->attn),
                 s->backward ? "bwd" : "fwd", (long long)s->b, (long long)s->heads,
                 (long long)s->head_dim, (long long)s->seq);
        break;
    case EST_SAMPLE_MEMBOUND: snprintf(buf, cap, "membound %.4g MB", s->bytes / 1e6); break;
    default:
        snprintf(buf, cap, "%s %s x%d %.4g MB", est_sample_coll_name(s->coll),
                 est_sample_link_name(s->link), s->nranks, s->bytes / 1e6);
        break;
    }
}

static void print_report(const cal_sample_set *set, const cal_report *r, const est_coeffs *k,
                         cal_stat stat, int top, const char *gpu)
{
    printf("llmcal calibrate: %s, %zu samples (%zu used), %d parameters, %d iterations (%s)\n\n",
           gpu, r->n_samples, r->n_used, r->n_params, r->iterations, r->stop_reason);
    printf("  %-18s %12s %12s %12s  %s\n", "parameter", "start", "fitted", "+- 1 sigma", "unit");
    for (int p = 0; p < CAL_PARAM_COUNT; p++) {
        const cal_param_result *pr = &r->param[p];
        if (!pr->fitted) {
            continue;
        }
        const char *unit = "";
        double sc = display_scale((cal_param)p, &unit);
        printf("  %-18s %12.5g %12.5g %12.3g  %s\n", cal_param_name((cal_param)p), pr->start * sc,
               pr->value * sc, pr->std_err * sc, unit);
    }
    printf("\n  residual (predicted/measured - 1): rms %.2f%%, max %.2f%% (start: rms %.2f%%)\n",
           100.0 * r->rms_rel, 100.0 * r->max_rel, 100.0 * r->start_rms_rel);
    for (int kk = 0; kk < EST_SAMPLE_KIND_COUNT; kk++) {
        const cal_residual_stats *ks = &r->by_kind[kk];
        if (ks->n > 0) {
            printf("    %-11s %4zu samples  rms %6.2f%%  max %6.2f%%\n",
                   est_sample_kind_name((est_sample_kind)kk), ks->n, 100.0 * ks->rms_rel,
                   100.0 * ks->max_rel);
        }
    }
    printf("  chi^2 %.4g over %d dof, rcond %.3g\n", r->chisq, r->dof, r->rcond);
    if (top <= 0 || set->n == 0) {
        return;
    }
    double *rel = malloc(set->n * sizeof *rel);
    if (rel == NULL) {
        return;
    }
    cal_residuals(set->s, set->n, k, stat, rel);
    printf("\n  worst predicted samples:\n");
    for (int t = 0; t < top; t++) {
        size_t worst = set->n;
        for (size_t i = 0; i < set->n; i++) {
            if (!isnan(rel[i]) && (worst == set->n || fabs(rel[i]) > fabs(rel[worst]))) {
                worst = i;
            }
        }
        if (worst == set->n) {
            break;
        }
        char desc[128];
        describe_sample(&set->s[worst], desc, sizeof desc);
        double meas = cal_sample_measured(&set->s[worst], stat);
        printf("    %-44s measured %10.2f us  predicted %10.2f us  %+7.2f%%\n", desc, meas * 1e6,
               (1.0 + rel[worst]) * meas * 1e6, 100.0 * rel[worst]);
        rel[worst] = NAN;
    }
    free(rel);
}

static json_t *report_json(const cal_report *r, const char *gpu, const char *profile)
{
    json_t *o = json_object();
    json_object_set_new(o, "gpu", json_string(gpu));
    json_object_set_new(o, "samples", json_integer((json_int_t)r->n_samples));
    json_object_set_new(o, "used", json_integer((json_int_t)r->n_used));
    json_object_set_new(o, "iterations", json_integer(r->iterations));
    json_t *ps = json_object();
    for (int p = 0; p < CAL_PARAM_COUNT; p++) {
        const cal_param_result *pr = &r->param[p];
        json_t *e = json_object();
        json_object_set_new(e, "fitted", json_boolean(pr->fitted));
        json_object_set_new(e, "start", json_real(pr->start));
        json_object_set_new(e, "value", json_real(pr->value));
        json_object_set_new(e, "std_err",
                            isfinite(pr->std_err) ? json_real(pr->std_err) : json_null());
        json_object_set_new(ps, cal_param_name((cal_param)p), e);
    }
    json_object_set_new(o, "params", ps);
    json_object_set_new(o, "rms_rel_err", json_real(r->rms_rel));
    json_object_set_new(o, "max_rel_err", json_real(r->max_rel));
    json_object_set_new(o, "start_rms_rel_err", json_real(r->start_rms_rel));
    json_object_set_new(o, "chisq", json_real(r->chisq));
    json_object_set_new(o, "dof", json_integer(r->dof));
    json_object_set_new(o, "rcond", isfinite(r->rcond) ? json_real(r->rcond) : json_null());
    json_t *bk = json_object();
    for (int k = 0; k < EST_SAMPLE_KIND_COUNT; k++) {
        if (r->by_kind[k].n == 0) {
            continue;
        }
        json_t *e = json_object();
        json_object_set_new(e, "n", json_integer((json_int_t)r->by_kind[k].n));
        json_object_set_new(e, "rms_rel_err", json_real(r->by_kind[k].rms_rel));
        json_object_set_new(e, "max_rel_err", json_real(r->by_kind[k].max_rel));
        json_object_set_new(bk, est_sample_kind_name((est_sample_kind)k), e);
    }
    json_object_set_new(o, "by_kind", bk);
    json_object_set_new(o, "profile", profile != NULL ? json_string(profile) : json_null());
    return o;
}

// ---------------------------------------------------------------------------
// command

int cmd_calibrate(int argc, char **argv)
{
    cal_args a;
    memset(&a, 0, sizeof a);
    a.tp = 1;
    a.mbs = 1;
    a.seq = 4096;
    a.iters = 20;
    a.warmup = 5;
    a.coll_min = 1024.0;
    a.coll_max = 1024.0 * 1024.0 * 1024.0;
    a.coll_factor = 4.0;
    a.generic = true;
    a.top = 5;
    est_diag d = {{0}, NULL, 0};
    int pr = parse_args(&a, argc, argv, &d);
    if (pr > 0) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (pr < 0) {
        cli_error("calibrate", &d, EST_EINVAL);
        return CLI_EXIT_USAGE;
    }
    if (a.out != NULL && a.name != NULL) {
        fprintf(stderr, "llmcal calibrate: give --out or --name, not both\n");
        return CLI_EXIT_USAGE;
    }
    unsigned params = 0;
    if (a.fit != NULL && strcmp(a.fit, "auto") != 0 &&
        cal_params_parse(a.fit, &params, &d) != EST_OK) {
        cli_error("calibrate", &d, EST_EINVAL);
        return CLI_EXIT_USAGE;
    }

    cal_sample_set set;
    cal_sample_set_init(&set);
    est_status st =
        a.samples != NULL ? cal_samples_load(a.samples, &set, &d) : measure(&a, &set, &d);
    if (st != EST_OK) {
        cli_error("calibrate", &d, st);
        bool input = st == EST_EIO || st == EST_EPARSE || st == EST_EINVAL || st == EST_ENOTFOUND;
        return input ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
    }

    /* starting point: the base GPU's datasheet peaks and default efficiencies */
    const char *gpu_name = a.gpu != NULL ? a.gpu : cal_meta_get(&set.meta, "gpu");
    if (gpu_name == NULL) {
        gpu_name = "h100-sxm";
    }
    est_gpu gpu;
    est_cluster cluster;
    int rc = CLI_EXIT_OK;
    st = prof_gpu_load(gpu_name, &gpu, &d);
    if (st == EST_OK && a.cluster != NULL) {
        st = prof_cluster_load(a.cluster, &cluster, &d);
    }
    if (st != EST_OK) {
        cli_error("calibrate", &d, st);
        cal_sample_set_free(&set);
        return CLI_EXIT_USAGE;
    }
    est_coeffs k = est_coeffs_from_hw(&gpu, a.cluster != NULL ? &cluster : NULL);
    cal_options o = cal_default_options();
    o.stat = a.use_min ? CAL_STAT_MIN : CAL_STAT_P50;
    cal_report rep;
    st = cal_fit(set.s, set.n, params, &o, &k, &rep, &d);
    if (st != EST_OK) {
        cli_error("calibrate", &d, st);
        cal_sample_set_free(&set);
        return st == EST_EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
    }

    char path[4096] = "";
    if (a.out != NULL) {
        snprintf(path, sizeof path, "%s", a.out);
    } else if (a.name != NULL) {
        snprintf(path, sizeof path, "%s/calibrated/%s.json", prof_builtin_dir(), a.name);
    }
    if (path[0] != '\0') {
        if (cal_meta_get(&set.meta, "date") == NULL) {
            char date[32];
            time_t now = time(NULL);
            struct tm tmv;
            gmtime_r(&now, &tmv);
            strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tmv);
            cal_meta_set(&set.meta, "date", date, NULL);
        }
        cal_profile p;
        cal_profile_from_fit(&p, gpu.name, &k, &rep, &set.meta);
        st = cal_profile_save(path, &p, &rep, a.samples, &d);
        if (st != EST_OK) {
            cli_error("calibrate", &d, st);
            rc = CLI_EXIT_FAIL;
        }
    }
    if (a.json) {
        json_t *j = report_json(&rep, gpu.name, path[0] != '\0' && rc == 0 ? path : NULL);
        char *text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
        if (text != NULL) {
            puts(text);
        }
        free(text);
        json_decref(j);
    } else {
        print_report(&set, &rep, &k, o.stat, a.top, gpu.name);
        if (path[0] != '\0' && rc == 0) {
            printf("\n  calibrated profile: %s  (use: llmcal estimate --gpu %s --calibration %s)\n",
                   path, gpu.name, a.name != NULL ? a.name : path);
        }
    }
    cal_sample_set_free(&set);
    return rc;
}
