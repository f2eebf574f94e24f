#!/usr/bin/env bash
# Session 26 (issue #13): a second run of the small-batch set plus b=1 s_k=32768 against FlashMLA, to read the
# recorded run's spread (its b=2 s_k=16384 row, 0.0575 ms, against 0.0502 in call 4's in-process A/B). Not a
# replacement for the recorded run: both are kept. From the tree's root, .gpu-host (webgpu and the anchors) and build/
# carried; FLASHMLA_COMMIT set:   OUT=$OUT bash scripts/webgpu-tools/h200-s26-repeat.sh
set -u
source .gpu-host/enter.sh >/dev/null
W=/tmp/s26-rep; rm -rf "$W"; mkdir -p "$W"
echo '[{"b":2,"s_k":16384,"h_q":16,"s_q":1},{"b":1,"s_k":32768,"h_q":16,"s_q":1},{"b":1,"s_k":4096,"h_q":16,"s_q":1},{"b":1,"s_k":16384,"h_q":16,"s_q":1},{"b":1,"s_k":65536,"h_q":16,"s_q":1},{"b":4,"s_k":8192,"h_q":32,"s_q":1},{"b":2,"s_k":16384,"h_q":16,"s_q":1}]' > "$W/cfg.json"
PYTHONUNBUFFERED=1 timeout 120 python3 .gpu-host/anchors/bench_flashmla.py --configs "$W/cfg.json" --out "$W/flashmla.json" --no-triton > "$W/flashmla.txt" 2>&1
echo "flashmla rc $?"
timeout 200 node scripts/flashmla-dist.mjs build/src bench --backend webgpu --configs "$W/cfg.json" --flashmla "$W/flashmla.json" --no-ceilings --warmup 2 --reps 20 --check 1 --out "$W/webgpu.json" > "$W/bench.txt" 2>&1
echo "bench rc $?"; grep -aE '^b=[0-9].*x$' "$W/bench.txt"
tar czf "$OUT/all.tgz" -C "$W" .
