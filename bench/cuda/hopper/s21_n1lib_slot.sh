#!/usr/bin/env bash
# Session 21 n1, the lead's library A/B (docs/notes/cuda-hopper-decode.md, "Session 21 (n1), the library A/B"): arm N =
# dist/cuda with .devstage/s21-n1's decode_sm90.fatbin (bits 75, kNVarLazy), A = dist/cuda (bits 11). GPU host, the
# root, .gpu-host entered, dist/cuda = the shipped kernels, build/ = tsc of the tree:
#   OUT=$OUT timeout 100 bash bench/cuda/hopper/s21_n1lib_slot.sh      (~80 s warm)
# Steps: 1 checks through N in parallel (sm90.test with 120 random cases, cuda.test 40, memcheck / synccheck of flashmla
# bench --check 2 on s21_n1lib_san.json); 2 flashmla bench --check 2 of s21_n1lib_configs.json, arms A N N A N A (a run
# that would end past N1L_BUDGET s, default 88, is skipped); 3 the rule (s21_n1lib_rule.py). $OUT: log.txt, n1lib.tgz.
set -uo pipefail
OUT=${OUT:?}; S=$SECONDS; mkdir -p "$OUT"; ts() { echo "[+$((SECONDS - S))s] $*" | tee -a "$OUT/log.txt"; }
STAGE=${STAGE:-.devstage/s21-n1}; W=/tmp/s21n1lib; rm -rf "$W"; mkdir -p "$W/k"; BUDGET=${N1L_BUDGET:-88}
save() { tar czf "$OUT/n1lib.tgz" -C "$W" --exclude=k . 2>/dev/null; }
export PATH="$PATH:/usr/local/cuda/bin" CI=1 FLASHMLA_GOLDEN=$PWD/test/fixtures/golden
cp -r dist/cuda/. "$W/k/" && xz -dc "$STAGE/decode_sm90.fatbin.xz" > "$W/k/decode_sm90.fatbin" || { echo "KEEP x11 (no stage)"; exit 1; }
. bench/cuda/hopper/sparse-sm90-modes.sh
. bench/cuda/hopper/lib-ab.sh
sparse_sm90_rehash "$W/k" decode_sm90.fatbin
ts "A decode_sm90 $(sha256sum < dist/cuda/decode_sm90.fatbin | cut -c1-16); N $(sha256sum < "$W/k/decode_sm90.fatbin" | cut -c1-16) (stage: $(cat "$STAGE/FATBIN.sha256" 2>/dev/null | cut -c1-16))"
R=(node --test --test-reporter=tap); G=build/test/gpu; B=(node scripts/flashmla-dist.mjs build/src bench --backend cuda)
ts "step 1: checks through N"
export FLASHMLA_CUDA_KERNELS=$W/k
FLASHMLA_SM90_CASES=120 timeout -k 5 50 "${R[@]}" $G/sm90.test.js > "$W/sm90.tap" 2>&1 &
FLASHMLA_GPU_CASES=40 timeout -k 5 50 "${R[@]}" $G/cuda.test.js > "$W/cuda.tap" 2>&1 &
lib_ab_san bench/cuda/hopper/s21_n1lib_san.json
wait
unset FLASHMLA_CUDA_KERNELS
lib_ab_report 'ran the sm90' sm90 cuda
save
ts "step 2: timing, arms A N N A N A"
lib_ab_bench bench/cuda/hopper/s21_n1lib_configs.json 14 1000
save
ts "step 3: the rule"
python3 bench/cuda/hopper/s21_n1lib_rule.py "$W" > "$W/rule.txt" 2>&1
tail -n 1 "$W/rule.txt" | grep -q '^SHIP \|^KEEP ' || echo "KEEP x11 (the rule script failed: see rule.txt)" >> "$W/rule.txt"
cat "$W/rule.txt" >> "$OUT/log.txt"; save
tail -n 18 "$W/rule.txt"
