#!/bin/bash
# Session 11 (h2), for the lead's final call on the merged tree: the library with combine.cu's combineWarps
# (FLASHMLA_CUDA_COMBINE=warps) against its default combine, same call, same FlashMLA JSON; then the GPU suites that
# launch a combine, with combineWarps. Run after final11.sh's step 2 (dist/ built, dist/cuda holding the merged
# tree's fatbins, $OUT/flashmla-dense.json written), before its parallel suites (the benches want a quiet GPU):
#   bash bench/cuda/hopper/s11-h2-final.sh [$OUT/flashmla-dense.json] [$OUT/s11h2]      (~40-60 s benches + ~60 s tests)
# ROUNDS=1: one round of each (half the bench time); NO_TESTS=1: the benches only (e.g. when the final call's own
# suites already run with combineWarps, the default patch applied).
# Prints, per config, the library's µs with the default combine (cta) and with combineWarps (warps), both against
# FlashMLA, the median of two interleaved rounds, then one line:
#   s11h2 combine rule: PASS|FAIL (...)   PASS: warps >= 3 % faster on each of the four grid rows that launch a
#   combine (s_k 8192 h128 s1 / h64 s2 / h128 s2, s_k 4096 h128 s2) and within 2 % on the controls (no combine)
# and the suites' tap summaries. PASS (and the suites pass) -> make combineWarps the default:
#   git apply bench/cuda/hopper/s11-h2-combine-default.patch   (shape-kernels.ts: FLASHMLA_CUDA_COMBINE=cta keeps the old one)
set -u
FJ=${1:-$OUT/flashmla-dense.json}
O=${2:-$OUT/s11h2}
mkdir -p "$O"
S=$SECONDS; ts() { echo "[+$((SECONDS - S))s] $*"; }
# The four grid rows whose requests the scheduler splits at b = 128 (a combine runs), two controls, and b = 64
# s_k 32768 (combineRows 2-16, narrow and wide kernels: not in FlashMLA's JSON, µs only).
echo '[{"b":128,"s_k":8192,"h_q":128,"s_q":1},{"b":128,"s_k":8192,"h_q":64,"s_q":2},{"b":128,"s_k":8192,"h_q":128,"s_q":2},{"b":128,"s_k":4096,"h_q":128,"s_q":2},{"b":128,"s_k":4096,"h_q":128,"s_q":1},{"b":128,"s_k":8192,"h_q":64,"s_q":1},{"b":64,"s_k":32768,"h_q":16,"s_q":1},{"b":64,"s_k":32768,"h_q":32,"s_q":1},{"b":64,"s_k":32768,"h_q":64,"s_q":1},{"b":64,"s_k":32768,"h_q":128,"s_q":1}]' > "$O/cfg.json"
for r in $(seq 1 ${ROUNDS:-2}); do
  for m in cta warps; do
    FLASHMLA_CUDA_COMBINE=$m timeout ${BENCH_S:-45} node scripts/flashmla-dist.mjs dist bench --backend cuda --configs "$O/cfg.json" --flashmla "$FJ" --check 1 -q --out "$O/bench-$m-$r.json" > "$O/bench-$m-$r.txt" 2>&1
    ts "bench $m round $r rc=$?"
  done
done
python3 - "$O" <<'P'
import json, os, sys
o = sys.argv[1]
t = {}
for m in ('cta', 'warps'):
    for r in range(1, 10):
        f = os.path.join(o, 'bench-%s-%d.json' % (m, r))
        if not os.path.exists(f): continue
        for x in json.load(open(f))['rows']:
            k = (x['b'], x['s_k'], x['h_q'], x['s_q'])
            t.setdefault(k, {}).setdefault(m, []).append(x['ms'] * 1e3)
            if 'flashmla_ms' in x: t[k]['fm'] = x['flashmla_ms'] * 1e3
            t[k].setdefault('ok', True); t[k]['ok'] &= bool(x.get('check', {}).get('ok', True))
            t[k]['kernel'] = x.get('kernel', '')
med = lambda v: sorted(v)[len(v) // 2] if v else float('nan')
combine_rows = {(128, 8192, 128, 1), (128, 8192, 64, 2), (128, 8192, 128, 2), (128, 4096, 128, 2)}
ok, cells = True, []
print('config                        kernel                      cta us  warps us  warps/cta | FM us  cta/FM  warps/FM  check')
for k in sorted(t):
    c, w, fm = med(t[k].get('cta', [])), med(t[k].get('warps', [])), t[k].get('fm')
    g = c / w if w == w and w > 0 else float('nan')
    print('b=%d s_k=%d h_q=%d s_q=%d %-28s %8.1f %8.1f   %.3f   | %s %s %s  %s' % (k + (t[k]['kernel'][-26:], c, w, g,
          '%6.1f' % fm if fm else '     -', '%.3f' % (fm / c) if fm else '    -', '%.3f' % (fm / w) if fm else '    -', 'ok' if t[k]['ok'] else 'FAIL')))
    if k in combine_rows: ok &= g >= 1.03; cells.append('%d/%d %.3f' % (k[1], k[2] * k[3], g))
    elif k[0] == 128: ok &= g >= 0.98; cells.append('ctl %d/%d %.3f' % (k[1], k[2] * k[3], g))
    ok &= t[k]['ok']
print('s11h2 combine rule: %s (%s)' % ('PASS' if ok and len(cells) == 6 else 'FAIL', ', '.join(cells)))
P
[ "${NO_TESTS:-0}" = 1 ] && { ts end; exit 0; }
# The suites that launch a combine, with combineWarps (the library picks it where combineRows > 1: large batches, and
# the tests' numSms 16 / 1 cases): in parallel.
export FLASHMLA_CUDA_COMBINE=warps CI=1 FLASHMLA_GOLDEN=${FLASHMLA_GOLDEN:-$PWD/test/fixtures/golden}
FLASHMLA_SM90W_CASES=${W_CASES:-150} timeout ${TEST_S:-100} node --test --test-reporter=tap build/test/gpu/sm90-wide.test.js > "$O/sm90w-warps.tap" 2>&1 &
FLASHMLA_SM90_CASES=${N_CASES:-150} timeout ${TEST_S:-100} node --test --test-reporter=tap build/test/gpu/sm90.test.js > "$O/sm90-warps.tap" 2>&1 &
FLASHMLA_GPU_CASES=${G_CASES:-100} timeout ${TEST_S:-100} node --test --test-reporter=tap build/test/gpu/cuda.test.js > "$O/cuda-warps.tap" 2>&1 &
wait
for f in sm90w-warps sm90-warps cuda-warps; do echo "$f: $(grep -E '^# (tests|pass|fail)' "$O/$f.tap" | tr '\n' ' ') $(grep -m3 '^not ok' "$O/$f.tap" | tr '\n' ' ')"; done
ts end
