#!/usr/bin/env bash
# Session 49, call 2: v5's fp8Direct (kernels/decode-matrix5.ts: an FP8 tile's bytes straight to f16, no bf16 words, no
# maxima, the rare conversion in loops) against session 48's fp8 form, each timed against the bf16 cache in its own
# process (b = 128 s_k = 8192, 16 / 32 / 64 / 128 heads, chained 10 a submission), the driver's SASS of the three forms,
# and the fused suite (fp8H on the device, the random cases) on the card.
# Prediction (docs/notes/webgpu-decode.md, "Session 49", written before the run): fp8Direct's FP8 / bf16 time 1.0-1.5x at
# 16 rows and 1.4-2.2x at 128 rows (session 48's form 2.8-3.5x); its SASS within 600 instructions of the bf16 kernel's
# (session 48's form: 2664 more). Rule: fp8Direct stays the default if its suite passes and its FP8 time is below the
# old form's at every row count timed.
#   (device) ln -sfn .ghc .gpu-host && BUDGET=400 OUT=$OUT bash bench/cuda/hopper/s49_call2.sh > $OUT/log.txt 2>&1
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s49b.tar.xz}" # (CLI, T0, ts, lim: s29_common.sh)
export FLASHMLA_GOLDEN=$PWD/test/fixtures/golden FLASHMLA_GOLDEN_SPARSE=$PWD/test/fixtures/golden-sparse
W=/tmp/s49b; rm -rf $W; mkdir -p $W
export LD_LIBRARY_PATH=$PWD/.devstage/bin${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
ZSTD=$PWD/.devstage/bin/zstd NAMES="matrix5-sg8 matrix5-fp8 matrix5-fp8d" WORK=$W/sass OUT=$W bash scripts/webgpu-tools/h200-s24-sass.sh > $W/sass.txt 2>&1
grep -E "^==|instructions|registers|not" $W/sass.txt | cut -c1-300 | head -20
for n in matrix5-sg8 matrix5-fp8 matrix5-fp8d; do f=$(ls $W/sass/sass/$n/*.sass 2>/dev/null | head -1); [ -n "$f" ] && echo "$n: $(grep -cE '^\s+/\*[0-9a-f]+\*/' $f) lines, LDL $(grep -c 'LDL' $f) STL $(grep -c 'STL' $f) HMUL2 $(grep -c 'HMUL2' $f) F2FP $(grep -c 'F2FP' $f) PRMT $(grep -c 'PRMT' $f) BAR $(grep -c 'BAR' $f)"; done
ts "sass"
timeout -k 5 $(lim 90) node --test build/test/backends/webgpu-dense-fp8-fused.test.js > $W/fused.tap 2>&1
echo "webgpu-dense-fp8-fused rc $?"; grep -E "^# (pass|fail|skipped)|^\s*not ok|seed|bound|error:|dnOk" $W/fused.tap | cut -c1-240 | head -12
ts "tests"
bench() { # bench TAG FP8DIRECT HEADS [PATH]
  FLASHMLA_WEBGPU_DENSE_FP8_PATH=${4:-fused} FLASHMLA_WEBGPU_MATRIX_FP8DIRECT=$2 timeout -k 5 $(lim 90) "${CLI[@]}" bench --mode sparse --backend webgpu --dense-only --dense-heads $3 \
    --chain-calls 10 --reps ${REPS:-8} --out $W/wg-densefp8-$1.json > $W/wg-densefp8-$1.txt 2>&1
  echo "dense FP8 $1 (fp8Direct $2) rc $?"; grep -E "^dense V3|rror" $W/wg-densefp8-$1.txt | head -6
}
bench d1 1 16,32,64,128
bench d0 0 16,32,64,128
bench st 1 16,32,64,128 staged
ts "end"
tar czf "$OUT/s49c2.tgz" -C $W --exclude='glc' .
cp $W/*.json $OUT/ 2>/dev/null
