#!/usr/bin/env bash
# Session 65, call 1 (issue #14): sparse_sm90.cu bounds device ids itself (idLive: the unsigned compare with the cache's
# token count where it tested id >= 0), so sparse steps with device indices run no pre-pass (mla_sparse_bound; sessions
# 53-55: a launch, 2.9 % of the kernel's time on an H100, 1.9 % with the decode PDL-launched behind it).
# Arms, each a full `flashmla bench --mode sparse` (FlashMLA's 12 shapes, indices on the device, do_bench's loop, flush
# 256 MB), alternating, two rounds: new = this build (no pass); pass = the previous kernels (dist-old) behind the pass,
# as shipped before this session (FLASHMLA_CUDA_SPARSE_BOUND=pass); nob = the previous kernels with no bound at all
# (FLASHMLA_CUDA_SPARSE_BOUND=0: the speed the bound is measured against). FlashMLA 9241ae3's table first, same call.
# Then memcheck of the stray-id tests on the new build.
# Predictions (written before the run): new / pass 0.975-0.99 geomean (the pass's net ~1.9 %), every shape 0.96-1.00;
# new / nob 0.995-1.01 (8-24 more instructions in 4888-8016, at the use sites, off the index load's chain); memcheck 0
# errors; against FlashMLA the new arm 1.02-1.04x geomean with MODEL1 h_q 128 top-k 512 >= 0.95x on an H200 (session
# 61: 1.013x, 0.941x).
# Rule: ship if call 2's checks pass, memcheck is clean, new / pass <= 0.995 (geomean) in both rounds with no shape above
# 1.01 in both, and new / nob <= 1.01. Measured (H100; results/gpu-host/bench/hopper/s65/call1/): new / pass 0.996 /
# 0.994, new / nob 1.016 / 1.016, memcheck 0 errors: the rule failed (KEEP); the cost is the select between the two
# caches a token (call 2).
#   (here)   rm -rf build && npx tsc -p tsconfig.json --noEmit false --outDir build --declaration false --sourceMap false
#            node scripts/build-kernels.mjs --launch build/src/backends/cuda/kernels/launch.js --out dist/cuda --gencode arch=compute_90a,code=sm_90a
#            (dist-old/cuda: the same with the previous commit's sparse_sm90.cu)
#            source bench/cuda/hopper/s29_common.sh && s29_pack .devstage/s65c1.tar.xz old
#   (device) ln -sfn .ghc .gpu-host && OUT=$OUT bash bench/cuda/hopper/s65_call1.sh > $OUT/log.txt 2>&1
export PACK=${PACK:-.devstage/s65c1.tar.xz} BUDGET=${BUDGET:-560}
source bench/cuda/hopper/s50_common.sh && s50_setup s65c1 # (W, CLI, ts, lim)
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu --format=csv,noheader
PYTHONUNBUFFERED=1 timeout -k 5 "$(lim 75)" python3 bench/cuda/flashmla_sparse_protocols.py .gpu-host/anchors/flashmla-sparse --out "$W/fp-sparse.json" --deadline 55 > "$W/fp-sparse.txt" 2>&1 || echo "sparse anchor rc $?"
ts "flashmla sparse"
# (the A/B loop and its reader: s65_sparse_ab in s50_common.sh since this call ran)
s65_sparse_ab 2 new:dist/cuda: pass:dist-old/cuda:pass nob:dist-old/cuda:0
ts "ab"
FLASHMLA_GPU_SPARSE_STRAY_CASES=2 timeout -k 5 "$(lim 120)" compute-sanitizer --tool memcheck --target-processes all --print-limit 20 \
  node --test --test-reporter=tap --test-name-pattern "outside the cache|bound pass" build/test/gpu/sparse.test.js > "$W/memcheck.txt" 2>&1
echo "memcheck rc $?"; grep -aE "ERROR SUMMARY|^# (pass|fail|skip)|^not ok" "$W/memcheck.txt" | head -8
ts "memcheck"
xz -T4 "$W/memcheck.txt"
tar czf "$OUT/s65c1.tgz" -C "$W" .
ts end
