#!/usr/bin/env bash
# Session 32, call 6 (H200): FlashMLA back to back without its host cost (bench/cuda/flashmla_protocols.py now replays
# its calls from a CUDA graph, 10 a replay; the eager loop of calls 2-5 beside it), and ours back to back, in one call,
# on FlashMLA's grid plus b = 1 and the uneven batch, the 34 small-batch shapes and the 25 hold-outs. Predictions:
# results/gpu-host/bench/hopper/s32/predictions.txt. Carry .ghc and .devstage (s32c3.tar.xz):
#   OUT=$OUT bash bench/cuda/hopper/s32_call6.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s32c3.tar.xz}"
"${CLI[@]}" bench --grid full --emit-configs "$OUT/full.json" > /dev/null
cp bench/cuda/small-batch.json "$OUT/small-batch.json"; cp bench/cuda/combine-holdout.json "$OUT/combine-holdout.json"
for set in full small-batch combine-holdout; do
  PYTHONUNBUFFERED=1 timeout -k 5 200 python3 bench/cuda/flashmla_protocols.py .gpu-host/anchors --configs "$OUT/$set.json" --out "$OUT/fp-$set.json" > "$OUT/fp-$set.txt" 2>&1 || echo "fp $set rc $?"
  tail -2 "$OUT/fp-$set.txt"; ts "flashmla $set done"
  timeout -k 5 200 "${CLI[@]}" bench --backend cuda --configs "$OUT/$set.json" --flashmla "$OUT/fp-$set.json" --out "$OUT/b2b-$set.json" 2>&1 | grep -E 'matched|warning' | head -2
  ts "ours $set done"
done
python3 - "$OUT" <<'P'
import json, math, sys, os
o = sys.argv[1]
g = lambda v: math.exp(sum(map(math.log, v)) / len(v)) if v else float('nan')
for set in ('full', 'small-batch', 'combine-holdout'):
    fp = json.load(open(os.path.join(o, f'fp-{set}.json'))); ours = json.load(open(os.path.join(o, f'b2b-{set}.json')))
    meth = sorted({r.get('b2b_method') for r in fp['rows']})
    eg = [r['flashmla_b2b_eager']['ms'] / r['flashmla_b2b']['ms'] for r in fp['rows']]
    db = [r['flashmla']['ms'] / r['flashmla_b2b']['ms'] for r in fp['rows']]
    v = [r['ratio_vs_flashmla'] for r in ours['rows'] if 'ratio_vs_flashmla' in r]
    vb = [r['ratio_vs_flashmla'] for r in ours['rows'] if r['b'] == 128 and 'ratio_vs_flashmla' in r]
    print(f"{set}: FlashMLA b2b method {meth}; eager / graph geomean {g(eg):.3f} (max {max(eg):.2f}); do_bench / graph {g(db):.3f}; "
          f"ours b2b vs FlashMLA graph b2b: geomean {g(v):.4f} ({len(v)}), b=128 rows {g(vb):.4f} ({len(vb)}), lowest {min(v):.3f}")
    for r, f in zip(ours['rows'], fp['rows']):
        print(f"   b={r['b']} s_k={r.get('s_k', '-')} h_q={r['h_q']} s_q={r['s_q']}: ours {r['ms'] * 1e3:.1f}, FlashMLA graph {f['flashmla_b2b']['ms'] * 1e3:.1f} eager {f['flashmla_b2b_eager']['ms'] * 1e3:.1f} do_bench {f['flashmla']['ms'] * 1e3:.1f} us -> {r.get('ratio_vs_flashmla', float('nan')):.3f}")
P
rm -f "$OUT"/*.svg "$OUT"/*.json.tmp
tar czf "$OUT/s32c6.tgz" -C "$OUT" fp-full.json fp-small-batch.json fp-combine-holdout.json b2b-full.json b2b-small-batch.json b2b-combine-holdout.json fp-full.txt fp-small-batch.txt fp-combine-holdout.txt
ts end
