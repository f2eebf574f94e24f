#!/usr/bin/env bash
# Session 40, call 1 (H200): (1) the sparse counting tools with precision 'fast''s bound (tolerances.cudaSparseFast):
# sparse-count random 150 + heads, the combine bitexact script on 60 cases; (2) per-kernel durations under ncu
# (gpu__time_duration, no clock or cache control, kernels serialised: no PDL overlap) of ours and FlashMLA 9241ae3 on
# the sparse rows where we trail (V3.2 b = 2, MODEL1 128 heads single cache, CONFIG4 b = 74) and controls, and of the
# dense small-batch hold-out b = 5 s_k 16384 16 x 4 (ours, FlashMLA).
# Pack: s29_pack .devstage/s40c1.tar.xz; carry .ghc (with anchors) and .devstage:   OUT=$OUT bash bench/cuda/hopper/s40_call1.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s40c1.tar.xz}"
W=/tmp/w; rm -rf $W; mkdir -p $W
timeout -k 5 120 node build/test/gpu/sparse-count.js 150 cuda random,heads > $W/count.txt 2>&1; cat $W/count.txt
timeout -k 5 120 node build/bench/cuda/hopper/sparse-combine-trip-bitexact.js --cases 48 > $W/bitexact.txt 2>&1; tail -3 $W/bitexact.txt
ts "checks done"
M=gpu__time_duration.sum,launch__grid_size,launch__block_size,launch__registers_per_thread
NCU=(ncu --metrics $M --clock-control none --cache-control none --csv --print-units base)
# ours: rows of --batches 2,74 (V3.2 b 2, b 74, CONFIG1-4 at 2 and 74), then FlashMLA's b = 128 rows; 1 warm-up, 3 reps
timeout -k 5 150 "${NCU[@]}" -k regex:mla --launch-count 120 "${CLI[@]}" bench --mode sparse --backend cuda --grid all --batches 2,74 --reps 3 --warmup 1 --dense-heads 16 -q > $W/ncu-ours-2-74.csv 2>$W/ncu-ours-2-74.err; echo "ours 2,74 rc $?"
timeout -k 5 150 "${NCU[@]}" -k regex:mla --launch-count 120 "${CLI[@]}" bench --mode sparse --backend cuda --grid flashmla --batches 128 --reps 3 --warmup 1 --dense-heads 16 -q > $W/ncu-ours-128.csv 2>$W/ncu-ours-128.err; echo "ours 128 rc $?"
ts "ours ncu done"
for c in 2 3 6 8 9 30 31; do
  timeout -k 5 90 "${NCU[@]}" -k regex:'mla|combine' --launch-skip 4 --launch-count 8 python3 bench/cuda/hopper/flashmla_sparse_once.py --anchors .gpu-host/anchors --case $c --calls 8 > $W/ncu-fm-$c.csv 2>&1; echo "fm case $c rc $?"
done
ts "flashmla ncu done"
# dense small batch: ours (one config file, 3 reps) and FlashMLA
echo '[{"b": 5, "s_k": 16384, "h_q": 16, "s_q": 4}, {"b": 4, "s_k": 8192, "h_q": 16, "s_q": 4}]' > $W/c-dense.json
timeout -k 5 120 "${NCU[@]}" -k regex:mla --launch-count 60 "${CLI[@]}" bench --backend cuda --configs $W/c-dense.json --reps 3 --warmup 1 --warm-ms 0 --idle-warm-ms 0 -q > $W/ncu-ours-dense.csv 2>$W/ncu-ours-dense.err; echo "ours dense rc $?"
timeout -k 5 90 "${NCU[@]}" -k regex:'mla|combine' python3 bench/cuda/hopper/flashmla_once.py --anchors .gpu-host/anchors 5,16384,16,4 4,8192,16,4 5,16384,16,4 4,8192,16,4 > $W/ncu-fm-dense.csv 2>&1; echo "fm dense rc $?"
ts "dense ncu done"
python3 bench/cuda/hopper/s40_ncu_read.py $W > $W/read.txt 2>&1; cat $W/read.txt
tar czf "$OUT/a-s40c1.tgz" -C $W .
cp $W/read.txt $W/count.txt "$OUT/"
ts end
