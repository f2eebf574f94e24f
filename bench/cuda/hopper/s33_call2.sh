#!/usr/bin/env bash
# Session 33, call 2 (H200): is the <= 32-row kernel's item end on the call's critical path? Call 1: SO (kNVarStOut,
# the output rows staged and sent by bulk copies) was level in both protocols though the 2-byte stores take 3000 /
# 5850 cycles of a CTA's end at 16 / 32 rows. Here: traces of x75 (the library's bits) and xso (+ kNVarStOut), 16 and
# 32 rows at s_k 1024, alternated; then arms under do_bench's protocol on FlashMLA's nine 16 / 32-row rows: A, S19
# (diagnostic: the 16-row ring cut to 19 slots, ~the bytes in flight the 32-row ring leaves while its consumers hold
# their tiles), and A, EN, EN, A from graphs (EN's flush result was +3-13 % at 16 rows, -2-4 % at 32 rows s_k 8192).
# Predictions: results/gpu-host/bench/hopper/s33/predictions.txt. Carry .ghc and .devstage (s33c2.tar.xz from
# s29_pack ... EN S19, harness_trace.xz):   OUT=$OUT bash bench/cuda/hopper/s33_call2.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s33c2.tar.xz}"
python3 -c 'import lzma,shutil; shutil.copyfileobj(lzma.open(".devstage/harness_trace.xz"), open(".devstage/harness_trace","wb"))' && chmod +x .devstage/harness_trace
mkdir -p "$OUT/f/tr"
for k in x75 xso xso x75; do
  for cfg in "128 1024 16 1" "128 1024 32 1"; do
    d="$OUT/f/tr/$k-${cfg// /_}-$RANDOM"; mkdir -p "$d"
    # shellcheck disable=SC2086
    TRACE_KERN=$k timeout -k 5 60 .devstage/harness_trace tracecall $cfg 12 "$d" > "$d/out.txt" 2>&1 || echo "trace $k $cfg rc $?"
    echo "$k $cfg: $(grep -E 'untraced|event \(e0' "$d/out.txt" | tail -2 | tr -s ' ' | tr '\n' ' ')"
    grep -E "decode CTA end \(median\)|decode last CTA end|last tile O\^T done \(median" "$d/out.txt" | tail -3 | tr -s ' ' | tr '\n' ';'; echo
  done
done
python3 - "$OUT/f/tr" <<'P'
import csv, glob, os, statistics as st, sys
for f in sorted(glob.glob(os.path.join(sys.argv[1], '*', '*_end.csv'))):
    rows = list(csv.DictReader(open(f)))
    def d(a, b): return st.median([int(r[a]) - int(r[b]) for r in rows if int(r[a]) > 0 and int(r[b]) > 0])
    print(f.split('/')[-2][:22], 'cycles: merge-sums', d('merge_wg0', 'sums_wg0'), 'stores-merge', d('stores_wg0', 'merge_wg0'),
          'end0-o1', d('end_wg0', 'o_wg1'), 'end1-o1', d('end_wg1', 'o_wg1'))
P
ts "traces done"
find "$OUT/f/tr" -name '*_tile.csv' -delete; find "$OUT/f/tr" -name '*_entry.csv' -delete
tar czf "$OUT/s33c2-traces.tgz" -C "$OUT" f && rm -rf "$OUT/f"; mkdir -p "$OUT/f"
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
s33_arms flush "--flush-mb 256" A S19 S19 A
s33_arms graph "--graph-calls 10" A EN EN A
tar czf "$OUT/s33c2-arms.tgz" -C "$OUT" f && rm -rf "$OUT/f"
ts end
