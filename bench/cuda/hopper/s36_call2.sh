#!/usr/bin/env bash
# Session 36, call 2 (H200): the library candidate = the wide kernel without its entry trigger (LT) and from 17 rows
# (FLASHMLA_CUDA_SM90W_FROM=17); PDL on every launch (pdl) or on the merges only (pdlm) as the default? Checks of the
# candidate with PDL on, then arms over 85 shapes in do_bench's loop and 13 shapes from CUDA graphs; FlashMLA not in it.
# Predictions and rules: results/gpu-host/bench/hopper/s36/predictions.txt. Carry .ghc and .devstage (s36c2.tar.xz:
# s29_pack LT):   OUT=$OUT bash bench/cuda/hopper/s36_call2.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s36c2.tar.xz}"
mkdir -p "$OUT/f"
export FLASHMLA_CUDA_PDL=1
export FLASHMLA_CUDA_SM90W_FROM=1 # sm90.test: every narrow shape on the wide kernel
( FLASHMLA_CUDA_KERNELS=dist-LT/cuda FLASHMLA_SM90_CASES=100 timeout -k 5 200 node --test --test-reporter=tap build/test/gpu/sm90.test.js > "$OUT/f/sm90-LT.txt" 2>&1; echo "exit $?" >> "$OUT/f/sm90-LT.txt" ) &
export FLASHMLA_CUDA_SM90W_FROM=17
( FLASHMLA_CUDA_KERNELS=dist-LT/cuda FLASHMLA_SM90W_CASES=100 timeout -k 5 200 node --test --test-reporter=tap build/test/gpu/sm90-wide.test.js > "$OUT/f/sm90-wide-LT.txt" 2>&1; echo "exit $?" >> "$OUT/f/sm90-wide-LT.txt" ) &
s29_cfg n32 8 1000 16 2; s29_cfg n32c 128 1024 32 1; s29_cfg chk128 16 2048 64 2; s29_cfg chk256b 3 1500 128 2
s29_san_jobs LT LT- n32 n32c chk128 chk256b
s29_run_jobs 6
FLASHMLA_CUDA_KERNELS=dist-LT/cuda FLASHMLA_REQUIRE=cuda timeout -k 5 150 node --test --test-reporter=tap --test-name-pattern "overlapping" build/test/gpu/reliability.test.js > "$OUT/f/rel-LT.txt" 2>&1; echo "reliability rc $?"
grep -E '^# (pass|fail)|^not ok' "$OUT/f/rel-LT.txt" | head -8
unset FLASHMLA_CUDA_PDL FLASHMLA_CUDA_SM90W_FROM
s33_narrow_report LT
grep -E '^# (pass|fail)|^not ok|ran the sm90w' "$OUT/f/sm90-wide-LT.txt" | tr '\n' ' '; echo
ts "checks done"
s33_pack s36c2-checks
"${CLI[@]}" bench --grid full --emit-configs "$OUT/f/full.json" > /dev/null
python3 -c 'import json,sys; json.dump(sum((json.load(open(f)) for f in sys.argv[2:]), []), open(sys.argv[1], "w"))' "$OUT/f/all85.json" "$OUT/f/full.json" bench/cuda/small-batch.json bench/cuda/combine-holdout.json
s35_arms s36 "--flush-mb 256 --rep-ms 100" "$OUT/f/all85.json" A w17 LT+pdl+w17 LT+pdlm+w17 LT+pdlm+w17 LT+pdl+w17 w17 A
python3 -c 'import json,sys; json.dump([{"b": 128, "s_k": k, "h_q": h, "s_q": q} for k in (1024, 4096, 8192) for h, q in ((16, 1), (16, 2), (32, 1))] + [{"b": 1, "s_k": 32768, "h_q": 16, "s_q": 1}, {"b": 4, "seqlens": [4641, 45118, 1730, 1696], "h_q": 16, "s_q": 4}, {"b": 16, "s_k": 2048, "h_q": 32, "s_q": 1}, {"b": 5, "s_k": 1024, "h_q": 16, "s_q": 2}], open(sys.argv[1], "w"))' "$OUT/f/g13.json"
s35_arms graph "--graph-calls 10" "$OUT/f/g13.json" A w17 LT+pdl+w17 LT+pdlm+w17 LT+pdlm+w17 LT+pdl+w17 w17 A
s33_pack s36c2-arms
