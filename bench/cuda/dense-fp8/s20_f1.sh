#!/usr/bin/env bash
# Session 20's dense FP8 slot of helper s20-f1 (<= 100 s warm; ~60-75 s expected): step 3 of the plan written at session
# 19's end, the S side's scale multiply folded, in the n16w3 entry only: candidate G = 1376591108146752 = the shipped
# 250691201304128 + 1125899906842624 (dense_fp8_sm90.cu: the third pass's n16w3 code gets bit 562949953421312 — the
# NoPE score operand is the cvt alone, each NoPE group into one f32 accumulator folded into S by the keys' scales; the
# n16 and n32 .text are the shipped ones). docs/notes/cuda-dense-fp8.md, "Session 20 (helper s20-f1)": the prediction
# and this rule, written before any run. From the tree's root (branch s20-f1 merged) on the GPU host with
# .gpu-host/enter.sh sourced, dist/cuda = main's shipped fatbins (250691201304128: SAME CODE as the stage's
# dense_fp8_sm90_v250691201304128.fatbin, which ab.sh checks and prints), build/ = tsc of main, and the stage in $HB
# (default .devstage/s20-f1: the fatbins of G and of the shipped bits, nvcc logs, the three tsc outputs of the launch
# path that s18_h4.sh swaps in and restores; sha256 in its README):
#   OUT=$OUT/f1 timeout 100 bash bench/cuda/dense-fp8/s20_f1.sh 2>&1 | tee $OUT/f1-s20.txt
# 1. dense90q (pick-checks.sh dense90qSide, 60 cases each, ~12 s): G with the shipped dispatch (48), G with every 16-row
#    launch on n16w3, the shipped build as the control.
# 2. s18_h4.sh with V = G (~45-55 s): ab.sh (SAME CODE line; 120 dense90 cases on G; one process times shipped, bf16
#    and G at b 128), the rule's limits below, then on G with every 16-row launch on n16w3 240 dense90 cases, memcheck
#    and synccheck on 3 cases, racecheck's class rule; the diagnostic at 2048 / 4096 x 16 x 1 (G's n16w3 against the
#    shipped dispatch: n16 at 2048, n16w3 at 4096) and 2048 / 4096 x 32 x 1 (the same n32 .text in both: the 32-row line
#    the plan's (d) asks for, with ab.sh's 1024 and 8192), the stall reasons of both n16w3 codes at 8192x16x1.
# 3. Diagnostic, never gating, only when G was timed and >= 30 s of the 95 are left: G's own n16 against its n16w3
#    (s19_h3.sh's frame with FF = G's fatbin) at 2048 / 4096 / 6144 / 8192 x 16 x 1: where G's threshold would sit.
# The rule: t = G us / shipped us (ab.sh's process). `SHIP v1376591108146752` when s18_h4.sh says SHIP with the limits
# 8192x16x1 <= 0.99 and 1024x16x1 <= 1.01 (that shape runs n16: the same .text, a noise guard) — its 120 dense90 cases
# first, then the extra checks above all clean — and each G folder passes at least as many of the 60 dense90q cases as
# the shipped control (all 60 where the control printed no count); else `KEEP the shipped build (why)`. The 32-row
# shapes are the same .text and gate nothing. The last line is the verdict.
set -uo pipefail
OUT=${OUT:-/tmp}; mkdir -p "$OUT"
export HB=${HB:-$PWD/.devstage/s20-f1}
V=1376591108146752
T0=$SECONDS; el() { echo "[s20-f1 $((SECONDS - T0))s] $*"; }
here=$(dirname "${BASH_SOURCE[0]}")
G="$HB/dense_fp8_sm90_v$V.fatbin"
[ -f "$G" ] || { echo "KEEP the shipped build (no $G)"; exit 0; }
python3 bench/cuda/hopper/sass_opclass.py --text "$G" | sed 's#^text #G: #' | cut -c1-110
# 1. dense90q on G's two folders and the shipped control
. "$here/pick-checks.sh"
dense90qGate "$G" G
el "dense90q step done"
# 2. s18_h4.sh with V = G
h4Run $V "8192x16x1=0.99 1024x16x1=1.01"
el "s18_h4.sh (the rule's limits): $v4"
# 3. G's own threshold (diagnostic), only with >= 30 s of 95 left
left=$((95 - (SECONDS - T0)))
if ! grep -q "\"v$V\"" "$OUT/dense-fp8-ab.json" 2>/dev/null; then
  el "G's own threshold skipped (G was not timed: its checks failed)"
elif [ $left -ge 30 ]; then
  ownThreshold "$G" G $left 2048x16x1,4096x16x1,6144x16x1,8192x16x1
else
  el "G's own threshold skipped ($left s left)"
fi
h4Verdict $V "$v4" G
