#!/bin/bash
# ncu of the >= 64-row kernel (harness_wide `once`) and of FlashMLA's dense decode kernel (flashmla_once.py) on the
# same shapes, with the sections that say where the issue slots go: SpeedOfLight, WarpStateStats, SchedulerStats,
# InstructionStats, ComputeWorkloadAnalysis (pipe utilisation) and SourceCounters (stall sampling by instruction).
#   BIN=harness_wide OUT=dir bash bench/cuda/hopper/run_profile.sh "b,s_k,h_q,s_q ..."   (GPU host, repo root, .gpu-host entered)
# Writes $OUT/ncu/{NAME}.ncu-rep and, from each, NAME.details.txt (--print-details all), NAME.raw.csv (every metric
# collected) and NAME.sass.csv (the source page: SASS with its stall samples).
set -u
here=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-./out}; mkdir -p "$OUT/ncu"
bin=${BIN:-/tmp/harness_wide}
shapes=${1:-"128,8192,128,1 128,8192,128,2"}
secs="--clock-control none --section SpeedOfLight --section WarpStateStats --section SchedulerStats --section InstructionStats --section ComputeWorkloadAnalysis --section SourceCounters --import-source yes"
export_rep() { # name
  local r="$OUT/ncu/$1.ncu-rep"
  [ -f "$r" ] || { echo "no report $r"; return; }
  ncu -i "$r" --print-details all > "$OUT/ncu/$1.details.txt" 2>&1
  ncu -i "$r" --page raw --csv > "$OUT/ncu/$1.raw.csv" 2>&1
  ncu -i "$r" --page source --csv --print-source sass > "$OUT/ncu/$1.sass.csv" 2>&1
  grep -E "Duration|Compute \(SM\) Throughput|Issue Slots Busy|Issued Ipc Active|No Eligible|Warp Cycles Per Issued|One or More Eligible" "$OUT/ncu/$1.details.txt" | head -12
}
for s in $shapes; do
  name=sm90w${KERNEL:+_$KERNEL}_${s//,/_}
  timeout ${NCU_S:-60} ncu $secs -k regex:sm90w --launch-skip 1 --launch-count 1 -f -o "$OUT/ncu/$name" $bin once ${s//,/ } ${KERNEL:-} > "$OUT/ncu/$name.log" 2>&1; echo "$name rc=$?"
  export_rep $name
done
[ -n "${NO_FLASHMLA:-}" ] && exit 0 # NO_FLASHMLA=1: the sm90w kernel only (KERNEL=x0..x24 picks a harness variant)
n=$(echo $shapes | wc -w)
timeout ${NCU_FM_S:-120} ncu $secs -k regex:splitkv_mla_kernel --launch-skip 1 --launch-count $n -f -o "$OUT/ncu/flashmla" python3 "$here/flashmla_once.py" --anchors .gpu-host/anchors $shapes > "$OUT/ncu/flashmla.log" 2>&1; echo "flashmla rc=$?"
export_rep flashmla
