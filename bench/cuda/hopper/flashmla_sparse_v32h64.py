#!/usr/bin/env python3
"""FlashMLA's sparse FP8 decode (9241ae3, the anchor build) on its four V3.2 perf shapes with h_q 64 instead of 128 (the
one-CTA path: DeepSeek-V3.2's 128 heads split over two GPUs), timed by bench_sparse.py's own run_sparse (same inputs,
seeds and timer); writes bench_sparse.py's JSON format, which sparse-sm90-final-ab.js --shapes v32h64 reads.

  python3 bench/cuda/hopper/flashmla_sparse_v32h64.py --out FILE [--anchors .gpu-host/anchors]"""
import argparse, json, os, sys

ap = argparse.ArgumentParser()
ap.add_argument("--anchors", default=".gpu-host/anchors")
ap.add_argument("--out", required=True)
ap.add_argument("--num-tests", type=int, default=10)
a = ap.parse_args()
sys.path.insert(0, os.path.join(a.anchors, "flashmla-sparse"))
import torch  # noqa: E402
import bench_sparse as bs  # noqa: E402  (imports flash_mla from the same folder)

res = {"device": torch.cuda.get_device_name(0), "flashmla_commit": "9241ae3", "rows": []}
for s_q in (2, 1):
    for b in (64, 128):
        r = bs.run_sparse(bs.SparseCase(b, 64, s_q, 32768, 2048, 576, label="V3.2 h64"), a.num_tests)
        res["rows"].append(r)
        print(f"V3.2 h64 b={b} s_q={s_q}: {r['us']:.1f} us", flush=True)
        torch.cuda.empty_cache()
with open(a.out, "w") as fh:
    json.dump(res, fh, indent=1)
