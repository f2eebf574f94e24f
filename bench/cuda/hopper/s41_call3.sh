#!/usr/bin/env bash
# Session 41, call 3 (H200): (1) mla_combine_q32's rule from 112 rows (launch.ts combineQ32Takes) on shapes no call has
# timed (bench/cuda/hopper/s41-q32-holdout2.json), arms A nq32 nq32 A in do_bench's loop and from CUDA graphs, judged by
# s41_q32_read.py --invert (rule in results/gpu-host/bench/hopper/s41/predictions.txt); (2) the WebGPU MLA layer's device
# step (src/backends/webgpu/layer.ts) on the card: test/backends/webgpu-layer.test.ts, then bench/mla/layer.ts for a
# DeepSeek-V3-shaped layer (b 64, context 4096) on WebGPU f32 / bf16 / host and CUDA bf16, wall-clock medians of a step.
# Pack: s29_pack .devstage/s41c3.tar.xz; carry .ghc and .devstage:   OUT=$OUT bash bench/cuda/hopper/s41_call3.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s41c3.tar.xz}"
mkdir -p "$OUT/f"
S=bench/cuda/hopper/s41-q32-holdout2.json
s35_arms h "--flush-mb 256 --rep-ms 100" $S A nq32 nq32 A
s35_arms hg "--graph-calls 10" $S A nq32 nq32 A
python3 bench/cuda/hopper/s41_q32_read.py "$OUT/f/ab-h" "$OUT/f/ab-hg" nq32 --invert | tee "$OUT/rule.txt"
ts "q32 done"
export FLASHMLA_GOLDEN=$PWD/test/fixtures/golden
timeout -k 5 150 node --test --test-reporter=tap build/test/backends/webgpu-layer.test.js > "$OUT/f/webgpu-layer.tap" 2>&1
echo "webgpu-layer rc $?: $(grep -E '^# (pass|fail|skipped)' "$OUT/f/webgpu-layer.tap" | tr -d '#' | xargs) $(grep -m3 '^ *not ok' "$OUT/f/webgpu-layer.tap" | tr '\n' ' ')"
grep -m2 -iE 'adapter|device' "$OUT/f/webgpu-layer.tap" | cut -c1-200
ts "layer test done"
for arm in webgpu:f32 webgpu:bf16 webgpu:host cuda:bf16; do
  be=${arm%%:*}; pr=${arm##*:}
  timeout -k 5 120 node build/bench/mla/layer.js --shape v3 --batch 64 --context 4096 --backend "$be" --precision "$pr" --reps 10 --json "$OUT/f/layer-$be-$pr.json" > "$OUT/f/layer-$be-$pr.txt" 2>&1
  echo "layer $arm rc $?: $(tail -1 "$OUT/f/layer-$be-$pr.txt" | cut -c1-400)"
  ts "layer $arm"
done
tar czf "$OUT/s41c3.tgz" -C "$OUT" f
ts end
