#!/usr/bin/env bash
# Session 38, call 6 (H200): where small 16-row steps spend their fixed time. ncu's gpu__time_duration of every decode
# and merge launch of the library (one process a shape: 2 warm-up + 3 timed calls, each launch serialized by ncu, caches
# as the previous launch left them) at b=1 s_k 32768, b=10 s_k 3000, b=9 s_k 1536, b=5 s_k 3000, b=16 s_k 1024 (h_q 16
# s_q 1). No kernel changes; the reading and its prediction: results/gpu-host/bench/hopper/s38/predictions.txt.
# Pack: the library's (s29_pack); carry .ghc and .devstage:   OUT=$OUT bash bench/cuda/hopper/s38_call6.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s38c6.tar.xz}"
mkdir -p "$OUT/f/ncu"
for cfg in "1 32768" "10 3000" "9 1536" "5 3000" "16 1024"; do
  set -- $cfg; name="b$1-s$2"
  echo "[{\"b\": $1, \"s_k\": $2, \"h_q\": 16, \"s_q\": 1}]" > "$OUT/f/ncu/$name.json"
  timeout -k 5 100 ncu --cache-control none --clock-control none --metrics gpu__time_duration.sum,sm__cycles_elapsed.max -k regex:mla_ --csv --page raw \
    "${CLI[@]}" bench --backend cuda --configs "$OUT/f/ncu/$name.json" --reps 3 --warmup 2 --check 0 --warm-ms 0 --idle-warm-ms 0 -q \
    > "$OUT/f/ncu/$name.csv" 2> "$OUT/f/ncu/$name.err" || echo "$name rc $?"
  ts "$name"
done
python3 - "$OUT/f/ncu" <<'P'
import csv, glob, io, os, sys, statistics
for f in sorted(glob.glob(os.path.join(sys.argv[1], '*.csv'))):
    text = open(f).read()
    start = text.find('"ID"')
    if start < 0: print(os.path.basename(f), 'no rows'); continue
    rows = list(csv.DictReader(io.StringIO(text[start:])))
    unit = next((r.get('gpu__time_duration.sum') for r in rows if not r.get('ID', '').isdigit()), '?')
    rows = [r for r in rows if r.get('ID', '').isdigit()]
    scale = {'nsecond': 1e-3, 'usecond': 1.0, 'msecond': 1e3}.get(unit, float('nan'))
    by = {}
    for r in rows:
        by.setdefault(r['Kernel Name'], []).append((float(r['gpu__time_duration.sum']), float(r['sm__cycles_elapsed.max'])))
    out = []
    for k, v in by.items():
        last = v[-3:]
        out.append(f"{k} x{len(v)}: last 3 median {statistics.median(t for t, _ in last) * scale:.2f} us ({unit}), {statistics.median(c for _, c in last):.0f} cycles")
    print(os.path.basename(f)[:-4], '|', ' | '.join(out))
P
tar czf "$OUT/s38c6.tgz" -C "$OUT" f
ts end
