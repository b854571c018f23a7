/* engine.c -- the estimator calls of the dashboard (see engine.h): one estimate, and the search.
 * No formula lives here; every number is est_memory()'s, est_step_time()'s or est_search()'s.
 */
#include "tui/engine.h"

#include <stdio.h>
#include <string.h>

est_status tui_engine_estimate(est_config *cfg, const est_coeffs *coeffs, est_memory_report *mem,
                               est_time_report *t, est_status *time_status, est_diag *time_diag,
                               est_diag *diag)
{
    est_config c = *cfg;
    est_status s = est_config_resolve(&c, diag);
    if (s != EST_OK) {
        return s;
    }
    s = est_memory(&c, mem, diag);
    if (s != EST_OK) {
        return s;
    }
    est_time_opts o = est_time_opts_default();
    o.coeffs = coeffs;
    *time_status = est_step_time_ex(&c, &o, t, time_diag);
    *cfg = c;
    return EST_OK;
}

// ---------------------------------------------------------------------------
// search

void tui_search_prepare(tui_search *s, const est_config *base, const est_coeffs *coeffs)
{
    memset(s, 0, sizeof *s);
    s->coeffs = coeffs != NULL ? *coeffs : est_coeffs_from_hw(base->gpu, base->cluster);
    s->model = *base->model;
    s->gpu = *base->gpu;
    s->cluster = *base->cluster;
    s->base = *base;
    s->base.model = &s->model;
    s->base.gpu = &s->gpu;
    s->base.cluster = &s->cluster;
    if (s->base.par.gbs <= 0) {
        s->base.par.gbs = s->base.par.gpus; /* one sequence per GPU when no global batch was set */
    }
    s->prepared = true;
}

void tui_search_run(tui_search *s)
{
    est_search_space space = est_search_space_default();
    est_diag d = {{0}, NULL, 0};
    s->base.model = &s->model;
    s->base.gpu = &s->gpu;
    s->base.cluster = &s->cluster;
    s->n_hits = 0;
    est_time_opts o = est_time_opts_default();
    o.coeffs = &s->coeffs;
    s->status =
        est_search(&s->base, &space, &o, s->hits, TUI_SEARCH_CAP, &s->n_hits, &s->stats, &d);
    if (s->status != EST_OK) {
        snprintf(s->error, sizeof s->error, "%s", d.msg[0] ? d.msg : est_status_str(s->status));
    }
    s->done = true;
}
