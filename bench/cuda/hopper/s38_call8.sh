#!/usr/bin/env bash
# Session 38, call 8 (H200): mla_combine_quarter (combine.cu combineQuarter: one warp a quarter row, a request's first 16
# pieces in one round trip) where a step's merge would be one warp a row and its largest request is in 5+ pieces
# (FLASHMLA_CUDA_COMBINE_QUARTER=1; the library's default off), now only where its grid is one wave (call 7: 0.949x / 0.939x on 25 moved shapes, but a 384-CTA quarter merge at 1.05-1.08x). Call 6 measured the one-warp-a-row merge at ~5.9 us at b=9-10
# 16 rows (12 pieces, three round trips) against 4.1 us for b=1's 128 pieces. Checks: combine-quarter-bitexact (off /
# on, bit for bit), sm90.test 100 random cases with it on; then arms A cq cq A over bench/cuda/hopper/s38-quarter-shapes.json (13 shapes it moves, 5 it leaves, none timed in call 7 but the 384-CTA one) in do_bench's
# loop and from graphs, judged by s38_quarter_rule.py. Predictions and the rule: results/gpu-host/bench/hopper/s38/predictions.txt.
# Pack: s29_pack .devstage/s38c8.tar.xz; carry .ghc and .devstage:   OUT=$OUT bash bench/cuda/hopper/s38_call8.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s38c8.tar.xz}"
mkdir -p "$OUT/f"
timeout -k 5 200 node build/bench/cuda/hopper/combine-quarter-bitexact.js --cases 80 > "$OUT/f/bitexact.txt" 2>&1 &
FLASHMLA_CUDA_COMBINE_QUARTER=1 FLASHMLA_SM90_CASES=100 timeout -k 5 200 node --test --test-reporter=tap build/test/gpu/sm90.test.js > "$OUT/f/sm90-cq.tap" 2>&1 &
wait
ts "checks done"
tail -1 "$OUT/f/bitexact.txt"; grep -c identical "$OUT/f/bitexact.txt"; grep -v identical "$OUT/f/bitexact.txt" | head -5
grep -E '^# (tests|pass|fail)|^not ok' "$OUT/f/sm90-cq.tap"
cp bench/cuda/hopper/s38-quarter-shapes.json "$OUT/f/abc.json"
s35_arms q "--flush-mb 256 --rep-ms 100" "$OUT/f/abc.json" A cq cq A
s35_arms qg "--graph-calls 10" "$OUT/f/abc.json" A cq cq A
python3 bench/cuda/hopper/s38_quarter_rule.py "$OUT/f/ab-q" "$OUT/f/ab-qg" | tee "$OUT/rule.txt" | tail -8
tar czf "$OUT/s38c8.tgz" -C "$OUT" f
ts end
