#!/usr/bin/env bash
# Prepared in session 37 for the next session (not run): the short-item rule (launch.ts sm90WideTakes: small batches
# whose planned work items average <= 160 keys and whose q holds >= 64 rows run on decode_sm90_wide.cu) below 17 rows?
# Session 37 shipped it for 17-32 rows (0.948x the time in do_bench's loop, 0.964x from graphs on 17 fresh shapes); the
# weakest small shapes against FlashMLA are now 16-row steps (hold-outs b=9 s_k 1536 0.92x from graphs; b=7-9 s_k 1536
# and b=5 s_k 3000 have <= 128 keys a piece). The wide kernel took every narrow shape correctly in session 36's checks
# (FLASHMLA_CUDA_SM90W_FROM=1); it was never timed below 17 rows. This call: checks with FLASHMLA_CUDA_SM90W_SHORT_FROM=1
# (sm90.test 200 random + goldens; memcheck / synccheck on two 16-row short shapes), then arms ship / sf1 (the rule
# from 1 row) on bench/cuda/hopper/s38-short16-shapes.json (4 hold-out / small-batch shapes, 10 new that sf1 moves, 6 it
# leaves) in do_bench's loop and from CUDA graphs, judged by s37_kps_rule.py with sf1 as the candidate.
# Write the rule into results/gpu-host/bench/hopper/s38/predictions.txt first, then pack (s29_pack) and run:
#   OUT=$OUT bash bench/cuda/hopper/s38_call1.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s38c1.tar.xz}"
mkdir -p "$OUT/f"
rm -rf dist-LIB; mkdir -p dist-LIB; cp -r dist/cuda dist-LIB/cuda
export FLASHMLA_CUDA_SM90W_SHORT_FROM=1
s29_cfg s16a 9 1536 16 1; s29_cfg s16b 6 2048 16 1
s29_san_jobs LIB "" s16a s16b
for s in 0 1; do
  ( FLASHMLA_SM90_CASES=200 FLASHMLA_SM90_SHARD=$s/2 timeout -k 5 200 node --test --test-reporter=tap build/test/gpu/sm90.test.js > "$OUT/f/sm90-sf1-$s.txt" 2>&1; echo "exit $?" >> "$OUT/f/sm90-sf1-$s.txt" ) &
done
s29_run_jobs 4
unset FLASHMLA_CUDA_SM90W_SHORT_FROM
for f in "$OUT"/f/san-*.txt; do echo "$(basename "$f" .txt): $(grep -E 'ERROR SUMMARY' "$f" | tail -1)"; done
for s in 0 1; do echo "sm90.test sf1 shard $s: $(grep -E '^# (pass|fail)|^not ok|cases ran the sm90' "$OUT/f/sm90-sf1-$s.txt" | tr '\n' ' ')"; done
s33_pack s38c1-checks
S=bench/cuda/hopper/s38-short16-shapes.json
s35_arms s38s "--flush-mb 256 --rep-ms 100" $S A sf1 sf1 A
s35_arms s38sg "--graph-calls 10" $S A sf1 sf1 A
python3 bench/cuda/hopper/s37_kps_rule.py "$OUT/f/ab-s38s" "$OUT/f/ab-s38sg" $S 4 sf1 swap | tee "$OUT/rule.txt"
s33_pack s38c1-arms
ts end
