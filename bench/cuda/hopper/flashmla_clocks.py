#!/usr/bin/env python3
"""FlashMLA's dense decode (the anchors' 9241ae3 build) under sustained load, with the SM clock probed between
launches: the same protocol and output lines as `harness_wide clocks` (bench/cuda/hopper/harness_clocks.cuh), so
clocks_summary.py can set the two side by side.

  python3 bench/cuda/hopper/flashmla_clocks.py [--anchors .gpu-host/anchors] [--secs 1] [--gap-mb 256]
          [--phases b2b,lb,dob] b,s_k,h_q,s_q [...]

A phase runs batches of 16 calls of flash_mla_with_kvcache (causal, page 64, bf16, inputs as bench_flashmla.py
makes them), each call between its own pair of CUDA events. Modes (as harness_clocks.cuh's): b2b / gap --secs in
one go, summarised over the second half, without / with a --gap-mb memset before each call (triton's do_bench
clears the L2 so before each rep); lb: three rounds of 400 ms idle, 300 ms back to back, 35 ms timed (the library's
`flashmla bench`); dob: three rounds of 400 ms idle, then memset + call for 25 ms of warm-up and 200 ms timed
(bench_flashmla.py). After each batch the probe (torch.cuda._sleep, a one-thread clock64 spin) runs N then 3N
cycles between events: MHz = 2N / the difference.
"""
import argparse
import time

ap = argparse.ArgumentParser()
ap.add_argument("--anchors", default=".gpu-host/anchors")
ap.add_argument("--secs", type=float, default=1.0)
ap.add_argument("--gap-mb", type=int, default=256)
ap.add_argument("--phases", default="b2b,lb,dob")
ap.add_argument("shapes", nargs="+", help="b,s_k,h_q,s_q")
a = ap.parse_args()
import flashmla_call  # noqa: E402  (this script's folder is on sys.path)

torch, flash_mla = flashmla_call.load(a.anchors)

B, N = 16, 60000
dev = torch.device("cuda:0")


def prepare(b, s_k, h_q, s_q):
    return flashmla_call.prepare(torch, flash_mla, dev, b, s_k, h_q, s_q)


def median(v):
    v = sorted(v)
    return v[len(v) // 2] if v else 0.0


def window(bs, t0, t1):
    us = [u for b in bs if t0 <= b["t"] < t1 for u in b["us"]]
    mhz = [b["mhz"] for b in bs if t0 <= b["t"] < t1]
    return median(us), median(mhz), len(us)


# mode: (memset before each call, rounds, idle ms before a round, run ms, window from, to); to = 0: the second half
MODES = {"b2b": (False, 1, 0, None, 0, 0), "gap": (True, 1, 0, None, 0, 0),
         "lb": (False, 3, 400, 335, 300, 335), "dob": (True, 3, 400, 225, 25, 225)}


def phase(shape, name, fn, mode, secs, gap):
    use_gap, rounds, idle, run_ms, w_from, w_to = MODES[mode]
    run_ms = run_ms or secs * 1e3
    if not w_to:
        w_from, w_to = run_ms / 2, 1e18
    ev = [[torch.cuda.Event(enable_timing=True) for _ in range(2 * B + 3)] for _ in range(2)]
    fn()
    torch.cuda.synchronize()
    bs, tq = [], []
    st = {"w0": 0.0}

    def enqueue(nb):
        e = ev[nb % 2]
        for i in range(B):
            if use_gap:
                gap.zero_()
            e[2 * i].record()
            fn()
            e[2 * i + 1].record()
        e[2 * B].record()
        torch.cuda._sleep(N)
        e[2 * B + 1].record()
        torch.cuda._sleep(3 * N)
        e[2 * B + 2].record()
        tq.append(time.time() * 1e3 - st["w0"])

    def collect(nb, r):
        e = ev[nb % 2]
        e[2 * B + 2].synchronize()
        m1, m3 = e[2 * B].elapsed_time(e[2 * B + 1]), e[2 * B + 1].elapsed_time(e[2 * B + 2])
        bs.append({"t": tq[nb], "r": r, "us": [e[2 * i].elapsed_time(e[2 * i + 1]) * 1e3 for i in range(B)],
                   "mhz": 2.0 * N / ((m3 - m1) * 1e3) if m3 > m1 else 0.0})

    q = c = 0
    wins = (0.0, 0.0)
    for r in range(rounds):
        if idle:
            time.sleep(idle / 1e3)
        st["w0"] = time.time() * 1e3
        enqueue(q)
        q += 1
        while True:
            more = time.time() * 1e3 - st["w0"] < run_ms
            if more:
                enqueue(q)  # its events are those of batch q - 2, collected already
                q += 1
            collect(c, r)
            c += 1
            if not more:
                break
        now = time.time() * 1e3
        wins = (st["w0"] + w_from, min(now, st["w0"] + w_to))
    r0 = [b for b in bs if b["r"] == 0]
    length = r0[-1]["t"] + 1 if r0 else 0
    t = 0.0
    while t < length:
        us, mhz, n = window(r0, t, t + 250)
        if n:
            print("clkw %s %s t=%.0f n=%d us=%.1f mhz=%.0f gmhz=0 mcyc=%.4f" % (shape, name, t, n, us, mhz, us * mhz * 1e-6))
        t += 250
    us0, mhz0, _ = window(r0, 0, 100)
    us, mhz, n = window(bs, w_from, w_to)
    print("clksum %s %s launches=%d first_us=%.1f first_mhz=%.0f first_mcyc=%.4f last_us=%.1f last_mhz=%.0f last_gmhz=0 "
          "last_mcyc=%.4f last_n=%d wall=%.0f,%.0f" % (shape, name, B * len(bs), us0, mhz0, us0 * mhz0 * 1e-6, us, mhz, us * mhz * 1e-6,
                                                     n, wins[0], wins[1]), flush=True)


gap = torch.empty(a.gap_mb * 1024 * 1024 // 4, dtype=torch.int32, device=dev)
print("flashmla_clocks: %s" % torch.cuda.get_device_name(0), flush=True)
for s in a.shapes:
    b, s_k, h_q, s_q = map(int, s.split(","))
    shape = "b=%d,s_k=%d,h_q=%d,s_q=%d" % (b, s_k, h_q, s_q)
    fn = prepare(b, s_k, h_q, s_q)
    for p in a.phases.split(","):
        phase(shape, "flashmla/" + p, fn, p, a.secs, gap)
    del fn
    torch.cuda.empty_cache()
