#!/bin/bash
# Session 12 round 2, h2, call 1 (repository root of /work/main on the GPU host; carry [".gpu-host", ".devstage/s12-h2r2.tgz",
# ".devstage/h2-s12r2"]): 1. checks of sf+w (kVarStF32) with memcheck / synccheck, while the library (sm_90a only,
# the library's bits x1573662) builds; 2. the golden suite (and 0 random cases) of test/gpu/sm90-wide.test.ts on that
# build, FLASHMLA_GOLDEN set; 3. traces (split items' srst against the CTA) at s_k 8192, 128 / 256 rows: libtr+w, sftr+w;
# 4. abb lib+w against sf+w (8 shapes: s_k 1024 / 4096 / 8192 x 128 / 256 rows, two 64-row controls).
set -u
S=$SECONDS; ts() { echo "[+$((SECONDS - S))s] $*"; }
R=$PWD; O=$1; mkdir -p $O
D=$R/.devstage/h2-s12r2
HGD=/tmp/hg-s12r2; mkdir -p $HGD; gunzip -c $D/harness_gap.gz > $HGD/harness_gap; chmod +x $HGD/harness_gap
W=/tmp/w-s12-h2r2; rm -rf $W; mkdir -p $W; tar xzf .devstage/s12-h2r2.tgz -C $W; cp -r test/fixtures/golden $W/test/fixtures/; ln -s $R/.gpu-host $W/.gpu-host
( cd $W && source .gpu-host/enter.sh > $O/enter.txt 2>&1 && timeout 100 node scripts/build-kernels.mjs --launch build/src/backends/cuda/kernels/launch.js --out dist/cuda --gencode arch=compute_90a,code=sm_90a > $O/build.txt 2>&1; echo "build rc=$?" >> $O/build.txt ) &
bpid=$!
HG=$HGD C=sf+w GAP_SHAPES=" " AB_SHAPES=" " CHECK_S=40 SAN_S=40 timeout 50 bash $D/run_s12_h2.sh $O/r > $O/check.txt 2>&1
grep -E '^(check|memcheck|synccheck)' $O/check.txt
ts "check done"
wait $bpid; tail -1 $O/build.txt; ts "built"
( cd $W && source .gpu-host/enter.sh > /dev/null 2>&1 && FLASHMLA_GOLDEN=$W/test/fixtures/golden FLASHMLA_SM90W_CASES=0 timeout 60 node --test --test-reporter=tap build/test/gpu/sm90-wide.test.js > $O/golden.tap 2>&1; echo "rc=$?" >> $O/golden.tap )
echo "goldens: $(grep -cE '^\s+ok .*' $O/golden.tap) ok, $(grep -cE '^\s*not ok' $O/golden.tap) not ok; $(grep -E '^# (pass|fail)' $O/golden.tap | tr '\n' ' ') $(tail -1 $O/golden.tap); kernels: $(grep -o 'mla_decode_[a-z0-9_]*' $O/golden.tap | sort | uniq -c | tr '\n' ' ')"
ts "goldens done"
HG=$HGD C=sf+w CHECK=0 FORCE=1 GK="libtr+w sftr+w" GAP_SHAPES="128,8192,128,1 128,8192,128,2" AB_K="lib+w sf+w" IDLE_MS=100 ROUNDS=10 timeout 80 bash $D/run_s12_h2.sh $O/r 2>&1 | grep -vE '^h2s12: |^-r'
ts "end"
