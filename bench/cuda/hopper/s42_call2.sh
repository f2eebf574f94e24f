#!/usr/bin/env bash
# Session 42, call 2 (H200): where a WebGPU read-back's time goes (bench/webgpu/readback-probe.ts), then the layer step
# with the pooled read-back staging buffers and split-K on by default (two processes), and the WebGPU layer test and the
# read-back test on the card.   OUT=$OUT bash bench/cuda/hopper/s42_call2.sh        (at most 8 files come back)
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_unpack "${PACK:-.devstage/s42c2.tar.xz}"
export FLASHMLA_GOLDEN=$PWD/test/fixtures/golden
W=/tmp/s42-c2; rm -rf $W; mkdir -p $W
timeout -k 5 60 node build/bench/webgpu/readback-probe.js --reps 9 --json $W/readback.json > $W/readback.txt 2>&1; echo "readback rc $?"
python3 - $W/readback.json <<'P'
import json, sys
d = json.load(open(sys.argv[1]))
for r in d['rows']:
    print(r['bytes'], 'fresh %.3f (map %.3f copy %.3f free %.3f)' % (r['fresh_ms'], r['fresh_map_ms'], r['fresh_copy_ms'], r['fresh_free_ms']),
          'reuse %.3f (copy %.3f)' % (r['reuse_ms'], r['reuse_copy_ms']), 'done %.3f' % r['done_ms'], 'backend', r['backend_all'])
P
for i in 1 2; do
  timeout -k 5 100 node build/bench/mla/layer-profile.js --backend webgpu --precision f32 --shape v3 --batch 64 --context 4096 --reps 5 --chain 20 --json "$W/prof-$i.json" > "$W/prof-$i.txt" 2>&1
  echo "== prof $i rc $?"; grep -E "^(step|forwardDevice chained|forwardDevice \+|replayed|download alone)" "$W/prof-$i.txt" | cut -c1-110
done
timeout -k 5 240 node --test build/test/backends/webgpu-layer.test.js > $W/webgpu-layer.tap 2>&1; echo "layer test rc $?"; grep -E "^# (pass|fail|skipped)" $W/webgpu-layer.tap
timeout -k 5 240 node --test --test-name-pattern="read-back" build/test/backends/webgpu.test.js > $W/webgpu-readback.tap 2>&1; echo "readback test rc $?"; grep -E "^# (pass|fail|skipped)" $W/webgpu-readback.tap
tar czf "$OUT/s42c2.tgz" -C $W .
