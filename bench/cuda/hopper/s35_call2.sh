#!/usr/bin/env bash
# Session 35, call 2 (H200): why the >= 64-row kernel loses to FlashMLA under do_bench's protocol at 128 / 256 rows
# (0.90-0.93x at s_k 1024) while it wins from graphs (1.01-1.07x) and takes fewer cycles under ncu (call 1: 134 k
# against 143 k at 128 rows, 241 k against 239 k at 256). The question: does the dirty L2 that the 256 MB zeroing
# leaves hurt ours more than FlashMLA's (our cache reads are evict-first; FlashMLA's evict-normal; the 2-4 row-tile
# CTAs of a part read each page)? And does L2 (the library + kVarL2: evict-normal reads where there are 2+ row tiles)
# change that?
#  1. ncu, one pass (cycles, SM clock, DRAM bytes read / written), --cache-control none, each launch after a 256 MB
#     zeroing (dirty) and, for reference, with ncu's own flush (clean): ours (library, L2) and FlashMLA, six shapes.
#  2. Arms A L2 L2 A on the 15 wide rows of FlashMLA's grid, under do_bench's protocol and from graphs, with FlashMLA's
#     do_bench and graph times of the same rows in the same call; nvidia-smi sampled throughout (clock, power).
# Predictions: results/gpu-host/bench/hopper/s35/predictions.txt. Carry .ghc and .devstage (s35c2.tar.xz: s29_pack L2):
#   OUT=$OUT bash bench/cuda/hopper/s35_call2.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s35c2.tar.xz}"
nvidia-smi --query-gpu=timestamp,clocks.sm,power.draw,temperature.gpu --format=csv,noheader -lms 100 > "$OUT/smi.csv" 2>&1 &
SMI=$!
mark() { echo "$(date +%H:%M:%S.%N | cut -c1-12) $*" >> "$OUT/marks.txt"; ts "$*"; }
mkdir -p "$OUT/f/ncu"
met="gpc__cycles_elapsed.max,gpc__cycles_elapsed.avg.per_second,dram__bytes_read.sum,dram__bytes_write.sum"
shapes="128,1024,32,2 128,1024,64,2 128,1024,128,1 128,1024,128,2 128,4096,64,2 128,8192,64,2"
# 1. ncu: ours, one process a (build, mode) holding the six shapes, every launch of the decode entry profiled
python3 -c 'import json,sys; json.dump([dict(zip(("b","s_k","h_q","s_q"), map(int, s.split(",")))) for s in sys.argv[2:]], open(sys.argv[1], "w"))' "$OUT/f/ncu/six.json" $shapes
for v in A L2; do
  k=dist/cuda; [ $v != A ] && k=dist-$v/cuda
  for mode in dirty clean; do
    cc="--cache-control none"; fl="--flush-mb 256"; [ $mode = clean ] && { cc="--cache-control all"; fl=""; }
    # shellcheck disable=SC2086
    FLASHMLA_CUDA_KERNELS=$k timeout -k 5 120 ncu $cc --clock-control none --metrics $met -k 'regex:mla_decode_sm90w_bf16$' --csv --page raw "${CLI[@]}" bench --backend cuda --configs "$OUT/f/ncu/six.json" --reps 3 --warmup 0 --check 0 --warm-ms 0 --idle-warm-ms 0 $fl -q > "$OUT/f/ncu/ours-$v-$mode.csv" 2> "$OUT/f/ncu/ours-$v-$mode.err"; echo "ours $v $mode rc $? $(grep -c pass "$OUT/f/ncu/ours-$v-$mode.err") passes-lines $(grep -o '[0-9]* pass' "$OUT/f/ncu/ours-$v-$mode.err" | sort | uniq -c | tr '\n' ' ')"
  done
done
for mode in dirty clean; do
  cc="--cache-control none"; fl="--flush-mb 256"; [ $mode = clean ] && { cc="--cache-control all"; fl=""; }
  # shellcheck disable=SC2086
  timeout -k 5 150 ncu $cc --clock-control none --metrics $met -k regex:splitkv_mla --csv --page raw python3 bench/cuda/hopper/flashmla_once.py --anchors .gpu-host/anchors $fl ${shapes} > "$OUT/f/ncu/fm-$mode.csv" 2> "$OUT/f/ncu/fm-$mode.err"; echo "fm $mode rc $? $(grep -o '[0-9]* pass' "$OUT/f/ncu/fm-$mode.err" | sort | uniq -c | tr '\n' ' ')"
done
python3 bench/cuda/hopper/s35_ncu_dirty.py "$OUT/f/ncu" | tee "$OUT/ncu-dirty.txt"
mark "ncu done"
s33_pack s35c2-ncu
# 2. arms on the 15 wide rows, FlashMLA's times in the same call
c=$OUT/f/w15.json
python3 -c 'import json,sys; json.dump([{"b": 128, "s_k": k, "h_q": h, "s_q": q} for k in (1024, 4096, 8192) for h, q in ((32, 2), (64, 1), (64, 2), (128, 1), (128, 2))], open(sys.argv[1], "w"))' "$c"
mark "flashmla start"
PYTHONUNBUFFERED=1 timeout -k 5 200 python3 bench/cuda/flashmla_protocols.py .gpu-host/anchors --protocols do_bench,graph --configs "$c" --out "$OUT/f/fp-w15.json" > "$OUT/f/fp-w15.txt" 2>&1 || echo "fp rc $?"
mark "flashmla done"
s33_arms flush "--flush-mb 256" "$c" A L2 L2 A
mark "flush arms done"
s33_arms graph "--graph-calls 10" "$c" A L2 L2 A
mark "graph arms done"
python3 bench/cuda/hopper/s35_vs_fm.py "$OUT/f/fp-w15.json" "$OUT/f" | tee "$OUT/vs-fm.txt"
kill $SMI 2>/dev/null; sleep 0.2
python3 bench/cuda/hopper/s35_smi_phases.py "$OUT/smi.csv" "$OUT/marks.txt" | tee "$OUT/smi-phases.txt"
s33_pack s35c2-arms
