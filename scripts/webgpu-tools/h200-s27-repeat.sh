#!/usr/bin/env bash
# Session 27 (issue #13): the final run's last rows again (its uneven batch ran 3.2x slow, the matrix ceiling at half of
# session 26's: a slow episode of the device?), with the ceilings, FlashMLA 9241ae3 in the same call, two processes.
# From the tree's root, .gpu-host (webgpu and the anchors) and build/ carried; FLASHMLA_COMMIT set:
#   OUT=$OUT bash scripts/webgpu-tools/h200-s27-repeat.sh
set -u
source .gpu-host/enter.sh >/dev/null
W=/tmp/s27-repeat; rm -rf "$W"; mkdir -p "$W"
echo '[{"b":4,"seqlens":[4641,45118,1730,1696],"h_q":16,"s_q":4},{"b":1,"s_k":32768,"h_q":16,"s_q":1},{"b":128,"s_k":8192,"h_q":16,"s_q":1},{"b":128,"s_k":8192,"h_q":128,"s_q":1},{"b":4,"seqlens":[4641,45118,1730,1696],"h_q":16,"s_q":4}]' > "$W/cfg.json"
PYTHONUNBUFFERED=1 timeout 90 python3 .gpu-host/anchors/bench_flashmla.py --configs "$W/cfg.json" --out "$W/flashmla.json" --no-triton > "$W/flashmla.txt" 2>&1
echo "flashmla rc $?"
for run in 1 2; do
timeout 150 node scripts/flashmla-dist.mjs build/src bench --backend webgpu --configs "$W/cfg.json" --flashmla "$W/flashmla.json" --warmup 2 --reps 20 --check 1 --out "$W/webgpu-$run.json" > "$W/bench-$run.txt" 2>&1
echo "bench $run rc $?"; grep -aE '^b=[0-9].*x$|ceiling' "$W/bench-$run.txt"
done
tar czf "$OUT/all.tgz" -C "$W" .
