#!/usr/bin/env python3
"""FlashMLA's dense decode kernel (the anchors' 9241ae3 build) called on given shapes, for ncu: one warm call of the
first shape, then one call of each shape, causal, page 64, bf16, fresh random inputs (as bench_flashmla.py sets
them up); with --flush-mb N every call follows N MB zeroed, as in do_bench (session 35: the kernel after a dirty L2). Profile the calls after the warm one:

  ncu -k regex:splitkv_mla_kernel --launch-skip 1 --launch-count N python3 bench/cuda/hopper/flashmla_once.py \\
      --anchors .gpu-host/anchors b,s_k,h_q,s_q [b,s_k,h_q,s_q ...]
"""
import argparse

ap = argparse.ArgumentParser()
ap.add_argument("--anchors", default=".gpu-host/anchors")
ap.add_argument("--flush-mb", type=int, default=0, help="a buffer of this many MB zeroed before every call (do_bench's L2 flush)")
ap.add_argument("shapes", nargs="+", help="b,s_k,h_q,s_q")
a = ap.parse_args()
import flashmla_call  # noqa: E402  (this script's folder is on sys.path)

torch, flash_mla = flashmla_call.load(a.anchors)

dev = torch.device("cuda:0")


def prepare(b, s_k, h_q, s_q):
    return flashmla_call.prepare(torch, flash_mla, dev, b, s_k, h_q, s_q)


calls = [prepare(*map(int, s.split(","))) for s in a.shapes]
flush = torch.empty(a.flush_mb << 18, dtype=torch.int32, device=dev) if a.flush_mb > 0 else None


def call(c):
    if flush is not None:
        flush.zero_()
    c()


call(calls[0])
for c in calls:
    call(c)
torch.cuda.synchronize()
print("flashmla_once: %d shapes called" % len(calls))
