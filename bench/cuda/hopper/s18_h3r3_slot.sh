#!/usr/bin/env bash
# Session 18 round 3, helper h3 (docs/notes/cuda-hopper-decode.md, "Session 18 round 3 (h3r3)"): a measurement only.
# One library call (the decode, then the library's combine, no PDL) traced per CTA on one time axis, the cache cold
# (copies rotated), at b=1 s_k 32768 16 rows (7 reps) and b=128 s_k 1024 16 rows (5 reps): harness.cu `tracecall`,
# prebuilt with -DMLA_SM90_TRACE (the shipped kernels' source plus the trace stamps; their library builds are
# byte-identical to main's dist/cuda) and staged as .devstage/s18-h3/harness_trace.xz. Needs no dist/cuda, build/ or
# Node: the binary and the CUDA driver. From the merged tree's root on the GPU host:
#   OUT=$OUT timeout 60 bash bench/cuda/hopper/s18_h3r3_slot.sh        (~15-25 s warm; budget 60 s)
# $OUT: log.txt (everything below), h3r3.tgz (per-CTA and per-tile CSVs, the two runs' full output).
# Last line: KEEP lib (trace) (nothing ships from this slot).
set -uo pipefail
OUT=${OUT:?}; S=$SECONDS; ts() { echo "[+$((SECONDS - S))s] $*" | tee -a "$OUT/log.txt"; }
STAGE=${STAGE:-.devstage/s18-h3}; W=/tmp/s18h3r3; rm -rf "$W"; mkdir -p "$W/csv"
export PATH="$PATH:/usr/local/cuda/bin"
HT=$W/harness_trace
python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$STAGE/harness_trace.xz" "$HT" \
  || { ts "stage: harness_trace.xz missing"; echo "KEEP lib (trace: stage incomplete)"; exit 1; }
chmod +x "$HT"
(cd "$W" && sha256sum -c --quiet "$OLDPWD/$STAGE/UNPACKED_R3.sha256") > "$W/sha.txt" 2>&1 && ts "stage: sha256 ok ($(sha256sum < "$HT" | cut -c1-16))" \
  || { ts "stage: sha256 MISMATCH"; cat "$W/sha.txt" | tee -a "$OUT/log.txt"; echo "KEEP lib (trace: stage sha256 mismatch)"; exit 1; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,temperature.gpu --format=csv,noheader 2>&1 | tee -a "$OUT/log.txt"
# The traced build against the float64 reference first (its own random cases; the stamps must not change a result).
timeout -k 2 10 "$HT" check 12 5 > "$W/check.txt" 2>&1; ts "check (trace build, 12 random cases) rc=$?: $(grep -i 'failed\|cases' "$W/check.txt" | tail -1)"
for cfg in "1 32768 16 1 7" "128 1024 16 1 5"; do
  set -- $cfg
  timeout -k 3 20 "$HT" tracecall $cfg "$W/csv" > "$W/tracecall_b$1.txt" 2>&1
  ts "tracecall $cfg rc=$?"
  grep -v '^  rep ' "$W/tracecall_b$1.txt" | tee -a "$OUT/log.txt"
done
tar czf "$OUT/h3r3.tgz" -C "$W" --exclude=harness_trace . 2>/dev/null
ts "done"
echo "KEEP lib (trace)"
