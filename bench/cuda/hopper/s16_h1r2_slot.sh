#!/bin/bash
# Session 16 round 2 (h1): kVarMAEarly on the library's bits x932758302 (warpgroup 0 stores m_A and arrives at
# barrier 1 before its exponentials; P_A, stored and fenced as before, gets barrier 8, which warpgroup 1 waits for only
# where it reads its P_A words, after its P_B V_B[R] issue). Predictions and the rule: docs/notes/cuda-hopper-decode.md,
# "Session 16 round 2 (h1r2)", written before any run. The harness (.devstage/s16-h1r2/harness_gap.gz) is harness_gap.cu
# of this branch: lib = the shipped kLibVar x932758302, mae = lib | kVarMAEarly (x2006500126), pbe = lib's bits (an A/A
# control: kLibVar | kVarPBEarly = kLibVar since session 16; never shipped). Harness only: needs no .gpu-host (PATH
# with /usr/local/cuda/bin for compute-sanitizer, and python3). From the merged tree's root:
#   OUT=<dir> timeout 100 bash bench/cuda/hopper/s16_h1r2_slot.sh          (~30-60 s warm)
# s14_h1_slot.sh with these entries: checks of mae+w and pbe+w (20 random cases each against the float64 reference,
# bf16 and f16), Q_SCALE 4 of mae+w against lib+w, memcheck of mae+w and pbe+w (2 cases each), then abb of lib+w,
# mae+w, pbe+w at b 128, s_k 8192 / 4096 / 1024 x 128 / 256 rows and the 64-row control; last line
# "s16h1r2 rule: SHIP mae ..." or "s16h1r2 rule: KEEP ...". Files under $OUT/s14h1/.
S14_ENTRIES="mae pbe" S14_Q4="mae lib" S14_SAN="mae pbe" S14_BITS="mae=2006500126,pbe=932758302" \
  S14_LIB=932758302 S14_TAG=s16h1r2 CHECK_S=${CHECK_S:-25} SAN_S=${SAN_S:-30} AB_S=${AB_S:-8} HG=${HG:-.devstage/s16-h1r2} \
  exec bash bench/cuda/hopper/s14_h1_slot.sh
