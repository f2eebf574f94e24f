#!/bin/bash
# Session 8b: one harness A/B of the >= 64-row kernel (decode_sm90_wide.cu) inside the lead's final device call.
#   bash bench/cuda/hopper/run_s8_final_ab.sh [flashmla-dense.json] [outdir]     (repository root, GPU host)
# 1. check: each candidate (CANDS) on CHECK_PROCS x CHECK_N random bf16 cases (float64 reference, NaN in unused
#    slots, poisoned outputs), all in parallel, in runs of 10 cases so a time limit still leaves counts;
# 2. time: the library's entry (lib = v6), v3 (x0) and every candidate that passed, interleaved ROUNDS times a
#    configuration (harness_wide time, COMPARE=vars) on FlashMLA's grid rows of >= 64 rows and the uneven batch;
# 3. a table: microseconds, each against FlashMLA (when its dense JSON is given: bench_flashmla.py's output, e.g.
#    the lead's $OUT/flashmla-dense.json) and against lib, geometric means over the 15 b=128 rows.
# BIN: the prebuilt harness (default .devstage/hb/harness_wide_s8b, else this script's folder). Whole run <= ~70 s.
# Candidates (VAR bits, see decode_sm90_wide.cu): x30 = v6 without evict-normal, x94 = x30 + L2 prefetch of the
# tile's page, x158 = x30 + L2 prefetch of the next tile's page, x286 = x30 + V_A[L] released before the wait for P_B,
# x350 = x94 + x286's bit, x542 = x30 + S's box walk unrolled, x1054 = x30 as 2-CTA clusters sharing each tile
# through TMA multicast (row-tile pairs: 128 and 256 rows only; its 64-row rows read 0.0 = not run). Predictions: docs/notes/cuda-hopper-decode.md, "Session 8b".
set -u
S=$SECONDS
here=$(cd "$(dirname "$0")" && pwd)
BIN=${BIN:-.devstage/hb/harness_wide_s8b}
[ -x "$BIN" ] || BIN=$here/harness_wide_s8b
[ -x "$BIN" ] || { echo "s8b: no harness binary ($BIN)"; exit 2; }
FJ=${1:-}
O=${2:-${OUT:-./out}/s8b}
mkdir -p "$O"
CANDS=${CANDS:-"x30 x94 x158 x286 x350 x542 x1054"}
PROCS=${CHECK_PROCS:-4}
N=${CHECK_N:-50}
echo "s8b: $(nvidia-smi --query-gpu=name,clocks.sm,clocks.mem,temperature.gpu --format=csv,noheader 2>/dev/null) bin=$BIN"

i=0
for k in $CANDS; do
  i=$((i + 1))
  n=$N; [ $k = x1054 ] && n=$((N * 3 / 2)) # it skips the 64- and 160-row shapes (a third of the cases)
  for j in $(seq 1 $PROCS); do
    ( CHECK_KERNEL=$k CHECK_CHUNK=10 timeout ${CHECK_TIMEOUT:-30} stdbuf -oL "$BIN" check $n $((100 * i + j)) > "$O/check_${k}_$j.log" 2>&1
      echo "rc=$?" >> "$O/check_${k}_$j.log" ) &
  done
done
# memcheck of x350 (prefetch + early release), x542 (unrolled) and x1054 (cluster), synccheck of x1054, beside the checks
for k in ${SAN_KS:-x350 x542 x1054}; do
  ( CHECK_KERNEL=$k timeout ${CHECK_TIMEOUT:-30} compute-sanitizer --tool memcheck "$BIN" check 4 7 > "$O/memcheck_$k.txt" 2>&1; echo "rc=$?" >> "$O/memcheck_$k.txt" ) &
done
( CHECK_KERNEL=x1054 timeout ${CHECK_TIMEOUT:-30} compute-sanitizer --tool synccheck "$BIN" check 4 8 > "$O/synccheck_x1054.txt" 2>&1; echo "rc=$?" >> "$O/synccheck_x1054.txt" ) &
wait
echo "s8b synccheck x1054: $(grep -E "ERROR SUMMARY|cases run" "$O/synccheck_x1054.txt" | tr '\n' ' ') $(tail -1 "$O/synccheck_x1054.txt")"
for k in ${SAN_KS:-x350 x542 x1054}; do echo "s8b memcheck $k: $(grep -E "ERROR SUMMARY|cases run" "$O/memcheck_$k.txt" | tr '\n' ' ') $(tail -1 "$O/memcheck_$k.txt"), $(grep -c "^========= [A-Z]" "$O/memcheck_$k.txt") tool lines"; done
# A candidate passes with every case that ran correct and no process ending otherwise than 0 or a time limit (124:
# the runs it finished still count; flagged).
pass=""
for k in $CANDS; do
  read -r ran failed worst <<< "$(awk '/cases run/ { r += $3; f += $6; w = ($10 + 0 > w) ? $10 + 0 : w } END { printf "%d %d %.3e", r, f, w }' "$O"/check_${k}_*.log)"
  rcs=$(grep -h "^rc=" "$O"/check_${k}_*.log | sort | uniq -c | tr '\n' ' ')
  other=$(grep -h "^rc=" "$O"/check_${k}_*.log | grep -v -E "^rc=(0|124)$" | wc -l)
  echo "s8b check $k: $ran cases, $failed failed, worst rel $worst; exits: $rcs"
  grep -h -E "^FAIL|\.cu.*:[0-9]+ " "$O"/check_${k}_*.log | head -3
  [ "$failed" = 0 ] && [ "$other" = 0 ] && [ "$ran" -ge 40 ] && pass="$pass $k"
done
for k in $CANDS; do
  cuobjdump -sass -fun mla_decode_sm90w_bf16_$k "$BIN" > "$O/sass.txt" 2>&1
  echo "s8b sass $k: HGMMA $(grep -c HGMMA "$O/sass.txt") UTMALDG $(grep -c UTMALDG "$O/sass.txt") LDL $(grep -c LDL "$O/sass.txt") STL $(grep -c STL "$O/sass.txt") UBLKPF $(grep -c UBLKPF "$O/sass.txt")"
done
grep -h "cluster launch" "$O"/check_x1054_1.log 2>/dev/null | head -1
echo "s8b [+$((SECONDS - S))s] checks done; timing lib x0$pass"

VARS="lib x0$pass" COMPARE=vars ROUNDS=${ROUNDS:-3} timeout ${TIME_TIMEOUT:-38} "$BIN" time "$O/time.json" > "$O/time.txt" 2>&1
echo "s8b [+$((SECONDS - S))s] timing rc=$?"; grep -h "cluster launch" "$O/time.txt" | head -1

python3 - "$O/time.txt" "$FJ" <<'P'
import json, math, re, sys
rows = [] # from the printed lines (flushed a configuration at a time, so a time limit keeps the finished ones)
for line in open(sys.argv[1]):
    m = re.match(r'vars b=(\d+) s_k=(\d+) h_q=(\d+) s_q=(\d+) rows=\d+(.*)', line)
    if not m: continue
    r = dict(b=int(m[1]), s_k=int(m[2]), h_q=int(m[3]), s_q=int(m[4]))
    for n, us in re.findall(r'\| (\S+)\s+([0-9.]+) us', m[5]): r[n + '_us'] = float(us)
    rows.append(r)
fm = {}
if sys.argv[2]:
    try:
        for r in json.load(open(sys.argv[2]))['rows']:
            if r.get('flashmla') and r['flashmla'].get('ms'):
                key = (r['b'], r['h_q'], r['s_q'], r.get('s_k') if r['b'] == 128 else None)
                fm[key] = r['flashmla']['ms'] * 1000
    except Exception as e:
        print('s8b: FlashMLA JSON not read:', e)
if not rows: sys.exit('s8b: no timing rows')
names = [k[:-3] for k in rows[0] if k.endswith('_us')]
others = [n for n in names if n != 'lib']
# Compact: FlashMLA and lib in microseconds, every other kernel as its speed against lib (lib_us / us; 0 = not run);
# the best kernel of the row with its speed against lib and FlashMLA. time.txt has every kernel's microseconds.
print('s_k   h_q s_q rows |  FM us | lib us  /FM | ' + ' '.join('%6s' % n for n in others) + ' | best: vs lib, vs FM')
gm = {n: [] for n in names}; gl = {n: [] for n in names}
for r in rows:
    f = fm.get((r['b'], r['h_q'], r['s_q'], r['s_k'] if r['b'] == 128 else None))
    for n in names:
        us = r[n + '_us']
        if r['b'] == 128 and us:
            gl[n].append(r['lib_us'] / us)
            if f: gm[n].append(f / us)
    best = min(names, key=lambda n: r[n + '_us'] or 1e9)
    sp = lambda n: '%6.3f' % (r['lib_us'] / r[n + '_us']) if r[n + '_us'] else '     -'
    print('%5s %4d %3d %4d | %6s | %6.1f %5s | %s | %s %.3f %s' % (r['s_k'] if r['b'] == 128 else 'unev', r['h_q'], r['s_q'], r['h_q'] * r['s_q'],
          '%.1f' % f if f else '-', r['lib_us'], '%.3f' % (f / r['lib_us']) if f else '', ' '.join(sp(n) for n in others), best,
          r['lib_us'] / r[best + '_us'], '%.3f' % (f / r[best + '_us']) if f else ''))
g = lambda v: math.exp(sum(map(math.log, v)) / len(v)) if v else float('nan')
print('geomean b=128 (%d rows) vs FlashMLA: ' % len(gm['lib']) + '  '.join('%s %.3f' % (n, g(gm[n])) for n in names))
print('geomean b=128 (%d rows) vs lib:      ' % len(gl['lib']) + '  '.join('%s %.3f' % (n, g(gl[n])) for n in names))
cr = [r for r in rows if r['b'] == 128 and r['h_q'] * r['s_q'] >= 128]
print('geomean 128/256 rows (%d) vs lib:    ' % len(cr) + '  '.join('%s %.3f' % (n, g([x['lib_us'] / x[n + '_us'] for x in cr])) for n in names))
P
echo "s8b [+$((SECONDS - S))s] end"
