# Helpers of the library A/B slots (s19_h5r5_slot.sh, s20_h5_slot.sh): sourced after the caller set OUT, S, W, BUDGET,
# B (the bench command line as an array) and ts / save. Arm A is dist/cuda, arm N the kernels in $W/k.
# lib_ab_san CONFIGS: compute-sanitizer memcheck and synccheck of flashmla bench --check 2 on CONFIGS, in the background
# (the caller waits); $W/san-<tool>.txt / .rc / .json.
lib_ab_san() {
  for tool in memcheck synccheck; do
    (timeout -k 5 50 compute-sanitizer --tool $tool --print-limit 20 "${B[@]}" --configs "$1" --check 2 --reps 1 \
       --warmup 0 --warm-ms 0 --idle-warm-ms 0 -q --out "$W/san-$tool.json" > "$W/san-$tool.txt" 2>&1; echo $? > "$W/san-$tool.rc") &
  done
}
# lib_ab_report PATTERN TAP...: each tap's pass / fail / skipped, its "not ok" lines and those matching PATTERN, the
# sanitizers' summaries, into the log.
lib_ab_report() {
  local pat=$1; shift
  for f in "$@"; do echo "$f.test: $(grep -h '^# pass\|^# fail\|^# skipped' "$W/$f.tap" | tr '\n' ' ')" | tee -a "$OUT/log.txt"; done
  (cd "$W" && grep -h "^not ok\|$pat" "${@/%/.tap}") | head -6 | tee -a "$OUT/log.txt"
  for tool in memcheck synccheck; do echo "$tool rc=$(cat "$W/san-$tool.rc" 2>/dev/null) $(grep -h 'ERROR SUMMARY' "$W/san-$tool.txt" | tail -1)" | tee -a "$OUT/log.txt"; done
}
# lib_ab_bench CONFIGS DT IDLE_MS: flashmla bench --check 2 of CONFIGS, arms A N N A N A, quiet; a run that would end past
# BUDGET s (the last run's time, DT s for the first) is skipped. $W/bench-<arm>-<n>.json / .txt.
lib_ab_bench() {
  local n=0 dt=$2 d t0
  for arm in A N N A N A; do
    n=$((n + 1)); d=$PWD/dist/cuda; [ $arm = A ] || d=$W/k
    [ $((SECONDS - S + dt)) -gt "$BUDGET" ] && { ts "bench $arm ($n) skipped: it would end past ${BUDGET} s"; continue; }
    t0=$SECONDS
    FLASHMLA_CUDA_KERNELS=$d timeout -k 5 25 "${B[@]}" --configs "$1" --check 2 --warm-ms 200 \
      --idle-warm-ms "$3" -q --out "$W/bench-$arm-$n.json" > "$W/bench-$arm-$n.txt" 2>&1
    ts "bench $arm ($n) rc=$?"; dt=$((SECONDS - t0))
  done
}
