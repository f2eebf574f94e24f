#!/usr/bin/env bash
# Session 19's dense FP8 threshold slot (helper s19-h3; <= 90 s warm, ~35-50 s expected): where a 16-row launch should
# leave the two-consumer n16 entry for the three-consumer n16w3 (denseFp8Sm90W3Tiles, dense-fp8-sm90-launch.ts; 48 tiles
# an SM part since session 18), for the shipped n16w3 code and for call A's v30788875748928 (its n16w3 with two-k-step
# S^T groups and whole-k-step O^T groups; n16 / n32 the shipped .text). docs/notes/cuda-dense-fp8.md, "Session 19
# (helper s19-h3)": the prediction and this rule, written before any run. From the merged tree's root on the GPU host
# with .gpu-host/enter.sh sourced, dist/cuda (the shipped fatbins) and build/ (tsc of main 778559e or later) in place,
# the stage in $HB (default .devstage/s19-h3: dense_fp8_sm90_v30788875748928.fatbin, sha256 in its README):
#   OUT=$OUT/h3 timeout 90 bash bench/cuda/dense-fp8/s19_h3.sh 2>&1 | tee $OUT/h3-s19.txt
# 1. Four kernel folders differing only in the manifest's denseFp8Sm90W3Tiles (and V's fatbin): shipped = dist/cuda
#    (48), n16 = dist/cuda with null (every 16-row launch on n16), sw3 = dist/cuda with 0 (every one on the shipped
#    n16w3), vw3 = V's fatbin with 0. Timed in one process (ab.js, interleaved rounds), twice (pass 1 with the bf16 path,
#    pass 2 in reverse build order without it), b = 128, s_k 1024 1536 2048 2560 3072 4096 8192 x 16 x 1 (15.5 .. 124
#    tiles an SM part).
# 2. Checks of vw3 (every 16-row launch on V's n16w3): pick-checks.sh pickChecks (240 dense90 cases, memcheck and
#    synccheck on 3 cases) and raceGate.
# 3. The rule (s19_h3_rule.py, in its header): the code (V or the shipped n16w3) and the threshold, from the two passes'
#    means. Last line `SHIP ...` or `KEEP ...`.
set -uo pipefail
OUT=${OUT:-/tmp}; mkdir -p "$OUT"
HB=${HB:-$PWD/.devstage/s19-h3}
V=30788875748928
T0=$SECONDS; el() { echo "[s19-h3 $((SECONDS - T0))s] $*"; }
here=$(dirname "${BASH_SOURCE[0]}")
VF=$HB/dense_fp8_sm90_v$V.fatbin
[ -f "$VF" ] || { echo "KEEP the shipped build (no $VF)"; exit 0; }
echo "v$V fatbin sha256 $(sha256sum "$VF" | cut -c1-16) (call A's: 66565229a3932f1b); vs dist/cuda: $(python3 scripts/compare-fatbins.py "$VF" dist/cuda/dense_fp8_sm90.fatbin 2>&1 | tail -1)"
mkfolder() { # DIR FATBIN W3TILES(json)
  rm -rf "$1"; mkdir -p "$1"; cp dist/cuda/* "$1/"; cp "$2" "$1/dense_fp8_sm90.fatbin"
  python3 - "$1" "$3" <<'PY'
import hashlib, json, sys
d = sys.argv[1]
j = json.load(open(d + "/manifest.json"))
j["files"]["dense_fp8_sm90.fatbin"] = hashlib.sha256(open(d + "/dense_fp8_sm90.fatbin", "rb").read()).hexdigest()
j["denseFp8Sm90Threads16"] = 384
j["denseFp8Sm90W3Tiles"] = json.loads(sys.argv[2])
json.dump(j, open(d + "/manifest.json", "w"), indent=1)
PY
}
mkfolder /tmp/h3-n16 dist/cuda/dense_fp8_sm90.fatbin null
mkfolder /tmp/h3-sw3 dist/cuda/dense_fp8_sm90.fatbin 0
mkfolder /tmp/h3-vw3 "$VF" 0
SH=1024x16x1,1536x16x1,2048x16x1,2560x16x1,3072x16x1,4096x16x1,8192x16x1
timeout -k 3 ${TIME_TIMEOUT:-30} node build/bench/cuda/dense-fp8/ab.js shipped=$PWD/dist/cuda n16=/tmp/h3-n16 sw3=/tmp/h3-sw3 vw3=/tmp/h3-vw3 \
  --shapes $SH --reps ${REPS:-20} --rounds ${ROUNDS:-5} --json "$OUT/pass1.json" > "$OUT/pass1.txt" 2>&1
el "pass 1 rc $?"
timeout -k 3 ${TIME_TIMEOUT:-30} node build/bench/cuda/dense-fp8/ab.js vw3=/tmp/h3-vw3 sw3=/tmp/h3-sw3 n16=/tmp/h3-n16 shipped=$PWD/dist/cuda \
  --no-bf16 --shapes $SH --reps ${REPS:-20} --rounds ${ROUNDS:-5} --json "$OUT/pass2.json" > "$OUT/pass2.txt" 2>&1
el "pass 2 rc $?"
grep -E '^# [0-9]+x' "$OUT/pass1.txt" "$OUT/pass2.txt" | sed 's/^.*pass/pass/'
ok=0
if grep -q '"vw3"' "$OUT/pass1.json" 2>/dev/null; then # V ran without hanging: its checks (gating V only)
  . "$here/pick-checks.sh"
  c=vw3 d=/tmp/h3-vw3
  SAN_CASES=3 pickChecks s19h3 "$c" "$d"
  raceGate
  el "checks of vw3 done (ok $ok)"
fi
python3 "$here/s19_h3_rule.py" "$OUT/pass1.json" "$OUT/pass2.json" "$ok"
