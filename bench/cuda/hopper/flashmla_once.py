#!/usr/bin/env python3
"""FlashMLA's dense decode kernel (the anchors' 9241ae3 build) called on given shapes, for ncu: one warm call of the
first shape, then one call of each shape, causal, page 64, bf16, fresh random inputs (as bench_flashmla.py sets
them up). Profile the calls after the warm one:

  ncu -k regex:splitkv_mla_kernel --launch-skip 1 --launch-count N python3 bench/cuda/hopper/flashmla_once.py \\
      --anchors .gpu-host/anchors b,s_k,h_q,s_q [b,s_k,h_q,s_q ...]
"""
import argparse, os, sys

ap = argparse.ArgumentParser()
ap.add_argument("--anchors", default=".gpu-host/anchors")
ap.add_argument("shapes", nargs="+", help="b,s_k,h_q,s_q")
a = ap.parse_args()
sys.path.insert(0, os.path.join(a.anchors, "flashmla-sparse"))
import torch  # noqa: E402
from flash_mla import get_mla_metadata, flash_mla_with_kvcache  # noqa: E402

D, DV, PAGE = 576, 512, 64
dev = torch.device("cuda:0")


def prepare(b, s_k, h_q, s_q):
    torch.manual_seed(0)
    pages = (s_k + PAGE - 1) // PAGE
    table = torch.randperm(b * pages, dtype=torch.int32).view(b, pages).to(dev)
    lens = torch.full((b,), s_k, dtype=torch.int32, device=dev)
    q = torch.randn(b, s_q, h_q, D, dtype=torch.bfloat16, device=dev)
    k = torch.randn(b * pages, PAGE, 1, D, dtype=torch.bfloat16, device=dev)
    meta, splits = get_mla_metadata(lens, s_q * h_q, 1)
    return lambda: flash_mla_with_kvcache(q, k, table, lens, DV, meta, splits, causal=True)


calls = [prepare(*map(int, s.split(","))) for s in a.shapes]
calls[0]()
for c in calls:
    c()
torch.cuda.synchronize()
print("flashmla_once: %d shapes called" % len(calls))
