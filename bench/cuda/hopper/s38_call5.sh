#!/usr/bin/env bash
# Session 38, call 5 (H200): (1) the device plan's walk with a request's block count read one request ahead
# (mla_dense_fp8_lists; call 4 left D/A 1.043 at h_q 64): checks (sparse.test.ts's dense blocks with the kernel's own
# test, sparse-count.ts dense64d 150 / dense64 60, memcheck on 4 dense64d cases) and arms A D D A at h_q 64 / 128;
# (2) #14 recorded with this library: FlashMLA 9241ae3's sparse decode (bench_sparse.py's shapes, us_do_bench) against
# ours (`flashmla bench --mode sparse --flush-mb 256`, do_bench's loop) with the dense rows at h_q 16 / 32 / 64 / 128.
# Predictions and rules: results/gpu-host/bench/hopper/s38/predictions.txt. Pack: s29_pack .devstage/s38c5.tar.xz;
# carry .ghc (with anchors) and .devstage:   OUT=$OUT bash bench/cuda/hopper/s38_call5.sh
# (Refactored after it ran: the steps are s29_common.sh's s38_* functions with the counts it ran; not run again as written.)
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s38c5.tar.xz}"
mkdir -p "$OUT/f"
s38_counts "dense64d 150 3" "dense64 60 2"
s38_dense_test
s38_san dense64d 4 memcheck
wait
ts "checks done"
s38_checks_report
s38_dense_arms 64,128 A D D A
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
