#!/usr/bin/env bash
# Session 26 (issue #13): where b = 1 s_k = 32768's time goes on the session's default plan ('auto': fill, 128 parts of
# 8 tiles, 'seen'): b1-ablate.mjs's cuts on the kernel without firstEarly (its cut markers predate it), then the default
# with firstEarly, base only, in a second process. Timing only (cut kernels give wrong results on purpose). From the
# tree's root, .gpu-host (webgpu) and build/ carried:   OUT=$OUT bash scripts/webgpu-tools/h200-s26-ablate.sh
set -u
source .gpu-host/enter.sh >/dev/null
W=/tmp/s26-abl; rm -rf "$W"; mkdir -p "$W"
echo '[{"b":1,"s_k":1,"h_q":16,"s_q":1},{"b":1,"s_k":32768,"h_q":16,"s_q":1},{"b":1,"s_k":16384,"h_q":16,"s_q":1}]' > "$W/cfg.json"
FLASHMLA_WEBGPU_MATRIX_FIRSTEARLY=0 ARMS=noepi,noq,notile,nofirst,none timeout 150 node scripts/webgpu-tools/b1-ablate.mjs --configs "$W/cfg.json" --reps 30 --out "$W/ablate-nofe.json" > "$W/ablate-nofe.txt" 2>&1
echo "nofe rc $?"; grep -E '^TIME' "$W/ablate-nofe.txt"
ARMS=base timeout 60 node scripts/webgpu-tools/b1-ablate.mjs --configs "$W/cfg.json" --reps 30 --out "$W/ablate-fe.json" > "$W/ablate-fe.txt" 2>&1
echo "fe rc $?"; grep -E '^TIME' "$W/ablate-fe.txt"
tar czf "$OUT/all.tgz" -C "$W" .
