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
# Predictions and rules: results/gpu-host/bench/hopper/s33/predictions.txt. Carry .ghc and .devstage
# (s33c1.tar.xz from s29_pack ... PR S22 EN SO, harness_trace.xz):   OUT=$OUT bash bench/cuda/hopper/s33_call1.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s33c1.tar.xz}"
# 1. PR's checks (in the background beside the sanitizers)
mkdir -p "$OUT/f"
s29_cfg n16 8 1000 16 1; s29_cfg n32 8 1000 16 2; s29_cfg n32b 3 1500 32 1
s29_cfg n32c 128 1024 32 1
for v in PR SO; do
  for t in memcheck synccheck; do
    for c in n16 n32 n32b n32c; do
      echo "FLASHMLA_CUDA_KERNELS=dist-$v/cuda timeout -k 5 120 compute-sanitizer --tool $t --print-limit 50 ${CLI[*]} ${BQ[*]} --configs $OUT/f/c-$c.json --out $OUT/f/o-$v-$t-$c.json > $OUT/f/san-$v-$t-$c.txt 2>&1" >> "$OUT/jobs.txt"
    done
  done
  ( FLASHMLA_CUDA_KERNELS=dist-$v/cuda FLASHMLA_SM90_CASES=100 timeout -k 5 200 node --test --test-reporter=tap build/test/gpu/sm90.test.js > "$OUT/f/sm90-$v.txt" 2>&1; echo "exit $?" >> "$OUT/f/sm90-$v.txt" ) &
done
s29_run_jobs 8
for f in "$OUT"/f/san-*.txt; do echo "$(basename "$f" .txt): $(grep -E 'ERROR SUMMARY' "$f" | tail -1)"; done
python3 - "$OUT/f" <<'P'
import json, glob, os, sys
for f in sorted(glob.glob(os.path.join(sys.argv[1], 'o-*.json'))):
    d = json.load(open(f)); print(os.path.basename(f), [(r['kernel'], r['check']['ok']) for r in d['rows']])
P
for v in PR SO; do echo "sm90.test $v: $(grep -E '^# (pass|fail)|^not ok' "$OUT/f/sm90-$v.txt" | tr '\n' ' ')"; done
for f in "$OUT"/f/san-*.txt "$OUT"/f/o-*.json; do xz -T4 "$f" 2>/dev/null || gzip "$f"; done
tar czf "$OUT/s33c1-checks.tgz" -C "$OUT" f && rm -rf "$OUT/f"; mkdir -p "$OUT/f"
# 2. the arms, a protocol each
C=$OUT/f/n9.json
echo '[{"b":128,"s_k":1024,"h_q":16,"s_q":1},{"b":128,"s_k":1024,"h_q":16,"s_q":2},{"b":128,"s_k":1024,"h_q":32,"s_q":1},{"b":128,"s_k":4096,"h_q":16,"s_q":1},{"b":128,"s_k":4096,"h_q":16,"s_q":2},{"b":128,"s_k":4096,"h_q":32,"s_q":1},{"b":128,"s_k":8192,"h_q":16,"s_q":1},{"b":128,"s_k":8192,"h_q":16,"s_q":2},{"b":128,"s_k":8192,"h_q":32,"s_q":1}]' > "$C"
s33_arms() { # TAG "BENCH ARGS" ARM...
  local tag=$1 args=$2 i=0 arm k f; shift 2
  mkdir -p "$OUT/f/ab-$tag"
  for arm in "$@"; do
    i=$((i + 1)); k=dist/cuda; [ "$arm" != A ] && k=dist-$arm/cuda
    # shellcheck disable=SC2086
    FLASHMLA_CUDA_KERNELS=$k timeout -k 5 100 "${CLI[@]}" bench --backend cuda --configs "$C" --reps 30 --check 1 -q $args --out "$OUT/f/ab-$tag/ab-$i-$arm.json" > "$OUT/f/ab-$tag/ab-$i-$arm.txt" 2>&1 || echo "ab $tag $arm rc $?"
  done
  ts "arms $tag"
  for f in "$OUT"/f/ab-$tag/ab-*-A.json; do mv "$f" "${f%-A.json}-ship.json"; done
  python3 bench/cuda/hopper/s29_ab_read.py "$OUT/f/ab-$tag" $(printf '%s\n' "$@" | grep -vx A | awk '!s[$0]++') | tee "$OUT/f/ab-$tag.txt"
  rm -f "$OUT"/f/ab-$tag/*.svg
}
s33_arms flush "--flush-mb 256" A S22 PR EN SO SO EN PR S22 A
s33_arms graph "--graph-calls 10" A PR SO SO PR A
tar czf "$OUT/s33c1-arms.tgz" -C "$OUT" f && rm -rf "$OUT/f"; mkdir -p "$OUT/f"
# 3. traces of the library's narrow entries (x75), one cold call at a time
python3 -c 'import lzma,shutil; shutil.copyfileobj(lzma.open(".devstage/harness_trace.xz"), open(".devstage/harness_trace","wb"))' && chmod +x .devstage/harness_trace
mkdir -p "$OUT/f/tr"
for cfg in "128 1024 16 1" "128 1024 32 1" "128 4096 16 1" "128 4096 32 1"; do
  # shellcheck disable=SC2086
  TRACE_KERN=x75 timeout -k 5 60 .devstage/harness_trace tracecall $cfg 12 "$OUT/f/tr" > "$OUT/f/tr/${cfg// /_}.txt" 2>&1 || echo "trace $cfg rc $?"
  grep -A22 "medians" "$OUT/f/tr/${cfg// /_}.txt" | head -22
done
python3 - "$OUT/f/tr" <<'P'
import csv, glob, os, statistics as st, sys
for f in sorted(glob.glob(os.path.join(sys.argv[1], '*_end.csv'))):
    rows = list(csv.DictReader(open(f)))
    def d(a, b): return st.median([int(r[a]) - int(r[b]) for r in rows if int(r[a]) > 0 and int(r[b]) > 0])
    print(os.path.basename(f), 'cycles: sums-lastO', d('sums_wg0', 'o_wg1'), 'merge-sums', d('merge_wg0', 'sums_wg0'),
          'stores-merge', d('stores_wg0', 'merge_wg0'), 'o1-o0', d('o_wg1', 'o_wg0'), 'end-stores', d('end_wg0', 'stores_wg0'))
P
ts "traces done"
tar czf "$OUT/s33c1-traces.tgz" -C "$OUT" f && rm -rf "$OUT/f"; mkdir -p "$OUT/f"
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
tar czf "$OUT/s33c1-ncu.tgz" -C "$OUT" f && rm -rf "$OUT/f"
ts end
