#!/usr/bin/env bash
# Session 53, call 3: call 1 measured the in-kernel bound (a compare at every index load of sparse_sm90.cu) at up to
# 1.25x the time (H100, MODEL1 64 heads); this build bounds device index tensors by a pre-pass instead
# (mla_sparse_bound into the workspace; the decode kernels' code identical to the previous build's, compare-fatbins).
# Predictions (written before the run): the stray cases pass, memcheck 0 errors; the bench keeps its indices on the
# device, so the pre-pass runs there: new / old 1.00-1.04 on every sparse row (4 bytes an index read and written, 2 MB
# at b=128 s_q=2 topk 2048, plus one launch, against 80-400 us).
#   (here)   s29_pack .devstage/s53c3.tar.xz old
#   (device) ln -sfn .ghc .gpu-host && BUDGET=110 OUT=$OUT bash bench/cuda/hopper/s53_call3.sh > $OUT/log.txt 2>&1
source bench/cuda/hopper/s50_common.sh && PACK=.devstage/s53c3.tar.xz s50_setup c3 # (W, CLI, ts, lim)
FLASHMLA_GPU_SPARSE_STRAY_CASES=24 s50_sparse_suite stray 40 "outside the cache"
FLASHMLA_GPU_SPARSE_STRAY_CASES=2 timeout -k 5 "$(lim 40)" compute-sanitizer --tool memcheck --print-limit 10 node --test \
  --test-name-pattern "outside the cache" build/test/gpu/sparse.test.js > "$W/memcheck-new.txt" 2>&1
echo "memcheck rc $?: $(grep -E 'ERROR SUMMARY' "$W/memcheck-new.txt" | tail -1)"
for arm in new:dist/cuda old:dist-old/cuda; do
  FLASHMLA_CUDA_KERNELS=${arm#*:} timeout -k 5 "$(lim 35)" "${CLI[@]}" bench --mode sparse --backend cuda --flush-mb 256 --rep-ms 30 \
    --out "$W/ab-${arm%%:*}.json" > "$W/ab-${arm%%:*}.txt" 2>&1; echo "ab ${arm%%:*} rc $?"
done
s50_sparse_rows ab-new.json ab-old.json
ts "end"
tar czf "$OUT/s53c3.tgz" -C "$W" .
