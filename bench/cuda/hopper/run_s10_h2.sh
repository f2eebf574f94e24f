#!/bin/bash
# Session 10, helper h2: the wide kernel's seesaw candidates (decode_sm90_wide.cu, harness-only VAR bits) checked and
# timed against the library's entry (x798) in one process; no node needed.
#   bash bench/cuda/hopper/run_s10_h2.sh [outdir]        (repository root on the GPU host; logs in $OUT/h2)
# Binary: HB (default build/hb12)/harness_wide, built off the device with
#   nvcc -std=c++17 -O3 -Xptxas -warn-spills -gencode arch=compute_90a,code=sm_90a -I src/backends/cuda/kernels \
#        -DMLA_SM90W_SWAP_PROBE -lineinfo -o build/hb12/harness_wide bench/cuda/hopper/harness_wide.cu
# (hb11 = fe616c5's build without the `clocks` mode; hb12 = the same kernels plus it, staged in .devstage/hb/s11h2.tgz)
# Candidates (CANDS, default x119582 x54046; decode_sm90_wide.cu's VAR bits): x4894 = x798 + kVarSeesaw (warpgroup 1
# multiplies P_B V_B[R] first, P_A' = c P_A from warpgroup 0 second; P_B in Q's box 8, which each warpgroup keeps in
# registers), x13086 = x4894 + kVarSPipe (entry removed), x54046 = x4894 + kVarWalkA + kVarProd2 (A tiles walk 8,
# 0-3, 4-7; a producer thread a stage for boxes 4-7), x37662 = x4894 + kVarProd2, x119582 = x54046 + kVarQ8G (Q's box 8
# from global memory at each S, 232 / 32 registers, 0 spill: the library candidate, s10-h2-seesaw-entries.patch).
# Steps: (1) random cases against the float64 reference (WCAND_N a process, 3 processes a candidate), memcheck and
# synccheck of each candidate, SASS counts, in parallel (CHECK_S seconds); (2) every candidate with >= 30 cases and 0
# failures timed against lib (COMPARE=vars, ROUNDS interleaved rounds, the 15 b=128 rows of >= 64 rows and the uneven
# batch), one table against FlashMLA 9241ae3 (FJ: the session-9 final call's JSON unless given); (3) NCU=1: ncu of
# NCU_KERNELS at 128 rows s_k 8192 (run_profile.sh's sections, ~20-30 s each).
# Predictions: docs/notes/cuda-hopper-decode.md, "Session 10 (h2): the seesaw order".
set -u
S=$SECONDS
ts() { echo "[+$((SECONDS - S))s] $*"; }
O=${1:-${OUT:-./out}/h2}
mkdir -p "$O"
HB=${HB:-build/hb12}
W=$HB/harness_wide
ROOT=$PWD
CANDS=${CANDS-x119582 x54046}
CS=${CHECK_S:-35}
echo "h2: $(nvidia-smi --query-gpu=name,clocks.sm,clocks.mem,temperature.gpu,power.draw --format=csv,noheader 2>/dev/null)"
ls -la $W || exit 2

# (1) checks, all at once
( timeout $CS stdbuf -oL $W check ${LIB_N:-40} 501 > "$O/wcheck_lib.log" 2>&1; echo "rc=$?" >> "$O/wcheck_lib.log" ) &
for k in $CANDS; do
  for j in 1 2 3; do
    ( CHECK_KERNEL=$k CHECK_CHUNK=10 timeout $CS stdbuf -oL $W check ${WCAND_N:-60} $((810 + j)) > "$O/wcheck_${k}_$j.log" 2>&1; echo "rc=$?" >> "$O/wcheck_${k}_$j.log" ) &
  done
  ( CHECK_KERNEL=$k timeout $CS compute-sanitizer --tool memcheck --print-limit 5 $W check ${MEM_N:-3} 9 > "$O/wsan_memcheck_$k.txt" 2>&1; echo "rc=$?" >> "$O/wsan_memcheck_$k.txt" ) &
  # synccheck is slow on this kernel (3 cases, then 1 case of seed 9, ran past 35 / 55 s): one small case a process,
  # seeds whose first bf16-only case has >= 128 rows and at most 129 keys (38: 256 rows, b=2; 168: 256 rows causal)
  for sd in ${SYNC_SEEDS:-38 168}; do
    ( CHECK_KERNEL=$k timeout ${SYNC_S:-$CS} compute-sanitizer --tool synccheck --print-limit 5 $W check 1 $sd > "$O/wsan_synccheck_${k}_$sd.txt" 2>&1; echo "rc=$?" >> "$O/wsan_synccheck_${k}_$sd.txt" ) &
  done
done
wait
ts "checks done"
sum() { [ $# -gt 0 ] || { echo "0 0 0"; return; }; grep -ho '[0-9]* cases run, [0-9]* failed, worst rel [0-9.e+-]*' "$@" 2>/dev/null | awk '{ r += $1; f += $4; w = ($8 + 0 > w) ? $8 + 0 : w } END { printf "%d %d %.2e", r, f, w }'; }
pass=""
for k in lib $CANDS; do
  fs=$(ls "$O"/wcheck_${k}.log "$O"/wcheck_${k}_*.log 2>/dev/null)
  read -r ran failed worst <<< "$(sum $fs)"
  echo "check $k: $ran cases, $failed failed, worst rel $worst; $(grep -h '^rc=' $fs | tr '\n' ' ') $(grep -h -m2 '^FAIL\|error\|Error' $fs | head -2 | tr '\n' ' ')"
  [ "$k" != lib ] && [ "$failed" = 0 ] && [ "$ran" -ge 30 ] && pass="$pass $k"
done
for f in "$O"/wsan_*.txt; do [ -f "$f" ] && echo "$(basename $f .txt): $(grep -E 'ERROR SUMMARY' $f | tail -1) $(grep -E 'cases run' $f | tail -1 | cut -c1-50) $(tail -1 $f)"; done
for fn in mla_decode_sm90w_bf16 $(for k in $CANDS; do echo mla_decode_sm90w_bf16_$k; done); do
  cuobjdump -sass -fun $fn $W > "$O/sass.txt" 2>&1
  echo "sass $fn: HGMMA $(grep -c HGMMA $O/sass.txt) LDL $(grep -c LDL $O/sass.txt) STL $(grep -c STL $O/sass.txt) FMUL $(grep -c ' FMUL ' $O/sass.txt) MUFU $(grep -c MUFU $O/sass.txt) BAR $(grep -c ' BAR\.' $O/sass.txt) total $(grep -c '^ */\*[0-9a-f]*\*/' $O/sass.txt)"
  grep -n -B3 'LDL\|STL' $O/sass.txt | cut -c1-90 | head -60
done
rm -f "$O/sass.txt"
for k in ${SASS_DUMP:-}; do cuobjdump -sass -fun mla_decode_sm90w_bf16_$k $W | gzip > "$O/sass_$k.txt.gz"; done
echo "h2: into the A/B:${pass:- none}"

# (2) the A/B table (run_s9_ab.sh's ab step, wide only)
FJ=${FJ:-$ROOT/results/gpu-host/bench/hopper/s9_final_flashmla-dense.json}
if [ -n "$pass" ]; then
  HB=$HB O=$O FJ=$FJ WVARS="lib$pass" ROUNDS=${ROUNDS:-3} WAB_S=${WAB_S:-70} timeout ${AB_TOTAL_S:-80} bash "$(dirname "$0")/run_s9_ab.sh" ab 2>&1 | grep -v 'narrow\|ab_narrow'
fi

# (2a) the ship rule for SHIP_KERNEL (default x119582): faster than lib by >= 0.5 % on all nine 128/256-row rows
SK=${SHIP_KERNEL:-x119582}
rule=$(python3 - "$O/ab_wide.txt" "$SK" <<'P'
import re, sys
ok, n, cells = True, 0, []
for line in open(sys.argv[1]) if __import__('os').path.exists(sys.argv[1]) else []:
    m = re.match(r'vars b=128 s_k=(\d+) h_q=(\d+) s_q=(\d+) rows=(\d+)(.*)', line)
    if not m or int(m[4]) < 128: continue
    us = dict((k, float(v)) for k, v in re.findall(r'\| (\S+)\s+([0-9.]+) us', m[5]))
    if 'lib' not in us or sys.argv[2] not in us: continue
    r = us['lib'] / us[sys.argv[2]]; n += 1; ok &= r >= 1.005
    cells.append('%s/%s %.3f' % (m[1], m[4], r))
print(('PASS' if ok and n == 9 else 'FAIL') + ' (%d rows: %s)' % (n, ', '.join(cells)))
P
)
echo "h2 ship rule $SK vs lib: $rule"
# SHIP_TEST=1 (and the rule passed; SHIP_TEST=force: regardless): the library with the patch (build/ship: the patched
# decode_sm90_wide.cu and the tsc output of the patched tree, s10-h2-seesaw-entries.patch), built for sm_90a, through
# test/gpu/sm90-wide.test.js (goldens + SHIP_CASES random cases on both pairs of entries).
if [ "${SHIP_TEST:-0}" = force ] || { [ "${SHIP_TEST:-0}" = 1 ] && [ "${rule%% *}" = PASS ]; }; then
  cp build/ship/kernels/decode_sm90_wide.cu src/backends/cuda/kernels/decode_sm90_wide.cu
  timeout ${SHIP_BUILD_S:-240} node scripts/build-kernels.mjs --gencode arch=compute_90a,code=sm_90a --launch build/ship/src/backends/cuda/kernels/launch.js --out dist-ship/cuda > "$O/ship_build.log" 2>&1
  ts "ship build rc=$? $(grep -c fatbin dist-ship/cuda/manifest.json 2>/dev/null) fatbins"
  FLASHMLA_CUDA_KERNELS=$PWD/dist-ship/cuda FLASHMLA_SM90W_CASES=${SHIP_CASES:-200} FLASHMLA_GOLDEN=$PWD/test/fixtures/golden \
    timeout ${SHIP_TEST_S:-150} node --test --test-reporter=tap build/ship/test/gpu/sm90-wide.test.js > "$O/ship_test.tap" 2>&1
  ts "ship test rc=$?: $(grep -E '^# (tests|pass|fail)' "$O/ship_test.tap" | tr '\n' ' ') $(grep -h '^# .*sm90w' "$O/ship_test.tap" | head -3 | tr '\n' ' ')"
fi

# (2b) CLOCKS=1: is the back-to-back gap a clock gap, a cycle gap or a timing-method gap? Each phase runs one kernel
# in one mode (harness_clocks.cuh): b2b (CLK_S seconds back to back, its second half), lb (as the library's
# `flashmla bench` times: 400 ms idle, 300 ms warm, 50 reps; 3 rounds), dob (as bench_flashmla.py's do_bench: 400 ms
# idle, a 256 MB memset before each rep, 25 ms warm, 200 ms timed; 3 rounds); between batches of 16 launches a
# one-thread clock64 spin measures the SM clock (FlashMLA: flashmla_clocks.py, torch.cuda._sleep), so Mcycles a
# launch = us x MHz; nvidia-smi samples power, clock and the clock-event reasons every 20 ms. clocks_summary.py prints
# a row a phase, "time = cycles x clock" against FlashMLA in the same mode, and the clocks_verdict lines (what each
# outcome leads to: docs/notes/cuda-hopper-decode.md, "Session 10, round 2"). ~35 s for the two default shapes.
if [ "${CLOCKS:-0}" = 1 ]; then
  CK_=${CLOCK_KERNEL:-x119582}
  SH=${CLK_SHAPES:-128,8192,128,1 128,8192,128,2}
  q=timestamp,clocks.sm
  if nvidia-smi --query-gpu=power.draw.instant --format=csv,noheader > /dev/null 2>&1; then q=$q,power.draw.instant; else q=$q,power.draw; fi
  q=$q,temperature.gpu
  nvidia-smi --query-gpu=clocks_event_reasons.active --format=csv,noheader > /dev/null 2>&1 && q=$q,clocks_event_reasons.active
  echo "clocks: power.limit, enforced, max SM, app SM: $(nvidia-smi --query-gpu=power.limit,enforced.power.limit,clocks.max.sm,clocks.applications.graphics --format=csv,noheader 2>&1 | head -1); sampling $q"
  nvidia-smi --query-gpu=$q --format=csv,noheader,nounits -lms 20 > "$O/clk_smi.csv" 2> "$O/clk_smi.err" &
  smipid=$!
  : > "$O/clk_ours.txt"
  for s in $SH; do
    CLK_PHASES=${CLK_PHASES:-"lib/b2b $CK_/b2b lib/lb lib/dob"} CLK_S=${CLK_S:-1} timeout ${CLK_OURS_S:-25} $W clocks ${s//,/ } >> "$O/clk_ours.txt" 2>&1
    echo "rc=$?" >> "$O/clk_ours.txt"
  done
  ts "clocks: ours done ($(grep -c '^clksum' "$O/clk_ours.txt") phases)"
  PYTHONUNBUFFERED=1 timeout ${CLK_FM_S:-45} python3 "$(dirname "$0")/flashmla_clocks.py" --anchors .gpu-host/anchors --secs ${CLK_S:-1} --phases ${CLK_FM_PHASES:-b2b,lb,dob} $SH > "$O/clk_flashmla.txt" 2>&1
  echo "rc=$?" >> "$O/clk_flashmla.txt"
  kill $smipid 2> /dev/null
  ts "clocks: flashmla done ($(grep -c '^clksum' "$O/clk_flashmla.txt") phases; $(wc -l < "$O/clk_smi.csv") nvidia-smi samples)"
  python3 "$(dirname "$0")/clocks_summary.py" "$O/clk_smi.csv" "$O/clk_ours.txt" "$O/clk_flashmla.txt" | tee "$O/clocks.txt"
  grep -h 'rc=[1-9]\|rror' "$O/clk_ours.txt" "$O/clk_flashmla.txt" | head -5
fi

# (3) ncu
if [ "${NCU:-0}" = 1 ]; then
  for k in ${NCU_KERNELS:-lib $pass}; do
    kk=$k; [ $k = lib ] && kk=""
    BIN=$W OUT=$O KERNEL=$kk NO_FLASHMLA=1 NCU_S=${NCU_S:-40} timeout ${NCU_S:-40} bash "$(dirname "$0")/run_profile.sh" "${NCU_SHAPES:-128,8192,128,1}"
  done
  for r in "$O"/ncu/*.sass.csv; do
    [ -f "$r" ] && python3 "$(dirname "$0")/ncu_source_summary.py" "$r" --top 8 > "${r%.sass.csv}.summary.txt" 2>&1
  done
  ( cd "$O" && tar czf ncu.tgz ncu/*.details.txt ncu/*.summary.txt ncu/*.sass.csv 2>/dev/null; rm -rf ncu )
fi
# One line for the decision (the note, "Session 10, round 2": what each verdict leads to)
echo "h2 decision: ship rule ${rule%% *} ($( [ "${rule%% *}" = PASS ] && echo 'apply s10-h2-seesaw-entries.patch; sm90-wide.test + sanitizers in the final call' || echo 'library stays x798')); clocks: $(grep -h '^clocks_verdict' "$O/clocks.txt" 2> /dev/null | grep ' lib b2b: \| method: ' | sed 's/^clocks_verdict //' | tr '\n' ';')"
ts end
