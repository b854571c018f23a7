#!/usr/bin/env bash
# Runs the CPU benchmarks behind the README's figures (one core, Release build):
# full estimates per second, the search on the issue's two spaces, the dashboard's key latency.
# GPU kernels (bench_rt_kernels) run on the device: see docs/gpu-campaign.md.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF -DLLMCAL_WITH_CUDA=OFF >/dev/null
cmake --build build-bench -j"$(nproc)" --target bench_estimate bench_search >/dev/null
cmake --build build-bench -j"$(nproc)" --target bench_tui >/dev/null 2>&1 || true
lscpu | grep -m1 "Model name" || true
taskset -c 0 ./build-bench/bench/bench_estimate llama-3-70b h100-sxm 2
taskset -c 0 ./build-bench/bench/bench_estimate llama-3-70b h100-sxm 2 memory
taskset -c 0 ./build-bench/bench/bench_search
if [ -x ./build-bench/bench/bench_tui ]; then
    taskset -c 0 ./build-bench/bench/bench_tui
fi
