#!/usr/bin/env bash
# Session 38, call 5 (H200): (1) the device plan's walk with a request's block count read one request ahead
# (mla_dense_fp8_lists; call 4 left D/A 1.043 at h_q 64): checks (sparse.test.ts's dense blocks with the kernel's own
# test, sparse-count.ts dense64d 150 / dense64 60, memcheck on 4 dense64d cases) and arms A D D A at h_q 64 / 128;
# (2) #14 recorded with this library: FlashMLA 9241ae3's sparse decode (bench_sparse.py's shapes, us_do_bench) against
# ours (`flashmla bench --mode sparse --flush-mb 256`, do_bench's loop) with the dense rows at h_q 16 / 32 / 64 / 128.
# Predictions and rules: results/gpu-host/bench/hopper/s38/predictions.txt. Pack: s29_pack .devstage/s38c5.tar.xz;
# carry .ghc (with anchors) and .devstage:   OUT=$OUT bash bench/cuda/hopper/s38_call5.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s38c5.tar.xz}"
mkdir -p "$OUT/f"
SC=(node build/test/gpu/sparse-count.js)
for i in 0 1 2; do timeout -k 5 150 "${SC[@]}" 150 cuda dense64d "$i/3" > "$OUT/f/count-dense64d-$i.txt" 2>&1 & done
for i in 0 1; do timeout -k 5 150 "${SC[@]}" 60 cuda dense64 "$i/2" > "$OUT/f/count-dense64-$i.txt" 2>&1 & done
FLASHMLA_GPU_DENSE64_CASES=20 FLASHMLA_GPU_DENSE90_CASES=20 timeout -k 5 150 node --test --test-reporter=tap --test-name-pattern="dense" \
  build/test/gpu/sparse.test.js > "$OUT/f/sparse-test-dense.tap" 2>&1 &
timeout -k 5 150 compute-sanitizer --tool memcheck --print-limit 20 "${SC[@]}" 4 cuda dense64d > "$OUT/f/san-memcheck.txt" 2>&1 &
wait
ts "checks done"
cat "$OUT"/f/count-*.txt
grep -E '^# (tests|pass|fail)|^ *not ok' "$OUT/f/sparse-test-dense.tap"
echo "san-memcheck: $(grep -E 'ERROR SUMMARY' "$OUT/f/san-memcheck.txt" | tail -1) $(grep -E 'pass' "$OUT/f/san-memcheck.txt" | tr '\n' ' ')"
i=0
for arm in A D D A; do
  i=$((i + 1)); x=(); [ $arm = D ] && x=(--dense-device-lens)
  timeout -k 5 150 "${CLI[@]}" bench --mode sparse --backend cuda --dense-only --dense-heads 64,128 --flush-mb 256 "${x[@]}" \
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
    print(f"h_q {h:4d} " + ' '.join(f"{arm} {[round(x, 1) for x in v]}" for arm, v in t.items()) + f" D/A {mean(t['D']) / mean(t['A']):.3f}")
P
PYTHONUNBUFFERED=1 timeout -k 5 200 python3 bench/cuda/flashmla_sparse_protocols.py .gpu-host/anchors/flashmla-sparse --out "$OUT/fp-sparse.json" --deadline 120 > "$OUT/fp-sparse.txt" 2>&1 || echo "sparse anchor rc $?"
tail -2 "$OUT/fp-sparse.txt"; ts "flashmla sparse done"
timeout -k 5 240 "${CLI[@]}" bench --mode sparse --backend cuda --flashmla "$OUT/fp-sparse.json" --flush-mb 256 --dense-heads 16,32,64,128 --out "$OUT/sparse-flush.json" -q 2>&1 | grep -E 'geometric|warning|dense' | head -8
ts "ours sparse done"
python3 - "$OUT/sparse-flush.json" <<'P'
import json, sys
d = json.load(open(sys.argv[1]))
print('commit', d['commit'], 'geomean', d.get('geomean_ratio_vs_flashmla'))
for r in d['rows']: print(r.get('format'), r.get('b'), r.get('h_q'), r.get('s_q'), r.get('topk'), r.get('extra_topk'), round(r.get('us'), 1), round(r.get('ratio_vs_flashmla') or 0, 3))
for r in d.get('dense', []): print('dense', r['h_q'], r.get('kernel'), r.get('lens'), round(r['us'], 1), round(r['bf16_us'], 1), round(r['speedup_vs_bf16'], 3), round(r['TFLOPS'], 1))
P
rm -f "$OUT"/*.svg
tar czf "$OUT/s38c5.tgz" -C "$OUT" f $(cd "$OUT" && ls fp*.json sparse-*.json fp-*.txt 2>/dev/null)
ts end
