#!/usr/bin/env bash
# Session 41, call 5 (H200): (1) WebGPU: bf16DirectOne (kernels/decode-matrix5.ts; one barrier a tile fewer than
# bf16Direct) against the default, two tile16-ab processes over session 40's ten bf16 shapes, then the GPU matrix suite
# with it forced (FLASHMLA_MATRIX_TEST_PMAX=b16d1, 150 random cases); (2) CUDA: the small-batch and combine hold-out sets
# from CUDA graphs against FlashMLA's graph replay (call 4's graph files did not come back: the tool returns 8 files).
# Predictions and rules: results/gpu-host/bench/hopper/s41/predictions.txt. Files: at most 8 in $OUT.
#   OUT=$OUT bash bench/cuda/hopper/s41_call5.sh
set -uo pipefail
FINAL=$OUT
source bench/cuda/hopper/s29_common.sh && s29_unpack "${PACK:-.devstage/s41c5.tar.xz}"
source scripts/webgpu-tools/h200-s25-common.sh; ab_frame /tmp/s41-c5
cfg='[{"b":128,"s_k":8192,"h_q":16,"s_q":1},{"b":128,"s_k":8192,"h_q":128,"s_q":1},{"b":128,"s_k":8192,"h_q":32,"s_q":1},{"b":128,"s_k":1024,"h_q":16,"s_q":1},{"b":128,"s_k":4096,"h_q":64,"s_q":2},{"b":1,"s_k":32768,"h_q":16,"s_q":1},{"b":1,"s_k":4096,"h_q":16,"s_q":1},{"b":4,"seqlens":[4641,45118,1730,1696],"h_q":16,"s_q":4},{"b":16,"s_k":1024,"h_q":16,"s_q":1},{"b":128,"s_k":8192,"h_q":128,"s_q":2}]'
AB_TIMEOUT=220 ab_run dflt,b16d1 "$cfg" ab-b16d1-1 15 | grep -E '^(CHECK|TIME|ab-)'
AB_TIMEOUT=220 ab_run dflt,b16d1 "$cfg" ab-b16d1-2 15 2 | grep -E '^(TIME|ab-)'
FLASHMLA_MATRIX_TEST_PMAX=b16d1 FLASHMLA_GPU_CASES=150 timeout -k 2 150 node --test --test-reporter=tap build/test/gpu/webgpu-matrix.test.js > "$W/suite-b16d1.tap" 2>&1
suite_line "$W/suite-b16d1.tap"
cp "$W"/ab-b16d1-1.txt "$W"/ab-b16d1-2.txt "$W"/suite-b16d1.tap "$FINAL/" 2>/dev/null
tar czf "$FINAL/a-s41c5-webgpu.tgz" -C "$W" .
OUT=/tmp/s41-c5-cuda; mkdir -p "$OUT/f"; : > "$OUT/jobs.txt"; T0=$(date +%s)
CLI=(node scripts/flashmla-dist.mjs build/src)
export FLASHMLA_GOLDEN=test/fixtures/golden S32_SETS="small-batch combine-holdout"
s32_sets graph "--protocols graph" "--graph-calls 10"
python3 bench/cuda/hopper/s32_sets_read.py "$OUT" graph > "$OUT/read-graph.txt"; grep -v '^   ' "$OUT/read-graph.txt"
cp "$OUT/read-graph.txt" "$FINAL/"
tar czf "$FINAL/s41c5-graph.tgz" -C "$OUT" $(cd "$OUT" && ls fp*.json graph-*.json read-*.txt fp-*.txt 2>/dev/null)
ts end
