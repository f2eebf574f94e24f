#!/usr/bin/env bash
# Session 18 round 2, helper h3 (docs/notes/cuda-hopper-decode.md, "Session 18 round 2 (h3r2)"): the narrow entry build
# (decode_sm90.fatbin -DMLA_SM90_LIB_VAR=7, staged in .devstage/s18-h3 by round 1) qualified on b=1 and FlashMLA's
# grid rows of 16 / 32 rows (s18_h3r2_configs.json); arm P keeps main's wide fatbin. Same steps as s18_h3_slot.sh
# (checks through P, A P P A; no FlashMLA run: its grid figures are call A's), rule s18_h3r2_rule.py. From the merged tree's root, .gpu-host entered:
#   OUT=$OUT bash bench/cuda/hopper/s18_h3r2_slot.sh        (~90 s warm; budget 100 s, run timeout 150)
# Last line: SHIP narrow (...) or KEEP lib (...).
H3_WIDE=0 H3_CONFIGS=bench/cuda/hopper/s18_h3r2_configs.json H3_RULE=s18_h3r2_rule H3_FLASHMLA=0 H3_BUDGET=${H3_BUDGET:-100} \
  exec bash "$(dirname "$0")/s18_h3_slot.sh"
