#!/usr/bin/env bash
# Session 38, call 9 (H200): the small-batch and hold-out sets recorded against FlashMLA 9241ae3 with the library as
# shipped (mla_combine_quarter on by default), do_bench's loop on both sides only (the session's device time allows no
# graph protocol). Pack: s29_pack .devstage/s38c9.tar.xz; carry .ghc (with anchors) and .devstage:
#   OUT=$OUT bash bench/cuda/hopper/s38_call9.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s38c9.tar.xz}"
mkdir -p "$OUT/f"
export S32_SETS="small-batch combine-holdout"
s32_sets flush "--protocols do_bench" "--flush-mb 256"
python3 bench/cuda/hopper/s32_sets_read.py "$OUT" flush > "$OUT/read-flush.txt"; grep -v '^   ' "$OUT/read-flush.txt"
for s in $S32_SETS; do mv "$OUT/fp-$s.json" "$OUT/fpflush-$s.json"; done
s36_record_pack s38c9
ts end
