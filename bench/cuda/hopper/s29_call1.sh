#!/usr/bin/env bash
# Session 29, call 1 (H200): racecheck of the <= 32-row kernel's 32-row entry on six shapes (items of one, two, one
# and three tiles) and of dense FP8, on the default build, the verification build (MLA_RACECHECK_STRICT: now evening
# the warpgroups' barrier passes in decode_sm90.cu and dense_fp8_sm90.cu), MLA_SM90_SOLO (no merge on items of at
# most one tile) and both; the sm90 suite on the solo build; an interleaved A/B of ship / solo / strict on 68 shapes.
# Predictions and rules: results/gpu-host/bench/hopper/s29/predictions.txt. Carry .gpu-host and .devstage/s29c1.tar.xz
# (bench/cuda/hopper/s29_common.sh s29_pack, builds solo strict solostrict):
#   OUT=$OUT bash bench/cuda/hopper/s29_call1.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s29c1.tar.xz}"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu --format=csv,noheader
rc() { # tag kernels-dir command...
  local tag=$1 k=$2; shift 2
  echo "FLASHMLA_CUDA_KERNELS=$k timeout -k 5 170 compute-sanitizer --tool racecheck --racecheck-report all --print-limit 40 $* > $OUT/f/rc-$tag.txt 2>&1" >> "$OUT/jobs.txt"
}
for c in "1t:1:4096" "1t:3:1024" "2t:4:2048" "2t:8:1024" "2t:1:8192" "13t:16:1024"; do
  IFS=: read -r tag b sk <<<"$c"
  echo "[{\"b\": $b, \"s_k\": $sk, \"h_q\": 32, \"s_q\": 1}]" > "$OUT/f/c-$tag-$b-$sk.json"
  for v in ship strict solo solostrict; do
    k=dist/cuda; [ $v != ship ] && k=dist-$v/cuda
    rc "$v-$tag-$b-$sk" "$k" "${CLI[*]} ${BQ[*]} --configs $OUT/f/c-$tag-$b-$sk.json --out $OUT/f/o-$v-$tag-$b-$sk.json"
  done
done
rc dense90-ship dist/cuda node build/test/gpu/sparse-count.js 1 cuda dense90
rc dense90-strict dist-strict/cuda node build/test/gpu/sparse-count.js 1 cuda dense90
echo '[{"b": 2, "s_k": 1024, "h_q": 128, "s_q": 2}]' > "$OUT/f/w2.json"
rc wide256-strict dist-strict/cuda "${CLI[*]} ${BQ[*]} --configs $OUT/f/w2.json --out $OUT/f/o-w2-strict.json"
# correctness of the solo build beside the sanitizer runs
( FLASHMLA_CUDA_KERNELS=dist-solo/cuda timeout -k 5 300 node --test --test-reporter=tap build/test/gpu/sm90.test.js > "$OUT/f/sm90-solo.txt" 2>&1; echo "exit $?" >> "$OUT/f/sm90-solo.txt" ) &
xargs -P 14 -I{} bash -c '{}' < "$OUT/jobs.txt"
ts "racecheck done"
wait
ts "sm90 solo done: $(grep -E '^# (pass|fail)' "$OUT/f/sm90-solo.txt" | tr '\n' ' ')"
for f in "$OUT"/f/rc-*.txt; do echo "$(basename "$f" .txt): $(grep -E 'RACECHECK SUMMARY' "$f" | tail -1)"; done | sort
python3 - "$OUT/f" <<'P'
import json, glob, os, sys
for f in sorted(glob.glob(os.path.join(sys.argv[1], 'o-*.json'))):
    try:
        d = json.load(open(f)); print(os.path.basename(f), [(r['kernel'], r['check']['ok'] if isinstance(r.get('check'), dict) else r.get('check')) for r in d['rows']])
    except Exception as e: print(os.path.basename(f), 'unreadable', e)
P
# A/B: 59 small-batch shapes + FlashMLA's 9 b=128 16/32-row configurations, arms interleaved, one process each
s29_ab_configs "$OUT/ab.json"
mkdir -p "$OUT/f/ab"; i=0
for arm in ship solo strict solo ship strict; do
  i=$((i + 1)); k=dist/cuda; [ $arm != ship ] && k=dist-$arm/cuda
  FLASHMLA_CUDA_KERNELS=$k timeout -k 5 100 "${CLI[@]}" bench --backend cuda --configs "$OUT/ab.json" --reps 40 --check 1 -q --out "$OUT/f/ab/ab-$i-$arm.json" > "$OUT/f/ab/ab-$i-$arm.txt" 2>&1 || echo "ab $arm rc $?"
  ts "arm $i $arm"
done
python3 - "$OUT/f/ab" <<'P'
import json, glob, os, sys, math
runs = {}
for f in sorted(glob.glob(os.path.join(sys.argv[1], 'ab-*.json'))):
    arm = os.path.basename(f)[:-5].split('-', 2)[2]
    d = json.load(open(f)); runs.setdefault(arm, []).append({(r['b'], r['s_k'], r['h_q'], r['s_q']): (r['ms'], r['kernel'], (r.get('check') or {}).get('ok') if isinstance(r.get('check'), dict) else r.get('check')) for r in d['rows']})
base = runs['ship']; keys = list(base[0].keys())
def ms(run, k): return run[k][0]
for arm in ('solo', 'strict'):
    if arm not in runs: continue
    lines = []; lg = []; lgs = []; lgg = []; worst = []
    for k in keys:
        b = (ms(base[0], k) + ms(base[1], k)) / 2 if len(base) > 1 else ms(base[0], k)
        rs = [ms(r, k) / b for r in runs[arm]]
        aa = ms(base[1], k) / ms(base[0], k) if len(base) > 1 else 1
        lg.append(math.log(sum(rs) / len(rs)))
        (lgg if k[0] == 128 else lgs).append(math.log(sum(rs) / len(rs)))
        if min(rs) > 1.015: worst.append((k, rs))
        lines.append(f"  {k} {base[0][k][1]} ship {b*1000:.1f} us  {arm} " + ' '.join(f'{x:.3f}' for x in rs) + f"  (A/A {aa:.3f})  check {[r[k][2] for r in runs[arm]]}")
    print(f"{arm}: geomean all {math.exp(sum(lg)/len(lg)):.4f}, small {math.exp(sum(lgs)/len(lgs)):.4f} ({len(lgs)}), b=128 {math.exp(sum(lgg)/len(lgg)):.4f} ({len(lgg)}); above 1.015 in both runs: {len(worst)}")
    print('\n'.join(lines))
P
tar czf "$OUT/s29c1-files.tgz" -C "$OUT" f && rm -rf "$OUT/f"
ts end
