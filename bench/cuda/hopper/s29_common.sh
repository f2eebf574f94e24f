# Session 29's call scripts (bench/cuda/hopper/s29_call*.sh), sourced from the tree's root on the GPU host.
# s29_unpack PACK: an xz tar made on the development machine with build/ (tsc of the tree), dist/cuda (sm_90a fatbins
# of the default build) and, for each other build V, V/ with the fatbins that differ from dist/cuda plus its manifest;
# unpacked into build/, dist/cuda and dist-V/cuda (dist/cuda's fatbins with V/ over them), and FLASHMLA_COMMIT set to
# the packing tree's commit (commit.txt, since session 31). Then .gpu-host is entered and FLASHMLA_CUDA_KERNELS points
# at dist/cuda.
s29_unpack() {
  local pack=$1 v
  if [ -f "$pack" ]; then
    rm -rf .devstage/s29; mkdir -p .devstage/s29
    python3 -c 'import lzma,tarfile,sys; tarfile.open(fileobj=lzma.open(sys.argv[1])).extractall(sys.argv[2])' "$pack" .devstage/s29
    rm -rf build; mv .devstage/s29/build build
    mkdir -p dist; rm -rf dist/cuda; mv .devstage/s29/dist/cuda dist/cuda
    [ -f .devstage/s29/commit.txt ] && export FLASHMLA_COMMIT=$(cat .devstage/s29/commit.txt) # (bench JSONs' commit field)
    for v in .devstage/s29/*/; do
      v=$(basename "$v"); [ "$v" = dist ] && continue
      rm -rf "dist-$v"; mkdir -p "dist-$v/cuda"; cp dist/cuda/*.fatbin "dist-$v/cuda/" && cp ".devstage/s29/$v"/* "dist-$v/cuda/"
    done
  fi
  source .gpu-host/enter.sh >/dev/null 2>&1
  export FLASHMLA_CUDA_KERNELS=dist/cuda
}
# s29_pack OUT V...: (development machine) build/ and dist/cuda, and for each V the fatbins of dist-V/cuda that differ.
s29_pack() {
  local out=$1; shift
  local st; st=$(mktemp -d)
  cp -r build "$st/build"; mkdir -p "$st/dist"; cp -r dist/cuda "$st/dist/cuda"
  # the tree's commit (+dirty with uncommitted changes): the host's copy can carry a stale .git (session 31's grid JSON)
  echo "$(git rev-parse HEAD)$(git diff --quiet HEAD -- . ':!results' 2>/dev/null || echo +dirty)" > "$st/commit.txt"
  for v in "$@"; do
    mkdir -p "$st/$v"; cp "dist-$v/cuda/manifest.json" "$st/$v/"
    for f in "dist-$v"/cuda/*.fatbin; do cmp -s "$f" "dist/cuda/$(basename "$f")" || cp "$f" "$st/$v/"; done
  done
  tar cf - -C "$st" . | xz -T2 -6 > "$out"; rm -rf "$st"; ls -la "$out"
}
# Racecheck jobs of calls 2, 3 and 6: s29_rc TAG KERNELS-DIR COMMAND... appends one compute-sanitizer run to
# $OUT/jobs.txt (run later with xargs -P), its log $OUT/f/rc-TAG.txt; s29_cfg NAME B S_K H_Q [S_Q] writes a one-config
# file $OUT/f/c-NAME.json.
s29_rc() { echo "FLASHMLA_CUDA_KERNELS=$2 timeout -k 5 170 compute-sanitizer --tool racecheck --racecheck-report all --print-limit 400 ${*:3} > $OUT/f/rc-$1.txt 2>&1" >> "$OUT/jobs.txt"; }
s29_cfg() { echo "[{\"b\": $2, \"s_k\": $3, \"h_q\": $4, \"s_q\": ${5:-1}}]" > "$OUT/f/c-$1.json"; }
# s29_race_report NAME: each racecheck log's summary (and the seeded cases' pass counts it printed), the reports
# grouped by kernel and class, each bench output's reference check; the logs xz'd and $OUT/f packed as $OUT/NAME.tar.
s29_race_report() {
  local f
  for f in "$OUT"/f/rc-*.txt; do echo "$(basename "$f" .txt): $(grep -E 'RACECHECK SUMMARY' "$f" | tail -1) $(grep -E ' pass' "$f" | tr '\n' ' ')"; done | sort
  python3 bench/cuda/hopper/s28_race_classes.py "$OUT"/f/rc-*.txt 2>&1 | grep -v '^\s*$' | head -60
  python3 - "$OUT/f" <<'P'
import json, glob, os, sys
for f in sorted(glob.glob(os.path.join(sys.argv[1], 'o-*.json'))):
    d = json.load(open(f)); print(os.path.basename(f), [(r['kernel'], r['check']['ok']) for r in d['rows']])
P
  for f in "$OUT"/f/rc-*.txt; do xz -T4 "$f"; done
  tar cf "$OUT/$1.tar" -C "$OUT" f && rm -rf "$OUT/f"
}
# s29_setup PACK: s29_unpack, then what every call uses: OUT (default /tmp/s29) with OUT/f, an empty OUT/jobs.txt, the
# CLI of build/ (CLI), a one-repetition bench for sanitizer runs (BQ) and ts (seconds since setup, then the words).
s29_setup() {
  s29_unpack "$1"
  OUT=${OUT:-/tmp/s29}; mkdir -p "$OUT/f"; : > "$OUT/jobs.txt"
  export FLASHMLA_GOLDEN=test/fixtures/golden # (since session 31; the GPU suites' goldens in the tree)
  nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu --format=csv,noheader 2>/dev/null
  T0=$(date +%s)
  CLI=(node scripts/flashmla-dist.mjs build/src)
  BQ=(bench --backend cuda --reps 1 --warmup 0 --warm-ms 0 --idle-warm-ms 0 --check 2 --rotate-mb 1 -q)
}
ts() { echo "[$(( $(date +%s) - T0 ))s] $*"; }
# lim MAX: a step's timeout, MAX seconds or what is left of the call's BUDGET seconds (default 570) since T0; 1 when
# under 15 are left (the step then ends at once).
lim() { local left=$(( ${BUDGET:-570} - ($(date +%s) - T0) )); [ $left -lt 15 ] && echo 1 || echo $(( left < $1 ? left : $1 )); }
# s29_ab_configs FILE: the A/B shapes of calls 1 and 4 (bench/cuda/small-batch.json, combine-holdout.json's shapes
# not in it, and FlashMLA's nine b=128 16/32-row configurations) as one configs file.
s29_ab_configs() {
  python3 - "$1" <<'P'
import json, sys
a = json.load(open('bench/cuda/small-batch.json')); b = json.load(open('bench/cuda/combine-holdout.json'))
u = a + [x for x in b if x not in a]
u += [{"b": 128, "s_k": sk, "h_q": hq, "s_q": sq} for sk in (1024, 4096, 8192) for hq, sq in ((16, 1), (16, 2), (32, 1))]
json.dump(u, open(sys.argv[1], 'w'))
P
}
# s29_run_jobs N: OUT/jobs.txt N at a time, then whatever the call started in the background.
s29_run_jobs() {
  xargs -P "$1" -I{} bash -c '{}' < "$OUT/jobs.txt"
  ts "racecheck done"
  wait
  ts "tests done"
}
# The >= 64-row kernel's checks of session 30 call 5 and session 31 calls 3 / 4: s29_wide_checks V queues memcheck
# and synccheck of dist-V/cuda on four shapes (one-repetition benches, checked outputs) and starts sm90-wide.test (100
# random cases) on it in the background; s29_wide_checks_report V prints their summaries after s29_run_jobs.
# s29_san_jobs V TAG CFG... (session 33): queue memcheck and synccheck of dist-V/cuda on each one-config file
# $OUT/f/c-CFG.json (s29_cfg), logs $OUT/f/san-TAG<tool>-CFG.txt, checked outputs $OUT/f/o-TAG<tool>-CFG.json.
s29_san_jobs() {
  local v=$1 tag=$2 t c; shift 2
  for t in memcheck synccheck; do
    for c in "$@"; do
      echo "FLASHMLA_CUDA_KERNELS=dist-$v/cuda timeout -k 5 120 compute-sanitizer --tool $t --print-limit 50 ${CLI[*]} ${BQ[*]} --configs $OUT/f/c-$c.json --out $OUT/f/o-$tag$t-$c.json > $OUT/f/san-$tag$t-$c.txt 2>&1" >> "$OUT/jobs.txt"
    done
  done
}
s29_wide_checks() {
  s29_cfg chk256 4 1024 128 2; s29_cfg chk128 16 2048 64 2; s29_cfg chk64 8 1000 64 1; s29_cfg chk256b 3 1500 128 2
  s29_san_jobs "$1" "" chk256 chk128 chk64 chk256b
  ( FLASHMLA_CUDA_KERNELS=dist-$1/cuda FLASHMLA_SM90W_CASES=100 timeout -k 5 200 node --test --test-reporter=tap build/test/gpu/sm90-wide.test.js > "$OUT/f/sm90-wide-$1.txt" 2>&1; echo "exit $?" >> "$OUT/f/sm90-wide-$1.txt" ) &
}
s29_wide_checks_report() {
  local f
  for f in "$OUT"/f/san-*.txt; do echo "$(basename "$f" .txt): $(grep -E 'ERROR SUMMARY' "$f" | tail -1)"; done
  grep -E '^# (pass|fail)|^not ok|ran the sm90w' "$OUT/f/sm90-wide-$1.txt" | tr '\n' ' '; echo
}
# s29_ab_arms BASE CONFIGS ARM... (sessions 30-31): one `bench` of CONFIGS an arm, in the order given (BASE runs
# dist/cuda, any other arm V dist-V/cuda; 30 repetitions, checked), BASE's files renamed to 'ship' for
# s29_ab_read.py, then its reading of the other arms; the charts dropped.
s29_ab_arms() {
  local base=$1 cfg=$2 i=0 arm k f; shift 2
  mkdir -p "$OUT/f/ab"
  for arm in "$@"; do
    i=$((i + 1)); k=dist/cuda; [ "$arm" != "$base" ] && k=dist-$arm/cuda
    FLASHMLA_CUDA_KERNELS=$k timeout -k 5 100 "${CLI[@]}" bench --backend cuda --configs "$cfg" --reps 30 --check 1 -q --out "$OUT/f/ab/ab-$i-$arm.json" > "$OUT/f/ab/ab-$i-$arm.txt" 2>&1 || echo "ab $arm rc $?"
    ts "arm $i $arm"
  done
  for f in "$OUT"/f/ab/ab-*-"$base".json; do mv "$f" "${f%-"$base".json}-ship.json"; done
  python3 bench/cuda/hopper/s29_ab_read.py "$OUT/f/ab" $(printf '%s\n' "$@" | grep -vx "$base" | awk '!s[$0]++') | tee "$OUT/f/ab.txt"
  rm -f "$OUT"/f/ab/*.svg "$OUT"/f/*.svg
}
# s29_traces CONFIGS_JSON V...: bench/cuda/hopper/s30_trace.ts on each trace build dist-V/cuda, its lines tagged V.
s29_traces() {
  local cfg=$1 v; shift
  for v in "$@"; do
    FLASHMLA_CUDA_KERNELS=dist-$v/cuda timeout -k 5 100 node build/bench/cuda/hopper/s30_trace.js "$cfg" > "$OUT/f/$v.txt" 2>&1; echo "$v rc $?"
    sed "s/ lib / $v /" "$OUT/f/$v.txt" | cut -c1-400
  done
  ts "traces done"
}
# s29_wide_checked V N: s29_wide_checks V, every queued job N at a time (s29_run_jobs), then the checks' summaries.
s29_wide_checked() { s29_wide_checks "$1"; s29_run_jobs "$2"; s29_wide_checks_report "$1"; }
# s32_sets TAG "FLASHMLA_ARGS" "OURS_ARGS" (session 32, calls 6-7): FlashMLA by bench/cuda/flashmla_protocols.py (with
# FLASHMLA_ARGS) and ours (`flashmla bench --backend cuda` with OURS_ARGS) on FlashMLA's grid plus b=1 and the uneven
# batch (full), the 34 small-batch shapes and the 25 hold-outs; FlashMLA's $OUT/fp-SET.json merged into ours's
# $OUT/TAG-SET.json. (Call 7 ran with timeouts of 120 / 150 s, call 6 with 200 / 200.)
s32_sets() {
  local tag=$1 fpa=$2 oa=$3 set
  "${CLI[@]}" bench --grid full --emit-configs "$OUT/full.json" > /dev/null
  cp bench/cuda/small-batch.json "$OUT/small-batch.json"; cp bench/cuda/combine-holdout.json "$OUT/combine-holdout.json"
  for set in ${S32_SETS:-full small-batch combine-holdout}; do # (S32_SETS: session 37's call 5 timed two of them)
    # shellcheck disable=SC2086 # the argument lists split on purpose
    PYTHONUNBUFFERED=1 timeout -k 5 200 python3 bench/cuda/flashmla_protocols.py .gpu-host/anchors $fpa --configs "$OUT/$set.json" --out "$OUT/fp-$set.json" > "$OUT/fp-$set.txt" 2>&1 || echo "fp $set rc $?"
    tail -2 "$OUT/fp-$set.txt"; ts "flashmla $set done"
    # shellcheck disable=SC2086
    timeout -k 5 200 "${CLI[@]}" bench --backend cuda --configs "$OUT/$set.json" --flashmla "$OUT/fp-$set.json" $oa --out "$OUT/$tag-$set.json" 2>&1 | grep -E 'matched|warning' | head -2
    ts "ours $set done"
  done
}
# Session 33's calls (s33_call*.sh). s33_narrow_checks V...: for each V, memcheck / synccheck of dist-V/cuda on four
# <= 32-row shapes (queued: s29_run_jobs) and sm90.test with 100 random cases in the background ($OUT/f/sm90-V.txt);
# s33_narrow_report V... prints them after s29_run_jobs.
s33_narrow_checks() {
  local v
  s29_cfg n16 8 1000 16 1; s29_cfg n32 8 1000 16 2; s29_cfg n32b 3 1500 32 1; s29_cfg n32c 128 1024 32 1
  for v in "$@"; do
    s29_san_jobs "$v" "$v-" n16 n32 n32b n32c
    ( FLASHMLA_CUDA_KERNELS=dist-$v/cuda FLASHMLA_SM90_CASES=100 timeout -k 5 200 node --test --test-reporter=tap build/test/gpu/sm90.test.js > "$OUT/f/sm90-$v.txt" 2>&1; echo "exit $?" >> "$OUT/f/sm90-$v.txt" ) &
  done
}
s33_narrow_report() {
  local v
  s37_san_report
  for v in "$@"; do echo "sm90.test $v: $(grep -E '^# (pass|fail)|^not ok' "$OUT/f/sm90-$v.txt" | tr '\n' ' ')"; done
}
# s33_n9 FILE: FlashMLA's nine 16 / 32-row rows at b=128 as a configs file.
s33_n9() {
  python3 -c 'import json,sys; json.dump([{"b": 128, "s_k": k, "h_q": h, "s_q": q} for k in (1024, 4096, 8192) for h, q in ((16, 1), (16, 2), (32, 1))], open(sys.argv[1], "w"))' "$1"
}
# s33_arms TAG "BENCH ARGS" CONFIGS ARM...: one bench of CONFIGS an arm in the order given (A: dist/cuda, V: dist-V/cuda;
# 30 repetitions, checked, with BENCH ARGS), A renamed 'ship' and read by s29_ab_read.py into $OUT/f/ab-TAG.txt.
s33_arms() { local tag=$1 args=$2; shift 2; s35_arms "$tag" "--reps 30 $args" "$@"; } # (30 repetitions: the old loop)
# s33_traces BIN KERNS CFG...: harness_trace tracecall (12 cold calls) of each CFG ("b s_k h_q s_q") for each entry of
# KERNS (TRACE_KERN values, space-separated, in order) into $OUT/f/tr/<kern>-<cfg>-<n>/; the per-rep lines and the
# tile / entry / cta tables dropped (TR_TAG: a prefix of the folders' names); then s33_end_read.py over them. BIN is
# unpacked from BIN.xz first where it is not there yet.
s33_traces() {
  local bin=$1 kerns=$2 k cfg d; shift 2
  [ -x "$bin" ] || s33_unxz "$bin"
  mkdir -p "$OUT/f/tr"
  for k in $kerns; do
    for cfg in "$@"; do
      d="$OUT/f/tr/${TR_TAG:-}$k-${cfg// /_}-$RANDOM"; mkdir -p "$d"
      # shellcheck disable=SC2086
      TRACE_KERN=$k timeout -k 5 60 "$bin" tracecall $cfg 12 "$d" > "$d/out.txt" 2>&1 || echo "trace $k $cfg rc $?"
      grep -v '^  rep ' "$d/out.txt" > "$d/o.txt"; mv "$d/o.txt" "$d/out.txt"; rm -f "$d"/*_tile.csv "$d"/*_entry.csv "$d"/*_cta.csv
    done
  done
  python3 bench/cuda/hopper/s33_end_read.py "$OUT/f/tr"
  ts "traces done"
}
# s33_pack NAME: $OUT/f as $OUT/NAME.tgz (a call returns at most 8 files), then an empty $OUT/f.
s33_pack() { tar czf "$OUT/$1.tgz" -C "$OUT" f && rm -rf "$OUT/f"; mkdir -p "$OUT/f"; ts "$1 packed"; }
# s33_unxz FILE...: FILE.xz unpacked beside it, executable (the harness binaries a call carries compressed).
s33_unxz() {
  local f
  for f in "$@"; do python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1] + ".xz"), open(sys.argv[1], "wb"))' "$f" && chmod +x "$f"; done
}
# s33_ab "FLUSH ARMS" "GRAPH ARMS": s33_arms on FlashMLA's nine 16 / 32-row rows under do_bench's protocol (--flush-mb 256)
# and back to back from CUDA graphs of 10 calls, each with its own arm order.
s33_ab() {
  local c=$OUT/f/n9.json
  s33_n9 "$c"
  # shellcheck disable=SC2086
  s33_arms flush "--flush-mb 256" "$c" $1
  # shellcheck disable=SC2086
  s33_arms graph "--graph-calls 10" "$c" $2
}
# Session 34's calls (s34_call*.sh). s34_narrow_slot V "TRACE KERNS" "FLUSH ARMS" "GRAPH ARMS": a <= 32-row candidate V's
# checks (s33_narrow_checks; its output bit for bit against the library's, dense-sm90-bitexact, 67 cases), traces of
# TRACE KERNS at 16 / 32 rows s_k 1024 and b=1 s_k 32768, then s33_arms on 13 shapes (FlashMLA's nine b=128 16 / 32-row
# rows, b=1 s_k 32768, three small batches) under do_bench's protocol and from CUDA graphs, each with its arm order.
s34_narrow_slot() {
  local v=$1 kerns=$2 c
  s33_narrow_checks "$v"
  s29_run_jobs 8
  s33_narrow_report "$v"
  timeout -k 5 200 node build/bench/cuda/hopper/dense-sm90-bitexact.js A=dist/cuda "$v=dist-$v/cuda" --cases 60 > "$OUT/f/bitexact.txt" 2>&1; echo "bitexact rc $?"
  tail -1 "$OUT/f/bitexact.txt"; grep -v identical "$OUT/f/bitexact.txt" | head -5
  ts "bitexact done"
  rm -f "$OUT"/f/*.svg
  s33_traces .devstage/harness_trace "$kerns" "128 1024 16 1" "128 1024 32 1" "1 32768 16 1"
  s33_pack "${TAG:-s34}-checks-traces"
  c=$OUT/f/n13.json
  python3 -c 'import json,sys; json.dump([{"b": 128, "s_k": k, "h_q": h, "s_q": q} for k in (1024, 4096, 8192) for h, q in ((16, 1), (16, 2), (32, 1))] + [{"b": 1, "s_k": 32768, "h_q": 16, "s_q": 1}, {"b": 16, "s_k": 2048, "h_q": 32, "s_q": 1}, {"b": 8, "s_k": 4096, "h_q": 16, "s_q": 2}, {"b": 32, "s_k": 1024, "h_q": 16, "s_q": 1}], open(sys.argv[1], "w"))' "$c"
  # shellcheck disable=SC2086 # the arm lists split on purpose
  s33_arms flush "--flush-mb 256" "$c" $3
  # shellcheck disable=SC2086
  s33_arms graph "--graph-calls 10" "$c" $4
  s33_pack "${TAG:-s34}-arms"
}
# s34_narrow_ncu TAG: ncu (warp-state sampling by SASS line, clocks not locked) of the library's 16- and 32-row entries at
# b=128 s_k 1024, one launch each (the 4th), through the CLI; the raw and SASS pages gzipped, packed as TAG-ncu.
# s34_narrow_ncu TAG [KERNEL-REGEX "B S_K H_Q S_Q NAME"...] (call 5: the >= 64-row kernel's entry by its regex and shapes).
s34_narrow_ncu() {
  local tag=$1 kre=${2:-} secs="--clock-control none --section WarpStateStats --section InstructionStats --section SourceCounters --import-source yes" s name r k
  local shapes=("128 1024 16 1 n16" "128 1024 32 1 n32")
  [ $# -gt 2 ] && shapes=("${@:3}")
  mkdir -p "$OUT/f/ncu"
  for s in "${shapes[@]}"; do
    set -- $s; name=narrow_$5; k=${kre:-mla_decode_sm90_bf16_$5}
    echo "[{\"b\":$1,\"s_k\":$2,\"h_q\":$3,\"s_q\":$4}]" > "$OUT/f/ncu/c.json"
    # shellcheck disable=SC2086
    timeout -k 5 100 ncu $secs -k regex:$k --launch-skip 3 --launch-count 1 -f -o "$OUT/f/ncu/$name" "${CLI[@]}" bench --backend cuda --configs "$OUT/f/ncu/c.json" --reps 2 --warmup 2 --check 0 --warm-ms 0 --idle-warm-ms 0 -q > "$OUT/f/ncu/$name.log" 2>&1; echo "$name rc $?"
    r="$OUT/f/ncu/$name.ncu-rep"
    if [ -f "$r" ]; then
      ncu -i "$r" --page raw --csv > "$OUT/f/ncu/$name.raw.csv" 2>&1; ncu -i "$r" --page source --csv --print-source sass > "$OUT/f/ncu/$name.sass.csv" 2>&1
      ncu -i "$r" --print-details all 2>&1 | grep -E "Duration|Elapsed Cycles|No Instruction|Warp Cycles Per Issued" | head -6; rm -f "$r"; gzip "$OUT/f/ncu/$name".*.csv
    fi
  done
  ts "ncu done"
  s33_pack "$tag-ncu"
}
# Session 35's calls. s35_arms TAG "BENCH ARGS" CONFIGS ARM...: s33_arms in do_bench's loop (no --reps: `--flush-mb 256`
# in BENCH ARGS times as triton's do_bench does, src/cli/do-bench.ts), each ARM one process in the order given. An ARM is
# parts joined by '+': its first part A (the library, dist/cuda), a variant V (dist-V/cuda) or a knob on the library; a
# knob as any part: cta / warps (FLASHMLA_CUDA_COMBINE), fill / fm (FLASHMLA_CUDA_SCHEDULE fill / flashmla), pdl
# (FLASHMLA_CUDA_PDL=1: every launch that waits, graphs included), nopdl (FLASHMLA_CUDA_PDL=0; since session 36 the
# merges are PDL launches by default), w17 (FLASHMLA_CUDA_SM90W_FROM=17). E.g. LT+pdl+w17. A renamed 'ship', read by
# s29_ab_read.py. (Session 36's calls 1-2 also had wpdl / pdlm / pdld, knobs of measurement builds at commits d9c4524 /
# its successor, removed from the library after them.)
s35_arms() {
  local tag=$1 args=$2 cfg=$3 i=0 arm k f e part first; shift 3
  mkdir -p "$OUT/f/ab-$tag"
  for arm in "$@"; do
    i=$((i + 1)); k=dist/cuda; e=(); first=1
    for part in ${arm//+/ }; do
      case $part in
        A) ;; cta | warps) e+=(FLASHMLA_CUDA_COMBINE=$part) ;; fill) e+=(FLASHMLA_CUDA_SCHEDULE=fill) ;;
        fm) e+=(FLASHMLA_CUDA_SCHEDULE=flashmla) ;; pdl) e+=(FLASHMLA_CUDA_PDL=1) ;; w17) e+=(FLASHMLA_CUDA_SM90W_FROM=17) ;;
        nopdl) e+=(FLASHMLA_CUDA_PDL=0) ;;
        kps0) e+=(FLASHMLA_CUDA_SM90W_KPS=0) ;; # (session 37: 17-32 rows of small batches by the batch rule alone)
        sf1) e+=(FLASHMLA_CUDA_SM90W_SHORT_FROM=1) ;; # (prepared for session 38: the short-item rule from 1 row)
        cq) e+=(FLASHMLA_CUDA_COMBINE_QUARTER=1) ;; # (session 38: one warp a quarter row for requests in 5+ pieces)
        cqc) e+=(FLASHMLA_CUDA_COMBINE_QUARTER=cta) ;; # (session 39: the same also in place of the CTA merge)
        q32) e+=(FLASHMLA_CUDA_COMBINE_Q32=1) ;; # (session 41: mla_combine_q32 for every step with 5-64 pieces)
        nq32) e+=(FLASHMLA_CUDA_COMBINE_Q32=0) ;; # (session 41: the library without mla_combine_q32's rule)
        *) [ $first = 1 ] && k=dist-$part/cuda || echo "s35_arms: unknown part $part of $arm" ;;
      esac
      first=0
    done
    # shellcheck disable=SC2086 # the argument list splits on purpose
    env "${e[@]}" FLASHMLA_CUDA_KERNELS=$k timeout -k 5 120 "${CLI[@]}" bench --backend cuda --configs "$cfg" --check 1 -q $args --out "$OUT/f/ab-$tag/ab-$i-$arm.json" > "$OUT/f/ab-$tag/ab-$i-$arm.txt" 2>&1 || echo "ab $tag $arm rc $?"
  done
  ts "arms $tag"
  for f in "$OUT"/f/ab-$tag/ab-*-A.json; do mv "$f" "${f%-A.json}-ship.json"; done
  # shellcheck disable=SC2046
  python3 bench/cuda/hopper/s29_ab_read.py "$OUT/f/ab-$tag" $(printf '%s\n' "$@" | grep -vx A | awk '!s[$0]++') | tee "$OUT/f/ab-$tag.txt"
  rm -f "$OUT"/f/ab-$tag/*.svg
}
# s35_record "FLASHMLA FLUSH ARGS": the recorded run's dense steps (session 34 call 3, session 35 call 4): s32_sets under
# do_bench's protocol (FlashMLA with its arguments, ours --flush-mb 256) and from CUDA graphs (both --graph-calls 10 /
# FlashMLA's graph replay), each read by s32_sets_read.py into $OUT/read-{flush,graph}.txt, FlashMLA's do_bench files
# renamed fpflush-*, and the headline rows printed.
s35_record() {
  local s
  s32_sets flush "$1" "--flush-mb 256"
  python3 bench/cuda/hopper/s32_sets_read.py "$OUT" flush > "$OUT/read-flush.txt"; grep -v '^   ' "$OUT/read-flush.txt"
  for s in ${S32_SETS:-full small-batch combine-holdout}; do mv "$OUT/fp-$s.json" "$OUT/fpflush-$s.json"; done
  s32_sets graph "--protocols graph" "--graph-calls 10"
  python3 bench/cuda/hopper/s32_sets_read.py "$OUT" graph > "$OUT/read-graph.txt"; grep -v '^   ' "$OUT/read-graph.txt"
  grep -E 'b=1 |b=4 |b=128 s_k=8192 h_q=16 s_q=1|b=128 s_k=8192 h_q=128 s_q=2' "$OUT/read-flush.txt" "$OUT/read-graph.txt" | head -12
}
# s36_final_checks [1]: the library's checks of a recorded run (session 36 call 3, session 37 call 2), on dist/cuda
# (copied to dist-LIB): memcheck / synccheck on six shapes (two 16 / 32-row narrow, two 32-row wide, 64 and 256 rows),
# racecheck on two, sm90.test with 1000 random cases (4 shards), sm90-wide.test with 300 (2 shards), with 1 also
# cuda.test (graph capture among others), then reliability's overlapping calls; summaries printed.
s36_final_checks() {
  rm -rf dist-LIB; mkdir -p dist-LIB; cp -r dist/cuda dist-LIB/cuda
  s29_cfg n16 8 1000 16 1; s29_cfg n32 8 1000 16 2; s29_cfg w32 128 1024 32 1; s29_cfg w32b 70 700 16 2; s29_cfg chk256 4 1024 128 2; s29_cfg chk64 8 1000 64 1
  s29_san_jobs LIB "" n16 n32 w32 w32b chk256 chk64
  for c in n32 w32b; do s29_rc "$c" dist/cuda "${CLI[*]} ${BQ[*]} --configs $OUT/f/c-$c.json --out $OUT/f/o-rc-$c.json"; done
  s37_sm90_shards lib 1000 4 250
  for s in 0 1; do
    ( FLASHMLA_SM90W_CASES=300 FLASHMLA_SM90W_SHARD=$s/2 timeout -k 5 250 node --test --test-reporter=tap build/test/gpu/sm90-wide.test.js > "$OUT/f/sm90w-lib-$s.txt" 2>&1; echo "exit $?" >> "$OUT/f/sm90w-lib-$s.txt" ) &
  done
  [ "${1:-0}" = 1 ] && ( FLASHMLA_REQUIRE=cuda timeout -k 5 250 node --test --test-reporter=tap build/test/gpu/cuda.test.js > "$OUT/f/cuda-lib.txt" 2>&1; echo "exit $?" >> "$OUT/f/cuda-lib.txt" ) &
  s29_run_jobs 6
  FLASHMLA_REQUIRE=cuda timeout -k 5 150 node --test --test-reporter=tap --test-name-pattern "overlapping" build/test/gpu/reliability.test.js > "$OUT/f/rel.txt" 2>&1; echo "reliability rc $?"
  grep -E '^# (pass|fail)|^not ok' "$OUT/f/rel.txt" | tr '\n' ' '; echo
  s37_san_report
  for f in "$OUT"/f/rc-*.txt; do echo "$(basename "$f" .txt): $(grep -E 'RACECHECK SUMMARY' "$f" | tail -1)"; done
  s37_sm90_report lib 4
  [ "${1:-0}" = 1 ] && echo "cuda.test: $(grep -E '^# (pass|fail)|^not ok' "$OUT/f/cuda-lib.txt" | tr '\n' ' ')"
  for s in 0 1; do echo "sm90-wide.test shard $s: $(grep -E '^# (pass|fail)|^not ok|ran the sm90w' "$OUT/f/sm90w-lib-$s.txt" | tr '\n' ' ')"; done
  rm -f "$OUT"/f/*.svg; for f in "$OUT"/f/rc-*.txt; do xz -T4 "$f"; done
}
# s36_record_pack NAME: s35_record's files (and FlashMLA's) packed as $OUT/NAME-bench.tgz, the loose copies removed.
s36_record_pack() {
  rm -f "$OUT"/*.svg
  tar czf "$OUT/$1-bench.tgz" -C "$OUT" $(cd "$OUT" && ls fp*.json flush-*.json graph-*.json read-*.txt fp-*.txt 2>/dev/null)
  rm -f "$OUT"/fp*.json "$OUT"/flush-*.json "$OUT"/graph-*.json "$OUT"/fp-*.txt "$OUT"/full.json "$OUT"/small-batch.json "$OUT"/combine-holdout.json "$OUT"/jobs.txt
}
# s37_san_report: each compute-sanitizer log's summary ($OUT/f/san-*.txt, s29_san_jobs) and each checked output's kernels
# and reference check ($OUT/f/o-*.json).
s37_san_report() {
  local f
  for f in "$OUT"/f/san-*.txt; do echo "$(basename "$f" .txt): $(grep -E 'ERROR SUMMARY' "$f" | tail -1)"; done
  python3 - "$OUT/f" <<'P'
import json, glob, os, sys
for f in sorted(glob.glob(os.path.join(sys.argv[1], 'o-*.json'))):
    d = json.load(open(f)); print(os.path.basename(f), [(r['kernel'], r['check']['ok']) for r in d['rows']])
P
}
# s37_sm90_shards TAG CASES SHARDS TIMEOUT: sm90.test with CASES random cases over SHARDS processes in the background
# (logs $OUT/f/sm90-TAG-<shard>.txt; the caller's environment applies); s37_sm90_report TAG SHARDS prints their results.
s37_sm90_shards() {
  local s
  for ((s = 0; s < $3; s++)); do
    ( FLASHMLA_SM90_CASES=$2 FLASHMLA_SM90_SHARD=$s/$3 timeout -k 5 "$4" node --test --test-reporter=tap build/test/gpu/sm90.test.js > "$OUT/f/sm90-$1-$s.txt" 2>&1; echo "exit $?" >> "$OUT/f/sm90-$1-$s.txt" ) &
  done
}
s37_sm90_report() {
  local s
  for ((s = 0; s < $2; s++)); do echo "sm90.test $1 shard $s: $(grep -E '^# (pass|fail)|^not ok|cases ran the sm90' "$OUT/f/sm90-$1-$s.txt" | tr '\n' ' ')"; done
}
# s37_rule_arms TAG SHAPES ARM [RULE ARGS...]: arms A ARM ARM A on SHAPES in do_bench's loop (ab-TAG) and from CUDA graphs
# (ab-TAGg), judged by s37_kps_rule.py with RULE ARGS after its folders and SHAPES (its output also in $OUT/rule.txt).
s37_rule_arms() {
  local tag=$1 shapes=$2 arm=$3; shift 3
  s35_arms "$tag" "--flush-mb 256 --rep-ms 100" "$shapes" A "$arm" "$arm" A
  s35_arms "${tag}g" "--graph-calls 10" "$shapes" A "$arm" "$arm" A
  python3 bench/cuda/hopper/s37_kps_rule.py "$OUT/f/ab-$tag" "$OUT/f/ab-${tag}g" "$shapes" "$@" | tee "$OUT/rule.txt"
}
# Session 38's dense FP8 calls (s38_call2..5). s38_counts "SUITE CASES SHARDS"...: test/gpu/sparse-count.ts shards in the
# background ($OUT/f/count-SUITE-i.txt); s38_dense_test: sparse.test.ts's dense blocks (20 wide and 20 dense90 random
# cases) in the background; s38_san SUITE CASES TOOL...: compute-sanitizer runs of sparse-count in the background;
# s38_checks_report prints all of them (after `wait`).
s38_counts() {
  local spec suite n k i
  for spec in "$@"; do
    read -r suite n k <<< "$spec"
    for ((i = 0; i < k; i++)); do timeout -k 5 200 node build/test/gpu/sparse-count.js "$n" cuda "$suite" "$i/$k" > "$OUT/f/count-$suite-$i.txt" 2>&1 & done
  done
}
s38_dense_test() {
  FLASHMLA_GPU_DENSE64_CASES=20 FLASHMLA_GPU_DENSE90_CASES=20 timeout -k 5 200 node --test --test-reporter=tap --test-name-pattern="dense" \
    build/test/gpu/sparse.test.js > "$OUT/f/sparse-test-dense.tap" 2>&1 &
}
s38_san() {
  local suite=$1 n=$2 tool; shift 2
  for tool in "$@"; do timeout -k 5 200 compute-sanitizer --tool "$tool" --print-limit 20 node build/test/gpu/sparse-count.js "$n" cuda "$suite" > "$OUT/f/san-$tool.txt" 2>&1 & done
}
s38_checks_report() {
  local f
  cat "$OUT"/f/count-*.txt
  grep -E '^# (tests|pass|fail)|^ *not ok' "$OUT/f/sparse-test-dense.tap"
  for f in "$OUT"/f/san-*.txt; do echo "$(basename "$f" .txt): $(grep -E 'ERROR SUMMARY' "$f" | tail -1) $(grep -E 'pass' "$f" | tr '\n' ' ')"; done
}
# s38_dense_arms HEADS ARM...: `flashmla bench --mode sparse --dense-only` at the h_q list HEADS (b=128 s_k 8192, do_bench's
# loop) once an arm, in order: A the library, D --dense-device-lens, M FLASHMLA_CUDA_DENSE_FP8_SPARSE=0 (sparse_mma.cu
# from 64 heads), MD both; read by s38_dense_read.py.
s38_dense_arms() {
  local heads=$1 i=0 arm; shift
  for arm in "$@"; do
    i=$((i + 1)); local e=() x=()
    case $arm in M | MD) e=(FLASHMLA_CUDA_DENSE_FP8_SPARSE=0) ;; esac
    case $arm in D | MD) x=(--dense-device-lens) ;; esac
    env "${e[@]}" timeout -k 5 150 "${CLI[@]}" bench --mode sparse --backend cuda --dense-only --dense-heads "$heads" --flush-mb 256 "${x[@]}" \
      --out "$OUT/f/dense-$i-$arm.json" -q > "$OUT/f/dense-$i-$arm.txt" 2>&1 || echo "dense $arm rc $?"
    ts "dense $i $arm"
  done
  python3 bench/cuda/hopper/s38_dense_read.py "$OUT/f"
}
# s38_quarter_arms SHAPES: session 38's calls 7-8 for mla_combine_quarter: combine-quarter-bitexact (80 matrix cases + the
# fixed ones) and sm90.test (100 random cases) with FLASHMLA_CUDA_COMBINE_QUARTER=1, then arms A cq cq A on SHAPES in
# do_bench's loop (ab-q) and from graphs (ab-qg), judged by s38_quarter_rule.py ($OUT/rule.txt).
s38_quarter_arms() {
  timeout -k 5 200 node build/bench/cuda/hopper/combine-quarter-bitexact.js --cases 80 > "$OUT/f/bitexact.txt" 2>&1 &
  FLASHMLA_CUDA_COMBINE_QUARTER=1 FLASHMLA_SM90_CASES=100 timeout -k 5 200 node --test --test-reporter=tap build/test/gpu/sm90.test.js > "$OUT/f/sm90-cq.tap" 2>&1 &
  wait
  ts "checks done"
  tail -1 "$OUT/f/bitexact.txt"; grep -v identical "$OUT/f/bitexact.txt" | head -5
  grep -E '^# (tests|pass|fail)|^not ok' "$OUT/f/sm90-cq.tap"
  s35_arms q "--flush-mb 256 --rep-ms 100" "$1" A cq cq A
  s35_arms qg "--graph-calls 10" "$1" A cq cq A
  python3 bench/cuda/hopper/s38_quarter_rule.py "$OUT/f/ab-q" "$OUT/f/ab-qg" | tee "$OUT/rule.txt" | tail -8
}
# Session 39. s39_sparse_arms TAG "BENCH ARGS" ARM...: `flashmla bench --mode sparse` once an arm, in order ($OUT/f/sp-TAG/
# sp-<i>-<arm>.json): A the library, T sparse_mma.cu's combineTrip (FLASHMLA_CUDA_SPARSE_COMBINE=trip, a PDL dependent), TN
# the same without PDL (FLASHMLA_CUDA_PDL=0), O the old combine (FLASHMLA_CUDA_SPARSE_COMBINE=old); read by s39_sparse_ab.py.
s39_sparse_arms() {
  local tag=$1 args=$2 i=0 arm; shift 2
  mkdir -p "$OUT/f/sp-$tag"
  for arm in "$@"; do
    i=$((i + 1)); local e=()
    case $arm in T) e=(FLASHMLA_CUDA_SPARSE_COMBINE=trip) ;; TN) e=(FLASHMLA_CUDA_SPARSE_COMBINE=trip FLASHMLA_CUDA_PDL=0) ;; O) e=(FLASHMLA_CUDA_SPARSE_COMBINE=old) ;; esac
    # shellcheck disable=SC2086 # the argument list splits on purpose
    env "${e[@]}" timeout -k 5 200 "${CLI[@]}" bench --mode sparse --backend cuda $args --out "$OUT/f/sp-$tag/sp-$i-$arm.json" -q > "$OUT/f/sp-$tag/sp-$i-$arm.txt" 2>&1 || echo "sparse $arm rc $?"
    ts "sparse $tag $i $arm"
  done
  python3 bench/cuda/hopper/s39_sparse_ab.py "$OUT/f/sp-$tag" | tee "$OUT/f/sp-$tag.txt"
}
