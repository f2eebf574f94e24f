#!/usr/bin/env bash
# Session 19, helper h5, round 4 (docs/notes/cuda-hopper-decode.md, "Session 19 h5 round 4"): b=1's entry.
# (a) probe: harness.cu `tracecall` (-DMLA_SM90_TRACE build) with decode_sm90.cu's entry-chain stamps 96-103, the
#     library's call at b=1 s_k 32768 and b=128 s_k 1024 (16 rows), and the same call with the candidate decode
#     (TRACE_KERN=x11): the first item's entry step by step in one CTA's clock64 cycles.
# (b) candidate: VAR bit 8 (kNVarQTma, entries _x11 = the library's bits | 8): Q^T by nine TMA boxes the producer issues
#     before the CTA barrier and its first KV copy. Checked against float64 (CHECK_KERNEL=x11 check 12), then timed
#     against the library's call (`qtma`: copies rotated, 5 interleaved rounds, back to back and one at a time) at
#     b=1 s_k 32768, b=1 s_k 8192 and b=128 s_k 1024 h16.
# Prebuilt binaries (stage .devstage/s19-h5/r4: harness.xz, harness_trace.xz, UNPACKED.sha256); needs neither dist/cuda,
# build/ nor Node. From the merged tree's root on the GPU host, carrying .devstage/s19-h5/r4:
#   OUT=$OUT timeout 60 bash bench/cuda/hopper/s19_h5r4_slot.sh        (~15-30 s warm; budget 60 s)
# $OUT: log.txt (everything the rule reads), h5r4.tgz (full outputs and the per-CTA CSVs, _entry.csv among them).
# Last line: s19_h5r4_rule.py's SHIP x11 (...) or KEEP lib (...).
set -uo pipefail
OUT=${OUT:?}; S=$SECONDS; mkdir -p "$OUT"; : > "$OUT/log.txt"; ts() { echo "[+$((SECONDS - S))s] $*" | tee -a "$OUT/log.txt"; }
STAGE=${STAGE:-.devstage/s19-h5/r4}; W=/tmp/s19h5r4; rm -rf "$W"; mkdir -p "$W/lib" "$W/x11"
for b in harness harness_trace; do
  python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$STAGE/$b.xz" "$W/$b" \
    || { ts "stage: $b.xz missing"; echo "KEEP lib (stage incomplete)"; exit 1; }
  chmod +x "$W/$b"
done
(cd "$W" && sha256sum -c --quiet "$OLDPWD/$STAGE/UNPACKED.sha256") > "$W/sha.txt" 2>&1 && ts "stage: sha256 ok" \
  || { ts "stage: sha256 MISMATCH"; tee -a "$OUT/log.txt" < "$W/sha.txt"; echo "KEEP lib (stage sha256 mismatch)"; exit 1; }
H=$W/harness; HT=$W/harness_trace
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,temperature.gpu --format=csv,noheader 2>&1 | tee -a "$OUT/log.txt"
# The candidate against the float64 reference (bf16, 12 random cases), then the trace build (its stamps must not change a result).
said() { grep -i 'cases run' "$1" | tail -1 | grep . || tail -1 "$1"; } # the check's summary, or its last line (an error)
CHECK_KERNEL=x11 timeout -k 1 8 "$H" check 12 5 > "$W/check_x11.txt" 2>&1; ts "check x11 rc=$?: $(said "$W/check_x11.txt")"
timeout -k 1 8 "$HT" check 12 5 > "$W/check_trace.txt" 2>&1; ts "check trace build rc=$?: $(said "$W/check_trace.txt")"
XOK=0; grep -q 'cases run, 0 failed' "$W/check_x11.txt" && XOK=1
# (a) the entry chain, the library's call and the candidate's (the latter only if its check passed).
for cfg in "1 32768 16 1 7" "128 1024 16 1 5"; do
  set -- $cfg
  for k in lib x11; do
    [ $k = x11 ] && [ $XOK = 0 ] && { ts "tracecall $k $cfg skipped (check)"; continue; }
    TRACE_KERN=$k timeout -k 1 5 "$HT" tracecall $cfg "$W/$k" > "$W/tracecall_${k}_b$1.txt" 2>&1
    ts "tracecall $k $cfg rc=$?"
    grep -v '^  rep ' "$W/tracecall_${k}_b$1.txt" | sed "s/^/[$k b=$1] /" | tee -a "$OUT/log.txt"
  done
done
# (b) timing, lib against x11 (only if the check passed).
if [ $XOK = 1 ]; then
  for cfg in "1 32768 16 1 5" "1 8192 16 1 5" "128 1024 16 1 5"; do
    timeout -k 1 6 "$H" qtma $cfg > "$W/qtma_$(echo $cfg | tr ' ' _).txt" 2>&1; ts "qtma $cfg rc=$?"
    tee -a "$OUT/log.txt" < "$W/qtma_$(echo $cfg | tr ' ' _).txt"
  done
else
  ts "qtma skipped: the x11 check did not pass"
fi
tar czf "$OUT/h5r4.tgz" -C "$W" --exclude=harness --exclude=harness_trace . 2>/dev/null
ts "done"
python3 bench/cuda/hopper/s19_h5r4_rule.py "$OUT/log.txt" > "$W/rule.txt" 2>&1 || echo "KEEP lib (rule script failed: $(tail -1 "$W/rule.txt"))" >> "$W/rule.txt"
tee -a "$OUT/log.txt" < "$W/rule.txt"
