#!/usr/bin/env bash
# Ran on commit 07bd6d45 (call 1) / e0020ee1 (call 2). The GEMM path and scripts/webgpu-tools/gemm-ab.mjs were removed
# after call 2 (slower than v5, wrong on the H200): their diff is results/gpu-host/bench/hopper/s46/gemm-as-measured.diff.xz.
# Session 46, call 1 (H200): dense decode's GEMM path on WebGPU (kernels/decode-gemm.ts) — its checks on real subgroup
# matrices, its time against v5 in one process (scripts/webgpu-tools/gemm-ab.mjs), the GPU suites with it forced, and
# the gathered sparse path over it. Predictions: results/gpu-host/bench/hopper/s46/predictions.txt.
#   OUT=$OUT bash bench/cuda/hopper/s46_call1.sh     (carry .ghc as .gpu-host and .devstage; PACK names the stage)
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_unpack "${PACK:-.devstage/s46.tar.xz}"
export FLASHMLA_GOLDEN=$PWD/test/fixtures/golden FLASHMLA_GOLDEN_SPARSE=$PWD/test/fixtures/golden-sparse
W=/tmp/s46; rm -rf $W; mkdir -p $W
T0=$(date +%s); ts() { echo "[$(( $(date +%s) - T0 ))s] $*"; }
lim() { local left=$(( ${BUDGET:-560} - ($(date +%s) - T0) )); [ $left -lt 15 ] && echo 1 || echo $(( left < $1 ? left : $1 )); }
nvidia-smi --query-gpu=name,driver_version,clocks.sm --format=csv,noheader
CLI=(node scripts/flashmla-dist.mjs build/src)
cat > $W/cfg.json <<'J'
[{"b":128,"s_k":8192,"h_q":128,"s_q":2},{"b":128,"s_k":8192,"h_q":128,"s_q":1},{"b":128,"s_k":8192,"h_q":64,"s_q":1},
 {"b":128,"s_k":8192,"h_q":32,"s_q":1},{"b":128,"s_k":8192,"h_q":16,"s_q":1},{"b":128,"s_k":4096,"h_q":128,"s_q":2},
 {"b":128,"s_k":1024,"h_q":64,"s_q":2},{"b":64,"s_k":4096,"h_q":64,"s_q":1},{"b":4,"seqlens":[4641,45118,1730,1696],"h_q":16,"s_q":4},
 {"b":1,"s_k":32768,"h_q":128,"s_q":1}]
J
ISO_RANDOM=24 timeout -k 5 $(lim 240) node scripts/webgpu-tools/gemm-ab.mjs --configs $W/cfg.json --reps 8 --out $W/gemm-ab.json > $W/gemm-ab.txt 2>&1
echo "gemm-ab rc $?"; grep -E "CHECK|^  |TIME|ROWS|rror" $W/gemm-ab.txt | cut -c1-260 | head -40
ts "ab done"
for t in backends/webgpu gpu/webgpu-matrix; do
  FLASHMLA_WEBGPU_GEMM=1 timeout -k 5 $(lim 100) node --test build/test/$t.test.js > $W/$(basename $t).tap 2>&1; echo "$t (gemm forced) rc $?"
  grep -E "^# (pass|fail|skipped|todo)|^not ok|^\s+not ok" $W/$(basename $t).tap | cut -c1-200 | head -8
done
ts "suites done"
for arm in gemm v5; do
  g=$([ $arm = gemm ] && echo 1 || echo 0)
  FLASHMLA_WEBGPU_GEMM=$g timeout -k 5 $(lim 110) "${CLI[@]}" bench --mode sparse --backend webgpu --dense-heads 16 --chain-calls 10 --out $W/wg-sparse-$arm.json -q > $W/wg-sparse-$arm.txt 2>&1
  echo "webgpu sparse $arm rc $?"; grep -E "warning|rror" $W/wg-sparse-$arm.txt | head -3
done
python3 - $W <<'P'
import json, sys, os
W = sys.argv[1]
d = {}
for a in ('gemm', 'v5'):
    try: d[a] = json.load(open(os.path.join(W, f'wg-sparse-{a}.json')))['rows']
    except Exception as e: print(a, e)
if len(d) == 2:
    for g, v in zip(d['gemm'], d['v5']):
        print(f"{g.get('format')}/b{g.get('b')}/h{g.get('hQ')}/s{g.get('sQ')}/k{g.get('topk')}: gemm {g.get('us',0):.0f} us  v5 {v.get('us',0):.0f} us  ratio {g.get('us',0)/max(v.get('us',1),1e-9):.3f}  {g.get('TFLOPS',0):.1f} TFLOPS")
P
ts "end"
tar czf "$OUT/s46-call1.tgz" -C $W .
cp $W/*.json $OUT/ 2>/dev/null
