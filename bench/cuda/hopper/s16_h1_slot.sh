#!/bin/bash
# Session 16 (h1): kVarCEarly on kVarPBEarly in the wide dense kernel (warpgroup 1 issues P_B V_B[R] straight after its
# softmax and then publishes P_B / c / m_B on a new barrier 3; warpgroup 0 does its pre-P-V work between barrier 3 and
# barrier 2 and issues P_B V_B[L] at once after barrier 2; tensor queue order unchanged). Predictions and the rule:
# docs/notes/cuda-hopper-decode.md, "Session 16 (h1)", written before any run. The harness
# (.devstage/s16-h1/harness_gap.gz) is harness_gap.cu of this branch: lib = the shipped kLibVar x127451934, pbe = lib |
# kVarPBEarly (x395887390, session 15), pbex = pbe | kVarCEarly (x932758302), pbfw = lib (an A/A control, never
# shipped). Harness only: needs no .gpu-host (PATH with /usr/local/cuda/bin for compute-sanitizer, and python3). From
# the merged tree's root:
#   OUT=<dir> timeout 100 bash bench/cuda/hopper/s16_h1_slot.sh          (~30-60 s warm)
# s14_h1_slot.sh with these entries: checks of pbe+w, pbex+w and pbfw+w (20 random cases each against the float64
# reference, bf16 and f16), Q_SCALE 4 of pbex+w against lib+w, memcheck of pbex+w and pbe+w (2 cases each), then abb
# of lib+w, pbe+w, pbex+w, pbfw+w at b 128, s_k 8192 / 4096 / 1024 x 128 / 256 rows and the 64-row control; last line
# "s16h1 rule: SHIP pbe ...", "s16h1 rule: SHIP pbex ..." or "s16h1 rule: KEEP ..." (pbe is listed first: pbex is
# preferred over a passing pbe only with a geomean >= 0.005 higher). Files under $OUT/s14h1/.
S14_ENTRIES="pbe pbex pbfw" S14_Q4="pbex lib" S14_SAN="pbex pbe" S14_BITS="pbe=395887390,pbex=932758302,pbfw=127451934" \
  S14_LIB=127451934 S14_TAG=s16h1 CHECK_S=${CHECK_S:-25} SAN_S=${SAN_S:-30} AB_S=${AB_S:-8} HG=${HG:-.devstage/s16-h1} \
  exec bash bench/cuda/hopper/s14_h1_slot.sh
