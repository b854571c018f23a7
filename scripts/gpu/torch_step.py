#!/usr/bin/env python3
"""torch_step.py -- a training step of llmcal's runtime beside a plain PyTorch step, same model.

For each model (GPT-1.3B: the gpt3-1.3b profile, 4 x 2048 tokens; Llama-1B: yard-llama-1b of
torch_memory.py, 2 x 4096 tokens) run, one after the other on the same GPU:
  runtime  `llmcal run --backend cuda --gpus 1 --precision bf16-mixed --attention flash
           --recompute none --no-dropout --steps N --json` (bf16 weights, fp32 main grads and
           master, fused AdamW; time = mean iteration of steps 2..N, the runtime's CUDA events)
  torch    torch_models.Decoder of the same shape (vocabulary padded as the runtime pads it),
           bf16 autocast over fp32 params, flash SDPA, AdamW(fused=True), 2 warm-up steps, then
           the median wall time of N synchronised steps
and write {"device", "torch", "cases": [{"model", "tokens", "runtime", "torch",
"ratio": runtime step / torch step}]} to --out. Issue target: ratio <= 1.3 for GPT-1.3B.

  python3 scripts/gpu/torch_step.py --llmcal build-gpu/dist/bin/llmcal --out step.json
"""

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import torch_memory as tmem  # noqa: E402  (no torch import at module level)

GPT13 = {"hidden": 2048, "layers": 24, "heads": 16, "kv_heads": 16, "head_dim": 128,
         "ffn": 8192, "vocab": 50257, "max_positions": 2048, "norm": "layernorm", "act": "gelu",
         "pos": "learned", "tied_embeddings": True, "biases": True}


def cases(outdir):
    shapes = tmem.model_shapes(tmem.configs())
    llama = shapes["yard-llama-1b"]
    os.makedirs(outdir, exist_ok=True)
    lpath = os.path.join(outdir, "yard-llama-1b.json")
    with open(lpath, "w") as f:
        json.dump(tmem.model_json("yard-llama-1b", llama), f, indent=2)
    return [
        {"name": "gpt3-1.3b", "model_arg": "gpt3-1.3b", "shape": GPT13, "mbs": 4, "seq": 2048},
        {"name": "yard-llama-1b", "model_arg": lpath, "shape": llama, "mbs": 2, "seq": 4096},
    ]


def run_runtime(llmcal, c, steps, timeout):
    args = [llmcal, "run", "--backend", "cuda", "--model", c["model_arg"], "--gpus", "1",
            "--mbs", str(c["mbs"]), "--gbs", str(c["mbs"]), "--seq", str(c["seq"]),
            "--precision", "bf16-mixed", "--attention", "flash", "--recompute", "none",
            "--no-dropout", "--steps", str(steps), "--json"]
    t0 = time.monotonic()
    try:
        r = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout} s", "args": args}
    res = {"args": args, "exit": r.returncode, "wall_s": time.monotonic() - t0}
    try:
        j = json.loads(r.stdout)
    except json.JSONDecodeError:
        res["error"] = (r.stderr.strip() or "no JSON")[-1000:]
        return res
    w = j.get("worst_rank") or (j.get("ranks") or [{}])[0]
    res.update({"iteration_s": (w.get("time_s") or {}).get("iteration"),
                "time_s": w.get("time_s"), "memory_bytes": w.get("memory_bytes"),
                "tokens_per_s": j.get("tokens_per_s"), "tflops_per_gpu": j.get("tflops_per_gpu"),
                "mfu": j.get("mfu"), "loss": j.get("loss"), "oom": j.get("oom")})
    return res


def run_torch(c, steps, vocab_pad):
    import torch

    import torch_models as tm

    shape = dict(c["shape"])
    shape["vocab"] = int(math.ceil(shape["vocab"] / vocab_pad) * vocab_pad)
    cfg = {"mbs": c["mbs"], "gbs": c["mbs"], "seq": c["seq"], "precision": "bf16-mixed",
           "attention": "flash"}
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = tm.Decoder(shape, attn="flash")
    model.train()
    opt = tm.make_optimizer(model, "adamw", "fused")
    for _ in range(2):
        tm.train_step(model, opt, cfg)
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        tm.train_step(model, opt, cfg)
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    res = {"vocab": shape["vocab"], "step_s": statistics.median(times), "steps_s": times,
           "tokens_per_s": c["mbs"] * c["seq"] / statistics.median(times),
           "peak_allocated": torch.cuda.max_memory_allocated(), "gqa": model.gqa_mode()}
    del model, opt
    torch.cuda.empty_cache()
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--llmcal", default="build-gpu/dist/bin/llmcal")
    ap.add_argument("--out", default="step.json")
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--timeout", type=int, default=120, help="seconds per runtime run")
    ap.add_argument("--only", default=None, help="gpt3-1.3b or yard-llama-1b")
    a = ap.parse_args()
    outdir = os.path.dirname(os.path.abspath(a.out))
    result = {"cases": []}
    for c in cases(outdir):
        if a.only and c["name"] != a.only:
            continue
        row = {"model": c["name"], "mbs": c["mbs"], "seq": c["seq"],
               "tokens": c["mbs"] * c["seq"]}
        row["runtime"] = run_runtime(a.llmcal, c, a.steps, a.timeout)
        # the runtime pads the vocabulary as Megatron does (128 x tp) under its default framework
        try:
            row["torch"] = run_torch(c, a.steps, 128)
        except Exception as e:  # noqa: BLE001
            row["torch"] = {"error": f"{type(e).__name__}: {str(e)[:400]}"}
        rt_s = row["runtime"].get("iteration_s")
        th_s = row["torch"].get("step_s")
        if rt_s and th_s:
            row["ratio"] = rt_s / th_s
        result["cases"].append(row)
        print(f"{c['name']}: runtime {rt_s} s/step, torch {th_s} s/step, ratio "
              f"{row.get('ratio')}", flush=True)
        with open(a.out, "w") as f:
            json.dump(result, f, indent=1)
    try:
        import torch

        result["torch"] = torch.__version__
        result["device"] = torch.cuda.get_device_name(0)
    except Exception:  # noqa: BLE001
        pass
    with open(a.out, "w") as f:
        json.dump(result, f, indent=1)
    return 0 if result["cases"] and all("ratio" in c for c in result["cases"]) else 1


if __name__ == "__main__":
    sys.exit(main())
