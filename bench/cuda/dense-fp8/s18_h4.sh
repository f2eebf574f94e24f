#!/usr/bin/env bash
# Session 18's dense FP8 slot (helper s18-h4; <= 90 s warm, ~35-45 s expected, ~60-75 s with the ncu step): three consumer warpgroups at 16 rows
# (dense_fp8_sm90.cu bit 2199023255552; docs/notes/cuda-dense-fp8.md, "Session 18 (helper s18-h4)") against the
# shipped v2550171200 and bf16. From the merged tree's root on the GPU host with .gpu-host/enter.sh sourced, dist/cuda
# (the shipped kernels) and build/ (tsc) in place, the stage in $HB (default .devstage/s18-h4: the prebuilt fatbins
# dense_fp8_sm90_v{2550171200,2201573426752}.fatbin and the three tsc outputs of the launch path under build/, sha256
# in its README):
#   OUT=$OUT/h4 timeout 90 bash bench/cuda/dense-fp8/s18_h4.sh 2>&1 | tee $OUT/h4-s18.txt
# 0. The launch path: the candidate's 16-row entry takes 512 threads, which the library learns from the kernel folder's
#    manifest.json (denseFp8Sm90Threads16, written by ab.sh for a build with the bit). The stage's index.js, sparse.js
#    and kernels/dense-fp8-sm90-launch.js (tsc of this branch) replace build/src/backends/cuda's for the run and the
#    originals come back on exit (a build/ of the merged tree has them already: the copy is then the same code).
# 1. ab.sh: v2550171200 (shipped bits) vs dist/cuda must print SAME CODE; CASES (120) random dense90 cases of the
#    candidate (two shards); one process times shipped, bf16 and the candidate (b = 128; 8192 x 16x1 / 32x1 / 16x2,
#    1024 x 16x1 / 32x1).
# 2. The rule (written in the note before any run): t = candidate us / shipped us per shape. Eligible when its 120 cases
#    passed and t(8192x16x1) <= 0.93, t(1024x16x1) <= 1.00 and the three 32-row shapes (8192x32x1, 8192x16x2,
#    1024x32x1: the same 32-row code, SAME CODE .text) t <= 1.02. Then 240 dense90 cases (4 shards), memcheck and
#    synccheck on 3 cases (0 errors) and racecheck's class rule (pick-checks.sh raceGate: no hazard class the shipped
#    build does not show). The extra checks run whenever the candidate was timed (for the record if not eligible);
#    never on a candidate that failed ab.sh's cases (a hung kernel would overrun the budget).
# 3. Diagnostic, never gating: ncu on the candidate (8192x16x1) if it was timed and >= 35 s of the budget are left.
# Last line: `SHIP v2201573426752` or `KEEP the shipped build (why)`.
# Round 2 (s18_h4r2.sh) runs this script with V (the candidate's bits), HB (its stage), LIM (the rule's limits, shape=t
# pairs), W3ALL=1 (the extra checks on a copy of the candidate's folder whose manifest sends every 16-row launch to the
# n16w3 entry: denseFp8Sm90W3Tiles 0), H4_NCU=0 with DIAG_SHAPES (step 3 times shipped against that copy at those
# shapes instead of ncu) and STALLS=1 (then ncu's stall reasons of the shipped n16 and of n16w3); unset, they are call G's.
# Session 19's s19_fp8.sh adds EXTRA_VARS (see VARS below).
set -uo pipefail
V=${V:-2201573426752}
LIM=${LIM:-8192x16x1=0.93 1024x16x1=1.00 8192x32x1=1.02 8192x16x2=1.02 1024x32x1=1.02}
VARS="$V ${EXTRA_VARS:-}" # (EXTRA_VARS: more builds checked and timed beside V by ab.sh, for the record; the rule reads V only)
OUT=${OUT:-/tmp}
mkdir -p "$OUT"
export HB=${HB:-$PWD/.devstage/s18-h4}
T0=$SECONDS
J=build/src/backends/cuda
keep=$(mktemp -d)
for f in index.js sparse.js kernels/dense-fp8-sm90-launch.js; do
  mkdir -p "$keep/$(dirname $f)"; cp "$J/$f" "$keep/$f" && cp "$HB/$J/$f" "$J/$f" || { echo "KEEP the shipped build (no $HB/$J/$f)"; exit 0; }
done
trap 'for f in index.js sparse.js kernels/dense-fp8-sm90-launch.js; do cp "$keep/$f" "$J/$f"; done; rm -rf "$keep"' EXIT
for v in 2550171200 $V; do
  [ -f "$HB/dense_fp8_sm90_v$v.fatbin" ] && python3 bench/cuda/hopper/sass_opclass.py "$HB/dense_fp8_sm90_v$v.fatbin" | sed "s/^opclass /sass v$v: /"
done
CASES=${CASES:-120} CHECK_TIMEOUT=${CHECK_TIMEOUT:-30} TIME_TIMEOUT=${TIME_TIMEOUT:-35} MEASURE= OUT=$OUT bash bench/cuda/dense-fp8/ab.sh "$VARS"
echo "[s18-h4 $((SECONDS - T0))s] ab.sh done"
pick=$(python3 - "$OUT/dense-fp8-ab.json" "v$V" "$LIM" <<'PY'
import json, sys
try:
    j = json.load(open(sys.argv[1]))
except OSError:
    print("none"); sys.exit(0)
sh = j["shapes"]
by = {b["name"]: b for b in j["builds"]}
s, c = by.get("shipped"), by.get(sys.argv[2])
err = sys.stderr
print("# shape: bf16 / shipped / candidate us; candidate / shipped; candidate x bf16 (bf16 us / us; issue #14 wants >= 1.6)", file=err)
if not s or not c:
    print(f"# {sys.argv[2]}: not timed (checks failed or timing did not finish)", file=err); print("none"); sys.exit(0)
t = {k: cu / su for k, cu, su in zip(sh, c["us"], s["us"])}
for k, bu, su, cu in zip(sh, j["bf16_us"], s["us"], c["us"]):
    print(f"#   {k}: {bu:.1f} / {su:.1f} / {cu:.1f} us; {cu / su:.3f}; {bu / cu:.2f}x bf16 (shipped {bu / su:.2f}x)", file=err)
lim = {k: float(x) for k, x in (w.split("=") for w in sys.argv[3].split())}
bad = [f"{k} {t[k]:.3f} > {x}" for k, x in lim.items() if not t[k] <= x]
print(f"# {sys.argv[2]}: " + ("eligible" if not bad else "not eligible: " + ", ".join(bad)), file=err)
print("none" if bad else sys.argv[2])
PY
)
# The extra checks run on the candidate whenever it was timed (its 120 cases passed, so it does not hang): for the
# record when the timing rule fails, gating when it passes.
ok=0 timed=0; grep -q "\"v$V\"" "$OUT/dense-fp8-ab.json" 2>/dev/null && timed=1
echo "pick: $pick"
if [ $timed = 1 ]; then
  . "$(dirname "${BASH_SOURCE[0]}")/pick-checks.sh"
  c=v$V d=/tmp/dab-v$V
  if [ "${W3ALL:-0}" = 1 ]; then # every 16-row launch on n16w3 (the dispatch build's three-consumer entry)
    c=v${V}all d=/tmp/dab-v${V}all; rm -rf $d; cp -r /tmp/dab-v$V $d
    python3 -c "import json,sys; f=sys.argv[1]; j=json.load(open(f)); j['denseFp8Sm90W3Tiles']=0; json.dump(j,open(f,'w'),indent=1)" $d/manifest.json
  fi
  SAN_CASES=3 pickChecks s18h4 "$c" "$d"
  raceGate
  echo "[s18-h4 $((SECONDS - T0))s] checks of $c done"
fi
if [ "$pick" = none ] || [ -z "$pick" ]; then verdict="KEEP the shipped build (v$V did not pass the rule above)"
elif [ $ok = 1 ]; then verdict="SHIP $pick"
else verdict="KEEP the shipped build ($pick failed the checks above)"; fi
# 3. Diagnostic only (never gating): ncu on the candidate at 8192x16x1 when it was timed (so it does not hang) and the
#    budget allows (started by 45 s, at most 35 s): issue busy, active / eligible warps a scheduler, DRAM throughput —
#    whether the next limit is issue or the 4-page ring. Report in $OUT/ncu-v$V.txt.
left=$((80 - (SECONDS - T0)))
if [ $timed = 1 ] && [ "${H4_NCU:-1}" = 0 ] && [ -n "${DIAG_SHAPES:-}" ]; then
  timeout -k 3 25 node build/bench/cuda/dense-fp8/ab.js shipped=$PWD/dist/cuda ${c}=$d --no-bf16 --shapes "$DIAG_SHAPES" > "$OUT/diag-$c.txt" 2>&1
  echo "[s18-h4 $((SECONDS - T0))s] diag rc $? ($c: every 16-row launch on n16w3): $(grep -E '^(shipped|v[0-9a-z]+):' "$OUT/diag-$c.txt" | tr '\n' ';')"
  # 4. (round 2, STALLS=1) stall reasons, never gating: ncu on the shipped n16 and on n16w3 at 8192x16x1 (each <= 15 s,
  #    only while >= 16 s of the 80 are left): which waits fill a consumer warp's cycles (call G printed summaries only).
  for k in shipped $c; do
    left=$((80 - (SECONDS - T0)))
    if [ "${STALLS:-0}" != 1 ] || [ $left -lt 16 ] || ! command -v ncu > /dev/null; then echo "[s18-h4 $((SECONDS - T0))s] stalls $k skipped"; continue; fi
    kd=$d; [ $k = shipped ] && kd=$PWD/dist/cuda
    timeout -k 3 15 ncu --target-processes all --kernel-name regex:mla_dense_fp8_sm90 --launch-skip 2 --launch-count 1 \
      --section WarpStateStats --section SchedulerStats --metrics 'regex:smsp__average_warps_issue_stalled_.*_per_issue_active\.ratio' \
      node build/bench/cuda/dense-fp8/ab.js $k=$kd --ncu --shapes 8192x16x1 > "$OUT/stalls-$k.txt" 2>&1
    echo "[s18-h4 $((SECONDS - T0))s] stalls $k rc $?: $(grep -E 'Warp Cycles Per Issued|Eligible Warps Per' "$OUT/stalls-$k.txt" | tr -s ' ' | tr '\n' ';') $(awk '/smsp__average_warps_issue_stalled_.*_per_issue_active/ { n = $1; sub(/smsp__average_warps_issue_stalled_/, "", n); sub(/_per_issue_active.*/, "", n); print $NF, n }' "$OUT/stalls-$k.txt" | sort -gr | head -9 | awk '{ printf "%s %s; ", $2, $1 }')"
  done
elif [ $timed = 1 ] && [ "${H4_NCU:-1}" = 1 ] && [ $left -ge 35 ] && command -v ncu > /dev/null; then
  timeout -k 3 35 ncu --target-processes all --kernel-name regex:mla_dense_fp8_sm90 --launch-skip 2 --launch-count 1 \
    --section SpeedOfLight --section WarpStateStats --section SchedulerStats --section LaunchStats \
    node build/bench/cuda/dense-fp8/ab.js v$V=/tmp/dab-v$V --ncu --shapes 8192x16x1 > "$OUT/ncu-v$V.txt" 2>&1
  echo "[s18-h4 $((SECONDS - T0))s] ncu v$V rc $?: $(grep -E 'Block Size|Registers Per Thread|Duration|DRAM Throughput|Issue Slots Busy|Active Warps Per Scheduler|Eligible Warps Per Scheduler|No Eligible|Warp Cycles Per Issued' "$OUT/ncu-v$V.txt" | tr -s ' ' | head -10 | tr '\n' ';')"
else
  echo "[s18-h4 $((SECONDS - T0))s] ncu skipped (candidate not timed, under 35 s left, or no ncu)"
fi
echo "$verdict"
