/* compare.c -- predicted vs measured for `llmcal validate`: both into one JSON shape, errors in
 * percent, and the headline verdict.
 *
 * Not here: running the runtime, printing. References: ARCHITECTURE.md (memory_bytes/time_s
 * contract keys); runtime/include/rt/rt.h (rt_time_part: the measured phases).
 */
#include "cal/compare.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

static const char *const mem_keys[] = {
    "weights",   "gradients", "optimizer",     "activations",    "logits",        "comm_buffers",
    "workspace", "context",   "fragmentation", "peak_allocated", "peak_reserved", "total"};
static const char *const time_keys[] = {"compute", "tp_comm", "cp_comm",   "ep_comm",  "pp_comm",
                                        "dp_comm", "comm",    "optimizer", "iteration"};
static const char *const comm_keys[] = {"tp_comm", "cp_comm", "ep_comm", "pp_comm", "dp_comm"};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

// ---------------------------------------------------------------------------
// predicted

json_t *cal_predicted_json(const est_memory_report *m, const est_time_report *t)
{
    json_t *root = json_object();
    json_t *mem = json_object();
    const est_stage_memory *w = &m->worst;
    for (int g = 0; g < EST_MEM_GROUP_COUNT; g++) {
        json_object_set_new(mem, est_mem_group_name((est_mem_group)g),
                            json_integer((json_int_t)w->bytes[g]));
    }
    json_object_set_new(mem, "peak_allocated", json_integer((json_int_t)w->peak_allocated));
    json_object_set_new(mem, "peak_reserved", json_integer((json_int_t)w->peak_reserved));
    json_object_set_new(mem, "total", json_integer((json_int_t)w->total));
    json_object_set_new(root, "memory_bytes", mem);
    if (t != NULL) {
        json_t *ts = json_object();
        double pp = t->pp_comm_s + t->pp_bubble_s;
        json_object_set_new(ts, "compute", json_real(t->compute_s));
        json_object_set_new(ts, "tp_comm", json_real(t->tp_comm_s));
        json_object_set_new(ts, "cp_comm", json_real(t->cp_comm_s));
        json_object_set_new(ts, "ep_comm", json_real(t->ep_comm_s));
        json_object_set_new(ts, "pp_comm", json_real(pp));
        json_object_set_new(ts, "dp_comm", json_real(t->dp_comm_s));
        json_object_set_new(
            ts, "comm", json_real(t->tp_comm_s + t->cp_comm_s + t->ep_comm_s + pp + t->dp_comm_s));
        json_object_set_new(ts, "optimizer", json_real(t->optimizer_s));
        json_object_set_new(ts, "iteration", json_real(t->iteration_s));
        json_object_set_new(root, "time_s", ts);
    }
    return root;
}

// ---------------------------------------------------------------------------
// measured

static est_status numbers_only(json_t *obj, const char *origin, const char *where, est_diag *diag)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v)
    {
        if (json_is_null(v)) {
            continue;
        }
        if (!json_is_number(v) || !(json_number_value(v) >= 0.0) || isinf(json_number_value(v))) {
            return EST_FAIL(diag, EST_EINVAL, "%s: %s.%s: expected a number >= 0", origin, where,
                            k);
        }
    }
    return EST_OK;
}

static double num(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* copies the known keys of src (numbers) into dst, taking the max when dst has the key */
static void merge_max(json_t *dst, json_t *src, const char *const *keys, size_t nkeys)
{
    if (src == NULL) {
        return;
    }
    for (size_t i = 0; i < nkeys; i++) {
        double v = num(src, keys[i]);
        if (isnan(v)) {
            continue;
        }
        double old = num(dst, keys[i]);
        if (isnan(old) || v > old) {
            json_object_set(dst, keys[i], json_object_get(src, keys[i])); /* keeps integers */
        }
    }
}

/* flags: {"key": false} (time_measured) or {"key": "modelled"} (llmcal run's time_source) */
static void drop_modelled(json_t *times, json_t *flags)
{
    if (!json_is_object(flags)) {
        return;
    }
    const char *k;
    json_t *v;
    json_object_foreach(flags, k, v)
    {
        bool modelled = json_is_false(v) ||
                        (json_is_string(v) && strcmp(json_string_value(v), "modelled") == 0);
        if (modelled) {
            if (strcmp(k, "step") == 0) {
                json_object_del(times, "iteration");
            }
            json_object_del(times, k);
            if (strcmp(k, "pp_comm") == 0 || strcmp(k, "tp_comm") == 0 ||
                strcmp(k, "dp_comm") == 0 || strcmp(k, "cp_comm") == 0 ||
                strcmp(k, "ep_comm") == 0) {
                json_object_del(times, "comm"); /* a sum over a modelled part is not measured */
            }
        }
    }
}

static est_status take_times(json_t *dst, json_t *src, json_t *flags, const char *origin,
                             const char *where, est_diag *diag)
{
    if (!json_is_object(src)) {
        return EST_FAIL(diag, EST_EINVAL, "%s: %s: expected an object", origin, where);
    }
    est_status st = numbers_only(src, origin, where, diag);
    if (st != EST_OK) {
        return st;
    }
    json_t *t = json_object();
    static const char *const raw[] = {"compute", "forward",   "backward",  "tp_comm",
                                      "cp_comm", "ep_comm",   "pp_comm",   "dp_comm",
                                      "comm",    "optimizer", "iteration", "step"};
    merge_max(t, src, raw, N_OF(raw));
    if (json_object_get(t, "iteration") == NULL && json_object_get(t, "step") != NULL) {
        json_object_set(t, "iteration", json_object_get(t, "step"));
    }
    if (json_object_get(t, "compute") == NULL && json_object_get(t, "forward") != NULL &&
        json_object_get(t, "backward") != NULL) {
        json_object_set_new(t, "compute", json_real(num(t, "forward") + num(t, "backward")));
    }
    if (json_object_get(t, "comm") == NULL) {
        double sum = 0.0;
        bool any = false;
        for (size_t i = 0; i < N_OF(comm_keys); i++) {
            double v = num(t, comm_keys[i]);
            if (!isnan(v)) {
                sum += v;
                any = true;
            }
        }
        if (any) {
            json_object_set_new(t, "comm", json_real(sum));
        }
    }
    drop_modelled(t, flags);
    merge_max(dst, t, time_keys, N_OF(time_keys));
    json_decref(t);
    return EST_OK;
}

static double mem_size(json_t *mem)
{
    double v = num(mem, "peak_allocated");
    return isnan(v) ? num(mem, "total") : v;
}

est_status cal_measured_normalize(json_t *run, const char *origin, json_t **out, est_diag *diag)
{
    if (!json_is_object(run)) {
        return EST_FAIL(diag, EST_EINVAL, "%s: expected a JSON object", origin);
    }
    json_t *mem = json_object();
    json_t *times = json_object();
    est_status st = EST_OK;
    json_t *ranks = json_object_get(run, "ranks");
    json_t *top_mem = json_object_get(run, "memory_bytes");
    json_t *top_time = json_object_get(run, "time_s");
    json_t *top_flags = json_object_get(run, "time_measured");
    if (top_flags == NULL) {
        top_flags = json_object_get(run, "time_source");
    }
    if (ranks != NULL && !json_is_array(ranks)) {
        st = EST_FAIL(diag, EST_EINVAL, "%s: ranks: expected an array", origin);
    }
    if (st == EST_OK && top_mem != NULL) {
        if (!json_is_object(top_mem)) {
            st = EST_FAIL(diag, EST_EINVAL, "%s: memory_bytes: expected an object", origin);
        } else if ((st = numbers_only(top_mem, origin, "memory_bytes", diag)) == EST_OK) {
            merge_max(mem, top_mem, mem_keys, N_OF(mem_keys));
        }
    }
    if (st == EST_OK && top_time != NULL) {
        st = take_times(times, top_time, top_flags, origin, "time_s", diag);
    }
    size_t i;
    json_t *r;
    double worst = -1.0;
    json_array_foreach(ranks, i, r)
    {
        if (st != EST_OK) {
            break;
        }
        char where[64];
        snprintf(where, sizeof where, "ranks[%zu]", i);
        if (!json_is_object(r)) {
            st = EST_FAIL(diag, EST_EINVAL, "%s: %s: expected an object", origin, where);
            break;
        }
        json_t *rm = json_object_get(r, "memory_bytes");
        if (top_mem == NULL && rm != NULL) {
            if (!json_is_object(rm)) {
                st = EST_FAIL(diag, EST_EINVAL, "%s: %s.memory_bytes: expected an object", origin,
                              where);
                break;
            }
            if ((st = numbers_only(rm, origin, where, diag)) != EST_OK) {
                break;
            }
            double sz = mem_size(rm);
            if (!isnan(sz) && sz > worst) {
                worst = sz;
                json_object_clear(mem);
                merge_max(mem, rm, mem_keys, N_OF(mem_keys));
            }
        }
        json_t *rt = json_object_get(r, "time_s");
        if (top_time == NULL && rt != NULL) {
            json_t *flags = json_object_get(r, "time_measured");
            if (flags == NULL) {
                flags = json_object_get(r, "time_source");
            }
            st = take_times(times, rt, flags != NULL ? flags : top_flags, origin, where, diag);
        }
    }
    /* llmcal run: the driver's view (cudaMemGetInfo) is what the device shows in use */
    double drv = top_mem != NULL ? num(top_mem, "driver_used") : NAN;
    if (st == EST_OK && json_object_get(mem, "total") == NULL) {
        json_t *src = top_mem;
        if (src == NULL && json_is_array(ranks)) {
            double w = -1.0;
            json_array_foreach(ranks, i, r)
            {
                json_t *rm = json_object_get(r, "memory_bytes");
                double sz = mem_size(rm);
                if (!isnan(sz) && sz > w) {
                    w = sz;
                    src = rm;
                }
            }
        }
        drv = num(src, "driver_used");
        if (!isnan(drv) && drv > 0.0) {
            json_object_set_new(mem, "total", json_real(drv));
        }
    }
    if (st == EST_OK && json_object_size(mem) == 0 && json_object_size(times) == 0) {
        st = EST_FAIL(diag, EST_EINVAL,
                      "%s: no memory_bytes or time_s to compare (expected "
                      "llmcal run --json output)",
                      origin);
    }
    if (st != EST_OK) {
        json_decref(mem);
        json_decref(times);
        return st;
    }
    json_t *o = json_object();
    json_object_set_new(o, "memory_bytes", mem);
    json_object_set_new(o, "time_s", times);
    *out = o;
    return EST_OK;
}

// ---------------------------------------------------------------------------
// errors

static json_t *errors_of(json_t *pred, json_t *meas, const char *const *keys, size_t n)
{
    json_t *o = json_object();
    for (size_t i = 0; i < n; i++) {
        double p = num(pred, keys[i]);
        double m = num(meas, keys[i]);
        if (isnan(p) || isnan(m)) {
            continue;
        }
        if (m > 0.0) {
            json_object_set_new(o, keys[i], json_real(100.0 * (p - m) / m));
        } else {
            json_object_set_new(o, keys[i], p == 0.0 ? json_real(0.0) : json_null());
        }
    }
    return o;
}

json_t *cal_error_pct(json_t *predicted, json_t *measured)
{
    json_t *o = json_object();
    json_object_set_new(o, "memory_bytes",
                        errors_of(json_object_get(predicted, "memory_bytes"),
                                  json_object_get(measured, "memory_bytes"), mem_keys,
                                  N_OF(mem_keys)));
    json_object_set_new(o, "time_s",
                        errors_of(json_object_get(predicted, "time_s"),
                                  json_object_get(measured, "time_s"), time_keys, N_OF(time_keys)));
    return o;
}

static void largest(json_t *obj, const char *const *keys, size_t n, double *out, const char **key)
{
    *out = NAN;
    *key = NULL;
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_object_get(obj, keys[i]);
        if (v == NULL) {
            continue;
        }
        double e = json_is_number(v) ? fabs(json_number_value(v)) : INFINITY;
        if (isnan(*out) || e > *out) {
            *out = e;
            *key = keys[i];
        }
    }
}

void cal_verdict_of(json_t *error_pct, cal_verdict *v)
{
    memset(v, 0, sizeof *v);
    json_t *me = json_object_get(error_pct, "memory_bytes");
    json_t *te = json_object_get(error_pct, "time_s");
    v->mem_err_pct = NAN;
    v->time_err_pct = NAN;
    static const char *const heads[] = {"peak_allocated", "peak_reserved", "total"};
    for (size_t i = 0; i < N_OF(heads) && v->mem_key == NULL; i++) {
        json_t *e = json_object_get(me, heads[i]);
        if (e != NULL) {
            v->mem_key = heads[i];
            v->mem_err_pct = json_is_number(e) ? json_number_value(e) : INFINITY;
        }
    }
    json_t *it = json_object_get(te, "iteration");
    if (it != NULL) {
        v->time_key = "iteration";
        v->time_err_pct = json_is_number(it) ? json_number_value(it) : INFINITY;
    }
    largest(me, mem_keys, N_OF(mem_keys), &v->max_mem_err_pct, &v->max_mem_key);
    largest(te, time_keys, N_OF(time_keys), &v->max_time_err_pct, &v->max_time_key);
}
