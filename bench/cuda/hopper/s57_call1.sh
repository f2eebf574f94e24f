#!/usr/bin/env bash
# (Its sanitizer loop was moved into s50_common.sh's s58_sanitize after the run: the same steps.)
# Session 57, call 1: the device scheduler's walk restated on one axis (sparse_mma.cu planRows; docs/notes/
# cuda-sparse-decode.md "Session 57"): each request boundary's next landing boundary and step count found by a thread
# a boundary, one thread following them from S_0, then every part's point, row and split count in parallel, by the
# whole CTA (mla_dense_fp8_lists now plans in one CTA, as mla_sparse_bound does). Session 56's ballot walk (~400 cycles
# a part) is the `old` build (dist-old/cuda: the previous commit's kernels).
# (1) correctness: the device-plan suites (150 seeds, plans compared with the host scheduler row by row), the capture
#     test, mla_dense_fp8_lists's plan test (now also past the parallel walk's bounds: 4090-4200 requests, 1025 parts)
#     and its device-length random cases (40 + 40); memcheck, racecheck and synccheck on two seeds.
# (2) time, two rounds alternating: sparse with FLASHMLA_CUDA_SPARSE_REPLAN=1 (the walk at every call), new and old
#     build, against the host plan; dense FP8 64 / 128 heads with device lengths against host lengths (session 56,
#     call 6: +19 us at 64 heads, the walk of 132 parts in the last of 132 plan CTAs, which session 56 had ruled out).
# Predictions (written before the run): (1) pass, 0 errors / 0 hazards in mla_sparse_bound and mla_dense_fp8_lists;
#     (2) sparse REPLAN: old / host as in session 56 (1.12 / 1.06 on CONFIG3 / CONFIG4), new / host 1.01-1.03 (+2-6 us:
#     a scan, ~66 / 33 landings of ~50 cycles, the searches); dense device / host lengths 1.00-1.015 at 64 heads
#     (from 1.04), 128 heads level.
#   (here)   s29_pack .devstage/s57c1.tar.xz old
#   (device) ln -sfn .ghc .gpu-host && BUDGET=500 OUT=$OUT bash bench/cuda/hopper/s57_call1.sh > $OUT/log.txt 2>&1
source bench/cuda/hopper/s50_common.sh && PACK=.devstage/s57c1.tar.xz s50_setup c1 # (W, CLI, ts, lim)
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader
FLASHMLA_GPU_SPARSE_DEVPLAN_CASES=150 FLASHMLA_GPU_DENSE64_CASES=40 FLASHMLA_GPU_DENSE_FOLD_CASES=40 \
  s50_sparse_suite devplan 180 "metadata planned on the device|then captured with onDevice|mla_dense_fp8_lists|lengths on the device"
grep -E "^\s*not ok|Error|expected|actual" "$W/devplan.tap" | cut -c1-240 | head -8; grep -E "^\s+ok [0-9]+ - " "$W/devplan.tap" | grep -v SKIP | cut -c1-150
ts "devplan"
FLASHMLA_GPU_SPARSE_DEVPLAN_CASES=2 FLASHMLA_GPU_DENSE64_CASES=2 s58_sanitize "metadata planned on the device|seed 98000" 60 memcheck racecheck synccheck
for arm in host1:0:dist/cuda: new1:1:dist/cuda:--device-plan old1:1:dist-old/cuda:--device-plan host2:0:dist/cuda: new2:1:dist/cuda:--device-plan old2:1:dist-old/cuda:--device-plan; do
  IFS=: read -r tag rep kern flag <<< "$arm"
  FLASHMLA_CUDA_KERNELS=$kern FLASHMLA_CUDA_SPARSE_REPLAN=$rep timeout -k 5 "$(lim 40)" "${CLI[@]}" bench --mode sparse --backend cuda --flush-mb 256 --rep-ms 40 --dense-heads none $flag \
    --out "$W/sp-$tag.json" > "$W/sp-$tag.txt" 2>&1
  echo "sparse $tag rc $?"
done
for r in 1 2; do s50_sparse_rows sp-new$r.json sp-host$r.json ; s50_sparse_rows sp-old$r.json sp-host$r.json; echo; done
ts "sparse"
s50_dense_lens_ab 64,128
ts "end"
tar czf "$OUT/s57c1.tgz" -C "$W" .
