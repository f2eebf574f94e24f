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
s37_sm90_shards sf1 200 2 200
s29_run_jobs 4
unset FLASHMLA_CUDA_SM90W_SHORT_FROM
s37_san_report
s37_sm90_report sf1 2
s33_pack s38c1-checks
s37_rule_arms s38s bench/cuda/hopper/s38-short16-shapes.json sf1 4 sf1 swap
s33_pack s38c1-arms
ts end
