#!/usr/bin/env bash
# Record of session 13 call A: shuffleMax / shuffleSoftmax (the sfx arm, matrix5-sfx) no longer exist (removed in session 14; commit 778e691 has them).
# Session 13's first WebGPU slot (helper s12-h4; docs/notes/webgpu-matrix-trim.md, "Session 13's first slot"), <= 90 s
# warm, from the merged tree's root after `source .gpu-host/enter.sh` (build/ by tsc; the prebuilt spirv-as and vkstats
# in $H4_BIN, default .devstage/s12-h4-s13, carried, or its .tar.xz):
#   1. the driver's register counts of v5 trim (the default) and of the candidate sfx (shuffleMax + shuffleSoftmax), their
#      pipeline caches carved and disassembled (registers, local memory = spills, BAR / LDG / LDS / HMMA counts);
#   2. sfx against trim in one process (tile16-ab.mjs ARMS=trim,sfx; v5 lazy of session 11 rides along as its control),
#      8 checks an arm, two rounds, 4 shapes; an SFX/TRIM line a shape and a VERDICT line;
#   3. the GPU suite (100 random cases) on sfx if its checks passed.
# Leaves log.txt, spv.tgz, ab.txt, ab.json, gpu-test.txt under $OUT.
set -uo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
. "$here/h200-log.sh" h200-s13-h4 # OUT, $L, say, quiet
say() { echo "== $(date -u +%T) $*" >> "$L"; } # to the log only: it is printed once at the end
B=${H4_BIN:-.devstage/s12-h4-s13}
# the same two binaries as one file: carry .devstage/s12-h4-s13.tar.xz instead of the folder (python3's lzma where the
# host has no xz for tar -J)
if [ ! -x "$B/vkstats" ] && [ -f "$B.tar.xz" ]; then
  mkdir -p /tmp/h4bin && { tar xJf "$B.tar.xz" -C /tmp/h4bin 2> /dev/null ||
    python3 -c 'import lzma,tarfile,sys; tarfile.open(fileobj=lzma.open(sys.argv[1])).extractall(sys.argv[2])' "$B.tar.xz" /tmp/h4bin; } &&
    B=/tmp/h4bin/$(basename "$B")
fi
[ -x "$B/vkstats" ] && [ -x "$B/spirv-as" ] || echo "== no spirv-as / vkstats in $B (carry .devstage/s12-h4-s13 or its .tar.xz): no register counts" >> "$L"
command -v cuobjdump > /dev/null || export PATH=$PATH:/usr/local/cuda/bin
say "register counts (vkstats $(sha256sum "$B/vkstats" | cut -c1-12), spirv-as $(sha256sum "$B/spirv-as" | cut -c1-12))"
SPIRV_AS=$B/spirv-as VKSTATS=$B/vkstats timeout "${TIMEOUT_STATS:-30}" node "$here/pipeline-stats.mjs" "$OUT/spv" ${STATS:-matrix5-trim matrix5-sfx} >> "$L" 2>&1
say "sass"
ls "$OUT"/spv/*.cache > /dev/null 2>&1 && timeout 25 python3 "$here/cache-sass.py" "$OUT"/spv/*.cache >> "$L" 2>&1
rm -f "$OUT"/spv/*.raw.spvasm
tar czf "$OUT/spv.tgz" -C "$OUT" spv && rm -rf "$OUT/spv"
say "sfx vs trim + suite"
ARMS=trim,sfx SUITE_KERNEL=sfx TIMEOUT_AB=${TIMEOUT_AB:-45} TIMEOUT_TEST=${TIMEOUT_TEST:-40} OUT=$OUT bash "$here/h200-tile16.sh" > /dev/null 2>&1
[ -s "$OUT/ab.json" ] || echo "VERDICT no ab.json: the A/B did not run (ab.txt's tail above)" >> "$L"
[ -s "$OUT/ab.json" ] && node -e '
const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const r = j.rows.filter((x) => x.mean_ms && x.mean_ms.sfx && x.mean_ms.trim).map((x) => [`b=${x.b} s_k=${x.s_k} h_q=${x.h_q}`, x.mean_ms.sfx / x.mean_ms.trim]);
for (const [d, q] of r) console.log(`SFX/TRIM ${d.padEnd(26)} ${q.toFixed(3)}`);
const g = Math.exp(r.reduce((a, [, q]) => a + Math.log(q), 0) / (r.length || 1));
const ok = (j.checks?.sfx?.fail === 0);
console.log(`VERDICT sfx ${ok ? "checks pass" : "checks FAIL"}, geomean ${g.toFixed(3)}x trim, worst ${Math.max(...r.map(([, q]) => q)).toFixed(3)}: ${ok && r.length === 4 && g <= 0.98 && r.every(([, q]) => q <= 1.0) ? "SHIP if the suite line says 0 failures" : "KEEP trim"}`);
' "$OUT/ab.json" >> "$L" 2>&1
say end
cat "$L"
