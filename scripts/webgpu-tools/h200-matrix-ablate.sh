#!/usr/bin/env bash
# The v5 / v6 ablation round on the H200 (docs/notes/webgpu-matrix-kernel.md, "Next device call: ablating v5 and v6"),
# in one device call of at most ~90 s: b = 128 s_k = 8192 at h_q = 16 and at h_q = 128, each in its own process
# (ablate-matrix.mjs: every cut set of matrix-ablations.mjs on v5 and v6, one page-pool fill per shape). From the
# staged tree (build/ compiled by tsc) after `source .gpu-host/enter.sh`. Leaves three files under $OUT: log.txt (every
# arm's time as it is measured, then per shape a table with ms / base and µs per tile), ablate-h16.json and
# ablate-h128.json. VERSIONS, SETS (labels, comma-separated), REPS override the defaults (5,6; all; 10).
set -uo pipefail
OUT=${OUT:-/tmp/h200-matrix-ablate}; mkdir -p "$OUT"
L=$OUT/log.txt
here=$(dirname "${BASH_SOURCE[0]}")
say() { echo "== $(date -u +%T) $*" | tee -a "$L"; }
# The bench's lines without Dawn's shader-compiler chatter.
quiet() { grep -v '^\[' | grep -v -i 'warning\|^ *\^\|^ *let \|^ *{ var mc\|^ *subgroupMatrix\|^ *[a-z]\+ = \|^$\|compilation log'; }
args=(--versions "${VERSIONS:-5,6}" --reps "${REPS:-10}" --warmup 2 --warm-ms 200)
[ -n "${SETS:-}" ] && args+=(--sets "$SETS")
for h in 16 128; do
  cfg=$(mktemp)
  echo "[{\"b\":128,\"s_k\":8192,\"h_q\":$h,\"s_q\":1}]" > "$cfg"
  say "ablation, b=128 s_k=8192 h_q=$h (versions ${VERSIONS:-5,6})"
  # h_q = 16 compiles every cut set (26 pipelines); h_q = 128 reuses the driver's cache and runs 8x the work.
  timeout "$([ $h = 16 ] && echo 48 || echo 38)" node "$here/ablate-matrix.mjs" --configs "$cfg" "${args[@]}" --out "$OUT/ablate-h$h.json" 2>&1 | quiet >> "$L"
  echo "exit ${PIPESTATUS[0]}" >> "$L"
done
say end
