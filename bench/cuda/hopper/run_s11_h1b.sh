#!/usr/bin/env bash
# Session 11, helper h1, second round (issue #14): the mode to ship, 2215436296 (bit 31 alone: the pair entries'
# token-contiguous key tile; its pair entries' PTX is 6510403592's, its one-CTA entries' PTX the shipped build's),
# against the shipped build, with the consumers-alone probes of both layouts; then its DSMEM counters and memcheck.
# GPU host, staged tree's root, .gpu-host entered, dist/cuda = the shipped kernels, build/ by tsc:
#   MODES="2215436296" PROBES="68083720 6510534664" HB=dir OUT=$OUT bash bench/cuda/hopper/run_s11_h1b.sh
set -uo pipefail
OUT=${OUT:?}
F=${FLASHMLA_JSON:-results/gpu-host/bench/flashmla-sparse-h200-2026-11-30-s10-final.json}
S=$SECONDS; ts() { echo "[+$((SECONDS - S))s] $*" | tee -a "$OUT/log.txt"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv,noheader | tee -a "$OUT/log.txt"
ts "1. final A/B: modes ${MODES:?} probes ${PROBES:-}"
CASES=${CASES:-60} REPS=${REPS:-8} CHECK_TIMEOUT=${CHECK_TIMEOUT:-40} TIME_TIMEOUT=${TIME_TIMEOUT:-60} PROBES="${PROBES:-}" HB=${HB:-.devstage/hb} OUT=$OUT \
  timeout ${AB_TIMEOUT:-105} bash bench/cuda/hopper/sparse-sm90-final-ab.sh "$F" "$MODES" > "$OUT/ab.txt" 2>&1
ts "A/B rc=$?"; grep -vE '^\s*(#|ok [0-9]+ - 200 random)' "$OUT/ab.txt" | tail -24 | tee -a "$OUT/log.txt"
m1=${MODES%% *}; d=/tmp/sab-m$m1
if [ -d $d ]; then
  ts "2. DSMEM / shared-store counters, m$m1, shape 0"
  dm="l1tex__m_l1tex2xbar_write_sectors_mem_dshared_op_st.sum,l1tex__m_l1tex2xbar_write_bytes_mem_dshared_op_st.sum,l1tex__t_output_wavefronts_pipe_lsu_mem_dshared_op_st.sum,l1tex__t_set_accesses_pipe_lsu_mem_dshared_op_st.sum,l1tex__t_set_conflicts_pipe_lsu_mem_dshared_op_st.sum,smsp__sass_inst_executed_op_dshared_stas.sum,l1tex__data_pipe_lsu_wavefronts_mem_shared_op_st.sum,l1tex__data_bank_conflicts_pipe_lsu_mem_shared_op_st.sum,l1tex__data_pipe_lsu_wavefronts_cmd_write.sum,gpu__time_duration.sum"
  FLASHMLA_CUDA_KERNELS=$d timeout ${NCU_D_S:-30} ncu --clock-control none -k regex:mla_sparse_sm90 --launch-skip 3 --launch-count 1 --metrics "$dm" \
    node build/bench/cuda/hopper/sparse-sm90-bench.js "$F" --all --reps 2 --sm90-only --shape 0 > "$OUT/dsmem-m$m1.txt" 2>&1
  ts "ncu rc=$?"; grep -E "__" "$OUT/dsmem-m$m1.txt" | tee -a "$OUT/log.txt"
  ts "3. memcheck, m$m1, 2 + 2 random sm90 cases at h_q 128 (the pair entries)"
  FLASHMLA_CUDA_KERNELS=$d FLASHMLA_GPU_SPARSE_CASES=0 FLASHMLA_GPU_SPARSE_SM90_CASES=2 FLASHMLA_GPU_SPARSE_SM90_HQ=128 FLASHMLA_GPU_SPARSE_SM90_SEED=500 \
    timeout ${SAN_S:-40} compute-sanitizer --tool memcheck --target-processes all --print-limit 10 node --test --test-reporter=tap \
    --test-name-pattern="hQ 64 / 128" build/test/gpu/sparse.test.js > "$OUT/memcheck-m$m1.txt" 2>&1
  ts "memcheck rc=$?"; grep -E "ERROR SUMMARY|^# (pass|fail)|not ok" "$OUT/memcheck-m$m1.txt" | head -6 | tee -a "$OUT/log.txt"
fi
ts end
