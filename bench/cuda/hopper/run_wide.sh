#!/bin/bash
# One device call for the >= 64-row kernel (decode_sm90_wide.cu): build, descriptor probe, check, SASS facts,
# timing, FlashMLA on the same shapes, sanitizers, the racecheck probe.
#   bash bench/cuda/hopper/run_wide.sh [cases] [steps]     (from the repository root; steps default "probe check sass time flashmla")
# Steps: probe, check (CHECK_JOBS processes of cases/CHECK_JOBS cases each, seeds SEED.., in parallel: the float64
# reference and the host set-up, not the GPU, bound it), sass,
# time (sm90w beside COMPARE, see harness_wide.cu), flashmla, sanitize (memcheck, racecheck, synccheck on SAN_CASES
# cases), race (racecheck_probe.cu's modes under racecheck).
# BIN=path: a harness built elsewhere (nvcc on the host is skipped); PROBE_BIN likewise for racecheck_probe.cu.
# Writes under $OUT (default ./out): build.log, probe.log, check*.log, sass.txt, time.json, time.log, flashmla.json,
# flashmla.log, sanitize_*.log, race.log.
set -u
here=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-./out}; mkdir -p "$OUT"
cases=${1:-300}
steps=${2:-"probe check sass time flashmla"}
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem,power.draw,temperature.gpu --format=csv,noheader | tee "$OUT/card.txt"
bin=${BIN:-/tmp/harness_wide}
if [ -z "${BIN:-}" ]; then
  [ "${REUSE:-0}" = 1 ] && [ -x $bin ] || timeout 240 nvcc -std=c++17 -O3 -gencode arch=compute_90a,code=sm_90a -DMLA_SM90W_SWAP_PROBE -Xptxas -v,-warn-spills -o $bin "$here/harness_wide.cu" > "$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log"; exit 1; }
  grep -E "spill|Used" "$OUT/build.log" | sort | uniq -c | head -8
fi
for s in $steps; do
  case $s in
    probe) timeout 40 $bin probe > "$OUT/probe.log" 2>&1; rc=$?; tail -12 "$OUT/probe.log"; [ $rc = 124 ] && { echo "probe timed out (hang?): stopping"; exit 3; } ;;
    check)
      jobs=${CHECK_JOBS:-1}; per=$(( (cases + jobs - 1) / jobs ))
      for j in $(seq 1 $jobs); do timeout ${CHECK_TIMEOUT:-150} stdbuf -oL $bin check $per $(( ${SEED:-1} + j - 1 )) > "$OUT/check$j.log" 2>&1 & done; wait
      for j in $(seq 1 $jobs); do tail -1 "$OUT/check$j.log"; grep FAIL "$OUT/check$j.log" | head -5; done ;;
    sass)
      for f in mla_decode_sm90w_bf16; do
        cuobjdump -sass -fun $f $bin > /tmp/sassw.txt 2>&1
        echo "$f: HGMMA $(grep -c HGMMA /tmp/sassw.txt) UTMALDG $(grep -c UTMALDG /tmp/sassw.txt) LDL $(grep -c LDL /tmp/sassw.txt) STL $(grep -c STL /tmp/sassw.txt) SYNCS $(grep -c SYNCS /tmp/sassw.txt) BAR $(grep -c ' BAR' /tmp/sassw.txt) WARPGROUP $(grep -c WARPGROUP /tmp/sassw.txt)" | tee -a "$OUT/sass.txt"
        grep -n "LDL\|STL" /tmp/sassw.txt | head -20 >> "$OUT/sass.txt"
      done ;;
    time) timeout ${TIME_TIMEOUT:-240} $bin time "$OUT/time.json" 2>&1 | tee "$OUT/time.log" ;;
    flashmla)
      if [ -f .gpu-host/enter.sh ]; then
        python3 - > /tmp/cfgw.json <<'P'
import json
c=[{"b":128,"s_k":sk,"h_q":h,"s_q":s} for sk in (1024,4096,8192) for (h,s) in ((64,1),(128,1),(32,2),(64,2),(128,2))]
c.append({"b":4,"s_k":4641,"h_q":16,"s_q":4,"seqlens":[4641,45118,1730,1696]})
print(json.dumps(c))
P
        ( source .gpu-host/enter.sh; PYTHONUNBUFFERED=1 timeout 240 python3 .gpu-host/anchors/bench_flashmla.py --configs /tmp/cfgw.json --no-triton --out "$OUT/flashmla.json" ) 2>&1 | tee "$OUT/flashmla.log" | tail -20
      else echo "no .gpu-host: FlashMLA not timed"; fi ;;
    sanitize)
      for t in memcheck racecheck synccheck; do timeout ${SAN_TIMEOUT:-150} compute-sanitizer --tool $t $bin check ${SAN_CASES:-2} 11 2>&1 | tail -4 | tee "$OUT/sanitize_$t.log"; done ;;
    race)
      pb=${PROBE_BIN:-/tmp/racecheck_probe}
      [ -n "${PROBE_BIN:-}" ] || timeout 120 nvcc -std=c++17 -O3 -gencode arch=compute_90a,code=sm_90a -o $pb "$here/racecheck_probe.cu" || { echo "probe build failed"; continue; }
      $pb > "$OUT/race.log" 2>&1
      for m in 4 5 0; do echo "== racecheck, probe mode $m only" >> "$OUT/race.log"; PROBE_MODE=$m timeout 60 compute-sanitizer --tool racecheck --racecheck-report all $pb 2>&1 | grep -E "hazard|RACECHECK SUMMARY|Error|error" | sort | uniq -c | head -8 >> "$OUT/race.log"; done
      cat "$OUT/race.log" ;;
  esac
done
