#!/usr/bin/env bash
# Session 56, call 1: sparse metadata planned on the device (getSparseMlaMetadata's onDevice: mla_sparse_bound's first
# CTAs write FlashMLA's plan into the metadata's tensors before each decode) and sparse steps in CUDA graphs; the graphs'
# hold on the workspaces and the staging that forgets its words after a replay (dense too).
# (1) test/gpu/sparse.test.ts "metadata planned on the device": 20 seeds x 4 random cases (sparse_sm90.cu at 64 / 128 heads,
#     sparse_mma.cu small cases, host or device indices, sparse.cu through the naive backend), each plan compared with the
#     host scheduler's and each output with the float64 reference; the capture test (3 shapes, 4 replays with new lengths,
#     some outside 0..topk, a workspace grown mid-way; host-planned calls between replays); the bound-pass test now also
#     captured. (2) test/gpu/cuda.test.ts's graph tests (the new one: host-index calls around replays). (3) memcheck on a
#     few device-plan cases. (4) time: FlashMLA's 12 sparse shapes with the plan on the host vs on the device, alternating.
# Predictions (written before the run): (1)-(3) pass, 0 memcheck errors; (4) device / host 1.00-1.02 per shape (the plan
#     CTAs are 33-132 warps walking <= 128 requests in a pass that already runs for device indices; the combine launched
#     for every step where the host knew a step unsplit: the 2 rows with b = 2 / 74 may be 1-3 % slower).
#   (here)   s29_pack .devstage/s56c1.tar.xz
#   (device) ln -sfn .ghc .gpu-host && BUDGET=560 OUT=$OUT bash bench/cuda/hopper/s56_call1.sh > $OUT/log.txt 2>&1
source bench/cuda/hopper/s50_common.sh && PACK=.devstage/s56c1.tar.xz s50_setup c1 # (W, CLI, ts, lim)
FLASHMLA_GPU_SPARSE_DEVPLAN_CASES=20 s50_sparse_suite devplan 170 "metadata planned on the device|then captured with onDevice"
grep -E "^# (v32|model1) hQ|^not ok|Error|expected|actual" "$W/devplan.tap" | cut -c1-240 | head -12
ts "devplan"
timeout -k 5 "$(lim 60)" node --test --test-name-pattern "graph" build/test/gpu/cuda.test.js > "$W/graph.tap" 2>&1
echo "graph rc $?"; grep -E "^# (pass|fail)|^not ok" "$W/graph.tap" | head -6
ts "graph"
FLASHMLA_GPU_SPARSE_DEVPLAN_CASES=2 timeout -k 5 "$(lim 60)" compute-sanitizer --tool memcheck --print-limit 20 node --test --test-name-pattern "metadata planned on the device" \
  build/test/gpu/sparse.test.js > "$W/memcheck.txt" 2>&1
echo "memcheck rc $?: $(grep -E 'ERROR SUMMARY' "$W/memcheck.txt" | tail -1) $(grep -E '^# (pass|fail)' "$W/memcheck.txt" | tr '\n' ' ')"
ts "memcheck"
for arm in host1: dev1:--device-plan host2: dev2:--device-plan; do
  IFS=: read -r tag flag <<< "$arm"
  timeout -k 5 "$(lim 40)" "${CLI[@]}" bench --mode sparse --backend cuda --flush-mb 256 --rep-ms 40 $flag --out "$W/sp-$tag.json" > "$W/sp-$tag.txt" 2>&1
  echo "sparse $tag rc $?"
done
s50_sparse_rows sp-dev1.json sp-host1.json; echo; s50_sparse_rows sp-dev2.json sp-host2.json
ts "end"
tar czf "$OUT/s56c1.tgz" -C "$W" .
