#!/usr/bin/env bash
# Session 24 (issue #13): the WebGPU backend suite on the H200's default (v5 with packedMax), and where b=1's time goes:
# b=1 s_k=32768 h_q=16 planned for 33 / 66 / 132 / 264 SM parts, with the combine chosen by the plan and with the
# default one (FLASHMLA_WEBGPU_COMBINE=0), and on the 'fill' plan. From the tree's root, .gpu-host (webgpu) and build/.
#   OUT=$OUT bash scripts/webgpu-tools/h200-s24-checks.sh
set -u
source .gpu-host/enter.sh >/dev/null
export FLASHMLA_GOLDEN=$PWD/test/fixtures/golden
W=/tmp/s24-checks; rm -rf "$W"; mkdir -p "$W"
WEBGPU_RANDOM_CASES=${CASES:-100} timeout ${SUITE_TIMEOUT:-200} node --test build/test/backends/webgpu.test.js > "$W/webgpu-suite.txt" 2>&1
echo "webgpu suite rc $?"; grep -E '^# (tests|pass|fail|skipped)|^not ok' "$W/webgpu-suite.txt" | head
echo '[{"b":1,"s_k":32768,"h_q":16,"s_q":1},{"b":1,"s_k":8192,"h_q":16,"s_q":1},{"b":1,"s_k":131072,"h_q":16,"s_q":1}]' > "$W/b1.json"
for arm in plan combine0 fill; do
  case $arm in plan) E=();; combine0) E=(FLASHMLA_WEBGPU_COMBINE=0);; fill) E=(FLASHMLA_WEBGPU_SCHEDULE=fill);; esac
  env "${E[@]}" timeout 90 node scripts/flashmla-dist.mjs build/src bench --backend webgpu --configs "$W/b1.json" --num-sms 33,66,132,264 --no-ceilings --warmup 3 --reps 20 --check 1 --out "$W/b1-$arm.json" > "$W/b1-$arm.txt" 2>&1
  echo "b1 $arm rc $?"
done
python3 - "$W" <<'P'
import json, sys
w = sys.argv[1]
for arm in ('plan', 'combine0', 'fill'):
    try: d = json.load(open(f'{w}/b1-{arm}.json'))
    except Exception as e: print(arm, 'no result', e); continue
    for r in d['rows']:
        print(f"{arm:9} b={r['b']} s_k={r.get('s_k')} " + ' '.join(f"{a['label']}:{a['ms']*1000:.1f}us" for a in r.get('arms', [])) + f"  (ms {r['ms']*1000:.1f}us)")
P
tar czf "$OUT/all.tgz" -C "$W" .
