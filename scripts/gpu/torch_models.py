"""torch_models.py -- the plain-PyTorch models and training step of llmcal's PyTorch yardstick.

Imported only by the GPU-side scripts (torch_memory.py without --dry-run, torch_step.py);
llmcal itself and its CI never need PyTorch.

Two decoders written from scratch (no Hugging Face, nothing downloaded), randomly initialised:

* GPT-2 style (nanoGPT): learned positions, LayerNorm (weight + bias), GELU (tanh) MLP, biases
  on every linear, tied embeddings, optional dropout (embedding, both residual branches, and the
  attention probabilities inside the flash kernel).
* Llama style: RoPE (rotate-half), RMSNorm (weight only, F.rms_norm), SwiGLU MLP, GQA, no
  biases, untied output layer.

Where the estimator's `pytorch` semantics (estimator/src/memory.c, docs/memory.md) rest on a
choice a model author makes, the models make the same choice:

* fused projections: one QKV linear (nanoGPT's c_attn; Llama's wq/wk/wv fused into wqkv) and one
  gate+up linear for SwiGLU (w13): the QKV and FC1 inputs are saved once, not once per linear
  (under autocast an activation's bf16 cast is not cached, so separate linears would each save
  their own copy);
* loss: F.cross_entropy(logits.float(), targets) -- bf16 logits, their fp32 copy and the fp32
  log-softmax; the training loop keeps `logits` referenced until backward is done (as a loop
  holding `outputs.logits` does), so the bf16 logits live through backward;
* the optimizer: zero_grad(set_to_none=True) after each step (gradients do not exist during the
  next forward unless gradient accumulation keeps them);
* the causal mask: flash attention takes is_causal=True (no mask tensor); eager ("standard")
  attention uses one boolean (s, s) upper-triangular mask per forward, shared by every layer and
  saved once by masked_fill (s**2 bytes, at most 4 MiB at the 2K sequences eager runs here; the
  estimator does not count it);
* eager attention: scores in the compute dtype, F.softmax(dtype=torch.float32) then a cast back
  (the fp32 probabilities saved by softmax and their 16-bit cast saved by the PV matmul: the
  estimator's (4 + e) bytes per score), no attention dropout; GQA without repeating K/V (the r =
  a/g query heads of a group are folded into the row dimension), so K and V are saved with g
  heads as the estimator counts them;
* flash attention: F.scaled_dot_product_attention restricted to the FLASH_ATTENTION backend,
  enable_gqa=True (if this PyTorch refuses it, K/V are repeat_interleave'd and the result says
  so in "gqa");
* activation checkpointing (recompute full): torch.utils.checkpoint(use_reentrant=False) around
  every block, the estimator's "full" recompute of every layer.

Things the estimator may count differently (for the session that fixes the semantics): under
autocast the residual stream stays fp32 (embedding output and every residual add are fp32, and
LayerNorm/RMSNorm inputs are saved in fp32); the tied output layer's autocast weight cast; the
flash kernel's own saved output and RNG state.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

try:
    from torch.nn.attention import SDPBackend, sdpa_kernel
except ImportError:  # older PyTorch
    SDPBackend = None
    sdpa_kernel = None


class Attention(nn.Module):
    def __init__(self, shape, rope):
        super().__init__()
        h, a, g, d = shape["hidden"], shape["heads"], shape["kv_heads"], shape["head_dim"]
        bias = shape["biases"]
        self.a, self.g, self.d = a, g, d
        self.qkv = nn.Linear(h, (a + 2 * g) * d, bias=bias)
        self.proj = nn.Linear(a * d, h, bias=bias)
        self.rope = rope
        self.gqa_mode = "native" if a == g else "enable_gqa"

    def forward(self, x, attn, dropout_p, cos_sin, mask):
        b, s, _ = x.shape
        a, g, d = self.a, self.g, self.d
        q, k, v = self.qkv(x).split([a * d, g * d, g * d], dim=-1)
        q = q.view(b, s, a, d)
        k = k.view(b, s, g, d)
        v = v.view(b, s, g, d)
        if self.rope:
            # q and k become new tensors; v is copied too, so that no view keeps the whole fused
            # QKV output alive (it would be saved a second time beside the rotated q and k)
            q, k, v = apply_rope(q, cos_sin), apply_rope(k, cos_sin), v.contiguous()
        if attn == "flash":
            y = self._flash(q, k, v, dropout_p)
        else:
            y = self._eager(q, k, v, mask)
        return self.proj(y.reshape(b, s, a * d))

    def _flash(self, q, k, v, dropout_p):
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)  # views, (b, heads, s, d)
        p = dropout_p if self.training else 0.0
        if self.a != self.g and self.gqa_mode == "enable_gqa":
            try:
                y = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True,
                                                   enable_gqa=True)
                return y.transpose(1, 2)
            except (RuntimeError, TypeError):
                self.gqa_mode = "repeat_interleave"
        if self.a != self.g:
            r = self.a // self.g
            k, v = k.repeat_interleave(r, dim=1), v.repeat_interleave(r, dim=1)
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
        return y.transpose(1, 2)  # (b, s, a, d)

    def _eager(self, q, k, v, mask):
        b, s, a, d = q.shape
        g = self.g
        r = a // g
        # query heads of one KV group folded into rows: (b, g, r*s, d); K, V stay (b, g, s, d).
        # Explicit contiguous copies: the matmuls save exactly these (Q, K, V once each), never a
        # view of the fused QKV output, whatever b is
        qf = q.view(b, s, g, r, d).permute(0, 2, 3, 1, 4).contiguous().view(b, g, r * s, d)
        kk = k.transpose(1, 2).contiguous()  # (b, g, s, d)
        vv = v.transpose(1, 2).contiguous()  # (b, g, s, d)
        scores = torch.matmul(qf, kk.transpose(-1, -2)) * (1.0 / math.sqrt(d))
        scores = scores.view(b, g, r, s, s).masked_fill(mask, float("-inf"))
        probs = F.softmax(scores, dim=-1, dtype=torch.float32).to(vv.dtype)
        y = torch.matmul(probs.view(b, g, r * s, s), vv)  # (b, g, r*s, d)
        return y.view(b, g, r, s, d).permute(0, 3, 1, 2, 4)  # (b, s, g, r, d) = (b, s, a, d)


def rope_tables(s, d, device, base=500000.0):
    inv = 1.0 / (base ** (torch.arange(0, d, 2, device=device, dtype=torch.float32) / d))
    t = torch.arange(s, device=device, dtype=torch.float32)
    f = torch.outer(t, inv)  # (s, d/2)
    emb = torch.cat([f, f], dim=-1)  # (s, d)
    return emb.cos(), emb.sin()


def apply_rope(x, cos_sin):
    cos, sin = cos_sin  # (s, d) in x's dtype
    x1, x2 = x.chunk(2, dim=-1)
    rot = torch.cat([-x2, x1], dim=-1)
    return x * cos[None, :, None, :] + rot * sin[None, :, None, :]


class MLP(nn.Module):
    def __init__(self, shape):
        super().__init__()
        h, f = shape["hidden"], shape["ffn"]
        self.gated = shape["act"] == "swiglu"
        bias = shape["biases"]
        self.fc = nn.Linear(h, (2 if self.gated else 1) * f, bias=bias)  # [gate; up] fused
        self.proj = nn.Linear(f, h, bias=bias)

    def forward(self, x):
        if self.gated:
            gate, up = self.fc(x).chunk(2, dim=-1)
            return self.proj(F.silu(gate) * up)
        return self.proj(F.gelu(self.fc(x), approximate="tanh"))


class Block(nn.Module):
    def __init__(self, shape):
        super().__init__()
        h = shape["hidden"]
        rms = shape["norm"] == "rmsnorm"
        self.n1 = nn.RMSNorm(h, eps=1e-5) if rms else nn.LayerNorm(h)
        self.n2 = nn.RMSNorm(h, eps=1e-5) if rms else nn.LayerNorm(h)
        self.attn = Attention(shape, rope=shape["pos"] == "rope")
        self.mlp = MLP(shape)

    def forward(self, x, attn, dropout_p, cos_sin, mask):
        y = self.attn(self.n1(x), attn, dropout_p, cos_sin, mask)
        if dropout_p > 0 and self.training:
            y = F.dropout(y, dropout_p)
        x = x + y
        y = self.mlp(self.n2(x))
        if dropout_p > 0 and self.training:
            y = F.dropout(y, dropout_p)
        return x + y


class Decoder(nn.Module):
    """GPT-2 style or Llama style, from a llmcal model shape (docs/profiles.md schema)."""

    def __init__(self, shape, attn="flash", dropout_p=0.0, recompute="none"):
        super().__init__()
        self.shape = shape
        self.attn_kind = attn
        self.dropout_p = dropout_p
        self.recompute = recompute
        h, v = shape["hidden"], shape["vocab"]
        self.tok = nn.Embedding(v, h)
        self.pos = nn.Embedding(shape["max_positions"], h) if shape["pos"] == "learned" else None
        self.blocks = nn.ModuleList(Block(shape) for _ in range(shape["layers"]))
        rms = shape["norm"] == "rmsnorm"
        self.norm = nn.RMSNorm(h, eps=1e-5) if rms else nn.LayerNorm(h)
        self.head = None if shape["tied_embeddings"] else nn.Linear(h, v, bias=False)
        self.apply(self._init)

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)

    def forward(self, idx):
        b, s = idx.shape
        x = self.tok(idx)
        if self.pos is not None:
            x = x + self.pos(torch.arange(s, device=idx.device))
        if self.dropout_p > 0 and self.training:
            x = F.dropout(x, self.dropout_p)
        cos_sin = None
        if self.shape["pos"] == "rope":
            cos, sin = rope_tables(s, self.shape["head_dim"], idx.device)
            ac = torch.is_autocast_enabled(idx.device.type)
            dt = torch.get_autocast_dtype(idx.device.type) if ac else x.dtype
            cos_sin = (cos.to(dt), sin.to(dt))
        mask = None
        if self.attn_kind != "flash":
            mask = torch.ones(s, s, dtype=torch.bool, device=idx.device).triu(1)
        for blk in self.blocks:
            if self.recompute == "full" and self.training:
                x = checkpoint(blk, x, self.attn_kind, self.dropout_p, cos_sin, mask,
                               use_reentrant=False)
            else:
                x = blk(x, self.attn_kind, self.dropout_p, cos_sin, mask)
        x = self.norm(x)
        w = self.tok.weight if self.head is None else self.head.weight
        return F.linear(x, w)  # logits (b, s, v), bf16 under autocast

    def gqa_mode(self):
        return self.blocks[0].attn.gqa_mode


def attention_context(attn):
    """the flash backend only, for 'flash'; the math path is our own eager code anyway"""
    if attn == "flash" and sdpa_kernel is not None:
        return sdpa_kernel([SDPBackend.FLASH_ATTENTION])
    import contextlib

    return contextlib.nullcontext()


def make_optimizer(model, name, impl, lr=1e-4):
    params = [p for p in model.parameters() if p.requires_grad]
    if name == "adamw":
        kw = {"fused": True} if impl == "fused" else {"foreach": impl == "foreach"}
        return torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.95), weight_decay=0.1, **kw)
    if name == "sgd":
        kw = {"fused": True} if impl == "fused" else {"foreach": impl == "foreach"}
        return torch.optim.SGD(params, lr=lr, momentum=0.9, **kw)
    raise ValueError(f"optimizer {name!r} not supported by the yardstick")


def train_step(model, opt, cfg, record=None, saved=None):
    """one optimizer step of cfg["gbs"] // cfg["mbs"] micro-batches of random tokens.

    record: dict to fill with memory_allocated() after the last micro-batch's forward (loss
    computed) and backward, and after the optimizer step. saved: a set() of storage ids to
    fill with the tensors autograd saves in the last micro-batch's forward (diagnostic)."""
    v, mbs, seq = model.shape["vocab"], cfg["mbs"], cfg["seq"]
    micro = cfg["gbs"] // mbs
    dev = next(model.parameters()).device
    mixed = cfg["precision"] == "bf16-mixed"
    for i in range(micro):
        last = i == micro - 1
        idx = torch.randint(0, v, (mbs, seq), device=dev)
        tgt = torch.randint(0, v, (mbs, seq), device=dev)
        hooks = _saved_hooks(model, saved) if (last and saved is not None) else None
        with attention_context(cfg["attention"]):
            if hooks is not None:
                hooks.__enter__()
            try:
                with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=mixed):
                    logits = model(idx)
                loss = F.cross_entropy(logits.float().view(-1, v), tgt.view(-1)) / micro
            finally:
                if hooks is not None:
                    hooks.__exit__(None, None, None)
            if record is not None and last:
                record["after_forward"] = allocated(dev)
            loss.backward()
        del logits, loss, idx, tgt
        if record is not None and last:
            record["after_backward"] = allocated(dev)
    opt.step()
    if record is not None:
        record["after_optimizer"] = allocated(dev)
    opt.zero_grad(set_to_none=True)


def allocated(dev):
    """torch.cuda.memory_allocated() on a GPU; 0 elsewhere (the CPU smoke test)"""
    return torch.cuda.memory_allocated(dev) if dev.type == "cuda" else 0


def _saved_hooks(model, saved):
    param_ptrs = {p.untyped_storage().data_ptr() for p in model.parameters()}

    def pack(t):
        st = t.untyped_storage()
        ptr = st.data_ptr()
        if ptr not in param_ptrs:
            saved[ptr] = max(saved.get(ptr, 0), st.nbytes())
        return t

    return torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t)
