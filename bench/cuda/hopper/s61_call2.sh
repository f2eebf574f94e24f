#!/usr/bin/env bash
# Session 61, call 2 (issue #13): the gemm probe's sets 5 and 6 recorded as JSON (call 1's hand-run forms: 16 products a
# subgroup at 128 x 256 / 256 x 128, 160-164 TFLOPS there, and 16-row tiles from storage, 20-38), each set in one
# process (the clock warm-up of session 60 makes a sweep's forms comparable).
# Predictions (written before the run): set 5 form 1 (2 x 4 subgroups, 4 x 4 products, kStep 32) 158-168 TFLOPS, form 0
# 130-135; set 6 forms 20-40.
#   (device) ln -sfn .ghc .gpu-host && PACK=.devstage/s61c2.tar.xz OUT=$OUT bash bench/cuda/hopper/s61_call2.sh > $OUT/log.txt 2>&1
export PACK=${PACK:-.devstage/s61c2.tar.xz} BUDGET=${BUDGET:-200}
source bench/cuda/hopper/s50_common.sh && s50_setup s61c2 # (W, CLI, ts, lim)
for set in 5 6; do
  ( source .gpu-host/enter.sh >/dev/null
    timeout -k 5 "$(lim 90)" node build/scripts/webgpu-matrix-gemm-probe.js --set $set --no-smem --no-copy --out "$W/set$set.json" > "$W/set$set.txt" 2>&1
    echo "set $set rc $?"
    python3 -c 'import json,sys; [print(g.get("tile"), g.get("subgroupsM"), g.get("subgroupsN"), g.get("lefts"), g.get("rights"), g.get("source", "staged"), round(g.get("TFLOPS", 0), 1), g.get("ok"), g.get("error", "")[:100]) for g in json.load(open(sys.argv[1]))["gemm"]]' "$W/set$set.json" 2>&1 | tail -12 )
  ts "set $set"
done
tar czf "$OUT/s61c2.tgz" -C "$W" --exclude '*.txt' .
ts end
