#!/usr/bin/env bash
# Session 37, call 2 (H200): the library of session 37 (decode_sm90.cu's entries no longer trigger their dependents:
# TRIG 0, SAME CODE as call 1's NT; PDL on every launch that waits by default, captured graphs included) checked and
# recorded against FlashMLA 9241ae3 in the same call. Checks, all with the default PDL: sm90.test with 1000 random
# cases (4 shards) and the goldens, sm90-wide.test with 300 random cases (2 shards), cuda.test (graph capture
# replays to the same bits), reliability's overlapping calls, memcheck / synccheck on six shapes, racecheck on two.
# Benches: s35_record (FlashMLA's grid plus b=1 and the uneven batch, the 34 small-batch shapes and the 25 hold-outs,
# under do_bench's loop and from CUDA graphs on both sides).
# Predictions: results/gpu-host/bench/hopper/s37/predictions.txt. Carry .ghc (with anchors) and .devstage (s37c2.tar.xz
# from s29_pack):   OUT=$OUT bash bench/cuda/hopper/s37_call2.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s37c2.tar.xz}"
mkdir -p "$OUT/f"
rm -rf dist-LIB; mkdir -p dist-LIB; cp -r dist/cuda dist-LIB/cuda
s29_cfg n16 8 1000 16 1; s29_cfg n32 8 1000 16 2; s29_cfg w32 128 1024 32 1; s29_cfg w32b 70 700 16 2; s29_cfg chk256 4 1024 128 2; s29_cfg chk64 8 1000 64 1
s29_san_jobs LIB "" n16 n32 w32 w32b chk256 chk64
for c in n32 w32b; do s29_rc "$c" dist/cuda "${CLI[*]} ${BQ[*]} --configs $OUT/f/c-$c.json --out $OUT/f/o-rc-$c.json"; done
for s in 0 1 2 3; do
  ( FLASHMLA_SM90_CASES=1000 FLASHMLA_SM90_SHARD=$s/4 timeout -k 5 250 node --test --test-reporter=tap build/test/gpu/sm90.test.js > "$OUT/f/sm90-lib-$s.txt" 2>&1; echo "exit $?" >> "$OUT/f/sm90-lib-$s.txt" ) &
done
for s in 0 1; do
  ( FLASHMLA_SM90W_CASES=300 FLASHMLA_SM90W_SHARD=$s/2 timeout -k 5 250 node --test --test-reporter=tap build/test/gpu/sm90-wide.test.js > "$OUT/f/sm90w-lib-$s.txt" 2>&1; echo "exit $?" >> "$OUT/f/sm90w-lib-$s.txt" ) &
done
( FLASHMLA_REQUIRE=cuda timeout -k 5 250 node --test --test-reporter=tap build/test/gpu/cuda.test.js > "$OUT/f/cuda-lib.txt" 2>&1; echo "exit $?" >> "$OUT/f/cuda-lib.txt" ) &
s29_run_jobs 6
FLASHMLA_REQUIRE=cuda timeout -k 5 150 node --test --test-reporter=tap --test-name-pattern "overlapping" build/test/gpu/reliability.test.js > "$OUT/f/rel.txt" 2>&1; echo "reliability rc $?"
grep -E '^# (pass|fail)|^not ok' "$OUT/f/rel.txt" | tr '\n' ' '; echo
for f in "$OUT"/f/san-*.txt; do echo "$(basename "$f" .txt): $(grep -E 'ERROR SUMMARY' "$f" | tail -1)"; done
python3 - "$OUT/f" <<'P'
import json, glob, os, sys
for f in sorted(glob.glob(os.path.join(sys.argv[1], 'o-*.json'))):
    d = json.load(open(f)); print(os.path.basename(f), [(r['kernel'], r['check']['ok']) for r in d['rows']])
P
for f in "$OUT"/f/rc-*.txt; do echo "$(basename "$f" .txt): $(grep -E 'RACECHECK SUMMARY' "$f" | tail -1)"; done
for s in 0 1 2 3; do echo "sm90.test shard $s: $(grep -E '^# (pass|fail)|^not ok|cases ran the sm90' "$OUT/f/sm90-lib-$s.txt" | tr '\n' ' ')"; done
echo "cuda.test: $(grep -E '^# (pass|fail)|^not ok' "$OUT/f/cuda-lib.txt" | tr '\n' ' ')"
for s in 0 1; do echo "sm90-wide.test shard $s: $(grep -E '^# (pass|fail)|^not ok|ran the sm90w' "$OUT/f/sm90w-lib-$s.txt" | tr '\n' ' ')"; done
rm -f "$OUT"/f/*.svg; for f in "$OUT"/f/rc-*.txt; do xz -T4 "$f"; done
s33_pack s37c2-checks
s35_record "--protocols do_bench"
rm -f "$OUT"/*.svg
tar czf "$OUT/s37c2-bench.tgz" -C "$OUT" $(cd "$OUT" && ls fp*.json flush-*.json graph-*.json read-*.txt fp-*.txt 2>/dev/null)
rm -f "$OUT"/fp*.json "$OUT"/flush-*.json "$OUT"/graph-*.json "$OUT"/fp-*.txt "$OUT"/full.json "$OUT"/small-batch.json "$OUT"/combine-holdout.json "$OUT"/jobs.txt
ts end
