#!/bin/bash
# Session 12 round 2 (h2), prepared for a later call (not run yet): where a key tile's cycles go, the wide kernel's
# library entry against FlashMLA 9241ae3's splitkv_mla_kernel, at s_k 8192 / 128 rows (b 128, h_q 128, s_q 1), one
# launch inside a sustained run (--launch-skip NCU_N after a warm launch and 500 ms idle), ncu sections
# WarpStateStats (stall reasons a warp), InstructionStats (instructions by opcode), ComputeWorkloadAnalysis (pipe
# utilisation: tensor), SchedulerStats (issue slots), --print-details all. Both kernels walk 128 x 128 x 2 = 32,768
# (64-row x 64-key) tiles, so totals / 32768 compare a tile directly (the combine kernels are not profiled).
#   bash bench/cuda/hopper/ncu_tile_s12.sh OUTDIR      (repository root on the GPU host; HG = folder of harness_gap)
set -u
S=$SECONDS; ts() { echo "[+$((SECONDS - S))s] $*"; }
O=${1:-${OUT:-./out}/ncu_tile}; mkdir -p "$O"
FMDIR=${FMDIR:-bench/cuda/hopper} # flashmla_gap.py (and flashmla_call.py beside it)
[ -f .gpu-host/enter.sh ] && source .gpu-host/enter.sh > /dev/null 2>&1 # the anchors' .so files
HG=${HG:-.devstage/h2-s12r2}; G=$HG/harness_gap
[ -f "$G" ] || { [ -f "$HG/harness_gap.gz" ] && mkdir -p /tmp/hg-ncu && gunzip -c "$HG/harness_gap.gz" > /tmp/hg-ncu/harness_gap && chmod +x /tmp/hg-ncu/harness_gap && G=/tmp/hg-ncu/harness_gap; }
SH=${SH:-128,8192,128,1}; n=${NCU_N:-200}
SEC="--section WarpStateStats --section InstructionStats --section ComputeWorkloadAnalysis --section SchedulerStats --section SpeedOfLight"
MET=sm__inst_executed.sum,sm__cycles_elapsed.max,gpu__time_duration.sum # (tensor-pipe use: ComputeWorkloadAnalysis's pipe table)
prof() { # name kernel-regex command...
  local name=$1 kre=$2; shift 2
  timeout ${NCU_S:-60} ncu $SEC --metrics $MET --print-details all --cache-control none --clock-control none -k regex:$kre --launch-skip $n --launch-count 1 "$@" > "$O/ncu_$name.log" 2>&1
  echo "ncu $name rc=$?"
}
prof lib sm90w "$G" b2bn ${SH//,/ } $((n + 10)) lib
ts "lib done"
prof fm splitkv_mla_kernel python3 "$FMDIR/flashmla_gap.py" --anchors .gpu-host/anchors --b2bn $((n + 10)) $SH
ts "fm done"
python3 - "$O" << 'PY' | tee "$O/summary.txt"
import re, sys, os
o = sys.argv[1]; tiles = 128 * 128 * 2
def grab(name):
    p = os.path.join(o, "ncu_%s.log" % name)
    if not os.path.exists(p): return {}
    d = {}
    for l in open(p, errors="replace"):
        m = re.match(r"\s{2,}(\S.*?)\s{2,}(\S+)\s+([\d.,]+)\s*$", l) or re.match(r"\s{2,}(\S.*?)\s{2,}([\d.,]+)\s*$", l)
        if m:
            key = m.group(1).strip(); val = m.group(m.lastindex).replace(",", "")
            try: d.setdefault(key, float(val))
            except ValueError: pass
    return d
a, b = grab("lib"), grab("fm")
keys = [k for k in a if k in b]
def row(k):
    x, y = a[k], b[k]
    print("ncu_tile %-70s lib %14.4g  fm %14.4g  lib/fm %.3f" % (k[:70], x, y, x / y if y else float("nan")))
for k in ["sm__inst_executed.sum", "sm__cycles_elapsed.max", "gpu__time_duration.sum"]:
    if k in a and k in b: row(k)
if "sm__inst_executed.sum" in a and "sm__inst_executed.sum" in b:
    print("ncu_tile warp instructions a tile: lib %.0f, fm %.0f" % (a["sm__inst_executed.sum"] / tiles, b["sm__inst_executed.sum"] / tiles))
for k in keys:
    if re.search(r"Stall|stall|Issue|Eligible|Active Warps|Pipe|Executed Ipc|Tensor|HGMMA|GMMA|BAR|SYNCS|LDS|STS|FFMA|FMUL|MUFU|UBLKCP|UTMA|Instructions", k): row(k)
PY
ts "end"
