#!/usr/bin/env bash
# Session 41, call 1 (H200): mla_combine_q32 (combine.cu combineQuarter with 32 pieces a lane, one row a CTA of 128
# threads; FLASHMLA_CUDA_COMBINE_Q32=1 takes it for every step whose largest request is in 5-64 pieces). Checks: bit for
# bit against one warp a row (combine-q32-bitexact, 80 matrix cases + 17 fixed), sm90.test with it (100 random cases),
# memcheck on the bitexact tool (6 cases). Then arms A q32 q32 A on bench/cuda/hopper/s41-q32-shapes.json in do_bench's
# loop and from CUDA graphs. Predictions: results/gpu-host/bench/hopper/s41/predictions.txt. Pack: s29_pack
# .devstage/s41c1.tar.xz; carry .ghc and .devstage:   OUT=$OUT bash bench/cuda/hopper/s41_call1.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s41c1.tar.xz}"
mkdir -p "$OUT/f"
timeout -k 5 200 node build/bench/cuda/hopper/combine-q32-bitexact.js --cases 80 > "$OUT/f/bitexact.txt" 2>&1 &
FLASHMLA_CUDA_COMBINE_Q32=1 FLASHMLA_SM90_CASES=100 timeout -k 5 200 node --test --test-reporter=tap build/test/gpu/sm90.test.js > "$OUT/f/sm90-q32.tap" 2>&1 &
timeout -k 5 200 compute-sanitizer --tool memcheck --print-limit 20 node build/bench/cuda/hopper/combine-q32-bitexact.js --cases 0 --only "b4 s_k8192|b3 s_k8192|corners" > "$OUT/f/san-memcheck-q32.txt" 2>&1 &
wait
ts "checks done"
tail -1 "$OUT/f/bitexact.txt"; grep -v identical "$OUT/f/bitexact.txt" | grep -v '^bitexact' | head -5
grep -E '^# (tests|pass|fail)|^not ok' "$OUT/f/sm90-q32.tap"
echo "memcheck q32: $(grep -E 'ERROR SUMMARY' "$OUT/f/san-memcheck-q32.txt" | tail -1) $(tail -1 "$OUT/f/san-memcheck-q32.txt")"
S=bench/cuda/hopper/s41-q32-shapes.json
s35_arms q "--flush-mb 256 --rep-ms 100" $S A q32 q32 A
s35_arms qg "--graph-calls 10" $S A q32 q32 A
python3 bench/cuda/hopper/s41_q32_read.py "$OUT/f/ab-q" "$OUT/f/ab-qg" | tee "$OUT/read.txt"
tar czf "$OUT/s41c1.tgz" -C "$OUT" f
ts end
