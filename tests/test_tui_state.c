/* test_tui_state.c -- key sequences changing the dashboard's state, without a terminal: TP and
 * micro-batch edits re-estimate through the estimator, invalid combinations are refused in words,
 * typed values, help, pages, and loading a search result. Then whole frames rendered at 80x24 and
 * 160x50 show the estimator's figures.
 *
 * Expected values: the TUI must show est_memory()'s numbers (compared with a direct call), and
 * hand-derived relations of the model:
 *  - Llama-3-70B has 70,553,706,496 parameters (Meta's published checkpoint; per layer
 *    q,o 8192^2 + k,v 8192*1024 + MLP 3*8192*28672 + 2 norms 8192 = 855,654,400, times 80 layers,
 *    + embedding and output 2*128256*8192 + final norm 8192). bf16 weights: 2 bytes each, so
 *    141.1e9 bytes at TP=1; TP shards every matrix, so TP=8 holds 1/8 (norms, 1.3M, replicated:
 *    < 0.1% error).
 *  - Activation memory is linear in the micro-batch b (Korthikanti et al. 2022, Table 2:
 *    s*b*h*(34 + 5*a*s/h)), so doubling b doubles the activations with PP=1.
 */
#include "tui/state.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tui/format.h"
#include "tui/view.h"

#include "check.h"

static const double llama3_70b_params = 70553706496.0;

static void keys(tui_state *st, const char *s)
{
    for (; *s; s++) {
        int act = tui_state_apply_key(st, (unsigned char)*s);
        if (act & TUI_ACT_RELOAD) {
            tui_state_reload(st);
        }
    }
}

static void goto_field(tui_state *st, tui_field f)
{
    while (st->field < (int)f) {
        tui_state_apply_key(st, 'j');
    }
    while (st->field > (int)f) {
        tui_state_apply_key(st, 'k');
    }
}

static void type_value(tui_state *st, const char *text)
{
    tui_state_apply_key(st, TUI_KEY_ENTER);
    for (int i = 0; i < 40; i++) {
        tui_state_apply_key(st, TUI_KEY_BACKSPACE);
    }
    keys(st, text);
    if (tui_state_apply_key(st, TUI_KEY_ENTER) & TUI_ACT_RELOAD) {
        tui_state_reload(st);
    }
}

static char *frame(const tui_state *st, int rows, int cols)
{
    tui_layout l;
    tui_canvas *c = tui_canvas_alloc(rows, cols);
    size_t n;
    char *text;
    tui_layout_compute(rows, cols, st->page, &l);
    tui_frame_render(st, &l, c);
    n = tui_canvas_to_text(c, NULL, 0) + 1;
    text = malloc(n);
    tui_canvas_to_text(c, text, n);
    tui_canvas_free(c);
    return text;
}

int main(void)
{
    cli_setup *setup = malloc(sizeof *setup);
    tui_state *st = malloc(sizeof *st);
    est_diag d = {{0}, NULL, 0};
    double w1;
    double a1;
    char fig[32];
    char *text;
    cli_setup_init(setup); /* llama-3-70b, h100-sxm, 64 GPUs, seq 8192 */
    if (cli_setup_finish(setup, false, &d) != EST_OK) {
        fprintf(stderr, "profiles: %s\n", d.msg);
        return 1;
    }
    tui_state_init(st, setup);
    free(setup);
    tui_state_load_names(st);
    CHECK(st->ok, "the default configuration estimates");
    CHECK_EQ_I64(st->setup.cfg.par.tp, 1, "starts at TP 1");
    CHECK_EQ_I64(st->field, TUI_F_TP, "cursor starts on TP");
    w1 = (double)st->mem.worst.bytes[EST_MEM_WEIGHTS];
    CHECK_REL(w1, 2.0 * llama3_70b_params, 1e-3, "bf16 weights = 2 bytes x 70.55e9 params");

    /* TP 1 -> 2 -> 4 -> 8 with +, + and l */
    keys(st, "++l");
    CHECK_EQ_I64(st->setup.cfg.par.tp, 8, "+ + l doubles TP three times");
    CHECK(st->ok, "TP 8 is valid (64 heads, 8 KV heads)");
    CHECK_EQ_I64(st->cfg.par.dp, 8, "DP = 64 / 8");
    CHECK_REL((double)st->mem.worst.bytes[EST_MEM_WEIGHTS], w1 / 8.0, 1e-3,
              "TP 8 holds 1/8 of the weights");
    {
        /* the state's figures are est_memory()'s for the same configuration */
        est_config c = st->setup.cfg;
        est_memory_report m;
        CHECK(est_config_resolve(&c, NULL) == EST_OK && est_memory(&c, &m, NULL) == EST_OK,
              "direct estimate");
        CHECK(memcmp(m.worst.bytes, st->mem.worst.bytes, sizeof m.worst.bytes) == 0 &&
                  m.worst.total == st->mem.worst.total,
              "the dashboard shows exactly the estimator's bytes");
    }

    /* micro-batch 1 -> 2 */
    a1 = (double)st->mem.worst.bytes[EST_MEM_ACTIVATIONS];
    goto_field(st, TUI_F_MBS);
    keys(st, "+");
    CHECK_EQ_I64(st->setup.cfg.par.mbs, 2, "+ on micro-batch doubles it");
    CHECK_REL((double)st->mem.worst.bytes[EST_MEM_ACTIVATIONS], 2.0 * a1, 1e-3,
              "activations linear in b (Korthikanti Table 2)");
    keys(st, "-");
    CHECK_EQ_I64(st->setup.cfg.par.mbs, 1, "- halves it back");

    /* an invalid combination: TP 3 does not divide 64 heads; shown, not applied silently */
    goto_field(st, TUI_F_TP);
    type_value(st, "3");
    CHECK_EQ_I64(st->setup.cfg.par.tp, 3, "the typed value stays in the editor");
    CHECK(!st->ok && st->msg_level == TUI_MSG_ERROR, "invalid configuration flagged");
    CHECK(strstr(st->msg, "invalid") != NULL && st->error[0] != '\0', "the reason is in words");
    {
        tui_memory_view v;
        tui_memory_prepare(st, 40, &v);
        CHECK(!v.ok && strcmp(v.error, st->error) == 0, "memory panel shows the reason");
    }
    keys(st, "r");
    CHECK(st->ok && st->setup.cfg.par.tp == 8, "r reverts to the last valid configuration");

    /* malformed typed value: refused, value unchanged */
    type_value(st, "x1");
    CHECK_EQ_I64(st->setup.cfg.par.tp, 8, "malformed value not applied");
    CHECK(st->msg_level == TUI_MSG_ERROR && strstr(st->msg, "not a whole number") != NULL,
          "malformed value explained");
    type_value(st, "4");
    CHECK(st->ok && st->setup.cfg.par.tp == 4, "typed 4 applied");
    keys(st, "+");
    /* Esc cancels typing */
    tui_state_apply_key(st, TUI_KEY_ENTER);
    keys(st, "77");
    tui_state_apply_key(st, TUI_KEY_ESC);
    CHECK(!st->editing && st->setup.cfg.par.tp == 8, "Esc cancels an edit");

    /* DP is derived */
    goto_field(st, TUI_F_DP);
    keys(st, "+");
    CHECK(st->msg_level == TUI_MSG_WARN && strstr(st->msg, "derived") != NULL, "DP not editable");

    /* enum rows cycle through the estimator's names */
    goto_field(st, TUI_F_RECOMPUTE);
    keys(st, "+");
    CHECK(st->setup.cfg.par.recompute == EST_RECOMPUTE_SELECTIVE, "none -> selective");
    type_value(st, "sometimes");
    CHECK(st->msg_level == TUI_MSG_ERROR && strstr(st->msg, "none, selective, full") != NULL,
          "unknown name lists the choices");
    keys(st, "-");

    /* help overlay and quit */
    keys(st, "?");
    CHECK(st->help, "? opens help");
    CHECK_EQ_I64(tui_state_apply_key(st, 'j'), TUI_ACT_NONE, "a key closes help");
    CHECK(!st->help && st->field == TUI_F_RECOMPUTE, "closing help does not move the cursor");
    CHECK_EQ_I64(tui_state_apply_key(st, 'q'), TUI_ACT_QUIT, "q quits");
    CHECK_EQ_I64(tui_state_apply_key(st, 's'), TUI_ACT_SEARCH, "s asks for a search");
    CHECK(st->page == TUI_PAGE_SEARCH && st->focus == TUI_FOCUS_SEARCH, "s shows the search");

    /* the search (run synchronously here; the program runs it on a thread) and loading a row */
    tui_search_prepare(&st->search, &st->cfg, &st->setup.coeffs);
    tui_search_run(&st->search);
    CHECK(st->search.status == EST_OK && st->search.n_hits > 1, "llama-3-70b fits on 64 H100");
    for (int i = 1; i < st->search.n_hits; i++) {
        if (st->search.hits[i].time.tokens_per_s > st->search.hits[i - 1].time.tokens_per_s) {
            CHECK(0, "results ranked by tokens/s");
            break;
        }
    }
    text = frame(st, 24, 80);
    CHECK(strstr(text, "tok/s") != NULL, "search table at 80x24");
    free(text);
    keys(st, "j");
    tui_state_apply_key(st, TUI_KEY_ENTER);
    CHECK(st->page == TUI_PAGE_MAIN, "Enter on a result returns to the main page");
    CHECK(st->setup.cfg.par.tp == st->search.hits[1].par.tp &&
              st->setup.cfg.par.pp == st->search.hits[1].par.pp &&
              st->setup.cfg.par.mbs == st->search.hits[1].par.mbs,
          "the selected (second) result is loaded");
    CHECK(st->ok && st->mem.fits, "a loaded result fits");
    CHECK_EQ_I64(st->mem.worst.total, st->search.hits[1].memory.worst.total,
                 "same memory as the search said");

    /* frames: figures of the estimate appear in the text */
    tui_fmt_bytes(fig, sizeof fig, (double)st->mem.worst.bytes[EST_MEM_WEIGHTS]);
    text = frame(st, 24, 80);
    CHECK(strstr(text, "Memory per GPU") && strstr(text, "Time per iteration"), "80x24 panels");
    CHECK(strstr(text, fig) != NULL, "80x24 shows the weights figure");
    free(text);
    text = frame(st, 50, 160);
    CHECK(strstr(text, fig) != NULL && strstr(text, "Calibration") != NULL, "160x50 frame");
    free(text);
    text = frame(st, 20, 60);
    CHECK(strstr(text, "too small") != NULL, "60x20 says the terminal is too small");
    free(text);

    /* profile changes go through reload; a bad name is refused and the old model kept */
    goto_field(st, TUI_F_MODEL);
    {
        char before[LLMCAL_NAME_MAX];
        snprintf(before, sizeof before, "%s", st->setup.model.name);
        type_value(st, "no-such-model");
        CHECK(strcmp(st->setup.model.name, before) == 0, "unknown model refused");
        CHECK(st->msg_level == TUI_MSG_ERROR && strstr(st->msg, "no-such-model") != NULL,
              "unknown model named in the status line");
        CHECK(st->models.n > 1, "built-in models listed");
        keys(st, "+");
        CHECK(strcmp(st->setup.model.name, before) != 0, "+ on model moves to another model");
    }
    free(st);
    return check_summary();
}
