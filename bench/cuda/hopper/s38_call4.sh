#!/usr/bin/env bash
# Session 38, call 4 (H200): dense FP8 decode of 64 heads and more on sparse_sm90.cu with the block table and the
# lengths on the device, planned there by mla_dense_fp8_lists's first CTAs (call 3's separate plan kernel cost 5 %). Checks (sparse-count.ts dense64d 300 / dense64 100;
# sparse.test.ts's dense blocks; memcheck and synccheck on dense64d cases), then dense rows h_q 16 / 32 / 64 / 128 at
# b=128 s_k 8192 in do_bench's loop, arms A (host lengths from 64 heads) / D (--dense-device-lens) / MD (sparse_mma.cu,
# device lengths) / D / A. Predictions and
# the ship rule: results/gpu-host/bench/hopper/s38/predictions.txt. Pack: s29_pack .devstage/s38c4.tar.xz; carry .ghc
# and .devstage:   OUT=$OUT bash bench/cuda/hopper/s38_call3.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s38c4.tar.xz}"
mkdir -p "$OUT/f"
SC=(node build/test/gpu/sparse-count.js)
for i in 0 1 2 3 4 5; do timeout -k 5 200 "${SC[@]}" 300 cuda dense64d "$i/6" > "$OUT/f/count-dense64d-$i.txt" 2>&1 & done
for i in 0 1 2 3; do timeout -k 5 200 "${SC[@]}" 100 cuda dense64 "$i/4" > "$OUT/f/count-dense64-$i.txt" 2>&1 & done
FLASHMLA_GPU_DENSE64_CASES=20 FLASHMLA_GPU_DENSE90_CASES=20 timeout -k 5 200 node --test --test-reporter=tap --test-name-pattern="dense" \
  build/test/gpu/sparse.test.js > "$OUT/f/sparse-test-dense.tap" 2>&1 &
for tool in memcheck synccheck; do
  timeout -k 5 200 compute-sanitizer --tool $tool --print-limit 20 "${SC[@]}" 4 cuda dense64d > "$OUT/f/san-$tool.txt" 2>&1 &
done
wait
ts "checks done"
cat "$OUT"/f/count-*.txt
grep -E '^# (tests|pass|fail)|^ *not ok' "$OUT/f/sparse-test-dense.tap"
for tool in memcheck synccheck; do echo "san-$tool: $(grep -E 'ERROR SUMMARY' "$OUT/f/san-$tool.txt" | tail -1) $(grep -E 'pass' "$OUT/f/san-$tool.txt" | tr '\n' ' ')"; done
i=0
for arm in A D MD D A; do
  i=$((i + 1)); x=(); e=(); [ $arm != A ] && x=(--dense-device-lens); [ $arm = MD ] && e=(FLASHMLA_CUDA_DENSE_FP8_SPARSE=0)
  env "${e[@]}" timeout -k 5 150 "${CLI[@]}" bench --mode sparse --backend cuda --dense-only --dense-heads 16,32,64,128 --flush-mb 256 "${x[@]}" \
    --out "$OUT/f/dense-$i-$arm.json" -q > "$OUT/f/dense-$i-$arm.txt" 2>&1 || echo "dense $arm rc $?"
  ts "dense $i $arm"
done
python3 - "$OUT/f" <<'P'
import glob, json, os, sys
runs = {}
for f in sorted(glob.glob(os.path.join(sys.argv[1], 'dense-*-*.json'))):
    arm = os.path.basename(f)[:-5].split('-')[2]
    runs.setdefault(arm, []).append({r['h_q']: r for r in json.load(open(f))['dense']})
mean = lambda v: sum(v) / len(v)
for h in sorted(runs['A'][0]):
    t = {arm: [r[h]['us'] for r in rs] for arm, rs in runs.items()}
    print(f"h_q {h:4d} " + ' '.join(f"{arm} {[round(x, 1) for x in v]} ({runs[arm][0][h].get('kernel')})" for arm, v in t.items())
          + f" D/A {mean(t['D']) / mean(t['A']):.3f} D/MD {mean(t['D']) / mean(t['MD']):.3f} FP8/bf16 speed A {[round(r[h]['speedup_vs_bf16'], 3) for r in runs['A']]} D {[round(r[h]['speedup_vs_bf16'], 3) for r in runs['D']]}")
P
tar czf "$OUT/s38c4.tgz" -C "$OUT" f
ts end
