#!/usr/bin/env bash
# Session 35, call 3 (H200): is the >= 64-row kernel's loss under "do_bench's protocol" the protocol's shape on our
# side? `flashmla bench --flush-mb 256` warms >= 300 ms (3 s for a first config) back to back, then times 10 + 30
# flushed calls (~6 ms), right after the warm-up's heat; triton's do_bench warms 25 ms and times ~200 ms of flushed
# calls, the median. Calls 1-2: ours takes fewer cycles than FlashMLA under ncu at 128 / 256 rows s_k 1024 yet 7 % more
# time under the flushed protocol.
#  - ours, the library, FlashMLA's grid + b=1 + uneven, two loops a run, interleaved P30 P1K P1K P30:
#    P30 = --flush-mb 256 (the loop as it is); P1K = --flush-mb 256 --warm-ms 25 --idle-warm-ms 25 --warmup 0 --reps 1000
#  - FlashMLA on the same rows: do_bench (bench_flashmla.py's) and flush_short (our P30 loop, warmed by graph replays)
#  - nvidia-smi sampled throughout, marks between the runs; triton's do_bench source printed (the version on the host)
# Predictions: results/gpu-host/bench/hopper/s35/predictions.txt. Carry .ghc and .devstage (s35c3.tar.xz):
#   OUT=$OUT bash bench/cuda/hopper/s35_call3.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s35c3.tar.xz}"
nvidia-smi --query-gpu=timestamp,clocks.sm,power.draw,temperature.gpu --format=csv,noheader -lms 100 > "$OUT/smi.csv" 2>&1 &
SMI=$!
mark() { echo "$(date +%H:%M:%S.%N | cut -c1-12) $*" >> "$OUT/marks.txt"; ts "$*"; }
python3 -c 'import inspect, triton, triton.testing as t; print("triton", triton.__version__); print(inspect.getsource(t.do_bench))' > "$OUT/do_bench_src.txt" 2>&1
head -3 "$OUT/do_bench_src.txt"
"${CLI[@]}" bench --grid full --emit-configs "$OUT/f/full.json" > /dev/null
mark "setup"
PYTHONUNBUFFERED=1 timeout -k 5 240 python3 bench/cuda/flashmla_protocols.py .gpu-host/anchors --protocols do_bench,flush_short --configs "$OUT/f/full.json" --out "$OUT/f/fp-full.json" > "$OUT/f/fp-full.txt" 2>&1 || echo "fp rc $?"
mark "flashmla do_bench + flush_short"
mkdir -p "$OUT/f/ab-p"
i=0
for arm in P30 P1K P1K P30; do
  i=$((i + 1)); args="--flush-mb 256"; [ $arm = P1K ] && args="--flush-mb 256 --warm-ms 25 --idle-warm-ms 25 --warmup 0 --reps 1000"
  # shellcheck disable=SC2086
  timeout -k 5 150 "${CLI[@]}" bench --backend cuda --configs "$OUT/f/full.json" --check 1 -q $args --out "$OUT/f/ab-p/ab-$i-$arm.json" > "$OUT/f/ab-p/ab-$i-$arm.txt" 2>&1 || echo "ours $arm rc $?"
  mark "ours $i $arm"
done
kill $SMI 2>/dev/null; sleep 0.2
python3 bench/cuda/hopper/s35_protocols_read.py "$OUT/f/fp-full.json" "$OUT/f/ab-p" | tee "$OUT/protocols.txt"
python3 bench/cuda/hopper/s35_smi_phases.py "$OUT/smi.csv" "$OUT/marks.txt" | tee "$OUT/smi-phases.txt"
rm -f "$OUT"/f/ab-p/*.svg
s33_pack s35c3
