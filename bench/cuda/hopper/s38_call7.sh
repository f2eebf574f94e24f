#!/usr/bin/env bash
# Session 38, call 7 (H200): mla_combine_quarter (combine.cu combineQuarter: one warp a quarter row, a request's first 16
# pieces in one round trip) where a step's merge would be one warp a row and its largest request is in 5+ pieces
# (FLASHMLA_CUDA_COMBINE_QUARTER=1; the library's default off). Call 6 measured the one-warp-a-row merge at ~5.9 us at b=9-10
# 16 rows (12 pieces, three round trips) against 4.1 us for b=1's 128 pieces. Checks: combine-quarter-bitexact (off /
# on, bit for bit), sm90.test 100 random cases with it on; then arms A cq cq A over s29_ab_configs' shapes in do_bench's
# loop and from graphs, judged by s38_quarter_rule.py. Predictions and the rule: results/gpu-host/bench/hopper/s38/predictions.txt.
# Pack: s29_pack .devstage/s38c7.tar.xz; carry .ghc and .devstage:   OUT=$OUT bash bench/cuda/hopper/s38_call7.sh
# (Refactored after it ran: its steps are s29_common.sh's s38_quarter_arms; not run again as written.)
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s38c7.tar.xz}"
mkdir -p "$OUT/f"
s29_ab_configs "$OUT/f/abc.json"
s38_quarter_arms "$OUT/f/abc.json"
tar czf "$OUT/s38c7.tgz" -C "$OUT" f
ts end
