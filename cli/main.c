/* main.c -- `llmcal`: dispatches to the subcommands (estimate, search, plan, list, run, calibrate,
 * validate, tui — whichever this build has). Only main.c files print and exit.
 */
#include <stdio.h>
#include <string.h>

#include "opts.h" // provides: CLI_EXIT_* codes, the cmd_* declarations

typedef struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
} command;

static const command commands[] = {
#define LLMCAL_COMMAND(name) {#name, cmd_##name},
#include "commands.inc"
#undef LLMCAL_COMMAND
};

static void usage(FILE *f)
{
    fprintf(f, "usage: llmcal <command> [flags]   (llmcal <command> --help for its flags)\n\n"
               "commands in this build:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        fprintf(f, "  %s\n", commands[i].name);
    }
    fprintf(f, "\nexample: llmcal estimate --model llama-3-70b --gpu h100-sxm --gpus 64 --tp 8 "
               "--pp 2 --sp --mbs 1 --gbs 512 --seq 8192\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("llmcal 0.1.0\n");
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name) == 0) {
            return commands[i].fn(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "llmcal: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return CLI_EXIT_USAGE;
}
