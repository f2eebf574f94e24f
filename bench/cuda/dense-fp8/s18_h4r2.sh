#!/usr/bin/env bash
# Session 18 round 2's dense FP8 slot (helper s18-h4; <= 90 s warm, ~35-45 s expected): the 16-row dispatch build
# v4400596682304 = 2550171200 + 4398046511104 (dense_fp8_sm90.cu: the shipped entries, SAME CODE .text, plus the
# three-consumer 16-row code as mla_dense_fp8_sm90_v32_bf16_n16w3, its .text byte-identical to call G's
# v2201573426752 n16; the host takes n16w3 where a 16-row launch carries >= denseFp8Sm90W3Tiles (48, ab.sh's W3TILES)
# tiles an SM part). docs/notes/cuda-dense-fp8.md, "Session 18, round 2". From the merged tree's root on the GPU host
# with .gpu-host/enter.sh sourced, dist/cuda and build/ (tsc) in place, the stage in $HB (default .devstage/s18-h4/r2:
# the two prebuilt fatbins and the three tsc outputs of the launch path, sha256 in its README):
#   OUT=$OUT/h4 timeout 90 bash bench/cuda/dense-fp8/s18_h4r2.sh 2>&1 | tee $OUT/h4-s18r2.txt
# Runs s18_h4.sh (same steps) with:
# - the rule (written in the note before any run): t = candidate us / shipped us per shape; eligible when ab.sh's 120
#   dense90 cases pass (the timed folder: n16w3 only where a case has >= 48 tiles an SM part) and t(8192x16x1) <= 0.96,
#   t(1024x16x1) <= 1.01 (there the dispatch runs the shipped n16 code) and t <= 1.02 on the 32-row shapes; then on a
#   copy of the folder with every 16-row launch on n16w3 (W3ALL): 240 dense90 cases, memcheck and synccheck on 3 cases
#   (0 errors), racecheck's class rule (n16w3 counted as the 16-row entry) -> `SHIP v4400596682304`, else `KEEP ...`;
# - instead of call G's ncu summary, a diagnostic, never gating: shipped against that
#   copy at 2048x16x1 and 4096x16x1 (~31 and ~62 tiles an SM part: where the threshold should sit); then (STALLS=1)
#   ncu's stall reasons an issued instruction of the shipped n16 and of n16w3 at 8192x16x1 (each <= 15 s, only while
#   >= 16 s of the slot's 80 are left): what fills a consumer warp's cycles. Report: $OUT/stalls-{shipped,v...all}.txt.
here=$(dirname "${BASH_SOURCE[0]}")
V=4400596682304 HB=${HB:-$PWD/.devstage/s18-h4/r2} W3TILES=${W3TILES:-48} W3ALL=1 H4_NCU=0 STALLS=1 DIAG_SHAPES=2048x16x1,4096x16x1 \
  LIM="8192x16x1=0.96 1024x16x1=1.01 8192x32x1=1.02 8192x16x2=1.02 1024x32x1=1.02" exec bash "$here/s18_h4.sh"
