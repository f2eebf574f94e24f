#!/bin/bash
# Session 17 round 3 (h2): part of softmax B's exponentials off the MUFU unit (decode_sm90_wide.cu, kVarPolyExB): pe4 =
# lib | kVarPolyExB (warpgroup 1's softmax of S_B takes 8 of its 32 exponentials a thread as ex2Poly, a degree-3
# polynomial on the FMA / ALU pipes, x3080241950), pe2 = pe4 | kVarPolyHalf (16 of 32, x3082339102); bf16 and f16.
# Predictions and the rule: docs/notes/cuda-hopper-decode.md, "Session 17 round 3 (h2)", written before any run. The
# harness (.devstage/s17-h2r3/harness_gap.gz) is harness_gap.cu of this branch (lib = the shipped kLibVar x932758302).
# Harness only: needs no .gpu-host (PATH with /usr/local/cuda/bin for compute-sanitizer, and python3). From the merged
# tree's root:
#   OUT=<dir> timeout 60 bash bench/cuda/hopper/s17_h2r3_slot.sh          (~40-55 s warm)
# s14_h1_slot.sh with these entries: checks of pe4+w and pe2+w (16 random cases each against the float64 reference, bf16
# and f16, 20 s), Q_SCALE 4 of pe2+w against lib+w (6 cases), memcheck of pe4+w and pe2+w (2 cases each, 20 s), all in
# parallel; then abb of lib+w, pe4+w, pe2+w (those that checked clean) at b 128, s_k 8192 / 4096 / 1024 x 128 / 256 rows
# and the 64-row control (5 s a shape); last line "s17h2r3 rule: SHIP pe4 ...", "... SHIP pe2 ..." or "s17h2r3 rule:
# KEEP ..." (pe4 is listed first: pe2 is preferred over a passing pe4 only with a geomean >= 0.005 higher). Files under
# $OUT/s14h1/.
S14_ENTRIES="pe4 pe2" S14_Q4="pe2 lib" S14_SAN="pe4 pe2" S14_BITS="pe4=3080241950,pe2=3082339102" \
  S14_LIB=932758302 S14_TAG=s17h2r3 CHECK_N=${CHECK_N:-16} CHECK_NQ=${CHECK_NQ:-6} CHECK_S=${CHECK_S:-20} \
  SAN_S=${SAN_S:-20} AB_S=${AB_S:-5} HG=${HG:-.devstage/s17-h2r3} \
  exec bash bench/cuda/hopper/s14_h1_slot.sh
