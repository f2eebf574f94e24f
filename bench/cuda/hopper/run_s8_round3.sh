#!/bin/bash
# (x63, kVarOrder, left the kernel after session 8: measured 5-15 % slower; commit 6c7d876 has it. This script is the call as run.)
# Session 8, third H200 call for the >= 64-row kernel: the library test with the goldens (FLASHMLA_GOLDEN) and 200
# random cases, harness check of the library's entry (1000) and of x63 (kVarOrder, 300), memcheck + synccheck of
# both, SASS counts; then timing of lib / x0 (v3) / x29 / x30 interleaved, then lib against x63 separately.
set -u
B=$1
mkdir -p $B/o
( FLASHMLA_GOLDEN=$PWD/test/fixtures/golden FLASHMLA_SM90W_CASES=200 timeout 110 node --test --test-reporter=tap build/test/gpu/sm90-wide.test.js > $OUT/test.txt 2>&1; echo "test rc=$?" >> $OUT/test.txt ) &
( for j in 1 2 3; do CHECK_KERNEL=x63 timeout 60 $B/harness_wide check 100 $((20 + j)) > $B/o/x63_$j.log 2>&1 & done; wait ) &
BIN=$B/harness_wide CHECK_JOBS=10 CHECK_TIMEOUT=100 OUT=$B/o bash bench/cuda/hopper/run_wide.sh 1000 "check sass" > $B/o/run.txt 2>&1
{ for t in memcheck synccheck; do echo "== $t lib"; timeout 60 compute-sanitizer --tool $t $B/harness_wide check 3 11 2>&1 | tail -2; done
  echo "== synccheck x63"; CHECK_KERNEL=x63 timeout 60 compute-sanitizer --tool synccheck $B/harness_wide check 3 12 2>&1 | tail -2; } > $B/o/san.txt 2>&1
wait
{ cat $B/o/run.txt $B/o/san.txt; for j in 1 2 3; do echo "x63 check $j: $(tail -1 $B/o/x63_$j.log)"; grep FAIL $B/o/x63_$j.log | head -3; done; grep -E "^# (pass|fail|tests)|^not ok|rc=|cases ran" $OUT/test.txt; } | tee $OUT/correct.txt
VARS="lib x0 x29 x30" COMPARE=vars ROUNDS=3 timeout 40 $B/harness_wide time $OUT/time_vars.json 2>&1 | tee $OUT/time_vars.txt
if grep -q "0 failed" $B/o/x63_1.log; then VARS="lib x63" COMPARE=vars ROUNDS=3 timeout 20 $B/harness_wide time $OUT/time_x63.json 2>&1 | tee $OUT/time_x63.txt; fi
