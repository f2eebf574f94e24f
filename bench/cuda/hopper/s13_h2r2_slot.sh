#!/bin/bash
# Session 13 round 2 (h2): kVarPAReg in the wide dense kernel (decode_sm90_wide.cu; harness entries pa = lib + it, patr
# its trace twin). Predictions and the ship rule were written before any run in docs/notes/cuda-hopper-decode.md,
# "Session 13 round 2 (h2)". From the merged tree's root on the GPU host (.gpu-host/enter.sh sourced or present):
#   bash .devstage/s13-h2-r2/s13_h2r2_slot.sh $OUT/h2r2     (carry [".gpu-host", ".devstage/s13-h2-r2"]; ~40-60 s (call A: checks ~8 s, A/B ~20 s);
#                                                           run timeout 150; HG = folder of harness_gap.gz, default
#                                                           the script's own)
# 1. in parallel: checks of pa+w (random cases against the float64 reference, bf16 and f16; 2 processes), a Q_SCALE 4
#    check of pa+w and of lib+w on the same seed (scores spread wider: the running max moves more often, so P_A' = c P_A
#    is rounded twice on more pairs; the worst rel of the two is compared), memcheck of pa+w (2 cases).
# 2. (checks clean) abb, short interleaved bursts, lib+w / pa+w at b 128, s_k 1024 / 4096 / 8192 x 128 / 256 rows
#    and a 64-row control.
# 3. (informative, no part of the rule: the probe of the hand-off waits) gap with the clock64 stamps: libtr+w / patr+w
#    at s_k 8192 / 128 rows: "tile=" (us a tile), "pair=" (SM cycles of a middle pair) and "waits_cyc_a_pair":
#    warpgroup 0 on barrier 2 (P_B, c), warpgroup 1 on barrier 1 (P_A, m_A), warpgroup 1's first wgmma wait after it
#    (lib: the drain of P_A V_A[R] before P_B is stored; pa: wait_group 1), cycles a pair and % of the pair.
# 4. "h2r2 rule pa: SHIP ..." or "h2r2 rule pa: KEEP ..." (the last line).
set -u
S=$SECONDS; ts() { echo "[+$((SECONDS - S))s] $*"; }
O=${1:-${OUT:-./out}/h2r2}; mkdir -p "$O"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HG=${HG:-$HERE}
[ -f .gpu-host/enter.sh ] && source .gpu-host/enter.sh > /dev/null 2>&1
G=/tmp/hg-s13h2r2/harness_gap; mkdir -p /tmp/hg-s13h2r2
if [ -f "$HG/harness_gap.gz" ]; then gunzip -c "$HG/harness_gap.gz" > $G; else cp "$HG/harness_gap" $G; fi
chmod +x $G || { echo "h2r2: no harness at $HG"; echo "h2r2 rule pa: KEEP (no harness)"; exit 2; }
echo "h2r2: $(sha256sum $G | cut -c1-16) $(nvidia-smi --query-gpu=name,clocks.sm,temperature.gpu,power.draw --format=csv,noheader 2>/dev/null)"

# 1. checks and memcheck, in parallel
pids=""
for i in 1 2; do
  ( CHECK_KERNEL=pa+w CHECK_CHUNK=5 timeout ${CHECK_S:-35} $G check ${CHECK_N:-25} $((70 + i)) > "$O/check_pa_$i.log" 2>&1; echo "rc=$?" >> "$O/check_pa_$i.log" ) &
  pids="$pids $!"
done
for k in pa lib; do
  ( Q_SCALE=4 CHECK_KERNEL=$k+w CHECK_CHUNK=5 timeout ${CHECK_S:-35} $G check ${CHECK_N:-25} 75 > "$O/checkq4_$k.log" 2>&1; echo "rc=$?" >> "$O/checkq4_$k.log" ) &
  pids="$pids $!"
done
( CHECK_KERNEL=pa+w timeout ${SAN_S:-40} compute-sanitizer --tool memcheck $G check 2 81 > "$O/memcheck.log" 2>&1; echo "rc=$?" >> "$O/memcheck.log" ) &
pids="$pids $!"
wait $pids
sumline() { cat "$@" | grep -o '[0-9]* cases run, [0-9]* failed, worst rel [0-9.e+-]*' | awk '{ r += $1; f += $4; w = ($8 + 0 > w) ? $8 + 0 : w } END { printf "%d cases, %d failed, worst rel %.3e", r, f, w }'; }
{
  echo "check pa+w: $(sumline "$O"/check_pa_*.log); f16 ok: $(cat "$O"/check_pa_*.log | grep -c '^ok.* f16 '); $(grep -h '^rc=' "$O"/check_pa_*.log | tr '\n' ' ')$(grep -h -m2 '^FAIL' "$O"/check_pa_*.log | head -2 | tr '\n' ' ')"
  echo "checkq4 pa+w: $(sumline "$O/checkq4_pa.log"); $(grep -h '^rc=' "$O/checkq4_pa.log")$(grep -h -m2 '^FAIL' "$O/checkq4_pa.log" | tr '\n' ' ')"
  echo "checkq4 lib+w: $(sumline "$O/checkq4_lib.log"); $(grep -h '^rc=' "$O/checkq4_lib.log")"
  echo "memcheck pa+w: $(grep -h 'ERROR SUMMARY\|cases run' "$O/memcheck.log" | tr '\n' ' ') $(grep -h '^rc=' "$O/memcheck.log")"
} | tee "$O/check.txt"
ts "checks done"

# 2. A/B
if grep -qE '^check pa\+w: [1-9][0-9]* cases, 0 failed' "$O/check.txt" || [ "${FORCE:-0}" = 1 ]; then
  for s in ${AB_SHAPES:-128,8192,128,1 128,8192,128,2 128,4096,128,1 128,4096,128,2 128,1024,128,1 128,1024,128,2 128,4096,64,1}; do
    AB_KERNELS="${AB_K:-lib+w pa+w}" IDLE_MS=${IDLE_MS:-100} ROUNDS=${ROUNDS:-12} timeout ${AB_S:-12} $G abb ${s//,/ } 2>&1 | grep '^abb' | tee -a "$O/ab.txt"
  done
  ts "ab done"
else
  echo "h2r2: pa check not clean: no A/B"
fi

# 3. the stamps (informative)
if [ "${TRACE:-1}" = 1 ] && [ -s "$O/ab.txt" ]; then
  GAP_SINGLE=0 GAP_KERNELS="libtr+w patr+w" GAP_N=${GAP_N:-60} timeout ${GAP_S:-15} $G gap 128 8192 128 1 > "$O/gap.txt" 2>&1
  grep -E 'phases_us|item_cyc|waits_cyc_a_pair' "$O/gap.txt" | sed 's/^/h2r2 /'
  ts "gap done"
fi

# 4. the rule (written before any run, in the note)
python3 - "$O" << 'PY' | tee "$O/summary.txt"
import os, re, sys
o = sys.argv[1]
rd = lambda f: open(os.path.join(o, f)).read() if os.path.exists(os.path.join(o, f)) else ""
ab, chk = rd("ab.txt"), rd("check.txt")
rows = []
for l in ab.splitlines():
    m = re.search(r"s_k=(\d+),h_q=\d+,s_q=\d+ rows=(\d+)", l)
    ks = re.findall(r"\| (\S+) ([\d.]+) us ([\d.]+)", l)
    if m and len(ks) >= 2:
        rows.append((int(m.group(2)), int(m.group(1)), float(ks[0][1]), float(ks[1][1]), float(ks[1][2])))
for r, sk, a, b, x in rows:
    print("h2r2 A/B rows %d s_k %d: lib+w %.1f us, pa+w %.1f us, lib/pa %.3f" % (r, sk, a, b, x))
def worst(tag):
    m = re.search(re.escape(tag) + r": (\d+) cases, (\d+) failed, worst rel ([0-9.e+-]+)", chk)
    return (int(m.group(1)), int(m.group(2)), float(m.group(3))) if m else None
c, q4, q4l = worst("check pa+w"), worst("checkq4 pa+w"), worst("checkq4 lib+w")
mem = re.search(r"memcheck pa\+w: .* [1-9]\d* cases run, 0 failed.*ERROR SUMMARY: 0 errors.*rc=0", chk) is not None
rcs = re.findall(r"rc=(\d+)", chk)
clean = bool(c and c[0] >= 20 and c[1] == 0 and q4 and q4[0] >= 10 and q4[1] == 0 and q4l and q4[2] <= max(1.5 * q4l[2], 3e-3) and mem) and all(v == "0" for v in rcs)
wide = [x for r, sk, a, b, x in rows if r >= 128]
allq = [x for r, sk, a, b, x in rows]
ok = clean and len(wide) == 6 and min(wide) >= 1.01 and len(allq) == 7 and min(allq) >= 0.997
print("h2r2 rule pa: %s (checks clean %s: pa %s, Q_SCALE 4 pa %s vs lib %s, memcheck %s; 128/256-row rows %d, min %s (each >= 1.010); all rows min %s (each >= 0.997)) -> %s" % (
    "SHIP" if ok else "KEEP", clean, c, q4, q4l, mem, len(wide), "%.3f" % min(wide) if wide else "-", "%.3f" % min(allq) if allq else "-",
    "library bits x26739486 (kLibVar | kVarPAReg)" if ok else "library bits stay x9962270"))
PY
ts "end"
