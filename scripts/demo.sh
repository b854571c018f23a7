#!/usr/bin/env bash
# README command 1: install what is missing, build, and run the main job on the built-in example:
# Llama-3-70B on 64 H100s (8 DGX nodes), TP 8 with sequence parallelism, PP 2, Megatron semantics
# with the distributed optimizer and selective recompute.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target llmcal >/dev/null
./build/cli/llmcal estimate --model llama-3-70b --gpu h100-sxm --gpus 64 \
    --tp 8 --sp --pp 2 --use-distributed-optimizer --mbs 1 --gbs 512 --seq 8192 \
    --recompute selective "$@"
