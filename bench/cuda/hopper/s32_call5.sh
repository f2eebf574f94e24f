#!/usr/bin/env bash
# Session 32, call 5 (H200): the small batches (bench/cuda/small-batch.json, 34 shapes of b = 1-32, and the 25 hold-out
# shapes of bench/cuda/combine-holdout.json) against FlashMLA 9241ae3 under one protocol on both sides, as call 3 did
# for the grid: FlashMLA by bench/cuda/flashmla_protocols.py, ours back to back and with --flush-mb 256.
# Carry .ghc and .devstage (s32c3.tar.xz, call 3's pack):   OUT=$OUT bash bench/cuda/hopper/s32_call5.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s32c3.tar.xz}"
D=cuda-small-batch-h200-2026-12-03-s32
for set in small-batch combine-holdout; do
  PYTHONUNBUFFERED=1 timeout -k 5 150 python3 bench/cuda/flashmla_protocols.py .gpu-host/anchors --configs "bench/cuda/$set.json" --out "$OUT/flashmla-protocols-$set.json" 2>&1 | tail -1
  ts "flashmla $set done"
  for pr in b2b flush; do
    fl=(); [ $pr = flush ] && fl=(--flush-mb 256)
    timeout -k 5 200 "${CLI[@]}" bench --backend cuda --configs "bench/cuda/$set.json" --flashmla "$OUT/flashmla-protocols-$set.json" "${fl[@]}" --out "$OUT/$D-$set-$pr.json" 2>&1 | grep -E 'matched|warning' | head -2
    ts "ours $set $pr done"
  done
done
python3 - "$OUT" <<'P'
import json, math, sys, os, glob
for f in sorted(glob.glob(os.path.join(sys.argv[1], 'cuda-small-batch-*.json'))):
    d = json.load(open(f)); v = [r['ratio_vs_flashmla'] for r in d['rows'] if 'ratio_vs_flashmla' in r]
    lo = min(d['rows'], key=lambda r: r.get('ratio_vs_flashmla', 9))
    print(f"{os.path.basename(f)}: {d.get('protocol')} / FlashMLA {d.get('flashmla_protocol')} matched {d.get('protocol_matched')}: geomean {math.exp(sum(map(math.log, v)) / len(v)):.4f} ({len(v)}), "
          f"lowest {lo['ratio_vs_flashmla']:.3f} (b={lo['b']} s_k={lo.get('s_k')} h_q={lo['h_q']} s_q={lo['s_q']}), highest {max(v):.3f}")
P
rm -f "$OUT"/*.svg
ts end
