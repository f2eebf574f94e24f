#!/usr/bin/env bash
# Session 32, call 2 (H200): does the timing protocol change the ratio? FlashMLA is timed by bench_flashmla.py with triton's
# do_bench (256 MB zeroed before every repetition, outside the timing); ours back to back. On FlashMLA's grid, in one
# call: FlashMLA by the anchor; ours back to back (the grid's protocol); ours with --flush-mb 256 (do_bench's); FlashMLA
# under both protocols on the anchor's inputs (bench/cuda/flashmla_protocols.py; in call 2 its first form, which wrote
# b2b_ms / dobench_ms); ours back to back again (drift). nvidia-smi
# samples SM clock and power through each phase. Reading: s32_protocols_read.py. Predictions and rule:
# results/gpu-host/bench/hopper/s32/predictions.txt. Carry .ghc and .devstage (s32c2.tar.xz from s29_pack, no variants):
#   OUT=$OUT bash bench/cuda/hopper/s32_call2.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s32c2.tar.xz}"
G=$OUT/f/grid.json
"${CLI[@]}" bench --grid flashmla --emit-configs "$G" > /dev/null
clk() { nvidia-smi --query-gpu=timestamp,clocks.sm,power.draw --format=csv,noheader,nounits -lms 50 > "$OUT/f/clk-$1.txt" 2>&1 & CLKPID=$!; }
clkend() { kill "$CLKPID" 2>/dev/null; wait "$CLKPID" 2>/dev/null; ts "$1 done"; }
clk 1-fa; timeout -k 5 150 python3 .gpu-host/anchors/bench_flashmla.py --configs "$G" --out "$OUT/f/flashmla.json" --no-triton > "$OUT/f/fa.txt" 2>&1 || echo "anchor rc $?"; clkend fa
clk 2-ours-b2b; timeout -k 5 150 "${CLI[@]}" bench --backend cuda --configs "$G" --flashmla "$OUT/f/flashmla.json" --check 1 -q --out "$OUT/f/ours-b2b.json" > "$OUT/f/ob.txt" 2>&1 || echo "ours rc $?"; clkend ours-b2b
clk 3-ours-flush; timeout -k 5 150 "${CLI[@]}" bench --backend cuda --configs "$G" --flashmla "$OUT/f/flashmla.json" --check 1 -q --flush-mb 256 --out "$OUT/f/ours-flush.json" > "$OUT/f/of.txt" 2>&1 || echo "ours flush rc $?"; clkend ours-flush
clk 4-fa-protocols; timeout -k 5 150 python3 bench/cuda/flashmla_protocols.py .gpu-host/anchors --configs "$G" --out "$OUT/f/fp.json" > "$OUT/f/fp.txt" 2>&1 || echo "protocols rc $?"; clkend fa-protocols
clk 5-ours-b2b2; timeout -k 5 150 "${CLI[@]}" bench --backend cuda --configs "$G" --flashmla "$OUT/f/flashmla.json" --check 1 -q --out "$OUT/f/ours-b2b2.json" > "$OUT/f/ob2.txt" 2>&1 || echo "ours rc $?"; clkend ours-b2b2
tail -3 "$OUT/f/fa.txt" "$OUT/f/fp.txt"
python3 bench/cuda/hopper/s32_protocols_read.py "$OUT/f" | tee "$OUT/f/read.txt"
rm -f "$OUT"/f/*.svg
tar czf "$OUT/s32c2-files.tgz" -C "$OUT" f && rm -rf "$OUT/f"
ts end
