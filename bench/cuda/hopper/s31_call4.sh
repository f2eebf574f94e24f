#!/usr/bin/env bash
# Session 31, call 4 (H200; its checks through s29_common.sh s29_wide_checks since the session's end, as they ran): the >= 64-row kernel with its pair's one-way hand-offs on mbarriers (M:
# -DMLA_SM90W_MBHAND=1) against the library (A): racecheck on session 29's 17 shapes (and two shipped controls), the
# checks (sm90-wide.test, memcheck, synccheck on four shapes), then arms A M M A on bench/cuda/hopper/s30_wide_e.json.
# Predictions and rule: results/gpu-host/bench/hopper/s31/predictions.txt. Carry .ghc and .devstage (s31c4.tar.xz
# from s29_pack ... M):   OUT=$OUT bash bench/cuda/hopper/s31_call4.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s31c4.tar.xz}"
for c in "w64:1:8192:64:1" "w128:2:1024:128:1" "w256c:1:8192:128:2" "w256odd:3:1500:128:2" "w64odd:1:1000:64:1" \
         "a:2:1024:128:2" "b:2:1050:128:2" "c:1:1024:128:2" "d:4:1024:128:2" "e:2:2048:128:2" "f:8:1024:128:2" \
         "g:4:4096:64:2" "h:4:4096:64:1" "i:4:4096:128:1" "j:2:1024:64:4" "k:4:4000:64:2"; do
  IFS=: read -r tag b sk hq sq <<<"$c"; s29_cfg "$tag" "$b" "$sk" "$hq" "$sq"
  s29_rc "M-$tag-$b-$sk-$hq-$sq" dist-M/cuda "${CLI[*]} ${BQ[*]} --configs $OUT/f/c-$tag.json --out $OUT/f/o-M-$tag.json"
done
s29_rc "M-a-flashmla-plan" dist-M/cuda "env FLASHMLA_CUDA_SCHEDULE=flashmla ${CLI[*]} ${BQ[*]} --configs $OUT/f/c-a.json --out $OUT/f/o-M-a-fm.json"
for tag in w64 a; do s29_rc "ship-$tag" dist/cuda "${CLI[*]} ${BQ[*]} --configs $OUT/f/c-$tag.json --out $OUT/f/o-ship-$tag.json"; done
s29_wide_checked M 14
s29_race_report s31c4-race
s29_ab_arms A bench/cuda/hopper/s30_wide_e.json A M M A
tar czf "$OUT/s31c4-files.tgz" -C "$OUT" f && rm -rf "$OUT/f"
ts end
