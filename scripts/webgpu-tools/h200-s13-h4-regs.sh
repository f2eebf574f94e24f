#!/usr/bin/env bash
# Session 13's register slot for the WebGPU matrix kernel (helper s13-h4; docs/notes/webgpu-matrix-trim.md, "Session
# 13's register slot"), <= 90 s warm, from the merged tree's root after `source .gpu-host/enter.sh` (build/ by tsc; the
# prebuilt spirv-as and vkstats of the first slot in $H4_BIN, default .devstage/s12-h4-s13, carried, or its .tar.xz):
#   1. the driver's register counts of trim (the default, 255 in call A) and of the existing knobs that lower live
#      registers: nopf (trim + noPrefetch), lean (trim + lean), nl (both), sg4 (trim, 4 subgroups), t16 and t16nopf
#      (tile16, with and without noPrefetch). A REG line each.
#   2. tile16-ab.mjs: trim, tnopf, tlean, tnl and sg4 at 264 parts in one process (v5 lazy of session 11 rides along as
#      its control), 8 checks a kernel, two rounds, 4 shapes; an X/TRIM line an arm and shape.
#   3. the ship rule: the best of tnopf / tlean / tnl that passes its checks with geomean <= 0.98x trim and no shape above
#      1.00x gets the GPU suite (100 random cases); last line `SHIP <arm> ...` if the suite has 0 failures, else
#      `KEEP trim ...`. sg4-264 is reported (a design input: two 4-subgroup workgroups an SM), never shipped here.
# RULE_ARMS (arm:kernel pairs, space-separated) and PROBE_ARMS (reported, never shipped) name the arms the rule reads;
# session 14's wide slot (h200-s14-h3-wide.sh, its arms since removed) ran this script with its own arms.
# Leaves log.txt, spv.tgz (SPIR-V only), ab.txt, ab.json, configs.json, gpu-test.txt under $OUT.
set -uo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
. "$here/h200-log.sh" "${SLOT_NAME:-h200-s13-h4-regs}" # OUT, $L, say, quiet
say() { echo "== $(date -u +%T) $*" >> "$L"; } # to the log only: it is printed once at the end
B=${H4_BIN:-.devstage/s12-h4-s13}
# not carried under that name: the copy in this slot's stage folder
[ -z "${H4_BIN:-}" ] && [ ! -x "$B/vkstats" ] && [ ! -f "$B.tar.xz" ] && [ -f .devstage/s13-h4-r2/s12-h4-s13.tar.xz ] && B=.devstage/s13-h4-r2/s12-h4-s13
if [ ! -x "$B/vkstats" ] && [ -f "$B.tar.xz" ]; then
  mkdir -p /tmp/h4bin && { tar xJf "$B.tar.xz" -C /tmp/h4bin 2> /dev/null ||
    python3 -c 'import lzma,tarfile,sys; tarfile.open(fileobj=lzma.open(sys.argv[1])).extractall(sys.argv[2])' "$B.tar.xz" /tmp/h4bin; } &&
    B=/tmp/h4bin/$(basename "$B")
fi
[ -x "$B/vkstats" ] && [ -x "$B/spirv-as" ] || echo "== no spirv-as / vkstats in $B (carry .devstage/s12-h4-s13 or its .tar.xz): no register counts" >> "$L"
say "register counts (vkstats $(sha256sum "$B/vkstats" 2> /dev/null | cut -c1-12), spirv-as $(sha256sum "$B/spirv-as" 2> /dev/null | cut -c1-12))"
SPIRV_AS=$B/spirv-as VKSTATS=$B/vkstats timeout "${TIMEOUT_STATS:-28}" node "$here/pipeline-stats.mjs" "$OUT/spv" \
  ${STATS:-matrix5-trim matrix5-nopf matrix5-lean matrix5-nl matrix5-sg4 matrix5-t16 matrix5-t16nopf} > "$OUT/stats.txt" 2>&1
grep -vE '^(  cache|  internal)' "$OUT/stats.txt" >> "$L"
grep -oE '^matrix5-[a-z0-9]+: Register Count = [0-9]+' "$OUT/stats.txt" | sed -E 's/^matrix5-([a-z0-9]+): Register Count = /REG \1 /' >> "$L"
rm -f "$OUT"/spv/*.raw.spvasm "$OUT"/spv/*.cache
tar czf "$OUT/spv.tgz" -C "$OUT" spv 2> /dev/null && rm -rf "$OUT/spv"
ARMS=${ARMS:-trim,tnopf,tlean,tnl,sg4-264}
say "tile16-ab: $ARMS"
CONFIGS=${CONFIGS:-'[{"b":128,"s_k":8192,"h_q":16,"s_q":1},{"b":128,"s_k":8192,"h_q":32,"s_q":1},{"b":128,"s_k":8192,"h_q":128,"s_q":1},{"b":1,"s_k":32768,"h_q":16,"s_q":1}]'}
echo "$CONFIGS" > "$OUT/configs.json"
ARMS=$ARMS FLASHMLA_GOLDEN=${FLASHMLA_GOLDEN:-test/fixtures/golden} timeout "${TIMEOUT_AB:-45}" \
  node "$here/tile16-ab.mjs" --configs "$OUT/configs.json" --out "$OUT/ab.json" > "$OUT/ab.txt" 2>&1
echo "exit $?" >> "$L"
grep -E '^(device|CHECK|TIME|DECISION)' "$OUT/ab.txt" >> "$L"
grep -q '^DECISION' "$OUT/ab.txt" || grep -v '^\[' "$OUT/ab.txt" | tail -12 >> "$L"
# The rule (written before the run): ratios to trim, same process; a candidate needs its checks, 4 shapes, geomean <= 0.98,
# every shape <= 1.00. RULE_CAND names the best one (or none) for the suite.
cand=none
if [ -s "$OUT/ab.json" ]; then
  RULE_ARMS=${RULE_ARMS:-tnopf:tnopf tlean:tlean tnl:tnl sg4-264:sg4} PROBE_ARMS=${PROBE_ARMS:-sg4-264} node -e '
const probeArms = process.env.PROBE_ARMS.split(/\s+/);
const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const rows = j.rows.filter((x) => x.mean_ms && x.mean_ms.trim);
const res = [];
for (const [arm, kern] of process.env.RULE_ARMS.split(/\s+/).filter(Boolean).map((x) => x.split(":"))) {
  const r = rows.filter((x) => x.mean_ms[arm]).map((x) => [`b=${x.b} s_k=${x.s_k} h_q=${x.h_q}`, x.mean_ms[arm] / x.mean_ms.trim]);
  for (const [d, q] of r) console.log(`${arm.toUpperCase()}/TRIM ${d.padEnd(26)} ${q.toFixed(3)}`);
  if (!r.length) { console.log(`RULE ${arm}: not timed (checks ${j.checks?.[kern] ? `${j.checks[kern].pass} pass / ${j.checks[kern].fail} fail` : "missing"})`); continue; }
  const g = Math.exp(r.reduce((a, [, q]) => a + Math.log(q), 0) / r.length);
  const worst = Math.max(...r.map(([, q]) => q));
  const ok = j.checks?.[kern]?.fail === 0;
  const probe = probeArms.includes(arm);
  const eligible = !probe && ok && r.length === 4 && g <= 0.98 && worst <= 1.0;
  console.log(`RULE ${arm}: checks ${ok ? "pass" : "FAIL"}, geomean ${g.toFixed(3)}x trim, worst ${worst.toFixed(3)}${probe ? " (probe: never shipped here)" : eligible ? ": candidate" : ": no"}`);
  if (eligible) res.push([arm, g]);
}
res.sort((a, b) => a[1] - b[1]);
console.log(`RULE_CAND ${res.length ? res[0][0] : "none"}`);
' "$OUT/ab.json" >> "$L" 2>&1
  cand=$(awk '/^RULE_CAND/ { print $2 }' "$L" | tail -1)
fi
if [ -n "$cand" ] && [ "$cand" != none ]; then
  tr=${cand#t} # the suite's FLASHMLA_MATRIX_TEST_TRIM name: tnopf -> nopf; an arm without a leading t as it is
  say "GPU suite, trim + $cand (FLASHMLA_MATRIX_TEST_TRIM=$tr), ${CASES:-100} random cases"
  FLASHMLA_MATRIX_TEST_TRIM=$tr FLASHMLA_GPU_CASES=${CASES:-100} FLASHMLA_GOLDEN=test/fixtures/golden timeout "${TIMEOUT_TEST:-40}" \
    node --test --test-reporter=tap build/test/gpu/webgpu-matrix.test.js > "$OUT/gpu-test.txt" 2>&1
  rc=$?
  echo "exit $rc" >> "$L"
  grep -E '^# (tests|pass|fail)|^not ok|^# .# [0-9]+ cases|^# device' "$OUT/gpu-test.txt" >> "$L"
  grep -E '^ +not ok' "$OUT/gpu-test.txt" | head -8 >> "$L"
  fails=$(awk '/^# fail/ { print $3 }' "$OUT/gpu-test.txt" | tail -1)
  passes=$(awk '/^# pass/ { print $3 }' "$OUT/gpu-test.txt" | tail -1)
  tests=$(awk '/^# tests/ { print $3 }' "$OUT/gpu-test.txt" | tail -1)
  if [ "$rc" = 0 ] && [ "${fails:-x}" = 0 ] && [ "${passes:-0}" -gt 0 ] && [ "${passes}" = "${tests:-x}" ]; then
    echo "SHIP $cand: checks pass, the rule's timing holds, GPU suite ${passes}/${passes} (make it v5's default with lazy + trim)" >> "$L"
  else
    echo "KEEP trim: $cand met the timing rule but the GPU suite did not pass (rc $rc, tests ${tests:-?}, pass ${passes:-?}, fail ${fails:-?})" >> "$L"
  fi
else
  echo "KEEP trim: no candidate met the rule (checks, geomean <= 0.98x trim, no shape above 1.00x)" >> "$L"
fi
say end
cat "$L"
# the verdict once more as the very last line
grep -E '^(SHIP|KEEP)' "$L" | tail -1
