#!/usr/bin/env bash
# Session 65, call 2 (issue #14): call 1's in-kernel bound (ikb) cost 1.6 % over no bound at all (nob) where the pass it
# replaces cost 2.1 %: new / pass 0.996 / 0.994 (H100). The cost sits where the bound selects between the two caches'
# token counts a token. nox = ikb with the producer in two copies (Kernel's HX; MLA_SPARSE_SM90_NOX=1, the default): a
# launch without an extra cache (8 of FlashMLA's 12 shapes) runs the copy in which no id is the extra cache's, so the bound
# is one compare with the main cache's count, as the -1 test it replaced, and the selects of base, stride and page size
# between the caches go too. The MODEL1 pair entries keep one producer (two spill 4 bytes; their bound cost nothing).
# Arms as call 1, two rounds, alternating: nox (dist), ikb (dist-ikb: MLA_SPARSE_SM90_NOX=0), pass (dist-old behind the
# pass), nob (dist-old, no bound). Then dense FP8 at 64 / 128 heads (sparse_sm90.cu, no extra cache) nox against nob, the
# stray-id tests under memcheck, and the sparse GPU suite (reduced counts) on nox.
# Predictions (written before the run): nox / nob 0.98-1.00 on the 8 shapes without an extra cache (their bound as cheap as
# the old -1 test, fewer selects than before), 1.01-1.02 on CONFIG1-4 (ikb's cost); nox / pass 0.975-0.99 geomean; ikb
# as in call 1 (new / pass 0.994-0.996); dense FP8 nox / nob 0.99-1.00; memcheck 0 errors, the suite passes.
# Rule: ship nox if the suite and memcheck pass and nox / pass <= 0.99 geomean in both rounds with no shape above 1.01 in
# both; else ship ikb (the rule of call 1 failed at 0.996 / 0.994 and new / nob 1.016, so ikb ships only if it also
# passes: new / pass <= 0.995 in both rounds); else keep the pass. Measured (H100; results/gpu-host/bench/hopper/s65/call2/):
# nox / pass 0.980 / 0.976 (without an extra cache 0.970 / 0.964), nox / nob 1.002 / 0.994, ikb / pass 0.996 / 0.999;
# suite 60 / 60, memcheck 0 errors: nox ships.
#   (here)   rm -rf build && npx tsc -p tsconfig.json --noEmit false --outDir build --declaration false --sourceMap false
#            node scripts/build-kernels.mjs --launch build/src/backends/cuda/kernels/launch.js --out dist/cuda --gencode arch=compute_90a,code=sm_90a
#            (dist-ikb/cuda: the same with --define MLA_SPARSE_SM90_NOX=0; dist-old/cuda: the previous commit's sparse_sm90.cu)
#            source bench/cuda/hopper/s29_common.sh && s29_pack .devstage/s65c2.tar.xz ikb old
#   (device) ln -sfn .ghc .gpu-host && OUT=$OUT bash bench/cuda/hopper/s65_call2.sh > $OUT/log.txt 2>&1
export PACK=${PACK:-.devstage/s65c2.tar.xz} BUDGET=${BUDGET:-575}
source bench/cuda/hopper/s50_common.sh && s50_setup s65c2 # (W, CLI, ts, lim)
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu --format=csv,noheader
PYTHONUNBUFFERED=1 timeout -k 5 "$(lim 75)" python3 bench/cuda/flashmla_sparse_protocols.py .gpu-host/anchors/flashmla-sparse --out "$W/fp-sparse.json" --deadline 55 > "$W/fp-sparse.txt" 2>&1 || echo "sparse anchor rc $?"
ts "flashmla sparse"
# (the A/B loop and its reader: s65_sparse_ab in s50_common.sh since this call ran)
s65_sparse_ab 2 nox:dist/cuda: ikb:dist-ikb/cuda: pass:dist-old/cuda:pass nob:dist-old/cuda:0
ts "ab"
for arm in nox:dist/cuda: nob:dist-old/cuda:0; do
  IFS=: read -r tag dir bound <<< "$arm"
  FLASHMLA_CUDA_SPARSE_BOUND=$bound FLASHMLA_CUDA_KERNELS=$dir timeout -k 5 "$(lim 40)" "${CLI[@]}" bench --mode sparse --backend cuda --flush-mb 256 --rep-ms 30 \
    --dense-only --dense-heads 64,128 --out "$W/dense-$tag.json" > "$W/dense-$tag.txt" 2>&1
  echo "dense $tag rc $?: $(grep -aE "^dense " "$W/dense-$tag.txt" | grep -oE "h_q=[0-9]+ .*: [0-9.]+ us" | tr '\n' ' ')"
done
ts "dense"
FLASHMLA_GPU_SPARSE_STRAY_CASES=2 timeout -k 5 "$(lim 60)" compute-sanitizer --tool memcheck --target-processes all --print-limit 20 \
  node --test --test-reporter=tap --test-name-pattern "outside the cache|bound pass" build/test/gpu/sparse.test.js > "$W/memcheck.txt" 2>&1
echo "memcheck rc $?"; grep -aE "ERROR SUMMARY|^# (pass|fail|skip)|^not ok" "$W/memcheck.txt" | head -8
ts "memcheck"
FLASHMLA_GPU_SPARSE_CASES=120 FLASHMLA_GPU_SPARSE_SM90_CASES=120 FLASHMLA_GPU_SPARSE_DEVPLAN_CASES=20 FLASHMLA_GPU_DENSE90_CASES=30 \
  FLASHMLA_GPU_DENSE64_CASES=40 FLASHMLA_GPU_DENSE_FOLD_CASES=40 FLASHMLA_GPU_FP8_F16_CASES=20 s50_sparse_suite suite "$(( BUDGET - ($(date +%s) - T0) - 10 ))" "."
grep -aE "^not ok|^# (pass|fail|skip|cancelled)" "$W/suite.tap" | head -20
ts "suite"
xz -T4 "$W/memcheck.txt"
tar czf "$OUT/s65c2.tgz" -C "$W" .
ts end
