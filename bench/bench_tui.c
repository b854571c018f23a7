/* bench_tui.c -- how long the dashboard takes to answer a key, for Llama-3.1-405B on 16,384 H100s
 * (TP 8, PP 16 with 7-layer first/last stages, global batch 2048 x 8192 tokens: the Llama 3 paper's
 * 16K-GPU layout, Table 4), and how long the search takes. The target (issue 6) is 50 ms per key;
 * the search may take longer (it runs on a worker thread with a progress line).
 *
 * A key's cost here is everything the program does between reading a key and the frame's
 * doupdate(): tui_state_apply_key (which re-estimates), tui_layout_compute, tui_frame_render into
 * the canvas, and tui_canvas_to_text as a stand-in for copying the cells to curses (both walk every
 * cell once). Usage: bench_tui [keys] [COLSxROWS]. Prints mean/p50/p99/max per key, then the
 * search.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tui/layout.h"
#include "tui/state.h"
#include "tui/view.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return x < y ? -1 : (x > y ? 1 : 0);
}

int main(int argc, char **argv)
{
    /* keys a user would press: move over the rows and change values (no profile rows, which read
       files: those are a file load, measured separately below) */
    static const int keys[] = {'+', '-', 'j', '+', '-', 'j', '+', '-', 'j', '+', '-', 'j', 'j',
                               'j', 'j', '+', '-', 'j', 'j', '+', '-', 'j', '+', '-', 'j', '+',
                               '-', 'j', '+', '-', 'k', 'k', 'k', 'k', 'k', 'k', 'k', 'k', 'k',
                               'k', 'k', 'k', 'k', 'k', 'k', 'k', 's', '1', '?', 'x'};
    const int nkeys_cycle = (int)(sizeof keys / sizeof keys[0]);
    int n = argc > 1 ? atoi(argv[1]) : 5000;
    int cols = 160;
    int rows = 50;
    cli_setup *setup = malloc(sizeof *setup);
    tui_state *st = malloc(sizeof *st);
    double *lat = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
    tui_canvas *c;
    char *text;
    size_t text_cap;
    est_diag d = {{0}, NULL, 0};
    double sum = 0;
    char *args[] = {"tui",
                    "--model",
                    "llama-3.1-405b",
                    "--gpu",
                    "h100-sxm",
                    "--gpus",
                    "16384",
                    "--tp",
                    "8",
                    "--pp",
                    "16",
                    "--decoder-first-pipeline-num-layers",
                    "7",
                    "--decoder-last-pipeline-num-layers",
                    "7",
                    "--gbs",
                    "2048",
                    "--seq",
                    "8192",
                    "--sp"};
    int nargs = (int)(sizeof args / sizeof args[0]);
    if (argc > 2 && sscanf(argv[2], "%dx%d", &cols, &rows) != 2) {
        fprintf(stderr, "usage: bench_tui [keys] [COLSxROWS]\n");
        return 2;
    }
    if (n < 1 || setup == NULL || st == NULL || lat == NULL) {
        fprintf(stderr, "bench_tui: bad key count or out of memory\n");
        return 2;
    }
    cli_setup_init(setup);
    for (int i = 1; i < nargs; i++) {
        if (cli_config_flag(setup, nargs, args, &i, &d) != 1) {
            fprintf(stderr, "bench_tui: %s: %s\n", args[i], d.msg);
            return 2;
        }
    }
    if (cli_setup_finish(setup, false, &d) != EST_OK) {
        fprintf(stderr, "bench_tui: %s\n", d.msg);
        return 2;
    }
    tui_state_init(st, setup);
    if (!st->ok) {
        fprintf(stderr, "bench_tui: the 405B configuration does not resolve: %s\n", st->error);
        return 2;
    }
    c = tui_canvas_alloc(rows, cols);
    text_cap = (size_t)rows * ((size_t)cols * 4 + 1) + 1;
    text = malloc(text_cap);
    for (int i = 0; i < n; i++) {
        tui_layout l;
        int key = keys[i % nkeys_cycle];
        double t0 = now_s();
        int act = tui_state_apply_key(st, key);
        (void)act; /* TUI_ACT_SEARCH: the program starts a thread; its cost is measured below */
        tui_layout_compute(rows, cols, st->page, &l);
        tui_frame_render(st, &l, c);
        tui_canvas_to_text(c, text, text_cap);
        lat[i] = now_s() - t0;
        sum += lat[i];
    }
    qsort(lat, (size_t)n, sizeof lat[0], cmp_double);
    printf("bench_tui: llama-3.1-405b, 16384 x h100-sxm, TP 8 PP 16, %dx%d frame, %d keys\n", cols,
           rows, n);
    printf("  key -> estimate -> layout -> frame: mean %.1f us  p50 %.1f us  p99 %.1f us  "
           "max %.1f us  (target 50000 us: %s)\n",
           1e6 * sum / n, 1e6 * lat[n / 2], 1e6 * lat[(int)(0.99 * (n - 1))], 1e6 * lat[n - 1],
           lat[n - 1] < 0.05 ? "met" : "MISSED");
    {
        /* a profile row change reloads JSON files: time one model/GPU switch */
        double t0 = now_s();
        tui_state_reload(st);
        printf("  profile reload (model + GPU JSON) and estimate: %.1f us\n", 1e6 * (now_s() - t0));
    }
    {
        tui_search *s = malloc(sizeof *s);
        double t0;
        if (s == NULL) {
            return 2;
        }
        tui_search_prepare(s, &st->cfg, &st->setup.coeffs);
        t0 = now_s();
        tui_search_run(s);
        printf("  search (worker thread in the program): %.3f s, %llu candidates, %llu valid, "
               "%llu fit\n",
               now_s() - t0, (unsigned long long)s->stats.evaluated,
               (unsigned long long)s->stats.valid, (unsigned long long)s->stats.fitting);
        free(s);
    }
    free(text);
    tui_canvas_free(c);
    free(lat);
    free(st);
    free(setup);
    return 0;
}
