#!/usr/bin/env bash
# Session 10, helper h1 (issue #14): what separates sparse_sm90.cu from its consumers-alone pace (probe 188424) — the
# producer's conversions or its shared-memory stores? One device round, on the GPU host from the staged tree's root
# with .gpu-host entered, dist/cuda built (the shipped mode), build/ compiled by tsc:
#   MODES="2940936" PROBES="5038088 9232392 17621000 188424" HB=dir OUT=$OUT bash bench/cuda/hopper/run_s10_h1.sh
#  1. sparse-sm90-final-ab.sh: each candidate of MODES checked (goldens + CASES random sm90 cases a format), then the
#     shipped build, the candidates and the probes timed in one process on FlashMLA's 12 shapes;
#  2. ncu (NCU=1) on V3.2 b64 s_q 2 (shape 0): the shipped build with MemoryWorkloadAnalysis_Tables, WarpStateStats
#     and SourceCounters (stall samples by SASS line), and NCU_MODES' builds with the shared-store counters only;
#  3. cuobjdump -sass of the shipped and NCU_MODES' fatbins (instruction counts of the producer).
# Everything under $OUT: ab.txt, log.txt, ncu.tgz (reports, details, SASS csv), sass.tgz.
set -uo pipefail
OUT=${OUT:?}
F=${FLASHMLA_JSON:-results/gpu-host/bench/flashmla-sparse-h200-2026-11-30-s9-final.json}
S=$SECONDS; ts() { echo "[+$((SECONDS - S))s] $*" | tee -a "$OUT/log.txt"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv,noheader | tee -a "$OUT/log.txt"
if [ -n "${ODD_CHECK:-}" ]; then # the shipped build on the random sm90 V3.2 cases with odd (non-power-of-two) scales, as af5e7da writes them
  ts "0. shipped, V3.2 random sm90 cases with odd scales (${ODD_CHECK} cases)"
  FLASHMLA_GPU_SPARSE_CASES=0 FLASHMLA_GPU_SPARSE_SM90_CASES=$ODD_CHECK timeout 40 node --test --test-reporter=tap --test-name-pattern="hQ 64 / 128" \
    build/test/gpu/sparse.test.js > "$OUT/odd-shipped.tap" 2>&1
  ts "rc=$?"; grep -E "^# (pass|fail)|seed [0-9]+" "$OUT/odd-shipped.tap" | head -6 | tee -a "$OUT/log.txt"
fi
export FLASHMLA_TEST_V32_ODD_SCALES=${ODD_SCALES:-1} # inert since the merge: odd scales are checked against the bf16 reference on CUDA
ts "1. final A/B: modes ${MODES:-} probes ${PROBES:-} (odd V3.2 scales in the checks: $FLASHMLA_TEST_V32_ODD_SCALES)"
CASES=${CASES:-20} REPS=${REPS:-8} CHECK_TIMEOUT=${CHECK_TIMEOUT:-30} TIME_TIMEOUT=${TIME_TIMEOUT:-90} PROBES="${PROBES:-}" HB=${HB:-.devstage/hb} OUT=$OUT \
  timeout ${AB_TIMEOUT:-140} bash bench/cuda/hopper/sparse-sm90-final-ab.sh "$F" "${MODES:?}" > "$OUT/ab.txt" 2>&1
ts "A/B rc=$?"; tail -30 "$OUT/ab.txt" | tee -a "$OUT/log.txt"
N=$OUT/ncu; mkdir -p "$N"
if [ "${NCU:-1}" != 0 ]; then
  m="l1tex__data_bank_conflicts_pipe_lsu_mem_shared_op_st.sum,l1tex__data_bank_conflicts_pipe_lsu_mem_shared_op_ld.sum,l1tex__data_pipe_lsu_wavefronts_mem_shared_op_st.sum,l1tex__data_pipe_lsu_wavefronts_mem_shared_op_ld.sum,smsp__sass_inst_executed_op_shared_st.sum,smsp__sass_inst_executed_op_shared_ld.sum,l1tex__data_pipe_lsu_wavefronts_mem_shared.sum,l1tex__throughput.avg.pct_of_peak_sustained_elapsed,gpu__time_duration.sum"
  if [ "${NCU_SHIPPED:-1}" != 0 ]; then
  ts "2. ncu shipped, shape 0"
  timeout ${NCU_S:-75} ncu --clock-control none -k regex:mla_sparse_sm90 --launch-skip 3 --launch-count 1 --section MemoryWorkloadAnalysis_Tables \
    --section WarpStateStats --section SchedulerStats --section SourceCounters --metrics "$m" -f -o "$N/shipped" \
    node build/bench/cuda/hopper/sparse-sm90-bench.js "$F" --all --reps 2 --sm90-only --shape 0 > "$N/shipped.log" 2>&1
  ts "ncu rc=$?"
  ncu -i "$N/shipped.ncu-rep" --print-details all > "$N/shipped.details.txt" 2>&1
  ncu -i "$N/shipped.ncu-rep" --page raw --csv > "$N/shipped.raw.csv" 2>&1
  ncu -i "$N/shipped.ncu-rep" --page source --csv --print-source sass > "$N/shipped.sass.csv" 2>&1
  grep -E "Duration|bank_conflicts|wavefronts|inst_executed_op_shared|Shared|No Eligible|Issued Warp|Stall" "$N/shipped.details.txt" | head -40 | tee -a "$OUT/log.txt"
  fi
  for mm in ${NCU_MODES:-}; do
    d=/tmp/sab-m$mm; [ -d $d ] || continue
    ts "ncu m$mm (metrics, WarpStateStats, SourceCounters), shape 0"
    FLASHMLA_CUDA_KERNELS=$d timeout ${NCU_M_S:-40} ncu --clock-control none -k regex:mla_sparse_sm90 --launch-skip 3 --launch-count 1 --metrics "$m" \
      --section WarpStateStats --section SourceCounters \
      -f -o "$N/m$mm" node build/bench/cuda/hopper/sparse-sm90-bench.js "$F" --all --reps 2 --sm90-only --shape 0 > "$N/m$mm.log" 2>&1
    ts "ncu rc=$?"
    ncu -i "$N/m$mm.ncu-rep" --print-details all > "$N/m$mm.details.txt" 2>&1
    ncu -i "$N/m$mm.ncu-rep" --page source --csv --print-source sass > "$N/m$mm.sass.csv" 2>&1
    grep -E "Duration|bank_conflicts|wavefronts|inst_executed_op_shared|throughput" "$N/m$mm.details.txt" | head -12 | tee -a "$OUT/log.txt"
  done
fi
ts "3. SASS"
mkdir -p "$OUT/sass"
cuobjdump -sass dist/cuda/sparse_sm90.fatbin > "$OUT/sass/shipped.sass" 2>&1
for mm in ${NCU_MODES:-}; do [ -f /tmp/sab-m$mm/sparse_sm90.fatbin ] && cuobjdump -sass /tmp/sab-m$mm/sparse_sm90.fatbin > "$OUT/sass/m$mm.sass" 2>&1; done
for f in ${SASS_FATBINS:-}; do cuobjdump -sass "$f" > "$OUT/sass/$(basename "$f" .fatbin).sass" 2>&1; done
tar czf "$OUT/ncu.tgz" -C "$OUT" ncu && rm -rf "$N"
tar czf "$OUT/sass.tgz" -C "$OUT" sass && rm -rf "$OUT/sass"
ts end
