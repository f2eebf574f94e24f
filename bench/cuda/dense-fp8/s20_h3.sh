#!/usr/bin/env bash
# Session 20's dense FP8 slot (helper s20-h3, prepared in session 19 without a device; <= 120 s warm, ~80-100 s expected):
# slot 1 (s19_h3.sh, the n16w3 threshold for the shipped codes, on main since session 19) and step 2 of the plan, the O
# side by cvt: candidate C = 250691201304128 = 109953712948800 (shipped) + 140737488355328 (all three entries: n16,
# n16w3, n32), and D = C + 281474976710656 (C's 16-row entries with the shipped n32). docs/notes/cuda-dense-fp8.md,
# "Session 20 (helper s20-h3)": the prediction and this rule, written before any run. From the tree's root (branch
# s20-h3 merged, or checked out) on the GPU host with .gpu-host/enter.sh sourced,
# dist/cuda = main's shipped fatbins (session 19's end: 109953712948800), build/ = tsc of main (session 19's end or later)
# and the stage in $HB (default .devstage/s20-h3: the fatbins of C, D and the shipped bits, the tsc outputs of the launch
# path; sha256 in its README):
#   OUT=$OUT/h3 timeout 120 bash bench/cuda/dense-fp8/s20_h3.sh 2>&1 | tee $OUT/h3-s20.txt
# 1. Slot 1: s19_h3.sh as it is (its own rule, s19_h3_rule.py); its verdict is printed as `slot 1: SHIP/KEEP ...`.
# 2. dense90q on C (60 cases each: C with the shipped dispatch, C with every 16-row launch on n16w3) and on the shipped
#    build as the control; then s18_h4.sh with V = C: ab.sh (v109953712948800 from the stage vs dist/cuda: SAME CODE;
#    120 dense90 cases on C: n16 and n32; the timing against shipped and bf16, b 128), the 16-row limits, the checks on
#    C with every 16-row launch on n16w3 (240 dense90 cases, memcheck / synccheck on 3 cases, racecheck's class rule),
#    the diagnostic (2048 / 4096 x 16 x 1 on C's n16w3 and 2048 / 4096 x 32 x 1 on C's n32 against shipped: the 32-row
#    line the plan asks for) and the stall reasons of the shipped and C's n16w3 at 8192x16x1.
# 3. Diagnostic, never gating, only when C was timed (its 120 cases passed) and >= 30 s of the 115 are left: slot 1's
#    frame on C's fatbin (C's own n16 against its n16w3 at 31 .. 124 tiles: where C's threshold would sit), cut to fit.
# The rule: `SHIP v250691201304128` when s18_h4.sh says SHIP with the 16-row limits (120 dense90 cases; t = C / shipped:
# 8192x16x1 <= 0.98, 1024x16x1 <= 1.01; then the extra checks), each C folder passes at least as many of the 60
# dense90q cases as the shipped control (all 60 where the control printed no count), and C's 32-row shapes (its n32)
# keep t <= 1.00 (8192x32x1, 8192x16x2) and <= 1.01 (1024x32x1); with all but the last: `SHIP v532166178014784 (16 rows
# only ...)` (D: bit 281474976710656 keeps the shipped n32; D's n16 / n16w3 .text are C's, its n32 .text the shipped one,
# as the --text lines show: measured and checked here as C's); else `KEEP the shipped build (why)`. The last line is
# this verdict; slot 1's is the line `slot 1: ...` above it.
set -uo pipefail
OUT=${OUT:-/tmp}; mkdir -p "$OUT"
export HB=${HB:-$PWD/.devstage/s20-h3}
V=250691201304128 DV=532166178014784 # C, and D: C's n16 and n16w3 .text with the shipped n32 .text
T0=$SECONDS; el() { echo "[s20-h3 $((SECONDS - T0))s] $*"; }
here=$(dirname "${BASH_SOURCE[0]}")
# 1. slot 1 (the shipped codes' threshold), ~20-30 s
OUT=$OUT/s1 TIME_TIMEOUT=${S1_TIMEOUT:-25} timeout -k 3 55 bash "$here/s19_h3.sh" > "$OUT/h3-s19.txt" 2>&1
grep -vE '^$' "$OUT/h3-s19.txt" | tail -22
s1=$(tail -1 "$OUT/h3-s19.txt")
el "slot 1 done"
[ -f "$HB/dense_fp8_sm90_v$V.fatbin" ] || { echo "slot 1: $s1"; echo "KEEP the shipped build (no $HB/dense_fp8_sm90_v$V.fatbin)"; exit 0; }
# 2. C: dense90q, three folders side by side (~12 s), then s18_h4.sh (~45 s)
. "$here/pick-checks.sh"
C="$HB/dense_fp8_sm90_v$V.fatbin"
dense90qGate "$C" C # (folders /tmp/C-f48, /tmp/C-fall; sets qok)
el "dense90q step done"
h4Run $V "8192x16x1=0.98 1024x16x1=1.01"
el "s18_h4.sh (the 16-row limits): $v4"
# C's 32-row shapes (n32) against their limits: all within -> C; else D = C's 16-row entries with the shipped n32
t32=$(python3 - "$OUT/dense-fp8-ab.json" "v$V" <<'PY'
import json, sys
try:
    j = json.load(open(sys.argv[1]))
    by = {b["name"]: b for b in j["builds"]}
    t = {k: c / s for k, c, s in zip(j["shapes"], by[sys.argv[2]]["us"], by["shipped"]["us"])}
    lim = {"8192x32x1": 1.00, "8192x16x2": 1.00, "1024x32x1": 1.01}
    bad = [f"{k} {t[k]:.3f} > {x}" for k, x in lim.items() if not t[k] <= x]
    print("ok" if not bad else "not: " + ", ".join(bad))
except Exception as e:
    print(f"not timed ({type(e).__name__})")
PY
)
el "C's 32-row shapes (8192x32x1 <= 1.00, 8192x16x2 <= 1.00, 1024x32x1 <= 1.01): $t32"
# (D's .text against C's and the shipped ones)
for f in "$C" "$HB/dense_fp8_sm90_v$DV.fatbin" dist/cuda/dense_fp8_sm90.fatbin; do
  n=$(basename "$f" .fatbin | sed 's/dense_fp8_sm90_//; s/^dense_fp8_sm90$/shipped/')
  [ -f "$f" ] && python3 bench/cuda/hopper/sass_opclass.py --text "$f" | sed "s#^text #$n: #" | cut -c1-110
done
# 3. C's own threshold (diagnostic), only with >= 30 s of 115 left
left=$((115 - (SECONDS - T0)))
if ! grep -q "\"v$V\"" "$OUT/dense-fp8-ab.json" 2>/dev/null; then
  el "C's own threshold skipped (C was not timed: its checks failed)"
elif [ $left -ge 30 ]; then
  ownThreshold "$C" C $left
else
  el "C's own threshold skipped ($left s left)"
fi
echo "slot 1: $s1"
if [ "$v4" = "SHIP v$V" ] && [ $qok = 1 ] && [ "$t32" = ok ]; then echo "SHIP v$V"
elif [ "$v4" = "SHIP v$V" ] && [ $qok = 1 ]; then echo "SHIP v$DV (16 rows only: C's 32-row shapes $t32)"
elif [ "$v4" = "SHIP v$V" ]; then echo "KEEP the shipped build (v$V failed dense90q above)"
else echo "KEEP the shipped build: ${v4#KEEP the shipped build } (dense90q C folders ok $qok)"; fi
