#!/usr/bin/env bash
# (Its sanitizer loop was moved into s50_common.sh's s58_sanitize after the run: the same steps, the reported sites by one grep.)
# Session 56, call 6: the device scheduler's walk as one ballot a part (sparse_mma.cu planRows: costs scanned into shared
# memory, lane l asks whether requests req .. req + l fit whole; the serial walk stays past 4096 requests). It serves the
# sparse plan pass (CTA 0 of mla_sparse_bound, when the lengths differ from those on record) and mla_dense_fp8_lists's
# plan CTAs (dense FP8 steps of 64+ heads with the lengths on the device, every call).
# (1) correctness: the device-plan suites (150 seeds, plans compared with the host scheduler's row by row), the capture
#     test, mla_dense_fp8_lists's plan test and its device-length random cases; memcheck and racecheck on two seeds.
# (2) time, two rounds alternating: sparse with FLASHMLA_CUDA_SPARSE_REPLAN=1 (the walk at every call) against the host
#     plan (call 2: CONFIG3 1.18-1.19, CONFIG4 1.11); dense FP8 64 / 128 heads with device lengths against host lengths
#     (call 5: 64 heads 1.04-1.05, 128 heads level).
# Predictions (written before the run): (1) pass, 0 errors / hazards in mla_sparse_bound and mla_dense_fp8_lists;
#     (2) REPLAN / host 1.02-1.06 on CONFIG3 / CONFIG4 (~66 / 33 steps of ~100 cycles: 3-6 us instead of 17-23), the
#     other rows 0.99-1.01; dense device / host lengths 1.00-1.02 at 64 heads.
#   (here)   s29_pack .devstage/s56c6.tar.xz
#   (device) ln -sfn .ghc .gpu-host && BUDGET=420 OUT=$OUT bash bench/cuda/hopper/s56_call6.sh > $OUT/log.txt 2>&1
source bench/cuda/hopper/s50_common.sh && PACK=.devstage/s56c6.tar.xz s50_setup c6 # (W, CLI, ts, lim)
FLASHMLA_GPU_SPARSE_DEVPLAN_CASES=150 FLASHMLA_GPU_DENSE64_CASES=40 FLASHMLA_GPU_DENSE_FOLD_CASES=40 \
  s50_sparse_suite devplan 150 "metadata planned on the device|then captured with onDevice|mla_dense_fp8_lists|lengths on the device"
grep -E "^\s*not ok|Error|expected|actual" "$W/devplan.tap" | cut -c1-240 | head -8; grep -E "^\s+ok [0-9]+ - " "$W/devplan.tap" | grep -v SKIP | cut -c1-150
ts "devplan"
FLASHMLA_GPU_SPARSE_DEVPLAN_CASES=2 FLASHMLA_GPU_DENSE64_CASES=2 s58_sanitize "metadata planned on the device|seed 98000" 60 memcheck racecheck
for arm in host1:0: rep1:1:--device-plan host2:0: rep2:1:--device-plan; do
  IFS=: read -r tag rep flag <<< "$arm"
  FLASHMLA_CUDA_SPARSE_REPLAN=$rep timeout -k 5 "$(lim 40)" "${CLI[@]}" bench --mode sparse --backend cuda --flush-mb 256 --rep-ms 40 --dense-heads none $flag \
    --out "$W/sp-$tag.json" > "$W/sp-$tag.txt" 2>&1
  echo "sparse $tag rc $?"
done
for r in 1 2; do s50_sparse_rows sp-rep$r.json sp-host$r.json; echo; done
s50_dense_lens_ab 64,128 # (the same loop as run, moved into s50_common.sh afterwards)
ts "end"
tar czf "$OUT/s56c6.tgz" -C "$W" .
