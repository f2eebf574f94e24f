#!/bin/bash
# Session 20 (w1): the wide dense kernel's softmax with fewer instructions (decode_sm90_wide.cu; the plan's branch 2,
# item 2, after reading (A) of s20-h1's size probe). Harness entries (harness_gap.cu, 384 threads, the library's code
# x932758302 plus):
#   fs = kVarFoldScale (VAR 2048): raw scores through the mask and the row maximum, the maximum scaled once, the
#        exponent's argument one FFMA s * scaleLog2 - base (32 FMULs a thread out of each softmax); bf16 + f16
#   fg = fs + kVarBGuardMax (VARB 64): the exponent bases' -inf guards (FSETP + FSEL) as one FMNMX; bf16 + f16
#   gm = kVarBGuardMax alone (bf16); aa = lib's code under a second name (the A/A guard)
#   o2 = om (session 19's kVarBOwnMax) + kVarBOwnMax2 (VARB 132): P_B x d published from a copy before the wait for
#        P_B V_B[R], O_R brought down after it (the plan's "om2"); bf16 + f16; om timed beside it (printed only)
# Predictions and the ship rule: docs/notes/cuda-hopper-decode.md, "Session 20 (w1)", written before any run. Harness
# only (needs neither dist/cuda, build/ nor Node; cuobjdump / compute-sanitizer from /usr/local/cuda/bin). From the
# merged tree's root, carrying .devstage/s20-w1:
#   OUT=<dir> timeout 45 bash bench/cuda/hopper/s20_w1_slot.sh          (~25 s warm, ~40 s at most)
# 1. SASS of the entries (cuobjdump: HGMMA, LDL / STL) and sass_opclass.py --text (per kernel: .text sha256, bytes,
#    instructions, HGMMA span), beside the checks.
# 2. s14_h1_slot.sh on aa fs fg gm o2 om: in parallel, random cases of each +w against the float64 reference (CHECK_N 8: bf16
#    and f16, causal and split cases: masked keys, rows with an all -inf maximum in a part), Q_SCALE 4 of fg and lib,
#    memcheck of fg and o2; then abb (interleaved bursts) of lib+w and every entry that checked clean at b 128: s_k 8192 / 4096
#    x 256 rows (h_q 128 s_q 2), 128 rows (h_q 128 s_q 1, s_k 8192), the 64-row control (h_q 64 s_q 1, s_k 8192).
# 3. the rule (s20_w1_rule.py): last line "SHIP <entry> ..." or "KEEP lib ...".
# Files: $OUT/s20w1/ (s14.txt, sass.txt, text.txt, summary.txt), $OUT/s14h1/ (check logs, check.txt, ab.txt).
set -u
S=$SECONDS; ts() { echo "[+$((SECONDS - S))s] $*"; }
O=${OUT:-./out}/s20w1; mkdir -p "$O"
HG=${HG:-.devstage/s20-w1}
export PATH=$PATH:/usr/local/cuda/bin
. bench/cuda/hopper/hg-slot-lib.sh
hg_unpack s20w1

EN=${EN:-aa fs fg gm o2 om}
HG_OPS="FMUL FFMA FSEL FSETP FMNMX MUFU" hg_sass_text "$O" mla_decode_sm90w_bf16 mla_decode_sm90w_bf16_gaa mla_decode_sm90w_bf16_gfs mla_decode_sm90w_bf16_gfg mla_decode_sm90w_bf16_ggm \
  mla_decode_sm90w_bf16_go2 mla_decode_sm90w_bf16_gom
gzip -1 -c $G > $D/harness_gap.gz
S14_ENTRIES="$EN" S14_Q4="fg lib" S14_SAN="fg o2" S14_LIB=932758302 S14_TAG=s20w1-s14 HG=$D CHECK_N=${CHECK_N:-8} CHECK_NQ=${CHECK_NQ:-4} \
  CHECK_S=${CHECK_S:-12} SAN_S=${SAN_S:-12} AB_S=${AB_S:-8} ROUNDS=${ROUNDS:-10} IDLE_MS=${IDLE_MS:-40} \
  AB_SHAPES="${AB_SHAPES:-128,8192,128,2 128,4096,128,2 128,8192,128,1 128,8192,64,1}" \
  bash bench/cuda/hopper/s14_h1_slot.sh > "$O/s14.txt" 2>&1
grep -v '^s14h1 \|^s20w1-s14 rule' "$O/s14.txt"
wait $psass; cat "$O/sass.txt" "$O/text.txt"
ts "checks and A/B done"
python3 bench/cuda/hopper/s20_w1_rule.py "$(dirname "$O")/s14h1" "$O/sass.txt" "$O/text.txt" | tee "$O/summary.txt"
