#!/usr/bin/env bash
# Session 63, call 2 (issue #13): the decode products probe's session-63 forms (scripts/webgpu-decode-products-probe-forms.ts
# 12-20: form 3's score products in 2 / 3 independent chains, its phases alone; 16 rows a workgroup) beside forms 3, 0, 9 and the fixed PV-alone
# form 7 as this call's baselines, each form in a process of its own; everything under $W packed into $OUT/s63c1.tgz.
# Call 1 of the session ran s62_call1.sh on an H100 (form 3 led at 120.7 TFLOPS: 16-key tiles, Qᵀ in registers).
# Predictions (written before the run; TFLOPS as the decode's product flops, 132 requests x 4 groups x 2048 keys):
# form 3 115-125; 12 (2 chains) 125-140; 13 (3 chains) 125-145; 14 (2 chains, O split 2 ways) within 5 % of 12;
# 15 (32 rows, 3 chains) 85-100 (form 10: 82); 16 (form 3's scores alone) 45-60 % of form 3's time, 17 (the same in
# 2 chains) 0.6-0.85x of 16's time; 18 (form 3's PV alone) 30-45 % of form 3's time; 7 (form 0's PV alone) 10-30 % of
# form 0's time; 19 (16 rows, Qᵀ in registers) 60-90, 20 (16 rows, Qᵀ from storage) 30-60. Rules for issue #13: if no form reaches the WGSL GEMM's best (169 TFLOPS in call 1, products alone and
# no softmax), the 200-TFLOPS target at 128 / 256 rows is out of reach for a decode built on these products; 80 % of
# the H200's WGSL copy ceiling (3834 GB/s) takes 92 TFLOPS of products at 16 rows and 185 at 32 rows (1152 bytes a key).
#   (here)   rm -rf build && npx tsc -p tsconfig.json --noEmit false --outDir build --declaration false --sourceMap false
#            source bench/cuda/hopper/s29_common.sh && rm -f .devstage/*.tar.xz && s29_pack .devstage/s63c1.tar.xz
#   (device) ln -sfn .ghc .gpu-host && OUT=$OUT bash bench/cuda/hopper/s63_call1.sh > $OUT/log.txt 2>&1
export PACK=${PACK:-.devstage/s63c1.tar.xz} BUDGET=${BUDGET:-300}
source bench/cuda/hopper/s50_common.sh && s50_setup s63c1 # (W, CLI, ts, lim)
card=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1); echo "card: $card"
k=0
for i in ${FORMS:-3 12 13 14 15 16 17 18 19 20 0 7 9 3}; do
  k=$((k + 1)); f=$W/products-$k-form$i.json
  ( source .gpu-host/enter.sh >/dev/null
    timeout -k 5 "$(lim 45)" node build/scripts/webgpu-decode-products-probe.js --form $i --out "$f" > "${f%.json}.txt" 2>&1
    echo "products $i rc $?: $(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["result"]; print(r.get("keyTile"), r.get("q"), r.get("pvRows"), r.get("rows", 64), "chains", r.get("chains", 1), r.get("only", "all"), round(r.get("ms") or 0, 4), "ms", round(r.get("TFLOPS") or 0, 1), "TFLOPS", ("ok " + str(r.get("ok"))) if r.get("checked") else "unchecked", r.get("error", "")[:200])' "$f" 2>&1 | tail -1)" )
done
ts "products"
tar czf "$OUT/s63c1.tgz" -C "$W" .
ts end
