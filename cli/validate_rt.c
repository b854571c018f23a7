/* validate_rt.c -- `llmcal validate`'s runtime path: one configuration run on the micro-runtime
 * (rt_run), its report turned into the JSON shape compare.c reads (as `llmcal run --json` writes
 * it: "ranks" with memory_bytes, time_s and time_source).
 *
 * Backends: CUDA (real cuBLAS/NCCL; all ranks when enough GPUs are visible, else the single-GPU
 * shard mode of rank 0) or, on request, the CPU reference backend (fp32, tiny models: a check of
 * the plumbing, not of a GPU's numbers). Not here: the comparison (calib/src/compare.c).
 */
#include "validate_rt.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#ifdef LLMCAL_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

#include "est/memory.h"
#include "rt/rt.h" // provides: rt_run, rt_report, rt_time_part_name

static int visible_gpus(void)
{
#ifdef LLMCAL_HAVE_CUDA
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        return 0;
    }
    return n;
#else
    return 0;
#endif
}

static json_t *rank_json(const rt_report *rep, const rt_rank_report *r)
{
    json_t *o = json_object();
    json_t *mem = json_object();
    for (int g = 0; g < EST_MEM_GROUP_COUNT; g++) {
        /* the runtime does not see the context or a caching allocator's slack */
        if (g == EST_MEM_CONTEXT || g == EST_MEM_FRAGMENTATION) {
            continue;
        }
        json_object_set_new(mem, est_mem_group_name((est_mem_group)g),
                            json_integer((json_int_t)r->at_peak_bytes[g]));
    }
    json_object_set_new(mem, "peak_allocated", json_integer((json_int_t)r->peak_bytes));
    if (rep->backend == RT_BACKEND_CUDA && r->driver_used_bytes > 0) {
        json_object_set_new(mem, "driver_used", json_integer((json_int_t)r->driver_used_bytes));
    }
    json_object_set_new(o, "memory_bytes", mem);
    json_t *t = json_object();
    json_t *how = json_object();
    for (int p = 0; p < RT_T_COUNT; p++) {
        const char *name = rt_time_part_name((rt_time_part)p);
        if (isfinite(r->time_s[p])) {
            json_object_set_new(t, name, json_real(r->time_s[p]));
        }
        json_object_set_new(how, name, json_string(r->time_measured[p] ? "measured" : "modelled"));
    }
    json_object_set_new(o, "time_s", t);
    json_object_set_new(o, "time_source", how);
    return o;
}

est_status validate_run_case(const est_config *cfg, int steps, bool cpu, json_t **measured,
                             char *mode, size_t cap, est_diag *diag)
{
    rt_options o = rt_options_default();
    o.steps = steps;
    if (cpu) {
        o.backend = RT_BACKEND_CPU;
        snprintf(mode, cap, "runtime, cpu reference backend (fp32)");
    } else {
        if (!rt_backend_compiled(RT_BACKEND_CUDA)) {
            return EST_FAIL(diag, EST_EUNSUPPORTED,
                            "running the case needs the CUDA runtime (this build has only the "
                            "CPU backend: configure with -DLLMCAL_WITH_CUDA=ON); pass --measured "
                            "FILE, or --backend cpu for the reference backend");
        }
        int gpus = visible_gpus();
        if (gpus <= 0) {
            return EST_FAIL(diag, EST_EUNSUPPORTED, "no CUDA device visible; pass --measured FILE");
        }
        o.backend = RT_BACKEND_CUDA;
        if (cfg->par.gpus > gpus) {
            o.solo_rank = 0;
            snprintf(mode, cap,
                     "runtime, cuda, single-GPU shard mode of rank 0 (%lld ranks, %d "
                     "GPU(s) visible)",
                     (long long)cfg->par.gpus, gpus);
        } else {
            snprintf(mode, cap, "runtime, cuda + nccl, %lld GPU(s)", (long long)cfg->par.gpus);
        }
    }
    rt_report rep;
    memset(&rep, 0, sizeof rep);
    est_status st = rt_run(cfg, &o, &rep, diag);
    if (st != EST_OK) {
        rt_report_free(&rep);
        return st;
    }
    json_t *root = json_object();
    json_t *ranks = json_array();
    for (int i = 0; i < rep.nranks; i++) {
        json_array_append_new(ranks, rank_json(&rep, &rep.ranks[i]));
    }
    json_object_set_new(root, "ranks", ranks);
    rt_report_free(&rep);
    *measured = root;
    return EST_OK;
}
