#!/usr/bin/env bash
# Session 37, call 4 (H200): 17-32 rows of small batches on the wide kernel where the plan's work items average at most
# 160 keys (launch.ts sm90WideTakes, sm90WideShortKeys; the packed commit has it as the default). Checks with the default:
# memcheck / synccheck on two moved shapes, sm90.test 400 random cases (some of them now on the wide kernel) + goldens.
# Arms (s35_arms): ship (the default) against kps0 (FLASHMLA_CUDA_SM90W_KPS=0: the batch rule alone, session 36's) on
# bench/cuda/hopper/s37-kps-shapes.json (session 36's 13 17-32-row small batches + 24 new ones), each twice, in
# do_bench's loop and from CUDA graphs; bench/cuda/hopper/s37_kps_rule.py judges the rule written before the call
# (results/gpu-host/bench/hopper/s37/predictions.txt). If it passes, the recorded run against FlashMLA 9241ae3 follows
# (s35_record). Carry .ghc (with anchors) and .devstage (s37c4.tar.xz):   OUT=$OUT bash bench/cuda/hopper/s37_call4.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s37c4.tar.xz}"
mkdir -p "$OUT/f"
rm -rf dist-LIB; mkdir -p dist-LIB; cp -r dist/cuda dist-LIB/cuda
s29_cfg k5 5 1024 16 2; s29_cfg k3 3 1024 32 1
s29_san_jobs LIB "" k5 k3
s37_sm90_shards lib 400 2 200
s29_run_jobs 4
s37_san_report
s37_sm90_report lib 2
s33_pack s37c4-checks
s37_rule_arms s37k bench/cuda/hopper/s37-kps-shapes.json kps0
s33_pack s37c4-arms
if grep -q 'RULE PASS' "$OUT/rule.txt"; then
  s35_record "--protocols do_bench"
  s36_record_pack s37c4
fi
ts end
