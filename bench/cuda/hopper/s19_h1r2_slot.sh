#!/bin/bash
# Session 19 round 2 (h1): the per-pair timeline of the wide dense kernel (decode_sm90_wide.cu, VARB kVarBTimeline:
# %clock stamps by thread 0 of each consumer warpgroup around every wgmma group's issue and wait, the S walks' first /
# last box and the named barriers, pairs 40..71 of every CTA) at 256 rows (b 128 s_k 8192 h_q 128 s_q 2) and 128 rows
# (h_q 128 s_q 1). Harness entry "tl" (harness_gap.cu) = the shipped bits x932758302 + the stamps, 384 threads.
# Measurement only: ships nothing. Prediction and reading rule: docs/notes/cuda-hopper-decode.md, "Session 19 round 2
# (h1)", written before any run. Harness only (needs neither dist/cuda, build/ nor Node). From the merged tree's root:
#   OUT=<dir> timeout 60 bash bench/cuda/hopper/s19_h1r2_slot.sh          (~10-20 s warm, 57 s at most; stage .devstage/s19-h1/r2)
# 1. check of tl+w (6 random bf16 cases against the float64 reference: the stamps must not change results)
# 2. abb of lib+w and tl+w at the two shapes (what the stamps cost: tl/lib time)
# 3. the timeline: `harness_gap tl` (2 traced launches a shape, each warm, after 20 ms idle) -> s19_h1r2_tl.py
# Last line: "KEEP lib (timeline probe: ...)". Files under $OUT/s19h1r2/.
set -u
S=$SECONDS; ts() { echo "[+$((SECONDS - S))s] $*"; }
O=${OUT:-./out}/s19h1r2; mkdir -p "$O"
HG=${HG:-.devstage/s19-h1/r2}
export PATH=$PATH:/usr/local/cuda/bin
D=/tmp/hg-s19h1r2; G=$D/harness_gap; mkdir -p $D
xz -dc "$HG/harness_gap.xz" > $G && chmod +x $G || { echo "s19h1r2: no harness at $HG"; echo "KEEP lib (timeline probe: no harness)"; exit 2; }
(cd $D && sha256sum -c "$OLDPWD/$HG/UNPACKED.sha256" > /dev/null 2>&1) && echo "s19h1r2: harness sha256 ok" || echo "s19h1r2: harness sha256 MISMATCH"
echo "s19h1r2: $(sha256sum $G | cut -c1-16) $(nvidia-smi --query-gpu=name,clocks.sm,temperature.gpu,power.draw --format=csv,noheader 2>/dev/null)"

# 1. the check (the stamps write only their own buffer: tl's results must be lib's)
CHECK_KERNEL=tl+w CHECK_CHUNK=3 timeout ${CHECK_S:-15} $G check ${CHECK_N:-6} 191 > "$O/check_tl.log" 2>&1; crc=$?
chk=$(grep -o '[0-9]* cases run, [0-9]* failed, worst rel [0-9.e+-]*' "$O/check_tl.log" | awk '{ r += $1; f += $4; w = ($8 + 0 > w) ? $8 + 0 : w } END { printf "%d cases, %d failed, worst rel %.3e", r, f, w }')
echo "check tl+w: $chk; rc=$crc" | tee "$O/check.txt"
ts "check done"

# 2. what the stamps cost, 3. the timeline (256 rows, then 128)
pert=""; reads=""
for sh in "128 8192 128 2 r256" "128 8192 128 1 r128"; do
  set -- $sh
  AB_KERNELS="lib+w tl+w" ROUNDS=${ROUNDS:-8} IDLE_MS=${IDLE_MS:-50} timeout ${AB_S:-8} $G abb $1 $2 $3 $4 > "$O/ab_$5.txt" 2>&1
  cat "$O/ab_$5.txt"
  r=$(grep -o 'tl+w [0-9.]* us [0-9.]*' "$O/ab_$5.txt" | awk '{ printf "%.3f", 1 / $4 }')
  pert="$pert $5 tl/lib ${r:--}"
  TL_FILE="$O/tl_$5.bin" TL_REPS=2 timeout ${TL_S:-8} $G tl $1 $2 $3 $4 > "$O/tl_$5.log" 2>&1; echo "tl rc=$?" >> "$O/tl_$5.log"
  cat "$O/tl_$5.log"
  ls "$O"/tl_$5.bin.* > /dev/null 2>&1 && timeout 5 python3 bench/cuda/hopper/s19_h1r2_tl.py $5 "$O"/tl_$5.bin.* > "$O/tl_$5.txt" 2>&1
  cat "$O/tl_$5.txt" 2>/dev/null
  reads="$reads; $5 $(grep -o 'reading: R[0-9]' "$O/tl_$5.txt" 2>/dev/null | cut -c10-) $(grep -o 'pair L median [0-9]*' "$O/tl_$5.txt" 2>/dev/null | cut -c15-)"
  ts "$5 done"
done
( cd "$O" && tar czf tl_bins.tgz tl_*.bin.* && rm -f tl_*.bin.* ) 2>/dev/null
# the reading rule (the note): the 256-row reading counts only if tl checked clean and tl/lib <= 1.030 there
p256=$(echo "$pert" | grep -o 'r256 tl/lib [0-9.]*' | awk '{ print $3 }')
ok=$(awk -v c="$chk" -v p="${p256:-9}" -v rc=$crc 'BEGIN { split(c, a, " "); print (rc == 0 && a[1] >= 5 && a[3] == 0 && p <= 1.030) ? "valid" : "NOT valid (check or perturbation)" }')
echo "s19h1r2 summary: check [$chk rc=$crc];$pert; readings${reads#;}; 256-row timeline $ok" | tee "$O/summary.txt"
echo "KEEP lib (timeline probe: 256-row reading $(grep -o 'reading: .*' "$O/tl_r256.txt" 2>/dev/null | cut -c10- | cut -c1-140); $ok)"
