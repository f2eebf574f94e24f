#!/bin/bash
# Session 8, second H200 call for the >= 64-row kernel: correctness (harness 1000 random cases, library test 200
# cases + goldens, memcheck, synccheck, SASS counts) in parallel, then timing on a quiet GPU (the library's entry and
# the VAR variants interleaved, FlashMLA), then ncu of the library's entry on 128 / 256 rows.
# Run from the staged worktree ($W) with .gpu-host entered; B = the folder with harness_wide, dist-cuda, cfg.json.
set -u
B=$1
mkdir -p $B/o $B/p
( FLASHMLA_SM90W_CASES=200 timeout 200 node --test --test-reporter=tap build/test/gpu/sm90-wide.test.js > $OUT/test.txt 2>&1; echo "test rc=$?" >> $OUT/test.txt ) &
BIN=$B/harness_wide CHECK_JOBS=10 CHECK_TIMEOUT=170 OUT=$B/o bash bench/cuda/hopper/run_wide.sh 1000 "check sass" > $B/o/run.txt 2>&1
for t in memcheck synccheck; do echo "== $t"; timeout 90 compute-sanitizer --tool $t $B/harness_wide check 3 11 2>&1 | tail -3; done > $B/o/san.txt 2>&1
wait
{ cat $B/o/run.txt $B/o/san.txt; grep -E "^# (pass|fail|tests)|^not ok|rc=" $OUT/test.txt; } | tee $OUT/correct.txt
COMPARE=vars ROUNDS=3 timeout 150 $B/harness_wide time $OUT/time_vars.json 2>&1 | tee $OUT/time_vars.log
PYTHONUNBUFFERED=1 timeout 90 python3 .gpu-host/anchors/bench_flashmla.py --configs $B/cfg.json --no-triton --out $OUT/flashmla.json > $OUT/flashmla.log 2>&1; tail -17 $OUT/flashmla.log
BIN=$B/harness_wide OUT=$B/p NCU_S=60 NO_FLASHMLA=1 bash $B/run_profile.sh "128,8192,128,1 128,8192,128,2" 2>&1 | tee $OUT/profile.log
cd $B/p && tar czf $OUT/prof2.tgz ncu/*.txt ncu/*.csv ncu/*.log $B/o/*.log $B/o/sass.txt 2>/dev/null
