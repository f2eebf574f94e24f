#!/bin/bash
# Session 17 (h2): kVarPBLate on the library's bits x932758302 (warpgroup 1, right after P_B V_B[R]'s issue, stores c /
# m_B alone and arrives at barrier 3, reads its P_A words, issues P_A' V_A[R] as soon as the visibility waits and the c
# multiply allow, and only then stores P_B over the P_A words, fences and arrives at barrier 2). Predictions and the
# rule: docs/notes/cuda-hopper-decode.md, "Session 17 (h2)", written before any run. The harness
# (.devstage/s17-h2/harness_gap.gz) is harness_gap.cu of this branch: lib = the shipped kLibVar x932758302, pbl = lib |
# kVarPBLate (x932758334), pbe = lib's bits (an A/A control: kLibVar | kVarPBEarly = kLibVar; never shipped). Harness
# only: needs no .gpu-host (PATH with /usr/local/cuda/bin for compute-sanitizer, and python3). From the merged tree's root:
#   OUT=<dir> timeout 100 bash bench/cuda/hopper/s17_h2_slot.sh          (~20-60 s warm)
# s14_h1_slot.sh with these entries: checks of pbl+w and pbe+w (20 random cases each against the float64 reference,
# bf16 and f16), Q_SCALE 4 of pbl+w against lib+w, memcheck of pbl+w and pbe+w (2 cases each), then abb of lib+w,
# pbl+w, pbe+w at b 128, s_k 8192 / 4096 / 1024 x 128 / 256 rows and the 64-row control; last line
# "s17h2 rule: SHIP pbl ..." or "s17h2 rule: KEEP ...". Files under $OUT/s14h1/.
S14_ENTRIES="pbl pbe" S14_Q4="pbl lib" S14_SAN="pbl pbe" S14_BITS="pbl=932758334,pbe=932758302" \
  S14_LIB=932758302 S14_TAG=s17h2 CHECK_S=${CHECK_S:-25} SAN_S=${SAN_S:-30} AB_S=${AB_S:-8} HG=${HG:-.devstage/s17-h2} \
  exec bash bench/cuda/hopper/s14_h1_slot.sh
