#!/usr/bin/env bash
# Session 55, call 2: sparse_sm90.cu launched as a programmatic dependent of the pass before it (mla_sparse_bound for
# device indices, mla_dense_fp8_lists for a dense FP8 step of 64+ rows): the kernel waits (pdlWait) after its barrier
# setup, the passes trigger their dependent first (sparse.ts launchDependent, pdl.ts). (1) Correctness on the PDL path:
# the stray-id cases (indices on the device) at 60 seeds, the dense FP8 64+-head suites (lists on the device) and the
# sparse goldens; memcheck, synccheck and racecheck of two stray cases. (2) Time: `flashmla bench --mode sparse`
# (indices on the device, do_bench's loop, flush 256 MB), three arms alternating: new (PDL, the default), nopdl (the same
# build with FLASHMLA_CUDA_PDL=merges: the sparse kernel launched plainly, the merges as before outside capture), old
# (dist-old: the build before, main 858ef720).
# Predictions (written before the run): (1) every suite passes, each sanitizer 0 errors / hazards; (2) new / nopdl
# 0.97-0.995 per shape (the decode kernel's launch and barrier setup, 1-3 us, hidden behind the pass; the short MODEL1
# 64-head rows gain most), nopdl / old 0.99-1.01 (one griddepcontrol.wait more, a no-op without the attribute).
#   (here)   s29_pack .devstage/s55c2.tar.xz old
#   (device) ln -sfn .ghc .gpu-host && BUDGET=560 OUT=$OUT bash bench/cuda/hopper/s55_call2.sh > $OUT/log.txt 2>&1
source bench/cuda/hopper/s50_common.sh && PACK=.devstage/s55c2.tar.xz s50_setup c2 # (W, CLI, ts, lim)
node -e "import('./build/src/backends/cuda/index.js').then(async (m) => { const b = await m.createCudaBackend(); console.log('pdl:', b.info.details.pdl); b.dispose(); })" 2>&1 | head -2
FLASHMLA_GPU_SPARSE_STRAY_CASES=60 FLASHMLA_GPU_DENSE64_CASES=60 FLASHMLA_GPU_DENSE_FOLD_CASES=40 \
  s50_sparse_suite pdl 150 "outside the cache|64 heads and more|FlashMLA goldens"
ts "suites"
for tool in memcheck synccheck racecheck; do
  FLASHMLA_GPU_SPARSE_STRAY_CASES=2 timeout -k 5 "$(lim 50)" compute-sanitizer --tool $tool --print-limit 10 node --test \
    --test-name-pattern "outside the cache" build/test/gpu/sparse.test.js > "$W/$tool.txt" 2>&1
  echo "$tool rc $?: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$W/$tool.txt" | tail -1) $(grep -cE '^ok|^\s+ok' "$W/$tool.txt") ok"
  ts "$tool"
done
for arm in new1:dist/cuda:1 nopdl1:dist/cuda:merges old1:dist-old/cuda:1 new2:dist/cuda:1 nopdl2:dist/cuda:merges old2:dist-old/cuda:1; do
  IFS=: read -r tag dir pdl <<< "$arm"
  FLASHMLA_CUDA_PDL=$pdl FLASHMLA_CUDA_KERNELS=$dir timeout -k 5 "$(lim 40)" "${CLI[@]}" bench --mode sparse --backend cuda --flush-mb 256 --rep-ms 30 \
    --out "$W/ab-$tag.json" > "$W/ab-$tag.txt" 2>&1; echo "ab $tag rc $?"
done
for i in 1 2; do echo "== new / nopdl ($i)"; s50_sparse_rows ab-new$i.json ab-nopdl$i.json; echo "== nopdl / old ($i)"; s50_sparse_rows ab-nopdl$i.json ab-old$i.json; done
ts "end"
tar czf "$OUT/s55c2.tgz" -C "$W" .
