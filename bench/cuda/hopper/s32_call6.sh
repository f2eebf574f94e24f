#!/usr/bin/env bash
# Session 32, call 6 (H200): FlashMLA back to back without its host cost (bench/cuda/flashmla_protocols.py now replays
# its calls from a CUDA graph, 10 a replay; the eager loop of calls 2-5 beside it), and ours back to back, in one call,
# on FlashMLA's grid plus b = 1 and the uneven batch, the 34 small-batch shapes and the 25 hold-outs. As run (pack
# s32c3.tar.xz: that commit's merge) ours eager was set against FlashMLA's graph replay; with the merge of the session's
# end (--flashmla picks flashmla_b2b_eager for an eager run) this script compares eager with eager. Predictions:
# results/gpu-host/bench/hopper/s32/predictions.txt. Carry .ghc and .devstage (s32c3.tar.xz):
#   OUT=$OUT bash bench/cuda/hopper/s32_call6.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s32c3.tar.xz}"
s32_sets b2b "" ""
python3 bench/cuda/hopper/s32_sets_read.py "$OUT" b2b
rm -f "$OUT"/*.svg "$OUT"/*.json.tmp
tar czf "$OUT/s32c6.tgz" -C "$OUT" fp-full.json fp-small-batch.json fp-combine-holdout.json b2b-full.json b2b-small-batch.json b2b-combine-holdout.json fp-full.txt fp-small-batch.txt fp-combine-holdout.txt
ts end
