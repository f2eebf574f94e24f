#!/bin/bash
# Session 20 (w2): the wide dense kernel's softmax, the lazy reference maximum (decode_sm90_wide.cu's kVarBLazyA /
# kVarBLazyB, FlashAttention-4's rescale threshold, 2^8) on the library's bits (fg since session 20's call G). Harness
# entries (harness_gap.cu, 384 threads, kLibVar with VARB kVarBGuardMax plus):
#   la = kVarBLazyA (VARB 1 << 18): softmax A keeps mA_ as its exponent reference where its warp's vote holds (every
#        thread's own tile maximum x scale <= mA_ + 8): no quad shuffles, bases, factor exponentials or O rescale test
#   lb = la + kVarBLazyB (1 << 19): the same in softmax B against m_A (c = 1 exactly there); both dtypes
#   aa = lib's code under a second name (the A/A guard; VARB kLibVarB since w2)
# Predictions and the ship rule: docs/notes/cuda-hopper-decode.md, "Session 20 (w2)", written before any run. Harness
# only (needs neither dist/cuda, build/ nor Node; cuobjdump / compute-sanitizer from /usr/local/cuda/bin). From the
# merged tree's root, carrying .devstage/s20-w2:
#   OUT=<dir> timeout 45 bash bench/cuda/hopper/s20_w2_slot.sh          (~22 s warm, ~35 s at most)
# 1. SASS of the entries (cuobjdump: HGMMA, LDL / STL, ...) and sass_opclass.py --text, beside the checks.
# 2. s14_h1_slot.sh on aa la lb: in parallel, random cases of each +w against the float64 reference (CHECK_N 8: bf16
#    and f16, causal and split cases), Q_SCALE 4 of lb and lib, memcheck of la and lb; then abb (interleaved bursts) of
#    lib+w and every entry that checked clean at b 128: s_k 8192 / 4096 x 256 rows (h_q 128 s_q 2), 128 rows (h_q 128
#    s_q 1, s_k 8192), the 64-row control (h_q 64 s_q 1, s_k 8192).
# 3. the rule (s20_w2_rule.py): last line "SHIP <entry> ..." or "KEEP lib ...".
# Files: $OUT/s20w2/ (s14.txt, sass.txt, text.txt, summary.txt), $OUT/s14h1/ (check logs, check.txt, ab.txt).
set -u
S=$SECONDS; ts() { echo "[+$((SECONDS - S))s] $*"; }
O=${OUT:-./out}/s20w2; mkdir -p "$O"
HG=${HG:-.devstage/s20-w2}
export PATH=$PATH:/usr/local/cuda/bin
. bench/cuda/hopper/hg-slot-lib.sh
hg_unpack s20w2

EN=${EN:-aa la lb}
HG_OPS="FMUL FFMA FMNMX SHFL MUFU VOTE" hg_sass_text "$O" mla_decode_sm90w_bf16 mla_decode_sm90w_bf16_gaa mla_decode_sm90w_bf16_gla mla_decode_sm90w_bf16_glb
hg_s14 "$O" s20w2 "$EN" "lb lib" "la lb" 932760350
ts "checks and A/B done"
python3 bench/cuda/hopper/s20_w2_rule.py "$(dirname "$O")/s14h1" "$O/sass.txt" "$O/text.txt" | tee "$O/summary.txt"
