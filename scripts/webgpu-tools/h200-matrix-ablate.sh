#!/usr/bin/env bash
# The v5 / v6 ablation round on the H200 (docs/notes/webgpu-matrix-kernel.md, "Next device call: ablating v5 and v6"),
# in one device call of at most ~90 s: b = 128 s_k = 8192 at h_q = 16, then at h_q = 128, in one process
# (ablate-matrix.mjs: every cut set of matrix-ablations.mjs on v5 and v6 as bench arms; one page-pool fill, one
# pipeline compile per cut set and version, reused by the second shape). From the staged tree (build/ compiled by tsc)
# after `source .gpu-host/enter.sh`. Leaves two files under $OUT: log.txt (every arm's median as it is measured, so a
# run stopped by its timeout keeps what it timed; then per shape a table with ms / base and µs per tile an SM part) and
# ablate.json (the rows with their arms, written after each shape). VERSIONS, SETS (labels, comma-separated), REPS,
# B, SK, TIMEOUT override the defaults (5,6; all; 10; 128; 8192; 85 s). A dry run on lavapipe (emulated products):
#   OUT=/tmp/abl ABLATE_EMULATE=1 B=2 SK=100 SETS=base,numSms=264 bash scripts/webgpu-tools/h200-matrix-ablate.sh
set -uo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
. "$here/h200-log.sh" h200-matrix-ablate # OUT, $L, say, quiet
args=(--versions "${VERSIONS:-5,6}" --reps "${REPS:-10}" --warmup 2 --warm-ms 100)
[ -n "${SETS:-}" ] && args+=(--sets "$SETS")
cfg=$(mktemp)
echo "[{\"b\":${B:-128},\"s_k\":${SK:-8192},\"h_q\":16,\"s_q\":1},{\"b\":${B:-128},\"s_k\":${SK:-8192},\"h_q\":128,\"s_q\":1}]" > "$cfg"
say "ablation, b=${B:-128} s_k=${SK:-8192} h_q=16 and 128, versions ${VERSIONS:-5,6}"
timeout "${TIMEOUT:-85}" node "$here/ablate-matrix.mjs" --configs "$cfg" "${args[@]}" --out "$OUT/ablate.json" 2>&1 | quiet >> "$L"
echo "exit ${PIPESTATUS[0]}" >> "$L"
say end
