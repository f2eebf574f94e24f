#!/usr/bin/env bash
# Session 29, call 3 (H200): racecheck of the verification build after call 2 (dense FP8's screening warps arrive with
# every lane; the wide kernel's predicated barrier pair as one barrier on a register id); the sm90-wide suite and
# dense90 on that build (the register-id barrier was taken out of decode_sm90_wide.cu after this call: it changed
# nothing). Predictions: results/gpu-host/bench/hopper/s29/predictions.txt. Carry .gpu-host and
# .devstage/s29c3.tar.xz (s29_pack ... strict):   OUT=$OUT bash bench/cuda/hopper/s29_call3.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s29c3.tar.xz}"
rc() { s29_rc "$@"; }
cfg() { s29_cfg "$@"; }
cfg w256 2 1024 128 2; cfg w128 2 1024 128 1; cfg w256odd 3 1500 128 2; cfg w64odd 1 1000 64 1; cfg w128b 4 4096 64 2; cfg w256c 1 8192 128 2
for c in w256 w128 w256odd w64odd w128b w256c; do rc "strict-$c" dist-strict/cuda "${CLI[*]} ${BQ[*]} --configs $OUT/f/c-$c.json --out $OUT/f/o-strict-$c.json"; done
rc ship-w256 dist/cuda "${CLI[*]} ${BQ[*]} --configs $OUT/f/c-w256.json --out $OUT/f/o-ship-w256.json"
for s in 0/2 1/2; do rc "strict-dense90-${s%/*}" dist-strict/cuda node build/test/gpu/sparse-count.js 6 cuda dense90,dense90q $s; done
rc ship-dense90 dist/cuda node build/test/gpu/sparse-count.js 3 cuda dense90
( FLASHMLA_CUDA_KERNELS=dist-strict/cuda timeout -k 5 250 node --test --test-reporter=tap build/test/gpu/sm90-wide.test.js > "$OUT/f/sm90w-strict.txt" 2>&1; echo "exit $?" >> "$OUT/f/sm90w-strict.txt" ) &
( FLASHMLA_CUDA_KERNELS=dist-strict/cuda timeout -k 5 200 node build/test/gpu/sparse-count.js 40 cuda dense90,dense90q > "$OUT/f/dense90-strict.txt" 2>&1; echo "exit $?" >> "$OUT/f/dense90-strict.txt" ) &
s29_run_jobs 12
grep -E '^# (pass|fail|skipped)' "$OUT/f/sm90w-strict.txt" | tr '\n' ' '; echo; grep -E 'pass|exit' "$OUT/f/dense90-strict.txt"
s29_race_report s29c3-files
ts end
