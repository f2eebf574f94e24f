#!/usr/bin/env bash
# Session 31, call 5 (H200): the final library's GPU suites and racecheck on every Hopper kernel, then the >= 64-row
# kernel's hand-off waits with a sleep hint (S: -DMLA_SM90W_HANDSLEEP=1) against the library (L) and the previous
# named-barrier form (N: -DMLA_SM90W_MBHAND=0), arms N L S S L N on bench/cuda/hopper/s30_wide_e.json. Predictions
# and rule: results/gpu-host/bench/hopper/s31/predictions.txt. Carry .ghc and .devstage (s31c5.tar.xz from s29_pack
# ... S N):   OUT=$OUT bash bench/cuda/hopper/s31_call5.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s31c5.tar.xz}"
for c in "n16-1t:1:4096:16:1" "n32-1t:1:4096:32:1" "n32-13t:16:1024:32:1" "wa:2:1024:128:2" "w64:1:8192:64:1"; do
  IFS=: read -r tag b sk hq sq <<<"$c"; s29_cfg "$tag" "$b" "$sk" "$hq" "$sq"
  s29_rc "lib-$tag" dist/cuda "${CLI[*]} ${BQ[*]} --configs $OUT/f/c-$tag.json --out $OUT/f/o-lib-$tag.json"
done
s29_rc lib-dense90 dist/cuda node build/test/gpu/sparse-count.js 3 cuda dense90,dense90q
s29_rc lib-sparse dist/cuda node build/test/gpu/sparse-count.js 3 cuda random,heads
t() { echo "timeout -k 5 250 $* " >> "$OUT/jobs.txt"; }
t "node --test --test-reporter=tap build/test/gpu/sm90.test.js > $OUT/f/sm90.txt 2>&1"
t "node --test --test-reporter=tap build/test/gpu/cuda.test.js > $OUT/f/cuda.txt 2>&1"
t "env FLASHMLA_SM90W_CASES=100 node --test --test-reporter=tap build/test/gpu/sm90-wide.test.js > $OUT/f/sm90-wide.txt 2>&1"
for s in 0/2 1/2; do t "node build/test/gpu/sparse-count.js 100 cuda dense90,dense90q,random $s > $OUT/f/cases-${s%/*}.txt 2>&1"; done
s29_run_jobs 14
for f in sm90 cuda sm90-wide; do echo "$f: $(grep -E '^# (pass|fail)|^not ok|ran the sm90w' "$OUT/f/$f.txt" | tr '\n' ' ')"; done
cat "$OUT"/f/cases-*.txt | grep -E 'pass|fail|Error' | head
mkdir -p "$OUT/keep"; cp "$OUT"/f/sm90.txt "$OUT"/f/cuda.txt "$OUT"/f/sm90-wide.txt "$OUT"/f/cases-*.txt "$OUT/keep/"
s29_race_report s31c5-race
s29_ab_arms L bench/cuda/hopper/s30_wide_e.json N L S S L N
mv "$OUT/keep" "$OUT/f/"
tar czf "$OUT/s31c5-files.tgz" -C "$OUT" f && rm -rf "$OUT/f"
ts end
