#!/usr/bin/env bash
# Session 30, call 7 (H200): the final library (commit fba49d1: the <= 32-row kernel's exact path on mbarriers, its
# launch with the layout's 32 more bytes) through the GPU suites and racecheck on two one-tile shapes.
# Carry .ghc (.gpu-host) and .devstage/s30c7.tar.xz (s29_pack ... final):   OUT=$OUT bash bench/cuda/hopper/s30_call7.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s30c7.tar.xz}"
export FLASHMLA_GOLDEN=test/fixtures/golden FLASHMLA_CUDA_KERNELS=dist-final/cuda FLASHMLA_GPU_CASES=300 FLASHMLA_SM90W_CASES=100
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu --format=csv,noheader
s29_cfg n32-1t 1 4096 32; s29_cfg n16-1t 1 4096 16
for tag in n32-1t n16-1t; do s29_rc "final-$tag" dist-final/cuda "${CLI[*]} ${BQ[*]} --configs $OUT/f/c-$tag.json --out $OUT/f/o-$tag.json"; done
for t in sm90 cuda sm90-wide; do
  ( timeout -k 5 240 node --test --test-reporter=tap build/test/gpu/$t.test.js > "$OUT/f/$t.txt" 2>&1; echo "exit $?" >> "$OUT/f/$t.txt" ) &
done
s29_run_jobs 4
for t in sm90 cuda sm90-wide; do echo "$t: $(grep -E '^# (pass|fail)|^not ok|^exit' "$OUT/f/$t.txt" | tr '\n' ' ')"; grep -E 'random cases|ran the sm90|# [0-9]+ of' "$OUT/f/$t.txt" | head -3; done
for f in "$OUT"/f/rc-*.txt; do echo "$(basename "$f" .txt): $(grep -E 'RACECHECK SUMMARY' "$f" | tail -1)"; done
tar czf "$OUT/s30c7-files.tgz" -C "$OUT" f && rm -rf "$OUT/f"
ts end
