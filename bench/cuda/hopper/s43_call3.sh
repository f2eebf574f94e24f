#!/usr/bin/env bash
# Session 43, call 3 (H200): WebGPU on FlashMLA's grid plus b=1 and the uneven batch, FlashMLA 9241ae3 under both
# protocols in the same call (bench/cuda/flashmla_protocols.py): ours one call a repetition (timestamps around its
# passes, the protocol of every WebGPU record so far) and --chain-calls 10 (ten calls back to back in one submission,
# their staging copies and pass boundaries counted: GPU time a call in a chain, as FlashMLA's graph replay is).
#   OUT=$OUT bash bench/cuda/hopper/s43_call3.sh  (carry .ghc, .devstage)
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_unpack "${PACK:-.devstage/s43c2.tar.xz}"
W=/tmp/s43-c3; rm -rf $W; mkdir -p $W
cfg=bench/webgpu-grid-configs.json
PYTHONUNBUFFERED=1 timeout -k 5 200 python3 bench/cuda/flashmla_protocols.py .gpu-host/anchors --configs $cfg --out $W/flashmla-protocols-grid.json > $W/flashmla-grid.txt 2>&1; echo "flashmla rc $?"
for arm in chain10 one; do
  extra=$([ $arm = chain10 ] && echo "--chain-calls 10" || true)
  out=$W/webgpu-h200-2026-12-04-${TAG:-s43}-$arm.json
  timeout -k 5 220 node scripts/flashmla-dist.mjs build/src bench --backend webgpu --configs $cfg --flashmla $W/flashmla-protocols-grid.json $([ $arm = one ] && echo --no-ceilings) --warmup 2 --reps 10 --check 1 $extra --out $out > $W/bench-$arm.txt 2>&1
  echo "bench $arm rc $?"; grep -aE 'matched|ceiling|geometric' $W/bench-$arm.txt | cut -c1-200 | head -5
done
python3 - $W <<'P'
import json, math, os, sys
w = sys.argv[1]; tag = os.environ.get('TAG', 's43')
for a in ('one', 'chain10'):
    f = os.path.join(w, f'webgpu-h200-2026-12-04-{tag}-{a}.json')
    if not os.path.exists(f): print(a, 'missing'); continue
    d = json.load(open(f)); rs = [r for r in d['rows'] if r.get('ratio_vs_flashmla')]
    g = math.exp(sum(math.log(r['ratio_vs_flashmla']) for r in rs) / len(rs)) if rs else float('nan')
    print(a, 'chain', d.get('chain_calls'), d.get('protocol'), d.get('flashmla_protocol'), 'geomean', round(g, 4), {k: v for k, v in d.items() if 'ceiling' in k})
    for r in d['rows']:
        print(' ', r.get('b'), r.get('s_k') or 'var', r.get('h_q'), r.get('s_q'), round(r['ms'] * 1000, 1), 'fm', r.get('flashmla_ms') and round(r['flashmla_ms'] * 1000, 1), 'x', r.get('ratio_vs_flashmla') and round(r['ratio_vs_flashmla'], 3), 'GBps', round(r.get('GBps', 0)), 'TF', round(r.get('TFLOPS', 0), 1), 'ok', r.get('check', {}).get('ok'))
P
tar czf "$OUT/s43c3.tgz" -C $W .
cp $W/webgpu-h200-*.json $W/flashmla-protocols-grid.json $OUT/ 2>/dev/null
