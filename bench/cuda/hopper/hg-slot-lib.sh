# Helpers of the harness_gap slots (sourced; session 20 w1, from s20_h1_slot.sh's prologue): the staged harness
# unpacked and checked, and the SASS / .text lines of its entries written in the background.
# hg_unpack TAG: $HG/harness_gap.xz -> $D/harness_gap ($D = /tmp/hg-TAG; sets D and G), the sha256 against
# $HG/UNPACKED.sha256 and the card line printed; no harness: "KEEP lib (...)" and exit 2 (the slot ends there).
hg_unpack() {
  D=/tmp/hg-$1; G=$D/harness_gap; mkdir -p $D
  xz -dc "$HG/harness_gap.xz" > $G && chmod +x $G || { echo "$1: no harness at $HG"; echo "KEEP lib (${HG_NOHG:-no harness})"; exit 2; }
  (U=$(cd "$HG" && pwd)/UNPACKED.sha256; cd $D && sha256sum -c "$U" > /dev/null 2>&1) && echo "$1: harness sha256 ok" || echo "$1: harness sha256 MISMATCH"
  echo "$1: $(sha256sum $G | cut -c1-16) $(nvidia-smi --query-gpu=name,clocks.sm,temperature.gpu,power.draw --format=csv,noheader 2>/dev/null)"
}
# hg_sass_text DIR KERNEL...: in the background (its pid in psass), per kernel "sass K: HGMMA n LDL n STL n <op> n ...
# lines n" (cuobjdump; the ops in HG_OPS, default DFMA) into DIR/sass.txt, and sass_opclass.py --text on the harness's
# mla_decode_sm90w_bf16 kernels into DIR/text.txt.
hg_sass_text() {
  local o=$1; shift
  ( for f in "$@"; do
      timeout 12 cuobjdump -sass -fun $f $G > $D/sass_$f.txt 2>&1
      local ops="" op
      for op in ${HG_OPS:-DFMA}; do ops="$ops $op $(grep -c "$op" $D/sass_$f.txt)"; done
      echo "sass $f: HGMMA $(grep -c 'HGMMA' $D/sass_$f.txt) LDL $(grep -c 'LDL' $D/sass_$f.txt) STL $(grep -c 'STL' $D/sass_$f.txt)$ops lines $(wc -l < $D/sass_$f.txt)"
    done > "$o/sass.txt" 2>&1
    timeout 20 python3 bench/cuda/hopper/sass_opclass.py --text $G mla_decode_sm90w_bf16 > "$o/text.txt" 2>&1 ) &
  psass=$!
}
# hg_s14 DIR TAG ENTRIES Q4 SAN LIB: s14_h1_slot.sh on the unpacked harness ($D) with the session-20 knobs (CHECK_N 8,
# CHECK_NQ 4, CHECK_S / SAN_S 12, AB_S 8, ROUNDS 10, IDLE_MS 40; the four rows of w1 / w2), its log in DIR/s14.txt, the
# lines other than its own rule printed; then the SASS lines of hg_sass_text (waited for). Session 20 (w2).
hg_s14() {
  local o=$1 tag=$2
  gzip -1 -c $G > $D/harness_gap.gz
  S14_ENTRIES="$3" S14_Q4="$4" S14_SAN="$5" S14_LIB=$6 S14_TAG=$tag-s14 HG=$D CHECK_N=${CHECK_N:-8} CHECK_NQ=${CHECK_NQ:-4} \
    CHECK_S=${CHECK_S:-12} SAN_S=${SAN_S:-12} AB_S=${AB_S:-8} ROUNDS=${ROUNDS:-10} IDLE_MS=${IDLE_MS:-40} \
    AB_SHAPES="${AB_SHAPES:-128,8192,128,2 128,4096,128,2 128,8192,128,1 128,8192,64,1}" \
    bash bench/cuda/hopper/s14_h1_slot.sh > "$o/s14.txt" 2>&1
  grep -v "^s14h1 \|^$tag-s14 rule" "$o/s14.txt"
  wait $psass; cat "$o/sass.txt" "$o/text.txt"
}
