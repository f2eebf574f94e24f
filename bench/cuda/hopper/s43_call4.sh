#!/usr/bin/env bash
# Session 43, call 4 (H200): MlaDecoder's index words read in place on WebGPU (no staging copies a call): the six
# shapes of call 1, one call a repetition and --chain-calls 10, twice each, FlashMLA's graph replay in the same call;
# then the WebGPU suites on the GPU (index-words, webgpu, the matrix suite with 150 random cases, batch).
#   OUT=$OUT bash bench/cuda/hopper/s43_call4.sh  (carry .ghc, .devstage)
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_unpack "${PACK:-.devstage/s43c4.tar.xz}"
export FLASHMLA_GOLDEN=$PWD/test/fixtures/golden
W=/tmp/s43-c4; rm -rf $W; mkdir -p $W
cat > $W/cfg.json <<'J'
[{"b":1,"s_k":32768,"h_q":16,"s_q":1},{"b":1,"s_k":4096,"h_q":16,"s_q":1},{"b":4,"seqlens":[4641,45118,1730,1696],"h_q":16,"s_q":4},{"b":16,"s_k":1024,"h_q":16,"s_q":1},{"b":128,"s_k":1024,"h_q":16,"s_q":1},{"b":128,"s_k":8192,"h_q":16,"s_q":1}]
J
PYTHONUNBUFFERED=1 timeout -k 5 150 python3 bench/cuda/flashmla_protocols.py .gpu-host/anchors --configs $W/cfg.json --out $W/flashmla-protocols.json > $W/flashmla.txt 2>&1; echo "flashmla rc $?"
for arm in one chain10 one2 chain10b; do
  case $arm in one*) extra="";; *) extra="--chain-calls 10";; esac
  timeout -k 5 150 node scripts/flashmla-dist.mjs build/src bench --backend webgpu --configs $W/cfg.json --flashmla $W/flashmla-protocols.json --no-ceilings --warmup 3 --reps 20 --check 1 $extra --out $W/wg-$arm.json > $W/wg-$arm.txt 2>&1
  echo "bench $arm rc $?"
done
python3 - $W <<'P'
import json, sys, os
w = sys.argv[1]
for a in ('one', 'chain10', 'one2', 'chain10b'):
    f = os.path.join(w, f'wg-{a}.json')
    if not os.path.exists(f): print(a, 'missing'); continue
    d = json.load(open(f))
    print(a, 'chain', d.get('chain_calls'))
    for r in d['rows']:
        print('  ', r.get('b'), r.get('s_k') or 'var', r.get('h_q'), r.get('s_q'), round(r['ms'] * 1000, 2), 'us', 'fm', r.get('flashmla_ms') and round(r['flashmla_ms'] * 1000, 2), 'ratio', r.get('ratio_vs_flashmla') and round(r['ratio_vs_flashmla'], 3), 'check', r.get('check', {}).get('ok'))
P
timeout -k 5 120 node --test build/test/backends/webgpu-index-words.test.js > $W/iw.tap 2>&1; echo "index-words rc $?"; grep -E "^# (pass|fail|skipped)|^not ok" $W/iw.tap | head
WEBGPU_RANDOM_CASES=100 timeout -k 5 150 node --test build/test/backends/webgpu.test.js > $W/webgpu.tap 2>&1; echo "webgpu rc $?"; grep -E "^# (pass|fail|skipped)|^not ok" $W/webgpu.tap | head
FLASHMLA_GPU_CASES=150 timeout -k 5 200 node --test build/test/gpu/webgpu-matrix.test.js > $W/matrix.tap 2>&1; echo "matrix rc $?"; grep -E "^# (pass|fail|skipped)|^not ok" $W/matrix.tap | head
timeout -k 5 100 node --test build/test/backends/webgpu-schedule.test.js > $W/schedule.tap 2>&1; echo "schedule rc $?"; grep -E "^# (pass|fail|skipped|todo)|^not ok" $W/schedule.tap | head
tar czf "$OUT/s43c4.tgz" -C $W .
cp $W/wg-*.json $OUT/ 2>/dev/null
