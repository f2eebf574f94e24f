#!/usr/bin/env bash
# Session 21 w5 (docs/notes/cuda-hopper-decode.md, "Session 21 (w5)"): an unsplit item's staged output rows in the stage of
# its last key tile (decode_sm90_wide.cu kVarBStK), so every item with tiles issues the next item's Q in its last pair,
# through the library. Arm N = dist/cuda with the stage's decode_sm90_wide.fatbin built -DMLA_SM90W_LIB_VARB=101449824 (the
# library's VARB 67895392 | kVarBStK 1 << 25; the same entries and parameters as the shipped q-map build); arm P = the same
# with -DMLA_SM90W_LIB_VARB=118227040 (+ kVarBStKPf 1 << 24: the producer asks L2 for each item's second page); A =
# dist/cuda (the shipped fatbins). All arms run build/ as it is (main's tsc output; this branch changes no TS) with the q-map
# launch (the default).
# GPU host, the tree's root (s21-call / main or this branch), .gpu-host entered, dist/cuda = the shipped kernels, build/ =
# main's:
#   OUT=$OUT timeout 85 bash bench/cuda/hopper/s21_w5_slot.sh      (stage .devstage/s21-w5; ~75 s warm)
# Steps: 0 unpack and sha256; 1 checks through N in parallel (P: its own memcheck only, and every bench row's check): sm90-wide test (shard 0: dispatch, goldens, q views, the
# many-item parts, 16 random cases; shard 1: 16 random cases), test/gpu/cuda.test (24 random), compute-sanitizer memcheck
# and synccheck of flashmla bench --check 2 on s21_w5_san.json; 2 quiet: flashmla bench --check 2 of s21_w5_configs.json,
# arms A N P A N P A N (a run that would end past W5_BUDGET s, default 76, is skipped); 3 the rule (s21_w5_rule.py).
# $OUT: log.txt, w5.tgz (taps, sanitizer logs, bench JSON, rule.txt). Last line: SHIP stk-wide (...) or KEEP lib (...).
set -uo pipefail
OUT=${OUT:?}; S=$SECONDS; mkdir -p "$OUT"; ts() { echo "[+$((SECONDS - S))s] $*" | tee -a "$OUT/log.txt"; }
STAGE=${STAGE:-.devstage/s21-w5}; W=/tmp/s21w5; rm -rf "$W"; mkdir -p "$W/kN" "$W/kP"; BUDGET=${W5_BUDGET:-76}
save() { tar czf "$OUT/w5.tgz" -C "$W" --exclude=kN --exclude=kP . 2>/dev/null; }
export PATH="$PATH:/usr/local/cuda/bin" CI=1 FLASHMLA_GOLDEN=$PWD/test/fixtures/golden
unset FLASHMLA_CUDA_SM90W_QMAP FLASHMLA_CUDA_KERNELS
unxz() { if command -v xz > /dev/null; then xz -dc "$1"; else python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$1"; fi; }
(cd "$STAGE" && sha256sum -c --quiet SHA256SUMS) > "$W/sha.txt" 2>&1 && ts "stage: sha256 ok" \
  || { ts "stage: sha256 MISMATCH"; tee -a "$OUT/log.txt" < "$W/sha.txt"; echo "KEEP lib (stage damaged)" | tee -a "$OUT/log.txt"; exit 1; }
for a in N P; do cp -r dist/cuda/. "$W/k$a/" && unxz "$STAGE/decode_sm90_wide.$a.fatbin.xz" > "$W/k$a/decode_sm90_wide.fatbin"; done
T=build/test/gpu/sm90-wide.test.js
[ -f "$T" ] || { ts "no $T (build/ = main's tsc output is needed)"; echo "KEEP lib (no build/)" | tee -a "$OUT/log.txt"; exit 1; }
(cd "$W" && sha256sum -c --quiet "$OLDPWD/$STAGE/UNPACKED.sha256") > "$W/usha.txt" 2>&1 && ts "N's and P's decode_sm90_wide.fatbin sha256 ok" \
  || { ts "unpacked fatbin: sha256 MISMATCH"; tee -a "$OUT/log.txt" < "$W/usha.txt"; echo "KEEP lib (stage damaged)" | tee -a "$OUT/log.txt"; exit 1; }
. bench/cuda/hopper/sparse-sm90-modes.sh # sparse_sm90_rehash DIR FILE
sparse_sm90_rehash "$W/kN" decode_sm90_wide.fatbin && sparse_sm90_rehash "$W/kP" decode_sm90_wide.fatbin
ts "A: dist/cuda decode_sm90_wide $(sha256sum < dist/cuda/decode_sm90_wide.fatbin | cut -c1-16) (s21-call's q-map build; w5 compared its default build with /work/main/dist/cuda: SAME CODE); N: $(sha256sum < "$W/kN/decode_sm90_wide.fatbin" | cut -c1-16); P: $(sha256sum < "$W/kP/decode_sm90_wide.fatbin" | cut -c1-16)"
R=(node --test --test-reporter=tap); B=(node scripts/flashmla-dist.mjs build/src bench --backend cuda)

ts "step 1: checks through N (parallel)"
(
  export FLASHMLA_CUDA_KERNELS=$W/kN
  FLASHMLA_SM90W_CASES=32 FLASHMLA_SM90W_SHARD=0/2 timeout -k 5 40 "${R[@]}" $T > "$W/sm90w-0.tap" 2>&1 &
  FLASHMLA_SM90W_CASES=32 FLASHMLA_SM90W_SHARD=1/2 timeout -k 5 40 "${R[@]}" --test-name-pattern 'random cases' $T > "$W/sm90w-1.tap" 2>&1 &
  FLASHMLA_GPU_CASES=24 timeout -k 5 40 "${R[@]}" build/test/gpu/cuda.test.js > "$W/cuda.tap" 2>&1 &
  for tool in memcheck synccheck; do
    (timeout -k 5 40 compute-sanitizer --tool $tool --print-limit 20 "${B[@]}" --configs bench/cuda/hopper/s21_w5_san.json --check 2 --reps 1 \
       --warmup 0 --warm-ms 0 --idle-warm-ms 0 -q --out "$W/san-$tool.json" > "$W/san-$tool.txt" 2>&1; echo $? > "$W/san-$tool.rc") &
  done
  (FLASHMLA_CUDA_KERNELS=$W/kP timeout -k 5 40 compute-sanitizer --tool memcheck --print-limit 20 "${B[@]}" --configs bench/cuda/hopper/s21_w5_san.json \
     --check 2 --reps 1 --warmup 0 --warm-ms 0 --idle-warm-ms 0 -q --out "$W/sanP-memcheck.json" > "$W/sanP-memcheck.txt" 2>&1; echo $? > "$W/sanP-memcheck.rc") &
  wait
)
for f in sm90w-0 sm90w-1 cuda; do echo "$f.test: $(grep -h '^# pass\|^# fail\|^# skipped' "$W/$f.tap" | tr '\n' ' ')" | tee -a "$OUT/log.txt"; done
(cd "$W" && grep -h "^not ok\|ran the sm90w kernel" sm90w-0.tap sm90w-1.tap cuda.tap) | head -6 | tee -a "$OUT/log.txt"
echo "P memcheck rc=$(cat "$W/sanP-memcheck.rc" 2>/dev/null) $(grep -h 'ERROR SUMMARY' "$W/sanP-memcheck.txt" | tail -1)" | tee -a "$OUT/log.txt"
for tool in memcheck synccheck; do echo "$tool rc=$(cat "$W/san-$tool.rc" 2>/dev/null) $(grep -h 'ERROR SUMMARY' "$W/san-$tool.txt" | tail -1)" | tee -a "$OUT/log.txt"; done
save

ts "step 2: timing (quiet), arms ${W5_ARMS:-A N P A N P A N}"
n=0; dt=8
for arm in ${W5_ARMS:-A N P A N P A N}; do
  n=$((n + 1))
  [ $((SECONDS - S + dt)) -gt "$BUDGET" ] && { ts "bench $arm ($n) skipped: it would end past ${BUDGET} s"; continue; }
  t0=$SECONDS
  if [ "$arm" = A ]; then K=$PWD/dist/cuda; else K=$W/k$arm; fi
  FLASHMLA_CUDA_KERNELS=$K timeout -k 5 25 "${B[@]}" --configs bench/cuda/hopper/s21_w5_configs.json --check 2 --warm-ms 200 \
    --idle-warm-ms 1000 -q --out "$W/bench-$arm-$n.json" > "$W/bench-$arm-$n.txt" 2>&1
  ts "bench $arm ($n) rc=$?"; dt=$((SECONDS - t0))
done
save

ts "step 3: the rule"
python3 bench/cuda/hopper/s21_w5_rule.py "$W" > "$W/rule.txt" 2>&1
tail -n 1 "$W/rule.txt" | grep -q '^SHIP \|^KEEP ' || echo "KEEP lib (the rule script failed: see rule.txt)" >> "$W/rule.txt"
cat "$W/rule.txt" >> "$OUT/log.txt"
ts "done"
save
tail -n 20 "$W/rule.txt"
