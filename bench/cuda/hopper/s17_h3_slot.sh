#!/usr/bin/env bash
# Session 17, helper h3 (docs/notes/cuda-hopper-decode.md, "Session 17 (h3)"): combine.cu in one memory round trip
# (MLA_COMBINE_ONE_TRIP: c1 = 1, c2 = 2 with request 0's loads beside numSplits, c3 = 3 with 13 loads at 3 CTAs an SM)
# against the shipped combine, at b=1 s_k 32768 and the uneven batch, 4 controls, FlashMLA in the same call; floor
# probes for the note's analysis. c1 runs in combine_trip only (reference); c2 and c3 through the library too.
# GPU host, the merged tree's root, .gpu-host entered, dist/cuda = the shipped kernels, build/ by tsc:
#   OUT=$OUT bash bench/cuda/hopper/s17_h3_slot.sh          (stage .devstage/s17-h3; ~110 s warm; run timeout 150)
# Steps: 1 checks in parallel: combine_trip check (seeds 1, 2) on the four fatbins, memcheck of seed 3, the library's
# sm90.test (goldens + 40 random) and sm90-wide.test (goldens + 24 random) with c2's and c3's kernel folders, and the
# library's float64 spot checks (flashmla bench --check 12) of s17_h3_check.json through each;
# 2 quiet: combine_trip time (combine alone, lib / c1 / c2 / c3 interleaved) and floor (empty kernel, 38 / 61 MB cold
# read), FlashMLA's bench_flashmla.py on the 6 configs, flashmla bench A c2 c3 c3 c2 A (A = dist/cuda); 3 the rule
# (s17_h3_rule.py). $OUT: log.txt, h3.tgz (every log and JSON), flashmla.json. Last line: SHIP c<k> (...) or KEEP lib (...).
set -uo pipefail
OUT=${OUT:?}; S=$SECONDS; ts() { echo "[+$((SECONDS - S))s] $*" | tee -a "$OUT/log.txt"; }
STAGE=${STAGE:-.devstage/s17-h3}; W=/tmp/s17h3; rm -rf "$W"; mkdir -p "$W/k"
save() { tar czf "$OUT/h3.tgz" -C "$W" --exclude=k --exclude=combine_trip --exclude='*.fatbin' . 2>/dev/null; }
export PATH="$PATH:/usr/local/cuda/bin" CI=1 FLASHMLA_GOLDEN=$PWD/test/fixtures/golden
CFG=bench/cuda/hopper/s17_h3_configs.json
unxz() { if command -v xz > /dev/null; then xz -dc "$1"; else python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$1"; fi; } # the GPU host may lack xz
for f in combine_trip combine_c1.fatbin combine_c2.fatbin combine_c3.fatbin; do unxz "$STAGE/$f.xz" > "$W/$f" || { ts "stage: $f.xz missing"; echo "KEEP lib (stage incomplete)"; exit 1; }; done
chmod +x "$W/combine_trip"
{ (cd "$STAGE" && sha256sum -c --quiet SHA256SUMS) && (cd "$W" && sha256sum -c --quiet "$OLDPWD/$STAGE/UNPACKED.sha256"); } > "$W/sha.txt" 2>&1 \
  && ts "stage: sha256 ok (SHA256SUMS, UNPACKED.sha256)" || { ts "stage: sha256 MISMATCH"; cat "$W/sha.txt" | tee -a "$OUT/log.txt"; }
ts "dist/cuda combine.fatbin $(sha256sum < dist/cuda/combine.fatbin | cut -c1-16) (shipped at b6d8fd8: $(cat "$STAGE/SHIPPED_COMBINE" 2>/dev/null))"
# kernel folders: A = dist/cuda; c1 / c2 = dist/cuda with combine.fatbin swapped and manifest.json's hash updated
. bench/cuda/hopper/sparse-sm90-modes.sh # sparse_sm90_rehash DIR FILE
for k in c2 c3; do
  cp -r dist/cuda "$W/k/$k" && cp "$W/combine_$k.fatbin" "$W/k/$k/combine.fatbin" && sparse_sm90_rehash "$W/k/$k" combine.fatbin
done
FB=(env LIB_FATBIN=$PWD/dist/cuda/combine.fatbin C1_FATBIN=$W/combine_c1.fatbin C2_FATBIN=$W/combine_c2.fatbin C3_FATBIN=$W/combine_c3.fatbin)

ts "step 1: checks (parallel)"
for s in 1 2; do "${FB[@]}" timeout -k 5 40 "$W/combine_trip" check $s > "$W/check-$s.txt" 2> "$W/check-$s.err" & done
"${FB[@]}" timeout -k 5 45 compute-sanitizer --tool memcheck --print-limit 20 "$W/combine_trip" check 3 > "$W/memcheck.txt" 2>&1 &
R=(node --test --test-reporter=tap); G=build/test/gpu
for k in c2 c3; do # + the library's float64 spot checks of s17_h3_check.json (seqlens 0/1/63/64/65, 103-128 splits)
  FLASHMLA_CUDA_KERNELS=$W/k/$k timeout -k 5 45 node scripts/flashmla-dist.mjs build/src bench --backend cuda --configs bench/cuda/hopper/s17_h3_check.json \
    --check 12 --reps 2 --warmup 1 --warm-ms 0 --idle-warm-ms 0 -q --out "$W/libcheck-$k.json" > "$W/libcheck-$k.txt" 2>&1 &
  FLASHMLA_CUDA_KERNELS=$W/k/$k FLASHMLA_SM90_CASES=40 timeout -k 5 45 "${R[@]}" $G/sm90.test.js > "$W/sm90-$k.tap" 2>&1 &
  FLASHMLA_CUDA_KERNELS=$W/k/$k FLASHMLA_SM90W_CASES=24 timeout -k 5 45 "${R[@]}" $G/sm90-wide.test.js > "$W/sm90w-$k.tap" 2>&1 &
done
wait
for s in 1 2; do cat "$W/check-$s.txt" | tee -a "$OUT/log.txt"; head -5 "$W/check-$s.err" | tee -a "$OUT/log.txt"; done
grep -h "ERROR SUMMARY\|check (" "$W/memcheck.txt" | sed 's/^/memcheck: /' | tee -a "$OUT/log.txt"
for f in sm90-c2 sm90w-c2 sm90-c3 sm90w-c3; do echo "$f: $(grep -h '^# pass\|^# fail' "$W/$f.tap" | tr '\n' ' ')" | tee -a "$OUT/log.txt"; done
for k in c2 c3; do python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['rows']; print('libcheck $k: %d configs, %d checked ok: ' % (len(r), sum(1 for x in r if (x.get('check') or {}).get('ok'))) + ', '.join('%s %s' % (x.get('seqlens') or x.get('s_k'), (x.get('check') or {}).get('cos_diff')) for x in r))" "$W/libcheck-$k.json" 2>&1 | tee -a "$OUT/log.txt"; done
save

ts "step 2: timing (quiet)"
timeout -k 5 20 "${FB[@]}" "$W/combine_trip" time 9 > "$W/time.txt" 2>&1; cat "$W/time.txt" | tee -a "$OUT/log.txt"
timeout -k 5 20 "$W/combine_trip" floor > "$W/floor.txt" 2>&1; cat "$W/floor.txt" | tee -a "$OUT/log.txt"
PYTHONUNBUFFERED=1 timeout -k 5 40 python3 .gpu-host/anchors/bench_flashmla.py --configs "$CFG" --out "$W/flashmla.json" --no-triton > "$W/flashmla.txt" 2>&1
ts "flashmla rc=$?"; cp "$W/flashmla.json" "$OUT/" 2>/dev/null
FM=(); [ -s "$W/flashmla.json" ] && FM=(--flashmla "$W/flashmla.json")
n=0
for arm in A c2 c3 c3 c2 A; do
  n=$((n + 1)); d=$PWD/dist/cuda; [ $arm = A ] || d=$W/k/$arm
  [ $n -gt 3 ] && [ $((SECONDS - S)) -gt 100 ] && { ts "bench $arm ($n) skipped: past 100 s (the rule takes the runs there are)"; continue; }
  FLASHMLA_CUDA_KERNELS=$d timeout -k 5 25 node scripts/flashmla-dist.mjs build/src bench --backend cuda --configs "$CFG" --check 2 \
    --warm-ms 200 --idle-warm-ms 1500 -q "${FM[@]}" --out "$W/bench-$arm-$n.json" > "$W/bench-$arm-$n.txt" 2>&1
  ts "bench $arm ($n) rc=$?"
done
python3 - "$W" <<'PY' | tee -a "$OUT/log.txt"
import glob, json, sys
d = sys.argv[1]
names = ("b=1 s_k 32768 16 rows", "uneven b=4 64 rows", "b=128 s_k 1024 16 rows", "b=128 s_k 8192 16 rows", "b=128 s_k 1024 64 rows", "b=128 s_k 8192 64 rows")
runs = {}
for f in sorted(glob.glob(d + "/bench-*.json")):
    arm = f.split("/bench-")[1].split("-")[0]
    try: runs.setdefault(arm, []).append(json.load(open(f))["rows"])
    except Exception: pass
print("library bench (us, each run; FlashMLA; ratio FlashMLA / arm mean):")
for i, n in enumerate(names):
    cells, fm = [], None
    for arm in ("A", "c2", "c3"):
        xs = [r[i]["ms"] * 1e3 for r in runs.get(arm, []) if len(r) > i]
        fm = fm or next((r[i].get("flashmla_ms") for r in runs.get(arm, []) if len(r) > i and r[i].get("flashmla_ms")), None)
        m = sum(xs) / len(xs) if xs else float("nan")
        cells.append("%s %s" % (arm, "/".join("%.1f" % x for x in xs)) + ("" if fm is None else " (%.3fx)" % (fm * 1e3 / m)))
    print("  %-24s FlashMLA %s | %s" % (n, "-" if fm is None else "%.1f" % (fm * 1e3), " | ".join(cells)))
PY
save

ts "step 3: the rule"
python3 bench/cuda/hopper/s17_h3_rule.py "$W" > "$W/rule.txt" 2>&1
tail -n 1 "$W/rule.txt" | grep -q '^SHIP \|^KEEP ' || echo "KEEP lib (the rule script failed: see rule.txt)" >> "$W/rule.txt"
cat "$W/rule.txt" >> "$OUT/log.txt"
ts "done"
save
tail -n 12 "$W/rule.txt"
