#!/usr/bin/env bash
# Session 33, call 1 (H200): why the <= 32-row kernel's 32-row entry is slower than its 16-row one (do_bench's protocol:
# +3.5 / +7 / +11 us at s_k 1024 / 4096 / 8192, FlashMLA flat), and where the >= 64-row kernel's cycles go now.
#  1. PR's checks: sm90.test (100 random cases) and memcheck / synccheck of dist-PR (kNVarPRel: each value chunk's
#     slot handed back as its slice's P V group finishes).
#  2. Arms on FlashMLA's nine 16 / 32-row b=128 rows, under do_bench's protocol (--flush-mb 256) and from CUDA graphs
#     (--graph-calls 10): A (the library), S22 (diagnostic: the 16-row ring cut to the 32-row entry's 22 slots), PR,
#     EN (the cache copies evict-normal). Order A S22 PR EN EN PR S22 A a protocol.
#  3. Traces (harness_trace tracecall, the library's bits x75) of 16 and 32 rows at s_k 1024 and 4096.
#  4. ncu of the library's >= 64-row kernel and FlashMLA at 128 and 256 rows s_k 8192 (run_profile.sh's sections).
# (As run, the script wrote the steps out that s29_common.sh now names s33_narrow_checks / s33_n9 / s33_arms /
# s33_traces; the trace step then kept the per-rep lines and printed the medians.) Predictions and rules: results/gpu-host/bench/hopper/s33/predictions.txt. Carry .ghc and .devstage
# (s33c1.tar.xz from s29_pack ... PR S22 EN SO, harness_trace.xz):   OUT=$OUT bash bench/cuda/hopper/s33_call1.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s33c1.tar.xz}"
# 1. PR's checks (in the background beside the sanitizers)
mkdir -p "$OUT/f"
s33_narrow_checks PR SO
s29_run_jobs 8
s33_narrow_report PR SO
for f in "$OUT"/f/san-*.txt "$OUT"/f/o-*.json; do xz -T4 "$f" 2>/dev/null || gzip "$f"; done
s33_pack s33c1-checks
# 2. the arms, a protocol each
s33_ab "A S22 PR EN SO SO EN PR S22 A" "A PR SO SO PR A"
s33_pack s33c1-arms
# 3. traces of the library's narrow entries (x75), one cold call at a time
s33_traces .devstage/harness_trace x75 "128 1024 16 1" "128 1024 32 1" "128 4096 16 1" "128 4096 32 1"
s33_pack s33c1-traces
# 4. ncu: ours (the library through the CLI, its 3rd launch) and FlashMLA, 128 and 256 rows s_k 8192
secs="--clock-control none --section SpeedOfLight --section WarpStateStats --section SchedulerStats --section InstructionStats --section ComputeWorkloadAnalysis --section SourceCounters --import-source yes"
mkdir -p "$OUT/f/ncu"
exp() { local r="$OUT/f/ncu/$1.ncu-rep"; [ -f "$r" ] || { echo "no report $1"; return; }
  ncu -i "$r" --page raw --csv > "$OUT/f/ncu/$1.raw.csv" 2>&1; ncu -i "$r" --page source --csv --print-source sass > "$OUT/f/ncu/$1.sass.csv" 2>&1
  ncu -i "$r" --print-details all 2>&1 | grep -E "Duration|SM Frequency|Elapsed Cycles|Issue Slots Busy|No Eligible|Warp Cycles Per Issued" | head -8; rm -f "$r"; gzip "$OUT/f/ncu/$1".*.csv; }
for s in "128 8192 128 1" "128 8192 128 2"; do
  set -- $s; name=lib_$3_$4
  echo "[{\"b\":$1,\"s_k\":$2,\"h_q\":$3,\"s_q\":$4}]" > "$OUT/f/ncu/c.json"
  # shellcheck disable=SC2086
  timeout -k 5 120 ncu $secs -k regex:mla_decode_sm90w --launch-skip 3 --launch-count 1 -f -o "$OUT/f/ncu/$name" "${CLI[@]}" bench --backend cuda --configs "$OUT/f/ncu/c.json" --reps 2 --warmup 2 --check 0 --warm-ms 0 --idle-warm-ms 0 -q > "$OUT/f/ncu/$name.log" 2>&1; echo "$name rc $?"
  exp "$name"
done
# shellcheck disable=SC2086
timeout -k 5 150 ncu $secs -k regex:splitkv_mla --launch-skip 1 --launch-count 2 -f -o "$OUT/f/ncu/fm" python3 bench/cuda/hopper/flashmla_once.py --anchors .gpu-host/anchors 128,8192,128,1 128,8192,128,2 > "$OUT/f/ncu/fm.log" 2>&1; echo "fm rc $?"
exp fm
ts "ncu done"
s33_pack s33c1-ncu
