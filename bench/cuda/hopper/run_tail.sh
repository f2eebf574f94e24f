#!/bin/bash
# One device call for the fixed costs of a call (docs/notes/cuda-hopper-decode.md "Fixed costs of a call"): the
# harness's tail breakdown (decode alone, combine alone, both, both with PDL), the PDL check, the library's GPU
# tests, `flashmla bench` on b=1, the uneven batch and the 16/32-row grid with FlashMLA in the same call (PDL on,
# then FLASHMLA_CUDA_PDL=0 on the short rows), the sanitizers on the PDL check. From the repository root on the GPU
# host, .gpu-host entered, kernels in dist/cuda, tests compiled in build/ (devstage.sh):
#   bash bench/cuda/hopper/run_tail.sh [steps]      (default "tail tests bench checkpdl sanitize"; also "check", "ncu", "ab", "trace")
# TESTS: the test/gpu suites (default "sm90 sm90-wide cuda"); FROM / FIRST: bench only configs FROM..FIRST-1;
# ONLY: bench config indexes (the PDL-off arm: default 0-4; PDL_ARM=0 skips that arm). The first arm runs the
# library's default (PDL off since call 2; set FLASHMLA_CUDA_PDL=1 to time it on).
# HARNESS: a prebuilt harness binary (default build/h2bin/harness, else built here). Logs under $OUT.
set -u
OUT=${OUT:-./out}; mkdir -p "$OUT"
steps=${1:-"tail tests bench checkpdl sanitize"}
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,temperature.gpu --format=csv,noheader | tee "$OUT/card.txt"
bin=${HARNESS:-build/h2bin/harness}
[ -x "$bin" ] || { timeout 120 nvcc -std=c++17 -O3 -gencode arch=compute_90a,code=sm_90a -o /tmp/harness bench/cuda/hopper/harness.cu > "$OUT/build.log" 2>&1; bin=/tmp/harness; }
cli="node scripts/flashmla-dist.mjs build/src"
t0=$(date +%s)
stamp() { echo "[+$(( $(date +%s) - t0 ))s] $1"; }
for s in $steps; do
  case $s in
    tail) timeout ${TAIL_S:-40} $bin tail "$OUT/tail.json" 2>&1 | tee "$OUT/tail.log" ;;
    tests)
      export FLASHMLA_GOLDEN=${FLASHMLA_GOLDEN:-test/fixtures/golden} FLASHMLA_SM90_CASES=${CASES:-200} FLASHMLA_SM90W_CASES=${WCASES:-${CASES:-200}} FLASHMLA_GPU_CASES=${CASES:-200}
      for t in ${TESTS:-sm90 sm90-wide cuda}; do
        timeout ${TEST_S:-60} node --test --test-reporter=tap build/test/gpu/$t.test.js > "$OUT/test-$t.tap" 2>&1; echo "test $t: exit $?"
        grep -E '^not ok|^# (tests|pass|fail)' "$OUT/test-$t.tap" | head -8
      done ;;
    bench)
      cat > /tmp/cfg_tail.json <<'J'
[{"b":1,"s_k":32768,"h_q":16,"s_q":1},{"b":4,"seqlens":[4641,45118,1730,1696],"h_q":16,"s_q":4},{"b":128,"s_k":1024,"h_q":16,"s_q":1},{"b":128,"s_k":1024,"h_q":32,"s_q":1},{"b":128,"s_k":1024,"h_q":16,"s_q":2},{"b":128,"s_k":4096,"h_q":16,"s_q":1},{"b":128,"s_k":4096,"h_q":32,"s_q":1},{"b":128,"s_k":4096,"h_q":16,"s_q":2},{"b":128,"s_k":8192,"h_q":16,"s_q":1},{"b":128,"s_k":8192,"h_q":32,"s_q":1},{"b":128,"s_k":8192,"h_q":16,"s_q":2}]
J
      [ -n "${FIRST:-}${FROM:-}" ] && node -e "const fs=require('fs'),f='/tmp/cfg_tail.json';fs.writeFileSync(f,JSON.stringify(JSON.parse(fs.readFileSync(f,'utf8')).slice(${FROM:-0},${FIRST:-99})))"
      PYTHONUNBUFFERED=1 timeout ${FLASHMLA_S:-60} python3 .gpu-host/anchors/bench_flashmla.py --configs /tmp/cfg_tail.json --no-triton --out "$OUT/flashmla.json" > "$OUT/flashmla.log" 2>&1; stamp flashmla
      timeout ${BENCH_S:-60} $cli bench --backend cuda --configs /tmp/cfg_tail.json ${ONLY:+--only $ONLY} --flashmla "$OUT/flashmla.json" --check 1 --out "$OUT/bench-default.json" -q 2>&1 | tail -14
      [ "${PDL_ARM:-1}" = 1 ] && FLASHMLA_CUDA_PDL=0 timeout ${BENCH_S:-60} $cli bench --backend cuda --configs /tmp/cfg_tail.json --only ${ONLY:-0,1,2,3,4} --flashmla "$OUT/flashmla.json" --check 0 --out "$OUT/bench-nopdl.json" -q 2>&1 | tail -7 ;;
    ab) # the session's starting kernels (BEFORE: a kernel folder, default build/h2cuda-before) against dist/cuda, same
        # configs (FROM / FIRST as bench), FlashMLA first, then before / after ROUNDS times (default 1); PDL off in both
      [ -f /tmp/cfg_tail.json ] || { echo "ab: run the bench step first (it writes the configs)"; continue; }
      for r in $(seq ${ROUNDS:-1}); do
        FLASHMLA_CUDA_KERNELS=$PWD/${BEFORE:-build/h2cuda-before} timeout ${BENCH_S:-60} $cli bench --backend cuda --configs /tmp/cfg_tail.json --flashmla "$OUT/flashmla.json" --check 0 --out "$OUT/ab-before-$r.json" -q 2>&1 | tail -8
        [ "${AB_AFTER:-1}" = 1 ] && timeout ${BENCH_S:-60} $cli bench --backend cuda --configs /tmp/cfg_tail.json --flashmla "$OUT/flashmla.json" --check 0 --out "$OUT/ab-after-$r.json" -q 2>&1 | tail -8
      done ;;
    check) timeout ${CHECK_S:-30} $bin check ${CHECK_CASES:-60} 5 2>&1 | tail -3 | tee "$OUT/check.log" ;;
    ncu) timeout ${NCU_S:-25} ncu --section SpeedOfLight --section LaunchStats --section Occupancy --section MemoryWorkloadAnalysis -k regex:mla_ --launch-skip 2 -c 2 $bin once ${NCU_CFG:-1 32768 16 1} > "$OUT/ncu.txt" 2>&1; grep -E "mla_|Duration|DRAM Throughput|Memory Throughput|Compute \(SM\)|Registers Per|Achieved Occupancy|Elapsed Cycles|Waves Per SM" "$OUT/ncu.txt" | head -30 ;;
    trace) # one call's per-CTA timeline (decode_sm90.cu built with MLA_SM90_TRACE; TRACE_CFG "b s_k h_q s_q", default b=1 and b=128 s_k 1024)
      tb=${HARNESS_TRACE:-build/h2bin/harness_trace}
      [ -x "$tb" ] || { timeout 120 nvcc -std=c++17 -O3 -gencode arch=compute_90a,code=sm_90a -DMLA_SM90_TRACE -o /tmp/harness_trace bench/cuda/hopper/harness.cu > "$OUT/build_trace.log" 2>&1; tb=/tmp/harness_trace; }
      timeout ${TRACE_S:-30} $tb trace ${TRACE_CFG:-} 2>&1 | tee "$OUT/trace.log" ;;
    checkpdl) timeout ${CHECK_S:-30} $bin checkpdl ${CHECK_CASES:-60} 3 2>&1 | tail -4 | tee "$OUT/checkpdl.log" ;;
    sanitize)
      for t in ${SAN_TOOLS:-memcheck racecheck synccheck}; do timeout ${SAN_S:-30} compute-sanitizer --tool $t --print-limit 8 $bin checkpdl 2 11 2>&1 | tail -5 | tee "$OUT/sanitize_$t.log"; done ;;
  esac
  stamp "$s"
done
