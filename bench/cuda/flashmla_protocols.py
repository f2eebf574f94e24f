#!/usr/bin/env python3
"""FlashMLA's dense decode timed under two protocols, on bench_flashmla.py's own inputs (the anchors folder's
FlashMLA build, 9241ae3 by default), written in bench_flashmla.py's result format so `flashmla bench --flashmla` reads it:

  flashmla      triton.testing.do_bench(warmup=25, rep=200, median), as bench_flashmla.py: 256 MB zeroed before every
                repetition, outside its events
  flashmla_b2b  `flashmla bench`'s own protocol (src/cli/harness.ts, src/backends/cuda/timing.ts): >= 300 ms of calls
                back to back, 10 untimed, then 50 repetitions back to back, each between two CUDA events, median

`flashmla bench` run without --flush-mb is compared with flashmla_b2b, with --flush-mb 256 with flashmla: one protocol
on both sides (session 32 measured what mixing them does: docs/notes/benchmark-protocol.md).

  python3 bench/cuda/flashmla_protocols.py ANCHORS_DIR --configs CONFIGS.json --out OUT.json
"""
import argparse, json, os, sys, time

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("anchors", help="the folder holding bench_flashmla.py (.gpu-host/anchors on the GPU host)")
ap.add_argument("--configs", required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--warm-ms", type=float, default=300)
ap.add_argument("--warmup", type=int, default=10)
ap.add_argument("--reps", type=int, default=50)
a = ap.parse_args()
sys.argv = [sys.argv[0]]  # bench_flashmla.py reads --flashmla-build from argv at import: keep its default build
sys.path.insert(0, os.path.abspath(a.anchors))
import torch, triton  # noqa: E402
import bench_flashmla as bf  # noqa: E402


def back_to_back(fn):
    t0 = time.perf_counter()
    n = 0
    while (time.perf_counter() - t0) * 1e3 < a.warm_ms:
        fn(); n += 1
        if n % 8 == 0: torch.cuda.synchronize()
    for _ in range(a.warmup): fn()
    ev = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(a.reps)]
    for s, e in ev:
        s.record(); fn(); e.record()
    torch.cuda.synchronize()
    ts = sorted(s.elapsed_time(e) for s, e in ev)
    m = len(ts) // 2
    return ts[m] if len(ts) % 2 else 0.5 * (ts[m - 1] + ts[m])


res = {"device": torch.cuda.get_device_name(0), "flashmla_build": f"{bf.BUILD} ({bf.BUILDS[bf.BUILD][1]})",
       "sms": torch.cuda.get_device_properties(0).multi_processor_count,
       "protocols": {"flashmla": "do_bench", "flashmla_b2b": "back-to-back"},
       "b2b": {"warm_ms": a.warm_ms, "warmup": a.warmup, "reps": a.reps}, "rows": []}
for c in json.load(open(a.configs)):
    torch.manual_seed(c.get("seed", 0))
    seqlens = bf.seqlens_of(c)
    b, h_q, s_q, h_kv = len(seqlens), c["h_q"], c["s_q"], c.get("h_kv", 1)
    max_blocks = triton.cdiv(int(seqlens.max()), bf.PAGE)
    nblk = b * max_blocks
    block_table = torch.randperm(nblk, dtype=torch.int32).view(b, max_blocks).to(bf.dev)
    seqlens = seqlens.to(bf.dev)
    q = torch.randn(b, s_q, h_q, bf.D, dtype=torch.bfloat16, device=bf.dev)
    k = torch.randn(nblk, bf.PAGE, h_kv, bf.D, dtype=torch.bfloat16, device=bf.dev)
    total = int(seqlens.sum())
    flop = 2 * s_q * total * h_q * (bf.D + bf.DV)
    byts = 2 * (total * h_kv * bf.D + b * s_q * h_q * bf.D + b * s_q * h_q * bf.DV)
    meta, splits = bf.get_mla_metadata(seqlens, s_q * h_q // h_kv, h_kv)
    fm = lambda: bf.flash_mla_with_kvcache(q, k, block_table, seqlens, bf.DV, meta, splits, causal=True)
    fm()
    row = dict(c, b=b, total_seqlen=total, flop=flop, bytes=byts)
    for name, t in (("flashmla", bf.bench(fm)), ("flashmla_b2b", back_to_back(fm))):
        row[name] = {"ms": t, "TFLOPS": flop / t / 1e9, "GBps": byts / t / 1e6}
    res["rows"].append(row)
    print(f"b={b:4d} s_k={c.get('s_k', '-')!s:>6} h_q={h_q:3d} s_q={s_q}  FlashMLA do_bench {row['flashmla']['ms'] * 1e3:8.1f} us, "
          f"back to back {row['flashmla_b2b']['ms'] * 1e3:8.1f} us ({row['flashmla_b2b']['ms'] / row['flashmla']['ms']:.3f})", flush=True)
    del q, k
with open(a.out, "w") as fh:
    json.dump(res, fh, indent=1)
