/* app.h -- entry point of `llmcal tui` (the ncurses dashboard). Declared without curses types so
 * that cli/cmd_tui.c can call it when the dashboard is built (LLMCAL_HAVE_TUI).
 */
#ifndef LLMCAL_TUI_APP_H
#define LLMCAL_TUI_APP_H

/* Runs the dashboard. argv[0] is the subcommand name ("tui"); the remaining arguments are the
 * shared estimate flags (the starting state) and the dashboard's own (--ascii, --mono,
 * --snapshot, --size COLSxROWS, --page main|search|calib, --results FILE, --tokens N,
 * --usd-per-gpu-hour X). Returns the process exit code: 0 ok, 2 bad input or no terminal. */
int tui_main(int argc, char **argv);

#endif /* LLMCAL_TUI_APP_H */
