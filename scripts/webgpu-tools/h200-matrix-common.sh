# Sourced by h200-matrix-v4.sh and h200-matrix-v5.sh (one H200 round each; from the staged tree after
# `source .gpu-host/enter.sh`): the log, the CLI of the compiled tree, the issue's four shapes (CONFIGS overrides them)
# in $cfg, then FlashMLA and the f32 kernel timed on them; F holds the --flashmla arguments for the rounds after.
#   . scripts/webgpu-tools/h200-matrix-common.sh DEFAULT_OUT_NAME
. "$(dirname "${BASH_SOURCE[0]}")/h200-log.sh" "$1" # OUT, $L, say, quiet
CLI=(node scripts/flashmla-dist.mjs build/src)
h200MatrixShapes='[{"b":128,"s_k":8192,"h_q":16,"s_q":1},{"b":1,"s_k":32768,"h_q":16,"s_q":1},{"b":4,"seqlens":[4641,45118,1730,1696],"h_q":16,"s_q":4},{"b":128,"s_k":8192,"h_q":128,"s_q":1}]'
cfg=$(mktemp)
echo "${CONFIGS:-$h200MatrixShapes}" > "$cfg"
say "FlashMLA"
PYTHONUNBUFFERED=1 timeout 40 python3 .gpu-host/anchors/bench_flashmla.py --configs "$cfg" --out "$OUT/flashmla.json" --no-triton 2>&1 | tail -8 >> "$L"
F=(); [ -s "$OUT/flashmla.json" ] && F=(--flashmla "$OUT/flashmla.json")
say "f32 kernel"
# Forced: since session 8 the unforced path is v5 where it qualifies (session 9's final call timed v5 twice here).
FLASHMLA_WEBGPU_DECODE_PATH=f32 timeout 40 "${CLI[@]}" bench --backend webgpu --configs "$cfg" "${F[@]}" --no-ceilings --check 1 --warmup 2 --reps 10 --out "$OUT/f32.json" 2>&1 | quiet | grep -E '^config|^b=|rror' >> "$L"
