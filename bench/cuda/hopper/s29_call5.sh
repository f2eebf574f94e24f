#!/usr/bin/env bash
# Session 29, call 5 (H200): the SASS at the verification build's remaining racecheck sites (dense FP8's 32-row entry
# +0x1de0 / +0x5cf0; the wide kernel's +0x7170 / +0x11120), whole functions kept for reading.
# Carry .gpu-host and .devstage/s29c5.tar.xz (s29_pack ... strict):   OUT=$OUT bash bench/cuda/hopper/s29_call5.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s29c5.tar.xz}"
W=bench/cuda/hopper/s28_sass_windows.py
cuobjdump -sass -fun mla_dense_fp8_sm90_v32_bf16_n32 dist-strict/cuda/dense_fp8_sm90.fatbin > "$OUT/f/dn32-strict.sass"
cuobjdump -sass -fun mla_decode_sm90w_bf16 dist-strict/cuda/decode_sm90_wide.fatbin > "$OUT/f/wide-strict.sass"
for f in dn32-strict wide-strict; do echo "$f: $(grep -c '/\*[0-9a-f]*\*/' "$OUT/f/$f.sass") lines"; done
echo "### dense n32, strict"; python3 $W "$OUT/f/dn32-strict.sass" 0x1de0 0x5cf0
echo "### wide, strict"; python3 $W "$OUT/f/wide-strict.sass" 0x7170 0x11120
xz -T4 "$OUT"/f/*.sass; tar cf "$OUT/s29c5-files.tar" -C "$OUT" f && rm -rf "$OUT/f"
