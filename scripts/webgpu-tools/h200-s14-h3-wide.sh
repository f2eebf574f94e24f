#!/usr/bin/env bash
# Record of session 14 call A: the wide / wlean arms (spec field `wide`, matrix5-wide / matrix5-wlean) no longer exist (removed in session 14; commit c604ed4 has them).
# Session 14's wide slot for the WebGPU matrix kernel (helper s14-h3; docs/notes/webgpu-matrix-trim.md, "Session 14:
# wide"), <= 90 s warm, from the merged tree's root after `source .gpu-host/enter.sh` (build/ by tsc), in the frame of
# session 13's register slot (h200-s13-h4-regs.sh, run with these arms; same prebuilt spirv-as / vkstats, carried as
# .devstage/s12-h4-s13 or its .tar.xz, or the copy in .devstage/s14-h3/):
#   1. REG lines: the driver's register counts of trim (255 in session 13), wide (trim at 512 lanes) and wlean (wide +
#      lean).
#   2. tile16-ab.mjs: v5 lazy (control), trim, wide, wlean in one process, 8 checks a kernel, two rounds, b 128 s_k 8192
#      h_q 16 / 32 / 128 and b 1 s_k 32768 h_q 16; WIDE/TRIM and WLEAN/TRIM lines.
#   3. the rule: the better of wide / wlean whose checks pass with geomean <= 0.98x trim and no shape above 1.00x gets
#      the GPU suite (100 random cases, FLASHMLA_MATRIX_TEST_TRIM=wide | wlean); last line `SHIP <arm> ...` only if the
#      suite has 0 failures, else `KEEP trim ...`.
here=$(dirname "${BASH_SOURCE[0]}")
[ -z "${H4_BIN:-}" ] && [ ! -x .devstage/s12-h4-s13/vkstats ] && [ ! -f .devstage/s12-h4-s13.tar.xz ] && [ -f .devstage/s14-h3/s12-h4-s13.tar.xz ] &&
  export H4_BIN=.devstage/s14-h3/s12-h4-s13
SLOT_NAME=h200-s14-h3-wide STATS=${STATS:-matrix5-trim matrix5-wide matrix5-wlean} ARMS=${ARMS:-trim,wide,wlean} \
  RULE_ARMS=${RULE_ARMS:-wide:wide wlean:wlean} PROBE_ARMS=${PROBE_ARMS:-none} TIMEOUT_STATS=${TIMEOUT_STATS:-15} \
  TIMEOUT_AB=${TIMEOUT_AB:-35} TIMEOUT_TEST=${TIMEOUT_TEST:-38} exec bash "$here/h200-s13-h4-regs.sh"
