#!/usr/bin/env bash
# Session 32, call 7 (H200): back to back with both sides replayed from CUDA graphs of 10 calls (ours: flashmla bench
# --graph-calls 10; FlashMLA: bench/cuda/flashmla_protocols.py --protocols graph), same call, on FlashMLA's grid plus b = 1
# and the uneven batch, the 34 small-batch shapes and the 25 hold-outs. Predictions: results/gpu-host/bench/hopper/s32/
# predictions.txt. Carry .ghc and .devstage (s32c7.tar.xz from s29_pack):   OUT=$OUT bash bench/cuda/hopper/s32_call7.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s32c7.tar.xz}"
"${CLI[@]}" bench --grid full --emit-configs "$OUT/full.json" > /dev/null
cp bench/cuda/small-batch.json "$OUT/small-batch.json"; cp bench/cuda/combine-holdout.json "$OUT/combine-holdout.json"
for set in full small-batch combine-holdout; do
  PYTHONUNBUFFERED=1 timeout -k 5 120 python3 bench/cuda/flashmla_protocols.py .gpu-host/anchors --protocols graph --configs "$OUT/$set.json" --out "$OUT/fp-$set.json" > "$OUT/fp-$set.txt" 2>&1 || echo "fp $set rc $?"
  ts "flashmla $set done"
  timeout -k 5 150 "${CLI[@]}" bench --backend cuda --configs "$OUT/$set.json" --flashmla "$OUT/fp-$set.json" --graph-calls 10 --out "$OUT/graph-$set.json" 2>&1 | grep -E 'matched|warning' | head -2
  ts "ours $set done"
done
python3 - "$OUT" <<'P'
import json, math, sys, os
o = sys.argv[1]
g = lambda v: math.exp(sum(map(math.log, v)) / len(v)) if v else float('nan')
for set in ('full', 'small-batch', 'combine-holdout'):
    d = json.load(open(os.path.join(o, f'graph-{set}.json')))
    v = [r['ratio_vs_flashmla'] for r in d['rows'] if 'ratio_vs_flashmla' in r]
    vb = [r['ratio_vs_flashmla'] for r in d['rows'] if r['b'] == 128 and 'ratio_vs_flashmla' in r]
    lo = min(d['rows'], key=lambda r: r.get('ratio_vs_flashmla', 9))
    print(f"{set}: {d.get('protocol')} graph_calls {d.get('graph_calls')} / FlashMLA {d.get('flashmla_protocol')} matched {d.get('protocol_matched')}: "
          f"geomean {g(v):.4f} ({len(v)}), b=128 {g(vb):.4f} ({len(vb)}), lowest {lo['ratio_vs_flashmla']:.3f} (b={lo['b']} s_k={lo.get('s_k')} h_q={lo['h_q']} s_q={lo['s_q']})")
    for r in d['rows']:
        print(f"   b={r['b']} s_k={r.get('s_k', '-')} h_q={r['h_q']} s_q={r['s_q']}: ours {r['ms'] * 1e3:.1f}, FlashMLA {r.get('flashmla_ms', float('nan')) * 1e3:.1f} us -> {r.get('ratio_vs_flashmla', float('nan')):.3f}")
P
rm -f "$OUT"/*.svg
tar czf "$OUT/s32c7.tgz" -C "$OUT" fp-full.json fp-small-batch.json fp-combine-holdout.json graph-full.json graph-small-batch.json graph-combine-holdout.json fp-full.txt
rm -f "$OUT"/fp-*.txt "$OUT"/full.json "$OUT"/small-batch.json "$OUT"/combine-holdout.json "$OUT"/jobs.txt
ts end
