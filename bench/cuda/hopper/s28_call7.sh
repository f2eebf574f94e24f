#!/usr/bin/env bash
# Session 28, call 7 (H200): (1) bit-for-bit repeatability of the kernels where racecheck reports hazards it does not
# explain (s28_determinism.js, 200 runs a case, two plans); (2) 200 dense FP8 Hopper cases against the float64
# reference; (3) the short 32-row small-batch steps (the weakest rows of call 4) on the 'auto' plan against FlashMLA's
# plan (FLASHMLA_CUDA_SCHEDULE=flashmla), two interleaved processes each. Carry .gpu-host and .devstage/s28c7.tar.xz.
#   OUT=$OUT bash bench/cuda/hopper/s28_call7.sh
set -uo pipefail
PACK=${PACK:-.devstage/s28c7.tar.xz}
source bench/cuda/hopper/s28_common.sh && s28_unpack "$PACK"
export FLASHMLA_COMMIT=${FLASHMLA_COMMIT:-unknown}
OUT=${OUT:-/tmp/s28}; mkdir -p "$OUT/f"
T0=$(date +%s); ts() { echo "[$(( $(date +%s) - T0 ))s] $*"; }
CLI=(node scripts/flashmla-dist.mjs build/src)
timeout -k 5 200 node build/bench/cuda/hopper/s28_determinism.js 200 2>&1 | tee "$OUT/f/determinism.txt"
ts "determinism done"
timeout -k 5 120 node build/test/gpu/sparse-count.js 200 cuda dense90 2>&1 | tee "$OUT/f/dense90.txt"
ts "dense90 done"
i=0
for arm in auto flashmla flashmla auto; do
  i=$((i + 1))
  env_=(); [ $arm = flashmla ] && env_=(FLASHMLA_CUDA_SCHEDULE=flashmla)
  env "${env_[@]}" timeout -k 5 60 "${CLI[@]}" bench --backend cuda --configs bench/cuda/hopper/s28_plan32.json --reps 40 --check 1 -q --out "$OUT/f/p32-$i-$arm.json" > "$OUT/f/p32-$i-$arm.txt" 2>&1 || echo "plan32 $arm rc $?"
done
python3 - "$OUT/f" <<'P'
import glob, json, os, sys
runs = {}
for f in sorted(glob.glob(os.path.join(sys.argv[1], 'p32-*.json'))):
    arm = os.path.basename(f)[:-5].split('-')[2]; d = json.load(open(f))['rows']
    runs.setdefault(arm, []).append([r['ms'] for r in d]); cfg = [(r['b'], r.get('s_k'), r['h_q'], r['s_q'], r['check']['ok']) for r in d]
m = {a: [sum(x[i] for x in v) / len(v) for i in range(len(v[0]))] for a, v in runs.items()}
print('b s_k h_q s_q | auto us | flashmla-plan us | auto / flashmla-plan | checks')
for i, c in enumerate(cfg):
    print(f'{c[0]} {c[1]} {c[2]} {c[3]} | {1e3 * m["auto"][i]:.2f} | {1e3 * m["flashmla"][i]:.2f} | {m["auto"][i] / m["flashmla"][i]:.3f} | {c[4]}')
P
ts "plan32 done"
tar czf "$OUT/s28c7-files.tgz" -C "$OUT" f && rm -rf "$OUT/f"
