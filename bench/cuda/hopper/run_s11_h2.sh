#!/bin/bash
# Session 11, helper h2, call 1: why the wide kernel takes 1.64x FlashMLA's SM cycles back to back but only ~1.14x
# under ncu's single launches (docs/notes/cuda-hopper-decode.md, "Session 11 (h2)"). No node needed.
#   bash bench/cuda/hopper/run_s11_h2.sh [outdir]      (repository root on the GPU host, .gpu-host entered)
# Binary: HG (default build/hg)/harness_gap, built off the device:
#   nvcc -std=c++17 -O3 -Xptxas -warn-spills -gencode arch=compute_90a,code=sm_90a -lineinfo -o build/hg/harness_gap bench/cuda/hopper/harness_gap.cu
# Steps (STEPS, default "check gap fmgap ncu ab"):
#   check  a few random cases of the trace / candidate kernels (a smoke test that the harness and kernels run)
#   gap    harness_gap gap: single launches after idle (decode and combine apart) vs back to back, with the trace
#          kernels' per-CTA summary (span, CTA durations, SM clock from clock64 / global timer, sibling drift)
#   fmgap  flashmla_gap.py: FlashMLA's calls the same way
#   ncu    one launch under ncu (SM clock, cycles, duration, DRAM bytes, L2 hit rate): ours after a warm launch with
#          the cache flushed (the old method) and not, ours and FlashMLA's inside a sustained run (--launch-skip)
#   ab     medianUs A/B (lib, x799, cluster placements) on the 64 / 128 / 256-row rows at s_k 8192 and 128 at 1024
set -u
S=$SECONDS
ts() { echo "[+$((SECONDS - S))s] $*"; }
O=${1:-${OUT:-./out}/h2}
mkdir -p "$O"
HG=${HG:-build/hg}
G=$HG/harness_gap
here=$(cd "$(dirname "$0")" && pwd)
STEPS=${STEPS:-check gap fmgap ncu ab}
SH=${SH:-128,8192,128,1}
echo "h2: $(nvidia-smi --query-gpu=name,clocks.sm,clocks.mem,temperature.gpu,power.draw --format=csv,noheader 2>/dev/null)"
ls -la $G || exit 2
q=timestamp,clocks.sm,power.draw,temperature.gpu
nvidia-smi --query-gpu=power.draw.instant --format=csv,noheader > /dev/null 2>&1 && q=timestamp,clocks.sm,power.draw.instant,temperature.gpu
nvidia-smi --query-gpu=$q --format=csv,noheader,nounits -lms 50 > "$O/smi.csv" 2> /dev/null &
smipid=$!
mark() { echo "$1 $(date +%s.%N)" >> "$O/marks.txt"; }
for st in $STEPS; do
  case $st in
    check) # CHECK_PROCS processes of CHECK_N cases a kernel, all at once, and memcheck of MEM_KERNELS
      pids=""
      for k in ${CHECK_KERNELS:-libtr x799}; do
        for j in $(seq 1 ${CHECK_PROCS:-1}); do
          ( CHECK_KERNEL=$k CHECK_CHUNK=10 timeout ${CHECK_S:-20} stdbuf -oL $G check ${CHECK_N:-12} $((30 + j)) > "$O/check_${k}_$j.log" 2>&1; echo "rc=$?" >> "$O/check_${k}_$j.log" ) &
          pids="$pids $!"
        done
      done
      for k in ${MEM_KERNELS:-}; do
        ( CHECK_KERNEL=$k timeout ${CHECK_S:-20} compute-sanitizer --tool memcheck --print-limit 5 $G check 3 9 > "$O/memcheck_$k.txt" 2>&1; echo "rc=$?" >> "$O/memcheck_$k.txt" ) &
        pids="$pids $!"
      done
      wait $pids # these jobs only: a bare wait would also wait for the nvidia-smi sampler (session 11 call 2 hung there)
      for k in ${CHECK_KERNELS:-libtr x799}; do
        echo "check $k: $(cat "$O"/check_${k}_*.log | grep -o '[0-9]* cases run, [0-9]* failed, worst rel [0-9.e+-]*' | awk '{ r += $1; f += $4; w = ($8 + 0 > w) ? $8 + 0 : w } END { printf "%d cases, %d failed, worst rel %.2e", r, f, w }'); $(grep -h '^rc=' "$O"/check_${k}_*.log | tr '\n' ' ') $(grep -h -m2 '^FAIL' "$O"/check_${k}_*.log | head -2 | tr '\n' ' ')"
      done
      for k in ${MEM_KERNELS:-}; do echo "memcheck $k: $(grep 'ERROR SUMMARY' "$O/memcheck_$k.txt" | tail -1) $(grep 'cases run' "$O/memcheck_$k.txt" | tail -1 | cut -c1-60) $(tail -1 "$O/memcheck_$k.txt")"; done
      ts "check done" ;;
    gap)
      gk=${GAP_KERNELS:-libtr x799tr libtr@c2}
      for s in ${GAP_SHAPES:-$SH 128,8192,128,2}; do
        mark "gap_$s"
        GAP_KERNELS=$gk GAP_N=${GAP_N:-400} timeout ${GAP_S:-60} $G gap ${s//,/ } > "$O/gap_$s.log" 2>&1
        gk=${GAP_KERNELS2:-libtr}
        echo "gap $s rc=$?"; grep -v '^device' "$O/gap_$s.log"
        mark "end"
      done
      ts "gap done" ;;
    fmgap)
      for s in ${FM_SHAPES:-$SH 128,8192,128,2}; do
        mark "fmgap_$s"
        PYTHONUNBUFFERED=1 timeout ${FM_S:-40} python3 "$here/flashmla_gap.py" --anchors .gpu-host/anchors --n ${GAP_N:-400} ${FM_ARGS:-} ${s//;/ } > "$O/fmgap_$s.log" 2>&1
        echo "fmgap $s rc=$?"; grep '^gap\|rror' "$O/fmgap_$s.log" | tail -30
        mark "end"
      done
      ts "fmgap done" ;;
    ncu)
      M=gpu__time_duration.sum,sm__cycles_elapsed.avg.per_second,sm__cycles_elapsed.max,dram__bytes_read.sum,dram__bytes_write.sum,lts__t_sector_hit_rate.pct
      run_ncu() { # name cache-control skip -- command...
        local name=$1 cc=$2 skip=$3 kre=$4; shift 4
        timeout ${NCU_S:-45} ncu --metrics $M --cache-control $cc --clock-control none -k regex:$kre --launch-skip $skip --launch-count 1 "$@" > "$O/ncu_$name.log" 2>&1
        local rc=$?
        echo "ncu $name (cache $cc, launch-skip $skip) rc=$rc $(grep -o '[0-9]* pass[es]*' "$O/ncu_$name.log" | head -1): $(grep -E '^ +(gpu__|sm__|dram__|lts__)' "$O/ncu_$name.log" | awk '{printf "%s %s %s; ", $1, $2, $3}')"
      }
      n=${NCU_N:-600}
      run_ncu lib_single_flush all 1 sm90w $G b2bn ${SH//,/ } 3 lib
      run_ncu lib_single none 1 sm90w $G b2bn ${SH//,/ } 3 lib
      run_ncu lib_sustained none $n sm90w $G b2bn ${SH//,/ } $((n + 20)) lib
      run_ncu x799_sustained none $n sm90w $G b2bn ${SH//,/ } $((n + 20)) x799
      run_ncu fm_sustained none $n splitkv_mla_kernel python3 "$here/flashmla_gap.py" --anchors .gpu-host/anchors --b2bn $((n + 20)) $SH
      [ -n "${NCU_FM_SINGLE:-}" ] && run_ncu fm_single none 1 splitkv_mla_kernel python3 "$here/flashmla_gap.py" --anchors .gpu-host/anchors --b2bn 3 $SH
      ts "ncu done" ;;
    ab) # rows <= 32: ABN_KERNELS (the narrow kernel), else AB_KERNELS
      for s in ${AB_SHAPES:-128,8192,128,1 128,8192,128,2 128,8192,64,1 128,1024,128,1}; do
        IFS=, read -r _b _sk _h _sq <<< "$s"
        ks=${AB_KERNELS:-lib x799 lib@c2 x799@c2}; [ $((_h * _sq)) -le 32 ] && ks=${ABN_KERNELS:-nar nar+w}
        AB_KERNELS=$ks ROUNDS=${ROUNDS:-3} timeout ${AB_S:-30} $G ab ${s//,/ } 2>&1 | grep -v '^device'
      done
      ts "ab done" ;;
  esac
done
kill $smipid 2> /dev/null
# nvidia-smi between marks: median SM clock and power of each gap / fmgap step
python3 - "$O/smi.csv" "$O/marks.txt" <<'P' 2> /dev/null
import sys, datetime
rows = []
for line in open(sys.argv[1]):
    f = [x.strip() for x in line.split(',')]
    try:
        t = datetime.datetime.strptime(f[0], '%Y/%m/%d %H:%M:%S.%f').timestamp()
        rows.append((t, float(f[1]), float(f[2]), float(f[3])))
    except Exception:
        pass
marks = [l.split() for l in open(sys.argv[2])]
for (name, t0), (_, t1) in zip(marks, marks[1:]):
    if name == 'end': continue
    sel = sorted(r for r in rows if float(t0) <= r[0] < float(t1))
    if not sel: continue
    med = lambda i: sorted(r[i] for r in sel)[len(sel) // 2]
    print('smi %s: %d samples, SM clock median %.0f MHz (max %.0f), power median %.0f W (max %.0f), temp %.0f C' % (name, len(sel), med(1), max(r[1] for r in sel), med(2), max(r[2] for r in sel), med(3)))
P
ts end
