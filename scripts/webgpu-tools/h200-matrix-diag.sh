#!/usr/bin/env bash
# One H200 diagnostic round for the matrix kernel (docs/notes/webgpu-matrix-kernel.md, "v5"): the driver's register
# counts of the f32, f16 and matrix pipelines (pipeline-stats.mjs; SPIRV_AS and VKSTATS point at binaries built off
# the host), the v4 4-vs-8-subgroup round with ablations (h200-matrix-v4.sh), v4 at 528 SM parts on the 16-row
# shapes, and the f32 kernel timed a second time (its uneven-batch spread). From the staged tree after
# `source .gpu-host/enter.sh`; OUT is the device tool's folder.
set -uo pipefail
OUT=${OUT:-/tmp/h200-matrix-diag}; mkdir -p "$OUT"
L=$OUT/log.txt
say() { echo "== $(date -u +%T) $*" | tee -a "$L"; }
say "pipeline statistics"
timeout 90 node scripts/webgpu-tools/pipeline-stats.mjs "$OUT/spv" 2>&1 | tee -a "$L" | tail -12
tar czf "$OUT/spv.tgz" -C "$OUT" spv && rm -rf "$OUT/spv"
OUT=$OUT SKIP_TEST=1 ABLATIONS="${ABLATIONS:-}" timeout 240 bash scripts/webgpu-tools/h200-matrix-v4.sh
CLI=(node scripts/flashmla-dist.mjs build/src)
c16='[{"b":128,"s_k":8192,"h_q":16,"s_q":1},{"b":1,"s_k":32768,"h_q":16,"s_q":1}]'; echo "$c16" > "$OUT/c16.json"
for S in 4 8; do
  say "v4 $S subgroups, 528 SM parts"
  FLASHMLA_WEBGPU_DECODE_PATH=matrix FLASHMLA_WEBGPU_MATRIX_VERSION=4 FLASHMLA_WEBGPU_MATRIX_SUBGROUPS=$S timeout 40 "${CLI[@]}" bench --backend webgpu --configs "$OUT/c16.json" \
    --no-ceilings --check 0 --warmup 2 --reps 10 --num-sms 528 --out "$(mktemp -d)/x.json" 2>&1 | grep -E '^b=|rror' >> "$L"
done
say "f32 kernel again"
def='[{"b":128,"s_k":8192,"h_q":16,"s_q":1},{"b":1,"s_k":32768,"h_q":16,"s_q":1},{"b":4,"seqlens":[4641,45118,1730,1696],"h_q":16,"s_q":4},{"b":128,"s_k":8192,"h_q":128,"s_q":1}]'
echo "$def" > "$OUT/cfg.json"
timeout 40 "${CLI[@]}" bench --backend webgpu --configs "$OUT/cfg.json" --no-ceilings --check 0 --warmup 2 --reps 10 --out "$OUT/f32-again.json" 2>&1 | grep -E '^b=|rror' >> "$L"
say end
