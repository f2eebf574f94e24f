#!/usr/bin/env bash
# Session 68, call 2b (issue #14): s68_call2.sh cut to what fits the device time left after eleven tries without a
# machine (18:59 UTC, 524 s left): the same pack, builds, predictions and rules (see s68_call2.sh's header), with fewer
# checks (qv1 100 random MODEL1 and 100 V3.2 cases at 64 heads + 20 exact each, ni 40 a format at 64 / 128 heads; both the
# goldens, out-view, sink, page, many-requests and dense FP8 64-head tests), the A/B over the 12 shapes (shipped, qv1,
# ni; two rounds), one round of the 64-head A/B, and memcheck / synccheck of qv1's one-CTA entries only.
#   (device) ln -sfn .ghc .gpu-host && OUT=$OUT bash bench/cuda/hopper/s68_call2b.sh > $OUT/log.txt 2>&1   (carry .ghc/node_modules)
# Not run in session 68 (no machine started).
export PACK=.devstage/s68c2.tar.xz BUDGET=${BUDGET:-300}
source bench/cuda/hopper/s50_common.sh && s50_setup s68c2 # (W, CLI, ts, lim)
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu --format=csv,noheader
PYTHONUNBUFFERED=1 timeout -k 5 "$(lim 50)" python3 bench/cuda/flashmla_sparse_protocols.py .gpu-host/anchors/flashmla-sparse --out "$W/fp-sparse.json" --deadline 35 > "$W/fp-sparse.txt" 2>&1 || echo "sparse anchor rc $?"
ts "flashmla sparse"
rnd() { # rnd TAG KERNELS KIND SEED HQ N: N random cases (+ N / 5 exact)
  FLASHMLA_CUDA_KERNELS=$2 FLASHMLA_GPU_SPARSE_SM90_HQ=$5 FLASHMLA_GPU_SPARSE_SM90_CASES=$6 FLASHMLA_GPU_SPARSE_SM90_EXACT_CASES=$(( $6 / 5 )) \
    FLASHMLA_GPU_SPARSE_SM90_SEED=$4 timeout -k 5 "$(lim 80)" node --test --test-reporter=tap --test-name-pattern "$3 with 64" \
    build/test/gpu/sparse.test.js > "$W/$1.tap" 2>&1
}
rnd qv1-m dist-qv1/cuda model1 680 64 100 & rnd qv1-v dist-qv1/cuda v32 680 64 100 & rnd ni-r dist-ni/cuda "" 2680 64,128 40 &
for v in qv1 ni; do
  FLASHMLA_CUDA_KERNELS=dist-$v/cuda FLASHMLA_GPU_SPARSE_PAGE_CASES=8 FLASHMLA_GPU_SPARSE_SINK_CASES=16 FLASHMLA_GPU_SPARSE_ITEM_CASES=20 \
    FLASHMLA_GPU_DENSE64_CASES=20 FLASHMLA_GPU_DENSE_FOLD_CASES=20 timeout -k 5 "$(lim 80)" \
    node --test --test-reporter=tap --test-name-pattern "goldens|out as a view|sinks far above|not powers of two|many requests a part|64 heads and more" \
    build/test/gpu/sparse.test.js > "$W/other-$v.tap" 2>&1 &
done
for t in model1:m v32:v; do
  IFS=: read -r kind tag <<< "$t"
  FLASHMLA_CUDA_KERNELS=dist-qv1/cuda FLASHMLA_GPU_SPARSE_SM90_HQ=64 FLASHMLA_GPU_SPARSE_SM90_CASES=3 FLASHMLA_GPU_SPARSE_SM90_EXACT_CASES=1 \
    FLASHMLA_GPU_SPARSE_SM90_SEED=900 timeout -k 5 "$(lim 80)" compute-sanitizer --tool memcheck --target-processes all --print-limit 20 \
    node --test --test-reporter=tap --test-name-pattern "$kind with 64" build/test/gpu/sparse.test.js > "$W/memcheck-$tag.txt" 2>&1 &
done
wait
for f in qv1-m qv1-v ni-r other-qv1 other-ni; do echo "$f: $(grep -aE "^# (pass|fail)" "$W/$f.tap" | tr "\n" " ")"; grep -aE "^not ok|seed [0-9]+" "$W/$f.tap" | grep -v SKIP | head -3 | cut -c1-200; done
for t in m v; do echo "memcheck $t: $(grep -aE "ERROR SUMMARY|^# (pass|fail)" "$W/memcheck-$t.txt" | tr "\n" " ")"; done
ts "checks"
s65_sparse_ab 2 ship:dist/cuda: qv1:dist-qv1/cuda: ni:dist-ni/cuda:
ts "ab"
for arm in ship:dist/cuda qv1:dist-qv1/cuda; do
  IFS=: read -r tag dir <<< "$arm"
  FLASHMLA_CUDA_KERNELS=$dir timeout -k 5 "$(lim 45)" "${CLI[@]}" bench --mode sparse --backend cuda --flush-mb 256 --rep-ms 30 --heads 64 --dense-heads 64 \
    --out "$W/h64-$tag.json" > "$W/h64-$tag.txt" 2>&1; echo "h64 $tag rc $?"
done
python3 - "$W" <<'P'
import json, os, sys, math
w = sys.argv[1]
def rows(f):
    d = json.load(open(f)); return [(r.get('label'), r.get('format'), r.get('topk_total'), r['us']) for r in d['rows']] + [('dense', r.get('format', 'v32'), r.get('h_q'), r['us']) for r in d.get('dense', [])]
a, b = os.path.join(w, 'h64-ship.json'), os.path.join(w, 'h64-qv1.json')
if os.path.exists(a) and os.path.exists(b):
    g = []
    for x, y in zip(rows(a), rows(b)):
        q = y[3] / x[3]; g.append(q); print(f"h64 {x[0]:<22} {x[1]} {x[2]}: ship {x[3]:8.1f} qv1 {y[3]:8.1f} us  qv1/ship {q:.3f}")
    print(f"h64 geomean qv1/ship {math.exp(sum(map(math.log, g)) / len(g)):.4f}")
P
ts "ab h64"
xz -T8 "$W"/*.txt "$W"/*.tap 2>/dev/null; tar cf "$OUT/s68c2b.tar" -C "$W" .
ts end
