#!/usr/bin/env bash
# Session 39, call 1 (H200): (1) sparse_mma.cu's combineTrip (the split merge of sparse and dense-on-sparse steps with a
# warp's pieces loaded together, launched as a PDL dependent; FLASHMLA_CUDA_SPARSE_COMBINE=trip): checks (bit for bit
# against the old merge on 250 seeded random cases, sparse-count random / heads / dense64 / dense64d with it, memcheck),
# FlashMLA 9241ae3's full sparse table (bench_sparse.py, us_do_bench), then ours on the rows where FlashMLA's scheduler
# splits requests (b = 2, 74, 148) plus two unsplit controls per arm, arms A T T A TN; (2) mla_combine_quarter in place of
# the CTA merge too (FLASHMLA_CUDA_COMBINE_QUARTER=cta): sm90.test 100 random cases with it, arms A cqc cqc A on
# bench/cuda/hopper/s39-cta-shapes.json in do_bench's loop and from graphs (s38_quarter_rule.py ... cqc).
# Predictions and rules: results/gpu-host/bench/hopper/s39/predictions.txt. Pack: s29_pack .devstage/s39c1.tar.xz;
# carry .ghc (with anchors) and .devstage:   OUT=$OUT bash bench/cuda/hopper/s39_call1.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s39c1.tar.xz}"
mkdir -p "$OUT/f"
timeout -k 5 200 node build/bench/cuda/hopper/sparse-combine-trip-bitexact.js --cases 200 > "$OUT/f/bitexact-sparse.txt" 2>&1 &
for i in 0 1; do FLASHMLA_CUDA_SPARSE_COMBINE=trip timeout -k 5 200 node build/test/gpu/sparse-count.js 300 cuda random,heads,dense64,dense64d "$i/2" > "$OUT/f/count-trip-$i.txt" 2>&1 & done
FLASHMLA_CUDA_SPARSE_COMBINE=trip timeout -k 5 200 compute-sanitizer --tool memcheck --print-limit 20 node build/test/gpu/sparse-count.js 12 cuda heads > "$OUT/f/san-memcheck-trip.txt" 2>&1 &
FLASHMLA_CUDA_COMBINE_QUARTER=cta FLASHMLA_SM90_CASES=100 timeout -k 5 200 node --test --test-reporter=tap build/test/gpu/sm90.test.js > "$OUT/f/sm90-cqc.tap" 2>&1 &
wait
ts "checks done"
tail -2 "$OUT/f/bitexact-sparse.txt"; grep -v identical "$OUT/f/bitexact-sparse.txt" | grep -v '^sparse combine' | head -5
cat "$OUT"/f/count-trip-*.txt
echo "memcheck trip: $(grep -E 'ERROR SUMMARY' "$OUT/f/san-memcheck-trip.txt" | tail -1) $(grep -E 'pass' "$OUT/f/san-memcheck-trip.txt" | tr '\n' ' ')"
grep -E '^# (tests|pass|fail)|^not ok' "$OUT/f/sm90-cqc.tap"
PYTHONUNBUFFERED=1 timeout -k 5 200 python3 bench/cuda/flashmla_sparse_protocols.py .gpu-host/anchors/flashmla-sparse --out "$OUT/fp-sparse.json" --deadline 150 > "$OUT/fp-sparse.txt" 2>&1 || echo "sparse anchor rc $?"
tail -1 "$OUT/fp-sparse.txt"; ts "flashmla sparse done"
s39_sparse_arms t "--grid all --batches 2,74,148 --flush-mb 256 --rep-ms 100 --dense-heads 64 --flashmla $OUT/fp-sparse.json" A T T A TN
s35_arms q "--flush-mb 256 --rep-ms 100" bench/cuda/hopper/s39-cta-shapes.json A cqc cqc A
s35_arms qg "--graph-calls 10" bench/cuda/hopper/s39-cta-shapes.json A cqc cqc A
python3 bench/cuda/hopper/s38_quarter_rule.py "$OUT/f/ab-q" "$OUT/f/ab-qg" cqc | tee "$OUT/rule-cqc.txt" | tail -8
rm -f "$OUT"/f/*/*.svg
tar czf "$OUT/s39c1.tgz" -C "$OUT" f fp-sparse.json fp-sparse.txt
ts end
