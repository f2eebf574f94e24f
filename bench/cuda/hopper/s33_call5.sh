#!/usr/bin/env bash
# Session 33, call 5 (H200): SM (kNVarStMat, the library's bits | 512 = 587): the unsplit one-head item's output rows
# by stmatrix into staged rows and 1-KB bulk copies, a short epilogue (call 4: the 32-row end waits on instruction
# fetch). Its checks (sm90.test 100 random cases, memcheck / synccheck on four shapes), traces (x75 against xsm, 16 and
# 32 rows at s_k 1024), then arms A SM SM A on FlashMLA's nine 16 / 32-row b=128 rows under do_bench's protocol and from
# CUDA graphs. Rule: results/gpu-host/bench/hopper/s33/predictions.txt. Carry .ghc and .devstage (s33c5.tar.xz from
# s29_pack ... SM, harness_trace.xz):   OUT=$OUT bash bench/cuda/hopper/s33_call5.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s33c5.tar.xz}"
mkdir -p "$OUT/f"
s29_cfg n16 8 1000 16 1; s29_cfg n32 8 1000 16 2; s29_cfg n32b 3 1500 32 1; s29_cfg n32c 128 1024 32 1
for t in memcheck synccheck; do
  for c in n16 n32 n32b n32c; do
    echo "FLASHMLA_CUDA_KERNELS=dist-SM/cuda timeout -k 5 120 compute-sanitizer --tool $t --print-limit 50 ${CLI[*]} ${BQ[*]} --configs $OUT/f/c-$c.json --out $OUT/f/o-SM-$t-$c.json > $OUT/f/san-SM-$t-$c.txt 2>&1" >> "$OUT/jobs.txt"
  done
done
( FLASHMLA_CUDA_KERNELS=dist-SM/cuda FLASHMLA_SM90_CASES=100 timeout -k 5 200 node --test --test-reporter=tap build/test/gpu/sm90.test.js > "$OUT/f/sm90-SM.txt" 2>&1; echo "exit $?" >> "$OUT/f/sm90-SM.txt" ) &
s29_run_jobs 8
for f in "$OUT"/f/san-*.txt; do echo "$(basename "$f" .txt): $(grep -E 'ERROR SUMMARY' "$f" | tail -1)"; done
python3 - "$OUT/f" <<'P'
import json, glob, os, sys
for f in sorted(glob.glob(os.path.join(sys.argv[1], 'o-*.json'))):
    d = json.load(open(f)); print(os.path.basename(f), [(r['kernel'], r['check']['ok']) for r in d['rows']])
P
echo "sm90.test SM: $(grep -E '^# (pass|fail)|^not ok' "$OUT/f/sm90-SM.txt" | tr '\n' ' ')"
rm -f "$OUT"/f/*.svg
python3 -c 'import lzma,shutil; shutil.copyfileobj(lzma.open(".devstage/harness_trace.xz"), open(".devstage/harness_trace","wb"))' && chmod +x .devstage/harness_trace
mkdir -p "$OUT/f/tr"
for k in x75 xsm xsm x75; do
  for cfg in "128 1024 16 1" "128 1024 32 1"; do
    d="$OUT/f/tr/$k-${cfg// /_}-$RANDOM"; mkdir -p "$d"
    # shellcheck disable=SC2086
    TRACE_KERN=$k timeout -k 5 60 .devstage/harness_trace tracecall $cfg 12 "$d" > "$d/out.txt" 2>&1 || echo "trace $k $cfg rc $?"
    grep -v '^  rep ' "$d/out.txt" > "$d/o.txt"; mv "$d/o.txt" "$d/out.txt"; rm -f "$d"/*_tile.csv "$d"/*_entry.csv "$d"/*_cta.csv
  done
done
python3 - "$OUT/f/tr" <<'P'
import csv, glob, os, statistics as st, sys
for f in sorted(glob.glob(os.path.join(sys.argv[1], '*', '*_end.csv'))):
    rows = list(csv.DictReader(open(f)))
    def d(a, b): return st.median([int(r[a]) - int(r[b]) for r in rows if int(r[a]) > 0 and int(r[b]) > 0])
    ev = [l for l in open(os.path.join(os.path.dirname(f), 'out.txt')) if 'untraced' in l or 'decode last CTA end' in l]
    print(f.split('/')[-2][:24], 'cycles: merge-sums', d('merge_wg0', 'sums_wg0'), 'stores-merge', d('stores_wg0', 'merge_wg0'),
          '|', ' '.join(x.strip()[-40:] for x in ev))
P
ts "traces done"
tar czf "$OUT/s33c5-checks-traces.tgz" -C "$OUT" f && rm -rf "$OUT/f"; mkdir -p "$OUT/f"
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
  python3 bench/cuda/hopper/s29_ab_read.py "$OUT/f/ab-$tag" SM | tee "$OUT/f/ab-$tag.txt"
  rm -f "$OUT"/f/ab-$tag/*.svg
}
s33_arms flush "--flush-mb 256" A SM SM A
s33_arms graph "--graph-calls 10" A SM SM A
tar czf "$OUT/s33c5-arms.tgz" -C "$OUT" f && rm -rf "$OUT/f"
ts end
