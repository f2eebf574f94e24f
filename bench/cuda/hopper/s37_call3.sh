#!/usr/bin/env bash
# Session 37, call 3 (H200): #14 re-recorded with the library of session 37 (PDL on every launch that waits by default;
# the sparse and dense FP8 kernels are session 22's, SAME CODE since; their merges are PDL-launched now, since session
# 36 outside graph capture): FlashMLA 9241ae3's sparse decode (bench_sparse.py's shapes, us_do_bench) against ours
# (`flashmla bench --mode sparse --flush-mb 256`, triton do_bench's loop), and the dense FP8 rows against our bf16
# decode, all in one call. Predictions: results/gpu-host/bench/hopper/s37/predictions.txt. Carry .ghc (with anchors)
# and .devstage (s37c2.tar.xz, the pack of call 2: the same library):   OUT=$OUT bash bench/cuda/hopper/s37_call3.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s37c2.tar.xz}"
mkdir -p "$OUT/f"
PYTHONUNBUFFERED=1 timeout -k 5 200 python3 bench/cuda/flashmla_sparse_protocols.py .gpu-host/anchors/flashmla-sparse --out "$OUT/fp-sparse.json" --deadline 120 > "$OUT/fp-sparse.txt" 2>&1 || echo "sparse anchor rc $?"
tail -2 "$OUT/fp-sparse.txt"; ts "flashmla sparse done"
timeout -k 5 200 "${CLI[@]}" bench --mode sparse --backend cuda --flashmla "$OUT/fp-sparse.json" --flush-mb 256 --out "$OUT/sparse-flush.json" -q 2>&1 | grep -E 'geometric|warning|dense' | head -5
ts "ours sparse done"
python3 - "$OUT/sparse-flush.json" <<'P'
import json, sys
d = json.load(open(sys.argv[1]))
for r in d['rows']: print(r.get('format'), r.get('b'), r.get('h_q'), r.get('s_q'), r.get('topk'), r.get('kernel'), round(r.get('ratio_vs_flashmla') or 0, 3))
for r in d.get('dense', []): print('dense', r)
P
rm -f "$OUT"/*.svg
tar czf "$OUT/s37c3-bench.tgz" -C "$OUT" $(cd "$OUT" && ls fp*.json sparse-*.json fp-*.txt 2>/dev/null)
ts end
