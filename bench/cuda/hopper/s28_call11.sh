#!/usr/bin/env bash
# Session 28, call 11 (prepared, not run: the session's device time ran out): racecheck on the <= 32-row kernel's
# 32-row entry at shapes whose items all have one tile (the warpgroups then run different numbers of per-warpgroup
# barriers: reports predicted), all two tiles (equal numbers: clean predicted) and a mix of one and three, on the
# shipped build and on the verification build (dist-strict/cuda: MLA_RACECHECK_STRICT, which now also evens the
# warpgroups' barrier passes before each merge: clean predicted everywhere). Carry .gpu-host and a pack with build/,
# dist/cuda and dist-strict/cuda (as .devstage/s28c7.tar.xz plus dist-strict; or run gpu-host-run.sh racecheck-verify).
#   OUT=$OUT bash bench/cuda/hopper/s28_call11.sh
set -uo pipefail
PACK=${PACK:-.devstage/s28c7.tar.xz}
source bench/cuda/hopper/s28_common.sh && s28_unpack "$PACK"
OUT=${OUT:-/tmp/s28}; mkdir -p "$OUT/f"
CLI=(node scripts/flashmla-dist.mjs build/src)
BQ=(bench --backend cuda --reps 1 --warmup 0 --warm-ms 0 --idle-warm-ms 0 --check 2 --rotate-mb 1 -q)
for c in "1t:1:4096" "1t:3:1024" "2t:4:2048" "2t:8:1024" "2t:1:8192" "13t:16:1024"; do
  IFS=: read -r tag b sk <<<"$c"
  echo "[{\"b\": $b, \"s_k\": $sk, \"h_q\": 32, \"s_q\": 1}]" > "$OUT/f/c-$tag-$b-$sk.json"
  ( timeout -k 5 150 compute-sanitizer --tool racecheck --print-limit 10 "${CLI[@]}" "${BQ[@]}" --configs "$OUT/f/c-$tag-$b-$sk.json" --out "$OUT/f/o-$tag-$b-$sk.json" > "$OUT/f/rc-$tag-$b-$sk.txt" 2>&1 ) &
  [ -d dist-strict/cuda ] && ( FLASHMLA_CUDA_KERNELS=dist-strict/cuda timeout -k 5 150 compute-sanitizer --tool racecheck --print-limit 10 "${CLI[@]}" "${BQ[@]}" --configs "$OUT/f/c-$tag-$b-$sk.json" --out "$OUT/f/o-strict-$tag-$b-$sk.json" > "$OUT/f/rc-strict-$tag-$b-$sk.txt" 2>&1 ) &
done
wait
for f in "$OUT"/f/rc-*.txt; do
  t=$(basename "$f" .txt); t=${t#rc-}
  echo "$t: $(grep -E 'RACECHECK SUMMARY' "$f" | tail -1) | $(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print([(r['kernel'], r['check']['ok']) for r in d['rows']])" "$OUT/f/o-$t.json" 2>&1 | tail -1)"
done
tar czf "$OUT/s28c11-files.tgz" -C "$OUT" f && rm -rf "$OUT/f"
