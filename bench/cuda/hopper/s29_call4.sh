#!/usr/bin/env bash
# Session 29, call 4 (H200): MLA_SM90_SOLO=2 ("last": no merge on a CTA's last item when it has one tile) and
# MLA_SM90_SOLO ("all") against the default build, arms ship last all all last ship on 68 shapes; FlashMLA 9241ae3 on the
# same shapes; the sm90 suite on "last". Predictions and rule: results/gpu-host/bench/hopper/s29/predictions.txt.
# Carry .gpu-host and .devstage/s29c4.tar.xz (s29_pack ... last solo):   OUT=$OUT bash bench/cuda/hopper/s29_call4.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s29c4.tar.xz}"
mkdir -p "$OUT/f/ab"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu --format=csv,noheader
s29_ab_configs "$OUT/ab.json"
( FLASHMLA_CUDA_KERNELS=dist-last/cuda timeout -k 5 200 node --test --test-reporter=tap build/test/gpu/sm90.test.js > "$OUT/f/sm90-last.txt" 2>&1; echo "exit $?" >> "$OUT/f/sm90-last.txt" ) 
ts "sm90 last: $(grep -E '^# (pass|fail)' "$OUT/f/sm90-last.txt" | tr '\n' ' ')"
i=0
for arm in ship last solo solo last ship; do
  i=$((i + 1)); k=dist/cuda; [ $arm != ship ] && k=dist-$arm/cuda
  FLASHMLA_CUDA_KERNELS=$k timeout -k 5 100 "${CLI[@]}" bench --backend cuda --configs "$OUT/ab.json" --reps 40 --check 1 -q --out "$OUT/f/ab/ab-$i-$arm.json" > "$OUT/f/ab/ab-$i-$arm.txt" 2>&1 || echo "ab $arm rc $?"
  ts "arm $i $arm"
done
python3 bench/cuda/hopper/s29_ab_read.py "$OUT/f/ab" last solo | tee "$OUT/f/ab.txt" | grep -E '^(last|solo):'
PYTHONUNBUFFERED=1 timeout -k 5 200 python3 .gpu-host/anchors/bench_flashmla.py --configs "$OUT/ab.json" --out "$OUT/f/flashmla.json" --no-triton > "$OUT/f/flashmla.txt" 2>&1; echo "flashmla rc $?"
ts "flashmla done"
rm -f "$OUT"/f/ab/*.svg
tar czf "$OUT/s29c4-files.tgz" -C "$OUT" f && rm -rf "$OUT/f"
ts end
