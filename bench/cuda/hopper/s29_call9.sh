#!/usr/bin/env bash
# Session 29, call 9 (H200): the verification build with the >= 64-row kernel's zeroTail barrier passed on whole last
# tiles too, on call 8's shapes. Prediction: results/gpu-host/bench/hopper/s29/predictions.txt. Carry .gpu-host and
# .devstage/s29c9.tar.xz (s29_pack ... strict):   OUT=$OUT bash bench/cuda/hopper/s29_call9.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s29c9.tar.xz}"
for c in "a:2:1024:128:2" "b:2:1050:128:2" "d:4:1024:128:2" "e:2:2048:128:2" "f:8:1024:128:2" "g:4:4096:64:2" \
         "h:4:4096:64:1" "j:2:1024:64:4" "w:1:8192:64:1"; do
  IFS=: read -r tag b sk hq sq <<<"$c"; s29_cfg "$tag" "$b" "$sk" "$hq" "$sq"
  s29_rc "$tag-$b-$sk-$hq-$sq" dist-strict/cuda "${CLI[*]} ${BQ[*]} --configs $OUT/f/c-$tag.json --out $OUT/f/o-$tag.json"
done
s29_run_jobs 12
s29_race_report s29c9-files
ts end
