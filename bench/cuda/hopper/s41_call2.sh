#!/usr/bin/env bash
# Session 41, call 2 (H200): mla_combine_q32 by its rule (launch.ts combineQ32Takes, the library's default now: in place
# of the CTA merge for steps of 96-396 rows whose requests are in 5-32 pieces) on shapes call 1 did not time. Checks:
# combine-q32-bitexact (q32 against one warp a row, 80 matrix cases + 17 fixed), sm90.test on the default (200 random
# cases, 2 shards), memcheck of two moved shapes through the bench's check. Then arms A nq32 nq32 A (nq32: the rule off)
# on bench/cuda/hopper/s41-q32-holdout.json in do_bench's loop and from CUDA graphs, judged by s41_q32_read.py --invert
# (the rule in results/gpu-host/bench/hopper/s41/predictions.txt). Pack: s29_pack .devstage/s41c2.tar.xz; carry .ghc and
# .devstage:   OUT=$OUT bash bench/cuda/hopper/s41_call2.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s41c2.tar.xz}"
mkdir -p "$OUT/f"
timeout -k 5 200 node build/bench/cuda/hopper/combine-q32-bitexact.js --cases 80 > "$OUT/f/bitexact.txt" 2>&1 &
s37_sm90_shards lib 200 2 200
s29_cfg m1 5 16384 16 4; s29_cfg m2 3 2048 16 4
for c in m1 m2; do
  timeout -k 5 200 compute-sanitizer --tool memcheck --print-limit 20 "${CLI[@]}" "${BQ[@]}" --configs "$OUT/f/c-$c.json" --out "$OUT/f/o-$c.json" > "$OUT/f/san-memcheck-$c.txt" 2>&1 &
done
wait
ts "checks done"
tail -1 "$OUT/f/bitexact.txt"; grep -v identical "$OUT/f/bitexact.txt" | grep -v '^bitexact' | head -5
s37_sm90_report lib 2
s37_san_report
S=bench/cuda/hopper/s41-q32-holdout.json
s35_arms h "--flush-mb 256 --rep-ms 100" $S A nq32 nq32 A
s35_arms hg "--graph-calls 10" $S A nq32 nq32 A
python3 bench/cuda/hopper/s41_q32_read.py "$OUT/f/ab-h" "$OUT/f/ab-hg" nq32 --invert | tee "$OUT/rule.txt"
tar czf "$OUT/s41c2.tgz" -C "$OUT" f
ts end
