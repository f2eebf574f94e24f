#!/usr/bin/env bash
# Prepared in session 44 (no device that session), for the next session's first call (H200, ~4-6 min warm):
# (1) the batched MLA step's diagnosis: test/backends/webgpu-batch.test.ts now runs the step batched, unbatched on the
#     same backend and unbatched on a second backend made on the device, naming each differing pair, and checks that the
#     second backend sees the same abilities (caps) and decode path; plus the index-words test (the step's separate
#     index tensors are now views of the packed words);
# (2) the sparse bench's chained protocol: FlashMLA 9241ae3 through bench/cuda/flashmla_sparse_protocols.py
#     --graph-calls 10 (adds us_graph, never run before), then ours on WebGPU chained 10 to a submission and back to
#     back, and on CUDA back to back, all on FlashMLA's 12 shapes.
# Rules and predictions go into results/gpu-host/bench/hopper/s44/predictions.txt before the call.
#   OUT=$OUT bash bench/cuda/hopper/s44_next.sh        (carry .ghc as .gpu-host and .devstage; PACK names the stage)
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_unpack "${PACK:-.devstage/s44.tar.xz}"
export FLASHMLA_GOLDEN=$PWD/test/fixtures/golden
W=/tmp/s44-next; rm -rf $W; mkdir -p $W
T0=$(date +%s); ts() { echo "[$(( $(date +%s) - T0 ))s] $*"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm --format=csv,noheader
CLI=(node scripts/flashmla-dist.mjs build/src)
# (1) WebGPU tests: the diagnosis (the todo's message names the differing pairs), the views of the index words
for t in webgpu-batch webgpu-index-words; do
  timeout -k 5 200 node --test build/test/backends/$t.test.js > $W/$t.tap 2>&1; echo "$t rc $?"
  grep -E "^# (pass|fail|skipped|todo)|^not ok|differ|vs |caps|decodePath" $W/$t.tap | cut -c1-240 | head -20
done
ts "tests done"
# (2) sparse: FlashMLA with us_graph, ours chained / back to back
PYTHONUNBUFFERED=1 timeout -k 5 240 python3 bench/cuda/flashmla_sparse_protocols.py .gpu-host/anchors/flashmla-sparse --graph-calls 10 --out $W/fp-sparse.json > $W/fp-sparse.txt 2>&1; echo "sparse anchor rc $?"; tail -3 $W/fp-sparse.txt
python3 - $W/fp-sparse.json <<'P'
import json, sys
d = json.load(open(sys.argv[1]))
for r in d.get('rows', []):
    if r.get('kind') == 'sparse_fp8':
        print(' ', r['format'], r['b'], r['h_q'], r['s_q'], r['topk'], 'us', round(r['us'], 1), 'b2b', r.get('us_b2b') and round(r['us_b2b'], 1), 'graph', r.get('us_graph') and round(r['us_graph'], 1), r.get('graph_error', ''))
P
# (the sparse kernel's heads a workgroup, session 44: chosen per call against G = 1 forced, back to back)
for arm in chain10 b2b heads1; do
  case $arm in chain10) extra="--chain-calls 10";; *) extra="";; esac
  case $arm in heads1) export FLASHMLA_WEBGPU_SPARSE_HEADS=1;; *) unset FLASHMLA_WEBGPU_SPARSE_HEADS;; esac
  timeout -k 5 240 "${CLI[@]}" bench --mode sparse --backend webgpu --flashmla $W/fp-sparse.json --dense-heads 16,32 $extra --out $W/wg-sparse-$arm.json -q > $W/wg-sparse-$arm.txt 2>&1
  echo "webgpu sparse $arm rc $?"; grep -E "geometric|warning" $W/wg-sparse-$arm.txt | head -3
done
unset FLASHMLA_WEBGPU_SPARSE_HEADS
timeout -k 5 200 node --test build/test/backends/webgpu-sparse.test.js > $W/webgpu-sparse.tap 2>&1; echo "webgpu-sparse rc $?"; grep -E "^# (pass|fail)|^not ok" $W/webgpu-sparse.tap | head -5
timeout -k 5 240 "${CLI[@]}" bench --mode sparse --backend cuda --flashmla $W/fp-sparse.json --dense-heads 16,32 --out $W/cuda-sparse-b2b.json -q > $W/cuda-sparse-b2b.txt 2>&1
echo "cuda sparse b2b rc $?"; grep -E "geometric|warning" $W/cuda-sparse-b2b.txt | head -3
ts "end"
tar czf "$OUT/s44-next.tgz" -C $W .
cp $W/*.json $OUT/ 2>/dev/null
