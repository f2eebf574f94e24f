#!/bin/bash
# Session 20 (h1): the code-size probe of the >= 64-row kernel (decode_sm90_wide.cu). Is the common +5 % of np, tl, om,
# s5 and pe2 (session 19 round 4) each idea's own cost (A), or an instruction-fetch step once the code passes ~7000
# instructions / ~112 KB (B)? Harness entries (harness_gap.cu, bf16, 384 threads, the library's code x932758302 plus):
#   aa  = nothing (the library's .text under a second name: the A/A guard)
#   pz  = 4 never-executed DFMAs inside the pair loop (the branch and ptxas's re-schedule alone: the pads' control)
#   pi1 / pi2 = 130 / 375 never-executed DFMAs inside the pair loop (pe2 / tl's and om's sizes; the HGMMA span grows)
#   po1 / po2 = the same after the item loop (the image grows, the span does not)
#   px  = 375 DFMAs *executed* once a pair by a producer thread (om's size in bytes fetched every pair, off the
#         consumers' path)
#   pnp = lib padded to np's size (604 inside, 777 after); np and om (session 19) re-timed beside pnp / pi2.
# Predictions and the reading rule: docs/notes/cuda-hopper-decode.md, "Session 20 (h1)", written before any run. Harness
# only (needs neither dist/cuda, build/ nor Node; cuobjdump / compute-sanitizer from /usr/local/cuda/bin). From the merged
# tree's root, carrying .devstage/s20-h1:
#   OUT=<dir> timeout 45 bash bench/cuda/hopper/s20_h1_slot.sh          (~27 s warm, ~40 s at most: checks <= 10 s, 4 x abb <= 7 s)
# 1. SASS of the entries (cuobjdump: HGMMA, LDL / STL) and sass_opclass.py --text on the harness (per kernel: .text
#    sha256, bytes, instructions, HGMMA span), beside the checks.
# 2. s14_h1_slot.sh on the ten entries: in parallel, random cases of each +w against the float64 reference (CHECK_N 4),
#    Q_SCALE 4 of aa and lib, memcheck of px (the one with new executed code); then abb (interleaved bursts) of lib+w and
#    every entry that checked clean at b 128: s_k 8192 / 4096 x 256 rows (h_q 128 s_q 2), 128 rows (h_q 128 s_q 1, s_k
#    8192), and the 64-row control (s_k 8192 h_q 64 s_q 1).
# 3. the reading (s20_h1_rule.py): last line "KEEP lib (size probe: ...)" (the probe ships nothing).
# Files: $OUT/s20h1/ (s14.txt, sass.txt, text.txt, summary.txt), $OUT/s14h1/ (check logs, check.txt, ab.txt).
set -u
S=$SECONDS; ts() { echo "[+$((SECONDS - S))s] $*"; }
O=${OUT:-./out}/s20h1; mkdir -p "$O"
HG=${HG:-.devstage/s20-h1}
export PATH=$PATH:/usr/local/cuda/bin
D=/tmp/hg-s20h1; G=$D/harness_gap; mkdir -p $D
xz -dc "$HG/harness_gap.xz" > $G && chmod +x $G || { echo "s20h1: no harness at $HG"; echo "KEEP lib (size probe: no harness)"; exit 2; }
(U=$(cd "$HG" && pwd)/UNPACKED.sha256; cd $D && sha256sum -c "$U" > /dev/null 2>&1) && echo "s20h1: harness sha256 ok" || echo "s20h1: harness sha256 MISMATCH"
echo "s20h1: $(sha256sum $G | cut -c1-16) $(nvidia-smi --query-gpu=name,clocks.sm,temperature.gpu,power.draw --format=csv,noheader 2>/dev/null)"

EN=${EN:-aa pz pi1 pi2 po1 po2 px pnp np om}
( for f in mla_decode_sm90w_bf16 mla_decode_sm90w_bf16_gaa mla_decode_sm90w_bf16_gpz mla_decode_sm90w_bf16_gpi1 mla_decode_sm90w_bf16_gpi2 \
           mla_decode_sm90w_bf16_gpo1 mla_decode_sm90w_bf16_gpo2 mla_decode_sm90w_bf16_gpx mla_decode_sm90w_bf16_gpnp; do
    timeout 12 cuobjdump -sass -fun $f $G > $D/sass_$f.txt 2>&1
    echo "sass $f: HGMMA $(grep -c 'HGMMA' $D/sass_$f.txt) LDL $(grep -c 'LDL' $D/sass_$f.txt) STL $(grep -c 'STL' $D/sass_$f.txt) DFMA $(grep -c 'DFMA' $D/sass_$f.txt) lines $(wc -l < $D/sass_$f.txt)"
  done > "$O/sass.txt" 2>&1
  timeout 20 python3 bench/cuda/hopper/sass_opclass.py --text $G mla_decode_sm90w_bf16 > "$O/text.txt" 2>&1 ) &
psass=$!
gzip -1 -c $G > $D/harness_gap.gz
S14_ENTRIES="$EN" S14_Q4="aa lib" S14_SAN="px" S14_LIB=932758302 S14_TAG=s20h1-s14 HG=$D CHECK_N=${CHECK_N:-4} CHECK_NQ=${CHECK_NQ:-3} \
  CHECK_S=${CHECK_S:-10} SAN_S=${SAN_S:-10} AB_S=${AB_S:-7} ROUNDS=${ROUNDS:-8} IDLE_MS=${IDLE_MS:-40} \
  AB_SHAPES="${AB_SHAPES:-128,8192,128,2 128,4096,128,2 128,8192,128,1 128,8192,64,1}" \
  bash bench/cuda/hopper/s14_h1_slot.sh > "$O/s14.txt" 2>&1
grep -v '^s14h1 \|^s20h1-s14 rule' "$O/s14.txt"
wait $psass; cat "$O/sass.txt" "$O/text.txt"
ts "checks and A/B done"
python3 bench/cuda/hopper/s20_h1_rule.py "$(dirname "$O")/s14h1" "$O/sass.txt" "$O/text.txt" | tee "$O/summary.txt"
