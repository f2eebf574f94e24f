#!/bin/bash
# Session 15 (h1): kVarPBEarly in the wide dense kernel (warpgroup 1 issues P_B V_B[R] right after its softmax, before
# its visibility waits and the c multiply of P_A', and arrives at barrier 2 after both of its P V are issued; tensor
# queue order unchanged). Predictions and the rule: docs/notes/cuda-hopper-decode.md, "Session 15 (h1)", written
# before any run. The harness (.devstage/s15-h1/harness_gap.gz) is harness_gap.cu of this branch: lib = the shipped
# kLibVar x127451934, pbe = lib | kVarPBEarly (x395887390), pbfw = lib (an A/A control, never shipped). Harness only:
# needs no .gpu-host (PATH with /usr/local/cuda/bin for compute-sanitizer, and python3). From the merged tree's root:
#   OUT=<dir> timeout 110 bash bench/cuda/hopper/s15_h1_slot.sh          (~90 s warm)
# s14_h1_slot.sh with these entries: checks of pbe+w and pbfw+w (20 random cases each against the float64 reference,
# bf16 and f16), Q_SCALE 4 of pbe+w against lib+w, memcheck of pbe+w (2 cases), then abb of lib+w, pbe+w, pbfw+w at
# b 128, s_k 8192 / 4096 / 1024 x 128 / 256 rows and the 64-row control; last line "s15h1 rule: SHIP pbe ..." or
# "s15h1 rule: KEEP ...".
# The rule line's tag is s15h1 (S14_TAG); s14_h1_slot.sh writes its files under $OUT/s14h1/.
S14_ENTRIES="pbe pbfw" S14_Q4="pbe lib" S14_SAN="pbe" S14_BITS="pbe=395887390,pbfw=127451934" S14_LIB=127451934 S14_TAG=s15h1 \
  CHECK_S=${CHECK_S:-25} SAN_S=${SAN_S:-30} AB_S=${AB_S:-8} HG=${HG:-.devstage/s15-h1} exec bash bench/cuda/hopper/s14_h1_slot.sh
