#!/usr/bin/env bash
# Session 20's dense FP8 probe of helper s20-f2 (<= 45 s warm; ~20-30 s expected; measurement only, nothing can ship):
# where the fixed ~25 us of 8192x16x1 goes. docs/notes/cuda-dense-fp8.md, "Session 20, f2": the offline reading, the
# prediction and this rule, written before any run. From the tree's root (branch s20-f2 merged) on the GPU host with
# .gpu-host/enter.sh sourced, dist/cuda = any shipped set (only its non-dense fatbins and manifest are used), build/ =
# tsc of main (session 19's end or later), and the stage in $HB (default .devstage/s20-f2: dense_fp8_sm90_stamp0.fatbin =
# the shipped v250691201304128, byte-identical to s20-h3's; dense_fp8_sm90_stamp1.fatbin = the same with
# -DMLA_DFP8_STAMP=1; build/bench/cuda/dense-fp8/s20_f2_stamps.js, tsc of this branch; sha256 in its README):
#   OUT=$OUT/f2 timeout 45 bash bench/cuda/dense-fp8/s20_f2.sh 2>&1 | tee $OUT/f2-s20.txt
# Three kernel folders (pick-checks.sh w3Folder): ship (the shipped code, dispatch 48), ship0 (the shipped code, every
# 16-row launch on n16w3), stamp0 (the stamp build, every 16-row launch on n16w3). One process (s20_f2_stamps.js)
# times them and the bf16 path (on ship's backend) at b 128 on 8192 x 16 x 1, 8192 x 32 x 1, 64 / 1024 / 2048 / 4096 x 16 x 1
# (events, medians of 3 x 10), then runs stamp0 once a shape and splits its time per part from the stamps. The last line: `KEEP the shipped build (probe
# only: ...)` with the largest piece of the 8192x16x1 fixed part; never SHIP.
set -uo pipefail
OUT=${OUT:-/tmp}; mkdir -p "$OUT"
HB=${HB:-$PWD/.devstage/s20-f2}
T0=$SECONDS; el() { echo "[s20-f2 $((SECONDS - T0))s] $*"; }
here=$(dirname "${BASH_SOURCE[0]}")
S0=$HB/dense_fp8_sm90_stamp0.fatbin S1=$HB/dense_fp8_sm90_stamp1.fatbin JS=build/bench/cuda/dense-fp8/s20_f2_stamps.js
for f in "$S0" "$S1" "$HB/$JS"; do [ -f "$f" ] || { echo "KEEP the shipped build (probe only: no $f)"; exit 0; }; done
sha256sum "$S0" "$S1" "$HB/$JS" | sed "s#$HB/##"
echo "stamp0 (shipped bits) vs dist/cuda: $(python3 scripts/compare-fatbins.py "$S0" dist/cuda/dense_fp8_sm90.fatbin 2>&1 | tail -1)"
. "$here/pick-checks.sh"
w3Folder /tmp/f2-ship 48 "$S0"; w3Folder /tmp/f2-ship0 0 "$S0"; w3Folder /tmp/f2-stamp0 0 "$S1"
added=0; [ -f $JS ] || { cp "$HB/$JS" $JS; added=1; }
trap '[ $added = 1 ] && rm -f $JS' EXIT
el "folders ready"
timeout -k 3 ${F2_TIMEOUT:-38} node $JS ship=/tmp/f2-ship ship0=/tmp/f2-ship0 stamp0=/tmp/f2-stamp0 \
  --shapes ${F2_SHAPES:-8192x16x1,8192x32x1,64x16x1,1024x16x1,2048x16x1,4096x16x1} --json "$OUT/f2-stamps.json" > "$OUT/f2-stamps.txt" 2>&1
rc=$?
cat "$OUT/f2-stamps.txt" | cut -c1-400
el "stamps rc $rc"
python3 - "$OUT/f2-stamps.json" <<'PY'
import json, sys
try:
    j = json.load(open(sys.argv[1]))
except Exception as e:
    print(f"KEEP the shipped build (probe only: no result, {e})"); sys.exit(0)
by = {s["shape"]: s for s in j["shapes"]}
for name, s in by.items():
    if "split" not in s: continue
    us = dict(zip(s["builds"], s["us"]))
    print(f"# {name}: bf16 {s.get('bf16Us', float('nan')):.1f} ship {us.get('ship', float('nan')):.1f} ship0 {us['ship0']:.1f} stamp0 {us['stamp0']:.1f} us "
          f"(stamp0 / ship0 {us['stamp0'] / us['ship0']:.3f}); steady {s['rate']:.3f} us a tile x {s['tiles']} -> fixed {s['fixed']:.1f}: "
          + ", ".join(f"{k} {v:.1f}" for k, v in s["split"].items()))
s = by.get("8192x16x1")
if not s or "split" not in s:
    print("KEEP the shipped build (probe only: 8192x16x1 not split)"); sys.exit(0)
k, v = max(s["split"].items(), key=lambda kv: kv[1])
rest = s["fixed"] - sum(s["split"].values())
print(f"KEEP the shipped build (probe only: 8192x16x1 fixed {s['fixed']:.1f} us of {s['us'][s['builds'].index('stamp0')]:.1f}; "
      f"largest piece {k} {v:.1f} us; unassigned {rest:.1f})")
PY
