#!/usr/bin/env bash
# Session 19's dense FP8 slot (prepared by helper s18-h6 on branch s19-fp8; <= 90 s warm, ~45-65 s expected): the
# three-consumer 16-row code (n16w3, the dispatch build's third pass) with larger wgmma groups on each warpgroup's own
# chain. docs/notes/cuda-dense-fp8.md, "Session 18, round 3 (helper s18-h6)": the candidate, the prediction and this
# rule, written before any run. Candidate V = 30788875748928 = 4400596682304 (shipped) + 8796093022208 (S^T groups of
# two k-steps, double-buffered) + 17592186044416 (O^T groups of a whole k-step, serial); beside it, for the record
# (checked and timed, never picked): 13196689704512 (+8796093022208 only) and 21992782726720 (+17592186044416 only).
# Every build's n16 and n32 .text are the shipped ones (compare-fatbins.py: 2 of 3 sections identical); only n16w3
# differs. From the merged tree's root on the GPU host with .gpu-host/enter.sh sourced, dist/cuda (main's shipped
# fatbins: the build of 4400596682304) and build/ (tsc) in place, the stage in $HB (default .devstage/s19-fp8: the
# four prebuilt fatbins and the three tsc outputs of the launch path; sha256 in its README):
#   OUT=$OUT/fp8 timeout 90 bash bench/cuda/dense-fp8/s19_fp8.sh 2>&1 | tee $OUT/fp8-s19.txt
# The rule (t = V's us / shipped us of the same call, ab.sh's timed folder: n16w3 from 48 tiles an SM part, so
# 8192x16x1 runs the candidate's n16w3 against the shipped n16w3 and 1024x16x1 the same n16 code in both): eligible when
# ab.sh's 120 dense90 cases pass and t(8192x16x1) <= 0.97, t(1024x16x1) <= 1.01, t <= 1.02 on each 32-row shape; then,
# on a copy of V's folder with every 16-row launch on n16w3 (W3ALL), 240 dense90 cases, memcheck and synccheck on 3
# cases (0 errors) and racecheck's class rule must pass -> `SHIP v30788875748928`, else `KEEP ...`. Diagnostics, never
# gating: 2048x16x1 / 4096x16x1 with every 16-row launch on n16w3 (where the threshold should sit now), and ncu's stall
# reasons of the shipped n16 and of V's n16w3 at 8192x16x1 while time is left (s18_h4.sh's STALLS step).
here=$(dirname "${BASH_SOURCE[0]}")
V=30788875748928 EXTRA_VARS="13196689704512 21992782726720" HB=${HB:-$PWD/.devstage/s19-fp8} W3TILES=${W3TILES:-48} \
  W3ALL=1 H4_NCU=0 STALLS=1 DIAG_SHAPES=2048x16x1,4096x16x1 TIME_TIMEOUT=${TIME_TIMEOUT:-45} CHECK_TIMEOUT=${CHECK_TIMEOUT:-40} \
  LIM="8192x16x1=0.97 1024x16x1=1.01 8192x32x1=1.02 8192x16x2=1.02 1024x32x1=1.02" exec bash "$here/s18_h4.sh"
