#!/usr/bin/env bash
# Before a device call (docs/gpu-host.md): what would travel to the GPU host, and whether the call can start there.
# A call whose tree is too large is refused, and one whose packed runtime is missing starts a machine for nothing
# (device time is scarce: a start alone costs 1-2 minutes of it), so both are checked here, for free.
#
#   bash scripts/device-preflight.sh [--carry PATH]... [FILE]...
#
# --carry PATH: an ignored path the call will carry (as the device tool's `carry`); FILE: anything else the call's
# script needs (a pack under .devstage/, say), which must exist. Prints the bytes that travel by part, and exits 1
# when they pass the tool's 64 MiB, when a carried path or FILE is missing, or when the packed runtime is incomplete
# (`.ghc` or `.gpu-host` without node.xz or enter.sh, or a carried node_modules without koffi; without webgpu
# it only notes that WebGPU will be unavailable there).
set -uo pipefail
cd "$(dirname "$0")/.."
limit=$((64 * 1024 * 1024))
carry=() files=()
while [ $# -gt 0 ]; do
  case "$1" in
    --carry) carry+=("${2:?--carry needs a path}"); shift 2 ;;
    *) files+=("$1"); shift ;;
  esac
done
bad=0
say() { printf '%-44s %12s\n' "$1" "$2"; }
sum_list() { # NUL-separated paths on stdin -> their bytes (files only; links count as links)
  python3 -c 'import os,sys
t=0
for p in sys.stdin.buffer.read().split(b"\0"):
    if p and os.path.lexists(p): t += os.lstat(p).st_size
print(t)'
}
tracked=$(git ls-files -z | sum_list)
results=$(git ls-files -z results | sum_list)
untracked=$(git ls-files -z --others --exclude-standard | sum_list)
carried=0
for c in "${carry[@]}"; do
  if [ ! -e "$c" ]; then echo "missing carried path: $c"; bad=1; continue; fi
  n=$(find "$c" -type f -print0 | sum_list); carried=$((carried + n)); say "carry $c" "$n"
done
say "tracked files (results/ among them: $results)" "$tracked"
say "untracked, not ignored" "$untracked"
total=$((tracked + untracked + carried))
say "travels" "$total"
[ "$results" -gt 0 ] && say "travels with results/ moved out" "$((total - results))"
say "limit" "$limit"
if [ "$total" -gt "$limit" ]; then
  echo "over the limit by $((total - limit)) bytes"
  [ "$results" -gt 0 ] && echo "  results/ is tracked: mv results /tmp/results-keep before the call, back after it, and commit nothing between"
  bad=1
fi
# The packed runtime (pack.sh DEST): enter.sh needs node.xz, and the native packages when node_modules is carried.
for d in .ghc .gpu-host; do
  [ -e "$d" ] || continue
  for f in enter.sh node.xz; do [ -e "$d/$f" ] || { echo "$d/$f missing: ../shared/tools/gpu-host/pack.sh $d"; bad=1; }; done
done
for c in "${carry[@]}"; do
  case "$c" in
    */node_modules)
      [ -d "$c/koffi" ] || { echo "$c/koffi missing: npm install, then ../shared/tools/gpu-host/pack.sh ${c%/node_modules}"; bad=1; }
      [ -d "$c/webgpu" ] || echo "note: $c/webgpu missing (the WebGPU backend will be unavailable there)" ;;
  esac
done
for f in "${files[@]}"; do [ -e "$f" ] || { echo "missing: $f"; bad=1; }; done
[ $bad -eq 0 ] && echo "preflight: ok" || echo "preflight: NOT ready"
exit $bad
