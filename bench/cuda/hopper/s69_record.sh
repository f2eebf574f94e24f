#!/usr/bin/env bash
# Session 69 (issue #14): the sparse record of the build that s68_rule.py names after call 2, from call 2's own pack, so
# that no rebuild or new pack sits between the two calls. VARIANT is the rule's `dist-<variant>`: ship (the default
# build), q3 (MLA_SPARSE_SM90_QE1=3), q4 (QE1=4), qv1 (QE1=7) or ni (QE1=7 + MLA_SPARSE_SM90_NI=1). Each variant's
# fatbins are its manifest's build; the record's `commit` field is the pack's commit plus the variant's defines. The
# commit that ships the variant makes it the default, and its default build is checked byte for byte against the
# variant's fatbins (`cmp`) before the record is filed under it. The run itself is bench/cuda/hopper/s60_sparse.sh
# (FlashMLA 9241ae3's sparse table, then ours twice: arm a with the dense FP8 rows at 16 and 32 heads, arm b without).
# An H200 is the issue's card; on an H100 the record is an H100 reading (as sessions 65-67's).
#   (device) ln -sfn .ghc .gpu-host && OUT=$OUT bash bench/cuda/hopper/s69_record.sh VARIANT > $OUT/log.txt 2>&1   (carry .ghc/node_modules)
# Prediction (written before any run): on an H200, the shipped build (session 67's) 1.06-1.09x FlashMLA over the 12
# shapes (the H100's 1.085-1.090x; session 61's H200 record ran ~1 % below the H100 reading of the same kernels), MODEL1
# h128 top-k 512 the lowest at 0.99-1.03x; each shipped variant adds what call 2 measured on its shapes.
V=${1:?usage: s69_record.sh ship|q3|q4|qv1|ni}
card=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1); echo "card: $card, variant: $V"
source bench/cuda/hopper/s29_common.sh && s29_unpack .devstage/s68c2.tar.xz
if [ "$V" != ship ]; then
  [ -f "dist-$V/cuda/manifest.json" ] || { echo "no dist-$V in the pack"; exit 2; }
  cp "dist-$V"/cuda/* dist/cuda/
fi
defs=$(python3 -c 'import json; print(" ".join(f[2:] for f in json.load(open("dist/cuda/manifest.json"))["flags"] if f.startswith("-DMLA")))')
export FLASHMLA_COMMIT="$(cat .devstage/s29/commit.txt)${defs:+ + $defs}"
echo "commit field: $FLASHMLA_COMMIT"; sha256sum dist/cuda/sparse_sm90.fatbin
BUDGET=${BUDGET:-400} PACK=/nonexistent OUT=$OUT bash bench/cuda/hopper/s60_sparse.sh
