#!/usr/bin/env bash
# Session 35, call 4 (H200): the recorded run with `flashmla bench --flush-mb 256` in triton do_bench's loop (src/cli/
# do-bench.ts: 25 ms of calls, then ~200 ms of flushed repetitions, the median), FlashMLA 9241ae3 in the same call:
# FlashMLA's grid plus b=1 and the uneven batch, the 34 small-batch shapes and the 25 hold-outs under do_bench on both
# sides, then from CUDA graphs on both sides (unchanged protocol), then sparse (bench_sparse.py's us_do_bench against
# ours --mode sparse --flush-mb 256, now do_bench's loop too). The kernels are session 34's (every fatbin SAME CODE as
# its recorded run, whose checks are results/gpu-host/tests/2026-12-03-h200-session34-final.txt): no checks here.
# Predictions: results/gpu-host/bench/hopper/s35/predictions.txt. Carry .ghc (with anchors) and .devstage (s35c4.tar.xz):
#   OUT=$OUT bash bench/cuda/hopper/s35_call4.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s35c4.tar.xz}"
mkdir -p "$OUT/f"
s35_record "--protocols do_bench" # (the steps as run, since moved into s29_common.sh)
ts "dense done"
PYTHONUNBUFFERED=1 timeout -k 5 200 python3 bench/cuda/flashmla_sparse_protocols.py .gpu-host/anchors/flashmla-sparse --out "$OUT/fp-sparse.json" --deadline 120 > "$OUT/fp-sparse.txt" 2>&1 || echo "sparse anchor rc $?"
tail -2 "$OUT/fp-sparse.txt"; ts "flashmla sparse done"
timeout -k 5 200 "${CLI[@]}" bench --mode sparse --backend cuda --flashmla "$OUT/fp-sparse.json" --flush-mb 256 --out "$OUT/sparse-flush.json" -q 2>&1 | grep -E 'geometric|warning|dense' | head -5
ts "ours sparse done"
rm -f "$OUT"/*.svg
tar czf "$OUT/s35c4-bench.tgz" -C "$OUT" $(cd "$OUT" && ls fp*.json flush-*.json graph-*.json sparse-*.json read-*.txt fp-*.txt 2>/dev/null)
rm -f "$OUT"/fp*.json "$OUT"/flush-*.json "$OUT"/graph-*.json "$OUT"/sparse-*.json "$OUT"/fp-*.txt "$OUT"/full.json "$OUT"/small-batch.json "$OUT"/combine-holdout.json "$OUT"/jobs.txt
ts end
