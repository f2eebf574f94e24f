#!/usr/bin/env bash
# Session 43, call 1 (H200): (1) helper h2's bf16 split-K A/B (bench/cuda/hopper/s43_h2.sh PART=bench without its two
# tuning arms); (2) helper h1's WebGPU batch: the GPU tests (webgpu-batch, webgpu-layer), the WebGPU layer step through
# bench/mla/layer.ts (one submission a step now), and --chain-calls 10 against one call a repetition on six shapes,
# FlashMLA 9241ae3 under both protocols in the same call (bench/cuda/flashmla_protocols.py).
#   OUT=$OUT bash bench/cuda/hopper/s43_call1.sh        (carry .ghc as .gpu-host and .devstage)
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_unpack "${PACK:-.devstage/s43c1.tar.xz}"
export FLASHMLA_GOLDEN=$PWD/test/fixtures/golden
W=/tmp/s43-c1; rm -rf $W; mkdir -p $W
T0=$(date +%s); ts() { echo "[$(( $(date +%s) - T0 ))s] $*"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm --format=csv,noheader
# (1) bf16 split-K
for d in dist-s43pre dist; do
  FLASHMLA_CUDA_LAYER_SPLITK=0 FLASHMLA_CUDA_KERNELS=$d/cuda timeout -k 5 120 node build/bench/cuda/hopper/layer-gemm-bits.js > $W/bits-$d.txt 2>&1; echo "bits $d rc $?"
done
if cmp -s $W/bits-dist-s43pre.txt $W/bits-dist.txt; then echo "BITS SAME ($(wc -l < $W/bits-dist.txt) lines)"; else echo "BITS DIFFER"; diff $W/bits-dist-s43pre.txt $W/bits-dist.txt | head -20; fi
prof() { local n=$1; shift
  env "$@" timeout -k 5 120 node build/bench/mla/layer-profile.js --backend cuda --precision bf16 --shape v3 --batch 64 --context 4096 --reps 5 --chain 20 --json "$W/prof-$n.json" > "$W/prof-$n.txt" 2>&1
  echo "== prof $n rc $?"; grep -E "^(step 4|forwardDevice chained|replayed|gemm|decode )" "$W/prof-$n.txt" | cut -c1-100; }
prof bf16-split; prof bf16-nosplit FLASHMLA_CUDA_LAYER_SPLITK=0; prof bf16-split2
layer() { local n=$1 be=$2 pr=$3; shift 3
  env "$@" timeout -k 5 120 node build/bench/mla/layer.js --backend $be --precision $pr --shape v3 --batch 64 --context 4096 --reps 20 --json "$W/layer-$n.json" > "$W/layer-$n.txt" 2>&1
  echo "== layer $n rc $? $(grep -o '"median_ms":[0-9.]*,"min_ms":[0-9.]*' "$W/layer-$n.txt") $(grep -o '"device_median_ms":[0-9.]*' "$W/layer-$n.txt")"; }
layer cuda-bf16-split cuda bf16; layer cuda-bf16-nosplit cuda bf16 FLASHMLA_CUDA_LAYER_SPLITK=0; layer cuda-bf16-split2 cuda bf16
ts "split-K done"
# (2) WebGPU: tests, the layer step, chained decode
timeout -k 5 150 node --test build/test/backends/webgpu-batch.test.js > $W/webgpu-batch.tap 2>&1; echo "webgpu-batch rc $?"; grep -E "^# (pass|fail|skipped)|^not ok" $W/webgpu-batch.tap | head
timeout -k 5 150 node --test build/test/backends/webgpu-layer.test.js > $W/webgpu-layer.tap 2>&1; echo "webgpu-layer rc $?"; grep -E "^# (pass|fail|skipped)|^not ok" $W/webgpu-layer.tap | head
layer webgpu-f32 webgpu f32; layer webgpu-bf16 webgpu bf16
ts "webgpu tests + layer done"
cat > $W/cfg.json <<'J'
[{"b":1,"s_k":32768,"h_q":16,"s_q":1},{"b":1,"s_k":4096,"h_q":16,"s_q":1},{"b":4,"seqlens":[4641,45118,1730,1696],"h_q":16,"s_q":4},{"b":16,"s_k":1024,"h_q":16,"s_q":1},{"b":128,"s_k":1024,"h_q":16,"s_q":1},{"b":128,"s_k":8192,"h_q":16,"s_q":1}]
J
PYTHONUNBUFFERED=1 timeout -k 5 150 python3 bench/cuda/flashmla_protocols.py .gpu-host/anchors --configs $W/cfg.json --out $W/flashmla-protocols.json > $W/flashmla.txt 2>&1; echo "flashmla rc $?"; tail -2 $W/flashmla.txt
for arm in one chain10 one2 chain10b; do
  case $arm in one*) extra="";; *) extra="--chain-calls 10";; esac
  timeout -k 5 150 node scripts/flashmla-dist.mjs build/src bench --backend webgpu --configs $W/cfg.json --flashmla $W/flashmla-protocols.json --no-ceilings --warmup 3 --reps 20 --check 1 $extra --out $W/wg-$arm.json > $W/wg-$arm.txt 2>&1
  echo "bench $arm rc $?"; grep -aE "matched|warning" $W/wg-$arm.txt | cut -c1-200 | head -3
done
python3 - $W <<'P'
import json, sys, os
w = sys.argv[1]
for a in ('one', 'chain10', 'one2', 'chain10b'):
    f = os.path.join(w, f'wg-{a}.json')
    if not os.path.exists(f): print(a, 'missing'); continue
    d = json.load(open(f))
    print(a, 'chain', d.get('chain_calls'), 'protocol', d.get('protocol'), d.get('flashmla_protocol'))
    for r in d['rows']:
        print('  ', r.get('b'), r.get('s_k') or 'var', r.get('h_q'), r.get('s_q'), round(r['ms'] * 1000, 2), 'us', 'fm', r.get('flashmla_ms') and round(r['flashmla_ms'] * 1000, 2), 'ratio', r.get('ratio_vs_flashmla') and round(r['ratio_vs_flashmla'], 3), 'check', r.get('check', {}).get('ok'))
P
ts "end"
tar czf "$OUT/s43c1.tgz" -C $W .
cp $W/wg-*.json $OUT/ 2>/dev/null
