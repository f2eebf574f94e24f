#!/usr/bin/env bash
# Session 53, call 2: what call 1 left. (1) the WebGPU sparse suites on the H200's adapter (the device-index bound on the
# direct and gathered kernels among them); (2) the H200 record of sessions 48-51's dense FP8 paths: V3.2 at 16, 32, 16x2
# (folded), 48 (part-empty tile), 64, 128 heads, MODEL1 at 16, 32, 16x2, 48; WebGPU's sparse
# rows with FlashMLA's sparse table in the same call; (0, first) the GPU fuzz prepared in session 52 (test/gpu/fuzz.test.ts on CUDA and the hardware WebGPU
# adapter) at seed 11 (call 1 ran 7275089).
# Predictions (written before the run): dense FP8 / bf16 1.55-1.65x at 16 rows, 1.10-1.16x at 32, 1.45-1.60x at 16x2 and
# 48, 0.60-0.70x at 64 / 128 (session 39: 0.647x / 0.626x); MODEL1 0.8-0.9x of bf16 at 16 / 32 rows; WebGPU sparse
# 0.2-0.6x FlashMLA.
#   (here)   s29_pack .devstage/s53c2.tar.xz
#   (device) ln -sfn .ghc .gpu-host && BUDGET=540 OUT=$OUT bash bench/cuda/hopper/s53_call2.sh > $OUT/log.txt 2>&1
source bench/cuda/hopper/s50_common.sh && PACK=.devstage/s53c2.tar.xz s50_setup c2 # (W, CLI, ts, lim)
s50_fuzz 11 100
ts "fuzz"
for f in webgpu-sparse-gather; do
  CI=1 timeout -k 5 "$(lim 90)" node --test --test-reporter=tap build/test/backends/$f.test.js > "$W/$f.tap" 2>&1
  echo "$f rc $?"; grep -E "^# (pass|fail|skip)|^not ok" "$W/$f.tap" | head -6
done
ts "webgpu suites"
PYTHONUNBUFFERED=1 timeout -k 5 "$(lim 70)" python3 bench/cuda/flashmla_sparse_protocols.py .gpu-host/anchors/flashmla-sparse --out "$W/fp-sparse.json" --deadline 50 > "$W/fp-sparse.txt" 2>&1 || echo "sparse anchor rc $?"
tail -1 "$W/fp-sparse.txt"; ts "flashmla sparse"
sb() { local tag=$1 t=$2; shift 2; timeout -k 5 "$(lim "$t")" "${CLI[@]}" bench --mode sparse "$@" --out "$W/$tag.json" > "$W/$tag.txt" 2>&1
  echo "$tag rc $?"; grep -E "^dense " "$W/$tag.txt" | cut -c1-200 | head -12; }
sb cuda-dense 70 --backend cuda --flush-mb 256 --dense-only --dense-heads 16,32,16x2,48,64,128
sb cuda-m1 50 --backend cuda --flush-mb 256 --dense-only --dense-format model1 --dense-heads 16,32,16x2,48
ts "cuda dense rows"
sb webgpu-sparse 100 --backend webgpu --flashmla "$W/fp-sparse.json" --dense-heads 16,32
ts "webgpu sparse"
ts "end"
tar czf "$OUT/s53c2.tgz" -C "$W" .
