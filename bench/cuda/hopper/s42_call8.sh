#!/usr/bin/env bash
# Session 42, call 8 (H200): does the host keep a WebGPU decode call's GPU busy, and at which clock do the calls run?
# bench/webgpu/submit-rate.ts (b=1 s_k 32768 / 4096, b=128 s_k 1024; 16 heads) with nvidia-smi's clocks every 20 ms.
#   OUT=$OUT bash bench/cuda/hopper/s42_call8.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_unpack "${PACK:-.devstage/s42c8.tar.xz}"
W=/tmp/s42-c8; rm -rf $W; mkdir -p $W
for i in 1 2; do
  nvidia-smi --query-gpu=timestamp,pstate,clocks.sm,clocks.mem,utilization.gpu,power.draw --format=csv,noheader -lms 20 > $W/smi-$i.csv 2>&1 &
  SMI=$!
  timeout -k 5 120 node build/bench/webgpu/submit-rate.js --calls 2000 --json $W/rate-$i.json > $W/rate-$i.txt 2>&1
  echo "== rate $i rc $?"; kill $SMI; wait $SMI 2>/dev/null
  grep -E "^\{" $W/rate-$i.txt
  cp $W/rate-$i.txt $W/prof-$i.txt
  python3 - "$W/smi-$i.csv" "$W/prof-$i.txt" <<'P'
import sys, datetime, collections
rows = []
for l in open(sys.argv[1]):
    f = [x.strip() for x in l.split(',')]
    if len(f) < 6: continue
    try: t = datetime.datetime.strptime(f[0], '%Y/%m/%d %H:%M:%S.%f')
    except ValueError: continue
    rows.append((t, f[1], f[2], f[3], f[4], f[5]))
marks = []
for l in open(sys.argv[2]):
    if l.startswith('phase '):
        parts = l.split(); what, iso = ' '.join(parts[1:-1]), parts[-1]
        marks.append((what, datetime.datetime.strptime(iso.replace('Z', ''), '%Y-%m-%dT%H:%M:%S.%f')))
# nvidia-smi prints local time; the marks are UTC: align by the offset that is a whole number of hours
off = datetime.timedelta(0)
if rows and marks:
    d = (rows[0][0] - marks[0][1]).total_seconds(); off = datetime.timedelta(hours=round(d / 3600))
for k, (what, t0) in enumerate(marks):
    t1 = marks[k + 1][1] if k + 1 < len(marks) else t0 + datetime.timedelta(seconds=5)
    sel = [r for r in rows if t0 + off <= r[0] < t1 + off]
    c = collections.Counter((r[1], r[2], r[3]) for r in sel)
    print('clocks', what, len(sel), 'samples:', ', '.join(f'{p} {s} / {m} x{n}' for (p, s, m), n in c.most_common(4)))
P

done
tar czf "$OUT/s42c8.tgz" -C $W .
