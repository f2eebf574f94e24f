#!/usr/bin/env bash
# Session 39, call 2 (H200): (1) combineTrip by its rule (sparse.ts sparseCombineTripTakes: where a step's most-split
# request is in more than 4 pieces; the library's default from this commit) against the old merge everywhere
# (FLASHMLA_CUDA_SPARSE_COMBINE=old, arm O) on shapes call 1 did not time: `--grid small` (FlashMLA's 12 shapes at b = 1),
# arms O A A O, with sparse-count random 150 / heads on the library first; (2) the records: FlashMLA 9241ae3's full sparse
# table (us_do_bench) and ours `--grid all` (its 12 shapes and the 26 other rows) with the dense FP8 rows at h_q 16-128,
# do_bench's loop; then the dense small-batch and hold-out sets against FlashMLA in do_bench's loop (session 38's call 9,
# never run: the quarter merge's record). Predictions: results/gpu-host/bench/hopper/s39/predictions.txt.
# Pack: s29_pack .devstage/s39c2.tar.xz; carry .ghc (with anchors) and .devstage:   OUT=$OUT bash bench/cuda/hopper/s39_call2.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s39c2.tar.xz}"
mkdir -p "$OUT/f"
timeout -k 5 100 node build/test/gpu/sparse-count.js 150 cuda random,heads > "$OUT/f/count-lib.txt" 2>&1; cat "$OUT/f/count-lib.txt"
s39_sparse_arms s "--grid small --flush-mb 256 --rep-ms 100 --dense-heads 64" O A A O
PYTHONUNBUFFERED=1 timeout -k 5 200 python3 bench/cuda/flashmla_sparse_protocols.py .gpu-host/anchors/flashmla-sparse --out "$OUT/fp-sparse.json" --deadline 150 > "$OUT/fp-sparse.txt" 2>&1 || echo "sparse anchor rc $?"
tail -1 "$OUT/fp-sparse.txt"; ts "flashmla sparse done"
timeout -k 5 300 "${CLI[@]}" bench --mode sparse --backend cuda --grid all --flashmla "$OUT/fp-sparse.json" --flush-mb 256 --dense-heads 16,32,64,128 --out "$OUT/sparse-all-flush.json" -q 2>&1 | grep -E 'geometric|warning' | head -4
ts "ours sparse done"
python3 - "$OUT/sparse-all-flush.json" <<'P'
import json, sys
d = json.load(open(sys.argv[1]))
print('commit', d['commit'], 'geomean', d.get('geomean_ratio_vs_flashmla'), d.get('geomean_by_set'))
for r in d['rows']: print(r['label'], r['format'], r['b'], r['hQ'], r['sQ'], r['topk'], r.get('extraTopk'), round(r['us'], 1), r.get('flashmla_us') and round(r['flashmla_us'], 1), round(r.get('ratio_vs_flashmla') or 0, 3))
for r in d.get('dense', []): print('dense', r['h_q'], r.get('kernel'), r.get('lens'), round(r['us'], 1), round(r['bf16_us'], 1), round(r['speedup_vs_bf16'], 3))
P
export S32_SETS="small-batch combine-holdout"
s32_sets flush "--protocols do_bench" "--flush-mb 256"
python3 bench/cuda/hopper/s32_sets_read.py "$OUT" flush > "$OUT/read-flush.txt"; grep -v '^   ' "$OUT/read-flush.txt"
for s in $S32_SETS; do mv "$OUT/fp-$s.json" "$OUT/fpflush-$s.json"; done
rm -f "$OUT"/f/*/*.svg "$OUT"/*.svg
tar czf "$OUT/s39c2.tgz" -C "$OUT" f $(cd "$OUT" && ls fp*.json sparse-*.json flush-*.json read-*.txt fp-*.txt 2>/dev/null)
ts end
