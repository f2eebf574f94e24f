#!/usr/bin/env bash
# Session 60, call 2 (issue #13; ran as call 3 on an H200 through s60_any.sh; outcome: nothing accumulates in a process,
# the slow readings were the card's idle clock — docs/notes/webgpu-matrix-gemm.md, "Session 60, call 3"): call 1 (s59_call3.sh) found the in-process slowdown to be the process's, not the
# card's: the SM clock held 1980 MHz, only the idle throttle reason appeared, and forms that read 10-44 TFLOPS late in the
# sweep read 55-131 each in a process of its own. This call finds what in a process brings it on
# (scripts/webgpu-drift-probe.ts, one process per plan, nvidia-smi sampling clocks and the device's memory in use):
#   P1 "c w g c w g ... c w s c w n c w g c w": gemm form 4 (131 TFLOPS alone) with the copy between, timed both by
#      timestamps (c) and by the host's clock (w: a slower device, or slower timestamps?), then idle, then a new Dawn
#      device in the same process;
#   P2 twelve copies alone (1 GiB allocated and freed each), c and w alternating;  P3 gemm form 0 eight times, the copy last;
#   P4 the register MAC and FMA ceilings between copies (no large buffers);
#   then the gemm probe's set 3, each form alone (around form 4: split, pad, 4 subgroups, 64 x 128 and 256 x 128 tiles);
#   P5 the WebGPU decode grid (bench/webgpu-grid-configs.json, chained x10) with the copy before and after (the bench now
#      measures it after its rows: ceilings.copy_after_GBps).
# Predictions (written before the run): P1 slows after 3-4 gemms (as both sweeps) and a new device restores it; P2 holds
# (the copy alone never slowed in session 43's grids); P4 holds; P5's copy after within 10% of before (session 43's
# rows show no fall along the grid).
#   (here)   s29_pack .devstage/s60b.tar.xz
# SKIP_GRID=1 leaves P5 out (a record call just before it ran the grid with the same copy-after measurement).
#   (device) ln -sfn .ghc .gpu-host && BUDGET=300 OUT=$OUT bash bench/cuda/hopper/s60_call2.sh > $OUT/log.txt 2>&1
source bench/cuda/hopper/s50_common.sh && PACK=${PACK:-.devstage/s60b.tar.xz} s50_setup s60c2 # (W, CLI, ts, lim)
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,memory.used,clocks_throttle_reasons.active --format=csv,noheader -lms 100 > "$W/smi.csv" 2>&1 &
smi=$!
probe() { # NAME FORM PLAN (its output cut at 30 lines)
  timeout -k 5 "$(lim 60)" node build/scripts/webgpu-drift-probe.js --form "$2" --plan "$3" --out "$W/$1.json" > "$W/$1.txt" 2>&1
  echo "$1 rc $? (form $2: $3)"; sed 's/^/  /' "$W/$1.txt" | cut -c1-160 | head -30; sleep 2
}
probe p1 4 "c w g c w g c w g c w g c w g c w s c w n c w g c w"
probe p2 4 "c w c w c w c w c w c w"
probe p3 0 "g g g g g g g g c"
probe p4 4 "c m c f c m c"
ts "probes"
# The probe's set 3 (forms around set 2's form 4, the best alone), each form in a process of its own.
for i in 0 1 2 3 4 5 6; do
  timeout -k 5 "$(lim 25)" node build/scripts/webgpu-matrix-gemm-probe.js --set 3 --only $i --no-smem --no-copy --out "$W/set3-$i.json" > "$W/set3-$i.txt" 2>&1
  echo "set3 $i rc $?: $(python3 -c 'import json,sys; g=json.load(open(sys.argv[1]))["gemm"][0]; print(g.get("tile"), g.get("subgroupsM"), g.get("subgroupsN"), g.get("lefts"), g.get("rights"), g.get("kStep"), g.get("pad"), round(g.get("TFLOPS", 0), 1), g.get("ok"), g.get("error", "")[:120])' "$W/set3-$i.json" 2>&1 | tail -1)"
done
ts "set 3"
[ -z "${SKIP_GRID:-}" ] && timeout -k 5 "$(lim 200)" node scripts/flashmla-dist.mjs build/src bench --backend webgpu --configs bench/webgpu-grid-configs.json \
  --warmup 2 --reps 10 --check 1 --chain-calls 10 --out "$W/p5-grid.json" > "$W/p5-grid.txt" 2>&1
echo "p5 grid rc $?"; grep -aE 'ceilings:|copy after|\[(1|8|16|17|24|25|26)/' "$W/p5-grid.txt" | cut -c1-200
ts "grid"
kill $smi
python3 - "$W" <<'P'
import json, sys, os, glob, datetime
w = sys.argv[1]
smi = []
for l in open(os.path.join(w, 'smi.csv')):
    x = [v.strip() for v in l.split(',')]
    if len(x) < 6 or not x[1].split()[0].isdigit(): continue
    t = datetime.datetime.strptime(x[0], '%Y/%m/%d %H:%M:%S.%f').replace(tzinfo=datetime.timezone.utc)
    smi.append((t.timestamp() * 1e3, int(x[1].split()[0]), int(x[4].split()[0]), x[5]))
print('smi samples', len(smi), 'memory.used MiB max', max((s[2] for s in smi), default=0), 'throttle reasons', sorted(set(s[3] for s in smi)))
for f in sorted(glob.glob(os.path.join(w, 'p[1-4].json'))):
    d = json.load(open(f)); t0 = datetime.datetime.fromisoformat(d['date'].replace('Z', '+00:00')).timestamp() * 1e3
    print(os.path.basename(f), d['plan'])
    for s in d['steps']:
        a, b = t0 + s['t_ms'], t0 + s['t_ms'] + s['ms']
        inside = [x for x in smi if a <= x[0] <= b]
        clk = sorted(x[1] for x in inside); mem = [x[2] for x in inside]
        print(f"  {s['t_ms']:>7} ms {s['step']} {s['value']} {s['unit']}: sm clock {clk[len(clk) // 2] if clk else '-'} (min {clk[0] if clk else '-'}), device memory used {max(mem) if mem else '-'} MiB")
P
tar czf "$OUT/s60c2.tgz" -C "$W" .
ts end
