#!/usr/bin/env bash
# Next session's first sparse slot (prepared in session 16 after its device time was spent; docs/notes/cuda-sparse-decode.md,
# "Session 16, after the device time: bits 60 / 61"): the pair entries' straight-line store phase. One candidate build,
# 4472673940909383688 = shipped 1013909427088842760 + 60 (V3.2 pair) + 61 (MODEL1 pair); its V3.2 pair entries are 60's
# code and its MODEL1 pair entries 61's (per-entry .text compared), so one timing decides both classes.
# GPU host, the merged tree's root, .gpu-host entered, dist/cuda = the shipped kernels, build/ by tsc:
#   OUT=$OUT bash bench/cuda/hopper/s17_pairflat_slot.sh          (stage .devstage/s17-pair; ~100 s warm)
# Steps: FlashMLA's bench_sparse.py (same call), sparse-sm90-final-ab.sh (checks: goldens both precisions, 40 + 40 random
# sm90 cases; then the 12 shapes, 3 rounds of 10), the rule: per pair class (V3.2: shapes 1-4; MODEL1 h_q 128: the four
# pair shapes), SHIP its bit if the candidate passed its checks, the class geomean is >= 0.5 % faster than shipped and no
# shape of the class > 0.5 % slower; the one-CTA shapes (shipped's code) must stay within 1.5 % (else KEEP: noise).
# Last line: `SHIP <mode> (...)` or `KEEP 1013909427088842760 (...)`.
set -uo pipefail
OUT=${OUT:?}; S=$SECONDS; ts() { echo "[+$((SECONDS - S))s] $*" | tee -a "$OUT/log.txt"; }
SHIP=1013909427088842760; CAND=4472673940909383688; STAGE=${STAGE:-.devstage/s17-pair}; HB=/tmp/s17pair-hb
. bench/cuda/hopper/sparse-sm90-modes.sh
sparse_slot_stage "$STAGE" $HB $SHIP $SHIP $CAND
want=$(sha256sum < "$HB/sparse_sm90_m$SHIP.fatbin" | cut -c1-16); have=$(sha256sum < dist/cuda/sparse_sm90.fatbin | cut -c1-16)
[ "$want" = "$have" ] || { sparse_sm90_swap "$HB/sparse_sm90_m$SHIP.fatbin" dist/cuda; ts "dist/cuda sparse_sm90 was $have: staged m$SHIP swapped in"; }
PYTHONUNBUFFERED=1 timeout -k 5 60 python3 .gpu-host/anchors/flashmla-sparse/bench_sparse.py --out "$OUT/flashmla-sparse.json" > "$OUT/flashmla-sparse.txt" 2>&1
ts "flashmla sparse rc=$?"
OUT=$OUT HB=$HB CASES=${CASES:-40} REPS=${REPS:-10} ROUNDS=${ROUNDS:-3} TIME_TIMEOUT=${TIME_TIMEOUT:-90} CHECK_TIMEOUT=${CHECK_TIMEOUT:-60} \
  timeout -k 5 170 bash bench/cuda/hopper/sparse-sm90-final-ab.sh "$OUT/flashmla-sparse.json" "$CAND" > "$OUT/ab.txt" 2>&1
ts "A/B rc=$?"; cat "$OUT/ab.txt" | tee -a "$OUT/log.txt"
python3 - "$OUT/sparse-sm90-final-ab.json" "$OUT/ab.txt" $SHIP $CAND <<'PY' | tee -a "$OUT/log.txt"
import json, math, re, sys
j, ab, ship, cand = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
txt = open(ab).read()
ok = re.search(r'^m%d: checks pass \d+ fail 0 ' % cand, txt, re.M) is not None
try:
    d = json.load(open(j))
except Exception as e:
    print(f'KEEP {ship} (no timing: {e})'); sys.exit()
def us(name):
    for b in d.get('builds', []):
        if b.get('name') == name: return b.get('us')
    return None
a, c = us('shipped'), us(f'm{cand}')
if not a or not c or len(a) != 12 or len(c) != 12:
    print(f'KEEP {ship} (timing incomplete)'); sys.exit()
r = [c[i] / a[i] for i in range(12)]
g = lambda ix: math.exp(sum(math.log(r[i]) for i in ix) / len(ix))
v32, m1pair, one = [0, 1, 2, 3], [6, 7, 9, 11], [4, 5, 8, 10]
print('checks', 'pass' if ok else 'FAIL', '| time / shipped:', ' '.join(f'{x:.3f}' for x in r))
noise = max(abs(r[i] - 1) for i in one) > 0.015
mode = ship
for name, ix, bit in (('V3.2 pair', v32, 1 << 60), ('MODEL1 pair', m1pair, 1 << 61)):
    q = ok and not noise and g(ix) <= 0.995 and max(r[i] for i in ix) <= 1.005
    print(f'{name}: geomean {g(ix):.4f} max {max(r[i] for i in ix):.4f} -> {"qualifies" if q else "no"}')
    if q: mode += bit
print(f'one-CTA (same code): max |1 - r| {max(abs(r[i] - 1) for i in one):.4f}' + (' NOISE' if noise else ''))
print(f'SHIP {mode} (bits 60 / 61 as qualified)' if mode != ship else f'KEEP {ship} (no class qualifies)')
PY
