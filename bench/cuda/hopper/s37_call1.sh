#!/usr/bin/env bash
# Prepared in session 36 for the next session (not run): the <= 32-row kernel without its launch_dependents (NT:
# -DMLA_SM90_LIB_TRIG=0, build it with `SRC=decode_sm90 bash bench/cuda/hopper/s30_variant.sh NT -DMLA_SM90_LIB_TRIG=0`
# and pack it: s29_pack OUT NT), as the library's build with PDL on every launch that waits by default (graphs
# included)? Session 36's call 4 measured NT at 0.97x the library's time on 16 shapes in do_bench's loop and, with PDL
# on every launch, 0.97x from graphs (docs/notes/cuda-hopper-decode.md, "Session 36"). This call: NT's checks with PDL on
# every launch (sm90.test 4 x 250 random + goldens, memcheck / synccheck on four narrow shapes, racecheck on two,
# reliability's overlapping calls), then ours against ours on the 82 shapes in do_bench's loop (A NT NT+pdl, reversed)
# and on FlashMLA's grid + b=1 + uneven + 4 small shapes from CUDA graphs (the same arms). Write the rule into
# results/gpu-host/bench/hopper/s37/predictions.txt before running:   OUT=$OUT bash bench/cuda/hopper/s37_call1.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s37c1.tar.xz}"
mkdir -p "$OUT/f"
export FLASHMLA_CUDA_PDL=1
s29_cfg n16 8 1000 16 1; s29_cfg n32 8 1000 16 2; s29_cfg n16b 1 30000 16 1; s29_cfg n32b 3 1500 32 1
s29_san_jobs NT "" n16 n32 n16b n32b
for c in n16b n32; do s29_rc "$c" dist-NT/cuda "${CLI[*]} ${BQ[*]} --configs $OUT/f/c-$c.json --out $OUT/f/o-rc-$c.json"; done
for s in 0 1 2 3; do
  ( FLASHMLA_CUDA_KERNELS=dist-NT/cuda FLASHMLA_SM90_CASES=1000 FLASHMLA_SM90_SHARD=$s/4 timeout -k 5 250 node --test --test-reporter=tap build/test/gpu/sm90.test.js > "$OUT/f/sm90-NT-$s.txt" 2>&1; echo "exit $?" >> "$OUT/f/sm90-NT-$s.txt" ) &
done
s29_run_jobs 6
FLASHMLA_CUDA_KERNELS=dist-NT/cuda FLASHMLA_REQUIRE=cuda timeout -k 5 150 node --test --test-reporter=tap --test-name-pattern "overlapping" build/test/gpu/reliability.test.js > "$OUT/f/rel-NT.txt" 2>&1; echo "reliability rc $?"
unset FLASHMLA_CUDA_PDL
for f in "$OUT"/f/san-*.txt; do echo "$(basename "$f" .txt): $(grep -E 'ERROR SUMMARY' "$f" | tail -1)"; done
for f in "$OUT"/f/rc-*.txt; do echo "$(basename "$f" .txt): $(grep -E 'RACECHECK SUMMARY' "$f" | tail -1)"; done
for s in 0 1 2 3; do echo "sm90.test NT shard $s: $(grep -E '^# (pass|fail)|^not ok|cases ran the sm90' "$OUT/f/sm90-NT-$s.txt" | tr '\n' ' ')"; done
grep -E '^# (pass|fail)|^not ok' "$OUT/f/rel-NT.txt" | tr '\n' ' '; echo
rm -f "$OUT"/f/*.svg; for f in "$OUT"/f/rc-*.txt; do xz -T4 "$f"; done
s33_pack s37c1-checks
"${CLI[@]}" bench --grid full --emit-configs "$OUT/f/full.json" > /dev/null
python3 -c 'import json,sys; json.dump(sum((json.load(open(f)) for f in sys.argv[2:]), []), open(sys.argv[1], "w"))' "$OUT/f/all85.json" "$OUT/f/full.json" bench/cuda/small-batch.json bench/cuda/combine-holdout.json
s35_arms s37 "--flush-mb 256 --rep-ms 100" "$OUT/f/all85.json" A NT NT+pdl NT+pdl NT A
python3 -c 'import json,sys; d=json.load(open(sys.argv[2])); json.dump(d + [{"b": 16, "s_k": 2048, "h_q": 32, "s_q": 1}, {"b": 5, "s_k": 1024, "h_q": 16, "s_q": 2}, {"b": 2, "s_k": 16384, "h_q": 16, "s_q": 1}, {"b": 1, "s_k": 28672, "h_q": 16, "s_q": 1}], open(sys.argv[1], "w"))' "$OUT/f/g30.json" "$OUT/f/full.json"
s35_arms s37g "--graph-calls 10" "$OUT/f/g30.json" A NT NT+pdl NT+pdl NT A
s33_pack s37c1-arms
