#!/usr/bin/env bash
# Session 19's second dense FP8 slot (helper s19-h3; <= 90 s warm, ~60-75 s expected): the f16 score path at 16 rows,
# candidate F = 109953712948800 = 4400596682304 (shipped) + 35184372088832 (the two-consumer n16 entry) +
# 70368744177664 (the n16w3 entry); its n32 .text is the shipped one. docs/notes/cuda-dense-fp8.md, "Session 19
# (helper s19-h3)", round 2: the prediction and this rule, written before any run. From the merged tree's root on the
# GPU host with .gpu-host/enter.sh sourced, dist/cuda (main's shipped fatbins: the build of 4400596682304) and build/
# (tsc) in place, the stage in $HB (default .devstage/s19-h3: the F fatbin, the tsc outputs of the launch path and of
# the three test files below; sha256 in its README):
#   OUT=$OUT/h3b timeout 90 bash bench/cuda/dense-fp8/s19_h3b.sh 2>&1 | tee $OUT/h3b-s19.txt
# 1. dense90q (the new suite: dense90's shapes with query rows 2^-20 .. 2^17 in magnitude, so items take the f16 path,
#    its rescale past 2^15, and tiny rows): 60 cases each on F with the shipped dispatch (48 tiles: the test's cases run
#    n16) and on F with every 16-row launch on n16w3, and on the shipped build as the control. The stage's
#    test/gpu/sparse-count.js, test/support/{dense-fp8-random,compare}.js replace build/'s for the run.
# 2. s18_h4.sh's steps with V = F: ab.sh (120 dense90 cases, the timing against the shipped build and bf16), the
#    rule's limits LIM, the extra checks on F with every 16-row launch on n16w3 (240 dense90 cases, memcheck and
#    synccheck on 3 cases, racecheck's class rule), the diagnostic (1024 / 2048 / 4096 x 16 x 1, all on F's n16w3
#    against shipped) and the stall reasons of both n16w3 codes at 8192x16x1.
# 3. A diagnostic, never gating: F's two-consumer n16 (every 16-row launch on it) against its n16w3 and the shipped
#    build at s_k 1024 / 2048 / 4096 / 8192 x 16 x 1 (where F's threshold would sit).
# The rule: `SHIP v109953712948800` when step 2 says SHIP (120 dense90 cases; t(8192x16x1) <= 0.975, t(1024x16x1) <=
# 1.00, t <= 1.02 on the three 32-row shapes; the extra checks) and each F folder passes at least as many of the 60
# dense90q cases as the shipped build (all 60 where the control printed no count); else `KEEP the shipped build (why)`.
# (The CPU backend passes 51 / 60 of them offline: it does not round dequantized K to bf16 as the reference and the CUDA
# exact path do, which shows with logits near 10^5; the control tells whether the CUDA shipped build passes all.)
set -uo pipefail
OUT=${OUT:-/tmp}; mkdir -p "$OUT"
export HB=${HB:-$PWD/.devstage/s19-h3}
V=109953712948800
T0=$SECONDS; el() { echo "[s19-h3b $((SECONDS - T0))s] $*"; }
here=$(dirname "${BASH_SOURCE[0]}")
[ -f "$HB/dense_fp8_sm90_v$V.fatbin" ] || { echo "KEEP the shipped build (no $HB/dense_fp8_sm90_v$V.fatbin)"; exit 0; }
keep=$(mktemp -d)
T="test/gpu/sparse-count.js test/support/dense-fp8-random.js test/support/compare.js"
for f in $T; do
  mkdir -p "$keep/$(dirname $f)"; cp "build/$f" "$keep/$f" && cp "$HB/build/$f" "build/$f" || { echo "KEEP the shipped build (no $HB/build/$f)"; exit 0; }
done
trap 'for f in $T; do cp "$keep/$f" "build/$f"; done; rm -rf "$keep"' EXIT
. "$here/pick-checks.sh"
F="$HB/dense_fp8_sm90_v$V.fatbin"; w3Folder /tmp/h3b-fn16 null "$F"
# 1. dense90q, three builds side by side
Q_TIMEOUT=${Q_TIMEOUT:-30} dense90qGate "$F" F # (folders /tmp/F-f48, /tmp/F-fall; sets qok: each at least the control's count, all of them without one)
el "dense90q step done"
# 2. s18_h4.sh's steps
V=$V HB=$HB W3TILES=48 W3ALL=1 H4_NCU=0 STALLS=${STALLS:-1} DIAG_SHAPES=1024x16x1,2048x16x1,4096x16x1 TIME_TIMEOUT=${TIME_TIMEOUT:-35} CHECK_TIMEOUT=${CHECK_TIMEOUT:-35} \
  LIM="8192x16x1=0.975 1024x16x1=1.00 8192x32x1=1.02 8192x16x2=1.02 1024x32x1=1.02" bash "$here/s18_h4.sh" > "$OUT/h4.txt" 2>&1
grep -vE '^$' "$OUT/h4.txt" | tail -40
v4=$(tail -1 "$OUT/h4.txt")
el "s18_h4.sh: $v4"
# 3. F's n16 against its n16w3 (diagnostic)
if [ $((SECONDS - T0)) -le 75 ]; then
  timeout -k 3 12 node build/bench/cuda/dense-fp8/ab.js shipped=$PWD/dist/cuda fn16=/tmp/h3b-fn16 fall=/tmp/F-fall --no-bf16 \
    --shapes 1024x16x1,2048x16x1,4096x16x1,8192x16x1 > "$OUT/diag-fn16.txt" 2>&1
  el "diag rc $? (F's n16 / F's n16w3 / shipped): $(grep -E '^(shipped|fn16|fall):' "$OUT/diag-fn16.txt" | tr '\n' ';')"
else
  el "diag skipped (over 75 s)"
fi
h4Verdict $V "$v4" F
