#!/usr/bin/env python3
"""bench_kernels.py -- the runtime's GEMM and flash attention beside PyTorch's, same shapes, one run.

Runs bench/bench_rt_kernels (cuBLASLt bf16 GEMM, the runtime's tensor-core causal flash attention)
and then PyTorch on the same shapes with the same method: random data, the L2 cache flushed (a
256 MiB memset) before every timed iteration, CUDA events around the operation only, median of
--iters after 5 warm-ups.

  GEMM       out (M, N) = A (M, K) . B (N, K)^T, bf16, fp32 accumulation
             ~ torch.matmul(a, b.t()); 2MNK FLOPs
  attention  causal, bf16, (b, heads, kv_heads, seq, head_dim)
             ~ F.scaled_dot_product_attention(is_causal=True, enable_gqa) restricted to the
             FLASH_ATTENTION backend, forward, then backward (torch.autograd.grad) timed alone;
             FLOPs as bench_rt_kernels counts them (forward 4 b h s^2 d / 2, backward 2.5x)

Output (--out FILE): {"device", "torch", "cases": [{"kind", shape..., "runtime": {...},
"torch": {...}, "ratio": runtime throughput / torch throughput (forward+backward for
attention)}]}. Issue targets: GEMM ratio >= 0.95, attention fwd+bwd ratio >= 0.60.

  python3 scripts/gpu/bench_kernels.py --bench build-gpu/dist/bin/bench_rt_kernels --out k.json
  python3 scripts/gpu/bench_kernels.py --list      # the shapes, no GPU needed
"""

import argparse
import json
import subprocess
import sys

# GPT-1.3B (h 2048, 16 heads of 128, ffn 8192, vocab 50304; 4 x 2048 tokens) layer GEMMs, as
# bench_rt_kernels' defaults, and Llama-3.1-8B (h 4096, 32/8 heads, ffn 14336, vocab 128256;
# 4096 tokens): QKV, attention output, [gate; up], down, LM head
GEMMS = [
    (8192, 6144, 2048), (8192, 2048, 2048), (8192, 8192, 2048), (8192, 2048, 8192),
    (8192, 50304, 2048), (4096, 4096, 4096),
    (4096, 6144, 4096), (4096, 28672, 4096), (4096, 4096, 14336), (4096, 128256, 4096),
    (8192, 8192, 8192),
]
# (b, heads, kv_heads, seq, head_dim): GPT-1.3B, Llama-8B at 4K and 8K, a Llama-1B (d 64)
ATTNS = [
    (4, 16, 16, 2048, 128), (1, 32, 8, 4096, 128), (1, 32, 8, 8192, 128), (2, 32, 8, 4096, 64),
]


def run_runtime(bench, iters):
    args = [bench, "--iters", str(iters)]
    for m, n, k in GEMMS:
        args += ["--gemm", f"{m},{n},{k}"]
    for b, h, g, s, d in ATTNS:
        args += ["--attn", f"{b},{h},{g},{s},{d}"]
    try:
        r = subprocess.run(args, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as e:
        return [], 127, f"{type(e).__name__}: {e}"
    out = [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")]
    return out, r.returncode, r.stderr.strip()


def torch_cases(iters):
    import torch
    import torch.nn.functional as F
    from torch.nn.attention import SDPBackend, sdpa_kernel

    dev = "cuda"
    flush = torch.empty(256 << 20, dtype=torch.uint8, device=dev)
    ev0 = torch.cuda.Event(enable_timing=True)
    ev1 = torch.cuda.Event(enable_timing=True)

    def timed(fn):
        ms = []
        for i in range(-5, iters):
            flush.zero_()
            ev0.record()
            fn()
            ev1.record()
            ev1.synchronize()
            if i >= 0:
                ms.append(ev0.elapsed_time(ev1))
        ms.sort()
        return ms[len(ms) // 2]

    out = []
    for m, n, k in GEMMS:
        a = torch.randn(m, k, device=dev, dtype=torch.bfloat16)
        b = torch.randn(n, k, device=dev, dtype=torch.bfloat16)
        med = timed(lambda: torch.matmul(a, b.t()))
        out.append({"kind": "gemm", "m": m, "n": n, "k": k, "median_ms": med,
                    "tflops": 2.0 * m * n * k / (med * 1e-3) / 1e12})
        del a, b
    for bb, h, g, s, d in ATTNS:
        q = torch.randn(bb, h, s, d, device=dev, dtype=torch.bfloat16, requires_grad=True)
        k = torch.randn(bb, g, s, d, device=dev, dtype=torch.bfloat16, requires_grad=True)
        v = torch.randn(bb, g, s, d, device=dev, dtype=torch.bfloat16, requires_grad=True)
        dout = torch.randn(bb, h, s, d, device=dev, dtype=torch.bfloat16)
        gqa = {"enable_gqa": True} if h != g else {}
        rec = {"kind": "attention", "b": bb, "heads": h, "kv_heads": g, "seq": s, "head_dim": d}
        try:
            with sdpa_kernel([SDPBackend.FLASH_ATTENTION]):
                def fwd():
                    with torch.no_grad():
                        F.scaled_dot_product_attention(q, k, v, is_causal=True, **gqa)
                f_ms = timed(fwd)
                o = F.scaled_dot_product_attention(q, k, v, is_causal=True, **gqa)
                b_ms = timed(lambda: torch.autograd.grad(o, (q, k, v), dout, retain_graph=True))
            ffl = 4.0 * bb * h * s * s * d / 2.0
            rec.update({"fwd_ms": f_ms, "bwd_ms": b_ms, "fwd_tflops": ffl / (f_ms * 1e-3) / 1e12,
                        "bwd_tflops": 2.5 * ffl / (b_ms * 1e-3) / 1e12,
                        "fwd_bwd_tflops": 3.5 * ffl / ((f_ms + b_ms) * 1e-3) / 1e12})
        except RuntimeError as e:
            rec["error"] = str(e).splitlines()[0][:300]
        out.append(rec)
        del q, k, v, dout
    return out, torch.__version__, torch.cuda.get_device_name(0)


def key(c):
    if c["kind"] == "gemm":
        return ("gemm", c["m"], c["n"], c["k"])
    return ("attention", c["b"], c["heads"], c["kv_heads"], c["seq"], c["head_dim"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bench", default="build-gpu/dist/bin/bench_rt_kernels")
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--out", default="kernels.json")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--list", action="store_true")
    a = ap.parse_args()
    if a.list:
        print(json.dumps({"gemm": GEMMS, "attention": ATTNS}))
        return 0
    rt, rc, err = run_runtime(a.bench, a.iters)
    result = {"runtime_exit": rc, "runtime_stderr": err[-2000:], "iters": a.iters}
    th = []
    if not a.no_torch:
        try:
            th, result["torch"], result["device"] = torch_cases(a.iters)
        except Exception as e:  # noqa: BLE001 -- keep the runtime's numbers
            result["torch_error"] = f"{type(e).__name__}: {e}"
    tmap = {key(c): c for c in th}
    cases = []
    for c in rt:
        t = tmap.pop(key(c), None)
        row = {k: c[k] for k in c if k in ("kind", "m", "n", "k", "b", "heads", "kv_heads",
                                           "seq", "head_dim")}
        row["runtime"] = c
        row["torch"] = t
        if t and c["kind"] == "gemm":
            row["ratio"] = c["tflops"] / t["tflops"]
        elif t and "fwd_bwd_tflops" in t:
            row["ratio"] = c["fwd_bwd_tflops"] / t["fwd_bwd_tflops"]
            row["ratio_fwd"] = c["fwd_tflops"] / t["fwd_tflops"]
            row["ratio_bwd"] = c["bwd_tflops"] / t["bwd_tflops"]
        cases.append(row)
    for t in tmap.values():  # shapes the runtime did not report (it stopped on an error)
        cases.append({"kind": t["kind"], "runtime": None, "torch": t})
    result["cases"] = cases
    with open(a.out, "w") as f:
        json.dump(result, f, indent=1)
    for r in cases:
        rtv = r["runtime"] or {}
        tv = r["torch"] or {}
        if r["kind"] == "gemm":
            print(f"gemm {r.get('m')}x{r.get('n')}x{r.get('k')}: runtime "
                  f"{rtv.get('tflops', float('nan')):.0f} TFLOP/s, torch "
                  f"{tv.get('tflops', float('nan')):.0f}, ratio {r.get('ratio', float('nan')):.3f}")
        else:
            print(f"attn b{r.get('b')} h{r.get('heads')}/{r.get('kv_heads')} s{r.get('seq')} "
                  f"d{r.get('head_dim')}: runtime {rtv.get('fwd_bwd_tflops', float('nan')):.0f} "
                  f"TFLOP/s fwd+bwd, torch {tv.get('fwd_bwd_tflops', float('nan')):.0f}, ratio "
                  f"{r.get('ratio', float('nan')):.3f}")
    return 0 if rc == 0 and rt else 1


if __name__ == "__main__":
    sys.exit(main())
