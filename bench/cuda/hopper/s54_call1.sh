#!/usr/bin/env bash
# Session 54, call 1: (1) the GPU fuzz's failing CUDA dense case (seed 7275089 case 122, H100 session 53: out NaN where the
# reference is finite), alone on fresh backends under several settings (bench/cuda/hopper/s54_dense_case.ts), under
# memcheck, and the seed's whole run again; (2) session 53's call 3: the sparse device-index bound as a pre-pass
# (mla_sparse_bound) on a GPU for the first time: the stray cases, memcheck, new vs the build before the bound;
# (after the run: its A/B old arm failed, the old build has no mla_sparse_bound, and this script did not set
# FLASHMLA_CUDA_SPARSE_BOUND=0 for it; s54_call2.sh does) (3) the GPU test that alternates FlashMLA's plan and 'fill' for the same host seqlens (the staging fix); the fuzz at seed 11; (4) FlashMLA's sparse table and the dense FP8 rows if time is left.
# Predictions (written before the run): (1) unknown - if the case fails alone too, the poisoned run says whether the
# NaN rows were written; (2) stray cases pass, memcheck 0 errors, new / old 1.00-1.04 on every sparse row.
#   (here)   s29_pack .devstage/s54c1.tar.xz old
#   (device) ln -sfn .ghc .gpu-host && BUDGET=560 OUT=$OUT bash bench/cuda/hopper/s54_call1.sh > $OUT/log.txt 2>&1
source bench/cuda/hopper/s50_common.sh && PACK=.devstage/s54c1.tar.xz s50_setup c1 # (W, CLI, ts, lim)
timeout -k 5 "$(lim 60)" node build/bench/cuda/hopper/s54_dense_case.js 7275089 122 > "$W/case122.txt" 2>&1; echo "case122 rc $?"
cat "$W/case122.txt" | cut -c1-300 | head -60
ts "case 122"
timeout -k 5 "$(lim 90)" compute-sanitizer --tool memcheck --print-limit 20 node build/bench/cuda/hopper/s54_dense_case.js 7275089 122 > "$W/case122-memcheck.txt" 2>&1
echo "case122 memcheck rc $?: $(grep -E 'ERROR SUMMARY' "$W/case122-memcheck.txt" | tail -1)"; grep -E "Invalid|at .*mla_|Address" "$W/case122-memcheck.txt" | head -8
ts "case 122 memcheck"
s50_fuzz 7275089 60
ts "fuzz 7275089"
timeout -k 5 "$(lim 60)" node --test --test-reporter=tap --test-name-pattern "switching between|golden" build/test/gpu/cuda.test.js > "$W/plans.tap" 2>&1
echo "plans rc $?"; grep -E "^# (pass|fail)|^not ok|^\s+not ok" "$W/plans.tap" | head -6
ts "plans"
FLASHMLA_GPU_SPARSE_STRAY_CASES=24 s50_sparse_suite stray 40 "outside the cache"
FLASHMLA_GPU_SPARSE_STRAY_CASES=2 timeout -k 5 "$(lim 40)" compute-sanitizer --tool memcheck --print-limit 10 node --test \
  --test-name-pattern "outside the cache" build/test/gpu/sparse.test.js > "$W/memcheck-new.txt" 2>&1
echo "memcheck rc $?: $(grep -E 'ERROR SUMMARY' "$W/memcheck-new.txt" | tail -1)"
for arm in new:dist/cuda old:dist-old/cuda; do
  FLASHMLA_CUDA_KERNELS=${arm#*:} timeout -k 5 "$(lim 35)" "${CLI[@]}" bench --mode sparse --backend cuda --flush-mb 256 --rep-ms 30 \
    --out "$W/ab-${arm%%:*}.json" > "$W/ab-${arm%%:*}.txt" 2>&1; echo "ab ${arm%%:*} rc $?"
done
s50_sparse_rows ab-new.json ab-old.json
ts "bound A/B"
s50_fuzz 11 90
ts "fuzz 11"
PYTHONUNBUFFERED=1 timeout -k 5 "$(lim 70)" python3 bench/cuda/flashmla_sparse_protocols.py .gpu-host/anchors/flashmla-sparse --out "$W/fp-sparse.json" --deadline 50 > "$W/fp-sparse.txt" 2>&1 || echo "sparse anchor rc $?"
tail -1 "$W/fp-sparse.txt"; ts "flashmla sparse"
sb() { local tag=$1 t=$2; shift 2; timeout -k 5 "$(lim "$t")" "${CLI[@]}" bench --mode sparse "$@" --out "$W/$tag.json" > "$W/$tag.txt" 2>&1
  echo "$tag rc $?"; grep -E "^dense |geomean|ratio" "$W/$tag.txt" | cut -c1-200 | head -16; }
sb cuda-sparse 60 --backend cuda --flush-mb 256 --flashmla "$W/fp-sparse.json" --dense-heads 16,32,16x2,48,64,128
ts "end"
tar czf "$OUT/s54c1.tgz" -C "$W" .
