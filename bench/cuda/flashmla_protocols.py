#!/usr/bin/env python3
"""FlashMLA's dense decode timed under two protocols, on bench_flashmla.py's own inputs (the anchors folder's
FlashMLA build, 9241ae3 by default), written in bench_flashmla.py's result format so `flashmla bench --flashmla` reads it:

  flashmla      triton.testing.do_bench(warmup=25, rep=200, median), as bench_flashmla.py: 256 MB zeroed before every
                repetition, outside its events
  flashmla_b2b  back to back, as `flashmla bench` times ours (src/cli/harness.ts, src/backends/cuda/timing.ts): >= 300 ms
                of calls, 10 untimed, then 50 timed, median. FlashMLA's Python entry costs ~40-150 us of host time a call,
                more than a short kernel takes, so its calls are captured in a CUDA graph (--graph-calls of them, 10 by
                default) and each repetition is one replay between two events, divided by the calls it holds; where
                capture fails, the calls run eagerly (the row's b2b_method says which)
  flashmla_b2b_eager  the same loop without the graph (what session 32's calls 2-5 measured): paced by the host where
                the kernel is short
  flashmla_flush_short  (protocol flush_short, session 35) the loop `flashmla bench --flush-mb 256` ran until session
                35: >= 300 ms of calls back to back (replays of the graph above, so the host does not pace them), then
                10 untimed and 30 timed calls, each after 256 MB zeroed, the median

`flashmla bench` run without --flush-mb is compared with flashmla_b2b, with --flush-mb 256 with flashmla: one protocol
on both sides (session 32 measured what mixing them does: docs/notes/benchmark-protocol.md).

  python3 bench/cuda/flashmla_protocols.py ANCHORS_DIR --configs CONFIGS.json --out OUT.json
"""
import argparse, json, os, sys

from b2b_timing import back_to_back_ms, capture_graph  # (this folder: the script's own directory is on sys.path)

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("anchors", help="the folder holding bench_flashmla.py (.gpu-host/anchors on the GPU host)")
ap.add_argument("--configs", required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--warm-ms", type=float, default=300)
ap.add_argument("--warmup", type=int, default=10)
ap.add_argument("--reps", type=int, default=50)
ap.add_argument("--graph-calls", type=int, default=10, help="calls a CUDA graph replay holds (0: no graph)")
ap.add_argument("--protocols", default="do_bench,eager,graph", help="which to time (comma list of do_bench, eager, graph, flush_short)")
a = ap.parse_args()
sys.argv = [sys.argv[0]]  # bench_flashmla.py reads --flashmla-build from argv at import: keep its default build
sys.path.insert(0, os.path.abspath(a.anchors))
import torch, triton  # noqa: E402
import bench_flashmla as bf  # noqa: E402


def capture(fn):
    """fn captured a.graph_calls times into one CUDA graph (b2b_timing.capture_graph)."""
    return capture_graph(fn, a.graph_calls)


def graph_back_to_back(fn):
    """fn captured a.graph_calls times into one CUDA graph; the median replay time over the calls it holds."""
    g = capture(fn)
    t = back_to_back_ms(g.replay, a.warm_ms, a.warmup, a.reps) / a.graph_calls
    del g
    return t


def flush_short_ms(fn, flush_mb=256):
    """ours's pre-session-35 --flush-mb loop: a.warm_ms of graph replays (a.graph_calls calls each), then a.warmup
    untimed and 30 timed calls, each after flush_mb MB zeroed; the median (ms)."""
    import time
    cache = torch.empty(flush_mb << 18, dtype=torch.int32, device=bf.dev)
    g = capture(fn) if a.graph_calls > 0 else None
    t0, n = time.perf_counter(), 0
    while (time.perf_counter() - t0) * 1e3 < a.warm_ms:
        (g.replay if g is not None else fn)(); n += 1
        if n % 8 == 0: torch.cuda.synchronize()
    for _ in range(a.warmup):
        cache.zero_(); fn()
    ev = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(30)]
    for s, e in ev:
        cache.zero_(); s.record(); fn(); e.record()
    torch.cuda.synchronize()
    del g, cache
    ts = sorted(s.elapsed_time(e) for s, e in ev)
    return 0.5 * (ts[14] + ts[15])


want = set(a.protocols.split(","))
res = {"device": torch.cuda.get_device_name(0), "flashmla_build": f"{bf.BUILD} ({bf.BUILDS[bf.BUILD][1]})",
       "sms": torch.cuda.get_device_properties(0).multi_processor_count,
       "protocols": {"flashmla": "do_bench", "flashmla_b2b": "back-to-back"},
       "b2b": {"warm_ms": a.warm_ms, "warmup": a.warmup, "reps": a.reps, "graph_calls": a.graph_calls}, "rows": []}
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
    times = {}
    if "do_bench" in want: times["flashmla"] = bf.bench(fm)
    if "eager" in want: times["flashmla_b2b_eager"] = back_to_back_ms(fm, a.warm_ms, a.warmup, a.reps)
    row["b2b_method"] = "eager"
    if a.graph_calls > 0 and "graph" in want:
        try:
            times["flashmla_b2b"] = graph_back_to_back(fm)
            row["b2b_method"] = f"cuda-graph x{a.graph_calls}"
        except Exception as ex:  # a build whose entry cannot be captured: the eager loop stands in
            row["graph_error"] = repr(ex)[:300]
    if "flush_short" in want: times["flashmla_flush_short"] = flush_short_ms(fm)
    if "flashmla_b2b" not in times and "flashmla_b2b_eager" in times: times["flashmla_b2b"] = times["flashmla_b2b_eager"]
    for name, t in times.items():
        row[name] = {"ms": t, "TFLOPS": flop / t / 1e9, "GBps": byts / t / 1e6}
    res["rows"].append(row)
    us = lambda k: f"{row[k]['ms'] * 1e3:.1f} us" if k in row else "-"
    print(f"b={b:4d} s_k={c.get('s_k', '-')!s:>6} h_q={h_q:3d} s_q={s_q}  FlashMLA do_bench {us('flashmla')}, "
          f"back to back {us('flashmla_b2b')} ({row['b2b_method']}; eager {us('flashmla_b2b_eager')}; flush_short {us('flashmla_flush_short')})", flush=True)
    del q, k
with open(a.out, "w") as fh:
    json.dump(res, fh, indent=1)
