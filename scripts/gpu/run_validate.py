#!/usr/bin/env python3
"""run_validate.py -- `llmcal validate` one case at a time, each in its own process and timeout.

A case that crashes, hangs or runs out of memory then costs only itself. Reads a cases file
(validate_cases.json: {"cases": [{"name", "args"}]}), runs

  llmcal validate --cases ONE.json [--calibration FILE] --steps N --json
                  --max-time-err 10 --max-mem-err 3

per case (on one GPU the runtime runs the single-GPU shard mode of rank 0 whenever the layout has
more ranks than GPUs), and merges the results into {"cases": [...], "failed": [...]} (--out).

  python3 scripts/gpu/run_validate.py --llmcal L --cases scripts/gpu/validate_cases.json \
      --calibration cal.json --out validate.json [--steps 3] [--timeout 90] [--budget S]
  python3 scripts/gpu/run_validate.py --check --llmcal L --cases ...   # no GPU: every case is
      accepted by `llmcal estimate` and fits the GPU, and by the runtime (a CPU run of rank 0
      with a 1 MiB capacity must stop at its first allocation, not at an unsupported feature)
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time


def load_cases(path):
    with open(path) as f:
        d = json.load(f)
    cases = d["cases"] if isinstance(d, dict) else d
    for c in cases:
        if not isinstance(c.get("name"), str) or not isinstance(c.get("args"), list):
            raise ValueError(f"{path}: every case needs a name and an args list")
    return cases


def check(a, cases):
    bad = 0
    for c in cases:
        r = subprocess.run([a.llmcal, "estimate", *c["args"], "--gpu", a.gpu, "--json"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            print(f"FAIL {c['name']}: estimate exit {r.returncode}: {r.stderr.strip()[:300]}")
            bad += 1
            continue
        est = json.loads(r.stdout)
        if not est.get("fits"):
            print(f"FAIL {c['name']}: does not fit {a.gpu}")
            bad += 1
            continue
        r = subprocess.run([a.llmcal, "run", "--backend", "cpu", "--rank", "0", "--steps", "2",
                            "--capacity-mib", "1", *c["args"]], capture_output=True, text=True)
        if r.returncode != 1 or "OUT OF MEMORY" not in r.stdout + r.stderr:
            print(f"FAIL {c['name']}: the runtime refuses it (exit {r.returncode}): "
                  f"{(r.stderr or r.stdout).strip()[:300]}")
            bad += 1
            continue
        mem = est["memory_bytes"]
        print(f"ok   {c['name']}: predicted peak {mem['peak_allocated'] / 2**30:.1f} GiB, "
              f"total {mem['total'] / 2**30:.1f} GiB on {a.gpu}")
    print(f"{len(cases) - bad} passed, {bad} failed")
    return 1 if bad or len(cases) < a.min_cases else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--llmcal", required=True)
    ap.add_argument("--cases", required=True)
    ap.add_argument("--calibration", default=None)
    ap.add_argument("--out", default="validate.json")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--timeout", type=int, default=90, help="seconds per case")
    ap.add_argument("--budget", type=float, default=0.0, help="seconds for all cases (0: none)")
    ap.add_argument("--check", action="store_true", help="no GPU: check the cases file")
    ap.add_argument("--gpu", default="h100-sxm", help="--check: the GPU the cases must fit")
    ap.add_argument("--min-cases", type=int, default=8)
    a = ap.parse_args()
    try:
        cases = load_cases(a.cases)
    except (OSError, ValueError, KeyError, json.JSONDecodeError) as e:
        print(f"run_validate.py: {e}", file=sys.stderr)
        return 2
    if a.check:
        return check(a, cases)
    merged = {"cases": [], "failed": [], "calibration": a.calibration, "steps": a.steps}
    t_start = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        for c in cases:
            if a.budget > 0 and time.monotonic() - t_start > a.budget:
                merged["failed"].append({"name": c["name"], "error": "skipped: time budget"})
                continue
            one = os.path.join(tmp, "case.json")
            res = os.path.join(tmp, "result.json")
            with open(one, "w") as f:
                json.dump({"cases": [c]}, f)
            if os.path.exists(res):
                os.remove(res)
            args = [a.llmcal, "validate", "--cases", one, "--steps", str(a.steps), "--json",
                    "--out", res, "--max-time-err", "10", "--max-mem-err", "3"]
            if a.calibration:
                args += ["--calibration", a.calibration]
            t0 = time.monotonic()
            try:
                r = subprocess.run(args, capture_output=True, text=True, timeout=a.timeout)
                rc, err = r.returncode, r.stderr.strip()
            except subprocess.TimeoutExpired:
                rc, err = None, f"timed out after {a.timeout} s"
            wall = round(time.monotonic() - t0, 1)
            got = None
            if os.path.exists(res):
                try:
                    with open(res) as f:
                        got = json.load(f).get("cases", [])
                except json.JSONDecodeError:
                    got = None
            if got:
                for g in got:
                    g["exit"] = rc
                    g["wall_s"] = wall
                    merged["cases"].append(g)
            else:
                merged["failed"].append({"name": c["name"], "exit": rc, "wall_s": wall,
                                         "error": err[-1500:]})
            print(f"{c['name']:35s} exit {rc} {wall:6.1f} s {'' if got else err[-200:]}",
                  flush=True)
            with open(a.out, "w") as f:
                json.dump(merged, f, indent=1)
    merged["pass"] = bool(merged["cases"]) and not merged["failed"] and all(
        c.get("pass") for c in merged["cases"])
    with open(a.out, "w") as f:
        json.dump(merged, f, indent=1)
    return 0 if not merged["failed"] else 1


if __name__ == "__main__":
    sys.exit(main())
