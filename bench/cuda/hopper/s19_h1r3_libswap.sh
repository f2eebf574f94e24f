#!/bin/bash
# Session 19 round 3 (h1): put a staged candidate's library build of the wide kernel into dist/cuda (for the final call's
# sm90-wide / dense checks of a SHIP; see docs/notes/cuda-hopper-decode.md, "Session 19 round 3 (h1)"). From the merged
# tree's root, after dist/cuda holds the shipped fatbins:  bash bench/cuda/hopper/s19_h1r3_libswap.sh <om|sg|s5>
# Replaces dist/cuda/decode_sm90_wide.fatbin (staged lib_<entry>/decode_sm90_wide.fatbin.xz, built with
# -DMLA_SM90W_LIB_VARB=<bits>) and its checksum in dist/cuda/manifest.json; the repository's source must then carry
# kLibVarB = <bits> (4 / 12 / 20) for build-kernels to reproduce it.
set -eu
e=${1:?entry: om, sg or s5}; HG=${HG:-.devstage/s19-h1/r3}
xz -dc "$HG/lib_$e/decode_sm90_wide.fatbin.xz" > dist/cuda/decode_sm90_wide.fatbin
want=$(cut -c1-64 "$HG/lib_$e/FATBIN.sha256"); got=$(sha256sum dist/cuda/decode_sm90_wide.fatbin | cut -c1-64)
[ "$want" = "$got" ] || { echo "s19h1r3 libswap: sha256 mismatch ($got, want $want)"; exit 1; }
python3 -c "import json,sys; p='dist/cuda/manifest.json'; m=json.load(open(p)); m['files']['decode_sm90_wide.fatbin']=sys.argv[1]; json.dump(m, open(p,'w'), indent=2)" "$got"
echo "s19h1r3 libswap: dist/cuda/decode_sm90_wide.fatbin = lib_$e ($got)"
