/* main.c -- `llmcal tui`: option parsing, the event loop (keys -> state -> frame), the search
 * advanced in slices between keys, and the non-interactive --snapshot.
 *
 * The loop: read a key (blocking, or polling while a search runs) -> tui_state_apply_key() ->
 * reload/search actions -> tui_layout_compute() -> tui_frame_render() into a canvas ->
 * tui_draw_canvas() (one doupdate()). Not here: numbers (the estimator), drawing details (view.c).
 */
#include "tui/app.h"

#include <locale.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "opts.h"       // provides: cli_setup, cli_config_flag, cli_setup_finish, cli_error
#include "draw.h"       // provides: tui_draw_* (curses)
#include "tui/format.h" // provides: tui_parse_count
#include "tui/layout.h" // provides: tui_layout_compute
#include "tui/state.h"  // provides: tui_state, tui_state_apply_key
#include "tui/view.h"   // provides: tui_frame_render

#define POLL_MS 100 /* redraw interval while a search runs */

/* A search on a worker thread: the worker writes only job->s; the loop copies it into the state
 * once `finished` is set. */
typedef struct search_job {
    pthread_t thread;
    atomic_int finished; /* set by the worker when tui_search_run returned */
    bool active;         /* a thread was started and not joined yet */
    bool cancelled;      /* Esc: discard its results */
    double t0;           /* start, monotonic seconds */
    tui_search s;        /* the worker's search */
} search_job;

typedef struct tui_opts {
    bool ascii;
    bool mono;
    bool snapshot;
    int rows; /* --size; 0 = terminal or $LINES/$COLUMNS or 40 */
    int cols;
    tui_page page;
    const char *results; /* validate results file */
    double tokens;       /* NAN-free: 0 = default */
    double usd;          /* < 0 = none */
} tui_opts;

static void usage(FILE *f)
{
    fprintf(f, "usage: llmcal tui [estimate flags: the starting state] [options]\n"
               "  --ascii              ASCII bars and glyphs (no UTF-8)\n"
               "  --mono               no colours (bars use one letter per component)\n"
               "  --snapshot           print one frame as text and exit (no terminal needed)\n"
               "  --size COLSxROWS     frame size for --snapshot (default $COLUMNS x $LINES, "
               "else 120x40)\n"
               "  --page main|search|calib  page to show first (search: runs it)\n"
               "  --results FILE       llmcal validate results (default llmcal-validate.json)\n"
               "  --tokens N           token budget for the days/cost line (e.g. 15T)\n"
               "  --usd-per-gpu-hour X price of one GPU-hour for the cost line\n");
    cli_config_usage(f);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int parse_opts(int argc, char **argv, cli_setup *setup, tui_opts *o)
{
    est_diag d = {{0}, NULL, 0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r = cli_config_flag(setup, argc, argv, &i, &d);
        if (r < 0) {
            cli_error("tui", &d, EST_EINVAL);
            return CLI_EXIT_USAGE;
        }
        if (r > 0) {
            continue;
        }
        if (strcmp(a, "--ascii") == 0) {
            o->ascii = true;
        } else if (strcmp(a, "--mono") == 0 || strcmp(a, "--no-color") == 0) {
            o->mono = true;
        } else if (strcmp(a, "--snapshot") == 0) {
            o->snapshot = true;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return -1;
        } else if (i + 1 >= argc && (strcmp(a, "--size") == 0 || strcmp(a, "--page") == 0 ||
                                     strcmp(a, "--results") == 0 || strcmp(a, "--tokens") == 0 ||
                                     strcmp(a, "--usd-per-gpu-hour") == 0)) {
            fprintf(stderr, "llmcal tui: %s: missing value\n", a);
            return CLI_EXIT_USAGE;
        } else if (strcmp(a, "--size") == 0) {
            char x = 0;
            char extra = 0;
            if (sscanf(argv[++i], "%d%c%d%c", &o->cols, &x, &o->rows, &extra) != 3 || x != 'x' ||
                o->cols < 1 || o->rows < 1 || o->cols > 1000 || o->rows > 1000) {
                fprintf(stderr, "llmcal tui: --size: '%s' is not COLSxROWS (1..1000 each)\n",
                        argv[i]);
                return CLI_EXIT_USAGE;
            }
        } else if (strcmp(a, "--page") == 0) {
            const char *p = argv[++i];
            if (strcmp(p, "main") == 0) {
                o->page = TUI_PAGE_MAIN;
            } else if (strcmp(p, "search") == 0) {
                o->page = TUI_PAGE_SEARCH;
            } else if (strcmp(p, "calib") == 0) {
                o->page = TUI_PAGE_CALIB;
            } else {
                fprintf(stderr, "llmcal tui: --page: unknown '%s' (main, search or calib)\n", p);
                return CLI_EXIT_USAGE;
            }
        } else if (strcmp(a, "--results") == 0) {
            o->results = argv[++i];
        } else if (strcmp(a, "--tokens") == 0) {
            if (tui_parse_count(argv[++i], &o->tokens) != 0 || o->tokens <= 0) {
                fprintf(stderr, "llmcal tui: --tokens: '%s' is not a positive count (e.g. 15T)\n",
                        argv[i]);
                return CLI_EXIT_USAGE;
            }
        } else if (strcmp(a, "--usd-per-gpu-hour") == 0) {
            if (tui_parse_count(argv[++i], &o->usd) != 0) {
                fprintf(stderr, "llmcal tui: --usd-per-gpu-hour: '%s' is not a price\n", argv[i]);
                return CLI_EXIT_USAGE;
            }
        } else {
            fprintf(stderr, "llmcal tui: unknown option '%s' (see llmcal tui --help)\n", a);
            return CLI_EXIT_USAGE;
        }
    }
    return 0;
}

static const est_config *search_base(const tui_state *st)
{
    return st->ok ? &st->cfg : &st->setup.cfg;
}

static void search_finished(tui_state *st)
{
    char m[300];
    if (st->search.n_hits > 0) {
        snprintf(m, sizeof m,
                 "search done in %.2f s: %llu candidates, %llu valid, %llu fit; Enter "
                 "loads the selected result",
                 st->search.elapsed_s, (unsigned long long)st->search.stats.evaluated,
                 (unsigned long long)st->search.stats.valid,
                 (unsigned long long)st->search.stats.fitting);
        tui_state_message(st, TUI_MSG_INFO, m);
    } else {
        snprintf(m, sizeof m, "search: nothing fits: %s", st->search.error);
        tui_state_message(st, TUI_MSG_ERROR, m);
    }
}

static void *search_worker(void *arg)
{
    search_job *job = arg;
    tui_search_run(&job->s);
    atomic_store(&job->finished, 1);
    return NULL;
}

static void search_start(tui_state *st, search_job *job)
{
    if (job->active) {
        tui_state_message(st, TUI_MSG_WARN,
                          job->cancelled ? "the stopped search is still finishing; press s "
                                           "again in a moment"
                                         : "a search is already running");
        return;
    }
    tui_search_prepare(&job->s, search_base(st), &st->setup.coeffs);
    tui_search_prepare(&st->search, search_base(st), &st->setup.coeffs);
    atomic_store(&job->finished, 0);
    job->cancelled = false;
    job->t0 = now_s();
    if (pthread_create(&job->thread, NULL, search_worker, job) != 0) {
        tui_state_message(st, TUI_MSG_ERROR, "search: cannot start a thread");
        return;
    }
    job->active = true;
    st->search.running = true;
    st->search_sel = 0;
}

/* Called every loop turn: updates the elapsed time; takes the results once the worker is done. */
static void search_poll(tui_state *st, search_job *job)
{
    double elapsed;
    if (!job->active) {
        return;
    }
    elapsed = now_s() - job->t0;
    if (!atomic_load(&job->finished)) {
        if (!job->cancelled) {
            st->search.elapsed_s = elapsed;
        }
        return;
    }
    pthread_join(job->thread, NULL);
    job->active = false;
    if (job->cancelled) {
        return;
    }
    st->search = job->s;
    st->search.running = false;
    st->search.elapsed_s = elapsed;
    search_finished(st);
}

static int snapshot(tui_state *st, const tui_opts *o)
{
    tui_layout l;
    tui_canvas *c;
    char *text;
    size_t need;
    int rows = o->rows;
    int cols = o->cols;
    if (rows == 0) {
        const char *lr = getenv("LINES");
        const char *lc = getenv("COLUMNS");
        rows = lr != NULL && atoi(lr) > 0 ? atoi(lr) : 40;
        cols = lc != NULL && atoi(lc) > 0 ? atoi(lc) : 120;
    }
    if (st->page == TUI_PAGE_SEARCH) {
        double t0 = now_s();
        tui_search_prepare(&st->search, search_base(st), &st->setup.coeffs);
        tui_search_run(&st->search);
        st->search.elapsed_s = now_s() - t0;
        search_finished(st);
    }
    tui_layout_compute(rows, cols, st->page, &l);
    c = tui_canvas_alloc(rows, cols);
    if (c == NULL) {
        fprintf(stderr, "llmcal tui: out of memory\n");
        return CLI_EXIT_FAIL;
    }
    tui_frame_render(st, &l, c);
    need = tui_canvas_to_text(c, NULL, 0) + 1;
    text = malloc(need);
    if (text == NULL) {
        tui_canvas_free(c);
        fprintf(stderr, "llmcal tui: out of memory\n");
        return CLI_EXIT_FAIL;
    }
    tui_canvas_to_text(c, text, need);
    fputs(text, stdout);
    free(text);
    tui_canvas_free(c);
    return CLI_EXIT_OK;
}

static int loop(tui_state *st)
{
    tui_canvas *c = NULL;
    search_job *job;
    int rows = 0;
    int cols = 0;
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        fprintf(stderr, "llmcal tui: needs a terminal (use --snapshot for a text frame)\n");
        return CLI_EXIT_USAGE;
    }
    job = calloc(1, sizeof *job);
    if (job == NULL) {
        fprintf(stderr, "llmcal tui: out of memory\n");
        return CLI_EXIT_FAIL;
    }
    if (!tui_draw_begin(&st->color)) {
        free(job);
        fprintf(stderr, "llmcal tui: cannot open the terminal\n");
        return CLI_EXIT_USAGE;
    }
    if (st->page == TUI_PAGE_SEARCH) {
        search_start(st, job);
    }
    for (;;) {
        tui_layout l;
        int key;
        int act;
        search_poll(st, job);
        tui_draw_size(&rows, &cols);
        if (c == NULL || c->rows != rows || c->cols != cols) {
            tui_canvas_free(c);
            c = tui_canvas_alloc(rows < 1 ? 1 : rows, cols < 1 ? 1 : cols);
            if (c == NULL) {
                break;
            }
        }
        tui_layout_compute(rows, cols, st->page, &l);
        tui_frame_render(st, &l, c);
        tui_draw_canvas(c, st->color);
        key = tui_draw_key(job->active ? POLL_MS : -1);
        if (key <= 0) {
            continue; /* a resize, or the poll interval: redraw */
        }
        act = tui_state_apply_key(st, key);
        if (act & TUI_ACT_QUIT) {
            break;
        }
        if (act & TUI_ACT_RELOAD) {
            tui_state_reload(st);
        }
        if (act & TUI_ACT_SEARCH) {
            search_start(st, job);
        }
        if ((act & TUI_ACT_CANCEL) && job->active) {
            job->cancelled = true;
            st->search.running = false;
            st->search.prepared = false;
            tui_state_message(st, TUI_MSG_INFO, "search stopped; its results are discarded");
        }
    }
    tui_canvas_free(c);
    tui_draw_end();
    if (job->active) {
        pthread_join(job->thread, NULL); /* the search cannot be interrupted; wait for it */
    }
    free(job);
    return CLI_EXIT_OK;
}

int tui_main(int argc, char **argv)
{
    cli_setup *setup = malloc(sizeof *setup);
    tui_state *st = malloc(sizeof *st);
    tui_opts o;
    est_diag d = {{0}, NULL, 0};
    est_status s;
    int rc;
    memset(&o, 0, sizeof o);
    o.usd = -1;
    setlocale(LC_ALL, "");
    if (setup == NULL || st == NULL) {
        free(setup);
        free(st);
        fprintf(stderr, "llmcal tui: out of memory\n");
        return CLI_EXIT_FAIL;
    }
    cli_setup_init(setup);
    rc = parse_opts(argc, argv, setup, &o);
    if (rc != 0) {
        free(setup);
        free(st);
        return rc < 0 ? CLI_EXIT_OK : rc;
    }
    s = cli_setup_finish(setup, false, &d);
    if (s != EST_OK) {
        cli_error("tui", &d, s);
        free(setup);
        free(st);
        return CLI_EXIT_USAGE;
    }
    tui_state_init(st, setup);
    free(setup);
    st->ascii = o.ascii;
    st->color = !o.mono && !o.snapshot;
    st->page = o.page;
    st->focus = o.page == TUI_PAGE_SEARCH
                    ? TUI_FOCUS_SEARCH
                    : (o.page == TUI_PAGE_CALIB ? TUI_FOCUS_CALIB : TUI_FOCUS_CONFIG);
    if (o.tokens > 0) {
        st->token_budget = o.tokens;
    }
    if (o.usd >= 0) {
        st->usd_per_gpu_hour = o.usd;
    }
    tui_state_load_names(st);
    tui_state_load_calib(st, o.results != NULL ? o.results : "llmcal-validate.json");
    if (o.results != NULL && !st->calib.loaded && st->msg_level != TUI_MSG_ERROR) {
        char m[600];
        snprintf(m, sizeof m, "calibration: cannot read %s", o.results);
        tui_state_message(st, TUI_MSG_ERROR, m);
    }
    rc = o.snapshot ? snapshot(st, &o) : loop(st);
    free(st);
    return rc;
}
