#!/usr/bin/env bash
# Session 33, call 3 (H200): is the <= 32-row kernel's item end (call 2: ~3000 / ~5900 cycles from the merge's end to
# the stores issued, 16 / 32 rows, the same with the rows staged and sent by bulk copies) the global write path? Traces
# (harness_trace tracecall, x75 = the library's bits) of the normal build and of a -DMLA_SM90_DIAG_NOSTORE build (the
# unsplit output rows not stored: WRONG output, timing only), 16 and 32 rows at s_k 1024 and 32 rows at s_k 4096,
# alternated. No pack: carry .devstage (harness_trace.xz, harness_trace_ns.xz) only.
#   OUT=$OUT bash bench/cuda/hopper/s33_call3.sh
set -uo pipefail
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu --format=csv,noheader 2>/dev/null
for b in harness_trace harness_trace_ns; do
  python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1] + ".xz"), open(sys.argv[1], "wb"))' ".devstage/$b" && chmod +x ".devstage/$b"
done
mkdir -p "$OUT/f/tr"
for b in harness_trace harness_trace_ns harness_trace_ns harness_trace; do
  for cfg in "128 1024 16 1" "128 1024 32 1" "128 4096 32 1"; do
    d="$OUT/f/tr/$b-${cfg// /_}-$RANDOM"; mkdir -p "$d"
    # shellcheck disable=SC2086
    TRACE_KERN=x75 timeout -k 5 60 ".devstage/$b" tracecall $cfg 12 "$d" > "$d/out.txt" 2>&1 || echo "trace $b $cfg rc $?"
    echo "$b $cfg: $(grep -E 'untraced' "$d/out.txt" | sed 's/.*untraced/untraced/') | $(grep -E "event \(e0|decode CTA end \(median\)|decode last CTA end|last tile O\^T done \(median" "$d/out.txt" | tail -4 | tr -s ' ' | tr '\n' ';')"
  done
done
python3 - "$OUT/f/tr" <<'P'
import csv, glob, os, statistics as st, sys
for f in sorted(glob.glob(os.path.join(sys.argv[1], '*', '*_end.csv'))):
    rows = list(csv.DictReader(open(f)))
    def d(a, b): return st.median([int(r[a]) - int(r[b]) for r in rows if int(r[a]) > 0 and int(r[b]) > 0])
    print(f.split('/')[-2][:34], 'cycles: merge-sums', d('merge_wg0', 'sums_wg0'), 'stores-merge', d('stores_wg0', 'merge_wg0'),
          'end0-o1', d('end_wg0', 'o_wg1'))
P
find "$OUT/f/tr" -name '*_tile.csv' -delete; find "$OUT/f/tr" -name '*_entry.csv' -delete
tar czf "$OUT/s33c3-traces.tgz" -C "$OUT" f && rm -rf "$OUT/f"
