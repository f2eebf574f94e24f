#!/usr/bin/env bash
# Session 40 (issue #13), call 3: (1) bf16Direct, now the default, against the default without it (arm nob16d) at the
# short shapes where call 2's first process ran a slow episode (b = 1 s_k 32768 / 4096, b = 16, the uneven batch); (2) the
# recorded run: FlashMLA 9241ae3 under both protocols (bench/cuda/flashmla_protocols.py; ours is compared with its back-
# to-back time, WebGPU's own protocol) and the WebGPU default on FlashMLA's grid plus b = 1 and the uneven batch, the WGSL
# ceilings in the same run; the small-batch set the same way; (3) the GPU suites on the default (matrix 300 random,
# backend 100). From the tree's root, .gpu-host (webgpu, anchors) and the pack carried:
#   OUT=$OUT bash scripts/webgpu-tools/h200-s40-final.sh
source bench/cuda/hopper/s29_common.sh && s29_unpack "${PACK:-.devstage/s40c3.tar.xz}"
source scripts/webgpu-tools/h200-s25-common.sh; ab_frame /tmp/s40-c3
cfgb='[{"b":1,"s_k":32768,"h_q":16,"s_q":1},{"b":1,"s_k":4096,"h_q":16,"s_q":1},{"b":4,"seqlens":[4641,45118,1730,1696],"h_q":16,"s_q":4},{"b":16,"s_k":1024,"h_q":16,"s_q":1},{"b":128,"s_k":8192,"h_q":16,"s_q":1}]'
AB_TIMEOUT=150 ab_run dflt,nob16d "$cfgb" ab-b1 15 | grep -E '^(CHECK|TIME|ab-)'
for set in grid small; do
  cfg=bench/webgpu-$([ $set = grid ] && echo grid || echo small-batch)-configs.json
  PYTHONUNBUFFERED=1 timeout 200 python3 bench/cuda/flashmla_protocols.py .gpu-host/anchors --configs "$cfg" --out "$W/flashmla-protocols-$set.json" > "$W/flashmla-$set.txt" 2>&1
  echo "flashmla $set rc $?"; tail -2 "$W/flashmla-$set.txt"
  out=$W/webgpu-$([ $set = grid ] && echo h200 || echo small-batch-h200)-2026-12-04-s40.json
  timeout 320 node scripts/flashmla-dist.mjs build/src bench --backend webgpu --configs "$cfg" --flashmla "$W/flashmla-protocols-$set.json" $([ $set = small ] && echo --no-ceilings) --warmup 2 --reps 10 --check 1 --out "$out" > "$W/bench-$set.txt" 2>&1
  echo "bench $set rc $?"; grep -aE 'matched|warning|ceiling|geometric' "$W/bench-$set.txt" | cut -c1-240 | head -8
done
FLASHMLA_GPU_CASES=300 timeout 200 node --test build/test/gpu/webgpu-matrix.test.js > "$W/suite-matrix.txt" 2>&1
echo "matrix suite rc $?"; grep -E '^# (tests|pass|fail|skipped)|^not ok' "$W/suite-matrix.txt" | head
WEBGPU_RANDOM_CASES=100 timeout 200 node --test build/test/backends/webgpu.test.js > "$W/suite-webgpu.txt" 2>&1
echo "webgpu suite rc $?"; grep -E '^# (tests|pass|fail|skipped)|^not ok' "$W/suite-webgpu.txt" | head
python3 - "$W" <<'P'
import json, math, os, sys
w = sys.argv[1]
for f in sorted(os.listdir(w)):
    if not (f.startswith('webgpu-') and f.endswith('.json')): continue
    d = json.load(open(os.path.join(w, f)))
    rs = [r for r in d['rows'] if r.get('ratio_vs_flashmla')]
    g = math.exp(sum(math.log(r['ratio_vs_flashmla']) for r in rs) / len(rs)) if rs else float('nan')
    print(f, 'commit', d.get('commit'), 'protocol', d.get('protocol'), d.get('flashmla_protocol'), 'matched', d.get('protocol_matched'), 'geomean', round(g, 4))
    for r in d['rows']:
        print(' ', r.get('b'), r.get('s_k') or 'var', r.get('h_q'), r.get('s_q'), r.get('kernel'), round(r['ms'], 4), r.get('flashmla_ms') and round(r['flashmla_ms'], 4), r.get('ratio_vs_flashmla') and round(r['ratio_vs_flashmla'], 3), r.get('gbps') and round(r['gbps']), r.get('tflops') and round(r['tflops'], 1), r.get('roofline_fraction') and round(r['roofline_fraction'], 3))
    print(' ceilings', {k: v for k, v in d.items() if 'ceiling' in k})
P
tar czf "$OUT/a-s40c3.tgz" -C "$W" .
cp "$W"/webgpu-*.json "$W"/ab-b1.txt "$OUT/" 2>/dev/null
