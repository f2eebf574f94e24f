#!/bin/bash
# Session 17 round 2 (h2): upper bounds of the wide dense pair's dependencies, timing only (decode_sm90_wide.cu, harness
# entries of harness_gap.cu, bf16): nma = lib | kVarPrNoMA (warpgroup 1's softmax without waiting for m_A), nexb = lib |
# kVarPrNoExB (softmax B without its exponentials: wrong results), nmx = both, b2l = lib | kVarB2Late (warpgroup 0 waits
# at barrier 2 only after its P_B V_B[L] issue: the tensor queue's order between the warpgroups dropped; results as
# lib's), pbb = lib | kVarPBLate | kVarB2Late (P_A' V_A[R] issued early and P_B V_B[L] not held behind the late P_B
# stores: wrong results). Predictions and what each outcome means: docs/notes/cuda-hopper-decode.md, "Session 17 round 2 (h2)",
# written before any run. Harness only (no .gpu-host needed: PATH with nvidia-smi, python3). From the merged tree's root:
#   OUT=<dir> timeout 60 bash bench/cuda/hopper/s17_h2r2_slot.sh          (~30-40 s warm)
# 1. report only, never a gate: bf16 random cases of nma+w and b2l+w against the float64 reference (CHECK_N 10, in
#    parallel, CHECK_S 8 s each). 2. abb (ROUNDS 8, BURST 10, IDLE_MS 50) of lib+w and the five entries at b 128, s_k
#    8192 / 4096 / 1024 x 128 / 256 rows and the 64-row control (AB_S 7 s a shape). 3. s17_h2r2_rule.py: per probe the
#    ratios, geomeans at 256 / 128 rows with the cycles a pair they stand for; last line `KEEP x932758302 (probe: ...)`.
# Files under $OUT/s17h2r2/ (ab.txt, check_*.log, summary.txt).
set -u
S=$SECONDS; ts() { echo "[+$((SECONDS - S))s] $*"; }
O=${OUT:-./out}/s17h2r2; mkdir -p "$O"
HG=${HG:-.devstage/s17-h2r2}
G=/tmp/hg-s17h2r2/harness_gap; mkdir -p /tmp/hg-s17h2r2
gunzip -c "$HG/harness_gap.gz" > $G && chmod +x $G || { echo "s17h2r2: no harness at $HG"; echo "KEEP x932758302 (probe: no harness)"; exit 2; }
echo "s17h2r2: $(sha256sum $G | cut -c1-16) $(nvidia-smi --query-gpu=name,clocks.sm,temperature.gpu,power.draw --format=csv,noheader 2>/dev/null)"

for k in ${S17R2_CHECK:-nma b2l}; do
  ( CHECK_KERNEL=$k+w CHECK_CHUNK=5 timeout ${CHECK_S:-8} $G check ${CHECK_N:-10} 141 > "$O/check_$k.log" 2>&1; echo "rc=$?" >> "$O/check_$k.log" ) &
done
wait
ts "checks done (report only)"
for s in ${AB_SHAPES:-128,8192,128,1 128,8192,128,2 128,4096,128,1 128,4096,128,2 128,1024,128,1 128,1024,128,2 128,4096,64,1}; do
  AB_KERNELS="${S17R2_AB:-lib+w nma+w nexb+w nmx+w b2l+w pbb+w}" IDLE_MS=${IDLE_MS:-50} ROUNDS=${ROUNDS:-8} timeout ${AB_S:-7} $G abb ${s//,/ } 2>&1 | grep '^abb' | tee -a "$O/ab.txt"
done
ts "ab done"
python3 bench/cuda/hopper/s17_h2r2_rule.py "$O" | tee "$O/summary.txt"
