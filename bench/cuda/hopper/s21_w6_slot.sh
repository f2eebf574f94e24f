#!/usr/bin/env bash
# Session 21 w6, for session 22's first device call (docs/notes/cuda-hopper-decode.md, "Session 22 (w6), prepared in
# session 21"): kVarBStKNx on w5's kVarBStK (decode_sm90_wide.cu): an unsplit item's output rows in its last key tile's
# stage only where the part has a next live item, the stage's refill held by the producer (a hand-back count), not by a
# test in the consumers' pair loop. Library A/B as s21_w5_slot.sh, with the candidate built here from the tree:
#   A = dist/cuda (the shipped fatbins);
#   W = dist/cuda with decode_sm90_wide.fatbin built -DMLA_SM90W_LIB_VARB=109838432 (67895392 | 1 << 25 | 1 << 23);
#   N = the same with -DMLA_SM90W_LIB_VARB=101449824 (w5's kVarBStK alone, call F's N): read only, decides nothing.
# GPU host, the tree's root (main with this branch merged), .gpu-host entered for node, dist/cuda = main's shipped
# kernels, build/ = main's tsc output (this branch changes no TS), nvcc at /usr/local/cuda/bin:
#   OUT=$OUT timeout 160 bash bench/cuda/hopper/s21_w6_slot.sh      (~120-145 s: build ~20-50 s, checks ~31 s, bench ~60 s)
# Steps: 0 build W and N (parallel, build-kernels' flags; a failed W build ends the slot: KEEP lib); 1 checks through W in
# parallel: sm90-wide test (shard 0: dispatch, goldens, q views, the many-item parts, 16 random cases; shard 1: 16
# random cases), test/gpu/cuda.test (24 random), compute-sanitizer memcheck and synccheck of flashmla bench --check 2 on
# s21_w6_san.json (w5's five cases and b 99 of 64 / 64 / 130 keys at 256 rows: parts U1 U1 U3, two holds pending at
# once); 2 quiet: flashmla bench --check 2 of s21_w5_configs.json, arms W6_ARMS (default A W N A W A W N; a run that
# would end past W6_BUDGET s, default 140, is skipped, and an N run too where it would leave A or W under 3 runs);
# 3 the rule (s21_w6_rule.py). $OUT: log.txt, w6.tgz (build logs, taps, sanitizer logs, bench JSON, rule.txt).
# Last line: SHIP stknx-wide (...) or KEEP lib (...).
set -uo pipefail
OUT=${OUT:?}; S=$SECONDS; mkdir -p "$OUT"; ts() { echo "[+$((SECONDS - S))s] $*" | tee -a "$OUT/log.txt"; }
W=/tmp/s21w6; rm -rf "$W"; mkdir -p "$W/kW" "$W/kN"; BUDGET=${W6_BUDGET:-140}; ARMS=${W6_ARMS:-A W N A W A W N}
save() { tar czf "$OUT/w6.tgz" -C "$W" --exclude=kW --exclude=kN . 2>/dev/null; }
keep() { echo "KEEP lib ($1)" | tee -a "$OUT/log.txt"; save; exit 1; }
export PATH="$PATH:/usr/local/cuda/bin" CI=1 FLASHMLA_GOLDEN=$PWD/test/fixtures/golden
unset FLASHMLA_CUDA_SM90W_QMAP FLASHMLA_CUDA_KERNELS
T=build/test/gpu/sm90-wide.test.js
[ -f "$T" ] || { ts "no $T (build/ = main's tsc output is needed)"; keep "no build/"; }
[ -f dist/cuda/decode_sm90_wide.fatbin ] || { ts "no dist/cuda"; keep "no dist/cuda"; }
command -v nvcc > /dev/null || { ts "no nvcc"; keep "no nvcc"; }

ts "step 0: build W$([[ " $ARMS " == *" N "* ]] && echo ' and N') ($(nvcc --version | grep -o 'release [0-9.]*'))"
NV=(nvcc -std=c++17 -O3 --Werror all-warnings -Xptxas -warn-spills --threads 0 -gencode arch=compute_90a,code=sm_90a -fatbin)
for a in W N; do
  [ "$a" = N ] && [[ " $ARMS " != *" N "* ]] && continue
  v=109838432; [ "$a" = N ] && v=101449824
  cp -r dist/cuda/. "$W/k$a/"
  (cd src/backends/cuda/kernels && timeout -k 5 100 "${NV[@]}" -DMLA_SM90W_LIB_VARB=$v -o "$W/k$a/decode_sm90_wide.fatbin" decode_sm90_wide.cu \
     > "$W/build-$a.log" 2>&1; echo $? > "$W/build-$a.rc") &
done
wait
ts "built: W rc $(cat "$W/build-W.rc") $([ -f "$W/build-N.rc" ] && echo "N rc $(cat "$W/build-N.rc")")"
[ "$(cat "$W/build-W.rc")" = 0 ] || { grep -v C7519 "$W/build-W.log" | tail -5 | tee -a "$OUT/log.txt"; python3 bench/cuda/hopper/s21_w6_rule.py "$W" > "$W/rule.txt" 2>&1; keep "W's build failed"; }
if [ -f "$W/build-N.rc" ] && [ "$(cat "$W/build-N.rc")" != 0 ]; then ts "N's build failed: N dropped"; ARMS=${ARMS//N/}; fi
. bench/cuda/hopper/sparse-sm90-modes.sh # sparse_sm90_rehash DIR FILE
for a in W N; do [ -f "$W/k$a/manifest.json" ] && sparse_sm90_rehash "$W/k$a" decode_sm90_wide.fatbin; done
# The .text of the q-map entries as built off the device in session 21 (nvcc 13.0): A 9587da9a623e4850 (dist/cuda),
# W cda912acf6dd6346, N aea3fd1f5b6f4542 (call F's N). A difference is reported, not fatal (another nvcc build).
for a in A W N; do
  f=$W/k$a/decode_sm90_wide.fatbin; [ "$a" = A ] && f=dist/cuda/decode_sm90_wide.fatbin; [ -f "$f" ] || continue
  h=$(python3 bench/cuda/hopper/sass_opclass.py --text "$f" mla_decode_sm90w_bf16 2>/dev/null | awk '{print $4, $7 " registers", $9 " instructions"}' | head -1)
  case $a in A) e=9587da9a623e4850;; W) e=cda912acf6dd6346;; N) e=aea3fd1f5b6f4542;; esac
  ts "$a: bf16 entry .text $h ($([ "${h%% *}" = "$e" ] && echo "as built off the device" || echo "DIFFERS from $e built off the device"))"
done
R=(node --test --test-reporter=tap); B=(node scripts/flashmla-dist.mjs build/src bench --backend cuda)

ts "step 1: checks through W (parallel)"
(
  export FLASHMLA_CUDA_KERNELS=$W/kW
  FLASHMLA_SM90W_CASES=32 FLASHMLA_SM90W_SHARD=0/2 timeout -k 5 40 "${R[@]}" $T > "$W/sm90w-0.tap" 2>&1 &
  FLASHMLA_SM90W_CASES=32 FLASHMLA_SM90W_SHARD=1/2 timeout -k 5 40 "${R[@]}" --test-name-pattern 'random cases' $T > "$W/sm90w-1.tap" 2>&1 &
  FLASHMLA_GPU_CASES=24 timeout -k 5 40 "${R[@]}" build/test/gpu/cuda.test.js > "$W/cuda.tap" 2>&1 &
  for tool in memcheck synccheck; do
    (timeout -k 5 40 compute-sanitizer --tool $tool --print-limit 20 "${B[@]}" --configs bench/cuda/hopper/s21_w6_san.json --check 2 --reps 1 \
       --warmup 0 --warm-ms 0 --idle-warm-ms 0 -q --out "$W/san-$tool.json" > "$W/san-$tool.txt" 2>&1; echo $? > "$W/san-$tool.rc") &
  done
  wait
)
for f in sm90w-0 sm90w-1 cuda; do echo "$f.test: $(grep -h '^# pass\|^# fail\|^# skipped' "$W/$f.tap" | tr '\n' ' ')" | tee -a "$OUT/log.txt"; done
(cd "$W" && grep -h "^not ok\|ran the sm90w kernel" sm90w-0.tap sm90w-1.tap cuda.tap) | head -6 | tee -a "$OUT/log.txt"
for tool in memcheck synccheck; do echo "$tool rc=$(cat "$W/san-$tool.rc" 2>/dev/null) $(grep -h 'ERROR SUMMARY' "$W/san-$tool.txt" | tail -1)" | tee -a "$OUT/log.txt"; done
save

ts "step 2: timing (quiet), arms $ARMS"
n=0; dt=8; na=0; nw=0
for arm in $ARMS; do
  n=$((n + 1))
  need=$(( (na < 3 ? 3 - na : 0) + (nw < 3 ? 3 - nw : 0) ))
  if [ "$arm" = N ] && [ $((SECONDS - S + dt * (1 + need))) -gt "$BUDGET" ]; then ts "bench N ($n) skipped: A and W need $need more runs"; continue; fi
  [ $((SECONDS - S + dt)) -gt "$BUDGET" ] && { ts "bench $arm ($n) skipped: it would end past ${BUDGET} s"; continue; }
  t0=$SECONDS
  if [ "$arm" = A ]; then K=$PWD/dist/cuda; else K=$W/k$arm; fi
  FLASHMLA_CUDA_KERNELS=$K timeout -k 5 25 "${B[@]}" --configs bench/cuda/hopper/s21_w5_configs.json --check 2 --warm-ms 200 \
    --idle-warm-ms 1000 -q --out "$W/bench-$arm-$n.json" > "$W/bench-$arm-$n.txt" 2>&1
  ts "bench $arm ($n) rc=$?"; dt=$((SECONDS - t0))
  case $arm in A) na=$((na + 1));; W) nw=$((nw + 1));; esac
done
save

ts "step 3: the rule"
python3 bench/cuda/hopper/s21_w6_rule.py "$W" > "$W/rule.txt" 2>&1
tail -n 1 "$W/rule.txt" | grep -q '^SHIP \|^KEEP ' || echo "KEEP lib (the rule script failed: see rule.txt)" >> "$W/rule.txt"
cat "$W/rule.txt" >> "$OUT/log.txt"
ts "done"
save
tail -n 24 "$W/rule.txt"
