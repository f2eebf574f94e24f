#!/bin/bash
# Historical (session 14): the record of call D (KEEP). The kVarSHead code and the harness entry sh are gone again (4e02423 has them).
# Session 14 round 4 (h1r4): kVarSHead in the wide dense kernel (warpgroup 0 issues the next A tile's S head, boxes
# 8 and 0-3, right behind P_B V_B[L] and waits for that P V with wait_group 1). Predictions and the rule:
# docs/notes/cuda-hopper-decode.md, "Session 14 round 4 (h1r4)", written before any run. The harness
# (.devstage/s14-h1r4/harness_gap.gz) is harness_gap.cu of this branch (main cfcc353 + kVarSHead): lib = the shipped
# kLibVar x127451934, sh = lib | kVarSHead (x261669662), pbfw = lib (an A/A control, never shipped). From the merged
# tree's root on the GPU host:
#   OUT=<dir> timeout 110 bash bench/cuda/hopper/s14_h1r4_slot.sh          (~90 s warm)
# s14_h1_slot.sh with these entries: checks of sh+w and pbfw+w (20 random cases each against the float64 reference),
# Q_SCALE 4 of sh+w against lib+w, memcheck of sh+w (2 cases), then abb of lib+w, sh+w, pbfw+w at b 128, s_k 8192 /
# 4096 / 1024 x 128 / 256 rows and the 64-row control; last line "s14h1r4 rule: SHIP sh ..." or "... KEEP ...".
set -u
O=${OUT:-./out}; mkdir -p "$O/s14h1r4"
S14_ENTRIES="sh pbfw" S14_Q4="sh lib" S14_SAN="sh" S14_BITS="sh=261669662,pbfw=127451934" S14_LIB=127451934 \
  CHECK_S=${CHECK_S:-25} SAN_S=${SAN_S:-30} AB_S=${AB_S:-8} HG=${HG:-.devstage/s14-h1r4} OUT=$O \
  bash bench/cuda/hopper/s14_h1_slot.sh 2>&1 | grep -v '^s14h1 rule:' | tee "$O/s14h1r4/slot.txt"
l=$(grep -h '^s14h1 rule:' "$O/s14h1/summary.txt" 2>/dev/null | tail -1)
echo "${l/s14h1 rule:/s14h1r4 rule:}" | grep . || echo "s14h1r4 rule: KEEP (no rule line from s14_h1_slot.sh) -> library bits stay x127451934"
