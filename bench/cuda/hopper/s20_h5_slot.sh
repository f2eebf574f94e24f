#!/usr/bin/env bash
# Session 20 h5 (docs/notes/cuda-hopper-decode.md, "Session 20 h5"): the first item's Q by TMA in the wide kernel,
# through the library. Arm N = dist/cuda with this branch's decode_sm90_wide.fatbin built -DMLA_SM90W_LIB_VARB=32
# (kVarBQTma: the library's wide entries take q's tensor map, launch.ts sm90QMap with 64-row boxes; _ld entries without
# it, whose .text is the shipped entries'), A = dist/cuda (main's shipped fatbins: its wide entries take no map, the
# _ld lookup fails, the extra argument is ignored). Both run the branch's tsc output (the stage's build.tar.xz,
# unpacked over build/).
# GPU host, the merged tree's root, .gpu-host entered, dist/cuda = the shipped kernels (any fresh stage of main):
#   OUT=$OUT timeout 100 bash bench/cuda/hopper/s20_h5_slot.sh      (stage .devstage/s20-h5; ~85-90 s warm)
# Steps: 0 unpack and sha256; 1 checks through N in parallel: test/gpu/sm90-wide.test (goldens, the q-view test, 60
# random cases in two shards), test/gpu/cuda.test (40 random), compute-sanitizer memcheck and synccheck of flashmla
# bench --check 2 on s20_h5_san.json (3 wide cases: 64 rows b=1; 96 rows with an empty request, tile 1's box holding the
# next request's rows and running past q; 256 rows); 2 quiet: flashmla bench --check 2 of s20_h5_configs.json, arms
# A N N A N A (a run that would end past H5_BUDGET s, default 84, is skipped); 3 the rule (s20_h5_rule.py).
# $OUT: log.txt, h5.tgz (taps, sanitizer logs, bench JSON). Last line: SHIP qtma-wide (...) or KEEP lib (...).
set -uo pipefail
# Since session 20 the library looks up the wide kernel's _ld entries only when told the build has them (the shipped one has not):
# both arms run as in calls A / D (A: the lookup fails once and the entries run without a map).
export FLASHMLA_CUDA_SM90W_QMAP=1
OUT=${OUT:?}; S=$SECONDS; ts() { echo "[+$((SECONDS - S))s] $*" | tee -a "$OUT/log.txt"; }
STAGE=${STAGE:-.devstage/s20-h5}; W=/tmp/s20h5; rm -rf "$W"; mkdir -p "$W/k"; BUDGET=${H5_BUDGET:-84}
save() { tar czf "$OUT/h5.tgz" -C "$W" --exclude=k . 2>/dev/null; }
export PATH="$PATH:/usr/local/cuda/bin" CI=1 FLASHMLA_GOLDEN=$PWD/test/fixtures/golden
unxz() { if command -v xz > /dev/null; then xz -dc "$1"; else python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$1"; fi; }
(cd "$STAGE" && sha256sum -c --quiet SHA256SUMS) > "$W/sha.txt" 2>&1 && ts "stage: sha256 ok" \
  || { ts "stage: sha256 MISMATCH"; tee -a "$OUT/log.txt" < "$W/sha.txt"; echo "KEEP lib (stage damaged)"; exit 1; }
unxz "$STAGE/build.tar.xz" | tar xf - || { ts "stage: build.tar.xz failed"; echo "KEEP lib (stage incomplete)"; exit 1; }
cp -r dist/cuda/. "$W/k/" && unxz "$STAGE/decode_sm90_wide.fatbin.xz" > "$W/k/decode_sm90_wide.fatbin"
(cd "$W/k" && sha256sum -c --quiet "$OLDPWD/$STAGE/UNPACKED.sha256") > /dev/null 2>&1 && ts "N's decode_sm90_wide.fatbin sha256 ok" \
  || { ts "N's decode_sm90_wide.fatbin sha256 MISMATCH"; echo "KEEP lib (stage damaged)"; exit 1; }
. bench/cuda/hopper/sparse-sm90-modes.sh # sparse_sm90_rehash DIR FILE
. bench/cuda/hopper/lib-ab.sh # lib_ab_san, lib_ab_report, lib_ab_bench
sparse_sm90_rehash "$W/k" decode_sm90_wide.fatbin
ts "A: dist/cuda decode_sm90_wide $(sha256sum < dist/cuda/decode_sm90_wide.fatbin | cut -c1-16) (main's since session 18: 77ac8def11996a63); N: $(sha256sum < "$W/k/decode_sm90_wide.fatbin" | cut -c1-16)"
R=(node --test --test-reporter=tap); G=build/test/gpu; B=(node scripts/flashmla-dist.mjs build/src bench --backend cuda)

ts "step 1: checks through N (parallel)"
export FLASHMLA_CUDA_KERNELS=$W/k
# sm90-wide.test's 48 random cases in two shards: 0 (the whole file: dispatch, goldens, q views) and 1 (the random test alone)
FLASHMLA_SM90W_CASES=48 FLASHMLA_SM90W_SHARD=0/2 timeout -k 5 50 "${R[@]}" $G/sm90-wide.test.js > "$W/sm90w-0.tap" 2>&1 &
FLASHMLA_SM90W_CASES=48 FLASHMLA_SM90W_SHARD=1/2 timeout -k 5 50 "${R[@]}" --test-name-pattern 'random cases' $G/sm90-wide.test.js > "$W/sm90w-1.tap" 2>&1 &
FLASHMLA_GPU_CASES=40 timeout -k 5 50 "${R[@]}" $G/cuda.test.js > "$W/cuda.tap" 2>&1 &
lib_ab_san bench/cuda/hopper/s20_h5_san.json
wait
unset FLASHMLA_CUDA_KERNELS
lib_ab_report 'ran the sm90w kernel' sm90w-0 sm90w-1 cuda
save

ts "step 2: timing (quiet), arms A N N A N A"
lib_ab_bench bench/cuda/hopper/s20_h5_configs.json 14 1000
save

ts "step 3: the rule"
python3 bench/cuda/hopper/s20_h5_rule.py "$W" > "$W/rule.txt" 2>&1
tail -n 1 "$W/rule.txt" | grep -q '^SHIP \|^KEEP ' || echo "KEEP lib (the rule script failed: see rule.txt)" >> "$W/rule.txt"
cat "$W/rule.txt" >> "$OUT/log.txt"
ts "done"
save
tail -n 16 "$W/rule.txt"
