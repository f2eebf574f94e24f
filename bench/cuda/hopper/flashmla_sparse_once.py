#!/usr/bin/env python3
"""FlashMLA's sparse FP8 decode (9241ae3, the anchor build) on one of bench_sparse.py's cases, called N times with no
timing machinery around it (no kineto, no L2-flush memset): the process to put under ncu.

  python3 bench/cuda/hopper/flashmla_sparse_once.py [--anchors .gpu-host/anchors] [--case 0] [--calls 4]

Case numbers are bench_sparse.py's sparse_cases() order: 0 = V3.2 b64 h_q 128 s_q 2 topk 2048 (the case issue #14's
profiles use), 5..8 the single-cache MODEL1 cases. The inputs come from bench_sparse.py's own generator (same seeds).
ncu: -k regex:splitkv_mla_fp8_sparse --launch-skip 2 --launch-count 1."""
import argparse, os, random, sys

ap = argparse.ArgumentParser()
ap.add_argument("--anchors", default=".gpu-host/anchors")
ap.add_argument("--case", type=int, default=0)
ap.add_argument("--calls", type=int, default=4)
a = ap.parse_args()
sys.path.insert(0, os.path.join(a.anchors, "flashmla-sparse"))
import torch  # noqa: E402
import bench_sparse as bs  # noqa: E402  (imports flash_mla from the same folder)

c = bs.sparse_cases()[a.case]
random.seed(c.b * 1000 + c.h_q + c.topk)
torch.manual_seed(c.b * 1000 + c.h_q + c.topk)
q = torch.randn(c.b, c.s_q, c.h_q, c.d_qk, device=bs.dev, dtype=torch.bfloat16).clamp_(-1, 1)
s0 = bs.gen_scope(c.b, c.s_q, c.s_k, c.block_size, c.topk, c.d_qk, c.is_varlen, False, None)
s1 = None
if c.extra_topk is not None:
    s1 = bs.gen_scope(c.b, c.s_q, c.extra_s_k, c.extra_block_size, c.extra_topk, c.d_qk, c.is_varlen, c.have_extra_topk_length, None)
meta, _ = bs.get_mla_metadata()
for _ in range(a.calls):
    out, lse = bs.flash_mla_with_kvcache(q, s0["cache"], None, None, bs.DV, meta, None, c.d_qk ** -0.55, False, True, s0["indices"], None,
                                         s1["cache"] if s1 else None, s1["indices"] if s1 else None, None, s1["topk_length"] if s1 else None)
torch.cuda.synchronize()
print(f"case {a.case}: {c.label} b={c.b} h_q={c.h_q} s_q={c.s_q} topk={c.topk} d_qk={c.d_qk}: {a.calls} calls, out finite {bool(torch.isfinite(out).all())}")
