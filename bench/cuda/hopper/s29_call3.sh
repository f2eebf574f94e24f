#!/usr/bin/env bash
# Session 29, call 3 (H200): racecheck of the verification build after call 2 (dense FP8's screening warps arrive with
# every lane; the wide kernel's predicated barrier pair as one barrier on a register id); the sm90-wide suite and
# dense90 on that build (the register-id barrier was taken out of decode_sm90_wide.cu after this call: it changed
# nothing). Predictions: results/gpu-host/bench/hopper/s29/predictions.txt. Carry .gpu-host and
# .devstage/s29c3.tar.xz (s29_pack ... strict):   OUT=$OUT bash bench/cuda/hopper/s29_call3.sh
set -uo pipefail
PACK=${PACK:-.devstage/s29c3.tar.xz}
source bench/cuda/hopper/s29_common.sh && s29_unpack "$PACK"
OUT=${OUT:-/tmp/s29}; mkdir -p "$OUT/f"
T0=$(date +%s); ts() { echo "[$(( $(date +%s) - T0 ))s] $*"; }
CLI=(node scripts/flashmla-dist.mjs build/src)
BQ=(bench --backend cuda --reps 1 --warmup 0 --warm-ms 0 --idle-warm-ms 0 --check 2 --rotate-mb 1 -q)
: > "$OUT/jobs.txt"
rc() { echo "FLASHMLA_CUDA_KERNELS=$2 timeout -k 5 170 compute-sanitizer --tool racecheck --racecheck-report all --print-limit 400 ${*:3} > $OUT/f/rc-$1.txt 2>&1" >> "$OUT/jobs.txt"; }
cfg() { echo "[{\"b\": $2, \"s_k\": $3, \"h_q\": $4, \"s_q\": ${5:-1}}]" > "$OUT/f/c-$1.json"; }
cfg w256 2 1024 128 2; cfg w128 2 1024 128 1; cfg w256odd 3 1500 128 2; cfg w64odd 1 1000 64 1; cfg w128b 4 4096 64 2; cfg w256c 1 8192 128 2
for c in w256 w128 w256odd w64odd w128b w256c; do rc "strict-$c" dist-strict/cuda "${CLI[*]} ${BQ[*]} --configs $OUT/f/c-$c.json --out $OUT/f/o-strict-$c.json"; done
rc ship-w256 dist/cuda "${CLI[*]} ${BQ[*]} --configs $OUT/f/c-w256.json --out $OUT/f/o-ship-w256.json"
for s in 0/2 1/2; do rc "strict-dense90-${s%/*}" dist-strict/cuda node build/test/gpu/sparse-count.js 6 cuda dense90,dense90q $s; done
rc ship-dense90 dist/cuda node build/test/gpu/sparse-count.js 3 cuda dense90
( FLASHMLA_CUDA_KERNELS=dist-strict/cuda timeout -k 5 250 node --test --test-reporter=tap build/test/gpu/sm90-wide.test.js > "$OUT/f/sm90w-strict.txt" 2>&1; echo "exit $?" >> "$OUT/f/sm90w-strict.txt" ) &
( FLASHMLA_CUDA_KERNELS=dist-strict/cuda timeout -k 5 200 node build/test/gpu/sparse-count.js 40 cuda dense90,dense90q > "$OUT/f/dense90-strict.txt" 2>&1; echo "exit $?" >> "$OUT/f/dense90-strict.txt" ) &
xargs -P 12 -I{} bash -c '{}' < "$OUT/jobs.txt"
ts "racecheck done"
wait
ts "tests done"
grep -E '^# (pass|fail|skipped)' "$OUT/f/sm90w-strict.txt" | tr '\n' ' '; echo; grep -E 'pass|exit' "$OUT/f/dense90-strict.txt"
for f in "$OUT"/f/rc-*.txt; do echo "$(basename "$f" .txt): $(grep -E 'RACECHECK SUMMARY' "$f" | tail -1) $(grep -E ' pass' "$f" | tr '\n' ' ')"; done | sort
python3 bench/cuda/hopper/s28_race_classes.py "$OUT"/f/rc-*.txt 2>&1 | grep -v '^\s*$' | head -40
python3 - "$OUT/f" <<'P'
import json, glob, os, sys
for f in sorted(glob.glob(os.path.join(sys.argv[1], 'o-*.json'))):
    d = json.load(open(f)); print(os.path.basename(f), [(r['kernel'], r['check']['ok']) for r in d['rows']])
P
for f in "$OUT"/f/rc-*.txt; do xz -T4 "$f"; done
tar cf "$OUT/s29c3-files.tar" -C "$OUT" f && rm -rf "$OUT/f"
ts end
