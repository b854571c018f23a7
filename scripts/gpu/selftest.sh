#!/usr/bin/env bash
# scripts/gpu/selftest.sh -- checks of the GPU campaign's scripts that need no GPU and no PyTorch
# (run by ctest, tests/gpuprep.cmake). Usage: selftest.sh TEST LLMCAL
#   compile   every scripts/gpu/*.py byte-compiles, every *.sh parses (bash -n)
#   memory    torch_memory.py --dry-run never imports torch (a poisoned `torch` module is first
#             on the path), emits >= 30 configurations, and `llmcal estimate` accepts every one
#             (the model JSONs it writes, the flags) -- compare_memory.py --require-all
#   cases     validate_cases.json: >= 8 cases, each accepted by `llmcal estimate`, fitting an
#             80 GB H100, and accepted by the runtime (run_validate.py --check)
#   campaign  campaign.sh end to end without a GPU: every step runs and fails or skips on its
#             own, the summary lists all 7 steps, at most 8 files land in $OUT (the device tool's
#             limit), results.tar.gz holds every step's log
# Exit 0 pass, 1 fail, 77 skip (no python3).
set -u
here=$(cd "$(dirname "$0")" && pwd)
test=${1:?test name}
llmcal=${2:?llmcal path}
command -v python3 >/dev/null || { echo "python3 not found: skipped"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; echo "0 passed, 1 failed"; exit 1; }

case $test in
compile)
    for f in "$here"/*.py; do
        python3 -c "import py_compile, sys; py_compile.compile(sys.argv[1], cfile=sys.argv[2], doraise=True)" \
            "$f" "$tmp/x.pyc" || fail "$f does not compile"
    done
    for f in "$here"/*.sh; do bash -n "$f" || fail "$f does not parse"; done
    ;;
memory)
    mkdir -p "$tmp/poison/torch"
    echo 'raise ImportError("torch_memory.py --dry-run must not import torch")' \
        >"$tmp/poison/torch/__init__.py"
    PYTHONPATH="$tmp/poison" python3 "$here/torch_memory.py" --dry-run --out "$tmp/m" ||
        fail "torch_memory.py --dry-run failed"
    n=$(grep -c '"status": "dry-run"' "$tmp/m/torch_memory.jsonl")
    ((n >= 30)) || fail "$n configurations, fewer than 30"
    python3 "$here/compare_memory.py" "$tmp/m/torch_memory.jsonl" --llmcal "$llmcal" \
        --require-all --min-configs 30 --json "$tmp/c.json" >"$tmp/c.md" ||
        { cat "$tmp/c.md"; fail "llmcal estimate refused a configuration"; }
    # every model JSON it wrote is a valid llmcal model profile on its own
    for m in "$tmp"/m/models/*.json; do
        "$llmcal" estimate --model "$m" --framework pytorch --gpus 1 >/dev/null 2>"$tmp/err" ||
            [[ $? -eq 1 ]] || fail "$m: $(cat "$tmp/err")"
    done
    # the flags describe the configuration (spot check of one line against its config)
    python3 - "$tmp/m/torch_memory.jsonl" <<'EOF' || fail "flags do not match the configurations"
import json, sys
for line in open(sys.argv[1]):
    d = json.loads(line)
    c, f = d["config"], d["flags"]
    val = lambda k: f[f.index(k) + 1]
    assert val("--framework") == "pytorch" and val("--gpus") == "1"
    assert val("--precision") == c["precision"] and val("--attention") == c["attention"]
    assert val("--recompute") == c["recompute"] and val("--optimizer") == c["optimizer"]
    assert val("--optimizer-impl") == c["optimizer_impl"]
    assert int(val("--mbs")) == c["mbs"] and int(val("--gbs")) == c["gbs"]
    assert int(val("--seq")) == c["seq"] and val("--model") == d["model_json"]
    assert ("--dropout" in f) == (c["dropout"] > 0) and ("--no-dropout" in f) != ("--dropout" in f)
EOF
    echo "$n configurations, every estimate accepted"
    ;;
cases)
    python3 "$here/run_validate.py" --check --llmcal "$llmcal" \
        --cases "$here/validate_cases.json" --gpu h100-sxm --min-cases 8 || fail "cases"
    ;;
campaign)
    mkdir -p "$tmp/dist/bin" "$tmp/dist/lib"
    cp "$llmcal" "$tmp/dist/bin/llmcal" # the campaign's wrappers around a carried build
    OUT="$tmp/out" CAMPAIGN_WORK="$tmp/work/c" LLMCAL_DIST="$tmp/dist" PYTHON=python3 \
        CAMPAIGN_BUDGET_S=200 CUDA_VISIBLE_DEVICES="" bash "$here/campaign.sh" >"$tmp/log" 2>&1 ||
        { cat "$tmp/log"; fail "campaign.sh exited non-zero"; }
    nfiles=$(find "$tmp/out" -type f | wc -l)
    ((nfiles <= 8)) || fail "$nfiles files in \$OUT, the device tool returns 8"
    for f in summary.md device.txt results.tar.gz; do
        [[ -s "$tmp/out/$f" ]] || fail "\$OUT/$f missing"
    done
    for s in a-device b-ctest f-memory c-kernels d-calibrate e-validate g-step; do
        grep -q "^| $s | " "$tmp/out/summary.md" || fail "step $s missing from summary.md"
        tar -tzf "$tmp/out/results.tar.gz" | grep -q "logs/$s.log" || fail "logs/$s.log not packed"
    done
    grep -q "^finished after" "$tmp/out/summary.md" || fail "summary not finished"
    # a wrapper runs the carried binary
    "$tmp/work/c/bin/llmcal" list >/dev/null 2>&1 || [[ $? -ne 126 && $? -ne 127 ]] ||
        fail "the llmcal wrapper does not run"
    cat "$tmp/out/summary.md"
    ;;
*)
    echo "selftest.sh: unknown test '$test'" >&2
    exit 2
    ;;
esac
echo "1 passed, 0 failed"
