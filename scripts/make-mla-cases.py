#!/usr/bin/env python3
"""Reference cases for MlaAttention from Hugging Face transformers' DeepseekV3Attention.

Builds the attention module from a DeepseekV3Config made in code (no download, no network), sets seeded random
weights, runs batches of token sequences through it with a causal mask (a prefill of P tokens followed by decode
steps is the same causal computation as one pass over all T tokens; the TypeScript test runs the prefill and the
decode steps separately through the paged cache), and writes one folder per case:

  case.json           config (HF names), prefill length, what transformers computed for the softmax scale and RoPE
  weights.safetensors the module's state_dict in BF16 (the model's dtype; the reference ran on these rounded values)
  io.safetensors      hidden [b, T, hidden] f32 and out [b, T, hidden] f32 (computed in float64, stored as f32)

Usage (any machine with torch + transformers, CPU is enough):  python3 scripts/make-mla-cases.py test/fixtures/mla
"""
import json
import math
import os
import sys

import torch
import transformers
from safetensors.torch import save_file
from transformers import DeepseekV3Config
from transformers.models.deepseek_v3 import modeling_deepseek_v3 as mdl

CASES = [
    # name, q_lora_rank, rope scaling (None: plain RoPE), rope_interleave, batch, prefill, decode steps (hidden/heads: 256/4 unless given)
    dict(name="qlora-yarn-v3", q_lora_rank=96, rope=dict(type="yarn", factor=40.0, original_max_position_embeddings=4096,
         beta_fast=32, beta_slow=1, mscale=1.0, mscale_all_dim=1.0), interleave=True, b=2, prefill=5, decode=3),
    dict(name="noqlora-yarn-v2lite", q_lora_rank=None, rope=dict(type="yarn", factor=40.0, original_max_position_embeddings=4096,
         beta_fast=32, beta_slow=1, mscale=0.707, mscale_all_dim=0.707), interleave=True, b=2, prefill=6, decode=3),
    dict(name="qlora-yarn-attnfactor-halfsplit", q_lora_rank=96, rope=dict(type="yarn", factor=4.0, original_max_position_embeddings=64,
         beta_fast=32, beta_slow=1, mscale=1.0, mscale_all_dim=0.8), interleave=False, b=1, prefill=7, decode=4),
    dict(name="qlora-plain-rope-2heads", q_lora_rank=96, rope=None, interleave=True, b=1, prefill=3, decode=3, hidden=128, heads=2),
]
HIDDEN, HEADS, NOPE, ROPE, V, KV_LORA, THETA, EPS = 256, 4, 32, 64, 32, 512, 10000.0, 1e-6


def make_config(c):
    kw = dict(hidden_size=c.get("hidden", HIDDEN), num_attention_heads=c.get("heads", HEADS), num_key_value_heads=c.get("heads", HEADS), q_lora_rank=c["q_lora_rank"],
              kv_lora_rank=KV_LORA, qk_nope_head_dim=NOPE, qk_rope_head_dim=ROPE, v_head_dim=V, rms_norm_eps=EPS,
              attention_bias=False, num_hidden_layers=1, max_position_embeddings=163840, rope_interleave=c["interleave"],
              vocab_size=32)
    rope = c["rope"]
    # transformers 5 reads rope_parameters (rope_type + rope_theta + the scaling fields); 4.x reads rope_theta and
    # rope_scaling. Give the form this version understands, then check below that it took effect.
    if rope is None:
        params = dict(rope_type="default", rope_theta=THETA)
    else:
        params = dict(rope_type="yarn", rope_theta=THETA, **{k: v for k, v in rope.items() if k != "type"})
    try:
        cfg = DeepseekV3Config(rope_parameters=params, **kw)
        if getattr(cfg, "rope_parameters", None) is None:
            raise TypeError("rope_parameters not kept")
    except TypeError:
        legacy = None if rope is None else dict(rope, rope_type="yarn")
        cfg = DeepseekV3Config(rope_theta=THETA, rope_scaling=legacy, **kw)
    cfg._attn_implementation = "eager"
    return cfg


def main(out_dir):
    torch.manual_seed(0)
    meta_all = []
    for i, c in enumerate(CASES):
        cfg = make_config(c)
        attn = mdl.DeepseekV3Attention(cfg, layer_idx=0).eval()
        rotary = mdl.DeepseekV3RotaryEmbedding(config=cfg)
        assert getattr(cfg, "rope_interleave", c["interleave"]) == c["interleave"], "rope_interleave not supported by this transformers"
        g = torch.Generator().manual_seed(1000 + i)
        with torch.no_grad():
            for name, p in attn.named_parameters():
                if name.endswith("layernorm.weight"):
                    p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
                else:
                    p.copy_(0.08 * torch.randn(p.shape, generator=g))
                p.copy_(p.to(torch.bfloat16).to(torch.float32))  # the stored BF16 values are the weights
        b, P, S = c["b"], c["prefill"], c["decode"]
        T = P + S
        hidden = torch.randn(b, T, c.get("hidden", HIDDEN), generator=g)
        pos = torch.arange(T).unsqueeze(0).expand(b, T)
        mask = torch.full((T, T), float("-inf")).triu(1)[None, None].expand(b, 1, T, T)

        def run(dtype):
            a = attn.to(dtype)
            r = rotary.to(dtype)
            x = hidden.to(dtype)
            cos, sin = r(x, pos)
            with torch.no_grad():
                out = a(hidden_states=x, position_embeddings=(cos, sin), attention_mask=mask.to(dtype))[0]
            return out.to(torch.float64)

        out64 = run(torch.float64)
        out32 = run(torch.float32)
        attn.to(torch.float32)
        rotary.to(torch.float32)
        cos32 = 1 - 2 * (out64 * out32).sum() / ((out64 ** 2).sum() + (out32 ** 2).sum())

        folder = os.path.join(out_dir, c["name"])
        os.makedirs(folder, exist_ok=True)
        save_file({k: v.detach().to(torch.bfloat16).contiguous() for k, v in attn.state_dict().items()}, os.path.join(folder, "weights.safetensors"))
        save_file({"hidden": hidden.contiguous(), "out": out64.to(torch.float32).contiguous()}, os.path.join(folder, "io.safetensors"))
        meta = dict(
            name=c["name"], transformers=transformers.__version__, torch=torch.__version__,
            config=dict(hidden_size=c.get("hidden", HIDDEN), num_attention_heads=c.get("heads", HEADS), q_lora_rank=c["q_lora_rank"], kv_lora_rank=KV_LORA,
                        qk_nope_head_dim=NOPE, qk_rope_head_dim=ROPE, v_head_dim=V, rope_theta=THETA, rms_norm_eps=EPS,
                        rope_scaling=c["rope"], rope_interleave=c["interleave"]),
            batch=b, prefill=P, decode_steps=S,
            hf_scaling=float(attn.scaling),
            hf_inv_freq=[float(x) for x in rotary.inv_freq.float()],
            hf_attention_scaling=float(getattr(rotary, "attention_scaling", 1.0)),
            f32_vs_f64_cos_diff=float(cos32),
            note="out computed by DeepseekV3Attention in float64 on the BF16-rounded weights; causal over all T tokens",
        )
        with open(os.path.join(folder, "case.json"), "w") as f:
            json.dump(meta, f, indent=1)
        meta_all.append((c["name"], meta["hf_scaling"], meta["hf_attention_scaling"], float(cos32)))
    for m in meta_all:
        print("case %-34s scaling %.6f attention_scaling %.6f  f32-vs-f64 cos diff %.2e" % m)
    total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(out_dir) for f in fs)
    print("wrote %d cases, %.2f MB, transformers %s, torch %s" % (len(CASES), total / 1e6, transformers.__version__, torch.__version__))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "test/fixtures/mla")
