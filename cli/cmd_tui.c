/* cmd_tui.c -- `llmcal tui`: the ncurses dashboard (tui/). Compiles without curses: when the
 * dashboard was not built (no ncursesw found), the subcommand says so and exits 2.
 */
#include <stdio.h>

#include "opts.h" // provides: the cmd_tui prototype, CLI_EXIT_USAGE

#ifdef LLMCAL_HAVE_TUI
#include "tui/app.h" // provides: tui_main
#endif

int cmd_tui(int argc, char **argv)
{
#ifdef LLMCAL_HAVE_TUI
    return tui_main(argc, argv);
#else
    (void)argc;
    (void)argv;
    fprintf(stderr, "llmcal tui: this llmcal was built without ncurses (install libncurses-dev "
                    "and reconfigure)\n");
    return CLI_EXIT_USAGE;
#endif
}
