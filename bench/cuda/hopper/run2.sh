#!/bin/bash
# Second device call of the first session: v3 (16-key slot ring) and v2 checked and timed, FlashMLA between them.
set -u
here=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-./out}; mkdir -p "$OUT"
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem,power.draw,temperature.gpu --format=csv > "$OUT/card.txt"
{ echo "== v3 check"; "$here/harness_v3" check 200 3 | tail -4
  echo "== v2 check"; "$here/harness_v2" check 150 2 | tail -3
  for f in 16 32; do cuobjdump -sass -fun mla_decode_sm90_bf16_n$f "$here/harness_v3" > /tmp/s$f.txt 2>&1
    echo "v3 n$f: HGMMA $(grep -c HGMMA /tmp/s$f.txt) UBLKCP $(grep -c UBLKCP /tmp/s$f.txt) LDL $(grep -c LDL /tmp/s$f.txt) STL $(grep -c STL /tmp/s$f.txt) LDSM $(grep -c LDSM /tmp/s$f.txt)"; done
  echo "== v3 time"; "$here/harness_v3" time "$OUT/time_v3.json"
} 2>&1 | tee "$OUT/log_a.txt"
cat > /tmp/cfg.json <<'J'
[{"b":128,"s_k":8192,"h_q":16,"s_q":1},{"b":128,"s_k":8192,"h_q":32,"s_q":1},{"b":128,"s_k":8192,"h_q":16,"s_q":2},{"b":128,"s_k":4096,"h_q":16,"s_q":1},{"b":128,"s_k":4096,"h_q":32,"s_q":1},{"b":128,"s_k":1024,"h_q":16,"s_q":1},{"b":128,"s_k":1024,"h_q":32,"s_q":1},{"b":128,"s_k":1024,"h_q":16,"s_q":2},{"b":1,"s_k":32768,"h_q":16,"s_q":1}]
J
( source .gpu-host/enter.sh >/dev/null; PYTHONUNBUFFERED=1 timeout 150 python3 .gpu-host/anchors/bench_flashmla.py --configs /tmp/cfg.json --no-triton --out "$OUT/flashmla.json" ) 2>&1 | grep -v "^gpu-host" | tee "$OUT/flashmla.log"
{ echo "== v2 time"; "$here/harness_v2" time "$OUT/time_v2.json"
  for t in memcheck racecheck synccheck; do echo "== $t v3"; timeout 60 compute-sanitizer --tool $t "$here/harness_v3" check 3 11 2>&1 | tail -3; done
} 2>&1 | tee "$OUT/log_b.txt"
