#!/usr/bin/env bash
# Session 21 (n1): the lazy reference maximum in the <= 32-row Hopper kernel (decode_sm90.cu kNVarLazy, VAR bit 64; the
# library candidate is -DMLA_SM90_LIB_VAR=75). Harness A/B (bench/cuda/hopper/harness.cu, prebuilt): x11 = the shipped
# library entries' code (Q by TMA), x75 = x11 + kNVarLazy, xaa = x11's code under a second name (the A/A guard); the
# .text of each harness entry is the library build's (checked offline, and again here by sass_opclass.py --text).
# Prediction and the ship rule: docs/notes/cuda-hopper-decode.md, "Session 21 (n1)", written before any run.
# Needs neither dist/cuda, build/ nor Node; compute-sanitizer from /usr/local/cuda/bin. From the tree's root (branch
# s21-n1 merged or checked out), carrying .devstage/s21-n1:
#   OUT=<dir> timeout 60 bash bench/cuda/hopper/s21_n1_slot.sh          (~25-35 s warm, 55 s at most)
# 1. in parallel (each <= CHECK_S 22 s, the sanitizers <= SAN_S 24 s): random cases against the float64 reference (bf16 and f16, causal, split, padded
#    row tiles) of x75 and of x11 on the same seeds (CHECK_N 20); CHECK_SHORT=1 (every case causal, a third of the requests
#    shorter than s_q, 0 included: rows without a key) of both (CHECK_NS 12); Q_SCALE 4 (spread scores: more exact tiles) of both (CHECK_NQ
#    10); compute-sanitizer memcheck (3 cases) and synccheck (2 cases) of x75 (CHECK_LONG 3000, CHECK_SHORT=1).
# 2. abq (harness.cu; <= AB_S 28 s): x11 x75 xaa interleaved, ROUNDS (10) rounds, decode + the library's combine, copies rotated, on
#    b 128 x s_k 1024 / 4096 / 8192 x (h_q 16 s_q 1, h_q 16 s_q 2, h_q 32 s_q 1), b 1 s_k 32768 h_q 16, and an uneven
#    batch (4641 45118 1730 1696) at h_q 16 s_q 2 (its 64-row original takes the wide kernel).
# 3. the rule (s21_n1_rule.py): last line "SHIP x75 (...)" or "KEEP x11 (...)".
# $OUT: log.txt (everything the rule reads), n1.tgz (the check logs, abq.txt, text.txt).
set -uo pipefail
OUT=${OUT:?}; mkdir -p "$OUT"; S=$SECONDS; : > "$OUT/log.txt"
ts() { echo "[+$((SECONDS - S))s] $*" | tee -a "$OUT/log.txt"; }
STAGE=${STAGE:-.devstage/s21-n1}; W=/tmp/s21n1; rm -rf "$W"; mkdir -p "$W"
export PATH="$PATH:/usr/local/cuda/bin"
save() { tar czf "$OUT/n1.tgz" -C "$W" --exclude=harness . 2>/dev/null; }
python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$STAGE/harness.xz" "$W/harness" \
  && chmod +x "$W/harness" || { ts "stage: harness.xz missing"; echo "KEEP x11 (stage incomplete)" | tee -a "$OUT/log.txt"; exit 1; }
(cd "$W" && sha256sum -c --quiet "$OLDPWD/$STAGE/UNPACKED.sha256") > "$W/sha.txt" 2>&1 && ts "stage: harness sha256 ok" \
  || { ts "stage: harness sha256 MISMATCH"; echo "KEEP x11 (stage damaged)" | tee -a "$OUT/log.txt"; exit 1; }
H=$W/harness
ts "card: $(nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,temperature.gpu,power.draw --format=csv,noheader 2>&1 | head -1)"
# The entries' machine code (no GPU): x11 = xaa = the shipped library's, x75 = the -DMLA_SM90_LIB_VAR=75 build's.
( timeout 20 python3 bench/cuda/hopper/sass_opclass.py --text "$H" _x11_ _x75_ _xaa_ > "$W/text.txt" 2>&1 ) &
ptext=$!

# 1. checks, in parallel
ts "step 1: checks (parallel)"
CS=${CHECK_S:-22}; pids=""
run() { local name=$1; shift; ( env "$@" > "$W/$name.log" 2>&1; echo "rc=$?" >> "$W/$name.log" ) & pids="$pids $!"; }
for k in x75 x11; do
  run check_$k CHECK_KERNEL=$k timeout $CS "$H" check "${CHECK_N:-20}" 211
  run short_$k CHECK_KERNEL=$k CHECK_SHORT=1 timeout $CS "$H" check "${CHECK_NS:-12}" 223
  run q4_$k CHECK_KERNEL=$k Q_SCALE=4 timeout $CS "$H" check "${CHECK_NQ:-10}" 227
done
run memcheck_x75 CHECK_KERNEL=x75 CHECK_SHORT=1 CHECK_LONG=3000 timeout ${SAN_S:-24} compute-sanitizer --tool memcheck --print-limit 20 "$H" check 3 229
run synccheck_x75 CHECK_KERNEL=x75 CHECK_SHORT=1 CHECK_LONG=3000 timeout ${SAN_S:-24} compute-sanitizer --tool synccheck --print-limit 20 "$H" check 2 231
wait $pids
for f in check_x75 check_x11 short_x75 short_x11 q4_x75 q4_x11 memcheck_x75 synccheck_x75; do
  echo "$f: $(grep -h 'cases run' "$W/$f.log" | tail -1) | $(grep -h 'cases: f16' "$W/$f.log" | tail -1 | sed 's/^check ([^)]*) cases: //') | $(grep -h 'ERROR SUMMARY' "$W/$f.log" | tail -1) $(grep -h '^rc=' "$W/$f.log" | tail -1) $(grep -h -m2 '^FAIL' "$W/$f.log" | tr '\n' ' ')" | tee -a "$OUT/log.txt"
done
save

# 2. timing (only if x75's own random check passed: a failed candidate is not timed)
if grep -q 'cases run, 0 failed' "$W/check_x75.log" && grep -q '^rc=0' "$W/check_x75.log"; then
  ts "step 2: abq x11 x75 xaa"
  ABQ_KERNS="x11 x75 xaa" ROUNDS=${ROUNDS:-10} \
    ABQ_CFG="${ABQ_CFG:-128,8192,32,1 128,8192,16,2 128,8192,16,1 128,4096,32,1 128,4096,16,2 128,4096,16,1 128,1024,32,1 128,1024,16,2 128,1024,16,1 1,32768,16,1 4,4641:45118:1730:1696,16,2}" \
    timeout ${AB_S:-28} "$H" abq > "$W/abq.txt" 2>&1
  ts "abq rc=$?"
  grep -v '^device ' "$W/abq.txt" | tee -a "$OUT/log.txt"
else
  ts "step 2: skipped (x75's check did not pass)"
fi
wait $ptext
grep -h '^text' "$W/text.txt" | awk '{print "text", $2, $4}' | tee -a "$OUT/log.txt"
save

# 3. the rule (written before any run)
ts "step 3: the rule"
python3 bench/cuda/hopper/s21_n1_rule.py "$OUT/log.txt" > "$W/rule.txt" 2>&1
tail -n 1 "$W/rule.txt" | grep -q '^SHIP \|^KEEP ' || echo "KEEP x11 (the rule script failed: see rule.txt)" >> "$W/rule.txt"
save
ts "done"
tee -a "$OUT/log.txt" < "$W/rule.txt"
