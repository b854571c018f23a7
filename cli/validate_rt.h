/* validate_rt.h -- `llmcal validate`'s runtime path: run one configuration on the CUDA runtime
 * (rt library) and return the measured result as `llmcal run --json` shapes it. Built whenever
 * the rt library is (LLMCAL_HAVE_RT); the CUDA backend inside it only with LLMCAL_WITH_CUDA.
 */
#ifndef LLMCAL_CLI_VALIDATE_RT_H
#define LLMCAL_CLI_VALIDATE_RT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "est/config.h"
#include "est/status.h"

/* Runs `steps` training steps of the resolved `cfg` on the GPUs of this machine: all ranks with
 * real NCCL when cfg->par.gpus GPUs are visible, else the single-GPU shard mode of rank 0 (its
 * communication times are modelled and left out of the comparison); with `cpu`, on the CPU
 * reference backend instead. *measured receives a new reference {"ranks": [{"memory_bytes",
 * "time_s", "time_source"}]}; `mode` (cap bytes) says how it ran. Returns rt_run()'s status, or
 * EST_EUNSUPPORTED ("needs the CUDA runtime") when the CUDA backend is not compiled in or no
 * device is visible. */
est_status validate_run_case(const est_config *cfg, int steps, bool cpu, json_t **measured,
                             char *mode, size_t cap, est_diag *diag);

#endif /* LLMCAL_CLI_VALIDATE_RT_H */
