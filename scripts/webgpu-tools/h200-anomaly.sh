#!/usr/bin/env bash
# The H200 "first config" study (docs/notes/webgpu-decode.md, issue #13): is the f32 kernel's 5x slow
# b=128 s_k=8192 h_q=16 row a property of the spec the plan picks there, or of where the row sits in the process
# (first config after a 1.2 GB page-pool fill)? Run on the GPU host from the staged tree (build/ compiled by tsc),
# after `source .gpu-host/enter.sh`; writes under $OUT. Also the subgroup-matrix addressing probe (with and without
# the chromium.subgroup_matrix_uniformity diagnostic) and the matrix kernel's vSplit 1 / 2 on two shapes.
set -uo pipefail
OUT=${OUT:-/tmp/h200-anomaly}; mkdir -p "$OUT"
CLI=(node scripts/flashmla-dist.mjs build/src)
A='{"b":128,"s_k":8192,"h_q":16,"s_q":1}' B='{"b":1,"s_k":32768,"h_q":16,"s_q":1}' C='{"b":128,"s_k":8192,"h_q":128,"s_q":1}'
echo "[$A,$B,$A,$C,$A]" > "$OUT/order.json"; echo "[$A]" > "$OUT/a.json"; echo "[$B,$A]" > "$OUT/ba.json"
nvidia-smi --query-gpu=timestamp,pstate,clocks.sm,clocks.mem,power.draw,utilization.gpu --format=csv,noheader -lms 100 > "$OUT/clocks.csv" 2>&1 &
SMI=$!
stamp() { echo "$(date -u +%H:%M:%S.%N | cut -c1-12) $*" | tee -a "$OUT/marks.txt"; }
common=(bench --backend webgpu --no-ceilings --check 0 --warmup 3 --reps 20)
stamp "order f32 A B A C A (warm-ms 300)"
timeout 60 "${CLI[@]}" "${common[@]}" --configs "$OUT/order.json" --out "$OUT/order.json.out.json" 2>&1 | grep -v '^\[' | tee "$OUT/order.txt"
stamp "A alone, warm-ms 3000"
timeout 40 "${CLI[@]}" "${common[@]}" --warm-ms 3000 --configs "$OUT/a.json" --out "$OUT/a-warm3000.json" 2>&1 | grep -v '^\[' | tee "$OUT/a-warm3000.txt"
for v in 1 2; do
  stamp "matrix vSplit $v: B A"
  FLASHMLA_WEBGPU_DECODE_PATH=matrix FLASHMLA_WEBGPU_MATRIX_VSPLIT=$v timeout 40 "${CLI[@]}" "${common[@]}" --configs "$OUT/ba.json" --out "$OUT/matrix-v$v.json" 2>&1 | grep -v '^\[' | tee "$OUT/matrix-v$v.txt"
done
stamp "probe"
timeout 40 node build/scripts/webgpu-tc-probe.js --quick --no-ceilings --out "$OUT/probe.json" > /dev/null 2>&1; cat "$OUT/probe.json" | head -c 3000
stamp end
kill $SMI
