#!/usr/bin/env bash
# Ran on commit 07bd6d45 (call 1) / e0020ee1 (call 2). The GEMM path and scripts/webgpu-tools/gemm-ab.mjs were removed
# after call 2 (slower than v5, wrong on the H200): their diff is results/gpu-host/bench/hopper/s46/gemm-as-measured.diff.xz.
# Session 46, call 2 (H200): the GEMM path with P written as packed pairs; the time split by passes (arms that leave
# passes out) and the left operands staged in workgroup memory (decodeGemmProbe qStage / pStage).
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_unpack "${PACK:-.devstage/s46b.tar.xz}"
export FLASHMLA_GOLDEN=$PWD/test/fixtures/golden FLASHMLA_GOLDEN_SPARSE=$PWD/test/fixtures/golden-sparse
W=/tmp/s46b; rm -rf $W; mkdir -p $W
T0=$(date +%s); ts() { echo "[$(( $(date +%s) - T0 ))s] $*"; }
lim() { local left=$(( ${BUDGET:-400} - ($(date +%s) - T0) )); [ $left -lt 15 ] && echo 1 || echo $(( left < $1 ? left : $1 )); }
cat > $W/cfg.json <<'J'
[{"b":128,"s_k":8192,"h_q":128,"s_q":2},{"b":128,"s_k":8192,"h_q":128,"s_q":1},{"b":128,"s_k":8192,"h_q":64,"s_q":1},{"b":64,"s_k":4096,"h_q":64,"s_q":1}]
J
ARMS=g0,gq,gqp,g0-s,g0-ss,gqp-s,gqp-ss CHECK_ARMS=g0,gqp ISO_RANDOM=24 timeout -k 5 $(lim 200) node scripts/webgpu-tools/gemm-ab.mjs --configs $W/cfg.json --reps 6 --out $W/gemm-ab2.json > $W/gemm-ab2.txt 2>&1
echo "gemm-ab rc $?"; grep -E "^CHECK|^  [a-z#]|^TIME|^ROWS|rror" $W/gemm-ab2.txt | grep -v subgroupMatrix | cut -c1-300 | head -40
ts "ab done"
FLASHMLA_WEBGPU_GEMM=1 timeout -k 5 $(lim 100) node --test build/test/backends/webgpu.test.js > $W/webgpu.tap 2>&1; echo "webgpu.test (gemm forced) rc $?"
grep -E "^# (pass|fail|skipped|todo)|^not ok|^\s+not ok" $W/webgpu.tap | cut -c1-200 | head -8
ts "end"
tar czf "$OUT/s46-call2.tgz" -C $W .
cp $W/*.json $OUT/ 2>/dev/null
