#!/usr/bin/env bash
# (Session 12: the converter-fed design, bits 65536 .. 67108864, was removed from dense_fp8_sm90.cu after probe4; this script builds it only from commits up to 431fcc5.)
# Session 11 round 4 (helper h3): the next session's first dense FP8 slot, <= 60 s warm on the GPU host, from the
# repository root with .gpu-host/enter.sh sourced, dist/cuda (the shipped kernels) and build/ (tsc) in place, and the
# prebuilt fatbins in $HB (default .devstage/s11-h3-r4; sha256 in its dense_fp8_sm90_README.txt; a missing one ab.sh
# builds with nvcc, ~10-15 s each, which would overrun the slot).
#   HB=$PWD/.devstage/s11-h3-r4 OUT=$OUT/h3 bash bench/cuda/dense-fp8/probe4.sh
# The three-part probe of docs/notes/cuda-dense-fp8.md ("Plan for the next session", step 1; predictions in "Round 4"):
#   (a) v67305472 = 196608 + 67108864: the converters keep only the ring's protocol -> the consumers' own floor
#   (b) v7536640  = 3342336 + 4194304: no loads, idle consumers, relaxed arrivals without proxy fence / __syncwarp
#       -> the converters' floor without the per-step release
#   (c) ncu on v3342336 (no loads, idle consumers; 8192 x 16): stall reasons per SASS instruction, so the converter
#       warps' own (the consumers only wait); and cuobjdump -sass of v2293760 (loads on, consumers idle): where the
#       converter loop uses each 16-byte load.
# All measurement-only (WRONG RESULTS by design, timed without checks) in one process with the shipped build, v196608
# (the converter-fed reference) and bf16. Nothing here can ship. Prints ab.sh's lines, the table, `decision: ...` (step 2
# of the plan) right after the timing (~10 s), then the ncu summary and SASS counts (~25-35 s); $OUT/h3r4-ncu.tgz holds
# the ncu report, its source page as CSV and the SASS.
set -uo pipefail
OUT=${OUT:-/tmp}
mkdir -p "$OUT"
export HB=${HB:-.devstage/s11-h3-r4}
T0=$SECONDS
MEASURE="196608 3342336 67305472 7536640" OUT=$OUT TIME_TIMEOUT=${TIME_TIMEOUT:-20} bash bench/cuda/dense-fp8/ab.sh " "
echo "[probe4 $((SECONDS - T0))s] timing done"
python3 - "$OUT/dense-fp8-ab.json" <<'PY'
import json, sys
try:
    j = json.load(open(sys.argv[1]))
except OSError:
    print("decision: none (no timing JSON)"); sys.exit(0)
b = {x["name"]: x["us"] for x in j["builds"]}
sh = j["shapes"]
names = {"v196608": "converter-fed reference (hi + lo P)", "v3342336": "converters' floor (no loads, idle consumers)",
         "v67305472": "(a) consumers alone (converters: protocol only)", "v7536640": "(b) floor without fences / __syncwarp"}
print("build".ljust(11), "what".ljust(48), " ".join(s.rjust(10) for s in sh), "| us a tile at 8192x16 (/124)")
print("bf16".ljust(11), "".ljust(48), " ".join(f"{u:10.1f}" for u in j["bf16_us"]), f"| {j['bf16_us'][0] / 124:.2f}")
for n in ["shipped"] + list(names):
    if n not in b: print(n.ljust(11), "not timed"); continue
    print(n.ljust(11), names.get(n, "").ljust(48), " ".join(f"{u:10.1f}" for u in b[n]), f"| {b[n][0] / 124:.2f}")
a, f, fb = b.get("v67305472", [float("nan")])[0], b.get("v3342336", [float("nan")])[0], b.get("v7536640", [float("nan")])[0]
print(f"# (a) consumers' floor {a / 124:.2f} us a tile, (b)/floor {fb / f:.2f} at 8192x16")
if not a == a:
    print("decision: none ((a) not timed)")
elif a > 190:
    print(f"decision: DROP the converter-fed family for issue #14 (consumers alone {a:.0f} us > 190 us = 1.6x bf16); back to the alternating design")
else:
    need = "the per-step release (fence / __syncwarp): one release a tile" if fb <= 0.8 * f else "a second converter warpgroup (latency) or fewer instructions a byte (issue): read (c)"
    print(f"decision: KEEP the family (consumers alone {a:.0f} us <= 190); the converters need ~{f / 190:.1f}x: {need}")
PY
N=$OUT/ncu; mkdir -p "$N"
if [ -d /tmp/dab-v3342336 ]; then
  timeout -k 3 ${NCU_TIMEOUT:-35} ncu --target-processes all --kernel-name regex:mla_dense_fp8_sm90 --launch-skip 2 --launch-count 1 \
    --section SpeedOfLight --section WarpStateStats --section SchedulerStats --section SourceCounters -f -o "$N/v3342336" \
    node build/bench/cuda/dense-fp8/ab.js v3342336=/tmp/dab-v3342336 --ncu --shapes 8192x16x1 > "$N/ncu-run.txt" 2>&1
  echo "[probe4 $((SECONDS - T0))s] ncu rc $?"
  if [ -s "$N/v3342336.ncu-rep" ]; then
    timeout 8 ncu -i "$N/v3342336.ncu-rep" --page details > "$N/details.txt" 2>&1
    timeout 8 ncu -i "$N/v3342336.ncu-rep" --page source --csv --print-source sass > "$N/source.csv" 2> "$N/source.err" ||
      timeout 8 ncu -i "$N/v3342336.ncu-rep" --page source --csv > "$N/source.csv" 2>> "$N/source.err"
    grep -E 'Duration|Issue Slots Busy|No Eligible|Warp Cycles Per Issued|Active Warps Per Scheduler|Eligible Warps' "$N/details.txt" | tr -s ' ' | head -8
    python3 - "$N/source.csv" <<'PY'
import csv, sys
# Top SASS instructions by warp stall samples (the consumers of v3342336 only wait on barriers, so the rest is the
# converter warps'), and the stall columns summed over the converter-looking instructions (shared stores, conversions,
# fences, mbarrier arrivals) against the waits.
try:
    rows = list(csv.reader(open(sys.argv[1], newline="")))
except OSError as e:
    print("ncu source page: unreadable", e); sys.exit(0)
hi = next((i for i, r in enumerate(rows) if any("Source" == c.strip() for c in r) and len(r) > 4), None)
if hi is None:
    print("ncu source page: no header; first lines:", rows[:3]); sys.exit(0)
h = [c.strip() for c in rows[hi]]
src = h.index("Source")
num = lambda x: float(x.replace(",", "")) if x.strip().replace(",", "").replace(".", "", 1).isdigit() else 0.0
body = [r for r in rows[hi + 1:] if len(r) == len(h)]
allc = next((i for i, c in enumerate(h) if c.startswith("Warp Stall Sampling (All")), None)
stall = [i for i, c in enumerate(h) if "stall" in c.lower() and i != allc and not c.startswith("Warp Stall Sampling (")]
if not stall:
    stall = [i for i, c in enumerate(h) if c.startswith("Warp Stall Sampling (") and i != allc and "Not-issued" not in c and "Not-Issued" not in c]
print(f"# ncu source page: {len(body)} SASS lines, {len(h)} columns; stall columns: {len(stall)}")
if allc is None:
    print("# columns:", h); sys.exit(0)
tot = sum(num(r[allc]) for r in body) or 1.0
top = sorted(body, key=lambda r: -num(r[allc]))[:30]
for r in top:
    reasons = sorted(((num(r[i]), h[i]) for i in stall if num(r[i]) > 0), reverse=True)[:3]
    print(f"{num(r[allc]) / tot * 100:5.1f}%  {r[src].strip()[:64]:64s} " + ", ".join(f"{n} {v:.0f}" for v, n in reasons))
op = lambda t: (t.split()[1:2] if t.strip().startswith("@") else t.split()[0:1]) or [""]
cv = ("STS", "F2FP", "HMUL2", "HFMA2", "PRMT", "LOP3", "FENCE", "MEMBAR", "SYNCS.ARRIVE", "WARPSYNC")
grp = {"converter-like": [r for r in body if op(r[src])[0].startswith(cv)],
       "barrier waits (SYNCS / BAR / try_wait loops)": [r for r in body if op(r[src])[0].startswith(("SYNCS.PHASECHK", "BAR", "NANOSLEEP"))]}
for name, rs in grp.items():
    s = sum(num(r[allc]) for r in rs)
    agg = sorted(((sum(num(r[i]) for r in rs), h[i]) for i in stall), reverse=True)[:6]
    print(f"# {name} instructions: {s / tot * 100:.1f} % of samples; top reasons: " + ", ".join(f"{n} {v:.0f}" for v, n in agg))
PY
  fi
else
  echo "ncu: skipped (no /tmp/dab-v3342336: ab.sh did not stage it)"
fi
if [ -s "$HB/dense_fp8_sm90_v2293760.fatbin" ]; then
  cuobjdump -sass "$HB/dense_fp8_sm90_v2293760.fatbin" > "$N/sass-v2293760.txt" 2>&1
  echo "sass v2293760: $(wc -l < "$N/sass-v2293760.txt") lines; LDG $(grep -c 'LDG' "$N/sass-v2293760.txt"), STS.128 $(grep -c 'STS.128' "$N/sass-v2293760.txt"), FENCE $(grep -c 'FENCE' "$N/sass-v2293760.txt"), SYNCS.ARRIVE $(grep -c 'SYNCS.ARRIVE' "$N/sass-v2293760.txt")"
fi
tar czf "$OUT/h3r4-ncu.tgz" -C "$OUT" ncu && rm -rf "$N"
echo "[probe4 $((SECONDS - T0))s] ncu + sass done"
echo "[probe4 $((SECONDS - T0))s] end"
