/* opts.h -- the command line shared by `llmcal estimate`, `search`, `tui` and `validate`:
 * Megatron's flag vocabulary turned into a resolved est_config, and the report writers (text and
 * the JSON contract of ARCHITECTURE.md).
 *
 * Not here: subcommand-specific flags (each cmd_*.c handles its own, calling cli_config_flag() for
 * the shared ones first).
 */
#ifndef LLMCAL_CLI_OPTS_H
#define LLMCAL_CLI_OPTS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "est/compute.h"
#include "est/config.h"
#include "est/memory.h"
#include "est/status.h"
#include "est/steptime.h"

/* Every subcommand of this build, `int cmd_<name>(int argc, char **argv)` with argv[0] the
 * subcommand's name; the list is generated from the cli/cmd_*.c files present. */
#define LLMCAL_COMMAND(name) int cmd_##name(int argc, char **argv);
#include "commands.inc"
#undef LLMCAL_COMMAND

/* Exit codes of the command. */
enum { CLI_EXIT_OK = 0, CLI_EXIT_FAIL = 1, CLI_EXIT_USAGE = 2 };

/* Everything parsed from the shared flags. The config's pointers point into this struct, so keep
 * it in place (do not copy it) after cli_setup_finish(). */
typedef struct cli_setup {
    est_model model;
    est_gpu gpu;
    est_cluster cluster;
    est_config cfg;
    char model_arg[512];       /* --model as given */
    char gpu_arg[512];         /* --gpu as given ("" = from the cluster, else h100-sxm) */
    char cluster_arg[512];     /* --cluster as given ("" = default cluster of the GPU) */
    char calibration_arg[512]; /* --calibration NAME|FILE ("" = the profiles' defaults) */
    est_coeffs coeffs;    /* time-model coefficients: from the calibration, else the profiles */
    bool calibrated;      /* coeffs came from a calibrated profile */
    est_rank_order order; /* --order: rank order of the parallel groups */
    bool tp_comm_overlap; /* --tp-comm-overlap (TE userbuffers) */
    bool json;            /* --json */
    bool model_given;     /* --model was on the command line */
    bool gpus_given;      /* --gpus was on the command line */
    bool gbs_given;       /* --gbs was on the command line */
    uint64_t given;       /* bit i: the i-th shared flag was on the command line */
} cli_setup;

/* Defaults: model llama-3-70b, gpu h100-sxm, 64 GPUs, est_parallel_default(). */
void cli_setup_init(cli_setup *s);

/* Tries argv[*i] as a shared flag. Returns 1 if it was one (advancing *i past its value), 0 if it
 * is not a shared flag (caller handles it), -1 on a bad value (diag names the flag and why). */
int cli_config_flag(cli_setup *s, int argc, char **argv, int *i, est_diag *diag);

/* What cli_shared_arg() did with one argument. */
typedef enum cli_arg { CLI_ARG_OWN = 0, CLI_ARG_TAKEN, CLI_ARG_EXIT } cli_arg;

/* The common part of every subcommand's argument loop: --help/-h prints `usage` to stdout,
 * a shared flag is parsed (advancing *i past its value). Returns CLI_ARG_TAKEN (continue),
 * CLI_ARG_OWN (argv[*i] is the subcommand's own flag) or CLI_ARG_EXIT with *exit_code set
 * (0 after --help, CLI_EXIT_USAGE after a bad value, reported as "llmcal <cmd>: ..."). */
cli_arg cli_shared_arg(cli_setup *s, int argc, char **argv, int *i, const char *cmd,
                       void (*usage)(FILE *), int *exit_code);

/* Loads the model, GPU and cluster profiles named by the flags (and the calibrated profile of
 * --calibration, which must be for the same GPU; without --gpu its GPU is used), fills s->coeffs
 * and resolves the configuration. With resolve=false only the profiles are loaded (search
 * resolves per candidate). */
est_status cli_setup_finish(cli_setup *s, bool resolve, est_diag *diag);

/* True when the shared flag `name` (either of its spellings) was on the command line. */
bool cli_given(const cli_setup *s, const char *name);

/* Time options for est_step_time_ex(): s->coeffs and the defaults. */
est_time_opts cli_time_opts(const cli_setup *s);

/* Usage text of the shared flags, for --help. */
void cli_config_usage(FILE *f);

/* Parses an integer flag value: whole string, within [min, max]. Returns -1 with diag naming the
 * flag on failure, else 0. */
int cli_parse_i64(const char *flag, const char *v, long long min, long long max, long long *out,
                  est_diag *diag);
int cli_parse_f64(const char *flag, const char *v, double min, double max, double *out,
                  est_diag *diag);

/* The JSON contract object of one estimate: {"config", "memory_bytes", "worst_rank", "stages",
 * "capacity_bytes", "fits", "time_s", "tokens_per_s", "tflops_per_gpu", "mfu", "hfu", "notes"}.
 * `t` may be NULL (no time model): the time keys are then null. Returns a new reference. */
json_t *cli_estimate_json(const est_config *cfg, const est_memory_report *m,
                          const est_time_report *t);

/* The aligned human table of one estimate (GiB), to f. `t` may be NULL. */
void cli_estimate_print(FILE *f, const est_config *cfg, const est_memory_report *m,
                        const est_time_report *t);

/* A one-line error: "llmcal <cmd>: <msg>" to stderr. */
void cli_error(const char *cmd, const est_diag *diag, est_status s);

#endif /* LLMCAL_CLI_OPTS_H */
