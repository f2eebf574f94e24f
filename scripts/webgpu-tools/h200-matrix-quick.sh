#!/usr/bin/env bash
# The last H200 round of issue #13's session 6: the matrix kernel without private arrays (v3) on the two shapes
# the previous round timed (each checked against the float64 reference), and the subgroup-matrix addressing probe
# with its clearBuffer fixed. From the staged tree after `source .gpu-host/enter.sh`; files under $OUT.
set -uo pipefail
OUT=${OUT:-/tmp/h200-matrix-quick}; mkdir -p "$OUT"
cfg=$(mktemp)
echo '[{"b":1,"s_k":32768,"h_q":16,"s_q":1},{"b":128,"s_k":8192,"h_q":16,"s_q":1}]' > "$cfg"
FLASHMLA_WEBGPU_DECODE_PATH=matrix timeout 30 node scripts/flashmla-dist.mjs build/src bench --backend webgpu --configs "$cfg" --no-ceilings \
  --check 1 --warmup 2 --reps 10 --idle-warm-ms 2000 --out "$OUT/matrix-v3.json" 2>&1 | grep -v '^\[' | grep -v -i 'warning\|^ *\^\|^ *let \|^ *{ var mc\|^ *subgroupMatrix\|^$' | tail -8
timeout 15 node build/scripts/webgpu-tc-probe.js --quick --no-ceilings --out "$OUT/probe.json" > /dev/null 2>&1
node -e 'const p=JSON.parse(require("fs").readFileSync(process.argv[1]));console.log(JSON.stringify(p.addressing))' "$OUT/probe.json"
