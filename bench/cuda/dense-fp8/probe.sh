#!/usr/bin/env bash
# (Session 12: the converter-fed design, bits 65536 .. 67108864, was removed from dense_fp8_sm90.cu after probe4; this script builds it only from commits up to 431fcc5.)
# Session 11 round 2 (helper h3): why the converter-fed design (DenseFp8Cv, bit 65536) ran 2.8x slower than predicted,
# in one slot of <= 60 s on the GPU host, from the repository root with .gpu-host/enter.sh sourced, dist/cuda (the
# shipped kernels) and build/ in place, and the prebuilt fatbins in $HB (default .devstage/hb-h3r2; sha256 in its
# dense_fp8_sm90_README.txt; a missing one ab.sh builds with nvcc, ~15 s each, which would overrun the slot).
#   HB=$PWD/.devstage/hb-h3r2 OUT=$OUT/h3 bash bench/cuda/dense-fp8/probe.sh
# Builds (docs/notes/cuda-dense-fp8.md, "Session 11, round 2"), all timed in one process with the shipped build and bf16:
#   v196608  the converter-fed design as measured (hi + lo P), the reference of the probes
#   v2293760 probe: consumers idle (wait for a tile's chunks, release them)       -> the converters' own pace
#   v1245184 probe: converters load nothing (words from registers)              -> the cost of their memory accesses
#   v4390912 probe: converters release with a relaxed arrival, no proxy fence   -> does the per-step release wait for loads?
#   v3342336 probe: 1048576 + 2097152 (no loads, idle consumers)               -> the converters' issue + sync floor
#   v6488064 probe: 4194304 + 2097152 (relaxed releases, idle consumers)        -> the converters' memory path alone
#   v16973824 probe: v4390912 + the proxy fence back                           -> does the fence wait for the loads?
#   v33751040 probe: v4390912 + the release arrival back                        -> does the release arrival wait?
#   v8585216 candidate: one release a tile (correct; 32 rows the converter design at 1 step in flight)
#   v8617984 ship candidate: 8585216 + 32768 (32 rows: v31296, the shipped 32-row code, byte-identical .text)
# Checks (the two candidates only): CASES (60) dense90 cases in two shards each; then, for v8617984, compute-sanitizer
# memcheck and synccheck on 2 cases. Prints ab.sh's lines, the probe table against v196608, `cause: ...`, and last
# `SHIP v8617984` or `KEEP the shipped build (why)`.
set -uo pipefail
OUT=${OUT:-/tmp}
mkdir -p "$OUT"
export HB=${HB:-.devstage/hb-h3r2}
export CHECK_TIMEOUT=${CHECK_TIMEOUT:-18} TIME_TIMEOUT=${TIME_TIMEOUT:-18} # (worst case, all three cut: ~62 s; expected ~30 s)
T0=$SECONDS
PROBES="196608 2293760 1245184 4390912 3342336 6488064 16973824 33751040"
CAND="8617984"
CASES=${CASES:-60} MEASURE="$PROBES" OUT=$OUT bash bench/cuda/dense-fp8/ab.sh "8585216 $CAND"
echo "[probe $((SECONDS - T0))s] ab.sh done"
d=/tmp/dab-v$CAND
san=""
if [ -s "$d/dense_fp8_sm90.fatbin" ]; then
  for t in memcheck synccheck; do
    FLASHMLA_CUDA_KERNELS=$d timeout -k 2 ${SAN_TIMEOUT:-14} compute-sanitizer --tool $t node build/test/gpu/sparse-count.js 2 cuda dense90 > "$OUT/probe-$t.txt" 2>&1 &
  done
  wait
  for t in memcheck synccheck; do
    r=$(tail -2 "$OUT/probe-$t.txt" | tr '\n' ' '); echo "v$CAND $t: $r"
    echo "$r" | grep -qE 'dense90: ([1-9][0-9]*)/\1 pass.*ERROR SUMMARY: 0 errors' && san="$san $t"
  done
fi
echo "[probe $((SECONDS - T0))s] sanitizers done"
python3 - "$OUT/dense-fp8-ab.json" "$CAND" "$san" <<'PY'
import json, sys
try:
    j = json.load(open(sys.argv[1]))
except OSError:
    print("cause: unknown (no timing: ab.sh's timing process did not write its JSON)")
    print("KEEP the shipped build (nothing timed)"); sys.exit(0)
cand, san = "v" + sys.argv[2], sys.argv[3].split()
b = {x["name"]: x for x in j["builds"]}
shapes = j["shapes"]
ref = b.get("v196608")
names = {"v2293760": "consumers idle", "v1245184": "no converter loads", "v4390912": "relaxed releases",
         "v3342336": "no loads + consumers idle", "v6488064": "relaxed releases + consumers idle",
         "v16973824": "4390912 + fence (relaxed arrival)", "v33751040": "4390912 + release arrival (no fence)",
         "v8585216": "one release a tile", cand: "one release a tile + v31296 at 32 rows"}
if ref is None:
    print("cause: unknown (v196608 not timed)"); ref = {"us": [float("nan")] * len(shapes)}
print("build".ljust(11), "what".ljust(40), " ".join(s.rjust(10) for s in shapes), "| x v196608 at", shapes[0], shapes[1])
for n in ["shipped", "v196608"] + list(names):
    if n not in b: print(n.ljust(11), "not timed"); continue
    us = b[n]["us"]
    print(n.ljust(11), names.get(n, "").ljust(40), " ".join(f"{u:10.1f}" for u in us), f"| {us[0] / ref['us'][0]:.2f} {us[1] / ref['us'][1]:.2f}")
r = lambda n: b[n]["us"][0] / ref["us"][0] if n in b else float("nan")
idle, noload, norel = r("v2293760"), r("v1245184"), r("v4390912")
print(f"# 8192x16x1 relative to v196608: consumers idle {idle:.2f}, no loads {noload:.2f}, relaxed releases {norel:.2f}")
if noload <= 0.6 and norel <= 0.6:
    print("cause: the converters' per-step release (proxy fence + mbarrier.arrive) waits for their loads in flight: one memory round trip a step")
elif noload <= 0.6:
    print("cause: the converters' loads are exposed, but not by the release (scoreboards / latency): next, raw pages by bulk copy")
elif noload > 0.85:
    print("cause: the converters' own issue (conversion, stores, fences, arrivals), not memory" + (" and the consumers are idle-insensitive" if idle > 0.85 else ""))
else:
    print("cause: mixed (see the table; no single probe recovers >= 40 %)")
fo, ao = r("v16973824"), r("v33751040")
if norel <= 0.6:
    which = "the release arrival" if fo <= 0.6 < ao else "the proxy fence" if ao <= 0.6 < fo else "each of them alone" if fo > 0.6 and ao > 0.6 else "neither alone (the pair, or __syncwarp)"
    print(f"# relaxed + fence {fo:.2f}, relaxed -> release arrival {ao:.2f}: what waits for the loads is {which}")
if idle < 0.85:
    print("note: with idle consumers the converters run >= 15 % faster: the consumers' chain or the ring holds them too")
c = b.get(cand)

if c is None:
    print(f"KEEP the shipped build ({cand} failed its dense90 checks or was not timed)"); sys.exit(0)
g, worst = c["geomean_vs_shipped"], min(c["vs_shipped"])
print(f"# {cand}: geomean {g:.3f} vs shipped, worst shape {worst:.3f}; sanitizers passed: {' '.join(san) or 'none'}")
if g >= 1.02 and worst >= 0.99 and set(san) == {"memcheck", "synccheck"}:
    print(f"SHIP {cand}")
else:
    print(f"KEEP the shipped build ({cand}: geomean {g:.3f}, worst {worst:.3f}, sanitizers {' '.join(san) or 'none'}; needs >= 1.02, >= 0.99, both)")
PY
echo "[probe $((SECONDS - T0))s] end"
