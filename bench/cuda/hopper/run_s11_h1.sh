#!/usr/bin/env bash
# Session 11, helper h1 (issue #14): what the producer's shared-memory stores cost, ours against FlashMLA's, and the
# token-contiguous key tile (bits 31 / 32) against the shipped build. One device round, on the GPU host from the
# staged tree's root with .gpu-host entered, dist/cuda holding the shipped kernels, build/ compiled by tsc:
#   MODES="6510403592 ..." PROBES="..." NCU_MODES="6510403592" HB=dir OUT=$OUT bash bench/cuda/hopper/run_s11_h1.sh
#  1. sparse-sm90-final-ab.sh: the candidates of MODES checked (goldens + CASES random sm90 cases a format), then the
#     shipped build, the candidates that passed and the PROBES timed in one process on FlashMLA's 12 shapes;
#  2. ncu on V3.2 b64 h_q 128 s_q 2 topk 2048: FlashMLA's sparse kernel (flashmla_sparse_once.py, case 0), the
#     shipped build and NCU_MODES' builds (sparse-sm90-bench.js, shape 0), each with the same sections (speed of
#     light, memory tables, warp states, scheduler, instruction stats, pipes, source counters = stall samples and
#     executed instructions by SASS line) and the shared-memory store counters;
#  3. the ncu metric list's DSMEM / remote-shared counters (names printed) collected on FlashMLA and the shipped build;
#  4. cuobjdump -sass of the shipped and NCU_MODES' fatbins.
# Everything under $OUT: log.txt, ab.txt, the A/B JSON and final-ab.tgz, ncu.tgz (reports, details, raw csv, SASS
# csv), sass.tgz.
set -uo pipefail
OUT=${OUT:?}
F=${FLASHMLA_JSON:-results/gpu-host/bench/flashmla-sparse-h200-2026-11-30-s10-final.json}
S=$SECONDS; ts() { echo "[+$((SECONDS - S))s] $*" | tee -a "$OUT/log.txt"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv,noheader | tee -a "$OUT/log.txt"
ts "1. final A/B: modes ${MODES:-} probes ${PROBES:-}"
CASES=${CASES:-40} REPS=${REPS:-8} CHECK_TIMEOUT=${CHECK_TIMEOUT:-40} TIME_TIMEOUT=${TIME_TIMEOUT:-70} PROBES="${PROBES:-}" HB=${HB:-.devstage/hb} OUT=$OUT \
  timeout ${AB_TIMEOUT:-120} bash bench/cuda/hopper/sparse-sm90-final-ab.sh "$F" "${MODES:?}" > "$OUT/ab.txt" 2>&1
ts "A/B rc=$?"; grep -vE '^\s*(#|ok [0-9]+ - 200 random)' "$OUT/ab.txt" | tail -24 | tee -a "$OUT/log.txt"
N=$OUT/ncu; mkdir -p "$N"
m="l1tex__data_bank_conflicts_pipe_lsu_mem_shared_op_st.sum,l1tex__data_bank_conflicts_pipe_lsu_mem_shared_op_ld.sum,l1tex__data_pipe_lsu_wavefronts_mem_shared_op_st.sum,l1tex__data_pipe_lsu_wavefronts_mem_shared_op_ld.sum,smsp__sass_inst_executed_op_shared_st.sum,smsp__sass_inst_executed_op_shared_ld.sum,l1tex__data_pipe_lsu_wavefronts_mem_shared.sum,l1tex__throughput.avg.pct_of_peak_sustained_elapsed,gpu__time_duration.sum,smsp__inst_executed.sum,sm__cycles_elapsed.avg"
secs="--section SpeedOfLight --section MemoryWorkloadAnalysis_Tables --section WarpStateStats --section SchedulerStats --section InstructionStats --section ComputeWorkloadAnalysis --section SourceCounters"
summary() { # name
  ncu -i "$N/$1.ncu-rep" --print-details all > "$N/$1.details.txt" 2>&1
  ncu -i "$N/$1.ncu-rep" --page raw --csv > "$N/$1.raw.csv" 2>&1
  ncu -i "$N/$1.ncu-rep" --page source --csv --print-source sass > "$N/$1.sass.csv" 2>&1
  grep -E "Duration|bank_conflicts|wavefronts|inst_executed_op_shared|smsp__inst_executed.sum|L1/TEX Cache Throughput|Issue Slots Busy|No Eligible|Shared Store|Shared Load" "$N/$1.details.txt" | head -24 | tee -a "$OUT/log.txt"
}
ts "2a. ncu FlashMLA sparse, case 0 (V3.2 b64 s_q 2)"
timeout ${NCU_FM_S:-60} ncu --clock-control none -k regex:splitkv_mla_fp8_sparse --launch-skip 2 --launch-count 1 $secs --metrics "$m" -f -o "$N/flashmla" \
  python3 bench/cuda/hopper/flashmla_sparse_once.py --anchors .gpu-host/anchors --case 0 --calls 4 > "$N/flashmla.log" 2>&1
ts "ncu rc=$?"; summary flashmla
ts "2b. ncu shipped, shape 0"
timeout ${NCU_S:-50} ncu --clock-control none -k regex:mla_sparse_sm90 --launch-skip 3 --launch-count 1 $secs --metrics "$m" -f -o "$N/shipped" \
  node build/bench/cuda/hopper/sparse-sm90-bench.js "$F" --all --reps 2 --sm90-only --shape 0 > "$N/shipped.log" 2>&1
ts "ncu rc=$?"; summary shipped
for mm in ${NCU_MODES:-}; do
  d=/tmp/sab-m$mm; [ -d $d ] || continue
  ts "2c. ncu m$mm, shape 0"
  FLASHMLA_CUDA_KERNELS=$d timeout ${NCU_M_S:-45} ncu --clock-control none -k regex:mla_sparse_sm90 --launch-skip 3 --launch-count 1 $secs --metrics "$m" \
    -f -o "$N/m$mm" node build/bench/cuda/hopper/sparse-sm90-bench.js "$F" --all --reps 2 --sm90-only --shape 0 > "$N/m$mm.log" 2>&1
  ts "ncu rc=$?"; summary m$mm
done
if [ "${DSMEM:-1}" != 0 ]; then
  ts "3. DSMEM counters"
  ncu --query-metrics --chip gh100 > "$N/metric-list.txt" 2>&1
  dm=$(grep -iE 'dsmem|distributed|remote|shared_st_async|st_async' "$N/metric-list.txt" | awk '{print $1}' | grep -E '^(l1tex|smsp|sm|lts|gpc)__' | sed 's/$/.sum/' | paste -sd, -)
  echo "dsmem metrics: $dm" | tee -a "$OUT/log.txt"
  if [ -n "$dm" ]; then
    timeout ${NCU_D_S:-35} ncu --clock-control none -k regex:splitkv_mla_fp8_sparse --launch-skip 2 --launch-count 1 --metrics "$dm" --csv --page raw \
      python3 bench/cuda/hopper/flashmla_sparse_once.py --anchors .gpu-host/anchors --case 0 --calls 3 > "$N/dsmem-flashmla.csv" 2>&1; ts "rc=$?"
    timeout ${NCU_D_S:-35} ncu --clock-control none -k regex:mla_sparse_sm90 --launch-skip 3 --launch-count 1 --metrics "$dm" --csv --page raw \
      node build/bench/cuda/hopper/sparse-sm90-bench.js "$F" --all --reps 2 --sm90-only --shape 0 > "$N/dsmem-shipped.csv" 2>&1; ts "rc=$?"
    tail -3 "$N/dsmem-flashmla.csv" "$N/dsmem-shipped.csv" | cut -c1-1500 | tee -a "$OUT/log.txt"
  fi
fi
ts "4. SASS"
mkdir -p "$OUT/sass"
cuobjdump -sass dist/cuda/sparse_sm90.fatbin > "$OUT/sass/shipped.sass" 2>&1
for mm in ${NCU_MODES:-}; do [ -f /tmp/sab-m$mm/sparse_sm90.fatbin ] && cuobjdump -sass /tmp/sab-m$mm/sparse_sm90.fatbin > "$OUT/sass/m$mm.sass" 2>&1; done
tar czf "$OUT/ncu.tgz" -C "$OUT" ncu && rm -rf "$N"
tar czf "$OUT/sass.tgz" -C "$OUT" sass && rm -rf "$OUT/sass"
ts end
