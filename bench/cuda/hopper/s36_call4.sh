#!/usr/bin/env bash
# Session 36, call 4 (H200): the <= 32-row kernel without its launch_dependents (NT: -DMLA_SM90_LIB_TRIG=0) against the
# library, with PDL on the merges (the default), off (nopdl) and on every launch (pdl). A measurement for the next
# session. Predictions: results/gpu-host/bench/hopper/s36/predictions.txt. Carry .ghc and .devstage (s36c4.tar.xz:
# s29_pack NT):   OUT=$OUT bash bench/cuda/hopper/s36_call4.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s36c4.tar.xz}"
mkdir -p "$OUT/f"
( FLASHMLA_CUDA_PDL=1 FLASHMLA_CUDA_KERNELS=dist-NT/cuda FLASHMLA_SM90_CASES=100 timeout -k 5 150 node --test --test-reporter=tap build/test/gpu/sm90.test.js > "$OUT/f/sm90-NT.txt" 2>&1; echo "exit $?" >> "$OUT/f/sm90-NT.txt" )
echo "sm90.test NT (PDL on): $(grep -E '^# (pass|fail)|^not ok|cases ran the sm90' "$OUT/f/sm90-NT.txt" | tr '\n' ' ')"
python3 -c 'import json,sys; json.dump([{"b": b, "s_k": k, "h_q": h, "s_q": q} for b, k, h, q in ((1,4096,16,1),(1,8192,16,1),(1,16384,16,1),(1,28672,16,1),(1,32768,16,1),(1,65536,16,1),(2,16384,16,1),(7,2048,16,2),(16,1024,16,1),(8,2048,16,1),(5,1024,16,2),(9,16384,16,1),(16,2048,32,1),(128,1024,16,1),(128,8192,16,1))] + [{"b": 4, "seqlens": [4641, 45118, 1730, 1696], "h_q": 16, "s_q": 4}], open(sys.argv[1], "w"))' "$OUT/f/c16.json"
s35_arms nt "--flush-mb 256 --rep-ms 100" "$OUT/f/c16.json" A NT nopdl NT+pdl pdl pdl NT+pdl nopdl NT A
python3 -c 'import json,sys; json.dump([{"b": b, "s_k": k, "h_q": h, "s_q": q} for b, k, h, q in ((1,32768,16,1),(1,28672,16,1),(2,16384,16,1),(16,1024,16,1),(128,1024,16,1))] + [{"b": 4, "seqlens": [4641, 45118, 1730, 1696], "h_q": 16, "s_q": 4}], open(sys.argv[1], "w"))' "$OUT/f/g6.json"
s35_arms ntg "--graph-calls 10" "$OUT/f/g6.json" A NT+pdl pdl pdl NT+pdl A
s33_pack s36c4
