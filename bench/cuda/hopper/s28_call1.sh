#!/usr/bin/env bash
# Session 28, call 1 (H200; docs/notes/sanitizers.md): (1) racecheck_probe.cu's hand-off forms, a racecheck process a
# mode; (2) racecheck through the library on the shipped kernels (dist/cuda) and on their verification build
# (dist-strict/cuda: build-kernels --define MLA_RACECHECK_STRICT), the >= 64-row kernel, the <= 32-row kernel, sparse
# and dense FP8 paths; (3) the combine hold-out (one warp a row against the CTA merge near launch.ts's bounds).
# Predictions and rules: results/gpu-host/bench/hopper/s28/predictions.txt. From the tree's root with .gpu-host (node,
# koffi) and .devstage/s28c1.tar.xz carried (build/ = tsc of the tree, dist/cuda = the sm_90a fatbins of the tree,
# strict/ = the two fatbins the define changes and its manifest; packed, as the 64 MiB a call carries do not hold them
# beside node):
#   OUT=$OUT bash bench/cuda/hopper/s28_call1.sh
set -uo pipefail
[ -f .devstage/s28c1.tar.xz ] && { python3 -c 'import lzma,tarfile,sys; tarfile.open(fileobj=lzma.open(sys.argv[1])).extractall(".devstage/s28")' .devstage/s28c1.tar.xz
  rm -rf build dist-strict; mkdir -p dist dist-strict/cuda; mv .devstage/s28/build build; rm -rf dist/cuda; mv .devstage/s28/dist/cuda dist/cuda
  cp dist/cuda/*.fatbin dist-strict/cuda/ && cp .devstage/s28/strict/* dist-strict/cuda/; }
source .gpu-host/enter.sh >/dev/null
export FLASHMLA_CUDA_KERNELS=dist/cuda
OUT=${OUT:-/tmp/s28}; mkdir -p "$OUT"
T0=$(date +%s); ts() { echo "[$(( $(date +%s) - T0 ))s] $*"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu --format=csv,noheader
CLI=(node scripts/flashmla-dist.mjs build/src)
for d in dist/cuda dist-strict/cuda; do for f in decode_sm90_wide sparse_sm90; do
  s=$(cuobjdump -sass "$d/$f.fatbin" 2>/dev/null); echo "$d/$f: BAR.ARV $(grep -c 'BAR.ARV' <<<"$s"), BAR.SYNC $(grep -c 'BAR.SYNC' <<<"$s")"
done; done

# (1) the probe, every mode in its own process, side by side
nvcc -std=c++17 -O3 -gencode arch=compute_90a,code=sm_90a -o "$OUT/rprobe" bench/cuda/hopper/racecheck_probe.cu || echo "probe build failed"
for m in 0 2 3 4 5 6 7 8 9 10; do
  ( PROBE_MODE=$m timeout -k 5 60 compute-sanitizer --tool racecheck --racecheck-report all "$OUT/rprobe" > "$OUT/probe-$m.txt" 2>&1 ) &
done
wait
for m in 0 2 3 4 5 6 7 8 9 10; do echo "probe $m: $(grep -E 'probe mode' "$OUT/probe-$m.txt" | head -1) | $(grep -E 'RACECHECK SUMMARY' "$OUT/probe-$m.txt" | tail -1)"; done
ts "probe done"

# (2) racecheck through the library, both builds side by side
cat > "$OUT/wide.json" <<'J'
[{"b": 1, "s_k": 8192, "h_q": 64, "s_q": 1}, {"b": 16, "s_k": 1024, "h_q": 64, "s_q": 1}, {"b": 2, "s_k": 1024, "h_q": 128, "s_q": 2}]
J
cat > "$OUT/narrow.json" <<'J'
[{"b": 4, "s_k": 2048, "h_q": 16, "s_q": 1}, {"b": 2, "s_k": 1024, "h_q": 32, "s_q": 1}]
J
BQ=(bench --backend cuda --reps 1 --warmup 0 --warm-ms 0 --idle-warm-ms 0 --check 2 --rotate-mb 1 -q)
san() { # tag kernels-dir seconds command...
  local tag=$1 k=$2 t=$3; shift 3
  ( FLASHMLA_CUDA_KERNELS=$k timeout -k 5 "$t" compute-sanitizer --tool racecheck --print-limit 200 "$@" > "$OUT/rc-$tag.txt" 2>&1; echo "exit $?" >> "$OUT/rc-$tag.txt" ) &
}
for b in ship strict; do
  k=dist/cuda; [ $b = strict ] && k=dist-strict/cuda
  san "wide-$b" $k 170 "${CLI[@]}" "${BQ[@]}" --configs "$OUT/wide.json" --out "$OUT/wide-$b.json"
  san "sparse-$b" $k 170 node build/test/gpu/sparse-count.js 2 cuda random,heads
  san "dense90-$b" $k 170 node build/test/gpu/sparse-count.js 1 cuda dense90
done
san narrow-ship dist/cuda 170 "${CLI[@]}" "${BQ[@]}" --configs "$OUT/narrow.json" --out "$OUT/narrow-ship.json"
wait
ts "racecheck runs done"
for f in "$OUT"/rc-*.txt; do
  echo "== $(basename "$f" .txt): $(grep -E 'RACECHECK SUMMARY' "$f" | tail -1) $(tail -1 "$f") | $(grep -E 'pass \(|checked|cos' "$f" | head -3 | tr '\n' ' ')"
done
python3 bench/cuda/hopper/s28_race_classes.py "$OUT"/rc-*.txt | tee "$OUT/race-classes.txt"
for b in ship strict; do [ -f "$OUT/wide-$b.json" ] && python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(sys.argv[1], [(r['kernel'], r['check']['ok']) for r in d['rows']])" "$OUT/wide-$b.json"; done

# (3) the combine hold-out: one warp a row (=warps) against the CTA merge (=cta), and the library's pick, interleaved
cat > "$OUT/holdout.json" <<'J'
[{"b": 9, "s_k": 1536, "h_q": 16, "s_q": 1}, {"b": 9, "s_k": 4096, "h_q": 16, "s_q": 1}, {"b": 10, "s_k": 3000, "h_q": 16, "s_q": 1},
 {"b": 6, "s_k": 2048, "h_q": 16, "s_q": 2}, {"b": 8, "s_k": 8192, "h_q": 16, "s_q": 2}, {"b": 7, "s_k": 2048, "h_q": 16, "s_q": 2},
 {"b": 9, "s_k": 5000, "h_q": 16, "s_q": 1}, {"b": 8, "s_k": 1536, "h_q": 16, "s_q": 1}, {"b": 6, "s_k": 8192, "h_q": 16, "s_q": 2},
 {"b": 7, "s_k": 12288, "h_q": 16, "s_q": 2}, {"b": 4, "s_k": 4096, "h_q": 32, "s_q": 2}, {"b": 5, "s_k": 4096, "h_q": 32, "s_q": 2}]
J
i=0
for arm in warps cta lib cta warps lib; do
  i=$((i + 1))
  env_=(); [ $arm != lib ] && env_=(FLASHMLA_CUDA_COMBINE=$arm)
  env "${env_[@]}" timeout -k 5 60 "${CLI[@]}" bench --backend cuda --configs "$OUT/holdout.json" --reps 40 --check 1 -q --out "$OUT/ho-$i-$arm.json" > "$OUT/ho-$i-$arm.txt" 2>&1 || echo "holdout $arm rc $?"
done
ts "holdout done"
python3 bench/cuda/hopper/s28_holdout_read.py "$OUT" | tee "$OUT/holdout.txt"
ts "end"
