#!/usr/bin/env bash
# Session 34, call 1 (H200): CE (kNVarCEnd, the library's bits | 1024 = 1099): the <= 32-row kernel's item end as short
# straight-line code (session 33 call 4's SASS segments: the 32-row store loop's eight row blocks, each with its row's
# scalar work and a dead copy of the split path, lose more instruction-fetch samples block by block). Checks: CE's
# output bit for bit against the library's (dense-sm90-bitexact, 67 cases), sm90.test with 100 random cases, memcheck /
# synccheck on four shapes; traces (x75 against xce at 16 / 32 rows s_k 1024 and b=1 s_k 32768); arms A CE CE A on
# FlashMLA's nine 16 / 32-row b=128 rows, b=1 s_k 32768 and three small batches, under do_bench's protocol and from CUDA
# graphs. Rule: results/gpu-host/bench/hopper/s34/predictions.txt. Carry .ghc and .devstage (s34c1.tar.xz from
# s29_pack ... CE, harness_trace.xz):   OUT=$OUT bash bench/cuda/hopper/s34_call1.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s34c1.tar.xz}"
mkdir -p "$OUT/f"
s33_narrow_checks CE
s29_run_jobs 8
s33_narrow_report CE
timeout -k 5 200 node build/bench/cuda/hopper/dense-sm90-bitexact.js A=dist/cuda CE=dist-CE/cuda --cases 60 > "$OUT/f/bitexact.txt" 2>&1; echo "bitexact rc $?"
tail -1 "$OUT/f/bitexact.txt"; grep -v identical "$OUT/f/bitexact.txt" | head -5
ts "bitexact done"
rm -f "$OUT"/f/*.svg
s33_traces .devstage/harness_trace "x75 xce xce x75" "128 1024 16 1" "128 1024 32 1" "1 32768 16 1"
s33_pack s34c1-checks-traces
c=$OUT/f/n13.json
python3 -c 'import json,sys; json.dump([{"b": 128, "s_k": k, "h_q": h, "s_q": q} for k in (1024, 4096, 8192) for h, q in ((16, 1), (16, 2), (32, 1))] + [{"b": 1, "s_k": 32768, "h_q": 16, "s_q": 1}, {"b": 16, "s_k": 2048, "h_q": 32, "s_q": 1}, {"b": 8, "s_k": 4096, "h_q": 16, "s_q": 2}, {"b": 32, "s_k": 1024, "h_q": 16, "s_q": 1}], open(sys.argv[1], "w"))' "$c"
s33_arms flush "--flush-mb 256" "$c" A CE CE A
s33_arms graph "--graph-calls 10" "$c" CE A A CE
s33_pack s34c1-arms
ts end
