#!/bin/bash
# Session 12, helper h2: kVarStAsync (the wide kernel's unsplit output rows through shared memory and bulk copies;
# decode_sm90_wide.cu) against the library's bits, harness only (docs/notes/cuda-hopper-decode.md, "Session 12 (h2)").
#   bash bench/cuda/hopper/run_s12_h2.sh [outdir]     (repository root on the GPU host; HG = folder of harness_gap)
# Steps: 1. correctness, in parallel: CHECK_P (4) check processes of CHECK_N (30) random cases each (sa+w, bf16 and
#           f16), memcheck (2 cases) and synccheck (1 case) of sa+w;
#        2. (clean check only) gap: libtr+w and satr+w, 100 launches back to back, the last launch's trace (item line:
#           srst) at s_k 1024 and 4096, 128 rows;
#        3. abb: lib+w against sa+w in short interleaved bursts (8 rounds x 10 launches after 150 ms idle) at
#           s_k 1024 / 4096 / 8192 x 128 / 256 rows and two 64-row controls.
set -u
S=$SECONDS
ts() { echo "[+$((SECONDS - S))s] $*"; }
O=${1:-${OUT:-./out}/h2s12}
mkdir -p "$O"
HG=${HG:-.devstage/h2-s12}
G=$HG/harness_gap
[ -f .gpu-host/enter.sh ] && source .gpu-host/enter.sh > /dev/null 2>&1
C=${C:-sa+w}
echo "h2s12: $(nvidia-smi --query-gpu=name,clocks.sm,clocks.mem,temperature.gpu,power.draw --format=csv,noheader 2>/dev/null)"
ls -la "$G" || { echo "h2s12: no harness at $G"; exit 2; }
chmod +x "$G" 2> /dev/null
if [ "${SASS:-0}" = 1 ] && command -v cuobjdump > /dev/null; then
  # instructions of each wide entry (the main loop's code: lib against the candidates)
  for f in mla_decode_sm90w_bf16 mla_decode_sm90w_bf16_gsa mla_decode_sm90w_bf16_gsa8 mla_decode_sm90w_bf16_gsas; do
    cuobjdump -sass -fun $f $G 2> /dev/null > "$O/sass_$f.txt"
    echo "sass $f: $(grep -cE '^\s+/\*[0-9a-f]{4}\*/' "$O/sass_$f.txt") instructions; HGMMA $(grep -c HGMMA "$O/sass_$f.txt"), STG $(grep -c 'STG' "$O/sass_$f.txt"), STS $(grep -c 'STS' "$O/sass_$f.txt"), UBLKCP $(grep -c 'UBLKCP' "$O/sass_$f.txt"), BAR $(grep -c 'BAR' "$O/sass_$f.txt"), LDL/STL $(grep -cE 'LDL|STL' "$O/sass_$f.txt")"
  done | tee "$O/sass.txt"
  ts "sass done"
fi
if [ "${CHECK:-1}" = 1 ]; then
  pids=""
  for i in $(seq 1 ${CHECK_P:-4}); do
    ( CHECK_KERNEL=$C CHECK_CHUNK=5 timeout ${CHECK_S:-60} $G check ${CHECK_N:-30} $((50 + i)) > "$O/check_$i.log" 2>&1; echo "rc=$?" >> "$O/check_$i.log" ) &
    pids="$pids $!"
  done
  if [ "${SAN:-1}" = 1 ]; then
    ( CHECK_KERNEL=$C timeout ${SAN_S:-60} compute-sanitizer --tool memcheck $G check 2 61 > "$O/memcheck.log" 2>&1; echo "rc=$?" >> "$O/memcheck.log" ) &
    pids="$pids $!"
    ( CHECK_KERNEL=$C timeout ${SAN_S:-60} compute-sanitizer --tool synccheck $G check 1 62 > "$O/synccheck.log" 2>&1; echo "rc=$?" >> "$O/synccheck.log" ) &
    pids="$pids $!"
  fi
  wait $pids
  echo "check $C: $(cat "$O"/check_*.log | grep -o '[0-9]* cases run, [0-9]* failed, worst rel [0-9.e+-]*' | awk '{ r += $1; f += $4; w = ($8 + 0 > w) ? $8 + 0 : w } END { printf "%d cases, %d failed, worst rel %.2e", r, f, w }'); f16 cases ok: $(cat "$O"/check_*.log | grep -c '^ok.* f16 '); $(grep -h '^rc=' "$O"/check_*.log | tr '\n' ' ') $(grep -h -m2 '^FAIL' "$O"/check_*.log | head -2 | tr '\n' ' ')" | tee "$O/check.txt"
  for t in memcheck synccheck; do
    [ -f "$O/$t.log" ] && echo "$t $C: $(grep -h 'ERROR SUMMARY\|cases run' "$O/$t.log" | tr '\n' ' ') $(grep -h '^rc=' "$O/$t.log")" | tee -a "$O/check.txt"
  done
  ts "check done"
fi
if grep -q ': [1-9][0-9]* cases, 0 failed' "$O/check.txt" 2> /dev/null || [ "${FORCE:-0}" = 1 ]; then
  for s in ${GAP_SHAPES:-128,1024,128,1 128,4096,128,1}; do
    GAP_SINGLE=0 GAP_KERNELS="${GK:-libtr+w satr+w}" GAP_N=${GAP_N:-100} timeout ${GAP_S:-15} $G gap ${s//,/ } > "$O/gap_$s.txt" 2>&1
    echo "gap $s rc=$?"
    grep -E ' b2b n=| b2b-last: (phases_us|item_cyc|split srst)' "$O/gap_$s.txt" | cut -c1-420
  done
  ts "gap done"
  for s in ${AB_SHAPES:-128,1024,128,1 128,1024,128,2 128,4096,128,1 128,4096,128,2 128,8192,128,1 128,8192,128,2 128,1024,64,1 128,4096,64,1}; do
    AB_KERNELS="${AB_K:-lib+w $C}" timeout ${AB_S:-12} $G abb ${s//,/ } 2>&1 | grep '^abb' | tee -a "$O/ab.txt"
  done
  ts "ab done"
else
  echo "h2s12: check not clean: no gap / A/B"
fi
python3 - "$O" << 'PY' | tee "$O/summary.txt"
import re, sys, os
out = sys.argv[1]
ab = open(os.path.join(out, "ab.txt")).read() if os.path.exists(os.path.join(out, "ab.txt")) else ""
rs = []
for l in ab.splitlines():
    m = re.search(r"s_k=(\d+),h_q=(\d+),s_q=(\d+) rows=(\d+).*?\| \S+ ([\d.]+) us \S+ \| \S+ ([\d.]+) us ([\d.]+)", l) # the first two kernels
    if m:
        sk, hq, sq, rows, a, b, r = m.groups(); rs.append((int(rows), int(sk), float(a), float(b), float(r)))
        print("h2s12 A/B rows %s s_k %s: first %s us, second %s us, first/second %s" % (rows, sk, a, b, r))
if rs:
    big = [x for x in rs if x[0] >= 128]; small = [x for x in rs if x[0] < 128]
    ok = all(x[4] >= 1.0 for x in big) and all(x[4] >= 0.99 for x in small)
    import math
    g = math.exp(sum(math.log(x[4]) for x in rs) / len(rs))
    print("h2s12 rule: %s (geomean %.3f; 128/256 rows min %.3f (each >= 1.0), 64 rows min %s (each >= 0.99))" % (
        "PASS" if ok else "FAIL", g, min(x[4] for x in big) if big else float('nan'), "%.3f" % min(x[4] for x in small) if small else "n/a"))
PY
ts "end"
