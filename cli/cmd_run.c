/* cmd_run.c -- `llmcal run`: execute real training steps of the configuration (runtime/, CPU
 * reference or CUDA backend) and print the measured per-rank memory and time in the estimator's
 * group names, with the estimator's prediction for the same configuration beside it.
 *
 * --rank R is the single-GPU shard mode: only rank R's work runs; its communication time is
 * modelled (the output marks which parts were measured and which modelled).
 * --rendezvous PATH: one process per rank under mpirun/srun (rt/launch.h); rank 0 prints, and
 * --out PREFIX has every process write its own report (PREFIX.rank<N>.json).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "est/memory.h" // provides: est_memory, est_mem_group_name
#include "opts.h"       // provides: cli_setup, cli_config_flag, cli_estimate_json
#include "rt/launch.h"  // provides: rt_launch_detect, rt_env_getenv
#include "rt/rt.h"      // provides: rt_run, rt_report

static void usage(FILE *f)
{
    fprintf(f, "usage: llmcal run [flags]\n"
               "  run real training steps of the configuration and measure memory and time\n"
               "  --backend cpu|cuda    cpu: reference, tiny models (default); cuda: GPUs\n"
               "                        (--precision fp32 or bf16-mixed: Megatron's bf16 weights\n"
               "                        and activations, fp32 main grads, master and moments)\n"
               "  --steps N             training steps (default 2; times average steps 2..N)\n"
               "  --rank R              single-GPU shard mode: run only rank R of the layout\n"
               "  --seed S              parameter and data seed (default 1234)\n"
               "  --capacity-mib M      per-rank memory limit (an out-of-memory is reported)\n"
               "  --rendezvous PATH     one process per rank, started by mpirun or srun (rank,\n"
               "                        size, local rank from OMPI_COMM_WORLD_*, PMI_RANK/SIZE +\n"
               "                        MPI_LOCALRANKID, or SLURM_PROCID/NTASKS/LOCALID); GPU =\n"
               "                        local rank; rank 0 writes the NCCL id to PATH, on a\n"
               "                        filesystem every rank shares (cuda backend only)\n"
               "  --rendezvous-timeout S  seconds the other ranks wait for it (default 300)\n"
               "  --out PREFIX          also write this process's JSON report to\n"
               "                        PREFIX.rank<N>.json (N: its rank; 0 in one process)\n\n");
    cli_config_usage(f);
}

static json_t *bytes_or_null(uint64_t v, bool valid)
{
    return valid ? json_integer((json_int_t)v) : json_null();
}

static json_t *rank_json(const rt_report *rep, const rt_rank_report *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "rank", json_integer(r->rank));
    json_object_set_new(o, "tp_rank", json_integer(r->tp_rank));
    json_object_set_new(o, "dp_rank", json_integer(r->dp_rank));
    json_object_set_new(o, "pp_rank", json_integer(r->pp_rank));
    json_t *mem = json_object();
    bool cuda = rep->backend == RT_BACKEND_CUDA;
    for (int g = 0; g < EST_MEM_GROUP_COUNT; g++) {
        bool valid = g != EST_MEM_CONTEXT && g != EST_MEM_FRAGMENTATION;
        uint64_t v = r->at_peak_bytes[g];
        if (g == EST_MEM_CONTEXT && cuda && r->driver_used_bytes > r->peak_bytes) {
            valid = true; /* driver-reported use above the allocator's: context + NCCL + libs */
            v = r->driver_used_bytes - r->peak_bytes;
        }
        if (g == EST_MEM_FRAGMENTATION) {
            valid = true; /* one cudaMalloc per buffer, no caching allocator: nothing held back */
            v = 0;
        }
        json_object_set_new(mem, est_mem_group_name((est_mem_group)g), bytes_or_null(v, valid));
    }
    json_object_set_new(mem, "peak_allocated", json_integer((json_int_t)r->peak_bytes));
    json_object_set_new(mem, "driver_used", bytes_or_null(r->driver_used_bytes, cuda));
    json_object_set_new(o, "memory_bytes", mem);
    json_t *gp = json_object();
    for (int g = 0; g < EST_MEM_GROUP_COUNT; g++) {
        json_object_set_new(gp, est_mem_group_name((est_mem_group)g),
                            json_integer((json_int_t)r->group_peak_bytes[g]));
    }
    json_object_set_new(o, "group_peak_bytes", gp);
    json_t *t = json_object();
    json_t *how = json_object();
    for (int p = 0; p < RT_T_COUNT; p++) {
        double v = r->time_s[p];
        json_object_set_new(t, rt_time_part_name((rt_time_part)p),
                            isfinite(v) ? json_real(v) : json_null());
        json_object_set_new(how, rt_time_part_name((rt_time_part)p),
                            json_string(r->time_measured[p] ? "measured" : "modelled"));
    }
    json_object_set_new(o, "time_s", t);
    json_object_set_new(o, "time_source", how);
    json_object_set_new(o, "oom", json_boolean(r->oom));
    return o;
}

static int worst_rank(const rt_report *rep)
{
    int w = 0;
    for (int i = 1; i < rep->nranks; i++) {
        if (rep->ranks[i].peak_bytes > rep->ranks[w].peak_bytes) {
            w = i;
        }
    }
    return w;
}

static json_t *report_json(const cli_setup *s, const rt_report *rep, json_t *predicted)
{
    json_t *o = json_object();
    bool cuda = rep->backend == RT_BACKEND_CUDA;
    json_object_set_new(o, "backend", json_string(cuda ? "cuda" : "cpu"));
    json_object_set_new(o, "mode",
                        json_string(rep->solo        ? "single-rank"
                                    : rep->multiproc ? "process-per-rank"
                                                     : "all-ranks"));
    json_object_set_new(o, "steps", json_integer(rep->steps));
    json_t *loss = json_array();
    for (int i = 0; rep->loss && i < rep->steps; i++) {
        json_array_append_new(loss, isfinite(rep->loss[i]) ? json_real(rep->loss[i]) : json_null());
    }
    json_object_set_new(o, "loss", loss);
    json_t *ranks = json_array();
    for (int i = 0; i < rep->nranks; i++) {
        json_array_append_new(ranks, rank_json(rep, &rep->ranks[i]));
    }
    json_object_set_new(o, "ranks", ranks);
    if (rep->nranks > 0) {
        json_object_set_new(o, "worst_rank", rank_json(rep, &rep->ranks[worst_rank(rep)]));
    }
    json_object_set_new(o, "model_flop_per_step", json_real(rep->model_flop));
    json_object_set_new(o, "tokens_per_s",
                        isfinite(rep->tokens_per_s) ? json_real(rep->tokens_per_s) : json_null());
    json_object_set_new(o, "tflops_per_gpu",
                        isfinite(rep->tflops_per_gpu) ? json_real(rep->tflops_per_gpu)
                                                      : json_null());
    json_object_set_new(o, "mfu", isfinite(rep->mfu) ? json_real(rep->mfu) : json_null());
    json_object_set_new(o, "oom", rep->oom ? json_string(rep->oom_msg) : json_null());
    json_t *notes = json_array();
    bool bf16 = s->cfg.par.precision == EST_PREC_BF16_MIXED;
    json_object_set_new(o, "precision", json_string(est_precision_name(s->cfg.par.precision)));
    if (rep->backend == RT_BACKEND_CPU) {
        json_array_append_new(notes,
                              json_string(bf16 ? "cpu backend: bf16 emulated exactly (uint16 "
                                                 "storage, fp32 arithmetic, round to nearest "
                                                 "even); bytes are those of a bf16 GPU run"
                                               : "cpu backend: every tensor is fp32 (weights are "
                                                 "the master copy)"));
    }
    json_array_append_new(notes, json_string("workspace holds the backward pass's "
                                             "activation-gradient scratch; comm_buffers the TP "
                                             "gather/partial-sum buffers"));
    if (rep->multiproc) {
        json_array_append_new(notes, json_string("one process per rank: ranks holds this "
                                                 "process's rank; every process writes its own "
                                                 "report with --out PREFIX (PREFIX.rank<N>.json); "
                                                 "the loss is summed over all processes"));
    }
    if (rep->solo) {
        json_array_append_new(notes, json_string("single-rank mode: collectives replaced by local "
                                                 "work of the same size; their time is modelled "
                                                 "(alpha-beta ring over the cluster), no bubble"));
    }
    json_object_set_new(o, "notes", notes);
    json_object_set_new(o, "predicted", predicted ? predicted : json_null());
    (void)s;
    return o;
}

/* --out: this process's report to PREFIX.rank<N>.json (written whole, then renamed) */
static int write_rank_json(const cli_setup *s, const rt_report *rep, json_t *predicted,
                           const char *prefix, int rank)
{
    char path[4096];
    char tmp[4200];
    snprintf(path, sizeof path, "%s.rank%d.json", prefix, rank);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    json_t *o = report_json(s, rep, json_incref(predicted));
    int rc = json_dump_file(o, tmp, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    json_decref(o);
    if (rc != 0 || rename(tmp, path) != 0) {
        fprintf(stderr, "llmcal run: --out: cannot write %s\n", path);
        remove(tmp);
        return 1;
    }
    return 0;
}

static void print_text(FILE *f, const rt_report *rep, const est_memory_report *pm)
{
    const double mib = 1024.0 * 1024.0;
    fprintf(f, "llmcal run: %s backend, %s, %d step(s)\n",
            rep->backend == RT_BACKEND_CUDA ? "cuda" : "cpu",
            rep->solo ? "single-rank mode" : (rep->multiproc ? "this process's rank" : "all ranks"),
            rep->steps);
    for (int i = 0; rep->loss && i < rep->steps; i++) {
        if (isfinite(rep->loss[i])) {
            fprintf(f, "  step %d loss %.6f\n", i + 1, rep->loss[i]);
        }
    }
    if (rep->nranks == 0) {
        return;
    }
    const rt_rank_report *w = &rep->ranks[worst_rank(rep)];
    fprintf(f, "\nmemory of rank %d (tp %d, dp %d, pp %d) at its peak, MiB:\n", w->rank, w->tp_rank,
            w->dp_rank, w->pp_rank);
    /* the estimator's figures for the same pipeline stage as the measured rank */
    const est_stage_memory *ps = NULL;
    if (pm) {
        int last = pm->last.stage;
        ps = w->pp_rank == 0 ? &pm->first : (w->pp_rank == last ? &pm->last : &pm->worst);
    }
    fprintf(f, "  %-16s %12s %12s\n", "group", "measured", pm ? "predicted" : "");
    for (int g = 0; g < EST_MEM_GROUP_COUNT; g++) {
        fprintf(f, "  %-16s %12.3f", est_mem_group_name((est_mem_group)g),
                w->at_peak_bytes[g] / mib);
        if (pm) {
            fprintf(f, " %12.3f", ps->bytes[g] / mib);
        }
        fprintf(f, "\n");
    }
    fprintf(f, "  %-16s %12.3f", "peak_allocated", w->peak_bytes / mib);
    if (pm) {
        fprintf(f, " %12.3f", ps->peak_allocated / mib);
    }
    fprintf(f, "\n\ntime per step, s (m = measured, ~ = modelled):\n");
    for (int p = 0; p < RT_T_COUNT; p++) {
        fprintf(f, "  %-16s %12.6g %s\n", rt_time_part_name((rt_time_part)p), w->time_s[p],
                w->time_measured[p] ? "m" : "~");
    }
    fprintf(f, "  tokens/s %.4g   model TFLOP/s per GPU %.4g\n", rep->tokens_per_s,
            rep->tflops_per_gpu);
    if (rep->oom) {
        fprintf(f, "\nOUT OF MEMORY: %s\n", rep->oom_msg);
    }
}

int cmd_run(int argc, char **argv)
{
    static cli_setup setup; /* large; one per process */
    cli_setup *s = &setup;
    cli_setup_init(s);
    est_diag diag = {{0}, NULL, 0};
    rt_options opt = rt_options_default();
    const char *out_prefix = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return CLI_EXIT_OK;
        }
        int r = cli_config_flag(s, argc, argv, &i, &diag);
        if (r < 0) {
            cli_error("run", &diag, EST_EINVAL);
            return CLI_EXIT_USAGE;
        }
        if (r > 0) {
            continue;
        }
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        long long x = 0;
        if (strcmp(argv[i], "--backend") == 0) {
            if (v && strcmp(v, "cpu") == 0) {
                opt.backend = RT_BACKEND_CPU;
            } else if (v && strcmp(v, "cuda") == 0) {
                opt.backend = RT_BACKEND_CUDA;
            } else {
                fprintf(stderr, "llmcal run: --backend: '%s' must be cpu or cuda\n",
                        v ? v : "(missing)");
                return CLI_EXIT_USAGE;
            }
        } else if (strcmp(argv[i], "--rendezvous") == 0 || strcmp(argv[i], "--out") == 0) {
            if (!v || !*v) {
                fprintf(stderr, "llmcal run: %s: a path is required\n", argv[i]);
                return CLI_EXIT_USAGE;
            }
            if (argv[i][2] == 'r') {
                opt.rendezvous = v;
            } else {
                out_prefix = v;
            }
        } else if (strcmp(argv[i], "--rendezvous-timeout") == 0) {
            if (cli_parse_i64(argv[i], v, 1, 86400, &x, &diag) != 0) {
                cli_error("run", &diag, EST_EINVAL);
                return CLI_EXIT_USAGE;
            }
            opt.rendezvous_timeout_s = (double)x;
        } else if (strcmp(argv[i], "--steps") == 0 || strcmp(argv[i], "--rank") == 0 ||
                   strcmp(argv[i], "--seed") == 0 || strcmp(argv[i], "--capacity-mib") == 0) {
            long long hi = strcmp(argv[i], "--steps") == 0 ? 1000000 : (1LL << 40);
            long long lo = strcmp(argv[i], "--steps") == 0 ? 1 : 0;
            if (cli_parse_i64(argv[i], v, lo, hi, &x, &diag) != 0) {
                cli_error("run", &diag, EST_EINVAL);
                return CLI_EXIT_USAGE;
            }
            if (argv[i][2] == 's' && argv[i][3] == 't') {
                opt.steps = (int)x;
            } else if (argv[i][2] == 'r') {
                opt.solo_rank = (int)(x < (1LL << 30) ? x : (1LL << 30));
            } else if (argv[i][2] == 's') {
                opt.seed = (uint64_t)x;
            } else {
                opt.capacity_bytes = (uint64_t)x << 20;
            }
        } else {
            fprintf(stderr, "llmcal run: unknown flag '%s' (see llmcal run --help)\n", argv[i]);
            return CLI_EXIT_USAGE;
        }
        i++;
    }
    est_status st = cli_setup_finish(s, true, &diag);
    if (st != EST_OK) {
        cli_error("run", &diag, st);
        return CLI_EXIT_USAGE;
    }
    if (opt.rendezvous) { /* one process per rank: which one this is, from the launcher */
        st = rt_launch_detect(rt_env_getenv, NULL, &opt.launch, &diag);
        if (st == EST_OK && !opt.launch.present) {
            st = EST_FAIL(&diag, EST_EINVAL,
                          "rendezvous: no launcher found (OMPI_COMM_WORLD_RANK, PMI_RANK or "
                          "SLURM_PROCID); --rendezvous is for processes started by mpirun or "
                          "srun");
        }
        if (st != EST_OK) {
            cli_error("run", &diag, st);
            return CLI_EXIT_USAGE;
        }
    }
    /* under a multi-process launch only rank 0 prints; every rank writes --out */
    bool quiet = opt.launch.present && opt.launch.rank != 0;
    if (opt.backend == RT_BACKEND_CPU) {
        /* the reference backend keeps 16 B per parameter (fp32: weights, grads, two moments;
           bf16-mixed: 2 + 4 + 4 master + 8 = 18 B, close enough for this guard) */
        est_param_counts pc;
        est_model_params(&s->model, &pc);
        double per_rank = 16.0 * (double)pc.total / (s->cfg.par.tp * s->cfg.par.pp);
        int ranks = opt.solo_rank >= 0 ? 1 : (int)s->cfg.par.gpus;
        if (per_rank * ranks > 8.0 * (1 << 30) && opt.capacity_bytes == 0) {
            fprintf(stderr,
                    "llmcal run: model: %s needs ~%.0f GiB of host memory on the cpu backend (a "
                    "reference for tiny models); use --backend cuda, --rank R, or --capacity-mib\n",
                    s->model.name, per_rank * ranks / (1 << 30));
            return CLI_EXIT_USAGE;
        }
    }
    est_memory_report pm;
    json_t *predicted = NULL;
    bool have_pm = est_memory(&s->cfg, &pm, NULL) == EST_OK;
    if (have_pm && s->json) {
        predicted = cli_estimate_json(&s->cfg, &pm, NULL);
    }
    rt_report rep;
    st = rt_run(&s->cfg, &opt, &rep, &diag);
    if (st != EST_OK && st != EST_ENOMEM) {
        json_decref(predicted);
        cli_error("run", &diag, st);
        return st == EST_EINVAL || st == EST_ERANGE || st == EST_EUNSUPPORTED ? CLI_EXIT_USAGE
                                                                              : CLI_EXIT_FAIL;
    }
    int wrc = 0;
    if (out_prefix) {
        if (!predicted && have_pm) {
            predicted = cli_estimate_json(&s->cfg, &pm, NULL);
        }
        wrc = write_rank_json(s, &rep, predicted, out_prefix,
                              opt.launch.present ? opt.launch.rank : 0);
    }
    if (quiet) {
        /* nothing on stdout */
    } else if (s->json) {
        json_t *o = report_json(s, &rep, json_incref(predicted));
        char *text = json_dumps(o, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
        if (text) {
            printf("%s\n", text);
            free(text);
        }
        json_decref(o);
    } else {
        print_text(stdout, &rep, have_pm ? &pm : NULL);
    }
    json_decref(predicted);
    if (wrc != 0) {
        rt_report_free(&rep);
        return CLI_EXIT_FAIL;
    }
    bool oom = rep.oom;
    rt_report_free(&rep);
    return oom ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}
