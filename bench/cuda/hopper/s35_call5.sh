#!/usr/bin/env bash
# Session 35, call 5 (H200): two A/Bs of ours against ours in do_bench's loop (`--flush-mb 256`, no --reps), which
# sessions 20-34's A/Bs never used (they ran 10 + 30 zeroed calls after >= 300 ms back to back):
#  1. C2N (the <= 32-row kernel with session 34's stmatrix staging of the end, bits 1611, built from today's tree: its
#     n32 code differs from session 34's C2 after that session's review refactor, so its checks first: sm90.test with
#     100 random cases, memcheck / synccheck on four shapes, bit for bit against the library on 60 matrix cases) on
#     FlashMLA's nine 16 / 32-row b=128 rows, arms A C2N C2N A.
#  2. The plan and merge knobs on the grid's uneven batch (0.004 short of 1.3x), b=1 s_k 32768 and the five weakest
#     small-batch / hold-out shapes: the library (A), FLASHMLA_CUDA_COMBINE=cta / warps, FLASHMLA_CUDA_SCHEDULE=fill /
#     flashmla, FLASHMLA_CUDA_PDL=1; order A cta warps fill fm pdl pdl fm fill warps cta A.
# Predictions and rules: results/gpu-host/bench/hopper/s35/predictions.txt. Carry .ghc and .devstage (s35c5.tar.xz:
# s29_pack C2N):   OUT=$OUT bash bench/cuda/hopper/s35_call5.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s35c5.tar.xz}"
mkdir -p "$OUT/f"
s33_n9 "$OUT/f/n9.json"
s33_narrow_checks C2N
s29_run_jobs 8
s33_narrow_report C2N
timeout -k 5 200 node build/bench/cuda/hopper/dense-sm90-bitexact.js A=dist/cuda C2N=dist-C2N/cuda --cases 60 > "$OUT/f/bitexact.txt" 2>&1; echo "bitexact rc $?"
tail -1 "$OUT/f/bitexact.txt"; grep -v identical "$OUT/f/bitexact.txt" | head -5
s35_arms c2 "--flush-mb 256" "$OUT/f/n9.json" A C2N C2N A
s33_pack s35c5-c2
echo '[{"b":4,"seqlens":[4641,45118,1730,1696],"h_q":16,"s_q":4},{"b":1,"s_k":32768,"h_q":16,"s_q":1},{"b":12,"s_k":1500,"h_q":32,"s_q":1},{"b":16,"s_k":2048,"h_q":32,"s_q":1},{"b":6,"s_k":2048,"h_q":16,"s_q":2},{"b":5,"s_k":1024,"h_q":16,"s_q":2},{"b":7,"s_k":1536,"h_q":16,"s_q":2}]' > "$OUT/f/k7.json"
s35_arms knobs "--flush-mb 256" "$OUT/f/k7.json" A cta warps fill fm pdl pdl fm fill warps cta A
s33_pack s35c5-knobs
