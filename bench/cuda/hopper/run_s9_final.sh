#!/bin/bash
# Session 9, the lead's final call: the Hopper dense decode kernels' A/B with prebuilt binaries (~60-80 s).
#   bash bench/cuda/hopper/run_s9_final.sh [flashmla-dense.json] [outdir]      (repository root, GPU host)
# The binaries come from .devstage/hb/s9h2.tgz (built off the device at this branch's last commit: harness with
# lib = v7 (Q issued before the CTA barrier), prev = d2023c2's decode_sm90.cu, x0 = 1ec1f84's Q path, x3 = v7 + the
# split output (VAR bit 2: both warpgroups merge and store half of the slices; written blind, first run here);
# harness_wide with lib = x798, v2 = d2023c2's decode_sm90_wide.cu, x31 = session 8's v6 bits + cp.async Q;
# harness_trace = v7 traced, harness_trace3 = x3 traced).
# Steps: random-case checks of both library entries and the two baselines, memcheck + synccheck of both library
# entries, SASS counts, the narrow trace, the narrow tail breakdown (b=1 decode / combine, rotating past the L2), the
# interleaved A/B tables against FlashMLA (the given JSON, else bench_flashmla.py is run on the A/B's shapes first).
# x3 is timed only if its check passed with no failure (a failing x3 is dropped from AB_KERNS; its memcheck and
# synccheck run beside the checks). Expected (session 9, calls 1-3): narrow lib ~1.04x FlashMLA geomean of its six b=128 rows (prev ~0.99x), s_k 1024
# rows 1.07-1.14x; wide lib ~0.85-0.87x over its 15 b=128 rows (v2 ~0.80-0.82x), uneven ~1.23-1.27x; 0 failures.
set -u
FJ=${1:-}
O=${2:-${OUT:-./out}/s9final}
mkdir -p "$O"
HB=/tmp/s9h2-bin
rm -rf $HB && mkdir -p $HB && tar xzf .devstage/hb/s9h2.tgz -C $HB --strip-components=1 || { echo "s9final: no .devstage/hb/s9h2.tgz"; exit 2; }
export HB O
[ -n "$FJ" ] && [ -s "$FJ" ] && export FJ
export NPROC=${NPROC:-2} NCASES=${NCASES:-100} WCASES_N=${WCASES_N:-100} NCANDS=${NCANDS-x0 x3} NCAND_N=${NCAND_N:-100} \
  WCANDS=${WCANDS-x31} WCAND_N=${WCAND_N:-50} SAN_N=${SAN_N:-lib x3} SAN_W=${SAN_W:-lib} CHECK_S=${CHECK_S:-35} \
  WVARS=${WVARS:-"lib v2 x31"} FLASHMLA_S=${FLASHMLA_S:-30} TRACE_ALSO=${TRACE_ALSO:-3}
S=${STEPS:-check trace tail flashmla ab}
pre=$(echo "$S" | sed 's/ *ab *$//; s/\bab\b//')
timeout ${TOTAL_S:-120} bash "$(dirname "$0")/run_s9_ab.sh" "$pre"
# x3 into the A/B only if every one of its cases ran correct (and at least 40 ran)
k3="x3"
if [ -f "$O/ncheck_x3.log" ]; then
  read -r ran failed <<< "$(grep -o '[0-9]* cases run, [0-9]* failed' "$O/ncheck_x3.log" | awk '{ r += $1; f += $4 } END { print r + 0, f + 0 }')"
  { [ "$failed" = 0 ] && [ "$ran" -ge 40 ]; } || { k3=""; echo "s9final: x3 left out of the A/B ($ran cases, $failed failed)"; }
fi
case " $S " in *" ab "*) AB_KERNS=${AB_KERNS:-"lib prev x0 $k3"} timeout ${AB_TOTAL_S:-70} bash "$(dirname "$0")/run_s9_ab.sh" ab ;; esac
