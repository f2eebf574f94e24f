#!/usr/bin/env python3
"""The numpy (OpenBLAS) f32 yardstick for `flashmla bench --backend cpu`: the same products as MLA decode
(S = Q K^T over 576 columns, O = S V over 512, per sequence) and a memory copy, timed in this process.

  python3 bench/cpu-numpy.py '[{"b": 4, "s_k": 4096, "h_q": 16, "s_q": 1}, ...]' [reps]

Prints one JSON object: numpy/BLAS versions, copy_GBps (read + write bytes / time, 256 MB arrays),
gemm_GFLOPs (a square 2048 f32 matmul) and per config ms / GFLOPs (2 * b * s_q * h_q * s_k * 1088 / time).
Times are medians after one warm-up. Softmax is left out: this is the products' ceiling, not a decoder."""
import json, sys, time

import numpy as np


def median_time(fn, reps):
    fn()
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    ts.sort()
    return ts[len(ts) // 2]


def main():
    configs = json.loads(sys.argv[1])
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    rng = np.random.default_rng(0)
    out = {"numpy": np.__version__, "blas": blas_name(), "reps": reps, "configs": []}

    n = 64 * 1024 * 1024  # 256 MB of f32 per array
    src, dst = np.ones(n, np.float32), np.empty(n, np.float32)
    out["copy_GBps"] = 2 * src.nbytes / median_time(lambda: np.copyto(dst, src), reps) / 1e9
    del src, dst
    a, b = rng.standard_normal((2048, 2048), np.float32), rng.standard_normal((2048, 2048), np.float32)
    out["gemm_GFLOPs"] = 2 * 2048**3 / median_time(lambda: a @ b, reps) / 1e9

    for c in configs:
        bsz, s_k, rows = c["b"], c["s_k"], c.get("s_q", 1) * c["h_q"]
        qs = [rng.standard_normal((rows, 576), np.float32) for _ in range(bsz)]
        ks = [rng.standard_normal((s_k, 576), np.float32) for _ in range(bsz)]
        vs = [np.ascontiguousarray(k[:, :512]) for k in ks]  # numpy's best layout, prepared untimed

        def run():
            for q, k, v in zip(qs, ks, vs):
                (q @ k.T) @ v

        t = median_time(run, reps)
        out["configs"].append({**c, "ms": t * 1e3, "GFLOPs": 2 * bsz * rows * s_k * 1088 / t / 1e9})
    print(json.dumps(out))


def blas_name():
    try:
        cfg = np.show_config(mode="dicts")
        return cfg["Build Dependencies"]["blas"]["name"]
    except Exception:
        return "unknown"


main()
