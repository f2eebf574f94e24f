#!/usr/bin/env bash
# Session 51, call 6: call 2's anomaly once more. There the bf16 row of MODEL1's h_q 48 timed 19 us (743 us in the
# mma.sync process, 767 in call 3, where 48 rows came first in their process). Call 2's process ran 16, 32, 16 x 2
# (folded: sparse_sm90 + the tail kernel), then 48. The same rows in the same order, then narrower orders.
#   (device) ln -sfn .ghc .gpu-host && BUDGET=300 OUT=$OUT bash bench/cuda/hopper/s51_call6.sh > $OUT/log.txt 2>&1
source bench/cuda/hopper/s50_common.sh && PACK=.devstage/s51c6.tar.xz s50_setup c6 # (W, CLI, ts, lim)
db() { timeout -k 5 $(lim $2) "${CLI[@]}" bench --mode sparse --backend cuda --dense-only $3 --out $W/cuda-densefp8-$1.json > $W/cuda-densefp8-$1.txt 2>&1
  echo "dense $1 rc $?"; grep -E "^dense |rror" $W/cuda-densefp8-$1.txt; }
db rep1 60 "--flush-mb 256 --dense-format model1 --dense-heads 16,32,16x2,48"
db rep2 60 "--flush-mb 256 --dense-format model1 --dense-heads 16x2,48"
db rep3 60 "--flush-mb 256 --dense-heads 16x3,48"
db rep4 60 "--flush-mb 256 --dense-format model1 --dense-heads 16,32,16x2,48"
ts "end"
tar czf "$OUT/s51c6.tgz" -C $W .
