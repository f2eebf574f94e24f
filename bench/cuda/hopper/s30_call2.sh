#!/usr/bin/env bash
# Session 30, call 2 (H200): where a wide-kernel item's time goes (bench/cuda/hopper/s30_trace.ts on a trace build of
# the library's entries, both the default and the short-item one), then N (short-item entry forced) against A again on
# six rows, three runs each (A N A N A N). Predictions: results/gpu-host/bench/hopper/s30/predictions.txt.
# Carry .ghc (.gpu-host) and .devstage/s30c2.tar.xz (s29_pack ... trace):   OUT=$OUT bash bench/cuda/hopper/s30_call2.sh
# (As run: the tree then had the short-item entry mla_decode_sm90w_sk_* and FLASHMLA_CUDA_SM90W_SK; both were removed
# after call 2 by its rule: docs/notes/cuda-hopper-decode.md, session 30. Kept as the record of what ran.)
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s30c2.tar.xz}"
mkdir -p "$OUT/f/ab"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu --format=csv,noheader
FLASHMLA_CUDA_KERNELS=dist-trace/cuda timeout -k 5 150 node build/bench/cuda/hopper/s30_trace.js > "$OUT/f/trace.txt" 2>&1; echo "trace rc $?"
cat "$OUT/f/trace.txt"
ts "trace done"
i=0
for arm in A N A N A N; do
  i=$((i + 1)); v=0; [ $arm = N ] && v=1
  FLASHMLA_CUDA_SM90W_SK=$v timeout -k 5 100 "${CLI[@]}" bench --backend cuda --configs bench/cuda/hopper/s30_ab6.json --reps 40 --check 1 -q --out "$OUT/f/ab/ab-$i-$arm.json" > "$OUT/f/ab/ab-$i-$arm.txt" 2>&1 || echo "ab $arm rc $?"
  ts "arm $i $arm"
done
for f in "$OUT"/f/ab/ab-*-A.json; do mv "$f" "${f%-A.json}-ship.json"; done
python3 bench/cuda/hopper/s29_ab_read.py "$OUT/f/ab" N | tee "$OUT/f/ab.txt"
rm -f "$OUT"/f/ab/*.svg
tar czf "$OUT/s30c2-files.tgz" -C "$OUT" f && rm -rf "$OUT/f"
ts end
