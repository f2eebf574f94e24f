#!/bin/bash
# Session 11 round 4, helper h2 (the next session's first ~60 s slot): split the ~7.7 µs an item of the wide kernel
# spends beyond its key tiles (docs/notes/cuda-hopper-decode.md, "Session 11 round 4"). Measurement only: nothing
# ships and the library's kernels are byte-identical (the stamps exist only in harness_gap's MLA_SM90W_TRACE build).
#   bash bench/cuda/hopper/run_s11_h2r4.sh [outdir]      (repository root on the GPU host; enters .gpu-host itself)
# Binary: HG (default .devstage/h2-r4)/harness_gap, built off the device (nvcc 13, ~5 min on 2 cores):
#   nvcc -std=c++17 -O3 -Xptxas -warn-spills -gencode arch=compute_90a,code=sm_90a -lineinfo -o .devstage/h2-r4/harness_gap bench/cuda/hopper/harness_gap.cu
# Steps (~20 s):
#   1. gap   libtr+w (the library's x798 with the trace stamps; combineWarps) at b = 128, 128 rows, s_k 1024 and 4096:
#            GAP_N (100) launches back to back (short: the clock stays up), then the decode alone; the last launch's
#            trace: the phase line (round 2) and the item line (this round: keys, s0, pair0, pair, pairX, last, lastX,
#            wg1, srbar, srst, body, excess; harness_gap.cu traceSummary)
#   2. ab    lib+w against libtr+w at s_k 1024 / 128 rows (the stamps' own cost: the trace must not move the time)
#   3. the verdict: the largest of pairX / lastX / srbar / srst at s_k 1024 and the candidate it picks
set -u
S=$SECONDS
ts() { echo "[+$((SECONDS - S))s] $*"; }
O=${1:-${OUT:-./out}/h2r4}
mkdir -p "$O"
HG=${HG:-.devstage/h2-r4}
G=$HG/harness_gap
[ -f .gpu-host/enter.sh ] && source .gpu-host/enter.sh > /dev/null 2>&1
SHAPES=${SHAPES:-128,1024,128,1 128,4096,128,1}
echo "h2r4: $(nvidia-smi --query-gpu=name,clocks.sm,clocks.mem,temperature.gpu,power.draw --format=csv,noheader 2>/dev/null)"
ls -la "$G" || { echo "h2r4: no harness at $G"; exit 2; }
chmod +x "$G" 2> /dev/null
for s in $SHAPES; do
  GAP_SINGLE=0 GAP_KERNELS=${K:-libtr+w} GAP_N=${GAP_N:-100} timeout ${GAP_S:-10} $G gap ${s//,/ } > "$O/gap_$s.txt" 2>&1
  echo "gap $s rc=$?"
  grep -E ' b2b n=| b2b-nocombine decode| b2b-last: (ctas|phases_us|item_cyc)' "$O/gap_$s.txt" | cut -c1-400
done
ts "gap done"
if [ "${AB:-1}" = 1 ]; then
  AB_KERNELS="lib+w libtr+w" ROUNDS=${ROUNDS:-3} timeout ${AB_S:-8} $G ab 128 1024 128 1 2>&1 | grep '^ab' | tee "$O/ab.txt"
  ts "ab done"
fi
python3 - "$O" $SHAPES << 'EOF' | tee "$O/summary.txt"
import os, re, sys
out, shapes = sys.argv[1], sys.argv[2:]
def item(sh):
    p = os.path.join(out, "gap_%s.txt" % sh)
    t = open(p).read() if os.path.exists(p) else ""
    line = next((l for l in t.splitlines() if " b2b-last: item_cyc" in l), "")
    return {k: (float(c), float(u)) for k, c, u in re.findall(r" (\w+)=(-?[\d.]+)/(-?[\d.]+)", line)}
for sh in shapes:
    v = item(sh)
    if not v:
        print("h2r4 item %s: no item line" % sh); continue
    print("h2r4 item %s (us): body %.2f = pairs x pair %.3f + excess %.2f; excess = pairX %.2f + lastX %.2f + srbar %.2f + srst %.2f; "
          "keys %.2f s0 %.2f wg1 %+.2f" % (sh, v["body"][1], v["pair"][1], v["excess"][1], v["pairX"][1], v["lastX"][1], v["srbar"][1],
                                         v["srst"][1], v["keys"][1], v["s0"][1], v["wg1"][1]))
ab = open(os.path.join(out, "ab.txt")).read() if os.path.exists(os.path.join(out, "ab.txt")) else ""
m = re.search(r"\| \S+ (\S+) us \S+ \| \S+ (\S+) us (\S+)", ab)
if m:
    print("h2r4 stamps' cost s_k 1024/128 rows: lib+w %s us, libtr+w %s us, lib/tr %s (ok if >= 0.98)" % m.groups())
v = item(shapes[0]) if shapes else {}
if v:
    parts = {"pairX": v["pairX"][1], "lastX": v["lastX"][1], "srbar": v["srbar"][1], "srst": v["srst"][1]}
    big = max(parts, key=parts.get)
    if big == "pairX":
        pick = ("the first keys are late: the producer fetches the next item's first two tiles before storeRows" if v["keys"][1] > 0.5 * parts["pairX"]
                else "the first pair's pipeline fill (S0 waited alone): issue the first S of both tiles before any wait")
    elif big == "lastX":
        pick = "the last pair's drain (its P.V waited, V released late): overlap it with storeRows' row sums"
    elif big == "srbar":
        pick = "storeRows waits for warpgroup 1 (row sums): publish l earlier / overlap the next item's first S"
    else:
        pick = "storeRows' global stores: overlap them with the next item's first S (row arrays double-buffered)"
    print("h2r4 verdict s_k 1024: largest piece %s = %.2f us of excess %.2f (%s) -> next candidate: %s" % (
        big, parts[big], v["excess"][1], ", ".join("%s %.2f" % kv for kv in parts.items()), pick))
print("h2r4 ship rule: nothing ships from this slot (harness only; library kernels byte-identical); the verdict picks the next candidate")
EOF
ts "end"
