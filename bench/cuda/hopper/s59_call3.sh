#!/usr/bin/env bash
# Session 59, call 3 (issue #13): call 2 read the best staged gemm form at 116 TFLOPS first and 25 last in one process,
# and the copy ceiling at 2807 GB/s first and 1506 last: the card or the process slowed down during the sweep. This call
# samples the SM clock, power and throttle reasons every 100 ms beside the same sweep (set 2), then runs each form of
# set 2 in a process of its own.
# Predictions (written before the run): if the clock falls during the sweep (a power or thermal slowdown), the
# per-process forms agree with the first ones of the sweep; if the clock holds, the slowdown is the process's (Dawn).
#   (here)   s29_pack .devstage/s59c3.tar.xz
#   (device) ln -sfn .ghc .gpu-host && BUDGET=200 OUT=$OUT bash bench/cuda/hopper/s59_call3.sh > $OUT/log.txt 2>&1
source bench/cuda/hopper/s50_common.sh && PACK=${PACK:-.devstage/s59c3.tar.xz} s50_setup s59c3 # (W, CLI, ts, lim)
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,temperature.gpu,clocks_throttle_reasons.active --format=csv,noheader -lms 100 > "$W/smi.csv" 2>&1 &
smi=$!
timeout -k 5 "$(lim 60)" node build/scripts/webgpu-matrix-gemm-probe.js --set 2 --no-smem --copy-first --out "$OUT/sweep.json" > "$W/sweep.txt" 2>&1; echo "sweep rc $?"
sleep 2
for i in 0 1 3 4 5 6 9 11; do
  timeout -k 5 "$(lim 30)" node build/scripts/webgpu-matrix-gemm-probe.js --set 2 --only $i --no-smem --no-copy --out "$OUT/only-$i.json" > "$W/only-$i.txt" 2>&1; echo "only $i rc $?"
done
kill $smi
python3 - "$OUT" "$W/smi.csv" <<'P'
import json, sys, glob, os
out = sys.argv[1]
r = json.load(open(os.path.join(out, 'sweep.json')))
print('sweep', 'copy first / last', r.get('copyFirst'), r.get('copy'))
for g in r['gemm']:
    print('  sweep', g.get('source', 'workgroup'), 'b1' if g.get('oneBuffer') else 'b2', g['subgroupsM'], g['subgroupsN'], g['lefts'], g['rights'], g['kStep'], g['pad'], g['stages'], round(g.get('TFLOPS', 0), 1), g.get('ok'))
for f in sorted(glob.glob(os.path.join(out, 'only-*.json'))):
    q = json.load(open(f))
    for g in q.get('gemm', []):
        print('  alone', os.path.basename(f), g.get('source', 'workgroup'), 'b1' if g.get('oneBuffer') else 'b2', g['subgroupsM'], g['subgroupsN'], g['lefts'], g['rights'], g['kStep'], g['pad'], round(g.get('TFLOPS', 0), 1), g.get('ok'))
rows = [l.strip().split(', ') for l in open(sys.argv[2]) if l.count(',') >= 5]
sm = [int(x[1].split()[0]) for x in rows if x[1].split()[0].isdigit()]
thr = sorted(set(x[5] for x in rows))
print('smi samples', len(rows), 'sm clock min / max', min(sm, default=0), max(sm, default=0), 'throttle reasons seen', thr)
P
tar czf "$OUT/s59c3.tgz" -C "$W" .
ts end
