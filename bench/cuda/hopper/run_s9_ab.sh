#!/bin/bash
# Session 9: one device round for the Hopper dense decode kernels (issue #12), from a staged worktree on the GPU host
# (repository root, .gpu-host entered, prebuilt harnesses in $HB, the library's kernels in dist/cuda, tests in build/):
#   bash bench/cuda/hopper/run_s9_ab.sh [steps]      default "check trace flashmla ab"; also "tests" (library GPU suites)
# check    harness random cases (float64 reference, NaN in unused slots, poisoned outputs), all in parallel: the narrow
#          kernel's library entry (NCASES, in NPROC processes) and its candidates (NCANDS), the wide kernel's library
#          entry and its candidates (WCANDS); memcheck + synccheck of lib and every candidate; SASS counts.
# tests    test/gpu/sm90.test.js and sm90-wide.test.js (goldens + CASES random each), beside the checks.
# trace    the narrow kernel's per-CTA timeline (harness_trace: b=1 s_k 32768 16 rows, b=128 s_k 1024 32 rows).
# flashmla FlashMLA 9241ae3 (bench_flashmla.py) on the A/B's configurations, alone on the GPU.
# tail     the library's narrow entry, b=1 s_k 32768 / 8192 and b=128 s_k 1024: decode, combine, both (harness tail).
# ab       narrow: AB_KERNS (lib = this tree, prev = d2023c2's decode_sm90.cu, xN = VAR bits) interleaved ROUNDS times
#          on b=1 s_k 32768 and b=128 s_k 1024 / 8192 x {16, 32, 16x2} rows; wide: WVARS (lib, v2 = d2023c2's
#          decode_sm90_wide.cu, xN) interleaved ROUNDS times on the 15 b=128 rows of >= 64 rows and the uneven batch;
#          then one table against FlashMLA.
# Every step has its own time limit; logs go to $O (default $OUT/s9). Whole run ~60-90 s.
set -u
S=$SECONDS
ts() { echo "[+$((SECONDS - S))s] $*"; }
HB=${HB:-build/hb}
O=${O:-${OUT:-./out}/s9}
mkdir -p "$O"
steps=${1:-"check trace flashmla ab"}
NCANDS=${NCANDS-x0}
WCANDS=${WCANDS-x31}
echo "s9: $(nvidia-smi --query-gpu=name,clocks.sm,clocks.mem,temperature.gpu --format=csv,noheader 2>/dev/null) HB=$HB"
has() { case " $steps " in *" $1 "*) return 0 ;; esac; return 1; }

if has check || has tests; then
  pids=""
  if has check; then
    for j in $(seq 1 ${NPROC:-3}); do
      ( timeout ${CHECK_S:-45} stdbuf -oL $HB/harness check ${NCASES:-120} $((500 + j)) > "$O/ncheck_lib_$j.log" 2>&1; echo "rc=$?" >> "$O/ncheck_lib_$j.log" ) &
      ( CHECK_CHUNK=10 timeout ${CHECK_S:-45} stdbuf -oL $HB/harness_wide check ${WCASES_N:-120} $((600 + j)) > "$O/wcheck_lib_$j.log" 2>&1; echo "rc=$?" >> "$O/wcheck_lib_$j.log" ) &
    done
    for k in $NCANDS; do
      ( CHECK_KERNEL=$k timeout ${CHECK_S:-45} stdbuf -oL $HB/harness check ${NCAND_N:-150} 701 > "$O/ncheck_$k.log" 2>&1; echo "rc=$?" >> "$O/ncheck_$k.log" ) &
    done
    for k in $WCANDS; do
      ( CHECK_KERNEL=$k CHECK_CHUNK=10 timeout ${CHECK_S:-45} stdbuf -oL $HB/harness_wide check ${WCAND_N:-150} 801 > "$O/wcheck_$k.log" 2>&1; echo "rc=$?" >> "$O/wcheck_$k.log" ) &
    done
    for k in ${SAN_N:-lib $NCANDS}; do
      for t in memcheck synccheck; do
        ( CHECK_KERNEL=$([ $k = lib ] || echo $k) timeout ${CHECK_S:-45} compute-sanitizer --tool $t --print-limit 5 $HB/harness check 3 9 > "$O/nsan_${t}_$k.txt" 2>&1; echo "rc=$?" >> "$O/nsan_${t}_$k.txt" ) &
      done
    done
    for k in ${SAN_W:-lib $WCANDS}; do
      for t in memcheck synccheck; do
        ( CHECK_KERNEL=$([ $k = lib ] || echo $k) timeout ${CHECK_S:-45} compute-sanitizer --tool $t --print-limit 5 $HB/harness_wide check 3 9 > "$O/wsan_${t}_$k.txt" 2>&1; echo "rc=$?" >> "$O/wsan_${t}_$k.txt" ) &
      done
    done
  fi
  if has tests; then
    ( export FLASHMLA_GOLDEN=${FLASHMLA_GOLDEN:-$PWD/test/fixtures/golden} FLASHMLA_SM90_CASES=${CASES:-100} FLASHMLA_SM90W_CASES=${CASES:-100}
      for t in sm90 sm90-wide; do timeout ${TEST_S:-55} node --test --test-reporter=tap build/test/gpu/$t.test.js > "$O/test-$t.tap" 2>&1 & done; wait ) &
  fi
  wait
  ts "checks done"
  for f in "$O"/ncheck_*.log "$O"/wcheck_*.log; do
    [ -f "$f" ] || continue
    echo "$(basename $f .log): $(grep -o '[0-9]* cases run, [0-9]* failed, worst rel [0-9.e+-]*' $f | awk '{ r += $1; f += $4; w = ($8 + 0 > w) ? $8 + 0 : w } END { printf "%d cases, %d failed, worst rel %.2e", r, f, w }') $(grep '^rc=' $f) $(grep -m2 '^FAIL' $f | tr '\n' ' ')"
  done
  for f in "$O"/nsan_*.txt "$O"/wsan_*.txt; do [ -f "$f" ] && echo "$(basename $f .txt): $(grep -E 'ERROR SUMMARY' $f | tail -1) $(grep -E 'cases run' $f | tail -1 | cut -c1-60) $(tail -1 $f)"; done
  for f in "$O"/test-*.tap; do [ -f "$f" ] && echo "$(basename $f): $(grep -E '^# (tests|pass|fail) ' $f | tr '\n' ' ') $(grep -E '^not ok' $f | head -3 | tr '\n' ' ')"; done
  if has check; then
    for fn in mla_decode_sm90_bf16_n16 mla_decode_sm90_bf16_n32 $(for k in $NCANDS; do echo mla_decode_sm90_${k}_bf16_n32; done); do
      cuobjdump -sass -fun $fn $HB/harness > "$O/sass.txt" 2>&1
      echo "sass $fn: HGMMA $(grep -c HGMMA $O/sass.txt) LDL $(grep -c LDL $O/sass.txt) STL $(grep -c STL $O/sass.txt) LDGSTS $(grep -c LDGSTS $O/sass.txt)"
    done
    for fn in mla_decode_sm90w_bf16 $(for k in $WCANDS; do echo mla_decode_sm90w_bf16_$k; done); do
      cuobjdump -sass -fun $fn $HB/harness_wide > "$O/sass.txt" 2>&1
      echo "sass $fn: HGMMA $(grep -c HGMMA $O/sass.txt) LDL $(grep -c LDL $O/sass.txt) STL $(grep -c STL $O/sass.txt)"
    done
    rm -f "$O/sass.txt"
  fi
fi

if has trace; then # the library's entry, then TRACE_ALSO (other -DMLA_SM90_LIB_VAR=n builds: harness_trace<n>)
  for tv in "" ${TRACE_ALSO:-}; do
    [ -x $HB/harness_trace$tv ] || continue
    timeout ${TRACE_S:-20} $HB/harness_trace$tv trace > "$O/trace$tv.txt" 2>&1; ts "trace$tv rc=$?"
    grep -E "^trace|median|tile:|tail" "$O/trace$tv.txt"
  done
fi

if has tail; then # the library's entry: decode alone, combine alone, both (back to back rotating over copies past the L2, and one at a time)
  timeout ${TAIL_S:-30} $HB/harness tail "$O/tail.json" > "$O/tail.txt" 2>&1; ts "tail rc=$?"
  grep -E "^tail|decode|combine" "$O/tail.txt" | head -12
fi

cat > "$O/cfg.json" <<'J'
[{"b":1,"s_k":32768,"h_q":16,"s_q":1},{"b":4,"seqlens":[4641,45118,1730,1696],"h_q":16,"s_q":4},
 {"b":128,"s_k":1024,"h_q":16,"s_q":1},{"b":128,"s_k":1024,"h_q":32,"s_q":1},{"b":128,"s_k":1024,"h_q":16,"s_q":2},
 {"b":128,"s_k":8192,"h_q":16,"s_q":1},{"b":128,"s_k":8192,"h_q":32,"s_q":1},{"b":128,"s_k":8192,"h_q":16,"s_q":2},
 {"b":128,"s_k":1024,"h_q":64,"s_q":1},{"b":128,"s_k":1024,"h_q":128,"s_q":1},{"b":128,"s_k":1024,"h_q":128,"s_q":2},
 {"b":128,"s_k":8192,"h_q":64,"s_q":1},{"b":128,"s_k":8192,"h_q":128,"s_q":1},{"b":128,"s_k":8192,"h_q":128,"s_q":2}]
J
if has flashmla; then
  FJ=${FJ:-$O/flashmla.json}
  if [ ! -s "$FJ" ]; then
    PYTHONUNBUFFERED=1 timeout ${FLASHMLA_S:-50} python3 .gpu-host/anchors/bench_flashmla.py --configs "$O/cfg.json" --no-triton --out "$FJ" > "$O/flashmla.log" 2>&1
    ts "flashmla rc=$?"
  fi
fi

if has ab; then
  AB_KERNS=${AB_KERNS:-"lib prev $NCANDS"} ROUNDS=${ROUNDS:-3} timeout ${AB_S:-25} $HB/harness ab "$O/ab_narrow.json" > "$O/ab_narrow.txt" 2>&1; ts "narrow ab rc=$?"
  [ "${AB_WIDE:-1}" = 1 ] && VARS=${WVARS:-"lib v2 $WCANDS"} COMPARE=vars ROUNDS=${ROUNDS:-3} timeout ${WAB_S:-40} $HB/harness_wide time "$O/ab_wide.json" > "$O/ab_wide.txt" 2>&1; ts "wide ab rc=$?"
  python3 - "$O/ab_narrow.txt" "$O/ab_wide.txt" "${FJ:-$O/flashmla.json}" <<'P'
import json, math, re, sys
fm = {}
try:
    for r in json.load(open(sys.argv[3]))['rows']:
        key = (r['b'], r['h_q'], r['s_q'], r.get('s_k') if r['b'] != 4 else None)
        fm[key] = r['flashmla']['ms'] * 1000
except Exception as e:
    print('s9: FlashMLA JSON not read:', e)
g = lambda v: math.exp(sum(map(math.log, v)) / len(v)) if v else float('nan')
import os
for path, pat in ((sys.argv[1], r'ab b=(\d+) s_k=(\d+) h_q=(\d+) s_q=(\d+) rows=\d+(.*)'), (sys.argv[2], r'vars b=(\d+) s_k=(\d+) h_q=(\d+) s_q=(\d+) rows=\d+(.*)')):
    rows = []
    for line in (open(path) if os.path.exists(path) else []):
        m = re.match(pat, line)
        if not m: continue
        r = dict(b=int(m[1]), s_k=int(m[2]), h_q=int(m[3]), s_q=int(m[4]), us={})
        for n, us in re.findall(r'\| (\S+)\s+([0-9.]+) us', m[5]): r['us'][n] = float(us)
        rows.append(r)
    if not rows: print('s9: no rows in', path.split('/')[-1]); continue
    names = list(rows[0]['us'])
    print('%-28s | %7s | %s' % ('config (' + path.split('/')[-1] + ')', 'FM us', ' | '.join('%-15s' % (n + ' us /FM /lib') for n in names)))
    gm = {n: [] for n in names}
    for r in rows:
        key = (r['b'], r['h_q'], r['s_q'], r['s_k'] if r['b'] != 4 else None)
        f = fm.get(key)
        lib = r['us'][names[0]]
        cells = []
        for n in names:
            u = r['us'][n]
            cells.append('%7.1f %s %s' % (u, '%.3f' % (f / u) if f and u else '  -  ', '%.3f' % (lib / u) if u else '-'))
            if f and u and r['b'] == 128: gm[n].append(f / u)
        print('%-28s | %7s | %s' % ('b=%d s_k=%s h_q=%d s_q=%d' % (r['b'], r['s_k'] if r['b'] != 4 else 'unev', r['h_q'], r['s_q']), '%.1f' % f if f else '-', ' | '.join(cells)))
    print('geomean vs FlashMLA over the %d b=128 rows it was timed on: ' % len(gm[names[0]]) + '  '.join('%s %.3f' % (n, g(gm[n])) for n in names))
    gl = {n: [r['us'][names[0]] / r['us'][n] for r in rows if r['b'] == 128 and r['us'][n]] for n in names}
    print('geomean vs %s over the %d b=128 rows: ' % (names[0], len(gl[names[0]])) + '  '.join('%s %.3f' % (n, g(gl[n])) for n in names))
P
fi
ts end
