#!/usr/bin/env bash
# Session 18, helper h3 (docs/notes/cuda-hopper-decode.md, "Session 18 (h3)"): the short calls' entry. Arm P = dist/cuda
# with decode_sm90.fatbin built -DMLA_SM90_LIB_VAR=7 (kNVarEntryPre: the producer reads its first page and length before
# the CTA barrier) and decode_sm90_wide.fatbin built -DMLA_SM90W_PAGE0 (the wide producer reads the first page beside
# the item's length); A = dist/cuda (main's shipped fatbins).
# Round 2 (s18_h3r2_slot.sh) sets H3_WIDE=0 (P keeps main's wide fatbin), H3_CONFIGS, H3_RULE (a module in this
# folder with NAMES, runs(DIR, ARM) and a command line DIR -> the verdict), H3_FLASHMLA=0 (no FlashMLA run) and
# H3_BUDGET (seconds: a bench run that would end past it is skipped, so the rule and $OUT still come back).
# GPU host, the merged tree's root, .gpu-host entered, dist/cuda = the shipped kernels, build/ by tsc (stage18):
#   OUT=$OUT bash bench/cuda/hopper/s18_h3_slot.sh          (stage .devstage/s18-h3; ~100 s warm; budget 120 s)
# Steps: 1 checks through P in parallel: sm90.test (goldens + 40 random), sm90-wide.test (goldens + 24 random),
# cuda.test (80 random), compute-sanitizer synccheck of sm90.test (2 random), flashmla bench --check 12 on
# s17_h3_check.json; 2 quiet: FlashMLA's bench_flashmla.py on s17_h3_configs.json, then flashmla bench --check 2 runs
# A P P A; 3 the rule (s18_h3_rule.py, or $H3_RULE.py). $OUT: log.txt, h3.tgz (logs, taps, JSON). Last line: SHIP ... or KEEP lib (...).
set -uo pipefail
OUT=${OUT:?}; S=$SECONDS; ts() { echo "[+$((SECONDS - S))s] $*" | tee -a "$OUT/log.txt"; }
STAGE=${STAGE:-.devstage/s18-h3}; W=/tmp/s18h3; rm -rf "$W"; mkdir -p "$W/k"
save() { tar czf "$OUT/h3.tgz" -C "$W" --exclude=k --exclude='*.fatbin' . 2>/dev/null; }
export PATH="$PATH:/usr/local/cuda/bin" CI=1 FLASHMLA_GOLDEN=$PWD/test/fixtures/golden
CFG=${H3_CONFIGS:-bench/cuda/hopper/s17_h3_configs.json}; export H3_RULE=${H3_RULE:-s18_h3_rule}; H3_WIDE=${H3_WIDE:-1}
H3_FLASHMLA=${H3_FLASHMLA:-1}; H3_BUDGET=${H3_BUDGET:-0}
for f in decode_sm90_p.fatbin decode_sm90_wide_p.fatbin; do
  python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$STAGE/$f.xz" "$W/$f" \
    || { ts "stage: $f.xz missing"; echo "KEEP lib (stage incomplete)"; exit 1; }
done
(cd "$W" && sha256sum -c --quiet "$OLDPWD/$STAGE/UNPACKED.sha256") > "$W/sha.txt" 2>&1 && ts "stage: sha256 ok" \
  || { ts "stage: sha256 MISMATCH"; cat "$W/sha.txt" | tee -a "$OUT/log.txt"; echo "KEEP lib (stage sha256 mismatch)"; exit 1; }
ts "dist/cuda decode_sm90 $(sha256sum < dist/cuda/decode_sm90.fatbin | cut -c1-16), decode_sm90_wide $(sha256sum < dist/cuda/decode_sm90_wide.fatbin | cut -c1-16) (built from: $(cat "$STAGE/SHIPPED" 2>/dev/null))"
. bench/cuda/hopper/sparse-sm90-modes.sh # sparse_sm90_rehash DIR FILE
P=$W/k/P; cp -r dist/cuda "$P"
cp "$W/decode_sm90_p.fatbin" "$P/decode_sm90.fatbin" && sparse_sm90_rehash "$P" decode_sm90.fatbin
[ "$H3_WIDE" = 1 ] && cp "$W/decode_sm90_wide_p.fatbin" "$P/decode_sm90_wide.fatbin" && sparse_sm90_rehash "$P" decode_sm90_wide.fatbin
ts "arm P: decode_sm90 $(sha256sum < "$P/decode_sm90.fatbin" | cut -c1-16), decode_sm90_wide $(sha256sum < "$P/decode_sm90_wide.fatbin" | cut -c1-16); configs $CFG; rule $H3_RULE"

ts "step 1: checks through P (parallel)"
R=(node --test --test-reporter=tap); G=build/test/gpu; export FLASHMLA_CUDA_KERNELS=$P
FLASHMLA_SM90_CASES=40 timeout -k 5 55 "${R[@]}" $G/sm90.test.js > "$W/sm90.tap" 2>&1 &
FLASHMLA_SM90W_CASES=24 timeout -k 5 55 "${R[@]}" $G/sm90-wide.test.js > "$W/sm90w.tap" 2>&1 &
FLASHMLA_GPU_CASES=80 timeout -k 5 60 "${R[@]}" $G/cuda.test.js > "$W/cuda.tap" 2>&1 &
FLASHMLA_SM90_CASES=2 timeout -k 5 60 compute-sanitizer --target-processes all --print-limit 20 --tool synccheck "${R[@]}" $G/sm90.test.js > "$W/sync.txt" 2>&1 &
timeout -k 5 45 node scripts/flashmla-dist.mjs build/src bench --backend cuda --configs bench/cuda/hopper/s17_h3_check.json \
  --check 12 --reps 2 --warmup 1 --warm-ms 0 --idle-warm-ms 0 -q --out "$W/libcheck.json" > "$W/libcheck.txt" 2>&1 &
wait
unset FLASHMLA_CUDA_KERNELS
for f in sm90.tap sm90w.tap cuda.tap sync.txt; do echo "$f: $(grep -h '^# pass\|^# fail\|ERROR SUMMARY' "$W/$f" | tr '\n' ' ')" | tee -a "$OUT/log.txt"; done
grep -h "^not ok" "$W"/*.tap | head -5 | tee -a "$OUT/log.txt"
python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['rows']; print('libcheck: %d configs, %d checked ok' % (len(r), sum(1 for x in r if (x.get('check') or {}).get('ok'))))" "$W/libcheck.json" 2>&1 | tee -a "$OUT/log.txt"
save

ts "step 2: timing (quiet)"
if [ "$H3_FLASHMLA" = 1 ]; then
  PYTHONUNBUFFERED=1 timeout -k 5 30 python3 .gpu-host/anchors/bench_flashmla.py --configs "$CFG" --out "$W/flashmla.json" --no-triton > "$W/flashmla.txt" 2>&1
  ts "flashmla rc=$?"; cp "$W/flashmla.json" "$OUT/" 2>/dev/null
fi
FM=(); [ -s "$W/flashmla.json" ] && FM=(--flashmla "$W/flashmla.json")
n=0; dt=15
for arm in A P P A; do
  n=$((n + 1)); d=$PWD/dist/cuda; [ $arm = A ] || d=$P
  if [ "$H3_BUDGET" -gt 0 ] && [ $((SECONDS - S + dt + 3)) -gt "$H3_BUDGET" ]; then ts "bench $arm ($n) skipped: it would end past ${H3_BUDGET}s"; continue; fi
  t0=$SECONDS
  FLASHMLA_CUDA_KERNELS=$d timeout -k 5 25 node scripts/flashmla-dist.mjs build/src bench --backend cuda --configs "$CFG" --check 2 \
    --warm-ms 200 --idle-warm-ms 1500 -q "${FM[@]}" --out "$W/bench-$arm-$n.json" > "$W/bench-$arm-$n.txt" 2>&1
  ts "bench $arm ($n) rc=$?"; dt=$((SECONDS - t0))
done
python3 - "$W" <<'PY' | tee -a "$OUT/log.txt"
import json, os, sys
sys.path.insert(0, "bench/cuda/hopper")
from importlib import import_module
m = import_module(os.environ["H3_RULE"])
NAMES, runs, d = m.NAMES, m.runs, sys.argv[1]
fm = {}
print("library bench (us, each run; FlashMLA; FlashMLA / arm mean):")
for i, n in enumerate(NAMES):
    cells, f = [], None
    for arm in ("A", "P"):
        rs = runs(d, arm)
        xs = [r[i]["ms"] * 1e3 for r in rs]
        f = f or next((r[i].get("flashmla_ms") for r in rs if r[i].get("flashmla_ms")), None)
        m = sum(xs) / len(xs) if xs else float("nan")
        cells.append("%s %s" % (arm, "/".join("%.1f" % x for x in xs)) + ("" if f is None else " (%.3fx)" % (f * 1e3 / m)))
    print("  %-28s FlashMLA %s | %s" % (n, "-" if f is None else "%.1f" % (f * 1e3), " | ".join(cells)))
PY
save

ts "step 3: the rule"
python3 "bench/cuda/hopper/$H3_RULE.py" "$W" > "$W/rule.txt" 2>&1
tail -n 1 "$W/rule.txt" | grep -q '^SHIP \|^KEEP ' || echo "KEEP lib (the rule script failed: see rule.txt)" >> "$W/rule.txt"
cat "$W/rule.txt" >> "$OUT/log.txt"
ts "done"
save
tail -n 6 "$W/rule.txt"
