#!/usr/bin/env bash
# Session 60, the sparse record (issue #14; the last H200 sparse record is session 37's 1.030x): FlashMLA 9241ae3's
# sparse table (bench/cuda/flashmla_sparse_protocols.py, do_bench's loop) and ours against it in the same call, twice
# (host plan), the first run with the dense FP8 rows at 16 and 32 heads (V3.2 cache against our bf16 dense decode).
# Not run in session 60: after the record call no H200 came in five tries, and the device time ran out.
# Predictions (written before the run): sparse geomean 1.02-1.04x (session 37: 1.030x on the H200; session 58: 1.020x on
# an H100), MODEL1 h_q=128 topk 512 the lowest, ~0.93x; dense FP8 / bf16 1.65-1.75x at 16 rows, 1.5-1.6x at 32.
#   (device) ln -sfn .ghc .gpu-host && BUDGET=300 PACK=.devstage/s60c.tar.xz OUT=$OUT bash bench/cuda/hopper/s60_sparse.sh > $OUT/log.txt 2>&1
source bench/cuda/hopper/s50_common.sh && PACK=${PACK:-.devstage/s60c.tar.xz} s50_setup s60sp # (W, CLI, ts, lim)
nvidia-smi --query-gpu=name --format=csv,noheader
PYTHONUNBUFFERED=1 timeout -k 5 "$(lim 75)" python3 bench/cuda/flashmla_sparse_protocols.py .gpu-host/anchors/flashmla-sparse --out "$W/fp-sparse.json" --deadline 55 > "$W/fp-sparse.txt" 2>&1 || echo "sparse anchor rc $?"
ts "flashmla sparse"
for arm in a:16,32 b:none; do
  IFS=: read -r tag dense <<< "$arm"
  timeout -k 5 "$(lim 100)" "${CLI[@]}" bench --mode sparse --backend cuda --flush-mb 256 --dense-heads "$dense" --flashmla "$W/fp-sparse.json" \
    --out "$W/cuda-sparse-$tag.json" > "$W/cuda-sparse-$tag.txt" 2>&1
  echo "cuda-sparse $tag rc $?"; grep -aE "geometric|^dense|lowest" "$W/cuda-sparse-$tag.txt" | cut -c1-200 | head -12
  ts "ours $tag"
done
python3 - "$W" <<'P'
import json, sys, os
w = sys.argv[1]
for t in 'ab':
    f = os.path.join(w, f'cuda-sparse-{t}.json')
    if not os.path.exists(f): continue
    for r in json.load(open(f))['rows']:
        print(t, r.get('label', ''), 'h_q', r.get('hQ'), 's_q', r.get('sQ'), 'topk', r.get('topk_total'), f"{r.get('us', 0):.1f} us", r.get('kernel', ''), 'vs FlashMLA', r.get('ratio_vs_flashmla'), 'vs bf16', r.get('ratio_vs_bf16', ''))
P
tar czf "$OUT/s60sp.tgz" -C "$W" .
ts end
