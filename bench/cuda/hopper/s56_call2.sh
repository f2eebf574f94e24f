#!/usr/bin/env bash
# (Its sanitizer loop was moved into s50_common.sh's s58_sanitize after the run: the same steps, the reported sites by one grep.)
# Session 56, call 2 (after call 1: correct, but the device plan cost 11-24 us a call, 5-27 % of FlashMLA's 12 sparse
# shapes on the H100: its walk, one thread's serial pass over requests and parts, in the last of 33-132 plan CTAs, ahead
# of every decode). Now: metadata without lengths is planned once on the host and written to the device (no pass); with
# lengths, one CTA plans, and skips its walk where the metadata's record (planState) holds the same lengths (a step's
# later layers); FLASHMLA_CUDA_SPARSE_REPLAN=1 walks at every call (the measurement of the walk).
# (1) the device-plan suites at 150 seeds, the capture test (a replay with the lengths on record), cuda.test.ts's graph
#     tests; memcheck, racecheck and synccheck on two device-plan seeds. (2) time, FlashMLA's 12 sparse shapes, host plan /
#     --device-plan / --device-plan with REPLAN=1, alternating, two rounds.
# Predictions (written before the run): (1) pass, sanitizers 0 errors / 0 hazards; (2) --device-plan / host 0.99-1.01 on
#     the 10 rows without lengths (the same launches), 1.00-1.03 on CONFIG3 / CONFIG4 (the record check: 1 CTA reading 2 x
#     128 lengths); REPLAN=1 / host 1.05-1.15 on CONFIG3 / CONFIG4 (the walk of ~160 iterations, now one CTA).
#   (here)   s29_pack .devstage/s56c2.tar.xz
#   (device) ln -sfn .ghc .gpu-host && BUDGET=560 OUT=$OUT bash bench/cuda/hopper/s56_call2.sh > $OUT/log.txt 2>&1
source bench/cuda/hopper/s50_common.sh && PACK=.devstage/s56c2.tar.xz s50_setup c2 # (W, CLI, ts, lim)
FLASHMLA_GPU_SPARSE_DEVPLAN_CASES=150 s50_sparse_suite devplan 150 "metadata planned on the device|then captured with onDevice"
grep -E "^# (v32|model1) hQ|^not ok|Error|expected|actual" "$W/devplan.tap" | cut -c1-240 | head -12
grep -E "^\s+ok|duration_ms" "$W/devplan.tap" | grep -B1 -A0 "duration" | head -0
ts "devplan"
timeout -k 5 "$(lim 60)" node --test --test-name-pattern "graph" build/test/gpu/cuda.test.js > "$W/graph.tap" 2>&1
echo "graph rc $?"; grep -E "^# (pass|fail)|^not ok" "$W/graph.tap" | head -6
ts "graph"
FLASHMLA_GPU_SPARSE_DEVPLAN_CASES=2 s58_sanitize "metadata planned on the device" 60 memcheck racecheck synccheck
for arm in host1:0: dev1:0:--device-plan rep1:1:--device-plan host2:0: dev2:0:--device-plan rep2:1:--device-plan; do
  IFS=: read -r tag rep flag <<< "$arm"
  FLASHMLA_CUDA_SPARSE_REPLAN=$rep timeout -k 5 "$(lim 40)" "${CLI[@]}" bench --mode sparse --backend cuda --flush-mb 256 --rep-ms 40 --dense-heads none $flag \
    --out "$W/sp-$tag.json" > "$W/sp-$tag.txt" 2>&1
  echo "sparse $tag rc $?"
done
for r in 1 2; do s50_sparse_rows sp-dev$r.json sp-host$r.json; echo; s50_sparse_rows sp-rep$r.json sp-host$r.json; echo; done
ts "end"
tar czf "$OUT/s56c2.tgz" -C "$W" .
