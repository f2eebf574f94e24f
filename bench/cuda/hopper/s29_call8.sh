#!/usr/bin/env bash
# Session 29, call 8 (H200): which shapes the >= 64-row kernel's remaining racecheck class (verification build) appears
# on: twelve shapes around the two that report, one racecheck process each, plus the FlashMLA plan on one of them.
# Exploratory (what it predicts: results/gpu-host/bench/hopper/s29/predictions.txt). Carry .gpu-host and
# .devstage/s29c8.tar.xz (s29_pack ... strict):   OUT=$OUT bash bench/cuda/hopper/s29_call8.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s29c8.tar.xz}"
for c in "a:2:1024:128:2" "b:2:1050:128:2" "c:1:1024:128:2" "d:4:1024:128:2" "e:2:2048:128:2" "f:8:1024:128:2" \
         "g:4:4096:64:2" "h:4:4096:64:1" "i:4:4096:128:1" "j:2:1024:64:4" "k:4:4000:64:2"; do
  IFS=: read -r tag b sk hq sq <<<"$c"; s29_cfg "$tag" "$b" "$sk" "$hq" "$sq"
  s29_rc "$tag-$b-$sk-$hq-$sq" dist-strict/cuda "${CLI[*]} ${BQ[*]} --configs $OUT/f/c-$tag.json --out $OUT/f/o-$tag.json"
done
s29_rc "a-flashmla-plan" dist-strict/cuda "env FLASHMLA_CUDA_SCHEDULE=flashmla ${CLI[*]} ${BQ[*]} --configs $OUT/f/c-a.json --out $OUT/f/o-a-fm.json"
s29_run_jobs 12
s29_race_report s29c8-files
ts end
