#!/usr/bin/env bash
# Session 69, call 3 (issue #14): call 2 (s68_call2.sh, an H100, 22:06 UTC) found the shipped build's V3.2 entries clean
# under memcheck and synccheck (the runs owed since session 67) and racecheck reporting one WAR class in the V3.2 pair
# entry `_c2_sp` (4101 byte reports: warpgroup 1's load of a row's rescale factor `rows().scale[r]` at +0x2400, threads
# 163-179, against warpgroup 0's store of the next tile's factor at +0x8de0, threads 32-48). Those two accesses are
# ordered by named barrier 2 (warpgroup 1's `bar.arrive 2` after its P V, warpgroup 0's `bar.sync 2` before it writes
# the next P and factors): the arrive form the tool does not model (docs/notes/sanitizers.md, mode 4). The verification
# build (MLA_RACECHECK_STRICT: every named-barrier arrive waits as a sync, stages handed back a warp at a time) is the
# test: racecheck, memcheck and synccheck of it on V3.2 cases at 128 heads (the pair entries) and at 64 heads (the
# one-CTA entries), and racecheck of the shipped build at 64 heads (not run in call 2).
# Prediction (written before the run): the verification build 0 hazards and 0 errors on both; the shipped build at 64
# heads the same WAR class as at 128 (the V3.2 entries' warpgroup 1 multiplies by the factors every tile, so it loads
# them every tile; the MODEL1 entries, racecheck-clean in session 67, skip that load on the lazy path).
#   (here)   the strict build: nvcc -DMLA_RACECHECK_STRICT sparse_sm90.cu (no -warn-spills: it spills 4 bytes in
#            model1_bf16_sp) over dist/cuda's other fatbins as dist-strict/cuda; s29_pack .devstage/s69c3.tar.xz strict
#   (device) ln -sfn .ghc .gpu-host && OUT=$OUT bash bench/cuda/hopper/s69_call3.sh > $OUT/log.txt 2>&1   (carry .ghc/node_modules)
card=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1); echo "card: $card"
export PACK=.devstage/s69c3.tar.xz BUDGET=${BUDGET:-300}
source bench/cuda/hopper/s50_common.sh && s50_setup s69c3 # (W, CLI, ts, lim)
san() { # san TAG KERNELS HQ TOOLS: V3.2 random cases at HQ heads (2 + 1 exact) under each tool, one after another
  local tool
  for tool in $4; do
    FLASHMLA_CUDA_KERNELS=$2 FLASHMLA_GPU_SPARSE_SM90_HQ=$3 FLASHMLA_GPU_SPARSE_SM90_CASES=2 FLASHMLA_GPU_SPARSE_SM90_EXACT_CASES=1 \
      FLASHMLA_GPU_SPARSE_SM90_SEED=960 timeout -k 5 "$(lim 120)" compute-sanitizer --tool $tool --target-processes all --print-limit 20 \
      $([ $tool = racecheck ] && echo --racecheck-report all) node --test --test-reporter=tap --test-name-pattern "v32 with 64" \
      build/test/gpu/sparse.test.js > "$W/$tool-$1.txt" 2>&1
  done
}
san s128 dist-strict/cuda 128 "racecheck memcheck synccheck" & san s64 dist-strict/cuda 64 "racecheck memcheck synccheck" & san d64 dist/cuda 64 racecheck &
wait
for t in s128 s64 d64; do for tool in racecheck memcheck synccheck; do [ -f "$W/$tool-$t.txt" ] || continue
  echo "$tool $t: $(grep -aE "ERROR SUMMARY|RACECHECK SUMMARY|^# (pass|fail)" "$W/$tool-$t.txt" | tr "\n" " ")"
  grep -aE "Read Thread|Write Thread" "$W/$tool-$t.txt" | sed -E 's/Thread \([0-9]+,0,0\)/T/' | sort | uniq -c | head -4; done; done
ts sanitizers
xz -T8 "$W"/*.txt 2>/dev/null; tar cf "$OUT/s69c3.tar" -C "$W" .
ts end
