# nvidia-smi's clocks beside a bench (session 42, calls 5 and 8), sourced by a call script:
#   smi_start FILE [MS]  samples pstate, SM / memory clock, utilisation and power every MS (default 50) ms into FILE
#   smi_stop             ends the sampling; then python3 bench/cuda/hopper/smi_phases.py FILE BENCH-OUTPUT groups the
#                        samples by the bench's `phase NAME... ISO-TIME` lines
smi_start() { nvidia-smi --query-gpu=timestamp,pstate,clocks.sm,clocks.mem,utilization.gpu,power.draw --format=csv,noheader -lms "${2:-50}" > "$1" 2>&1 & SMI_PID=$!; }
smi_stop() { kill "$SMI_PID"; wait "$SMI_PID" 2>/dev/null; }
