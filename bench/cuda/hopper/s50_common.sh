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
