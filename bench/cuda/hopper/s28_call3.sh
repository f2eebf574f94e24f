#!/usr/bin/env bash
# Session 28, call 3 (H200): the SASS at racecheck's report sites (call 2) of the >= 64-row kernel (shipped and
# verification builds), the <= 32-row n32 entry and dense FP8's n16 entry; then the sm90 and sm90-wide GPU suites and
# cuda.test on the tree with the combine bounds 10 / 24. Carry .gpu-host and .devstage/s28c2.tar.xz (call 2's pack).
#   OUT=$OUT bash bench/cuda/hopper/s28_call3.sh
set -uo pipefail
PACK=${PACK:-.devstage/s28c2.tar.xz}
source bench/cuda/hopper/s28_common.sh && s28_unpack "$PACK"
export FLASHMLA_GOLDEN=${FLASHMLA_GOLDEN:-test/fixtures/golden} CI=1
OUT=${OUT:-/tmp/s28}; mkdir -p "$OUT/f"
T0=$(date +%s); ts() { echo "[$(( $(date +%s) - T0 ))s] $*"; }
W=bench/cuda/hopper/s28_sass_windows.py
cuobjdump -sass -fun mla_decode_sm90w_bf16 dist/cuda/decode_sm90_wide.fatbin > "$OUT/f/wide-ship.sass"
cuobjdump -sass -fun mla_decode_sm90w_bf16 dist-strict/cuda/decode_sm90_wide.fatbin > "$OUT/f/wide-strict.sass"
cuobjdump -sass -fun mla_decode_sm90_bf16_n32 dist/cuda/decode_sm90.fatbin > "$OUT/f/n32.sass"
cuobjdump -sass -fun mla_dense_fp8_sm90_v32_bf16_n16 dist/cuda/dense_fp8_sm90.fatbin > "$OUT/f/dn16.sass"
for f in wide-ship wide-strict n32 dn16; do echo "$f: $(grep -c '/\*[0-9a-f]*\*/' "$OUT/f/$f.sass") lines"; done
echo "### wide, shipped"; python3 $W "$OUT/f/wide-ship.sass" 0x7180 0x11100
echo "### wide, strict"; python3 $W "$OUT/f/wide-strict.sass" 0x7180 0x11100
echo "### n32"; python3 $W "$OUT/f/n32.sass" 0xbd20 0xbd50 0xbf70 0xcff0 0xd750
echo "### dense n16"; python3 $W "$OUT/f/dn16.sass" 0xe300 0xe870 0x2b20 0x129c0
ts "sass done"
( FLASHMLA_SM90_CASES=100 timeout -k 5 170 node --test --test-reporter=tap build/test/gpu/sm90.test.js > "$OUT/f/sm90.txt" 2>&1; echo "exit $?" >> "$OUT/f/sm90.txt" ) &
( FLASHMLA_SM90W_CASES=60 timeout -k 5 170 node --test --test-reporter=tap build/test/gpu/sm90-wide.test.js > "$OUT/f/sm90w.txt" 2>&1; echo "exit $?" >> "$OUT/f/sm90w.txt" ) &
( FLASHMLA_GPU_CASES=100 timeout -k 5 170 node --test --test-reporter=tap build/test/gpu/cuda.test.js > "$OUT/f/cuda.txt" 2>&1; echo "exit $?" >> "$OUT/f/cuda.txt" ) &
wait
for f in sm90 sm90w cuda; do echo "$f: $(grep -E '^# (tests|pass|fail)' "$OUT/f/$f.txt" | tr '\n' ' ') $(tail -1 "$OUT/f/$f.txt")"; grep -E '^not ok' "$OUT/f/$f.txt" | head -5; done
ts "suites done"
tar czf "$OUT/s28c3-files.tgz" -C "$OUT" f && rm -rf "$OUT/f"
