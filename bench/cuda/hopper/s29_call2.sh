#!/usr/bin/env bash
# Session 29, call 2 (H200): racecheck of the verification build after call 1 (counts exchanged by votes; dense FP8's
# slots handed back by every lane), all report classes kept; correctness of that build. Predictions:
# results/gpu-host/bench/hopper/s29/predictions.txt. Carry .gpu-host and .devstage/s29c2.tar.xz (s29_pack ... strict):
#   OUT=$OUT bash bench/cuda/hopper/s29_call2.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s29c2.tar.xz}"
rc() { s29_rc "$@"; }
cfg() { s29_cfg "$@"; }
for c in "1t:1:4096" "1t:3:1024" "2t:4:2048" "2t:8:1024" "2t:1:8192" "13t:16:1024"; do
  IFS=: read -r tag b sk <<<"$c"; cfg "n32-$tag-$b-$sk" "$b" "$sk" 32
  rc "strict-n32-$tag-$b-$sk" dist-strict/cuda "${CLI[*]} ${BQ[*]} --configs $OUT/f/c-n32-$tag-$b-$sk.json --out $OUT/f/o-strict-n32-$tag-$b-$sk.json"
done
cfg n16-1t 1 4096 16; cfg n16-2t 4 2048 16; cfg w64 1 8192 64; cfg w256 2 1024 128 2
for v in ship strict; do
  k=dist/cuda; [ $v = strict ] && k=dist-strict/cuda
  for c in n16-1t n16-2t; do rc "$v-$c" $k "${CLI[*]} ${BQ[*]} --configs $OUT/f/c-$c.json --out $OUT/f/o-$v-$c.json"; done
done
for c in w64 w256; do rc "strict-$c" dist-strict/cuda "${CLI[*]} ${BQ[*]} --configs $OUT/f/c-$c.json --out $OUT/f/o-strict-$c.json"; done
rc strict-dense90 dist-strict/cuda node build/test/gpu/sparse-count.js 3 cuda dense90
rc strict-sparse dist-strict/cuda node build/test/gpu/sparse-count.js 3 cuda random,heads
( FLASHMLA_CUDA_KERNELS=dist-strict/cuda timeout -k 5 200 node --test --test-reporter=tap build/test/gpu/sm90.test.js > "$OUT/f/sm90-strict.txt" 2>&1; echo "exit $?" >> "$OUT/f/sm90-strict.txt" ) &
( FLASHMLA_CUDA_KERNELS=dist-strict/cuda timeout -k 5 200 node build/test/gpu/sparse-count.js 40 cuda dense90,dense90q > "$OUT/f/dense90-strict.txt" 2>&1; echo "exit $?" >> "$OUT/f/dense90-strict.txt" ) &
s29_run_jobs 14
grep -E '^# (pass|fail)' "$OUT/f/sm90-strict.txt" | tr '\n' ' '; echo; grep -E 'pass|exit' "$OUT/f/dense90-strict.txt"
s29_race_report s29c2-files
ts end
