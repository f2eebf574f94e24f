#!/usr/bin/env bash
# Session 65, call 5 (issue #14): the H200 record of the shipped build (noxq), if the call gets an H200 (on any other card
# it stops at once: calls 2-3 measured the H100): FlashMLA 9241ae3's sparse table, then `flashmla bench --mode sparse`
# once (FlashMLA's 12 shapes, do_bench's loop, flush 256 MB), within the session's last device minutes.
# Prediction (written before the run): 1.035-1.06x geomean (session 61's 1.013x with the pass; the H100 gained 2.6 % from
# the pass's removal and the producer without the extra cache), MODEL1 h128 top-k 512 0.96-0.98x.
#   (here)   rm -rf build && npx tsc -p tsconfig.json --noEmit false --outDir build --declaration false --sourceMap false
#            node scripts/build-kernels.mjs --launch build/src/backends/cuda/kernels/launch.js --out dist/cuda --gencode arch=compute_90a,code=sm_90a
#            source bench/cuda/hopper/s29_common.sh && s29_pack .devstage/s65c5.tar.xz
#   (device) ln -sfn .ghc .gpu-host && OUT=$OUT bash bench/cuda/hopper/s65_call5.sh > $OUT/log.txt 2>&1
# Run in session 65 (10:37 UTC): the call got an H100 and stopped ("not an H200: nothing run"); to be run when an H200 comes.
card=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1); echo "card: $card"
case "$card" in *H200*) ;; *) echo "not an H200: nothing run"; exit 0 ;; esac
export PACK=${PACK:-.devstage/s65c5.tar.xz} BUDGET=${BUDGET:-140}
source bench/cuda/hopper/s50_common.sh && s50_setup s65c5 # (W, CLI, ts, lim)
PYTHONUNBUFFERED=1 timeout -k 5 "$(lim 60)" python3 bench/cuda/flashmla_sparse_protocols.py .gpu-host/anchors/flashmla-sparse --out "$W/fp-sparse.json" --deadline 45 > "$W/fp-sparse.txt" 2>&1 || echo "sparse anchor rc $?"
ts "flashmla sparse"
timeout -k 5 "$(lim 60)" "${CLI[@]}" bench --mode sparse --backend cuda --flush-mb 256 --dense-heads none --flashmla "$W/fp-sparse.json" \
  --out "$W/cuda-sparse.json" > "$W/cuda-sparse.txt" 2>&1
echo "cuda-sparse rc $?"; grep -aE "geometric|lowest" "$W/cuda-sparse.txt" | cut -c1-200 | head -4
python3 - "$W/cuda-sparse.json" <<'P'
import json, sys
for r in json.load(open(sys.argv[1]))['rows']:
    print(r['label'], 'h_q', r['hQ'], 's_q', r['sQ'], 'topk', r['topk_total'], f"{r['us']:.1f} us", r.get('kernel', ''), 'vs FlashMLA', round(r.get('ratio_vs_flashmla', 0), 3))
P
cp "$W/cuda-sparse.json" "$W/fp-sparse.json" "$OUT/"
ts end
