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
