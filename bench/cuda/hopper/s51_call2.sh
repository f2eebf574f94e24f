#!/usr/bin/env bash
# Session 51, call 2: f16 queries over FP8 caches on sparse_mma.cu (Q as bf16 hi + lo tiles, 32-row tiles at most; before
# this session sparse.cu, a CTA a head in f32, ran them), the new defaults (SparsePartial 'all', dense FP8 partial tiles on)
# on the GPU suite, and MODEL1 dense FP8 rows with part-empty head tiles (never timed: call 1 timed V3.2 only).
# Predictions (written before the run):
#  - f16 checks pass (random sparse and dense cases, memcheck 0 errors); the mutant without Q's lo tile fails its first
#    seeds (a bf16 Q rounds each query value by up to 2^-9, past tolerances.cuda's 2 f16 ulps).
#  - f16 / bf16 time on sparse_mma.cu (FLASHMLA_CUDA_SPARSE=mma for the bf16 side): 1.2-1.8 (QK's products doubled, one
#    staging buffer at 32 rows, 32-row tiles where bf16 takes 64); f16 sparse_mma / old sparse.cu 0.02-0.3 at 128 heads.
#  - MODEL1 dense FP8 partial / mma.sync: 0.45-0.80 at 16, 32, 16 x 2 and 48 rows. Rule: MODEL1 keeps the partial default
#    only if every row is <= 0.95, else MODEL1 goes back to whole tiles.
#   (dev machine) pack: .devstage/s51c2.tar.xz with variant mut (s29_pack), .devstage/build-old (the previous commit's tsc)
#   (device) ln -sfn .ghc .gpu-host && BUDGET=560 OUT=$OUT bash bench/cuda/hopper/s51_call2.sh > $OUT/log.txt 2>&1
source bench/cuda/hopper/s50_common.sh && PACK=.devstage/s51c2.tar.xz s50_setup c2 # (W, CLI, ts, lim)
FLASHMLA_GPU_FP8_F16_CASES=120 s50_sparse_suite f16 170 "f16 queries over FP8"
ts "f16 tests"
FLASHMLA_CUDA_KERNELS=dist-mut/cuda FLASHMLA_GPU_FP8_F16_CASES=6 s50_sparse_suite mutant 40 "f16 queries over FP8"
ts "mutant (expected to fail)"
FLASHMLA_GPU_FP8_F16_CASES=5 timeout -k 5 $(lim 60) compute-sanitizer --tool memcheck --target-processes all --print-limit 20 node --test \
  --test-name-pattern "f16 queries over FP8" build/test/gpu/sparse.test.js > $W/memcheck.txt 2>&1
echo "memcheck rc $?"; grep -E "ERROR SUMMARY|^# (pass|fail)|Invalid" $W/memcheck.txt | head -6
ts "memcheck"
FLASHMLA_GPU_DENSE_FOLD_CASES=40 FLASHMLA_GPU_SPARSE_SM90_HQ=96,48,5 FLASHMLA_GPU_SPARSE_SM90_CASES=20 FLASHMLA_GPU_SPARSE_CASES=100 \
  s50_sparse_suite defaults 110 "whole 64-head tile|head counts no multiple|dense \(page-table\)|hQ 64 / 128|many heads|random cases vs the float64"
ts "defaults tests"
db() { FLASHMLA_CUDA_DENSE_FP8_PARTIAL=$2 timeout -k 5 $(lim 60) "${CLI[@]}" bench --mode sparse --backend cuda --dense-only $3 \
    --flush-mb 256 --out $W/cuda-densefp8-$1.json > $W/cuda-densefp8-$1.txt 2>&1; echo "dense $1 rc $?"; grep -E "^dense " $W/cuda-densefp8-$1.txt; }
db m1part "" "--dense-format model1 --dense-heads 16,32,16x2,48"
db m1mma 0 "--dense-format model1 --dense-heads 16,32,16x2,48"
db f16 "" "--query-dtype f16 --dense-heads 16,32,64,128"
ts "dense bench"
sb() { FLASHMLA_CUDA_SPARSE=$2 timeout -k 5 $(lim 70) "${CLI[@]}" bench --mode sparse --backend cuda --batches 128 --heads 16,128 --dense-heads 16 \
    --flush-mb 256 --rep-ms 40 $3 --out $W/cuda-sparse-$1.json > $W/cuda-sparse-$1.txt 2>&1; echo "sparse $1 rc $?"; }
sb f16 "" "--query-dtype f16"
sb bf16mma mma ""
s50_sparse_rows cuda-sparse-f16.json cuda-sparse-bf16mma.json
ts "sparse bench"
# f16 over FP8 through the previous commit's JS (sparse.cu) and this tree's (sparse_mma.cu), the same fatbins
for t in old:.devstage/build-old/src new:build/src; do
  timeout -k 5 $(lim 90) node bench/cuda/hopper/s51-f16-sparse.mjs ${t#*:} $W/f16-${t%%:*}.json > $W/f16-${t%%:*}.txt 2>&1; echo "f16 ${t%%:*} rc $?"; cat $W/f16-${t%%:*}.txt | tail -4
done
ts "end"
tar czf "$OUT/s51c2.tgz" -C $W .
