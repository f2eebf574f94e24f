#!/usr/bin/env bash
# Session 68, call 2 (issue #14): session 67's qp scheme in the one-CTA entries (64 heads: four of FlashMLA's 12 sparse
# shapes, the V3.2 64-head shapes and dense FP8 steps of 64 heads), and the sanitizers on the shipped build's V3.2 entries.
#   qp1 (MLA_SPARSE_SM90_QE1=1; `mla_sparse_sm90_model1_bf16` / `_sp`): produceTile's generic loop issues each item's Q
#       (cp.async, 128 producer threads) once tile 0's loads are in flight and warpgroup 0's last S of the item before is
#       done (rowsQ().free), waits for it after tile 0's stores and announces it (rowsQ().full); the consumers no longer
#       load Q; bit 9's epilogue stages the output in the item's last stage, held until the bulk copies have read it.
#   qv1 (QE1=7): qp1; the sinks from shared memory in those entries (before qp1 the `_sp` entry spilled 4 bytes with
#       them; now no spill); and the same scheme in the one-CTA V3.2 entries (`v32_bf16` / `_sp`, bit 11's epilogue).
#   ni (QE1=7, MLA_SPARSE_SM90_NI=1; every entry): qv1, and the consumers load the next item's four words (split counts,
#       lengths) when an item starts instead of when the next one does (the gap between items, ~0.6-0.9 us in session 67's
#       stamps: one L2 round trip).
# (Trimmed at 18:32 UTC to fit the device time left after seven tries without a machine: qp1 is packed but not run; qv1
# contains it, and the h64 A/B splits off qv1's V3.2 part.)
# Checks: qv1 150 MODEL1 and 150 V3.2 random cases at 64 heads (+ 30 exact each); ni 60 random cases a format at 64 and 128
# heads (+ 10 exact); qv1 and ni: the goldens, out-view, sink, page and many-requests tests, 30 + 30 dense FP8 cases of 64
# heads and more (the one-CTA V3.2 entries) and 30 + 30 folded ones; memcheck, synccheck and racecheck of
# qv1's one-CTA entries and of the shipped build's V3.2 entries (session 67 checked MODEL1 only).
# A/B, two rounds each: shipped, qv1, ni over the 12 shapes; shipped, qv1 over the 12 shapes at 64 heads (`--heads 64`:
# the V3.2 rows then run the one-CTA entries) with the dense FP8 rows at 64 heads.
# Predictions (written before the run): qp1 / shipped 0.93-0.97 on the four one-CTA MODEL1 shapes (h64 top-k 512 / 1024,
# CONFIG1 / CONFIG3: about two items a CTA, each ~2.2 us of Q load off a 35-60 us item pair), 0.995-1.005 elsewhere;
# qv1 / qp1 0.99-1.00 on those four (every bench shape has a sink, as FlashMLA's; the pair's sink read was ~0.9 us an item);
# qv1 / shipped on the V3.2 rows at 64 heads 0.95-0.98 (72 KiB of Q an item, 1-4 items a CTA), dense FP8 64 heads
# 0.98-1.00 (one long item a CTA: one Q load of ~470 us).
# ni / qv1 0.985-0.997 on the 12 shapes (2-8 items a CTA of 25-60 us, ~0.5 us each), 1.00 at dense 64 heads.
# Rule: qp1 ships (QE1 default 1) if its checks pass and its geomean over the four one-CTA MODEL1 shapes is <= 0.98 of
# shipped in both rounds, no shape above 1.01 in both; bits 2 and 4 (qv1) each ship if their checks pass and their rows
# are not slower (geomean <= 1.002 of the build without them, over their own rows, in both rounds); ni if its checks pass
# and its geomean over the 12 shapes is <= 0.995 of qv1's in both rounds.
# (No separate record part: the A/B's shipped arm is FlashMLA's table and ours in the same call, on whatever card.)
#   (here)   tsc into build/ and build-kernels into dist/cuda as usual, then for V:D in qp1:1 qv1:7:
#            node scripts/build-kernels.mjs --launch build/src/backends/cuda/kernels/launch.js --out dist-V/cuda \
#              --gencode arch=compute_90a,code=sm_90a --define MLA_SPARSE_SM90_QE1=D   (ni: --define MLA_SPARSE_SM90_QE1=7
#              --define MLA_SPARSE_SM90_NI=1 into dist-ni/cuda)
#            source bench/cuda/hopper/s29_common.sh && s29_pack .devstage/s68c2.tar.xz qp1 qv1 ni
#   (device) ln -sfn .ghc .gpu-host && OUT=$OUT bash bench/cuda/hopper/s68_call2.sh > $OUT/log.txt 2>&1   (carry .ghc/node_modules)
# Not run in session 68: no device machine started in 22 tries (docs/notes/cuda-sparse-decode.md, "Session 68");
# the first call of the next session.
# Run in session 69 (an H100, 22:06 UTC; results/gpu-host/bench/hopper/s69/call2/): KEEP. qv1 1.014 / 1.025-1.032 of the
# shipped time on the one-CTA MODEL1 / V3.2 h64 rows, ni level (docs/notes/cuda-sparse-decode.md, "Session 69, call 2").
card=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1); echo "card: $card"
export PACK=.devstage/s68c2.tar.xz BUDGET=${BUDGET:-500}
source bench/cuda/hopper/s50_common.sh && s50_setup s68c2 # (W, CLI, ts, lim)
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu --format=csv,noheader
if [ -f /tmp/s50s60sp/fp-sparse.json ]; then cp /tmp/s50s60sp/fp-sparse.json "$W/"; else
  PYTHONUNBUFFERED=1 timeout -k 5 "$(lim 60)" python3 bench/cuda/flashmla_sparse_protocols.py .gpu-host/anchors/flashmla-sparse --out "$W/fp-sparse.json" --deadline 45 > "$W/fp-sparse.txt" 2>&1 || echo "sparse anchor rc $?"
fi
ts "flashmla sparse"
rnd() { # rnd TAG KERNELS KIND SEED: 150 random cases at 64 heads (+ 30 exact)
  FLASHMLA_CUDA_KERNELS=$2 FLASHMLA_GPU_SPARSE_SM90_HQ=64 FLASHMLA_GPU_SPARSE_SM90_CASES=150 FLASHMLA_GPU_SPARSE_SM90_EXACT_CASES=30 \
    FLASHMLA_GPU_SPARSE_SM90_SEED=$4 timeout -k 5 "$(lim 100)" node --test --test-reporter=tap --test-name-pattern "$3 with 64" \
    build/test/gpu/sparse.test.js > "$W/$1.tap" 2>&1
}
rnd qv1-m0 dist-qv1/cuda model1 680 & rnd qv1-v0 dist-qv1/cuda v32 680 &
FLASHMLA_CUDA_KERNELS=dist-ni/cuda FLASHMLA_GPU_SPARSE_SM90_CASES=60 FLASHMLA_GPU_SPARSE_SM90_EXACT_CASES=10 FLASHMLA_GPU_SPARSE_SM90_SEED=2680 \
  timeout -k 5 "$(lim 100)" node --test --test-reporter=tap --test-name-pattern "with 64" build/test/gpu/sparse.test.js > "$W/ni-r.tap" 2>&1 &
for v in qv1 ni; do
  FLASHMLA_CUDA_KERNELS=dist-$v/cuda FLASHMLA_GPU_SPARSE_PAGE_CASES=12 FLASHMLA_GPU_SPARSE_SINK_CASES=24 FLASHMLA_GPU_SPARSE_ITEM_CASES=30 \
    FLASHMLA_GPU_DENSE64_CASES=30 FLASHMLA_GPU_DENSE_FOLD_CASES=30 timeout -k 5 "$(lim 100)" \
    node --test --test-reporter=tap --test-name-pattern "goldens|out as a view|sinks far above|not powers of two|many requests a part|64 heads and more" \
    build/test/gpu/sparse.test.js > "$W/other-$v.tap" 2>&1 &
done
wait
for f in qv1-m0 qv1-v0 ni-r other-qv1 other-ni; do echo "$f: $(grep -aE "^# (pass|fail)" "$W/$f.tap" | tr "\n" " ")"; grep -aE "^not ok|seed [0-9]+" "$W/$f.tap" | grep -v SKIP | head -3 | cut -c1-200; done
ts "checks"
s65_sparse_ab 2 ship:dist/cuda: qv1:dist-qv1/cuda: ni:dist-ni/cuda:
ts "ab"
for r in 1 2; do
  for arm in ship:dist/cuda qv1:dist-qv1/cuda; do
    IFS=: read -r tag dir <<< "$arm"
    FLASHMLA_CUDA_KERNELS=$dir timeout -k 5 "$(lim 50)" "${CLI[@]}" bench --mode sparse --backend cuda --flush-mb 256 --rep-ms 30 --heads 64 --dense-heads 64 \
      --out "$W/h64-$tag$r.json" > "$W/h64-$tag$r.txt" 2>&1; echo "h64 $tag$r rc $?"
  done
done
python3 - "$W" <<'P'
import json, os, sys, math
w = sys.argv[1]
def rows(f):
    d = json.load(open(f)); return [(r.get('label'), r.get('format'), r.get('topk_total'), r['us']) for r in d['rows']] + [('dense', r.get('format', 'v32'), r.get('h_q'), r['us']) for r in d.get('dense', [])]
for r in (1, 2):
    a, b = os.path.join(w, f'h64-ship{r}.json'), os.path.join(w, f'h64-qv1{r}.json')
    if not (os.path.exists(a) and os.path.exists(b)): print('h64 round', r, 'missing'); continue
    xs, ys = rows(a), rows(b); g = []
    for x, y in zip(xs, ys):
        q = y[3] / x[3] if x[3] else float('nan'); g.append(q)
        print(f"h64 r{r} {x[0]:<22} {x[1]} {x[2]}: ship {x[3]:8.1f} qv1 {y[3]:8.1f} us  qv1/ship {q:.3f}")
    print(f"h64 r{r} geomean qv1/ship {math.exp(sum(map(math.log, g)) / len(g)):.4f}")
P
ts "ab h64"
san() { # san TAG KERNELS KIND HQ: memcheck and synccheck of 5 random cases (+ 1 exact), racecheck of 2 (+ 1), one after another
  local tool
  for tool in memcheck synccheck; do
    FLASHMLA_CUDA_KERNELS=$2 FLASHMLA_GPU_SPARSE_SM90_HQ=$4 FLASHMLA_GPU_SPARSE_SM90_CASES=5 FLASHMLA_GPU_SPARSE_SM90_EXACT_CASES=1 \
      FLASHMLA_GPU_SPARSE_SM90_SEED=900 timeout -k 5 "$(lim 60)" compute-sanitizer --tool $tool --target-processes all --print-limit 20 \
      node --test --test-reporter=tap --test-name-pattern "$3 with 64" build/test/gpu/sparse.test.js > "$W/$tool-$1.txt" 2>&1
  done
  FLASHMLA_CUDA_KERNELS=$2 FLASHMLA_GPU_SPARSE_SM90_HQ=$4 FLASHMLA_GPU_SPARSE_SM90_CASES=${RC_CASES:-2} FLASHMLA_GPU_SPARSE_SM90_EXACT_CASES=1 \
    FLASHMLA_GPU_SPARSE_SM90_SEED=950 timeout -k 5 "$(lim 90)" compute-sanitizer --tool racecheck --racecheck-report all --target-processes all --print-limit 20 \
    node --test --test-reporter=tap --test-name-pattern "$3 with 64" build/test/gpu/sparse.test.js > "$W/racecheck-$1.txt" 2>&1
}
san qv1m dist-qv1/cuda model1 64 & san qv1v dist-qv1/cuda v32 64 & san v128 dist/cuda v32 128 & san ni128 dist-ni/cuda model1 128 & san ni64 dist-ni/cuda v32 64 &
wait
for t in qv1m qv1v v128 ni128 ni64; do for tool in memcheck synccheck racecheck; do
  echo "$tool $t: $(grep -aE "ERROR SUMMARY|RACECHECK SUMMARY|^# (pass|fail)" "$W/$tool-$t.txt" | tr "\n" " ")"; done; done
ts "sanitizers"
python3 bench/cuda/hopper/s68_rule.py "$W" | tee "$W/rule.txt" # (session 69: the header's rule as code, s68_rule.py)
xz -T8 "$W"/*.txt "$W"/*.tap 2>/dev/null; tar cf "$OUT/s68c2.tar" -C "$W" .
ts end
