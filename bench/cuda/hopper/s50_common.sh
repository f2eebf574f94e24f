# Session 50's call scripts (bench/cuda/hopper/s50_call*.sh), sourced from the tree's root on the GPU host.
# The call scripts were moved onto these helpers after their runs (the same steps; the logs in
# results/gpu-host/bench/hopper/s50/ are the runs' own output, whose summary lines named the suites a little differently).
# s50_setup X: s29_setup of .devstage/s50X.tar.xz (PACK overrides it), the goldens in the tree, W=/tmp/s50X emptied.
s50_setup() {
  set -uo pipefail
  source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s50$1.tar.xz}" # (CLI, T0, ts, lim: s29_common.sh)
  export FLASHMLA_GOLDEN=$PWD/test/fixtures/golden FLASHMLA_GOLDEN_SPARSE=$PWD/test/fixtures/golden-sparse
  W=/tmp/s50$1; rm -rf "$W"; mkdir -p "$W"
}
# s50_sparse_suite NAME LIMIT PATTERN: build/test/gpu/sparse.test.js filtered by PATTERN (environment as the caller set
# it) into $W/NAME.tap within LIMIT seconds of the call's budget, then its summary and the first failing seeds.
s50_sparse_suite() {
  timeout -k 5 "$(lim "$2")" node --test --test-name-pattern "$3" build/test/gpu/sparse.test.js > "$W/$1.tap" 2>&1
  echo "$1 rc $?"; grep -E "^# (pass|fail)|seed [0-9]+ \{|sparse seed" "$W/$1.tap" | cut -c1-220 | head -6
}
# s50_sparse_rows A B: the sparse rows of two `flashmla bench --mode sparse` JSONs in $W side by side, A's time over B's.
s50_sparse_rows() {
  python3 - "$W/$1" "$W/$2" <<'P'
import json, sys
a = json.load(open(sys.argv[1]))['rows']; b = json.load(open(sys.argv[2]))['rows']
for x, y in zip(a, b):
    print(f"{x['label']:<22} h_q {x['hQ']:>3} s_q {x['sQ']} topk {x['topk_total']:>5}: {x['us']:8.1f} us ({x.get('kernel', '')}) vs {y['us']:8.1f} us ({y.get('kernel', '')}): {x['us'] / y['us']:.3f}")
P
}
# s50_fuzz SEED LIMIT: test/gpu/fuzz.test.ts (session 52) at FUZZ_SEED=SEED on CUDA and the hardware WebGPU adapter
# (FLASHMLA_REQUIRE: either missing fails) into $W/fuzz-SEED.tap, then its summary and first failures.
s50_fuzz() {
  FUZZ_SEED=$1 FLASHMLA_REQUIRE=cuda,webgpu timeout -k 5 "$(lim "$2")" node --test --test-reporter=tap build/test/gpu/fuzz.test.js > "$W/fuzz-$1.tap" 2>&1
  echo "fuzz seed $1 rc $?"; grep -E "^# (pass|fail|skip)|^not ok|^\s+# (cuda|webgpu) |FUZZ_SEED=.*(accepted|untyped|HANG|ended)" "$W/fuzz-$1.tap" | cut -c1-300 | head -14
}
# s50_dense_lens_ab HEADS (session 56): dense FP8 rows of the comma-separated h_q list with the lengths on the host and on
# the device (--dense-device-lens), alternating, two rounds, into $W/dense-{host,dev}{1,2}.json; each row printed.
s50_dense_lens_ab() {
  local arm tag flag
  for arm in host1: dev1:--dense-device-lens host2: dev2:--dense-device-lens; do
    IFS=: read -r tag flag <<< "$arm"
    timeout -k 5 "$(lim 45)" "${CLI[@]}" bench --mode sparse --backend cuda --flush-mb 256 --rep-ms 40 --dense-only --dense-heads "$1" $flag \
      --out "$W/dense-$tag.json" > "$W/dense-$tag.txt" 2>&1; echo "dense $tag rc $?"; grep -E "^dense " "$W/dense-$tag.txt" | cut -c1-170
  done
}
# Session 57's helpers (its call scripts were moved onto them after their runs; the logs are the runs' own output).
# s57_ncu_dense TAG:KERNELS[:FLAGS] ...: ncu gpu__time_duration (kernels serialised, no clock or cache control) of the
# dense FP8 lists kernel, the decode and the merge at b = 128 s_k = 8192 64 heads, calls 3-5 of 6, for each arm (its
# FLASHMLA_CUDA_KERNELS and bench flags; FLASHMLA_CUDA_SPARSE_REPLAN as the caller set it) into $W/ncu-TAG.csv, each
# kernel's times printed.
s57_ncu_dense() {
  local arm tag kern flag
  for arm in "$@"; do
    IFS=: read -r tag kern flag <<< "$arm"
    FLASHMLA_CUDA_KERNELS=$kern timeout -k 5 "$(lim 60)" ncu --metrics gpu__time_duration.sum --clock-control none --cache-control none --csv \
      --print-units base -k regex:"mla_(dense_fp8_lists|sparse)" --launch-skip 6 --launch-count 9 "${CLI[@]}" bench --mode sparse --backend cuda \
      --dense-only --dense-heads 64 --reps 3 --warmup 3 $flag -q > "$W/ncu-$tag.csv" 2> "$W/ncu-$tag.err"; echo "ncu $tag rc $?"
    python3 - "$W/ncu-$tag.csv" <<'P'
import csv, sys, collections
rows = [r for r in csv.reader(open(sys.argv[1])) if len(r) > 10]
head = rows[0]; k = head.index('Kernel Name'); v = head.index('Metric Value')
d = collections.defaultdict(list)
for r in rows[1:]: d[r[k]].append(float(r[v].replace(',', '')) / 1e3)
for name, xs in d.items(): print(f"  {name}: {' '.join(f'{x:.1f}' for x in xs)} us")
P
  done
}
# s57_dense_builds TAG:KERNELS ...: dense FP8 64 / 128 heads with host and with device lengths for each build, two
# rounds alternating, into $W/dense-TAG-{host,dev}{1,2}.json; each run's times on one line.
s57_dense_builds() {
  local r arm tag kern lens flag
  for r in 1 2; do
    for arm in "$@"; do
      IFS=: read -r tag kern <<< "$arm"
      for lens in host dev; do
        flag=; [ $lens = dev ] && flag=--dense-device-lens
        FLASHMLA_CUDA_KERNELS=$kern timeout -k 5 "$(lim 45)" "${CLI[@]}" bench --mode sparse --backend cuda --flush-mb 256 --rep-ms 40 --dense-only \
          --dense-heads 64,128 $flag --out "$W/dense-$tag-$lens$r.json" > "$W/dense-$tag-$lens$r.txt" 2>&1
        echo "dense $tag $lens $r rc $?: $(grep -E "^dense V3" "$W/dense-$tag-$lens$r.txt" | grep -oE "h_q=[0-9]+ .*: [0-9.]+ us" | sed 's/(mla_sparse_sm90_v32_bf16[_c2]*)//' | tr '\n' ' ')"
      done
    done
  done
}
# s57_sparse_flashmla TAG:FLAGS ...: FlashMLA 9241ae3's sparse table (bench/cuda/flashmla_sparse_protocols.py, do_bench's
# loop) into $W/fp-sparse.json, then ours against it for each arm into $W/cuda-sparse-TAG.json, each geomean printed.
s57_sparse_flashmla() {
  local arm tag flag
  PYTHONUNBUFFERED=1 timeout -k 5 "$(lim 75)" python3 bench/cuda/flashmla_sparse_protocols.py .gpu-host/anchors/flashmla-sparse --out "$W/fp-sparse.json" --deadline 55 > "$W/fp-sparse.txt" 2>&1 || echo "sparse anchor rc $?"
  for arm in "$@"; do
    IFS=: read -r tag flag <<< "$arm"
    timeout -k 5 "$(lim 50)" "${CLI[@]}" bench --mode sparse --backend cuda --flush-mb 256 --dense-heads none $flag --flashmla "$W/fp-sparse.json" \
      --out "$W/cuda-sparse-$tag.json" > "$W/cuda-sparse-$tag.txt" 2>&1
    echo "cuda-sparse $tag rc $?"; grep -E "geometric" "$W/cuda-sparse-$tag.txt" | head -3
  done
}
# Session 58's helpers (its call scripts and session 57's calls 2 and 6 were moved onto them after their runs).
# s58_devplan CASES DENSE LIMIT: the device-plan suites (sparse plans row by row, both passes' plan entries, the record /
# capture tests, device-length dense and folded cases) with CASES sparse and DENSE dense cases into $W/devplan.tap, then
# its failures and the tests that ran.
s58_devplan() {
  FLASHMLA_GPU_SPARSE_DEVPLAN_CASES=$1 FLASHMLA_GPU_DENSE64_CASES=$2 FLASHMLA_GPU_DENSE_FOLD_CASES=$2 \
    s50_sparse_suite devplan "$3" "metadata planned on the device|mla_dense_fp8_lists|lengths on the device|plan \(its record\)"
  grep -E "^\s*not ok|Error|expected|actual" "$W/devplan.tap" | cut -c1-240 | head -12; grep -E "^\s+ok [0-9]+ - " "$W/devplan.tap" | grep -v SKIP | cut -c1-150
  ts "devplan"
}
# s58_sparse_ab PREFIX FLAGS TAG:KERNELS ...: FlashMLA's 12 sparse shapes (no dense rows) for each arm in turn (its
# FLASHMLA_CUDA_KERNELS, the bench FLAGS) into $W/PREFIX-TAG.json, each run's exit status printed.
s58_sparse_ab() {
  local prefix=$1 flags=$2 arm tag kern; shift 2
  for arm in "$@"; do
    IFS=: read -r tag kern <<< "$arm"
    # shellcheck disable=SC2086 # FLAGS splits on purpose
    FLASHMLA_CUDA_KERNELS=$kern timeout -k 5 "$(lim 40)" "${CLI[@]}" bench --mode sparse --backend cuda --flush-mb 256 --rep-ms 40 --dense-heads none $flags \
      --out "$W/$prefix-$tag.json" > "$W/$prefix-$tag.txt" 2>&1
    echo "sparse $prefix $tag rc $?"
  done
}
# s58_sanitize PATTERN LIMIT TOOL...: compute-sanitizer TOOL (memcheck, racecheck, synccheck) over
# build/test/gpu/sparse.test.js filtered by PATTERN (environment as the caller set it) into $W/TOOL.txt, each within
# LIMIT seconds of the call's budget; its summary, the tests' pass / fail, and the kernels it reports.
s58_sanitize() {
  local pattern=$1 limit=$2 tool; shift 2
  for tool in "$@"; do
    timeout -k 5 "$(lim "$limit")" compute-sanitizer --tool "$tool" --print-limit 20 node --test --test-name-pattern "$pattern" \
      build/test/gpu/sparse.test.js > "$W/$tool.txt" 2>&1
    echo "$tool rc $?: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$W/$tool.txt" | tail -1) $(grep -E '^# (pass|fail)' "$W/$tool.txt" | tr '\n' ' ')"
    grep -E "(Read|Write) access at|Barrier error|at [a-z0-9_]+\+0x" "$W/$tool.txt" | grep -oE "at [a-z0-9_]+" | sort | uniq -c | head -6
    ts "$tool"
  done
}
# Session 65's helper (its call scripts s65_call1.sh .. s65_call3.sh were moved onto it after their runs; the logs in
# results/gpu-host/bench/hopper/s65/ are the runs' own output, printed by inline readers in the same form).
# s65_sparse_ab ROUNDS TAG:KERNELS:BOUND ...: each arm a full `flashmla bench --mode sparse` (FlashMLA's 12 shapes, no dense
# rows, do_bench's loop after 256 MB zeroed, FlashMLA's table $W/fp-sparse.json merged) with FLASHMLA_CUDA_KERNELS=KERNELS
# and FLASHMLA_CUDA_SPARSE_BOUND=BOUND (empty: the default), the arms alternating, ROUNDS rounds, into $W/ab-TAGr.json;
# then bench/cuda/hopper/s65_ab_read.py's table.
s65_sparse_ab() {
  local rounds=$1 r arm tag dir bound tags=(); shift
  for arm in "$@"; do tags+=("${arm%%:*}"); done
  for r in $(seq 1 "$rounds"); do
    for arm in "$@"; do
      IFS=: read -r tag dir bound <<< "$arm"
      FLASHMLA_CUDA_SPARSE_BOUND=$bound FLASHMLA_CUDA_KERNELS=$dir timeout -k 5 "$(lim 45)" "${CLI[@]}" bench --mode sparse --backend cuda --flush-mb 256 \
        --rep-ms 30 --dense-heads none --flashmla "$W/fp-sparse.json" --out "$W/ab-$tag$r.json" > "$W/ab-$tag$r.txt" 2>&1
      echo "ab $tag$r rc $?: $(grep -aE "geometric" "$W/ab-$tag$r.txt" | head -1 | cut -c1-150)"
    done
    ts "round $r"
  done
  python3 bench/cuda/hopper/s65_ab_read.py "$W" "$rounds" "${tags[@]}"
}
