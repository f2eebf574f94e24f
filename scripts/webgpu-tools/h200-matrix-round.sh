#!/usr/bin/env bash
# One H200 round for issue #13 (docs/notes/webgpu-matrix-kernel.md, webgpu-decode.md): the matrix kernel's GPU test,
# FlashMLA and both WebGPU kernels on the shapes this round changed, in one device call. From the staged tree
# (build/ compiled by tsc) after `source .gpu-host/enter.sh`; at most 7 files under $OUT.
set -uo pipefail
OUT=${OUT:-/tmp/h200-matrix-round}; mkdir -p "$OUT"
L=$OUT/log.txt
CLI=(node scripts/flashmla-dist.mjs build/src)
cfg=$(mktemp)
echo '[{"b":128,"s_k":8192,"h_q":16,"s_q":1},{"b":1,"s_k":32768,"h_q":16,"s_q":1},{"b":4,"seqlens":[4641,45118,1730,1696],"h_q":16,"s_q":4},{"b":128,"s_k":8192,"h_q":128,"s_q":1}]' > "$cfg"
mcfg=$(mktemp); node -e 'const c=JSON.parse(require("fs").readFileSync(process.argv[1]));require("fs").writeFileSync(process.argv[2],JSON.stringify(c.slice(0,3)))' "$cfg" "$mcfg"
say() { echo "== $(date -u +%T) $*" | tee -a "$L"; }
say "matrix kernel GPU test (FLASHMLA_GPU_CASES=${CASES:-20})"
FLASHMLA_GOLDEN=test/fixtures/golden FLASHMLA_GPU_CASES=${CASES:-20} timeout 40 node --test --test-reporter=tap build/test/gpu/webgpu-matrix.test.js > "$OUT/test.txt" 2>&1
echo "exit $?" >> "$OUT/test.txt"; grep -E '^# (pass|fail)|^not ok|addressing|cases in' "$OUT/test.txt" | tee -a "$L"
say "FlashMLA"
PYTHONUNBUFFERED=1 timeout 30 python3 .gpu-host/anchors/bench_flashmla.py --configs "$cfg" --out "$OUT/flashmla.json" --no-triton 2>&1 | tail -8 >> "$L"
say "f32 kernel (first config right after the pool fill: the idle warm-up of 3 s)"
timeout 32 "${CLI[@]}" bench --backend webgpu --configs "$cfg" --flashmla "$OUT/flashmla.json" --check 1 --warmup 3 --reps 20 --out "$OUT/f32.json" 2>&1 | grep -v '^\[' >> "$L"
say "matrix kernel, SM parts 132 / 528 / 1056 (the first three configs)"
FLASHMLA_WEBGPU_DECODE_PATH=matrix timeout 45 "${CLI[@]}" bench --backend webgpu --configs "$mcfg" --flashmla "$OUT/flashmla.json" --check 1 --warmup 2 --reps 10 --num-sms 132,528,1056 --out "$OUT/matrix.json" 2>&1 | grep -v '^\[' >> "$L"
say end
