#!/usr/bin/env bash
# Session 30, call 1 (H200): the wide kernel's short-item entry (mla_decode_sm90w_sk_*, kVarBStK) forced on against
# forced off (FLASHMLA_CUDA_SM90W_SK=1 / 0), arms A N N A on bench/cuda/hopper/s30_wide_sk.json (28 shapes >= 64 rows);
# first the checks: sm90-wide.test (its new 'short-item entry' block forces the entry), memcheck and synccheck with the
# entry forced. Predictions and rule: results/gpu-host/bench/hopper/s30/predictions.txt.
# Carry .ghc (.gpu-host) and .devstage/s30c1.tar.xz (s29_pack: build/ and dist/cuda):   OUT=$OUT bash bench/cuda/hopper/s30_call1.sh
# (As run: the tree then had the short-item entry mla_decode_sm90w_sk_* and FLASHMLA_CUDA_SM90W_SK; both were removed
# after call 2 by its rule: docs/notes/cuda-hopper-decode.md, session 30. Kept as the record of what ran.)
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s30c1.tar.xz}"
mkdir -p "$OUT/f/ab"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu --format=csv,noheader
s29_cfg w256 4 1024 128 2; s29_cfg w128 16 2048 64 2; s29_cfg w64 8 1000 64 1
for t in memcheck synccheck; do
  for c in w256 w128 w64; do
    echo "FLASHMLA_CUDA_SM90W_SK=1 timeout -k 5 120 compute-sanitizer --tool $t --print-limit 50 ${CLI[*]} ${BQ[*]} --configs $OUT/f/c-$c.json --out $OUT/f/o-$t-$c.json > $OUT/f/san-$t-$c.txt 2>&1" >> "$OUT/jobs.txt"
  done
done
( FLASHMLA_SM90W_CASES=60 timeout -k 5 200 node --test --test-reporter=tap build/test/gpu/sm90-wide.test.js > "$OUT/f/sm90-wide.txt" 2>&1; echo "exit $?" >> "$OUT/f/sm90-wide.txt" ) &
s29_run_jobs 6
for f in "$OUT"/f/san-*.txt; do echo "$(basename "$f" .txt): $(grep -E 'ERROR SUMMARY' "$f" | tail -1)"; done
grep -E '^# (pass|fail)|^not ok|ran the sm90w' "$OUT/f/sm90-wide.txt" | tr '\n' ' '; echo
i=0
for arm in A N N A; do
  i=$((i + 1)); v=0; [ $arm = N ] && v=1
  FLASHMLA_CUDA_SM90W_SK=$v timeout -k 5 150 "${CLI[@]}" bench --backend cuda --configs bench/cuda/hopper/s30_wide_sk.json --reps 30 --check 1 -q --out "$OUT/f/ab/ab-$i-$arm.json" > "$OUT/f/ab/ab-$i-$arm.txt" 2>&1 || echo "ab $arm rc $?"
  ts "arm $i $arm"
done
cp "$OUT/f/ab/ab-1-A.json" "$OUT/f/ab/ab-0-ship.json" 2>/dev/null; cp "$OUT/f/ab/ab-4-A.json" "$OUT/f/ab/ab-5-ship.json" 2>/dev/null
rm -f "$OUT"/f/ab/ab-*-A.json
python3 -c 'import json,sys; [print(f, sorted({r["kernel"] for r in json.load(open(f))["rows"]})) for f in sys.argv[1:]]' "$OUT"/f/ab/ab-*.json
python3 bench/cuda/hopper/s29_ab_read.py "$OUT/f/ab" N | tee "$OUT/f/ab.txt"
rm -f "$OUT"/f/ab/*.svg
tar czf "$OUT/s30c1-files.tgz" -C "$OUT" f && rm -rf "$OUT/f"
ts end
