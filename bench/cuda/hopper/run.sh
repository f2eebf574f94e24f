#!/bin/bash
# One device call: build (unless prebuilt binaries sit beside this script), check, SASS facts, timing, FlashMLA.
#   bash bench/cuda/hopper/run.sh [cases]     (from the repository root, or from a copy of bench/ + src/)
# Writes under $OUT (default ./out): check.log, sass.txt, time.json, time.log, flashmla.json, flashmla.log.
set -u
here=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-./out}; mkdir -p "$OUT"
cases=${1:-200}
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem,power.draw,temperature.gpu --format=csv | tee "$OUT/card.txt"
bin=$here/harness
if ! "$bin" 2>/dev/null | grep -q device; then
  echo "building harness on the device"
  nvcc -std=c++17 -O3 -gencode arch=compute_90a,code=sm_90a -Xptxas -v,-warn-spills -o /tmp/harness "$here/harness.cu" > "$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log"; exit 1; }
  bin=/tmp/harness
fi
timeout ${CHECK_S:-120} "$bin" check "$cases" 1 2>&1 | tee "$OUT/check.log" | tail -15
timeout ${CHECK_S:-120} "$bin" check1 "${CASES1:-100}" 2 2>&1 | tee "$OUT/check1.log" | tail -4
for f in 16 32 1wg_bf16_n16 1wg_bf16_n32; do case $f in 16|32) fn=mla_decode_sm90_bf16_n$f ;; *) fn=mla_decode_sm90_$f ;; esac; cuobjdump -sass -fun $fn "$bin" > /tmp/sass$f.txt 2>&1; done
for f in 16 32 1wg_bf16_n16 1wg_bf16_n32; do echo "n$f: HGMMA $(grep -c HGMMA /tmp/sass$f.txt) UTMALDG $(grep -c UTMALDG /tmp/sass$f.txt) UBLKCP $(grep -c UBLKCP /tmp/sass$f.txt) LDL $(grep -c LDL /tmp/sass$f.txt) STL $(grep -c STL /tmp/sass$f.txt) LDSM $(grep -c LDSM /tmp/sass$f.txt) SYNCS $(grep -c SYNCS /tmp/sass$f.txt)"; done | tee "$OUT/sass.txt"
cp /tmp/sass32.txt "$OUT/sass32.txt"
timeout ${TIME_S:-120} "$bin" time "$OUT/time.json" 2>&1 | tee "$OUT/time.log"
if [ -f .gpu-host/enter.sh ] && [ -f .gpu-host/anchors/bench_flashmla.py ]; then
  cat > /tmp/cfg.json <<'J'
[{"b":128,"s_k":8192,"h_q":16,"s_q":1},{"b":128,"s_k":8192,"h_q":32,"s_q":1},{"b":128,"s_k":8192,"h_q":16,"s_q":2},{"b":128,"s_k":4096,"h_q":16,"s_q":1},{"b":128,"s_k":4096,"h_q":32,"s_q":1},{"b":128,"s_k":1024,"h_q":16,"s_q":1},{"b":128,"s_k":1024,"h_q":32,"s_q":1},{"b":128,"s_k":1024,"h_q":16,"s_q":2},{"b":1,"s_k":32768,"h_q":16,"s_q":1}]
J
  ( source .gpu-host/enter.sh; PYTHONUNBUFFERED=1 timeout ${FLASHMLA_S:-150} python3 .gpu-host/anchors/bench_flashmla.py --configs /tmp/cfg.json --no-triton --out "$OUT/flashmla.json" ) 2>&1 | tee "$OUT/flashmla.log" | tail -12
  [ "${TIME2:-1}" = 1 ] && timeout ${TIME_S:-120} "$bin" time "$OUT/time2.json" 2>&1 | tee "$OUT/time2.log"
else
  echo "no .gpu-host/anchors: FlashMLA not timed"
fi
if [ "${SANITIZE:-1}" = 1 ]; then
  for t in memcheck racecheck synccheck; do timeout 120 compute-sanitizer --tool $t "$bin" check 3 11 2>&1 | tail -4 | tee "$OUT/sanitize_$t.log"; done
fi
