#!/usr/bin/env bash
# Session 31, call 7 (H200): the final library's randomized cases at the issues' counts: sm90-wide 1000 and sm90 1000
# (4 shards each), dense90 + dense90q 1000 each (4 shards), cuda.test, sparse.test, reliability.test. Prediction:
# results/gpu-host/bench/hopper/s31/predictions.txt. Carry .ghc and .devstage (s31c7.tar.xz from s29_pack):
#   OUT=$OUT bash bench/cuda/hopper/s31_call7.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s31c7.tar.xz}"
t() { echo "timeout -k 5 280 $*" >> "$OUT/jobs.txt"; }
for s in 0 1 2 3; do
  t "env FLASHMLA_SM90W_CASES=1000 FLASHMLA_SM90W_SHARD=$s/4 node --test --test-reporter=tap build/test/gpu/sm90-wide.test.js > $OUT/f/sm90-wide-$s.txt 2>&1"
  t "env FLASHMLA_SM90_CASES=1000 FLASHMLA_SM90_SHARD=$s/4 node --test --test-reporter=tap build/test/gpu/sm90.test.js > $OUT/f/sm90-$s.txt 2>&1"
  t "node build/test/gpu/sparse-count.js 1000 cuda dense90,dense90q $s/4 > $OUT/f/dense-$s.txt 2>&1"
done
t "node --test --test-reporter=tap build/test/gpu/cuda.test.js > $OUT/f/cuda.txt 2>&1"
t "node --test --test-reporter=tap build/test/gpu/sparse.test.js > $OUT/f/sparse.txt 2>&1"
t "node --test --test-reporter=tap build/test/gpu/reliability.test.js > $OUT/f/reliability.txt 2>&1"
s29_run_jobs 15
for f in "$OUT"/f/*.txt; do echo "$(basename "$f" .txt): $(grep -E '^# (pass|fail|skipped)|^not ok|ran the sm90w|pass \(' "$f" | tr '\n' ' ')"; done
tar czf "$OUT/s31c7-files.tgz" -C "$OUT" f && rm -rf "$OUT/f"
ts end
