#!/usr/bin/env bash
# Session 64, call 1 (issue #12, b = 1): the split merge in thread-block clusters (decode_sm90.cu kNVarCluster: harness
# entries xcl, and xlb = the shipped library entry's code), against xlb + the library's combine on the same even plan
# and on FlashMLA's plan, in one process (bench/cuda/hopper/harness.cu `cluster`).
# Predictions (written before the run): the checks pass (every case run, `same` bit-identical on the second call);
# at b = 1 s_k 32768 h_q 16 cl / lib = 0.83-0.89 back to back, one at a time and after the 256 MB zeroing (the combine
# launch and its two memory round trips, ~3.5 us, and part of the partial stores leave; the cluster merge adds
# ~0.5-1 us); at s_k 4096-16384 0.80-0.92; cl0 (no PDL) within 1 us of cl; clc (xcp: the clusters' rows stored as G
# partials, merged by the 13-lane combine) between cl and lib.
# Rule: build the library's path next if every check passes and cl / lib <= 0.92 at s_k 32768 under all three timings
# with no row above 1.00. Measured (H100, calls 1-3): checks pass, cl / lib 1.03-1.26: KEEP (docs/notes/cuda-hopper-decode.md,
# "Session 64").
#   (here)   nvcc -std=c++17 -O3 -gencode arch=compute_90a,code=sm_90a -Xptxas -warn-spills -o .devstage/harness_s64 bench/cuda/hopper/harness.cu
#   (device) ln -sfn .ghc .gpu-host && OUT=$OUT bash bench/cuda/hopper/s64_call1.sh > $OUT/log.txt 2>&1   (carry .devstage, .ghc)
set -u
OUT=${OUT:-./out}; mkdir -p "$OUT"
bin=${BIN:-.devstage/harness_s64}
chmod +x "$bin"
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem,power.draw,temperature.gpu --format=csv | tee "$OUT/card.txt"
t0=$(date +%s)
ts() { echo "[$(( $(date +%s) - t0 )) s] $*"; }
timeout 100 "$bin" cluster check "${CASES:-240}" 64 > "$OUT/check.log" 2>&1; echo "check rc $?"; tail -4 "$OUT/check.log"
ts check
timeout 60 "$bin" cluster same > "$OUT/same.log" 2>&1; echo "same rc $?"; cat "$OUT/same.log"
ts same
timeout 150 "$bin" cluster time "$OUT/time.json" > "$OUT/time.log" 2>&1; echo "time rc $?"; cat "$OUT/time.log"
ts time
# FlashMLA 9241ae3 on the same shapes under do_bench (its 256 MB zeroing, events around the call): the harness's
# "after 256 MB zeroed" column is the same protocol, so cl's ratio to FlashMLA can be read off (carry .ghc as .gpu-host).
if [ -f .gpu-host/enter.sh ] && [ -f .gpu-host/anchors/bench_flashmla.py ]; then
  cat > /tmp/cfg64.json <<'J'
[{"b":1,"s_k":4096,"h_q":16,"s_q":1},{"b":1,"s_k":8192,"h_q":16,"s_q":1},{"b":1,"s_k":16384,"h_q":16,"s_q":1},{"b":1,"s_k":32768,"h_q":16,"s_q":1},{"b":1,"s_k":65536,"h_q":16,"s_q":1},{"b":1,"s_k":32768,"h_q":8,"s_q":2}]
J
  ( source .gpu-host/enter.sh >/dev/null; PYTHONUNBUFFERED=1 timeout 120 python3 .gpu-host/anchors/bench_flashmla.py --configs /tmp/cfg64.json --no-triton --out "$OUT/flashmla.json" ) > "$OUT/flashmla.log" 2>&1
  echo "flashmla rc $?"; tail -10 "$OUT/flashmla.log"
  ts flashmla
fi
if [ "${SANITIZE:-1}" = 1 ]; then
  for t in memcheck synccheck; do
    timeout 45 compute-sanitizer --tool $t "$bin" cluster check 12 65 > "$OUT/sanitize_$t.log" 2>&1; echo "$t rc $?"; tail -3 "$OUT/sanitize_$t.log"
    ts "$t"
  done
fi
cuobjdump -sass -fun mla_decode_sm90_xcl_bf16_n16 "$bin" > "$OUT/sass_xcl.txt" 2>&1
echo "xcl SASS: HGMMA $(grep -c HGMMA "$OUT/sass_xcl.txt") LDL $(grep -c LDL "$OUT/sass_xcl.txt") STL $(grep -c STL "$OUT/sass_xcl.txt") cluster loads $(grep -c 'LD.*\.E\|LDS' "$OUT/sass_xcl.txt")"
ts end
