#!/usr/bin/env bash
# Session 29, call 4 (H200): MLA_SM90_SOLO=2 ("last": no merge on a CTA's last item when it has one tile) and
# MLA_SM90_SOLO ("all") against the default build, arms ship last all all last ship on 68 shapes; FlashMLA 9241ae3 on the
# same shapes; the sm90 suite on "last". Predictions and rule: results/gpu-host/bench/hopper/s29/predictions.txt.
# Carry .gpu-host and .devstage/s29c4.tar.xz (s29_pack ... last solo):   OUT=$OUT bash bench/cuda/hopper/s29_call4.sh
set -uo pipefail
PACK=${PACK:-.devstage/s29c4.tar.xz}
source bench/cuda/hopper/s29_common.sh && s29_unpack "$PACK"
OUT=${OUT:-/tmp/s29}; mkdir -p "$OUT/f/ab"
T0=$(date +%s); ts() { echo "[$(( $(date +%s) - T0 ))s] $*"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu --format=csv,noheader
CLI=(node scripts/flashmla-dist.mjs build/src)
python3 - "$OUT/ab.json" <<'P'
import json, sys
a = json.load(open('bench/cuda/small-batch.json')); b = json.load(open('bench/cuda/combine-holdout.json'))
u = a + [x for x in b if x not in a]
u += [{"b": 128, "s_k": sk, "h_q": hq, "s_q": sq} for sk in (1024, 4096, 8192) for hq, sq in ((16, 1), (16, 2), (32, 1))]
json.dump(u, open(sys.argv[1], 'w'))
P
( FLASHMLA_CUDA_KERNELS=dist-last/cuda timeout -k 5 200 node --test --test-reporter=tap build/test/gpu/sm90.test.js > "$OUT/f/sm90-last.txt" 2>&1; echo "exit $?" >> "$OUT/f/sm90-last.txt" ) 
ts "sm90 last: $(grep -E '^# (pass|fail)' "$OUT/f/sm90-last.txt" | tr '\n' ' ')"
i=0
for arm in ship last solo solo last ship; do
  i=$((i + 1)); k=dist/cuda; [ $arm != ship ] && k=dist-$arm/cuda
  FLASHMLA_CUDA_KERNELS=$k timeout -k 5 100 "${CLI[@]}" bench --backend cuda --configs "$OUT/ab.json" --reps 40 --check 1 -q --out "$OUT/f/ab/ab-$i-$arm.json" > "$OUT/f/ab/ab-$i-$arm.txt" 2>&1 || echo "ab $arm rc $?"
  ts "arm $i $arm"
done
python3 bench/cuda/hopper/s29_ab_read.py "$OUT/f/ab" last solo | tee "$OUT/f/ab.txt" | grep -E '^(last|solo):'
PYTHONUNBUFFERED=1 timeout -k 5 200 python3 .gpu-host/anchors/bench_flashmla.py --configs "$OUT/ab.json" --out "$OUT/f/flashmla.json" --no-triton > "$OUT/f/flashmla.txt" 2>&1; echo "flashmla rc $?"
ts "flashmla done"
rm -f "$OUT"/f/ab/*.svg
tar czf "$OUT/s29c4-files.tgz" -C "$OUT" f && rm -rf "$OUT/f"
ts end
