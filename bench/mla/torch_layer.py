#!/usr/bin/env python3
"""One decode step of transformers' DeepseekV3Attention in bf16 on the GPU, the PyTorch side of bench/mla/layer.ts.

A V3-shaped layer (hidden 7168, 128 heads, q_lora_rank 1536, kv_lora_rank 512, YaRN as V3's config) is built
from a config in code (random weights, no download). Its DynamicCache is filled with `context` random keys and
values per sequence (what the module would have cached: per-head K [192] and V [128] after kv_b_proj), then
decode steps of one token per sequence are timed with CUDA events (median), for the eager and sdpa attention
implementations. Each step appends to the cache, as generation does.

  python3 bench/mla/torch_layer.py --batch 64 --context 4096 --reps 10 --out torch.json
"""
import argparse
import json
import statistics

import torch
import transformers
from transformers import DeepseekV3Config
from transformers.cache_utils import DynamicCache
from transformers.models.deepseek_v3 import modeling_deepseek_v3 as mdl

ap = argparse.ArgumentParser()
ap.add_argument("--batch", type=int, default=64)
ap.add_argument("--context", type=int, default=4096)
ap.add_argument("--reps", type=int, default=10)
ap.add_argument("--impl", default="sdpa,eager")
ap.add_argument("--out")
a = ap.parse_args()

rope = dict(rope_type="yarn", rope_theta=10000.0, factor=40.0, original_max_position_embeddings=4096, beta_fast=32, beta_slow=1,
            mscale=1.0, mscale_all_dim=1.0)
kw = dict(hidden_size=7168, num_attention_heads=128, num_key_value_heads=128, q_lora_rank=1536, kv_lora_rank=512,
          qk_nope_head_dim=128, qk_rope_head_dim=64, v_head_dim=128, rms_norm_eps=1e-6, attention_bias=False,
          num_hidden_layers=1, max_position_embeddings=163840, vocab_size=32)
try:
    cfg = DeepseekV3Config(rope_parameters=rope, **kw)
except TypeError:
    cfg = DeepseekV3Config(rope_theta=10000.0, rope_scaling=dict(rope, type="yarn"), **kw)
dev = torch.device("cuda")
torch.manual_seed(0)
rows = []
for impl in a.impl.split(","):
    cfg._attn_implementation = impl
    attn = mdl.DeepseekV3Attention(cfg, layer_idx=0).to(dev, torch.bfloat16).eval()
    rotary = mdl.DeepseekV3RotaryEmbedding(config=cfg).to(dev)
    b, H, T = a.batch, 128, a.context
    x = torch.randn(b, 1, 7168, device=dev, dtype=torch.bfloat16)
    # What the module caches differs between transformers versions (per-head K and V, or the compressed latent and
    # the shared RoPE key): one real step on an empty cache tells the shapes, then the cache is filled to `context`.
    probe = DynamicCache()
    with torch.no_grad():
        cos, sin = rotary(x, torch.zeros((b, 1), device=dev, dtype=torch.long))
        attn(hidden_states=x, position_embeddings=(cos, sin), attention_mask=None, past_key_values=probe,
             cache_position=torch.tensor([0], device=dev))
    layer0 = probe.layers[0] if hasattr(probe, "layers") else None
    k0, v0 = (layer0.keys, layer0.values) if layer0 is not None else (probe.key_cache[0], probe.value_cache[0])
    cached = "keys %s, values %s per token" % (tuple(k0.shape[:2]) + tuple(k0.shape[3:]), tuple(v0.shape[:2]) + tuple(v0.shape[3:]))
    del probe
    cache = DynamicCache()
    cache.update(torch.randn(k0.shape[0], k0.shape[1], T, k0.shape[-1], device=dev, dtype=torch.bfloat16),
                 torch.randn(v0.shape[0], v0.shape[1], T, v0.shape[-1], device=dev, dtype=torch.bfloat16), 0)
    times = []
    with torch.no_grad():
        for r in range(a.reps + 2):
            pos = torch.full((b, 1), T + r, device=dev, dtype=torch.long)
            cos, sin = rotary(x, pos)
            s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            s.record()
            attn(hidden_states=x, position_embeddings=(cos, sin), attention_mask=None, past_key_values=cache,
                 cache_position=torch.tensor([T + r], device=dev))
            e.record()
            torch.cuda.synchronize()
            if r >= 2:
                times.append(s.elapsed_time(e))
    rows.append(dict(impl=impl, batch=b, context=T, cached=cached, median_ms=statistics.median(times), min_ms=min(times)))
    print("transformers %s DeepseekV3Attention bf16, b=%d, context %d (cache: %s): %.3f ms a decode step (median of %d), min %.3f"
          % (impl, b, T, cached, rows[-1]["median_ms"], len(times), rows[-1]["min_ms"]))
    del cache, attn
    torch.cuda.empty_cache()
best = min(rows, key=lambda r: r["median_ms"])  # the comparator: the faster of the implementations timed
res = dict(device=torch.cuda.get_device_name(), torch=torch.__version__, transformers=transformers.__version__, rows=rows,
           comparator=dict(impl=best["impl"], median_ms=best["median_ms"]))
print("comparator: transformers %s, %.3f ms" % (best["impl"], best["median_ms"]))
if a.out:
    with open(a.out, "w") as f:
        json.dump(res, f, indent=1)
