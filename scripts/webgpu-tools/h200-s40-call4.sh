#!/usr/bin/env bash
# Session 40 (issue #13), call 4: shuffleMax (packedMax's key maxima by subgroup shuffles, no atomics; the same bits as
# packedMax) against the default (bf16Direct) and the default without bf16Direct (nob16d): two tile16-ab processes over
# session 27's ten bf16 shapes; the GPU matrix suite with shuffleMax (FLASHMLA_MATRIX_TEST_PMAX=shm, 150 random cases).
# Predictions and rule: results/gpu-host/bench/hopper/s40/predictions.txt. shuffleMax left the tree after this call (level
# with packedMax's atomics: results/gpu-host/bench/hopper/s40/call4/shuffleMax-as-measured.diff.xz has it), so its arm
# and the suite's PMAX=shm exist only with that diff applied.
#   OUT=$OUT bash scripts/webgpu-tools/h200-s40-call4.sh      (from the tree's root, .gpu-host and the pack carried)
source bench/cuda/hopper/s29_common.sh && s29_unpack "${PACK:-.devstage/s40c4.tar.xz}"
source scripts/webgpu-tools/h200-s25-common.sh; ab_frame /tmp/s40-c4
cfg='[{"b":128,"s_k":8192,"h_q":16,"s_q":1},{"b":128,"s_k":8192,"h_q":128,"s_q":1},{"b":128,"s_k":8192,"h_q":32,"s_q":1},{"b":128,"s_k":1024,"h_q":16,"s_q":1},{"b":128,"s_k":4096,"h_q":64,"s_q":2},{"b":1,"s_k":32768,"h_q":16,"s_q":1},{"b":1,"s_k":4096,"h_q":16,"s_q":1},{"b":4,"seqlens":[4641,45118,1730,1696],"h_q":16,"s_q":4},{"b":16,"s_k":1024,"h_q":16,"s_q":1},{"b":128,"s_k":8192,"h_q":128,"s_q":2}]'
AB_TIMEOUT=220 ab_run dflt,shm,nob16d "$cfg" ab-shm1 15 | grep -E '^(CHECK|TIME|ab-)'
AB_TIMEOUT=220 ab_run dflt,shm,nob16d "$cfg" ab-shm2 15 2 | grep -E '^(TIME|ab-)'
FLASHMLA_MATRIX_TEST_PMAX=shm FLASHMLA_GPU_CASES=150 timeout -k 2 150 node --test --test-reporter=tap build/test/gpu/webgpu-matrix.test.js > "$W/suite-shm.tap" 2>&1
suite_line "$W/suite-shm.tap"
cp "$W"/ab-shm1.txt "$W"/ab-shm2.txt "$W"/suite-shm.tap "$OUT/" 2>/dev/null
tar czf "$OUT/a-s40c4.tgz" -C "$W" .
