/* session.c -- the dashboard's file-reading steps: profiles after a model/GPU/cluster change, the
 * built-in name lists, and the validate results file. Not pure (prof_* reads files); kept apart so
 * that state.c stays pure.
 */
#include "tui/state.h"

#include <stdio.h>
#include <string.h>

#include "prof/prof.h"

void tui_state_reload(tui_state *st)
{
    est_diag d = {{0}, NULL, 0};
    est_status s = cli_setup_finish(&st->setup, false, &d);
    char m[256];
    if (s == EST_OK) {
        tui_state_recompute(st);
        return;
    }
    snprintf(m, sizeof m, "%s", d.msg[0] ? d.msg : est_status_str(s));
    snprintf(st->setup.model_arg, sizeof st->setup.model_arg, "%s", st->prev_arg[0]);
    snprintf(st->setup.gpu_arg, sizeof st->setup.gpu_arg, "%s", st->prev_arg[1]);
    snprintf(st->setup.cluster_arg, sizeof st->setup.cluster_arg, "%s", st->prev_arg[2]);
    (void)cli_setup_finish(&st->setup, false, NULL);
    tui_state_recompute(st);
    tui_state_message(st, TUI_MSG_ERROR, m);
}

static void names(tui_names *out, prof_kind kind)
{
    size_t n = prof_list(kind, out->name, TUI_MAX_NAMES);
    out->n = (int)(n < TUI_MAX_NAMES ? n : TUI_MAX_NAMES);
}

void tui_state_load_names(tui_state *st)
{
    names(&st->models, PROF_MODEL);
    names(&st->gpus, PROF_GPU);
    names(&st->clusters, PROF_CLUSTER);
}

void tui_state_load_calib(tui_state *st, const char *path)
{
    est_diag d = {{0}, NULL, 0};
    FILE *f = fopen(path, "rb");
    char m[300];
    if (f == NULL) {
        memset(&st->calib, 0, sizeof st->calib);
        snprintf(st->calib.path, sizeof st->calib.path, "%s", path);
        return;
    }
    fclose(f);
    if (tui_calib_load_file(path, &st->calib, &d) != EST_OK) {
        snprintf(m, sizeof m, "calibration: %s", d.msg);
        tui_state_message(st, TUI_MSG_ERROR, m);
    }
}
