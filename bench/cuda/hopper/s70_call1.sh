#!/usr/bin/env bash
# Session 70, call 1 (issue #14): session 69's two owed runs in one call, so that one machine start serves both (session
# 70's first hour: ten tries, no machine). First the H200 record of session 67's build from call 2's pack
# (s69_record.sh ship: FlashMLA 9241ae3's sparse table, then ours twice; ~90 s in session 61), then the verification
# build's sanitizers (s69_call3.sh, its own budget, C3_BUDGET or 300 s, from its own start). Predictions: s69_record.sh's and
# s69_call3.sh's headers (written in session 69, before any run).
#   (device) ln -sfn .ghc .gpu-host && OUT=$OUT bash bench/cuda/hopper/s70_call1.sh > $OUT/log.txt 2>&1   (carry .ghc/node_modules)
# On a card other than an H200 the record is skipped (sessions 65-69 have H100 readings of this build): the sanitizers only.
mkdir -p "$OUT/record" "$OUT/call3"
card=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1); echo "card: $card"
if [[ $card == *H200* ]]; then
  ( OUT=$OUT/record bash bench/cuda/hopper/s69_record.sh ship ) > "$OUT/record/log.txt" 2>&1
  echo "record rc $?"; grep -aE "^card|commit field|geometric|lowest|^dense|\[[0-9]+s\]" "$OUT/record/log.txt" | cut -c1-200 | head -30
fi
( OUT=$OUT/call3 BUDGET=${C3_BUDGET:-300} bash bench/cuda/hopper/s69_call3.sh ) > "$OUT/call3/log.txt" 2>&1
echo "call3 rc $?"; cat "$OUT/call3/log.txt" | cut -c1-220 | tail -30
