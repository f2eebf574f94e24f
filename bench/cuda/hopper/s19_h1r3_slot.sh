#!/bin/bash
# Session 19 round 3 (h1): tensor work under softmax A (call C3's timeline: gap_a, 947 of 1654 idle SM cycles a pair at
# 256 rows). Harness entries (harness_gap.cu, VARB bits of decode_sm90_wide.cu on the shipped x932758302, 384 threads,
# bf16 and f16): om = kVarBOwnMax (warpgroup 1's softmax B against its own maximum, P_B V_B[R] issued before barrier 1;
# exact), sg = om + kVarBStag (warpgroup 0's S walk behind warpgroup 1's whole walk), s5 = om + kVarBStag5 (behind its
# first five boxes). Predictions and the ship rule: docs/notes/cuda-hopper-decode.md, "Session 19 round 3 (h1)", written
# before any run. Harness only (needs neither dist/cuda, build/ nor Node; cuobjdump / compute-sanitizer from
# /usr/local/cuda/bin). From the merged tree's root:
#   OUT=<dir> timeout 75 bash bench/cuda/hopper/s19_h1r3_slot.sh          (~25-35 s warm, ~62 s at most; stage .devstage/s19-h1/r3)
# 1. SASS of the six entries against lib's (cuobjdump, beside the checks).
# 2. s14_h1_slot.sh on om sg s5: in parallel, random cases of each +w against the float64 reference (bf16 and f16,
#    64-256 rows, single and split requests), Q_SCALE 4 cases of each and of lib, memcheck of each (2 cases); then abb
#    (interleaved bursts) of lib+w and every entry that checked clean at b 128: s_k 8192 / 4096 x (h_q 128 s_q 2: 256
#    rows; h_q 128 s_q 1 and h_q 64 s_q 2: 128 rows), and the 64-row control (s_k 8192 h_q 64 s_q 1).
# 3. the rule (s19_h1r3_rule.py): last line "SHIP <entry> ..." or "KEEP lib ...". Files under $OUT/s19h1r3/, $OUT/s14h1/.
# A SHIP's library fatbin is staged beside the harness: .devstage/s19-h1/r3/lib_<entry>/decode_sm90_wide.fatbin (the
# source's kLibVarB set to the entry's bits; see the note for the final call's steps).
set -u
S=$SECONDS; ts() { echo "[+$((SECONDS - S))s] $*"; }
O=${OUT:-./out}/s19h1r3; mkdir -p "$O"
HG=${HG:-.devstage/s19-h1/r3}
export PATH=$PATH:/usr/local/cuda/bin
D=/tmp/hg-s19h1r3; G=$D/harness_gap; mkdir -p $D
xz -dc "$HG/harness_gap.xz" > $G && chmod +x $G || { echo "s19h1r3: no harness at $HG"; echo "KEEP lib (no harness)"; exit 2; }
(cd $D && sha256sum -c "$OLDPWD/$HG/UNPACKED.sha256" > /dev/null 2>&1) && echo "s19h1r3: harness sha256 ok" || echo "s19h1r3: harness sha256 MISMATCH"
echo "s19h1r3: $(sha256sum $G | cut -c1-16) $(nvidia-smi --query-gpu=name,clocks.sm,temperature.gpu,power.draw --format=csv,noheader 2>/dev/null)"

EN=${EN:-om sg s5}
( for f in mla_decode_sm90w_bf16 mla_decode_sm90w_bf16_gom mla_decode_sm90w_bf16_gsg mla_decode_sm90w_bf16_gs5 mla_decode_sm90w_f16_gom mla_decode_sm90w_f16_gsg mla_decode_sm90w_f16_gs5; do
    timeout 12 cuobjdump -sass -fun $f $G > $D/sass_$f.txt 2>&1
    echo "sass $f: HGMMA $(grep -c 'HGMMA' $D/sass_$f.txt) LDL $(grep -c 'LDL' $D/sass_$f.txt) STL $(grep -c 'STL' $D/sass_$f.txt) lines $(wc -l < $D/sass_$f.txt)"
  done > "$O/sass.txt" 2>&1 ) &
psass=$!
gzip -1 -c $G > $D/harness_gap.gz
S14_ENTRIES="$EN" S14_Q4="$EN lib" S14_SAN="$EN" S14_LIB=932758302 S14_TAG=s19h1r3-s14 HG=$D CHECK_N=${CHECK_N:-24} CHECK_NQ=${CHECK_NQ:-6} \
  CHECK_S=${CHECK_S:-20} SAN_S=${SAN_S:-25} AB_S=${AB_S:-5} ROUNDS=${ROUNDS:-8} IDLE_MS=${IDLE_MS:-50} \
  AB_SHAPES="${AB_SHAPES:-128,8192,128,2 128,4096,128,2 128,8192,128,1 128,8192,64,2 128,4096,128,1 128,4096,64,2 128,8192,64,1}" \
  bash bench/cuda/hopper/s14_h1_slot.sh > "$O/s14.txt" 2>&1
grep -v '^s14h1 \|^s19h1r3-s14 rule' "$O/s14.txt"
wait $psass; cat "$O/sass.txt"
ts "checks and A/B done"
python3 bench/cuda/hopper/s19_h1r3_rule.py "$(dirname "$O")/s14h1" "$O/sass.txt" | tee "$O/summary.txt"
