#!/bin/bash
# Session 11 round 2, helper h2 (the lead's ~60 s slot): where the 128 / 256-row time goes now that combineWarps is
# the default (docs/notes/cuda-hopper-decode.md, "Session 11 round 2"). Measurement only: nothing here ships and the
# library's kernels are untouched (the trace stamps exist only in harness_gap's MLA_SM90W_TRACE build).
#   bash bench/cuda/hopper/run_s11_h2r2.sh [outdir]      (repository root on the GPU host; enters .gpu-host itself)
# Binary: HG (default .devstage/h2-r2)/harness_gap, built off the device (nvcc 13, ~2 min on 2 cores):
#   nvcc -std=c++17 -O3 -Xptxas -warn-spills -gencode arch=compute_90a,code=sm_90a -lineinfo -o .devstage/h2-r2/harness_gap bench/cuda/hopper/harness_gap.cu
# Steps (~35 s; the lead's slot is 60 s: run it under `timeout 58`):
#   1. gap    for each shape, libtr+w (the library's wide kernel, x798, with the trace stamps; combineWarps where a
#             request is split, nothing where none is, as the library): GAP_SINGLE (0) single launches after idle,
#             GAP_N back to back (decode, combine and the gap between launches each between their own events), then
#             the decode alone back to back; the trace of the last launch of each: kernel span, CTA clock
#             (clock64 / global timer), CTA durations, and the phase line (prologue, wait, Q load, µs a key tile,
#             tail, lost; harness_gap.cu traceSummary)
#   2. fm     flashmla_gap.py on the same shapes: its calls timed the same way, and --prof: its decode and combine
#             kernels' own device times under torch.profiler
#   3. check  the decode candidate qe+w (kVarQEarly: the next item's Q loaded during the current item's last pair;
#             harness only): 2 x 4 random cases (two processes), bf16 and f16, against the float64 reference
#   4. ab     lib+w against qe+w, ROUNDS interleaved rounds of medianUs, on 128 / 256 rows at s_k 1024 and 8192;
#             then qetr+w's trace at s_k 1024 (its q phase should shrink to the copy's remaining wait)
#   5. the summary table (s11_h2r2_summary.py), the verdict lines and the candidate's rule
set -u
S=$SECONDS
ts() { echo "[+$((SECONDS - S))s] $*"; }
O=${1:-${OUT:-./out}/h2r2}
mkdir -p "$O"
here=$(cd "$(dirname "$0")" && pwd)
HG=${HG:-.devstage/h2-r2}
G=$HG/harness_gap
[ -f .gpu-host/enter.sh ] && source .gpu-host/enter.sh > /dev/null 2>&1
SHAPES=${SHAPES:-128,1024,128,1 128,1024,128,2 128,4096,128,1 128,4096,128,2 128,8192,128,1 128,8192,128,2}
K=${K:-libtr+w}   # the traced library kernel (gap); K2 the untraced one (the A/B's control)
K2=${K2:-lib+w}
echo "h2r2: $(nvidia-smi --query-gpu=name,clocks.sm,clocks.mem,temperature.gpu,power.draw --format=csv,noheader 2>/dev/null)"
ls -la "$G" || { echo "h2r2: no harness at $G"; exit 2; }
chmod +x "$G" 2> /dev/null
for s in $SHAPES; do
  GAP_SINGLE=${GAP_SINGLE:-0} GAP_KERNELS=$K GAP_N=${GAP_N:-200} timeout ${GAP_S:-10} $G gap ${s//,/ } > "$O/gap_$s.log" 2>&1
  echo "gap $s rc=$?"
done
ts "gap done"
PYTHONUNBUFFERED=1 timeout ${FM_S:-30} python3 "$here/flashmla_gap.py" --anchors .gpu-host/anchors --n ${GAP_N:-200} --no-single --prof ${FM_PROF:-50} $SHAPES > "$O/fm.log" 2>&1
echo "fm rc=$? $(grep -c '^gap' "$O/fm.log") gap lines, $(grep -c '^fmprof' "$O/fm.log") fmprof lines $(grep -m1 -i 'error\|Traceback' "$O/fm.log" | cut -c1-160)"
ts "fm done"
python3 "$here/s11_h2r2_summary.py" --measure "$O" $SHAPES | tee "$O/summary.txt"
# The candidate (kVarQEarly, harness only): check first, then the interleaved A/B and its trace at s_k 1024.
C=${C:-qe+w}
if [ "${CHECK:-1}" = 1 ]; then
  # two processes (seeds 41, 42) of CHECK_N cases in chunks of 2 (a chunk's line is printed as it finishes)
  ( CHECK_KERNEL=$C CHECK_CHUNK=2 timeout ${CHECK_S:-8} $G check ${CHECK_N:-4} 41 > "$O/check_1.log" 2>&1; echo "rc=$?" >> "$O/check_1.log" ) &
  p1=$!
  ( CHECK_KERNEL=$C CHECK_CHUNK=2 timeout ${CHECK_S:-8} $G check ${CHECK_N:-4} 42 > "$O/check_2.log" 2>&1; echo "rc=$?" >> "$O/check_2.log" ) &
  p2=$!
  wait $p1 $p2
  echo "check $C: $(cat "$O"/check_[12].log | grep -o '[0-9]* cases run, [0-9]* failed, worst rel [0-9.e+-]*' | awk '{ r += $1; f += $4; w = ($8 + 0 > w) ? $8 + 0 : w } END { printf "%d cases, %d failed, worst rel %.2e", r, f, w }'); $(grep -h '^rc=' "$O"/check_[12].log | tr '\n' ' ') $(grep -h -m2 '^FAIL' "$O"/check_[12].log | head -2 | tr '\n' ' ')" | tee "$O/check.txt"
  ts "check done"
fi
# the A/B only after a clean check (a wrong or hung candidate must not eat the slot)
if [ "${AB:-1}" = 1 ] && grep -q ': [4-9] cases, 0 failed\|: [1-9][0-9]* cases, 0 failed' "$O/check.txt" 2> /dev/null; then
  for s in ${AB_SHAPES:-128,1024,128,1 128,1024,128,2 128,8192,128,1 128,8192,128,2}; do
    AB_KERNELS="$K2 $C" ROUNDS=${ROUNDS:-3} timeout ${AB_S:-6} $G ab ${s//,/ } 2>&1 | grep '^ab' | tee -a "$O/ab.txt"
  done
  for s in ${QT_SHAPES:-128,1024,128,1 128,1024,128,2}; do
    GAP_SINGLE=0 GAP_KERNELS=${CT:-qetr+w} GAP_N=${GAP_N:-200} timeout ${GAP_S:-10} $G gap ${s//,/ } > "$O/gapqe_$s.log" 2>&1
    echo "gap qe $s rc=$?: $(grep 'b2b-last: phases_us' "$O/gapqe_$s.log" | sed 's/.*phases_us//' | cut -c1-150)"
  done
  ts "ab done"
fi
python3 "$here/s11_h2r2_summary.py" --candidate "$O" $SHAPES | tee -a "$O/summary.txt"
ts "end"
