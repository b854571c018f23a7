#!/usr/bin/env python3
"""tables.py -- README tables from a GPU campaign's results (docs/gpu-campaign.md).

  tar -xzf results.tar.gz          # -> llmcal-campaign/
  python3 scripts/gpu/tables.py llmcal-campaign [--llmcal build/cli/llmcal]

Prints markdown: the device line, kernels (runtime vs PyTorch, issue 4 targets: GEMM >= 0.95,
attention >= 0.60 of flash SDPA), training steps (runtime vs PyTorch, target <= 1.3x), validate
(predicted vs measured peak memory and iteration time, targets 3 % and 10 %), and the PyTorch
memory table (compare_memory.py, re-run with the given llmcal so that a fixed estimator can be
checked against the same measurements without a GPU).
"""

import argparse
import json
import os
import subprocess
import sys


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, json.JSONDecodeError):
        return None


def device_line(d):
    p = os.path.join(d, "device.txt")
    if not os.path.exists(p):
        return "device: unknown"
    txt = open(p).read().splitlines()
    keep = [x for x in txt if x.startswith(("date:", "torch ")) or "driver" in x.lower()]
    csv = [x for x in txt if x.count(",") >= 4 and "MiB" in x]
    return "; ".join(keep[:3] + csv[:1])


def kernels(d):
    k = load(os.path.join(d, "kernels.json"))
    if not k:
        return
    print(f"\n### Kernels ({k.get('device', '?')}, torch {k.get('torch', '?')}, median of "
          f"{k.get('iters')}, L2 flushed)\n")
    print("| case | runtime TFLOP/s | PyTorch TFLOP/s | ratio | target |")
    print("|---|---:|---:|---:|---|")
    for c in k["cases"]:
        rt, th = c.get("runtime") or {}, c.get("torch") or {}
        if c["kind"] == "gemm":
            name = f"GEMM {c['m']}x{c['n']}x{c['k']} bf16"
            a, b, tgt = rt.get("tflops"), th.get("tflops"), ">= 0.95"
        else:
            name = (f"attention b{c['b']} h{c['heads']}/{c['kv_heads']} s{c['seq']} "
                    f"d{c['head_dim']} fwd+bwd")
            a, b, tgt = rt.get("fwd_bwd_tflops"), th.get("fwd_bwd_tflops"), ">= 0.60"
        r = c.get("ratio")
        print(f"| {name} | {a if a is None else f'{a:.0f}'} | {b if b is None else f'{b:.0f}'} "
              f"| {'-' if r is None else f'{r:.2f}'} | {tgt} |")


def steps(d):
    s = load(os.path.join(d, "step", "step.json"))
    if not s:
        return
    print(f"\n### Training step ({s.get('device', '?')}, torch {s.get('torch', '?')})\n")
    print("| model | tokens/step | runtime s/step | PyTorch s/step | ratio (target <= 1.3) | "
          "runtime MFU |")
    print("|---|---:|---:|---:|---:|---:|")
    for c in s["cases"]:
        rt, th = c.get("runtime") or {}, c.get("torch") or {}
        r = c.get("ratio")
        mfu = rt.get("mfu")
        print(f"| {c['model']} | {c['tokens']} | {rt.get('iteration_s') or rt.get('error', '-')} "
              f"| {th.get('step_s') or th.get('error', '-')} | "
              f"{'-' if r is None else f'{r:.2f}'} | {'-' if mfu is None else f'{mfu:.1%}'} |")


def validate(d):
    v = load(os.path.join(d, "validate.json"))
    if not v:
        return
    print(f"\n### llmcal validate (calibration {os.path.basename(v.get('calibration') or '-')}, "
          f"{v.get('steps')} steps)\n")
    print("| case | peak alloc. measured GiB | predicted GiB | error % | iteration measured s "
          "| predicted s | error % | pass |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for c in v["cases"]:
        mm = (c.get("measured") or {}).get("memory_bytes", {})
        pm = (c.get("predicted") or {}).get("memory_bytes", {})
        mt = (c.get("measured") or {}).get("time_s", {})
        pt = (c.get("predicted") or {}).get("time_s", {})
        e = c.get("error_pct") or {}
        em, et = e.get("memory_bytes", {}), e.get("time_s", {})

        def g(x):
            return "-" if x is None else f"{x / 2**30:.2f}"

        def p(x):
            return "-" if x is None else f"{x:+.1f}"

        def t(x):
            return "-" if x is None else f"{x:.4f}"

        print(f"| {c['name']} | {g(mm.get('peak_allocated'))} | {g(pm.get('peak_allocated'))} "
              f"| {p(em.get('peak_allocated'))} | {t(mt.get('iteration'))} | "
              f"{t(pt.get('iteration'))} | {p(et.get('iteration'))} | {c.get('pass')} |")
    for f in v.get("failed", []):
        print(f"| {f['name']} | failed: {str(f.get('error', ''))[:120]} | | | | | | |")


def memory(d, llmcal):
    j = os.path.join(d, "torch-memory", "torch_memory.jsonl")
    if not os.path.exists(j):
        return
    print("\n### PyTorch memory: llmcal estimate --framework pytorch vs "
          "torch.cuda.max_memory_allocated()\n")
    sys.stdout.flush()
    here = os.path.dirname(os.path.abspath(__file__))
    args = [sys.executable, os.path.join(here, "compare_memory.py"), j]
    if llmcal:
        args += ["--llmcal", llmcal]
    subprocess.run(args)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir", help="the extracted llmcal-campaign/ folder")
    ap.add_argument("--llmcal", default=None)
    a = ap.parse_args()
    print(f"device: {device_line(a.dir)}")
    kernels(a.dir)
    steps(a.dir)
    validate(a.dir)
    memory(a.dir, a.llmcal)
    return 0


if __name__ == "__main__":
    sys.exit(main())
