#!/usr/bin/env bash
# Session 67, call 2 (issue #14), after call 1's stamps (results/gpu-host/bench/hopper/s67/call1/): a MODEL1 h_q 128 top-k
# 512 item costs 25.7 us on the shipped build, of which 8.6 us are its boundary (Q load 2.3 us, the epilogue's lse and
# factors 1.8, the staged store 3.6, tile 0 after Q 0.3, the gap to the next item 0.6) against 2.39 us a tile. qe (Q by
# warpgroup 1 in the last tile) took the Q wait to 0.13 us but moved ~1.2 us of cp.async issue onto warpgroup 1's last
# P V (lse phase 1.8 -> 3.0 us): qe / shipped 0.974 / 0.984 on that shape, 0.989 / 0.990 over the four MODEL1 h128 shapes.
#   qp   (MLA_SPARSE_SM90_QE=2): the producer warpgroup loads each item's Q (cp.async from its 128 threads, issued with the
#        item's tile-0 loads in flight once warpgroup 0's last S of the item before is done (rowsQ().free), waited for
#        after tile 0's stores, announced on rowsQ().full); the output staged in the last tile's stage as in qe.
#   qpsk (+ MLA_SPARSE_SM90_SINKS=1): the CTA's 64 attention sinks copied to shared memory once, so the epilogue's sink is
#        a shared load, not a global one at every item's end (the pair entries and the one-CTA V3.2 entries).
# Checks on qpsk: 4 x 150 random MODEL1 cases at 128 heads (+ 30 exact), 100 random V3.2 cases at 64 / 128 heads, the
# goldens, out-view, sink and page-size tests; memcheck, synccheck and racecheck of MODEL1 h128 cases. A/B: shipped, qp,
# qpsk, two rounds, arms alternating; stamps of shipped and qpsk (its stamp build spills 8-12 bytes: probe only).
# Predictions (written before the run): qp / shipped 0.95-0.975 on MODEL1 h128 top-k 512, 0.97-0.985 at 1024, 0.975-0.99
# on CONFIG2 / CONFIG4, the other eight 0.995-1.005; qpsk / qp 0.99-0.997 on the eight pair shapes (one L2 load an item
# off the critical path), 0.998-1.002 on MODEL1 h64. Stamps of qpsk: Q wait < 0.2 us, lse phase 0.8-1.5 us.
# Rule: ship the better of qp / qpsk if its checks pass and its geomean over the four MODEL1 h128 shapes is <= 0.985 of
# shipped in both rounds with no shape above 1.01 in both (qpsk needs qpsk / qp <= 1.0 over the eight pair shapes).
#   (here)   source bench/cuda/hopper/s29_common.sh && s29_pack .devstage/s67c2.tar.xz qp qpsk stamp stampqpsk
#   (device) ln -sfn .ghc .gpu-host && OUT=$OUT bash bench/cuda/hopper/s67_call2.sh > $OUT/log.txt 2>&1   (carry .ghc/node_modules)
# Measured (H100 80GB HBM3, 15:25 UTC; results/gpu-host/bench/hopper/s67/call2/): qp + sinks 1.090x / 1.087x FlashMLA
# (shipped 1.075x / 1.075x), lowest 1.031x / 1.029x; over the four MODEL1 h128 shapes 0.962 / 0.961 of shipped: ships;
# checks passed, memcheck / synccheck 0 errors, racecheck 0 hazards.
card=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1); echo "card: $card"
case "$card" in
  *H200*) PACK=.devstage/s66rec.tar.xz BUDGET=150 OUT=$OUT bash bench/cuda/hopper/s65_call5.sh > "$OUT/rec.txt" 2>&1; echo "record rc $?"; tail -16 "$OUT/rec.txt" ;;
esac
export PACK=.devstage/s67c2.tar.xz BUDGET=${BUDGET:-450}
source bench/cuda/hopper/s50_common.sh && s50_setup s67c2 # (W, CLI, ts, lim)
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu --format=csv,noheader
if [ -f /tmp/s50s65c5/fp-sparse.json ]; then cp /tmp/s50s65c5/fp-sparse.json "$W/"; else
  PYTHONUNBUFFERED=1 timeout -k 5 "$(lim 60)" python3 bench/cuda/flashmla_sparse_protocols.py .gpu-host/anchors/flashmla-sparse --out "$W/fp-sparse.json" --deadline 45 > "$W/fp-sparse.txt" 2>&1 || echo "sparse anchor rc $?"
fi
ts "flashmla sparse"
K=dist-qpsk/cuda
for s in 0 1000 2000 3000; do
  FLASHMLA_CUDA_KERNELS=$K FLASHMLA_GPU_SPARSE_SM90_HQ=128 FLASHMLA_GPU_SPARSE_SM90_CASES=150 FLASHMLA_GPU_SPARSE_SM90_EXACT_CASES=30 \
    FLASHMLA_GPU_SPARSE_SM90_SEED=$((s + 700)) timeout -k 5 "$(lim 90)" node --test --test-reporter=tap --test-name-pattern "model1 with 64" \
    build/test/gpu/sparse.test.js > "$W/r$s.tap" 2>&1 &
done
FLASHMLA_CUDA_KERNELS=$K FLASHMLA_GPU_SPARSE_SM90_CASES=100 FLASHMLA_GPU_SPARSE_SM90_EXACT_CASES=20 FLASHMLA_GPU_SPARSE_SM90_SEED=700 timeout -k 5 "$(lim 90)" \
  node --test --test-reporter=tap --test-name-pattern "v32 with 64" build/test/gpu/sparse.test.js > "$W/v32.tap" 2>&1 &
FLASHMLA_CUDA_KERNELS=$K FLASHMLA_GPU_SPARSE_PAGE_CASES=12 FLASHMLA_GPU_SPARSE_SINK_CASES=12 timeout -k 5 "$(lim 90)" node --test --test-reporter=tap \
  --test-name-pattern "goldens|out as a view|sinks far above|not powers of two" build/test/gpu/sparse.test.js > "$W/other.tap" 2>&1 &
wait
for f in r0 r1000 r2000 r3000 v32 other; do echo "$f: $(grep -aE "^# (pass|fail)" "$W/$f.tap" | tr "\n" " ")"; grep -aE "^not ok|seed [0-9]+" "$W/$f.tap" | grep -v SKIP | head -3 | cut -c1-200; done
ts "qpsk checks"
s65_sparse_ab 2 ship:dist/cuda: qp:dist-qp/cuda: qpsk:dist-qpsk/cuda:
ts "ab"
timeout -k 5 "$(lim 80)" node build/bench/cuda/hopper/s67_stamps.js ship=dist/cuda qpsk=dist-qpsk/cuda stamp=dist-stamp/cuda stampqpsk=dist-stampqpsk/cuda \
  --shapes k512,k1024 --rounds 2 --json "$W/stamps.json" > "$W/stamps.txt" 2>&1
echo "stamps rc $?"; grep -aE "^## |item \(|Q load|epilogue|gap|wg1 loop left after|wg1 end after|tile 0 wait" "$W/stamps.txt" | cut -c1-150
ts "stamps"
for tool in memcheck synccheck; do
  FLASHMLA_CUDA_KERNELS=$K FLASHMLA_GPU_SPARSE_SM90_HQ=128 FLASHMLA_GPU_SPARSE_SM90_CASES=8 FLASHMLA_GPU_SPARSE_SM90_EXACT_CASES=2 \
    FLASHMLA_GPU_SPARSE_SM90_SEED=900 timeout -k 5 "$(lim 60)" compute-sanitizer --tool $tool --target-processes all --print-limit 20 \
    node --test --test-reporter=tap --test-name-pattern "model1 with 64" build/test/gpu/sparse.test.js > "$W/$tool.txt" 2>&1
  echo "$tool rc $?: $(grep -aE "ERROR SUMMARY|^# (pass|fail)" "$W/$tool.txt" | tr "\n" " ")"
done
FLASHMLA_CUDA_KERNELS=$K FLASHMLA_GPU_SPARSE_SM90_HQ=128 FLASHMLA_GPU_SPARSE_SM90_CASES=3 FLASHMLA_GPU_SPARSE_SM90_EXACT_CASES=1 \
  FLASHMLA_GPU_SPARSE_SM90_SEED=950 timeout -k 5 "$(lim 100)" compute-sanitizer --tool racecheck --racecheck-report all --target-processes all --print-limit 20 \
  node --test --test-reporter=tap --test-name-pattern "model1 with 64" build/test/gpu/sparse.test.js > "$W/racecheck.txt" 2>&1
echo "racecheck rc $?: $(grep -aE "RACECHECK SUMMARY|ERROR SUMMARY|^# (pass|fail)" "$W/racecheck.txt" | tr "\n" " ")"
python3 bench/cuda/hopper/s28_race_classes.py "$W/racecheck.txt" 2>&1 | grep -v '^\s*$' | head -20
ts "sanitizers"
xz -T8 "$W"/*.txt "$W"/*.tap 2>/dev/null; tar cf "$OUT/s67c2.tar" -C "$W" .
ts end
