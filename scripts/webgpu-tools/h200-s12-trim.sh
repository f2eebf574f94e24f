#!/usr/bin/env bash
# Session 12, helper s12-h4 (issue #13; docs/notes/webgpu-matrix-trim.md): one H200 call from the staged tree (build/
# compiled by tsc, build/bin/spirv-as and build/bin/vkstats built off the host) after `source .gpu-host/enter.sh`:
#   1. the driver's statistics (registers, ...) of v5 lazy, eager, pair and trim (pipeline-stats.mjs), their pipeline
#      caches carved and disassembled (cache-sass.py: registers, spills, barriers, loads);
#   2. the workgroup-memory probes pad8 / pad16 / pad32 (lazy-isolate.mjs checks: which totals under 49 152 B work);
#   3. trim against v5 lazy in one process (tile16-ab.mjs ARMS=trim), then the GPU suite on trim (100 random cases).
# Leaves log.txt, spv.tgz, pad.txt, ab.txt, ab.json, gpu-test.txt under $OUT.
set -uo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
. "$here/h200-log.sh" h200-s12-trim # OUT, $L, say, quiet
say "pipeline statistics"
SPIRV_AS=$PWD/build/bin/spirv-as VKSTATS=$PWD/build/bin/vkstats timeout "${TIMEOUT_STATS:-60}" node "$here/pipeline-stats.mjs" "$OUT/spv" ${STATS:-matrix5-sg8 matrix5-eager matrix5-pair matrix5-trim} 2>&1 | tee -a "$L" | tail -20
say "sass"
timeout 30 python3 "$here/cache-sass.py" "$OUT"/spv/*.cache >> "$L" 2>&1
tar czf "$OUT/spv.tgz" -C "$OUT" spv && rm -rf "$OUT/spv"
if [ "${PAD:-1}" = 1 ]; then
  say "pad probes"
  echo '[{"b":2,"s_k":1024,"h_q":16,"s_q":1}]' > "$OUT/pad-configs.json"
  VARIANTS=pad8,pad16,pad32 ISO_RANDOM=1 FLASHMLA_GOLDEN=test/fixtures/golden timeout "${TIMEOUT_PAD:-40}" node "$here/lazy-isolate.mjs" --configs "$OUT/pad-configs.json" --reps 2 --warmup 1 > "$OUT/pad.txt" 2>&1
  echo "exit $?" >> "$L"
  grep -E '^(CHECK|DECISION)' "$OUT/pad.txt" >> "$L"
fi
say "trim A/B + suite"
ARMS=${ARMS:-trim} SUITE_KERNEL=${SUITE_KERNEL:-trim} CONFIGS=${CONFIGS:-'[{"b":128,"s_k":8192,"h_q":16,"s_q":1},{"b":128,"s_k":8192,"h_q":32,"s_q":1},{"b":128,"s_k":8192,"h_q":128,"s_q":1},{"b":1,"s_k":32768,"h_q":16,"s_q":1},{"b":4,"seqlens":[4641,45118,1730,1696],"h_q":16,"s_q":4}]'} \
  OUT=$OUT bash "$here/h200-tile16.sh" > /dev/null 2>&1
say end
cat "$L"
