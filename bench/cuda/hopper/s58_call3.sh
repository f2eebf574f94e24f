#!/usr/bin/env bash
# Session 58, call 3: why MODEL1 CONFIG3 (64 heads, an extra cache, lengths) takes 1.06x the host plan's time with
# --device-plan (call 2: 130 against 122.5 us; the plan entry's 37 KB -> 10 KB changed nothing there, while the host plan
# gained 5-7 us when its pass lost its 37 KB in call 1). Session 56's build had dev = host = 124 on that row.
# (1) ncu gpu__time_duration of every kernel of the sparse table, host plan and --device-plan (kernels serialised: no PDL
#     overlap), 2 warm-up + 2 timed calls a row, with grid sizes to tell the rows apart;
# (2) host / device plan with PDL off (FLASHMLA_CUDA_PDL=0) and on, alternating.
# Predictions (written before the run): (1) the decode kernel's own time equal in both (+-1 %); the device plan adds
#     its merge (~5 us) and the plan pass (~2-3 us) where the host plan, with no split request, launches neither;
#     (2) with PDL off both slower, the gap about the same.
#   (here)   s29_pack .devstage/s58c2.tar.xz c1   (call 2's pack)
#   (device) ln -sfn .ghc .gpu-host && BUDGET=300 OUT=$OUT bash bench/cuda/hopper/s58_call3.sh > $OUT/log.txt 2>&1
source bench/cuda/hopper/s50_common.sh && PACK=.devstage/s58c2.tar.xz s50_setup c3 # (W, CLI, ts, lim)
nvidia-smi --query-gpu=name --format=csv,noheader
for arm in host: dev:--device-plan; do
  IFS=: read -r tag flag <<< "$arm"
  timeout -k 5 "$(lim 90)" ncu --metrics gpu__time_duration.sum --clock-control none --cache-control none --csv --print-units base \
    -k regex:"mla_" "${CLI[@]}" bench --mode sparse --backend cuda --dense-heads none --reps 2 --warmup 2 $flag -q > "$W/ncu-$tag.csv" 2> "$W/ncu-$tag.err"
  echo "ncu $tag rc $?"
  python3 - "$W/ncu-$tag.csv" <<'P'
import csv, sys
rows = [r for r in csv.reader(open(sys.argv[1])) if len(r) > 10]
head = rows[0]; k = head.index('Kernel Name'); v = head.index('Metric Value'); g = head.index('Grid Size')
seq = [(r[k], r[g], float(r[v].replace(',', '')) / 1e3) for r in rows[1:]]
print(f"  {len(seq)} launches")
# the MODEL1 64-head rows with an extra cache run mla_sparse_sm90_model1_bf16_sp; print each launch of the last 40
for name, grid, us in seq[-48:]: print(f"  {name:<40} {grid:<16} {us:8.2f} us")
P
done
for arm in host-pdl: dev-pdl:--device-plan host-nopdl: dev-nopdl:--device-plan; do
  IFS=: read -r tag flag <<< "$arm"
  pdl=; case $tag in *nopdl) pdl=0;; esac
  env ${pdl:+FLASHMLA_CUDA_PDL=$pdl} timeout -k 5 "$(lim 40)" "${CLI[@]}" bench --mode sparse --backend cuda --flush-mb 256 --rep-ms 40 --dense-heads none $flag \
    --out "$W/sp-$tag.json" > "$W/sp-$tag.txt" 2>&1
  echo "sparse $tag rc $?"
done
s50_sparse_rows sp-dev-pdl.json sp-host-pdl.json | grep CONFIG; echo; s50_sparse_rows sp-dev-nopdl.json sp-host-nopdl.json | grep CONFIG
ts "end"
tar czf "$OUT/s58c3.tgz" -C "$W" .
