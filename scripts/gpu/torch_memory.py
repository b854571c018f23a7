#!/usr/bin/env python3
"""torch_memory.py -- the PyTorch memory yardstick for `llmcal estimate --framework pytorch`.

Runs plain-PyTorch training steps (scripts/gpu/torch_models.py: GPT-2 style and Llama style,
bf16 autocast with fp32 params or pure bf16, flash or eager attention, activation checkpointing
on/off, AdamW foreach/fused, SGD with momentum, gradient accumulation; ~100M to 8B parameters,
sequences 1K-16K) and writes one JSON line per configuration:

  {"name", "config": {...}, "model": <name>, "model_json": "models/<name>.json",
   "flags": [the exact `llmcal estimate` flags describing it, --model relative to the output's
             directory], "status": "ok"|"oom"|"error"|"skipped"|"dry-run",
   "params", "peak_allocated" (max_memory_allocated over steps 2..3, reset before step 2),
   "after_forward", "after_backward", "after_optimizer" (memory_allocated in step 2, after the
   last micro-batch's forward with the loss, after its backward, after opt.step()),
   "start_allocated" (before step 2: params + optimizer states), "peak_reserved",
   "saved_bytes" (storages autograd saved in the last forward, parameters excluded; diagnostic,
   without recompute only), "step_s" [step 2, step 3], "tokens_per_s", "gqa", "oom_phase",
   "error", "device", "torch"}

Step 1 allocates the optimizer states; its peak is not what the estimator models.

  python3 scripts/gpu/torch_memory.py --out DIR            # on the GPU (needs torch + CUDA)
  python3 scripts/gpu/torch_memory.py --dry-run --out DIR  # anywhere, no torch: model JSONs and
                                                           # the flags only
  python3 scripts/gpu/compare_memory.py DIR/torch_memory.jsonl   # predicted vs measured

Options: --only REGEX (config names), --time-budget S (stop starting configurations after S
seconds; the rest are recorded as skipped), --gpu NAME (llmcal GPU profile for the flags; default
from the device name, h100-sxm in a dry run), --list.
"""

import argparse
import gc
import json
import os
import re
import sys
import time

# ---------------------------------------------------------------------------
# model shapes (llmcal's model schema, docs/profiles.md); max_positions is set per run to the
# longest sequence a learned-position model is used with

GPT = {"norm": "layernorm", "act": "gelu", "pos": "learned", "tied_embeddings": True,
       "biases": True, "vocab": 50304}
LLAMA = {"norm": "rmsnorm", "act": "swiglu", "pos": "rope", "tied_embeddings": False,
         "biases": False}

MODELS = {
    # GPT-2/GPT-3 family shapes (Brown et al. 2020 Table 2.1; vocab padded to 50304 as nanoGPT)
    "yard-gpt-125m": dict(GPT, hidden=768, layers=12, heads=12, ffn=3072),
    "yard-gpt-350m": dict(GPT, hidden=1024, layers=24, heads=16, ffn=4096),
    "yard-gpt-760m": dict(GPT, hidden=1536, layers=24, heads=16, ffn=6144),
    "yard-gpt-1.3b": dict(GPT, hidden=2048, layers=24, heads=16, ffn=8192),
    "yard-gpt-2.7b": dict(GPT, hidden=2560, layers=32, heads=32, ffn=10240),
    # Llama shapes (Llama-3.x configs; the small one a 12-layer GQA model with a 32K vocabulary)
    "yard-llama-150m": dict(LLAMA, hidden=768, layers=12, heads=12, kv_heads=4, ffn=2048,
                            vocab=32000),
    "yard-llama-1b": dict(LLAMA, hidden=2048, layers=16, heads=32, kv_heads=8, ffn=8192,
                          vocab=128256),
    "yard-llama-3b": dict(LLAMA, hidden=3072, layers=28, heads=24, kv_heads=8, ffn=8192,
                          vocab=128256),
    "yard-llama-8b": dict(LLAMA, hidden=4096, layers=32, heads=32, kv_heads=8, ffn=14336,
                          vocab=128256),
}

# ---------------------------------------------------------------------------
# configurations: (model, precision, attention, recompute, optimizer, impl, mbs, gbs, seq, dropout)
# smallest first; the last few are expected to run out of memory on an 80 GB H100 (an OOM is an
# answer: the estimator must then say "does not fit")

C = [
    ("yard-gpt-125m", "bf16-mixed", "flash", "none", "adamw", "foreach", 8, 8, 1024, 0.0),
    ("yard-gpt-125m", "bf16-mixed", "standard", "none", "adamw", "foreach", 4, 4, 1024, 0.0),
    ("yard-gpt-125m", "bf16-mixed", "flash", "none", "adamw", "fused", 4, 4, 1024, 0.1),
    ("yard-gpt-125m", "bf16", "flash", "none", "adamw", "foreach", 8, 8, 1024, 0.0),
    ("yard-gpt-125m", "bf16-mixed", "flash", "full", "adamw", "foreach", 8, 8, 2048, 0.0),
    ("yard-gpt-125m", "bf16-mixed", "flash", "none", "sgd", "foreach", 4, 16, 1024, 0.0),
    ("yard-gpt-125m", "bf16-mixed", "flash", "full", "adamw", "fused", 1, 1, 16384, 0.0),
    ("yard-llama-150m", "bf16-mixed", "flash", "none", "adamw", "foreach", 8, 8, 2048, 0.0),
    ("yard-llama-150m", "bf16-mixed", "standard", "none", "adamw", "fused", 4, 4, 1024, 0.0),
    ("yard-llama-150m", "bf16", "flash", "none", "adamw", "foreach", 4, 4, 4096, 0.0),
    ("yard-llama-150m", "bf16-mixed", "flash", "full", "sgd", "foreach", 2, 2, 16384, 0.0),
    ("yard-gpt-350m", "bf16-mixed", "flash", "none", "adamw", "fused", 4, 4, 2048, 0.0),
    ("yard-gpt-350m", "bf16-mixed", "standard", "none", "adamw", "foreach", 2, 2, 2048, 0.0),
    ("yard-gpt-350m", "bf16", "standard", "full", "sgd", "foreach", 4, 4, 1024, 0.0),
    ("yard-gpt-350m", "bf16-mixed", "flash", "none", "adamw", "foreach", 4, 8, 1024, 0.1),
    ("yard-gpt-760m", "bf16-mixed", "flash", "none", "adamw", "foreach", 4, 4, 2048, 0.0),
    ("yard-gpt-760m", "bf16-mixed", "flash", "full", "adamw", "fused", 8, 8, 4096, 0.0),
    ("yard-gpt-760m", "bf16", "flash", "none", "adamw", "fused", 2, 2, 4096, 0.0),
    ("yard-gpt-1.3b", "bf16-mixed", "flash", "none", "adamw", "fused", 4, 4, 2048, 0.0),
    ("yard-gpt-1.3b", "bf16-mixed", "flash", "none", "adamw", "foreach", 2, 8, 2048, 0.0),
    ("yard-gpt-1.3b", "bf16-mixed", "flash", "full", "adamw", "foreach", 1, 1, 8192, 0.0),
    ("yard-gpt-1.3b", "bf16-mixed", "standard", "full", "adamw", "fused", 2, 2, 1024, 0.0),
    ("yard-gpt-1.3b", "bf16", "flash", "none", "sgd", "foreach", 4, 4, 2048, 0.0),
    ("yard-llama-1b", "bf16-mixed", "flash", "none", "adamw", "fused", 2, 2, 4096, 0.0),
    ("yard-llama-1b", "bf16-mixed", "flash", "full", "adamw", "foreach", 1, 1, 16384, 0.0),
    ("yard-llama-1b", "bf16", "flash", "none", "adamw", "fused", 4, 4, 2048, 0.0),
    ("yard-llama-1b", "bf16-mixed", "standard", "full", "adamw", "foreach", 1, 1, 2048, 0.0),
    ("yard-llama-1b", "bf16-mixed", "flash", "none", "sgd", "foreach", 1, 4, 8192, 0.0),
    ("yard-gpt-2.7b", "bf16-mixed", "flash", "full", "adamw", "fused", 4, 4, 2048, 0.0),
    ("yard-gpt-2.7b", "bf16", "flash", "none", "adamw", "foreach", 2, 2, 2048, 0.0),
    ("yard-llama-3b", "bf16-mixed", "flash", "full", "adamw", "fused", 1, 1, 4096, 0.0),
    ("yard-llama-3b", "bf16", "flash", "none", "adamw", "foreach", 2, 2, 4096, 0.0),
    ("yard-llama-3b", "bf16-mixed", "flash", "full", "adamw", "foreach", 1, 1, 4096, 0.0),
    ("yard-llama-8b", "bf16", "flash", "full", "sgd", "foreach", 1, 1, 4096, 0.0),
    ("yard-llama-8b", "bf16", "flash", "full", "adamw", "fused", 1, 1, 4096, 0.0),
    ("yard-llama-8b", "bf16", "flash", "none", "sgd", "foreach", 1, 1, 2048, 0.0),
    ("yard-llama-8b", "bf16", "flash", "full", "adamw", "foreach", 1, 1, 4096, 0.0),
    ("yard-llama-8b", "bf16-mixed", "flash", "full", "adamw", "fused", 1, 1, 2048, 0.0),
]

KEYS = ("model", "precision", "attention", "recompute", "optimizer", "optimizer_impl", "mbs",
        "gbs", "seq", "dropout")


def configs():
    out = []
    for row in C:
        c = dict(zip(KEYS, row))
        short = {"bf16-mixed": "amp", "bf16": "bf16"}[c["precision"]]
        name = (f"{c['model'][5:]}-{short}-{c['attention'][:5]}-rc{c['recompute']}-"
                f"{c['optimizer']}{'' if c['optimizer'] == 'sgd' else '-' + c['optimizer_impl']}"
                f"-b{c['mbs']}x{c['gbs'] // c['mbs']}-s{c['seq']}"
                f"{'-drop' if c['dropout'] > 0 else ''}")
        c["name"] = name
        out.append(c)
    return out


def model_shapes(cfgs):
    """each model's shape in llmcal's schema, max_positions covering its longest sequence"""
    shapes = {}
    for name, base in MODELS.items():
        m = dict(base)
        m.setdefault("kv_heads", m["heads"])
        m["head_dim"] = m["hidden"] // m["heads"]
        if m["pos"] == "learned":
            m["max_positions"] = max([c["seq"] for c in cfgs if c["model"] == name] or [1024])
        shapes[name] = m
    return shapes


def model_json(name, shape):
    """the llmcal model profile of one yardstick model (docs/profiles.md schema)"""
    j = {"description": f"llmcal PyTorch yardstick model {name} (scripts/gpu/torch_models.py)",
         "source": "scripts/gpu/torch_memory.py MODELS: the shape the yardstick builds"}
    for k in ("hidden", "layers", "heads", "kv_heads", "head_dim", "ffn", "vocab",
              "max_positions", "norm", "act", "pos", "tied_embeddings", "biases"):
        if k in shape:
            j[k] = shape[k]
    return j


def estimate_flags(c, model_path, gpu):
    """the `llmcal estimate` flags that describe configuration c (a single GPU)"""
    return ["--model", model_path, "--gpu", gpu, "--gpus", "1", "--framework", "pytorch",
            "--precision", c["precision"], "--attention", c["attention"],
            "--recompute", c["recompute"], "--optimizer", c["optimizer"],
            "--optimizer-impl", c["optimizer_impl"], "--mbs", str(c["mbs"]),
            "--gbs", str(c["gbs"]), "--seq", str(c["seq"]),
            "--dropout" if c["dropout"] > 0 else "--no-dropout"]


def gpu_profile(device_name):
    """llmcal's GPU profile for a CUDA device name (torch.cuda.get_device_name / nvidia-smi)"""
    n = device_name.lower()
    if "h200" in n:
        return "h200"
    if "gh200" in n:
        return "gh200"
    if "h100" in n:
        return "h100-pcie" if "pcie" in n else "h100-sxm"
    if "a100" in n:
        return "a100-40gb" if "40gb" in n else "a100-80gb"
    if "b200" in n:
        return "b200"
    return "h100-sxm"


# ---------------------------------------------------------------------------
# running one configuration (GPU)

def run_config(c, shape, torch, device="cuda"):
    import torch_models as tm

    cuda = device == "cuda"

    def sync():
        if cuda:
            torch.cuda.synchronize()

    rec = {}
    model = opt = None
    phase = "build"
    try:
        torch.manual_seed(0)
        # pure bf16: built in bf16 directly (no fp32 copy of an 8B model on the way)
        dt = torch.get_default_dtype()
        torch.set_default_dtype(torch.bfloat16 if c["precision"] == "bf16" else torch.float32)
        try:
            with torch.device(device):
                model = tm.Decoder(shape, attn=c["attention"], dropout_p=c["dropout"],
                                   recompute=c["recompute"])
        finally:
            torch.set_default_dtype(dt)
        model.train()
        rec["params"] = sum(p.numel() for p in model.parameters())
        opt = tm.make_optimizer(model, c["optimizer"], c["optimizer_impl"])
        phase = "step 1"
        tm.train_step(model, opt, c)
        sync()
        gc.collect()
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        rec["start_allocated"] = tm.allocated(torch.device(device))
        phase = "step 2"
        saved = {} if c["recompute"] == "none" else None
        mem = {}
        t0 = time.perf_counter()
        tm.train_step(model, opt, c, record=mem, saved=saved)
        sync()
        t1 = time.perf_counter()
        phase = "step 3"
        tm.train_step(model, opt, c)
        sync()
        t2 = time.perf_counter()
        rec.update(mem)
        rec["peak_allocated"] = torch.cuda.max_memory_allocated() if cuda else None
        rec["peak_reserved"] = torch.cuda.max_memory_reserved() if cuda else None
        if saved is not None:
            rec["saved_bytes"] = sum(saved.values())
        rec["step_s"] = [t1 - t0, t2 - t1]
        rec["tokens_per_s"] = c["gbs"] * c["seq"] / min(rec["step_s"])
        rec["gqa"] = model.gqa_mode()
        rec["status"] = "ok"
    except torch.cuda.OutOfMemoryError as e:
        rec["status"] = "oom"
        rec["oom_phase"] = phase
        rec["error"] = str(e).splitlines()[0][:400]
        rec["peak_allocated_before_oom"] = torch.cuda.max_memory_allocated() if cuda else None
    except Exception as e:  # noqa: BLE001 -- one failing configuration must not stop the rest
        rec["status"] = "error"
        rec["error"] = f"{phase}: {type(e).__name__}: {str(e).splitlines()[0][:400] if str(e) else ''}"
    finally:
        del model, opt
        gc.collect()
        if cuda:
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
    return rec


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="torch-memory", help="output directory")
    ap.add_argument("--dry-run", action="store_true",
                    help="no torch: write the model JSONs and one line per configuration")
    ap.add_argument("--only", default=None, help="regex on configuration names")
    ap.add_argument("--gpu", default=None, help="llmcal GPU profile for the flags")
    ap.add_argument("--time-budget", type=float, default=0.0,
                    help="seconds; stop starting configurations after this (0: none)")
    ap.add_argument("--list", action="store_true", help="print the configuration names")
    ap.add_argument("--cpu-smoke", action="store_true",
                    help="run every configuration on the CPU with every model and sequence "
                         "shrunk (hidden/16, 2 layers, vocab 1000, seq/16): a test of the code "
                         "paths, not of memory (needs torch, no GPU)")
    ap.add_argument("--resume", action="store_true",
                    help="keep the finished lines of an earlier run's torch_memory.jsonl (one "
                         "that died: its configuration in progress is recorded as crashed)")
    a = ap.parse_args()

    cfgs = configs()
    if a.only:
        cfgs = [c for c in cfgs if re.search(a.only, c["name"])]
    if a.list:
        for c in cfgs:
            print(c["name"])
        return 0
    shapes = model_shapes(configs())
    os.makedirs(os.path.join(a.out, "models"), exist_ok=True)
    for name in sorted({c["model"] for c in cfgs}):
        with open(os.path.join(a.out, "models", name + ".json"), "w") as f:
            json.dump(model_json(name, shapes[name]), f, indent=2)
            f.write("\n")

    torch = None
    device = "none (dry run)"
    gpu = a.gpu or "h100-sxm"
    if not a.dry_run:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import torch as _torch

        torch = _torch
        if a.cpu_smoke:
            device = "cpu (smoke test, shrunk models)"
            for name in shapes:
                sh = shapes[name]
                sh.update(hidden=sh["hidden"] // 16, layers=2, vocab=1000)
                sh["head_dim"] = sh["hidden"] // sh["heads"]
            for c in cfgs:
                c["seq"] = max(64, c["seq"] // 16)
        elif not torch.cuda.is_available():
            print("torch_memory.py: no CUDA device (use --dry-run)", file=sys.stderr)
            return 77
        else:
            device = torch.cuda.get_device_name(0)
            gpu = a.gpu or gpu_profile(device)
        torch.backends.cuda.matmul.allow_tf32 = True

    path = os.path.join(a.out, "torch_memory.jsonl")
    marker = os.path.join(a.out, "in-progress")
    done = {}
    if a.resume and os.path.exists(path):
        with open(path) as f:
            for x in f:
                if x.strip():
                    ln = json.loads(x)
                    if ln.get("status") in ("ok", "oom", "error", "crashed"):
                        done[ln["name"]] = ln
        if os.path.exists(marker):
            with open(marker) as f:
                crashed = f.read().strip()
            if crashed and crashed not in done:
                done[crashed] = {"name": crashed, "status": "crashed",
                                 "error": "the process died while running it"}
    t_start = time.monotonic()
    n_ok = 0
    fatal = False
    with open(path, "w") as out:
        for c in cfgs:
            mj = os.path.join("models", c["model"] + ".json")
            line = {"name": c["name"], "config": {k: c[k] for k in KEYS}, "model": c["model"],
                    "model_json": mj, "flags": estimate_flags(c, mj, gpu), "device": device,
                    "torch": torch.__version__ if torch else None}
            if c["name"] in done:
                old = done[c["name"]]
                line.update({k: v for k, v in old.items() if k not in line or k == "status"})
                n_ok += line["status"] == "ok"
            elif a.dry_run:
                line["status"] = "dry-run"
            elif a.time_budget > 0 and time.monotonic() - t_start > a.time_budget:
                line["status"] = "skipped"
                line["error"] = f"time budget of {a.time_budget:.0f} s spent"
            elif fatal:
                line["status"] = "skipped"
                line["error"] = "an earlier configuration left the CUDA context unusable"
            else:
                with open(marker, "w") as f:
                    f.write(c["name"])
                t0 = time.monotonic()
                line.update(run_config(c, shapes[c["model"]], torch,
                                       "cpu" if a.cpu_smoke else "cuda"))
                line["wall_s"] = round(time.monotonic() - t0, 2)
                os.remove(marker)
                # a sticky CUDA error poisons the context: stop, so a fresh process resumes
                fatal = line["status"] == "error" and any(
                    w in line.get("error", "") for w in ("CUDA error", "illegal memory",
                                                         "CUBLAS_STATUS", "cudaError"))
                n_ok += line["status"] == "ok"
                pk = line.get("peak_allocated")
                print(f"{c['name']:60s} {line['status']:6s} "
                      f"{(pk or 0) / 2**30:8.2f} GiB  {line['wall_s']:6.1f} s", flush=True)
            out.write(json.dumps(line) + "\n")
            out.flush()
    print(f"torch_memory.py: {len(cfgs)} configurations, {n_ok} measured, written to {path}",
          file=sys.stderr)
    return 3 if fatal else 0


if __name__ == "__main__":
    sys.exit(main())
