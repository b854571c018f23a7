/* state.h -- the dashboard's state (plain data) and the key handler (pure).
 *
 * tui_state holds the configuration as the user set it (a cli_setup: profiles + est_parallel, with
 * gbs 0 meaning "mbs x dp"), its latest estimate (resolved config, memory and time reports), the
 * UI position (page, focus, selected row, the value being typed) and the search and calibration
 * data. tui_state_apply_key() turns one key into a state change and re-estimates when the
 * configuration changed; it does no I/O. A change of model/GPU/cluster needs profile files: the
 * handler returns TUI_ACT_RELOAD and the caller runs tui_state_reload() (session.c).
 *
 * A tui_state is large (~300 KiB) and must stay in place after tui_state_init() (the resolved
 * config points into it): allocate it, do not copy it.
 */
#ifndef LLMCAL_TUI_STATE_H
#define LLMCAL_TUI_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "opts.h"

#include "tui/calib.h"
#include "tui/engine.h"
#include "tui/layout.h"

/* Rows of the configuration panel, top to bottom. */
typedef enum tui_field {
    TUI_F_MODEL = 0,
    TUI_F_GPU,
    TUI_F_CLUSTER,
    TUI_F_GPUS,
    TUI_F_TP,
    TUI_F_SP,
    TUI_F_PP,
    TUI_F_VPP,
    TUI_F_CP,
    TUI_F_EP,
    TUI_F_DP,
    TUI_F_ZERO,
    TUI_F_FSDP,
    TUI_F_MBS,
    TUI_F_GBS,
    TUI_F_SEQ,
    TUI_F_RECOMPUTE,
    TUI_F_PRECISION,
    TUI_F_FRAMEWORK,
    TUI_F_ATTENTION,
    TUI_F_TOKENS,
    TUI_F_COST,
    TUI_F_COUNT
} tui_field;

/* Keys: printable characters are their Unicode code points; special keys are above Unicode. */
enum {
    TUI_KEY_UP = 0x110001,
    TUI_KEY_DOWN,
    TUI_KEY_LEFT,
    TUI_KEY_RIGHT,
    TUI_KEY_ENTER,
    TUI_KEY_ESC,
    TUI_KEY_BACKSPACE,
    TUI_KEY_TAB,
    TUI_KEY_BTAB,
    TUI_KEY_PGUP,
    TUI_KEY_PGDN,
    TUI_KEY_HOME,
    TUI_KEY_END,
    TUI_KEY_F1
};

/* What the caller must do after a key (bits). */
enum {
    TUI_ACT_NONE = 0,
    TUI_ACT_QUIT = 1 << 0,   /* leave the program */
    TUI_ACT_RELOAD = 1 << 1, /* profile names changed: call tui_state_reload() */
    TUI_ACT_SEARCH = 1 << 2, /* start the search (tui_search_begin on the current config) */
    TUI_ACT_CANCEL = 1 << 3  /* stop a running search */
};

typedef enum tui_focus { TUI_FOCUS_CONFIG = 0, TUI_FOCUS_SEARCH, TUI_FOCUS_CALIB } tui_focus;
typedef enum tui_msg_level { TUI_MSG_INFO = 0, TUI_MSG_WARN, TUI_MSG_ERROR } tui_msg_level;

#define TUI_MAX_NAMES 128

typedef struct tui_names {
    char name[TUI_MAX_NAMES][LLMCAL_NAME_MAX]; /* built-in profile names, sorted */
    int n;                                     /* names used */
} tui_names;

typedef struct tui_state {
    cli_setup setup;         /* profiles + configuration as set (gbs 0 = derived); in place */
    est_config cfg;          /* the resolved configuration of the latest good estimate */
    est_memory_report mem;   /* its memory report (valid when ok) */
    est_time_report time;    /* its time report (valid when ok && time_ok) */
    bool ok;                 /* setup resolved and its memory was estimated */
    bool time_ok;            /* the time model answered */
    char error[256];         /* why not ok, in words */
    char time_error[256];    /* why not time_ok */
    est_parallel last_good;  /* the last configuration that resolved ('r' goes back to it) */
    double token_budget;     /* tokens for the days/cost line */
    double usd_per_gpu_hour; /* price of one GPU-hour; NAN = no cost shown */
    /* user interface */
    tui_page page;           /* right-hand page */
    tui_focus focus;         /* panel that takes arrows */
    int field;               /* selected configuration row (tui_field) */
    bool editing;            /* a value is being typed into edit[] */
    char edit[128];          /* the typed text (UTF-8) */
    bool help;               /* help overlay shown */
    bool ascii;              /* ASCII bars and glyphs instead of UTF-8 */
    bool color;              /* colours (false: monochrome, per-component letters in bars) */
    tui_msg_level msg_level; /* severity of msg */
    char msg[256];           /* status line text */
    tui_names models;        /* built-in names the model row cycles through */
    tui_names gpus;          /* built-in GPU names */
    tui_names clusters;      /* built-in cluster names ("" = the GPU's default is first) */
    char prev_arg[3][512];   /* model/gpu/cluster args before a reload (restored if it fails) */
    /* search */
    tui_search search; /* the latest search */
    int search_sel;    /* selected result row */
    /* calibration */
    tui_calib calib; /* predicted vs measured, from a validate results file */
    int calib_top;   /* first calibration row shown */
} tui_state;

/* Initialises *st around a finished cli_setup (profiles loaded by cli_setup_finish(.., false, ..)):
 * copies it into st->setup, sets the UI defaults (page main, focus config, colour, UTF-8, token
 * budget 1e12, no cost) and estimates. The name lists start empty (tui_state_load_names fills
 * them). Pure. */
void tui_state_init(tui_state *st, const cli_setup *setup);

/* Re-estimates setup's configuration (after any edit). Sets ok/error, time_ok/time_error, the
 * reports, last_good and the status line. Pure. */
void tui_state_recompute(tui_state *st);

/* Applies one key (a Unicode code point or a TUI_KEY_*) to the state and returns TUI_ACT_* bits.
 * Invalid values are kept in the editor and explained in the status line (msg, level error); the
 * panels then show why instead of numbers. Pure: no I/O, no terminal. */
int tui_state_apply_key(tui_state *st, int key);

/* Text of a configuration row's value as the panel shows it ("8", "bf16-mixed", "auto (64)"). */
void tui_field_value(const tui_state *st, tui_field f, char *buf, size_t cap);

/* Label of a configuration row ("TP", "micro-batch"). Static string. */
const char *tui_field_label(tui_field f);

/* Whether a row is derived (shown, not editable): DP. */
bool tui_field_derived(tui_field f);

/* Sets the status line. */
void tui_state_message(tui_state *st, tui_msg_level level, const char *text);

// ---------------------------------------------------------------------------
// session.c: the parts that read files (profiles, results) -- not pure

/* Reloads the profiles named in st->setup after a model/GPU/cluster change and re-estimates. On a
 * bad name the previous names are restored and the error is shown in the status line. */
void tui_state_reload(tui_state *st);

/* Fills the model/GPU/cluster name lists from the built-in profiles (prof_list). */
void tui_state_load_names(tui_state *st);

/* Reads a validate results file into st->calib; a missing file is not an error (the panel says
 * where it looked), a malformed one is shown in the status line. */
void tui_state_load_calib(tui_state *st, const char *path);

#endif /* LLMCAL_TUI_STATE_H */
