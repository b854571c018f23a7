#!/usr/bin/env bash
# scripts/gpu/campaign.sh -- llmcal's GPU campaign (issue 7), ONE command on the device machine:
#
#   run(command="bash scripts/gpu/campaign.sh", carry=["build-gpu/dist"], timeout_s=590)
#
# after `bash scripts/gpu/build.sh` here. Steps, each with its own timeout and log, none able to
# stop the others (a failing step is recorded and the next one runs):
#   a device   nvidia-smi, driver/CUDA/torch versions, the binaries' library resolution
#   b ctest    the gpu-labelled tests (test_rt_cuda, test_rt_attention; rt_multiproc needs 2 GPUs)
#   f memory   PyTorch memory yardstick (torch_memory.py) + compare_memory.py against the estimate
#   c kernels  bench_rt_kernels beside torch.matmul / flash SDPA (bench_kernels.py)
#   d calibrate llmcal calibrate --model llama-3.1-8b --tp 1 (one GPU: no collectives)
#   e validate  llmcal validate, validate_cases.json, one process per case (run_validate.py)
#   g step     GPT-1.3B and Llama-1B steps: llmcal run --backend cuda vs plain PyTorch
# The whole run keeps to CAMPAIGN_BUDGET_S (default 520 s): a step never gets more than what is
# left, and the memory yardstick stops starting configurations when its share is spent.
# CAMPAIGN_STEPS="b e" runs only those steps (letters above; a rerun of what failed).
#
# Results: everything under $CAMPAIGN_WORK (default /tmp/llmcal-campaign), packed after every
# step into $OUT/results.tar.gz; beside it in $OUT (the device tool returns at most 8 files):
# device.txt, summary.md, torch_memory.jsonl, kernels.json, validate.json, step.json.
# Here (no GPU) the same command runs too: every GPU step fails or skips fast, which checks the
# plumbing (tests/gpuprep.cmake does).
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
OUT=${OUT:-$root/build-gpu/out}
W=${CAMPAIGN_WORK:-/tmp/llmcal-campaign}
DIST=${LLMCAL_DIST:-$root/build-gpu/dist}
BUDGET=${CAMPAIGN_BUDGET_S:-520}
STEPS=${CAMPAIGN_STEPS:-a b f c d e g}
PY=${PYTHON:-python3}
START=$(date +%s)
mkdir -p "$OUT"
rm -rf "$W"
mkdir -p "$W/logs" "$W/bin"
export LLMCAL_PROFILE_DIR="$root/profiles" PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
SUMMARY="$W/summary.md"
{
    echo "# llmcal GPU campaign"
    echo
    echo "started $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -n), budget ${BUDGET} s"
    echo
    echo "| step | status | seconds | log |"
    echo "|---|---|---:|---|"
} >"$SUMMARY"

# ---------------------------------------------------------------------------------------------
# the carried binaries: their libraries (jansson, GSL carried; CUDA and NCCL from the machine),
# wrapped so that only llmcal's programs see LD_LIBRARY_PATH (PyTorch keeps its own CUDA libs)

have_dist=0
[[ -x "$DIST/bin/llmcal" ]] && have_dist=1
resolve_libs() {
    local dirs=("$DIST/lib") cands=() d so sp bin
    for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib \
        /usr/local/cuda-13*/lib64 /usr/lib/x86_64-linux-gnu /usr/local/lib /usr/local/nvidia/lib64; do
        [[ -d "$d" ]] && cands+=("$d")
    done
    sp=$("$PY" -c 'import site; print(" ".join(site.getsitepackages()))' 2>/dev/null)
    for s in $sp; do
        for d in "$s"/nvidia/*/lib "$s"/torch/lib; do [[ -d "$d" ]] && cands+=("$d"); done
    done
    for _ in 1 2; do
        for bin in "$DIST"/bin/*; do
            for so in $(LD_LIBRARY_PATH=$(IFS=:; echo "${dirs[*]}") ldd "$bin" 2>/dev/null |
                awk '/not found/ {print $1}'); do
                for d in "${cands[@]}"; do
                    if [[ -e "$d/$so" ]]; then dirs+=("$d"); break; fi
                done
            done
        done
    done
    LLMCAL_LD=$(IFS=:; echo "${dirs[*]}")
}
if ((have_dist)); then
    resolve_libs
    for b in "$DIST"/bin/*; do
        printf '#!/bin/sh\nLD_LIBRARY_PATH="%s${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" exec "%s" "$@"\n' \
            "$LLMCAL_LD" "$b" >"$W/bin/$(basename "$b")"
        chmod +x "$W/bin/$(basename "$b")"
    done
fi
LLMCAL="$W/bin/llmcal"

# the GPU, as llmcal's profile names it
gpu_name=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n1)
case "${gpu_name,,}" in
*h200*) GPU=h200 ;;
*gh200*) GPU=gh200 ;;
*h100*pcie*) GPU=h100-pcie ;;
*) GPU=h100-sxm ;;
esac
CALNAME="${GPU}-$(date -u +%Y%m%d)"

pack() {
    cp "$SUMMARY" "$OUT/summary.md" 2>/dev/null
    for f in device.txt torch-memory/torch_memory.jsonl kernels.json validate.json step/step.json; do
        [[ -f "$W/$f" ]] && cp "$W/$f" "$OUT/$(basename "$f")"
    done
    tar -czf "$OUT/results.tar.gz.tmp" -C "$(dirname "$W")" "$(basename "$W")" 2>/dev/null &&
        mv "$OUT/results.tar.gz.tmp" "$OUT/results.tar.gz"
}

# step NAME TIMEOUT_S FUNCTION: run FUNCTION under its own timeout, log to logs/NAME.log
step() {
    local name=$1 tmo=$2 fn=$3 left t0 rc st last
    if [[ " $STEPS " != *" ${name%%-*} "* ]]; then
        echo "| $name | not selected (CAMPAIGN_STEPS) | 0 | - |" >>"$SUMMARY"
        return
    fi
    left=$((BUDGET - ($(date +%s) - START)))
    if ((left < 20)); then
        echo "| $name | skipped (budget spent) | 0 | - |" >>"$SUMMARY"
        pack
        return
    fi
    ((tmo > left - 10)) && tmo=$((left - 10))
    STEP_TIMEOUT=$tmo
    export STEP_TIMEOUT
    t0=$(date +%s)
    echo "== $name (timeout ${tmo} s)"
    timeout -k 10 "$tmo" bash -c "$fn" >"$W/logs/$name.log" 2>&1
    rc=$?
    case $rc in
    0) st=ok ;;
    77) st="skipped (77: no device or prerequisite)" ;;
    124 | 137) st="TIMED OUT after ${tmo} s" ;;
    *) st="failed (exit $rc)" ;;
    esac
    last=$(grep -v '^[[:space:]]*$' "$W/logs/$name.log" | tail -n 1 | tr '|' '/' | cut -c1-160)
    echo "| $name | $st | $(($(date +%s) - t0)) | logs/$name.log: $last |" >>"$SUMMARY"
    echo "   $st"
    tail -n 5 "$W/logs/$name.log" | sed 's/^/   | /'
    pack
}

export root W DIST PY GPU CALNAME LLMCAL LLMCAL_LD have_dist START BUDGET

# ---------------------------------------------------------------------------------------------
# the steps (each runs in its own bash, under `timeout`)

s_device='
{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "host: $(uname -n); $(uname -srm)"
    echo "llmcal gpu profile: $GPU (calibrated profile name $CALNAME)"
    echo; nvidia-smi || echo "nvidia-smi: not available"
    echo; nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm,clocks.max.mem,power.limit --format=csv 2>&1
    echo; nvcc --version 2>&1 | tail -n 2
    echo; "$PY" -c "import torch; print(\"torch\", torch.__version__, \"cuda\", torch.version.cuda, \"cudnn\", torch.backends.cudnn.version()); print(torch.cuda.get_device_name(0), torch.cuda.get_device_properties(0))" 2>&1
    echo; echo "nccl: $(ls /usr/lib/x86_64-linux-gnu/libnccl.so.* /usr/local/cuda/lib64/libnccl.so.* 2>/dev/null | tr "\n" " ")"
    echo; ctest --version 2>&1 | head -n 1
    echo; echo "carried build: $DIST"; cat "$DIST/MANIFEST" 2>/dev/null || echo "(none: carry build-gpu/dist)"
    echo; echo "LD_LIBRARY_PATH for llmcal: ${LLMCAL_LD:-}"
    for b in "$DIST"/bin/*; do echo "ldd $b:"; LD_LIBRARY_PATH="${LLMCAL_LD:-}" ldd "$b" 2>&1 | sed "s/^/  /"; done
} >"$W/device.txt" 2>&1
cat "$W/device.txt" | head -n 40
'

s_ctest='
((have_dist)) || { echo "no carried build ($DIST)"; exit 77; }
mkdir -p "$W/ctest"
{
    for t in test_rt_cuda test_rt_attention; do
        echo "add_test($t \"$W/bin/$t\")"
        echo "set_tests_properties($t PROPERTIES LABELS \"gpu\" SKIP_RETURN_CODE \"77\" TIMEOUT \"$((STEP_TIMEOUT * 2 / 3))\")"
    done
} >"$W/ctest/CTestTestfile.cmake"
if command -v ctest >/dev/null; then
    ctest --test-dir "$W/ctest" -L gpu --output-on-failure --output-junit "$W/ctest/junit.xml"
else
    echo "ctest not found: running the gpu tests directly"; rc=0
    for t in test_rt_cuda test_rt_attention; do "$W/bin/$t" || rc=$?; done; exit $rc
fi
'

s_memory='
mkdir -p "$W/torch-memory"
s0=$(date +%s)
rc=1
resume=()
for attempt in 1 2 3; do # a process that died (or hit a sticky CUDA error) is resumed
    share=$((STEP_TIMEOUT - 30 - ($(date +%s) - s0)))
    ((share > 10)) || break
    "$PY" scripts/gpu/torch_memory.py --out "$W/torch-memory" --gpu "$GPU" --time-budget "$share" \
        "${resume[@]}"
    rc=$?
    case $rc in 0 | 2 | 77) break ;; esac
    echo "torch_memory.py exit $rc (attempt $attempt): resuming in a fresh process"
    resume=(--resume)
done
if ((have_dist)); then
    "$PY" scripts/gpu/compare_memory.py "$W/torch-memory/torch_memory.jsonl" --llmcal "$LLMCAL" \
        --json "$W/torch-memory/compare.json" | tee "$W/torch-memory/compare.md"
fi
exit $rc
'

s_kernels='
((have_dist)) || { echo "no carried build: torch only"; }
"$PY" scripts/gpu/bench_kernels.py --bench "$W/bin/bench_rt_kernels" --iters 30 --out "$W/kernels.json"
'

s_calibrate='
((have_dist)) || { echo "no carried build ($DIST)"; exit 77; }
mkdir -p "$W/calibrate"
"$LLMCAL" calibrate --model llama-3.1-8b --tp 1 --mbs 1 --seq 4096 --gpu "$GPU" -n 10 -w 3 \
    --save-samples "$W/calibrate/$CALNAME-samples.tsv" --out "$W/calibrate/$CALNAME.json" \
    --json >"$W/calibrate/fit.json"
rc=$?
cat "$W/calibrate/fit.json" | head -c 3000
if [[ -s "$W/calibrate/$CALNAME-samples.tsv" && $rc -ne 0 ]]; then
    echo "fit failed (exit $rc); the samples are saved: llmcal calibrate --samples them later"
fi
exit $rc
'

s_validate='
((have_dist)) || { echo "no carried build ($DIST)"; exit 77; }
cal=()
[[ -f "$W/calibrate/$CALNAME.json" ]] && cal=(--calibration "$W/calibrate/$CALNAME.json")
"$PY" scripts/gpu/run_validate.py --llmcal "$LLMCAL" --cases scripts/gpu/validate_cases.json \
    "${cal[@]}" --steps 3 --timeout 75 --budget $((STEP_TIMEOUT - 20)) --out "$W/validate.json"
'

s_step='
((have_dist)) || { echo "no carried build ($DIST)"; exit 77; }
mkdir -p "$W/step"
"$PY" scripts/gpu/torch_step.py --llmcal "$LLMCAL" --out "$W/step/step.json" --steps 6 \
    --timeout $((STEP_TIMEOUT / 3))
'

step a-device 30 "$s_device"
step b-ctest 120 "$s_ctest"
step f-memory 210 "$s_memory"
step c-kernels 75 "$s_kernels"
step d-calibrate 90 "$s_calibrate"
step e-validate 150 "$s_validate"
step g-step 90 "$s_step"

echo >>"$SUMMARY"
echo "finished after $(($(date +%s) - START)) s" >>"$SUMMARY"
pack
echo "campaign: $(($(date +%s) - START)) s; results in $OUT (results.tar.gz has everything)"
ls -la "$OUT"
exit 0
