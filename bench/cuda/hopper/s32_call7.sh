#!/usr/bin/env bash
# Session 32, call 7 (H200): back to back with both sides replayed from CUDA graphs of 10 calls (ours: flashmla bench
# --graph-calls 10; FlashMLA: bench/cuda/flashmla_protocols.py --protocols graph), same call, on FlashMLA's grid plus b = 1
# and the uneven batch, the 34 small-batch shapes and the 25 hold-outs. Predictions: results/gpu-host/bench/hopper/s32/
# predictions.txt. Carry .ghc and .devstage (s32c7.tar.xz from s29_pack):   OUT=$OUT bash bench/cuda/hopper/s32_call7.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s32c7.tar.xz}"
s32_sets graph "--protocols graph" "--graph-calls 10"
python3 bench/cuda/hopper/s32_sets_read.py "$OUT" graph
rm -f "$OUT"/*.svg
tar czf "$OUT/s32c7.tgz" -C "$OUT" fp-full.json fp-small-batch.json fp-combine-holdout.json graph-full.json graph-small-batch.json graph-combine-holdout.json fp-full.txt
rm -f "$OUT"/fp-*.txt "$OUT"/full.json "$OUT"/small-batch.json "$OUT"/combine-holdout.json "$OUT"/jobs.txt
ts end
