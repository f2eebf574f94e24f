#!/usr/bin/env bash
# Session 34, call 3 (H200): the library with kNVarCEnd (commit of the pack) checked and recorded against FlashMLA 9241ae3
# in the same call. Checks: sm90.test with 1000 random cases (4 shards) and the goldens, memcheck / synccheck / racecheck
# of the <= 32-row entries on four shapes. Benches: FlashMLA's grid plus b=1 and the uneven batch, the 34 small-batch
# shapes and the 25 hold-outs, under do_bench's protocol on both sides (FlashMLA do_bench, ours --flush-mb 256), then from
# CUDA graphs on both sides (FlashMLA's graph replay, ours --graph-calls 10). Predictions: results/gpu-host/bench/hopper/
# s34/predictions.txt. Carry .ghc (with anchors) and .devstage (s34c3.tar.xz from s29_pack):
#   OUT=$OUT bash bench/cuda/hopper/s34_call3.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s34c3.tar.xz}"
mkdir -p "$OUT/f"
rm -rf dist-LIB; mkdir -p dist-LIB; cp -r dist/cuda dist-LIB/cuda
s29_cfg n16 8 1000 16 1; s29_cfg n32 8 1000 16 2; s29_cfg n32b 3 1500 32 1; s29_cfg n32c 128 1024 32 1
s29_san_jobs LIB "" n16 n32 n32b n32c
for c in n16 n32; do s29_rc "$c" dist/cuda "${CLI[*]} ${BQ[*]} --configs $OUT/f/c-$c.json --out $OUT/f/o-rc-$c.json"; done
for s in 0 1 2 3; do
  ( FLASHMLA_SM90_CASES=1000 FLASHMLA_SM90_SHARD=$s/4 timeout -k 5 250 node --test --test-reporter=tap build/test/gpu/sm90.test.js > "$OUT/f/sm90-lib-$s.txt" 2>&1; echo "exit $?" >> "$OUT/f/sm90-lib-$s.txt" ) &
done
s29_run_jobs 6
for f in "$OUT"/f/san-*.txt; do echo "$(basename "$f" .txt): $(grep -E 'ERROR SUMMARY' "$f" | tail -1)"; done
for f in "$OUT"/f/rc-*.txt; do echo "$(basename "$f" .txt): $(grep -E 'RACECHECK SUMMARY' "$f" | tail -1)"; done
for s in 0 1 2 3; do echo "sm90.test shard $s: $(grep -E '^# (pass|fail)|^not ok|cases ran the sm90' "$OUT/f/sm90-lib-$s.txt" | tr '\n' ' ')"; done
rm -f "$OUT"/f/*.svg; for f in "$OUT"/f/rc-*.txt; do xz -T4 "$f"; done
s33_pack s34c3-checks
s35_record "--protocols do_bench" # (the steps as run, since moved into s29_common.sh)
rm -f "$OUT"/*.svg
tar czf "$OUT/s34c3-bench.tgz" -C "$OUT" $(cd "$OUT" && ls fp*.json flush-*.json graph-*.json read-*.txt fp-*.txt 2>/dev/null)
rm -f "$OUT"/fp*.json "$OUT"/flush-*.json "$OUT"/graph-*.json "$OUT"/fp-*.txt "$OUT"/full.json "$OUT"/small-batch.json "$OUT"/combine-holdout.json "$OUT"/jobs.txt
ts end
