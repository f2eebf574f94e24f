#!/bin/bash
# Session 20 (w3): the wide dense kernel's softmax after lb (the library's bits since call H: kLibVarB = kVarBGuardMax |
# kVarBLazyA | kVarBLazyB). Harness entries (harness_gap.cu, 384 threads, kLibVar with VARB kLibVarB plus):
#   lt  = kVarBTreeMax (VARB 1 << 28): each softmax's own row maxima by pairwise trees (depth 4) instead of a chain of
#         16 dependent FMNMX a row, ahead of the lazy vote (bit for bit lb's results)
#   lc  = kVarBLazyC (VARB 1 << 29): softmax B's second vote after barrier 1 (m_A = its previous maximum for both
#         rows): O_R's factor exactly 1, neither computed (2 MUFU) nor tested (exact)
#   pf  = kVarBArriveLate (VARB 1 << 27): P_A's proxy fence and barrier-1 arrive after P_A V_A[L]'s issue (exact)
#   lx  = all three; aa = lib's code under a second name (the A/A guard)
# Predictions and the ship rule: docs/notes/cuda-hopper-decode.md, "Session 20 (w3)", written before any run. Harness
# only (needs neither dist/cuda, build/ nor Node; cuobjdump / compute-sanitizer from /usr/local/cuda/bin). From the
# merged tree's root, carrying .devstage/s20-w3:
#   OUT=<dir> timeout 45 bash bench/cuda/hopper/s20_w3_slot.sh          (~25 s warm, ~40 s at most)
# 1. SASS of the entries (cuobjdump: HGMMA, LDL / STL, ...) and sass_opclass.py --text, beside the checks.
# 2. s14_h1_slot.sh on aa lt lc pf lx: in parallel, random cases of each +w against the float64 reference (CHECK_N 8:
#    bf16 and f16, causal and split cases), Q_SCALE 4 of lx and lib, memcheck of pf and lx; then abb (interleaved bursts)
#    of lib+w and every entry that checked clean at b 128: s_k 8192 / 4096 x 256 rows (h_q 128 s_q 2), 128 rows (h_q
#    128 s_q 1, s_k 8192), the 64-row control (h_q 64 s_q 1, s_k 8192).
# 3. the rule (s20_w3_rule.py): last line "SHIP <entry> ..." or "KEEP lib ...".
# Files: $OUT/s20w3/ (s14.txt, sass.txt, text.txt, summary.txt), $OUT/s14h1/ (check logs, check.txt, ab.txt).
set -u
S=$SECONDS; ts() { echo "[+$((SECONDS - S))s] $*"; }
O=${OUT:-./out}/s20w3; mkdir -p "$O"
HG=${HG:-.devstage/s20-w3}
export PATH=$PATH:/usr/local/cuda/bin
. bench/cuda/hopper/hg-slot-lib.sh
hg_unpack s20w3

EN=${EN:-aa lt lc pf lx}
HG_OPS="FMUL FFMA FMNMX SHFL MUFU VOTE" hg_sass_text "$O" mla_decode_sm90w_bf16 mla_decode_sm90w_bf16_gaa mla_decode_sm90w_bf16_glt mla_decode_sm90w_bf16_glc mla_decode_sm90w_bf16_gpf mla_decode_sm90w_bf16_glx
hg_s14 "$O" s20w3 "$EN" "lx lib" "pf lx" 932760350
ts "checks and A/B done"
python3 bench/cuda/hopper/s20_w3_rule.py "$(dirname "$O")/s14h1" "$O/sass.txt" "$O/text.txt" | tee "$O/summary.txt"
