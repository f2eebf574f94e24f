# Session 25 (issue #13): the frame its H200 calls share (sourced by h200-s25-call*.sh). ab_frame DIR: enters the GPU
# host's set-up, points the tests at the carried goldens and makes the call's folder W. ab_run ARMS CONFIGS NAME REPS
# [ISO]: tile16-ab.mjs with those arms over those configs (a JSON string), NAME.json / NAME.txt in W, and its summary
# lines. suite_line FILE: the pass / fail / skip / todo counts of a TAP file and its first failures.
ab_frame() {
  set -u
  source .gpu-host/enter.sh >/dev/null
  export FLASHMLA_GOLDEN=$PWD/test/fixtures/golden
  W=$1; rm -rf "$W"; mkdir -p "$W"
}
ab_run() {
  echo "$2" > "$W/cfg-$3.json"
  ARMS=$1 ISO_RANDOM=${5:-6} timeout ${AB_TIMEOUT:-240} node scripts/webgpu-tools/tile16-ab.mjs --configs "$W/cfg-$3.json" --reps "$4" --out "$W/$3.json" > "$W/$3.txt" 2>&1
  echo "$3 rc $?"; grep -E '^(CHECK|TIME|DECISION|BEST|device)' "$W/$3.txt"
}
suite_line() { echo "$(basename "$1" .tap): $(grep -E '^# (pass|fail|skipped|todo) ' "$1" | tr -d '#' | xargs) $(grep -m3 '^ *not ok' "$1" | tr '\n' ' ')"; }
