#!/usr/bin/env python3
"""FlashMLA's sparse FP8 decode (and its four dense rows) timed by the anchor's bench_sparse.py, with one more time a
row: `us_b2b`, `flashmla bench --mode sparse`'s own protocol (10 untimed calls, then 50 back to back, each between two
CUDA events, the median), on the same inputs. bench_sparse.py's `us` (kineto: 8 GB zeroed before each call, the mean)
and `us_do_bench` (do_bench: 256 MB zeroed before each repetition, the median) stay as they are. `flashmla bench --mode
sparse` compares ours back to back with `us_b2b` and, with --flush-mb 256, with `us_do_bench` (session 32:
docs/notes/benchmark-protocol.md). With --graph-calls N (N > 0) each row also gets `us_graph`: N calls captured in one
CUDA graph, the graph replayed back to back (the same loop), the median replay / N; `flashmla bench --mode sparse
--chain-calls N` (WebGPU: N calls in one submission) is compared with it. A row whose calls cannot be captured gets
`graph_error` instead.

  python3 bench/cuda/flashmla_sparse_protocols.py ANCHORS_SPARSE_DIR [--graph-calls N] [bench_sparse.py's options: --out, --quick, ...]
"""
import os, sys

if len(sys.argv) < 2 or sys.argv[1].startswith('-'):
    sys.exit(__doc__)
sys.path.insert(0, os.path.abspath(sys.argv[1]))
rest = sys.argv[2:]
graph_calls = 0
if '--graph-calls' in rest:  # ours, taken out before bench_sparse.py parses the rest
    i = rest.index('--graph-calls')
    graph_calls = int(rest[i + 1])
    del rest[i:i + 2]
sys.argv = [os.path.join(sys.argv[1], 'bench_sparse.py')] + rest
import bench_sparse as bs  # noqa: E402
from b2b_timing import back_to_back_ms, capture_graph  # noqa: E402  (this folder: the script's own directory is on sys.path)


_timeit = bs.timeit


def timeit(fn, num_tests):
    row = _timeit(fn, num_tests)
    row["us_b2b"] = back_to_back_ms(fn) * 1e3  # the sparse bench's protocol: 10 untimed, 50 timed, no warm-up by the clock
    if graph_calls > 0:
        try:
            row["us_graph"] = graph_us(fn)
        except Exception as ex:  # a call that syncs with the host cannot be captured: say so, keep the row
            row["graph_error"] = repr(ex)[:300]
    return row


def graph_us(fn):
    """fn captured graph_calls times into one CUDA graph; the median replay, back to back, / graph_calls, in
    microseconds."""
    g = capture_graph(fn, graph_calls)
    t = back_to_back_ms(g.replay) / graph_calls * 1e3
    del g
    return t


bs.timeit = timeit
bs.main()
