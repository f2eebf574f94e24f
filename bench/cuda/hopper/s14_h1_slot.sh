#!/bin/bash
# Session 14 (h1): kVarPBFirst in the wide dense kernel (decode_sm90_wide.cu): warpgroup 1 issues P_B V_B[R] before
# P_A' V_A[R] and releases stage B's V[R] one P V earlier. Harness entries (harness_gap.cu): pbf = x9962270 | kVarPAReg
# | kVarProd2 | kVarPBFirst, pbfw = pbf | kVarWalkA, par = x9962270 | kVarPAReg | kVarProd2 (separates kVarProd2 from
# the swap); candidate 2: vis = x9962270 | kVarVis4 (the four visibility try_waits back to back), pbfv = pbf | kVarVis4;
# "+w" = combineWarps as the library. Predictions and the ship rule were written before any run in
# docs/notes/cuda-hopper-decode.md, "Session 14 (h1)". From the merged tree's root on the GPU host:
#   OUT=<dir> timeout 110 bash bench/cuda/hopper/s14_h1_slot.sh      (needs .devstage/s14-h1/harness_gap.gz; ~70-90 s warm)
# 1. in parallel: random cases against the float64 reference (bf16 and f16, the harness's 64-256-row shapes with s_k
#    1, 63, 65, 129 ... and long ones) of pbf+w, pbfw+w, par+w, vis+w, pbfv+w; Q_SCALE 4 of pbf+w against lib+w on one
#    seed (P_A' = c P_A rounded twice, the sum order swapped); compute-sanitizer memcheck of pbf+w and pbfv+w (2 cases).
# 2. abb, interleaved short bursts, lib+w and each entry that checked clean (par pbf pbfw vis pbfv) at b 128, s_k 1024
#    / 4096 / 8192 x 128 / 256 rows, and the 64-row control.
# 3. "s14h1 rule: SHIP <entry> ..." or "s14h1 rule: KEEP ..." (the last line).
# Other rounds' entries (session 14 round 4: s14_h1r4_slot.sh): S14_ENTRIES (checked, then A/B'd against lib+w),
# S14_Q4 (the Q_SCALE 4 pair: candidate, then lib), S14_SAN (memcheck), S14_TAG (the rule line's tag; session 15:
# s15_h1_slot.sh); s14_h1_rule.py reads the same variables.
set -u
S=$SECONDS; ts() { echo "[+$((SECONDS - S))s] $*"; }
O=${OUT:-./out}/s14h1; mkdir -p "$O"
HG=${HG:-.devstage/s14-h1}
[ -f .gpu-host/enter.sh ] && source .gpu-host/enter.sh > /dev/null 2>&1
G=/tmp/hg-s14h1/harness_gap; mkdir -p /tmp/hg-s14h1
gunzip -c "$HG/harness_gap.gz" > $G && chmod +x $G || { echo "s14h1: no harness at $HG"; echo "${S14_TAG:-s14h1} rule: KEEP (no harness)"; exit 2; }
echo "s14h1: $(sha256sum $G | cut -c1-16) $(nvidia-smi --query-gpu=name,clocks.sm,temperature.gpu,power.draw --format=csv,noheader 2>/dev/null)"

# 1. checks, in parallel
pids=""
EN=${S14_ENTRIES:-pbf pbfw par vis pbfv}; Q4=${S14_Q4:-pbf lib}; SAN=${S14_SAN:-pbf pbfv}
for k in $EN; do
  ( CHECK_KERNEL=$k+w CHECK_CHUNK=5 timeout ${CHECK_S:-30} $G check ${CHECK_N:-20} 141 > "$O/check_$k.log" 2>&1; echo "rc=$?" >> "$O/check_$k.log" ) &
  pids="$pids $!"
done
for k in $Q4; do
  ( Q_SCALE=4 CHECK_KERNEL=$k+w CHECK_CHUNK=5 timeout ${CHECK_S:-30} $G check ${CHECK_NQ:-10} 145 > "$O/checkq4_$k.log" 2>&1; echo "rc=$?" >> "$O/checkq4_$k.log" ) &
  pids="$pids $!"
done
for k in $SAN; do
  ( CHECK_KERNEL=$k+w timeout ${SAN_S:-40} compute-sanitizer --tool memcheck $G check 2 151 > "$O/memcheck_$k.log" 2>&1; echo "rc=$?" >> "$O/memcheck_$k.log" ) &
  pids="$pids $!"
done
wait $pids
sumline() { cat "$@" | grep -o '[0-9]* cases run, [0-9]* failed, worst rel [0-9.e+-]*' | awk '{ r += $1; f += $4; w = ($8 + 0 > w) ? $8 + 0 : w } END { printf "%d cases, %d failed, worst rel %.3e", r, f, w }'; }
{
  for k in $EN; do
    echo "check $k+w: $(sumline "$O/check_$k.log"); f16 ok: $(grep -c '^ok.* f16 ' "$O/check_$k.log"); $(grep -h '^rc=' "$O/check_$k.log") $(grep -h -m2 '^FAIL' "$O/check_$k.log" | tr '\n' ' ')"
  done
  for k in $Q4; do echo "checkq4 $k+w: $(sumline "$O/checkq4_$k.log"); $(grep -h '^rc=' "$O/checkq4_$k.log")"; done
  for k in $SAN; do echo "memcheck $k+w: $(grep -h 'ERROR SUMMARY\|cases run' "$O/memcheck_$k.log" | tr '\n' ' ') $(grep -h '^rc=' "$O/memcheck_$k.log")"; done
} | tee "$O/check.txt"
ts "checks done"

# 2. A/B (entries whose check failed are dropped from it)
K="lib+w"
for k in ${S14_ENTRIES:-par pbf pbfw vis pbfv}; do grep -qE "^check $k\+w: [1-9][0-9]* cases, 0 failed.*rc=0" "$O/check.txt" && K="$K $k+w"; done
if [ "$K" != "lib+w" ]; then
  for s in ${AB_SHAPES:-128,8192,128,1 128,8192,128,2 128,4096,128,1 128,4096,128,2 128,1024,128,1 128,1024,128,2 128,4096,64,1}; do
    AB_KERNELS="$K" IDLE_MS=${IDLE_MS:-50} ROUNDS=${ROUNDS:-8} timeout ${AB_S:-9} $G abb ${s//,/ } 2>&1 | grep '^abb' | tee -a "$O/ab.txt"
  done
  ts "ab done"
else
  echo "s14h1: no candidate checked clean: no A/B"
fi

# 3. the rule (written before any run, in the note)
ts "rule"
python3 bench/cuda/hopper/s14_h1_rule.py "$O" | tee "$O/summary.txt"
