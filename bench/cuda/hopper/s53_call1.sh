#!/usr/bin/env bash
# Session 53, call 1 (the first device call since session 51): (1) sparse indices outside the cache on the device
# (new this session: the sparse kernels count them as -1; test/gpu/sparse.test.ts "outside the cache", sparse_sm90.cu,
# sparse_mma.cu, sparse.cu); (2) the GPU fuzz prepared in session 52 (test/gpu/fuzz.test.ts on CUDA and the hardware
# WebGPU adapter, seed 7275089), its first CUDA run; (3) FlashMLA 9241ae3's sparse table and ours, the kernels before
# the bound (dist-old) and after, arms new old (do_bench's loop, --flush-mb 256); memcheck of the old kernels last.
# Predictions (written before the run): the stray cases pass (fail without the bound: an out-of-range read, a fault or
# wrong rows); new / old time 0.99-1.01 on every sparse row (one compare and select per index load in the producer);
# sparse geomean 1.00-1.07x FlashMLA (session 39: 1.034x).
#   (here)   s29_pack .devstage/s53c1.tar.xz old   (dist-old/cuda: HEAD's kernels before the bound)
#   (device) ln -sfn .ghc .gpu-host && BUDGET=540 OUT=$OUT bash bench/cuda/hopper/s53_call1.sh > $OUT/log.txt 2>&1
source bench/cuda/hopper/s50_common.sh && PACK=.devstage/s53c1.tar.xz s50_setup c1 # (W, CLI, ts, lim)
FLASHMLA_GPU_SPARSE_STRAY_CASES=24 s50_sparse_suite stray 100 "outside the cache"
ts "stray"
mc() { # memcheck of 2 stray cases a kernel on build $2: 0 errors with the bound; the old kernels read outside the cache
  FLASHMLA_CUDA_KERNELS=$2 FLASHMLA_GPU_SPARSE_STRAY_CASES=2 timeout -k 5 "$(lim 60)" compute-sanitizer --tool memcheck --print-limit 10 node --test \
    --test-name-pattern "outside the cache" build/test/gpu/sparse.test.js > "$W/memcheck-$1.txt" 2>&1
  echo "memcheck $1 rc $?: $(grep -E 'ERROR SUMMARY' "$W/memcheck-$1.txt" | tail -1) $(grep -cE 'Invalid __global__ read' "$W/memcheck-$1.txt") invalid reads"
}
mc new dist/cuda
ts "memcheck"
s50_fuzz 7275089 100
ts "fuzz"
PYTHONUNBUFFERED=1 timeout -k 5 "$(lim 70)" python3 bench/cuda/flashmla_sparse_protocols.py .gpu-host/anchors/flashmla-sparse --out "$W/fp-sparse.json" --deadline 50 > "$W/fp-sparse.txt" 2>&1 || echo "sparse anchor rc $?"
tail -1 "$W/fp-sparse.txt"; ts "flashmla sparse"
sb() { local tag=$1 kd=$2 t=$3; shift 3; FLASHMLA_CUDA_KERNELS=$kd timeout -k 5 "$(lim "$t")" "${CLI[@]}" bench --mode sparse "$@" --out "$W/$tag.json" > "$W/$tag.txt" 2>&1
  echo "$tag rc $?"; }
for arm in new:dist/cuda old:dist-old/cuda; do
  sb "ab-${arm%%:*}" "${arm#*:}" 55 --backend cuda --flush-mb 256 --flashmla "$W/fp-sparse.json"
done
s50_sparse_rows ab-new.json ab-old.json
mc old dist-old/cuda
grep -E "geomean|ratio" "$W/ab-new.txt" | head -5; grep -E "^dense " "$W/ab-new.txt" | head -4
ts "end"
tar czf "$OUT/s53c1.tgz" -C "$W" .
