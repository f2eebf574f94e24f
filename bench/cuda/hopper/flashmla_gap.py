#!/usr/bin/env python3
"""FlashMLA's dense decode (the anchors' 9241ae3 build) timed as harness_gap's `gap` mode times ours: three single
calls after 400 ms idle, then N calls back to back, each between its own pair of CUDA events (a call is FlashMLA's
decode kernel and its combine). `--b2bn N`: one warm call, 500 ms idle, N calls back to back and nothing timed, for
ncu (--launch-skip k --launch-count 1 -k regex:splitkv_mla_kernel: k = 1 is the first call after idle).

  python3 bench/cuda/hopper/flashmla_gap.py [--anchors .gpu-host/anchors] [--n 400] [--b2bn N] [--no-single] [--prof N] b,s_k,h_q,s_q [...]
(--b2bn takes the first shape only.)
"""
import argparse
import time

ap = argparse.ArgumentParser()
ap.add_argument("--anchors", default=".gpu-host/anchors")
ap.add_argument("--n", type=int, default=400)
ap.add_argument("--b2bn", type=int, default=0)
ap.add_argument("--no-single", action="store_true", help="back to back only")
ap.add_argument("--prof", type=int, default=0, help="then N calls back to back under torch.profiler: each kernel's "
                "own device time (the decode apart from the combine), one 'fmprof' line a kernel")
ap.add_argument("shapes", nargs="+", help="b,s_k,h_q,s_q")
a = ap.parse_args()
import flashmla_call  # noqa: E402  (this script's folder is on sys.path)

torch, flash_mla = flashmla_call.load(a.anchors)
dev = torch.device("cuda:0")


def median(v):
    v = sorted(v)
    return v[len(v) // 2] if v else 0.0


def one(shape_arg):
    b, s_k, h_q, s_q = map(int, shape_arg.split(","))
    fn = flashmla_call.prepare(torch, flash_mla, dev, b, s_k, h_q, s_q)
    shape = "b=%d,s_k=%d,h_q=%d,s_q=%d" % (b, s_k, h_q, s_q)
    fn()
    torch.cuda.synchronize()
    if a.b2bn:
        time.sleep(0.5)
        for _ in range(a.b2bn):
            fn()
        torch.cuda.synchronize()
        print("b2bn %s flashmla: %d calls" % (shape, a.b2bn))
        return
    ev = [torch.cuda.Event(enable_timing=True) for _ in range(2 * a.n + 2)]
    for r in range(0 if a.no_single else 3):
        time.sleep(0.4)
        ev[0].record()
        fn()
        ev[1].record()
        ev[1].synchronize()
        print("gap %s flashmla single r=%d call_us=%.1f" % (shape, r, ev[0].elapsed_time(ev[1]) * 1e3))
    time.sleep(0.2)
    for i in range(a.n):
        ev[2 * i].record()
        fn()
        ev[2 * i + 1].record()
    ev[2 * a.n - 1].synchronize()
    calls = [ev[2 * i].elapsed_time(ev[2 * i + 1]) * 1e3 for i in range(a.n)]
    gaps = [ev[2 * i + 1].elapsed_time(ev[2 * i + 2]) * 1e3 for i in range(a.n - 1)]
    print("gap %s flashmla b2b n=%d first10_call_us=%.1f call_us=%.1f gap_us=%.2f (second half medians; whole run %.1f ms)"
          % (shape, a.n, median(calls[:10]), median(calls[a.n // 2:]), median(gaps[a.n // 2:]), ev[0].elapsed_time(ev[2 * a.n - 1])))
    if a.prof:
        prof_kernels(shape, fn)


def prof_kernels(shape, fn):
    """N calls back to back under the profiler (CUPTI): each kernel's mean device time and launches, so FlashMLA's
    decode and combine are seen apart (the events above time a whole call). Never fatal: a profiler that does not
    work here prints one 'fmprof ... error' line."""
    try:
        from torch.profiler import profile, ProfilerActivity
        for _ in range(20):
            fn()
        torch.cuda.synchronize()
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            for _ in range(a.prof):
                fn()
            torch.cuda.synchronize()
        rows = []
        for e in prof.key_averages():
            tot = getattr(e, "device_time_total", None)
            if tot is None:
                tot = getattr(e, "cuda_time_total", 0)
            if tot and e.count:
                rows.append((tot / e.count, e.count, e.key))
        for us, n, key in sorted(rows, reverse=True)[:6]:
            print("fmprof %s kernel=%s us=%.1f n=%d" % (shape, key.replace(" ", "")[:60], us, n))
    except Exception as ex:  # noqa: BLE001
        print("fmprof %s error %s" % (shape, str(ex).replace("\n", " ")[:200]))


for sh in a.shapes[:1] if a.b2bn else a.shapes:
    one(sh)
