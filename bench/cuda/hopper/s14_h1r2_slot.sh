#!/bin/bash
# Session 14 round 2 (h1): the 256-row gap profiled, and pbf forms re-measured on the shipped vis library. Predictions
# and the rule: docs/notes/cuda-hopper-decode.md, "Session 14 round 2 (h1)", written before any run. The harness
# (.devstage/s14-h1r2/harness_gap.gz) is harness_gap.cu of main b1cc9cb+: its lib entry is kLibVar = x77071134
# (x9962270 | kVarVis4), so there vis = lib (an A/A control), pbfv = pbf (the same code twice), pbfw = pbf | kVarWalkA
# on vis (x127451934). From the merged tree's root on the GPU host:
#   OUT=<dir> timeout 120 bash bench/cuda/hopper/s14_h1r2_slot.sh          (~90 s warm)
# 1. s14_h1_slot.sh as it is (HG = this stage, S14_LIB = 77071134): checks of pbf / pbfw / par / vis / pbfv (+w),
#    Q_SCALE 4 of pbf and lib, memcheck of pbf and pbfv, then abb of lib+w and the clean entries at b 128, s_k 8192 /
#    4096 / 1024 x 128 / 256 rows and the 64-row control; its rule lines (s14h1 ...) under $OUT/s14h1.
# 2. ncu, alone on the GPU, after the A/B: lib (x77071134) and FlashMLA (flashmla_gap.py) at 256 rows (b 128, s_k
#    8192, h_q 128, s_q 2), then the same at 128 rows (s_q 1) while time is left: session 13 call A's sections and
#    files ($OUT/s14h1r2/r256/{lib,fm}.{raw,sass}.csv.gz, r128/ the same) for ncu_stall_gap.py, and its first table.
# 3. "s14h1r2 rule: SHIP ..." or "s14h1r2 rule: KEEP ..." (the last line; s14h1's rule line re-labelled).
# NCU_ONLY=1 HG=<stage with harness_gap.gz>: step 2 alone (the profiles of whatever library the harness was built with).
set -u
S=$SECONDS; ts() { echo "[+$((SECONDS - S))s] $*"; }
END=${END_S:-112} # seconds from the start by which the last ncu (with its exports) must be over
O=${OUT:-./out}; mkdir -p "$O/s14h1r2"; R=$O/s14h1r2
HERE=bench/cuda/hopper
G=/tmp/hg-s14h1/harness_gap; n=${NCU_N:-200}
if [ -n "${NCU_ONLY:-}" ]; then # profiles only (the lead's ncu of a newly shipped library: HG holds a harness built from
  # that source, so its lib entry is the shipped kLibVar); no checks, no A/B, no rule
  mkdir -p /tmp/hg-s14h1 && gunzip -c "${HG:?}/harness_gap.gz" > $G && chmod +x $G || { echo "no harness at $HG"; exit 2; }
else
  CHECK_S=${CHECK_S:-25} SAN_S=${SAN_S:-30} AB_S=${AB_S:-8} S14_LIB=77071134 HG=${HG:-.devstage/s14-h1r2} OUT=$O \
    bash $HERE/s14_h1_slot.sh 2>&1 | grep -v '^s14h1 rule:' | tee "$R/slot.txt"
  ts "A/B part done"
fi
[ -f .gpu-host/enter.sh ] && source .gpu-host/enter.sh > /dev/null 2>&1
ncu1() { # folder, name, kernel regex, command...: session 13 call A's sections; raw and source pages kept, report dropped
  local D=$1 nm=$2 kre=$3 lim=$((END - (SECONDS - S) - 13)); shift 3; mkdir -p "$D" # 13 s kept for the two exports
  [ $lim -gt 30 ] && lim=30
  if [ $lim -lt 8 ]; then echo "ncu $nm: skipped (no time)"; return; fi
  timeout $lim ncu --section SourceCounters --section InstructionStats --metrics sm__inst_executed.sum,sm__cycles_elapsed.max \
    --cache-control none --clock-control none -k regex:$kre --launch-skip $n --launch-count 1 -f -o "$D/$nm" "$@" > "$D/ncu_$nm.log" 2>&1
  echo "ncu ${D##*/} $nm rc=$? ($lim s allowed)"
  [ -f "$D/$nm.ncu-rep" ] || return
  timeout 8 ncu -i "$D/$nm.ncu-rep" --page source --csv --print-source sass 2> /dev/null | gzip > "$D/$nm.sass.csv.gz"
  timeout 5 ncu -i "$D/$nm.ncu-rep" --page raw --csv 2> /dev/null | gzip > "$D/$nm.raw.csv.gz"
  rm -f "$D/$nm.ncu-rep"
}
for rs in 256:2 128:1; do
  r=${rs%:*} sq=${rs#*:}
  ncu1 "$R/r$r" lib sm90w $G b2bn 128 8192 128 $sq $((n + 10)) lib
  ncu1 "$R/r$r" fm splitkv_mla_kernel python3 $HERE/flashmla_gap.py --anchors .gpu-host/anchors --b2bn $((n + 10)) 128,8192,128,$sq
  ts "ncu $r rows done"
  if [ -s "$R/r$r/lib.sass.csv.gz" ] && [ -s "$R/r$r/fm.sass.csv.gz" ] && [ $((SECONDS - S)) -lt $((END - 4)) ]; then
    timeout 6 python3 $HERE/ncu_stall_gap.py "$R/r$r" lib fm --tiles $((r * 256)) > "$R/stall$r.txt" 2>&1
    head -30 "$R/stall$r.txt"
  fi
done
ls -l "$R"/r*/ | awk 'NF > 5 { print $5, $9 }' | tr '\n' ' '; echo
[ -n "${NCU_ONLY:-}" ] && exit 0
ts "rule"
grep -h '^s14h1 ' "$O/s14h1/summary.txt" 2>/dev/null | grep -v 'rule:' | sed 's/^s14h1 /s14h1r2 /'
l=$(grep -h '^s14h1 rule:' "$O/s14h1/summary.txt" 2>/dev/null | tail -1)
echo "${l/s14h1 rule:/s14h1r2 rule:}" | grep . || echo "s14h1r2 rule: KEEP (no rule line from s14_h1_slot.sh) -> library bits stay x77071134"
