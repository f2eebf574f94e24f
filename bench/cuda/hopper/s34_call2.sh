#!/usr/bin/env bash
# Session 34, call 2 (H200): CE again (call 1's fatbin) and C2 = CE + kNVarStMat (bits 1611: the unsplit one-head item's
# rows by stmatrix into staged rows and 1-KB bulk copies, with CE's row scalars). C2's checks (bitexact against the
# library, sm90.test 100 random cases, memcheck / synccheck on four shapes), traces (x75, xce, xc2 at 16 / 32 rows s_k
# 1024 and b=1), arms A CE C2 C2 CE A on call 1's 13 shapes under do_bench's protocol and from CUDA graphs. Rule:
# results/gpu-host/bench/hopper/s34/predictions.txt. Carry .ghc and .devstage (s34c2.tar.xz from s29_pack ... CE C2,
# harness_trace.xz):   OUT=$OUT bash bench/cuda/hopper/s34_call2.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s34c2.tar.xz}"
mkdir -p "$OUT/f"
s33_narrow_checks C2
s29_run_jobs 8
s33_narrow_report C2
timeout -k 5 200 node build/bench/cuda/hopper/dense-sm90-bitexact.js A=dist/cuda C2=dist-C2/cuda --cases 60 > "$OUT/f/bitexact.txt" 2>&1; echo "bitexact rc $?"
tail -1 "$OUT/f/bitexact.txt"; grep -v identical "$OUT/f/bitexact.txt" | head -5
ts "bitexact done"
rm -f "$OUT"/f/*.svg
s33_traces .devstage/harness_trace "x75 xce xc2 xc2 xce x75" "128 1024 16 1" "128 1024 32 1" "1 32768 16 1"
s33_pack s34c2-checks-traces
c=$OUT/f/n13.json
python3 -c 'import json,sys; json.dump([{"b": 128, "s_k": k, "h_q": h, "s_q": q} for k in (1024, 4096, 8192) for h, q in ((16, 1), (16, 2), (32, 1))] + [{"b": 1, "s_k": 32768, "h_q": 16, "s_q": 1}, {"b": 16, "s_k": 2048, "h_q": 32, "s_q": 1}, {"b": 8, "s_k": 4096, "h_q": 16, "s_q": 2}, {"b": 32, "s_k": 1024, "h_q": 16, "s_q": 1}], open(sys.argv[1], "w"))' "$c"
s33_arms flush "--flush-mb 256" "$c" A CE C2 C2 CE A
s33_arms graph "--graph-calls 10" "$c" C2 CE A A CE C2
s33_pack s34c2-arms
ts end
