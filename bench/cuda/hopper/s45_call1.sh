#!/usr/bin/env bash
# Session 45, call 1 (H200): session 44's prepared questions (s44_next.sh: the batched MLA step's diagnosis, FlashMLA's
# sparse us_graph, the WebGPU sparse kernel's heads a workgroup) and the new gathered sparse path
# (kernels/sparse-gather.ts: the referenced tokens decoded into 16-bit pages, then the dense matrix kernel), which
# 'auto' now takes on the H200. Predictions: results/gpu-host/bench/hopper/s45/predictions.txt.
#   OUT=$OUT bash bench/cuda/hopper/s45_call1.sh     (carry .ghc as .gpu-host and .devstage; PACK names the stage)
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_unpack "${PACK:-.devstage/s45.tar.xz}"
export FLASHMLA_GOLDEN=$PWD/test/fixtures/golden FLASHMLA_GOLDEN_SPARSE=$PWD/test/fixtures/golden-sparse
W=/tmp/s45; rm -rf $W; mkdir -p $W
T0=$(date +%s); ts() { echo "[$(( $(date +%s) - T0 ))s] $*"; }
# lim MAX: a step's timeout, MAX seconds or what is left of the call's 570 s (0: skip the step)
lim() { local left=$(( 570 - ($(date +%s) - T0) )); [ $left -lt 15 ] && echo 1 || echo $(( left < $1 ? left : $1 )); }
nvidia-smi --query-gpu=name,driver_version,clocks.sm --format=csv,noheader
CLI=(node scripts/flashmla-dist.mjs build/src)
# (1) the batched step's diagnosis, the index-word views
for t in webgpu-batch webgpu-index-words; do
  timeout -k 5 $(lim 120) node --test build/test/backends/$t.test.js > $W/$t.tap 2>&1; echo "$t rc $?"
  grep -E "^# (pass|fail|skipped|todo)|^not ok|differ|vs |caps|decodePath" $W/$t.tap | cut -c1-240 | head -20
done
ts "batch tests done"
# (2) correctness of the gathered path on subgroup matrices: FlashMLA's sparse goldens (extra cache, sink) and random
# cases against the float64 reference (the suite's backend: auto = gathered on the H200), then the lavapipe-sized suite
FLASHMLA_WEBGPU_SPARSE_CASES=300 FLASHMLA_WEBGPU_DENSE_FP8_CASES=100 timeout -k 5 $(lim 120) node --test build/test/long/webgpu-sparse.test.js > $W/long-sparse-gather.tap 2>&1
echo "long webgpu-sparse (gathered) rc $?"; grep -E "^# (pass|fail|skipped)|^not ok|seed|bound" $W/long-sparse-gather.tap | cut -c1-240 | head -12
for t in webgpu-sparse webgpu-sparse-gather; do
  timeout -k 5 $(lim 90) node --test build/test/backends/$t.test.js > $W/$t.tap 2>&1; echo "$t rc $?"; grep -E "^# (pass|fail)|^not ok" $W/$t.tap | head -5
done
ts "sparse tests done"
# (3) FlashMLA's sparse decode with us_graph
PYTHONUNBUFFERED=1 timeout -k 5 $(lim 150) python3 bench/cuda/flashmla_sparse_protocols.py .gpu-host/anchors/flashmla-sparse --graph-calls 10 --out $W/fp-sparse.json > $W/fp-sparse.txt 2>&1; echo "sparse anchor rc $?"; tail -3 $W/fp-sparse.txt
python3 - $W/fp-sparse.json <<'P'
import json, sys
d = json.load(open(sys.argv[1]))
for r in d.get('rows', []):
    if r.get('kind') == 'sparse_fp8':
        print(' ', r['format'], r['b'], r['h_q'], r['s_q'], r['topk'], 'us', round(r['us'], 1), 'b2b', r.get('us_b2b') and round(r['us_b2b'], 1), 'graph', r.get('us_graph') and round(r['us_graph'], 1), r.get('graph_error', ''))
P
ts "anchor done"
# (4) WebGPU sparse on FlashMLA's 12 shapes: gathered (auto) back to back and chained 10 a submission; direct with the
# heads chosen per call and with G = 1 forced
for arm in gather-b2b direct-b2b gather-v6-b2b gather-chain10 direct-heads1; do
  extra=""; unset FLASHMLA_WEBGPU_SPARSE_HEADS FLASHMLA_WEBGPU_SPARSE_PATH FLASHMLA_WEBGPU_MATRIX_VERSION
  case $arm in gather-chain10) extra="--chain-calls 10";; direct-*) extra="--reps 12 --warmup 3"; export FLASHMLA_WEBGPU_SPARSE_PATH=direct;; esac
  case $arm in direct-heads1) export FLASHMLA_WEBGPU_SPARSE_HEADS=1;; gather-v6-b2b) export FLASHMLA_WEBGPU_MATRIX_VERSION=6;; esac
  timeout -k 5 $(lim 120) "${CLI[@]}" bench --mode sparse --backend webgpu --flashmla $W/fp-sparse.json --dense-heads 16,32 $extra --out $W/wg-sparse-$arm.json -q > $W/wg-sparse-$arm.txt 2>&1
  echo "webgpu sparse $arm rc $?"; grep -E "geometric|warning|rror" $W/wg-sparse-$arm.txt | head -3
done
unset FLASHMLA_WEBGPU_SPARSE_HEADS FLASHMLA_WEBGPU_SPARSE_PATH FLASHMLA_WEBGPU_MATRIX_VERSION
python3 - $W <<'P'
import json, sys, os, glob
W = sys.argv[1]
arms = {}
for f in sorted(glob.glob(os.path.join(W, 'wg-sparse-*.json'))):
    try: arms[os.path.basename(f)[10:-5]] = json.load(open(f))
    except Exception as e: print(f, e)
keys = None
for arm, d in arms.items():
    rows = d.get('rows', [])
    print(arm, ' '.join(f"{r.get('format','?')}/b{r.get('b')}/h{r.get('hQ')}/s{r.get('sQ')}/k{r.get('topk')}:{r.get('us', 0):.0f}us({r.get('ratio_vs_flashmla') or 0:.3f})" for r in rows))
P
ts "webgpu sparse done"
timeout -k 5 $(lim 100) "${CLI[@]}" bench --mode sparse --backend cuda --flashmla $W/fp-sparse.json --dense-heads 16,32 --out $W/cuda-sparse-b2b.json -q > $W/cuda-sparse-b2b.txt 2>&1
echo "cuda sparse b2b rc $?"; grep -E "geometric|warning" $W/cuda-sparse-b2b.txt | head -3
ts "end"
tar czf "$OUT/s45-call1.tgz" -C $W .
cp $W/*.json $OUT/ 2>/dev/null
