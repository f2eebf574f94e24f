#!/usr/bin/env bash
# Session 55, call 3 (after call 2: new / nopdl 0.989 geomean on FlashMLA's 12 sparse shapes, racecheck 6 reports on the
# new build with no baseline in that call). (1) racecheck of the same two stray cases on the new build and on the build
# before (dist-old, launched plainly: FLASHMLA_CUDA_PDL=merges), the sites side by side; (2) the dense FP8 rows that run
# mla_dense_fp8_lists then sparse_sm90.cu (48, 64, 128 heads, 16 x 4 folded), new vs nopdl alternating; (3) FlashMLA's
# sparse table and ours (new build) in the same call.
# Predictions (written before the run): (1) the same classes on both builds (the row-factor reads and the producer's flag
# stores of the `_sp` entries, docs/notes/cuda-sparse-decode.md sessions 19-22), no new one; (2) new / nopdl 0.99-1.00
# (1-2 us of 480-1600 us); (3) 0.99-1.05x FlashMLA per shape, geomean ~1.02x on an H100 (call 1: 1.010x without the PDL).
#   (here)   s29_pack .devstage/s55c3.tar.xz old
#   (device) ln -sfn .ghc .gpu-host && BUDGET=400 OUT=$OUT bash bench/cuda/hopper/s55_call3.sh > $OUT/log.txt 2>&1
source bench/cuda/hopper/s50_common.sh && PACK=.devstage/s55c3.tar.xz s50_setup c3 # (W, CLI, ts, lim)
for arm in new:dist/cuda:1 old:dist-old/cuda:merges; do
  IFS=: read -r tag dir pdl <<< "$arm"
  FLASHMLA_CUDA_PDL=$pdl FLASHMLA_CUDA_KERNELS=$dir FLASHMLA_GPU_SPARSE_STRAY_CASES=2 timeout -k 5 "$(lim 50)" compute-sanitizer --tool racecheck \
    --print-limit 40 node --test --test-name-pattern "outside the cache" build/test/gpu/sparse.test.js > "$W/racecheck-$tag.txt" 2>&1
  echo "racecheck $tag rc $?: $(grep -E 'RACECHECK SUMMARY' "$W/racecheck-$tag.txt" | tail -1)"
  grep -E "Race reported|and (Read|Write) access" "$W/racecheck-$tag.txt" | sed -E 's/\[[0-9]+ hazards\]//' | sort | uniq -c | head -20
done
ts "racecheck"
for arm in new1:1 nopdl1:merges new2:1 nopdl2:merges; do
  IFS=: read -r tag pdl <<< "$arm"
  FLASHMLA_CUDA_PDL=$pdl timeout -k 5 "$(lim 45)" "${CLI[@]}" bench --mode sparse --backend cuda --flush-mb 256 --rep-ms 30 --dense-only \
    --dense-heads 48,64,128,16x4 --out "$W/dense-$tag.json" > "$W/dense-$tag.txt" 2>&1; echo "dense $tag rc $?"; grep -E "^dense " "$W/dense-$tag.txt" | cut -c1-160
done
ts "dense A/B"
PYTHONUNBUFFERED=1 timeout -k 5 "$(lim 70)" python3 bench/cuda/flashmla_sparse_protocols.py .gpu-host/anchors/flashmla-sparse --out "$W/fp-sparse.json" --deadline 50 > "$W/fp-sparse.txt" 2>&1 || echo "sparse anchor rc $?"
timeout -k 5 "$(lim 45)" "${CLI[@]}" bench --mode sparse --backend cuda --flush-mb 256 --flashmla "$W/fp-sparse.json" --out "$W/cuda-sparse.json" > "$W/cuda-sparse.txt" 2>&1
echo "cuda-sparse rc $?"; grep -E "FlashMLA|geomean" "$W/cuda-sparse.txt" | grep -v "^\[" | cut -c1-160 | tail -16
ts "end"
tar czf "$OUT/s55c3.tgz" -C "$W" .
