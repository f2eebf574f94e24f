#!/usr/bin/env bash
# Session 41, call 4 (H200): the recorded run of the small-batch and combine hold-out sets (bench/cuda/small-batch.json,
# combine-holdout.json) with mla_combine_q32's rule shipped, FlashMLA 9241ae3 in the same call, under do_bench's protocol
# and from CUDA graphs (s35_record with S32_SETS); files fpflush-* / flush-* / graph-* / read-*.txt.
# Pack: s29_pack .devstage/s41c4.tar.xz; carry .ghc and .devstage:   OUT=$OUT bash bench/cuda/hopper/s41_call4.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s41c4.tar.xz}"
export S32_SETS="small-batch combine-holdout"
s35_record "--protocols do_bench"
rm -f "$OUT"/*.svg
tar czf "$OUT/s41c4.tgz" -C "$OUT" $(cd "$OUT" && ls fp*.json flush-*.json graph-*.json read-*.txt fp-*.txt 2>/dev/null)
mkdir -p "$OUT/r"; cp "$OUT"/flush-*.json "$OUT"/graph-*.json "$OUT/r/" 2>/dev/null
ts end
