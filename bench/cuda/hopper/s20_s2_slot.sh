#!/usr/bin/env bash
# Session 20, helper s20-s2 (docs/notes/cuda-sparse-decode.md, "Session 20, helper s20-s2"): bit 6, the MODEL1 pair
# producer's addrOf division by a magic-number multiply and idAt as one selected index load (tile loop 855 -> 821 / 819
# static), m6881325685400201800 = the shipped 6881325685400201736 + 64, in s20_s1_slot.sh's frame: checks at h_q 64 / 128,
# memcheck at h_q 128 with the bitexact tool beside it (8 cases, page block sizes 64 / 37 / 1 / 100 by turns, an extra cache
# in the odd cases: pages 2 / 37 / 64 / 13, a random extraTopkLength in cases 3 mod 4), --shapes m1pair twice (shipped
# first, then bit 6 first), the item fit with what is left, s20_s1_rule.py with S20_RULE_BIT=6 (the same rule as bit 4's).
# Stage .devstage/s20-s2: fatbins.tar.xz (shipped 46a5ad7c = this branch's default build, bit 6 11e57d6c) and build.tar.xz
# (this branch's tsc output of sparse-sm90-final-ab.js and sparse-sm90-bitexact.js). GPU host, the merged tree's root:
#   OUT=$OUT timeout 100 bash bench/cuda/hopper/s20_s2_slot.sh          (~85 s warm; every step ends by +96 s)
# Last line: `SHIP 6881325685400201800 (...)` or `KEEP 6881325685400201736 (...)`.
CAND=6881325685400201800 STAGE=${STAGE:-.devstage/s20-s2} S20_RULE_BIT=6 BITEXACT_ARGS="--pages 64,37,1,100 --extra" \
  exec bash bench/cuda/hopper/s20_s1_slot.sh
