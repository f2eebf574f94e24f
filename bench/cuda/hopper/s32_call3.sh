#!/usr/bin/env bash
# Session 32, call 3 (H200): the library against FlashMLA 9241ae3 with one timing protocol on both sides, both
# protocols recorded. Dense: `flashmla bench --grid full` (24 configurations, b = 1 s_k 32768, the uneven batch) back to
# back and with --flush-mb 256, FlashMLA by bench/cuda/flashmla_protocols.py (do_bench and back to back on the anchor's
# inputs); each run of ours merges the FlashMLA times of its own protocol. Sparse: FlashMLA by
# bench/cuda/flashmla_sparse_protocols.py (bench_sparse.py plus us_b2b), ours back to back and with --flush-mb 256.
# WebGPU: b = 1 s_k 32768 and the uneven batch back to back against FlashMLA back to back. Predictions and rule:
# results/gpu-host/bench/hopper/s32/predictions.txt. Carry .ghc and .devstage (s32c3.tar.xz from s29_pack):
#   OUT=$OUT bash bench/cuda/hopper/s32_call3.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s32c3.tar.xz}"
D=cuda-h200-2026-12-03-s32; S=cuda-sparse-h200-2026-12-03-s32
"${CLI[@]}" bench --grid full --emit-configs "$OUT/configs.json" > /dev/null
PYTHONUNBUFFERED=1 timeout -k 5 150 python3 bench/cuda/flashmla_protocols.py .gpu-host/anchors --configs "$OUT/configs.json" --out "$OUT/flashmla-protocols-h200.json" 2>&1 | tail -4
ts "flashmla dense done"
timeout -k 5 200 "${CLI[@]}" bench --backend cuda --configs "$OUT/configs.json" --flashmla "$OUT/flashmla-protocols-h200.json" --out "$OUT/$D-b2b.json" 2>&1 | grep -E 'matched|warning|geomean' | head -4
ts "ours dense back to back done"
timeout -k 5 200 "${CLI[@]}" bench --backend cuda --configs "$OUT/configs.json" --flashmla "$OUT/flashmla-protocols-h200.json" --flush-mb 256 --out "$OUT/$D-flush.json" 2>&1 | grep -E 'matched|warning|geomean' | head -4
ts "ours dense flush done"
PYTHONUNBUFFERED=1 timeout -k 5 200 python3 bench/cuda/flashmla_sparse_protocols.py .gpu-host/anchors/flashmla-sparse --out "$OUT/flashmla-sparse-protocols-h200.json" --deadline 120 > "$OUT/flashmla-sparse.txt" 2>&1 || echo "sparse anchor rc $?"
tail -3 "$OUT/flashmla-sparse.txt"
ts "flashmla sparse done"
timeout -k 5 150 "${CLI[@]}" bench --mode sparse --backend cuda --flashmla "$OUT/flashmla-sparse-protocols-h200.json" --out "$OUT/$S-b2b.json" -q 2>&1 | grep -E 'geometric|warning' | head -3
ts "ours sparse back to back done"
timeout -k 5 150 "${CLI[@]}" bench --mode sparse --backend cuda --flashmla "$OUT/flashmla-sparse-protocols-h200.json" --flush-mb 256 --out "$OUT/$S-flush.json" -q 2>&1 | grep -E 'geometric|warning' | head -3
ts "ours sparse flush done"
timeout -k 5 150 "${CLI[@]}" bench --backend webgpu --configs "$OUT/configs.json" --only 24,25 --flashmla "$OUT/flashmla-protocols-h200.json" --out "$OUT/webgpu-h200-2026-12-03-s32-b1.json" 2>&1 | grep -E 'matched|warning|\[[12]/2\]' | head -4
ts "webgpu done"
python3 - "$OUT" <<'P'
import json, math, sys, os
o = sys.argv[1]
def g(v): return math.exp(sum(math.log(x) for x in v) / len(v)) if v else float('nan')
for n in ('cuda-h200-2026-12-03-s32-b2b', 'cuda-h200-2026-12-03-s32-flush', 'webgpu-h200-2026-12-03-s32-b1'):
    p = os.path.join(o, n + '.json')
    if not os.path.exists(p): print(n, 'missing'); continue
    d = json.load(open(p)); rows = d['rows']
    r24 = [r['ratio_vs_flashmla'] for r in rows if r.get('b') == 128 and 'ratio_vs_flashmla' in r]
    print(f"{n}: protocol {d.get('protocol')} / FlashMLA {d.get('flashmla_protocol')} matched {d.get('protocol_matched')}; "
          f"grid geomean {g(r24):.4f} ({len(r24)}), lowest {min(r24) if r24 else float('nan'):.3f}")
    for r in rows:
        print(f"  b={r['b']} s_k={r.get('s_k', '-')} h_q={r['h_q']} s_q={r['s_q']} {r.get('kernel', '')}: {r['ms'] * 1e3:.1f} us, "
              f"FlashMLA {r.get('flashmla_ms', float('nan')) * 1e3:.1f} us, {r.get('ratio_vs_flashmla', float('nan')):.3f}x"
              + (f", {r['TFLOPS']:.0f} TFLOPS" if r['b'] == 128 and r['h_q'] * r['s_q'] >= 128 else f", {r['GBps']:.0f} GB/s" if r['b'] == 128 else ''))
for n in ('cuda-sparse-h200-2026-12-03-s32-b2b', 'cuda-sparse-h200-2026-12-03-s32-flush'):
    p = os.path.join(o, n + '.json')
    if not os.path.exists(p): print(n, 'missing'); continue
    d = json.load(open(p))
    print(f"{n}: protocol {d.get('protocol')} / FlashMLA {d.get('flashmla_protocol')} matched {d.get('protocol_matched')}; geomean {d.get('geomean_ratio_vs_flashmla')}")
    print('  ' + ' '.join(f"{r['ratio_vs_flashmla']:.3f}" for r in d['rows'] if 'ratio_vs_flashmla' in r))
    print('  dense FP8 / bf16: ' + ' '.join(f"h_q {x['h_q']} {x['speedup_vs_bf16']:.2f}x" for x in d['dense']))
P
ts end
