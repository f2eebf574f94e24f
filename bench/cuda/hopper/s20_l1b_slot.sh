#!/usr/bin/env bash
# Session 20, call K (the lead): sparse bit 8 (s20-l1's lazy reference maximum) on the h_q 64 shapes, after call J passed
# its checks and memchecks on the same fatbin. docs/notes/cuda-sparse-decode.md, "Session 20, call J measured": the rule,
# written before this run. Stage and prologue as s20_l1_slot.sh (.devstage/s20-l1, the sparse goldens not needed).
#   OUT=$OUT timeout 75 bash bench/cuda/hopper/s20_l1b_slot.sh          (~50 s warm)
# Last line: `SHIP 6881325685400201992 (...)` or `KEEP 6881325685400201736 (...)`.
set -uo pipefail
OUT=${OUT:?}; S=$SECONDS; mkdir -p "$OUT"; : > "$OUT/log.txt"; ts() { echo "[+$((SECONDS - S))s] $*" | tee -a "$OUT/log.txt"; }
SHIP=6881325685400201736; CAND=6881325685400201992
STAGE=${STAGE:-.devstage/s20-l1}; HB=/tmp/s20l1b-hb; END=${END:-70}
FM=${FM:-results/gpu-host/bench/hopper/s18_callA/flashmla-sparse.json}
FMV=${FMV:-results/gpu-host/bench/hopper/s16_callF/flashmla-sparse-v32h64.json}
. bench/cuda/hopper/sparse-sm90-modes.sh # sparse_slot_*, slot_left, slot_cap
tar xJf "$STAGE/build.tar.xz" || ts "build/: STAGED FILE MISSING (the tree's own build/ is used)"
sparse_slot_stage "$STAGE" $HB $SHIP $SHIP $CAND
sparse_slot_base $HB $SHIP
K=/tmp/s20l1b-k; rm -rf $K
mkdir -p $K/m$CAND && cp dist/cuda/* $K/m$CAND/ && sparse_sm90_swap $HB/sparse_sm90_m$CAND.fatbin $K/m$CAND
for set in m1h64 v32h64; do
  fm=$FM; [ $set = v32h64 ] && fm=$FMV
  k=1
  for order in "shipped=$PWD/dist/cuda m$CAND=$K/m$CAND" "m$CAND=$K/m$CAND shipped=$PWD/dist/cuda"; do
    timeout -k 2 $(slot_cap 16) node build/bench/cuda/hopper/sparse-sm90-final-ab.js "$fm" $order --shapes $set --reps 10 \
      --rounds 3 --json "$OUT/ab-$set-$k.json" > "$OUT/time-$set-$k.txt" 2>&1
    ts "$set run $k (${order%%=*} first): rc=$?"; grep -v '^\[+' "$OUT/time-$set-$k.txt" | tee -a "$OUT/log.txt"
    k=2
  done
done
python3 - "$OUT" $SHIP $CAND <<'PY' | tee "$OUT/rule.txt" | tee -a "$OUT/log.txt"
import json, math, sys
out, ship, cand = sys.argv[1], sys.argv[2], sys.argv[3]
def ratios(path):
    # {shape: cand / shipped} from one sparse-sm90-final-ab.js JSON (rows with per-build medians)
    j = json.load(open(path)); us = {b['name']: b['us'] for b in j['builds']}
    a, c = us.get('shipped'), us.get('m' + cand)
    return {s: y / x for s, x, y in zip(j['shapes'], a or [], c or []) if x and y}
g = lambda xs: math.exp(sum(map(math.log, xs)) / len(xs)) if xs else float('nan')
try:
    m = [ratios(f'{out}/ab-m1h64-{k}.json') for k in (1, 2)]
    v = [ratios(f'{out}/ab-v32h64-{k}.json') for k in (1, 2)]
except Exception as e:
    print(f'KEEP {ship} (a run is missing: {e})'); sys.exit()
m64 = [s for s in m[0] if 'h64' in s]
pool = lambda runs, keys: {s: math.sqrt(runs[0][s] * runs[1][s]) for s in keys if s in runs[0] and s in runs[1]}
pm, pv = pool(m, m64), pool(v, list(v[0]))
gm, gv = g(list(pm.values())), g(list(pv.values()))
runs_m = [g([r[s] for s in m64 if s in r]) for r in m]
worst = max(list(pm.values()) + list(pv.values()) or [float('nan')])
print(f'MODEL1 h_q 64 pooled {gm:.4f} ({" ".join(f"{pm[s]:.3f}" for s in pm)}; runs {runs_m[0]:.4f} / {runs_m[1]:.4f}); '
      f'V3.2 h_q 64 pooled {gv:.4f} ({" ".join(f"{pv[s]:.3f}" for s in pv)}); worst shape {worst:.3f}')
ok = len(pm) == 4 and len(pv) == 4 and gm <= 0.98 and gv <= 1.005 and worst <= 1.01 and max(runs_m) <= 0.99
print(f'SHIP {cand} (MODEL1 h_q 64 {gm:.4f}, V3.2 h_q 64 {gv:.4f})' if ok else f'KEEP {ship} (MODEL1 h_q 64 {gm:.4f}, V3.2 h_q 64 {gv:.4f}, worst {worst:.3f}, runs {runs_m})')
PY
rm -rf $K $HB
