#!/bin/bash
# Session 19 (h1): the wide dense kernel without its producer warpgroup (decode_sm90_wide.cu, VARB kVarBNoProd: 256
# threads, the TMA refills issued by the releasing consumer thread, up to 255 registers a thread without setmaxnreg).
# Harness entries (harness_gap.cu): lib = the shipped kLibVar x932758302 (384 threads), np = the same bits + kVarBNoProd;
# "+w" = combineWarps, as the library. Predictions and the ship rule: docs/notes/cuda-hopper-decode.md, "Session 19
# (h1)", written before any run. Harness only: needs neither dist/cuda, build/ nor Node; compute-sanitizer and
# cuobjdump from /usr/local/cuda/bin. From the merged tree's root:
#   OUT=<dir> timeout 110 bash bench/cuda/hopper/s19_h1_slot.sh          (~75-95 s warm; stage .devstage/s19-h1)
# 1. the SASS of np's entries (cuobjdump: HGMMA, LDL / STL, against lib's).
# 2. s14_h1_slot.sh on np: in parallel, random cases of np+w against the float64 reference (bf16 and f16, the harness's
#    64-256-row shapes, single and split requests), Q_SCALE 4 cases of np+w and lib+w, memcheck of np+w (2 cases); then,
#    if np checked clean, abb (interleaved bursts, the order alternating each round) of lib+w and np+w at b 128, s_k 8192
#    / 4096 x (h_q 128 s_q 2: 256 rows; h_q 128 s_q 1 and h_q 64 s_q 2: 128 rows), then the 64-row control (s_k 8192,
#    h_q 64 s_q 1). Its own rule line (s14_h1_rule.py's, tagged s19h1-s14) is kept in $OUT/s19h1/s14.txt, not judged.
# 3. the rule (s19_h1_rule.py): last line "SHIP np ..." or "KEEP lib ...". Files under $OUT/s19h1/ and $OUT/s14h1/.
set -u
S=$SECONDS; ts() { echo "[+$((SECONDS - S))s] $*"; }
O=${OUT:-./out}/s19h1; mkdir -p "$O"
HG=${HG:-.devstage/s19-h1}
export PATH=$PATH:/usr/local/cuda/bin
D=/tmp/hg-s19h1; G=$D/harness_gap; mkdir -p $D
xz -dc "$HG/harness_gap.xz" > $G && chmod +x $G || { echo "s19h1: no harness at $HG"; echo "KEEP lib (no harness)"; exit 2; }
(cd $D && sha256sum -c "$OLDPWD/$HG/UNPACKED.sha256" > /dev/null 2>&1) && echo "s19h1: harness sha256 ok" || echo "s19h1: harness sha256 MISMATCH"
echo "s19h1: $(sha256sum $G | cut -c1-16) $(nvidia-smi --query-gpu=name,clocks.sm,temperature.gpu,power.draw --format=csv,noheader 2>/dev/null)"

# 1. the SASS of np's entries against lib's (cuobjdump, in the background), and s14_h1_slot.sh's checks and A/B on np (its check / Q_SCALE 4
#    check / memcheck in parallel, abb of lib+w and np+w if np checked clean; it wants harness_gap.gz: made here)
( for f in mla_decode_sm90w_bf16 mla_decode_sm90w_bf16_gnp mla_decode_sm90w_f16_gnp; do # (CPU only: beside the checks)
    timeout 12 cuobjdump -sass -fun $f $G > $D/sass_$f.txt 2>&1
    echo "sass $f: HGMMA $(grep -c 'HGMMA' $D/sass_$f.txt) LDL $(grep -c 'LDL' $D/sass_$f.txt) STL $(grep -c 'STL' $D/sass_$f.txt) UTMALDG $(grep -c 'UTMALDG' $D/sass_$f.txt) WARPGROUP.DEPBAR $(grep -c 'WARPGROUP.DEPBAR' $D/sass_$f.txt) lines $(wc -l < $D/sass_$f.txt)"
  done > "$O/sass.txt" 2>&1 ) &
psass=$!
gzip -1 -c $G > $D/harness_gap.gz
S14_ENTRIES=np S14_Q4="np lib" S14_SAN=np S14_LIB=932758302 S14_TAG=s19h1-s14 HG=$D CHECK_N=${CHECK_N:-20} CHECK_NQ=${CHECK_NQ:-6} \
  CHECK_S=${CHECK_S:-40} SAN_S=${SAN_S:-40} AB_S=${AB_S:-8} ROUNDS=${ROUNDS:-8} IDLE_MS=${IDLE_MS:-50} \
  AB_SHAPES="${AB_SHAPES:-128,8192,128,2 128,8192,128,1 128,8192,64,2 128,4096,128,2 128,4096,128,1 128,4096,64,2 128,8192,64,1}" \
  bash bench/cuda/hopper/s14_h1_slot.sh > "$O/s14.txt" 2>&1
grep -v '^s14h1 \|^s19h1-s14 rule' "$O/s14.txt"
wait $psass; cat "$O/sass.txt"
ts "checks and A/B done"

# 2. the rule (written before any run, in the note): s14_h1_slot.sh's files are under $OUT/s14h1/
python3 bench/cuda/hopper/s19_h1_rule.py "$(dirname "$O")/s14h1" "$O/sass.txt" | tee "$O/summary.txt"
