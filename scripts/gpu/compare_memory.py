#!/usr/bin/env python3
"""compare_memory.py -- `llmcal estimate --framework pytorch` against the PyTorch yardstick.

For every line of torch_memory.jsonl (scripts/gpu/torch_memory.py) run `llmcal estimate <flags>
--json` (the --model path is taken relative to the .jsonl file's directory) and lay the predicted
`memory_bytes.peak_allocated` beside the measured torch.cuda.max_memory_allocated() of steps 2..3.
Prints a markdown table with the error (100 * (predicted - measured) / measured), the mean
absolute and the worst error; out-of-memory runs are listed with whether the estimate says the
configuration fits (it should not).

  python3 scripts/gpu/compare_memory.py results/torch_memory.jsonl [--llmcal PATH]
        [--gpu NAME] [--max-err 5] [--json FILE] [--min-configs N] [--require-all]

--gpu overrides the profile in the flags. Exit: 0; 1 if an estimate failed with --require-all,
fewer than --min-configs lines, or a measured error beyond --max-err (or an OOM the estimate
says fits); 2 on bad input.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys

GIB = 2.0**30


def find_llmcal(given):
    if given:
        return given
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    for cand in ("build-gpu/dist/bin/llmcal", "build/cli/llmcal", "build-rel/cli/llmcal"):
        p = os.path.join(root, cand)
        if os.access(p, os.X_OK):
            return p
    return shutil.which("llmcal") or "llmcal"


def estimate(llmcal, flags, base, gpu):
    f = list(flags)
    for i, x in enumerate(f[:-1]):
        if x == "--model" and not os.path.isabs(f[i + 1]):
            f[i + 1] = os.path.join(base, f[i + 1])
        if x == "--gpu" and gpu:
            f[i + 1] = gpu
    r = subprocess.run([llmcal, "estimate", *f, "--json"], capture_output=True, text=True)
    if r.returncode not in (0, 1):  # 1: does not fit, still a full report
        return None, (r.stderr.strip() or f"exit {r.returncode}").splitlines()[0]
    try:
        return json.loads(r.stdout), None
    except json.JSONDecodeError as e:
        return None, f"llmcal estimate printed no JSON ({e})"


def fmt_gib(b):
    return "-" if b is None else f"{b / GIB:.2f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("jsonl")
    ap.add_argument("--llmcal", default=None)
    ap.add_argument("--gpu", default=None, help="override the GPU profile in the flags")
    ap.add_argument("--max-err", type=float, default=None, help="percent; exit 1 beyond it")
    ap.add_argument("--json", default=None, help="write the comparison as JSON to FILE")
    ap.add_argument("--min-configs", type=int, default=0)
    ap.add_argument("--require-all", action="store_true",
                    help="exit 1 if any estimate fails")
    a = ap.parse_args()
    llmcal = find_llmcal(a.llmcal)
    base = os.path.dirname(os.path.abspath(a.jsonl))
    try:
        with open(a.jsonl) as f:
            lines = [json.loads(x) for x in f if x.strip()]
    except (OSError, json.JSONDecodeError) as e:
        print(f"compare_memory.py: {a.jsonl}: {e}", file=sys.stderr)
        return 2

    rows = []
    failed = 0
    for ln in lines:
        if "flags" not in ln or "name" not in ln:
            print(f"compare_memory.py: {a.jsonl}: a line without name/flags", file=sys.stderr)
            return 2
        est, err = estimate(llmcal, ln["flags"], base, a.gpu)
        row = {"name": ln["name"], "status": ln.get("status"), "measured": ln.get("peak_allocated"),
               "params": ln.get("params"), "error": err}
        if est is not None:
            mem = est["memory_bytes"]
            row["predicted"] = mem["peak_allocated"]
            row["predicted_total"] = mem["total"]
            row["fits"] = est.get("fits")
            row["phase"] = est.get("worst_rank", {}).get("peak_phase")
            row["predicted_params"] = est.get("params", {}).get("total")
            if row["measured"]:
                row["err_pct"] = 100.0 * (row["predicted"] - row["measured"]) / row["measured"]
        else:
            failed += 1
        rows.append(row)

    print("| configuration | status | measured GiB | predicted GiB | error % | predicted peak |")
    print("|---|---|---:|---:|---:|---|")
    for r in rows:
        e = r.get("err_pct")
        st = r["status"] or "-"
        if r.get("error"):
            st = f"estimate failed: {r['error']}"
        elif st == "oom":
            st = "OOM (estimate: " + ("fits!" if r.get("fits") else "does not fit") + ")"
        print(f"| {r['name']} | {st} | {fmt_gib(r['measured'])} | {fmt_gib(r.get('predicted'))} "
              f"| {'-' if e is None else f'{e:+.1f}'} | {r.get('phase') or '-'} |")
    errs = [r["err_pct"] for r in rows if r.get("err_pct") is not None]
    summary = {"configurations": len(rows), "measured": len(errs), "estimate_failures": failed,
               "oom": sum(r["status"] == "oom" for r in rows),
               "oom_predicted_to_fit": sum(r["status"] == "oom" and bool(r.get("fits"))
                                           for r in rows)}
    if errs:
        worst = max(rows, key=lambda r: abs(r.get("err_pct") or 0.0))
        summary["mean_abs_err_pct"] = sum(abs(e) for e in errs) / len(errs)
        summary["mean_err_pct"] = sum(errs) / len(errs)
        summary["worst_err_pct"] = worst["err_pct"]
        summary["worst"] = worst["name"]
        print(f"\n{len(errs)} measured: mean |error| {summary['mean_abs_err_pct']:.1f} %, "
              f"mean {summary['mean_err_pct']:+.1f} %, worst {worst['err_pct']:+.1f} % "
              f"({worst['name']})")
    print(f"{len(rows)} configurations, {failed} estimate failures, {summary['oom']} OOM "
          f"({summary['oom_predicted_to_fit']} predicted to fit)")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"summary": summary, "rows": rows}, f, indent=1)
    rc = 0
    if a.require_all and failed:
        rc = 1
    if len(rows) < a.min_configs:
        print(f"compare_memory.py: {len(rows)} configurations, fewer than {a.min_configs}",
              file=sys.stderr)
        rc = 1
    if a.max_err is not None and (any(abs(e) > a.max_err for e in errs)
                                  or summary["oom_predicted_to_fit"]):
        rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
