"""Back-to-back CUDA-event timing shared by bench/cuda/flashmla_protocols.py and flashmla_sparse_protocols.py: the
protocol `flashmla bench` times ours with (src/cli/harness.ts, src/backends/cuda/timing.ts): optional warm-up by the
clock, untimed calls, then repetitions back to back, each between two CUDA events, the median (ms); and the CUDA graph
both scripts replay back to back (capture_graph)."""
import time

import torch


def median(ts):
    ts = sorted(ts)
    m = len(ts) // 2
    return ts[m] if len(ts) % 2 else 0.5 * (ts[m - 1] + ts[m])


def back_to_back_ms(step, warm_ms=0.0, warmup=10, reps=50):
    """`step` run for warm_ms of wall clock (synchronized every 8), warmup times more, then reps times between events."""
    t0 = time.perf_counter()
    n = 0
    while (time.perf_counter() - t0) * 1e3 < warm_ms:
        step(); n += 1
        if n % 8 == 0: torch.cuda.synchronize()
    for _ in range(warmup): step()
    ev = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(reps)]
    for s, e in ev:
        s.record(); step(); e.record()
    torch.cuda.synchronize()
    return median([s.elapsed_time(e) for s, e in ev])


def capture_graph(fn, calls):
    """fn captured `calls` times into one CUDA graph (three warm calls on a side stream first)."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3): fn()
    torch.cuda.current_stream().wait_stream(side)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        for _ in range(calls): fn()
    return g
