# Sourced by the dense FP8 slots (s13.sh, s13r2.sh): the pick's extra checks, side by side.
# pickChecks TAG C DIR: MORE (default 240) dense90 cases in 4 shards (seeds 90000 ..; the first CASES are ab.sh's
# again), memcheck and synccheck on SAN_CASES (default 2) cases, racecheck on 1 case of C (kernels in DIR) and of the
# shipped dist/cuda.
# Prints one line a shard and a tool; sets ok (1 = every shard and both tools clean) and rc / rs (the racecheck logs
# of C and of the shipped build), whose rule each slot states itself. Logs: $OUT/TAG-*.
# pickFolder PICK: prints the pick; sets c (the pick, or with none the first of VARS, for the record) and d (its
# kernel folder from ab.sh); exits the slot (status 0, KEEP) when that folder is missing.
pickFolder() {
  echo "pick: $1"
  c=$1; { [ "$1" = none ] || [ -z "$1" ]; } && c=v${VARS%% *}
  d=/tmp/dab-$c
  [ -d $d ] || { echo "KEEP the shipped build (no kernel folder for $c)"; exit 0; }
}
pickChecks() {
  local tag=$1 c=$2 d=$3 s t k kd l r
  local more=${MORE:-240}
  for s in 0 1 2 3; do
    FLASHMLA_CUDA_KERNELS=$d timeout -k 5 50 node build/test/gpu/sparse-count.js $more cuda dense90 $s/4 > "$OUT/$tag-$c-c$s.txt" 2>&1 &
  done
  for t in memcheck synccheck; do
    FLASHMLA_CUDA_KERNELS=$d timeout -k 5 55 compute-sanitizer --tool $t node build/test/gpu/sparse-count.js ${SAN_CASES:-2} cuda dense90 > "$OUT/$tag-$t-$c.txt" 2>&1 &
  done
  for k in $c shipped; do
    kd=$d; [ $k = shipped ] && kd=$PWD/dist/cuda
    FLASHMLA_CUDA_KERNELS=$kd timeout -k 5 ${RC_TIMEOUT:-45} compute-sanitizer --tool racecheck node build/test/gpu/sparse-count.js 1 cuda dense90 > "$OUT/$tag-racecheck-$k.txt" 2>&1 &
  done
  wait
  ok=1
  for s in 0 1 2 3; do
    l=$(grep -E 'dense90 shard' "$OUT/$tag-$c-c$s.txt"); echo "$c more: $l"
    echo "$l" | grep -qE ': ([1-9][0-9]*)/\1 pass' || ok=0
  done
  for t in memcheck synccheck; do
    r=$(tail -2 "$OUT/$tag-$t-$c.txt" | tr '\n' ' '); echo "$c $t: $r"
    echo "$r" | grep -qE 'dense90: ([1-9][0-9]*)/\1 pass.*ERROR SUMMARY: 0 errors' || ok=0
  done
  rc=$OUT/$tag-racecheck-$c.txt rs=$OUT/$tag-racecheck-shipped.txt
}
# raceGate (after pickChecks): racecheck gates on hazard classes, not counts (session 13 call C's rule). A class is
# (kernel entry, the two access kinds of a reported pair, unordered) over the mla_dense_fp8 reports; C passes when every
# class it shows is one the shipped build shows too (else ok=0). Not gating when either run printed no summary. The
# dispatch build's n16w3 entry (bit 4398046511104) counts as the 16-row entry: its code is session 18 call G's n16.
raceClasses() { # hazard classes: (entry, {access kind of the first report line, of each "and" line})
  awk '/Race reported between/ { split($0, a, "Race reported between "); split(a[2], w, " "); k = w[1]; e = a[2]; sub(/.* at /, "", e); sub(/\+.*/, "", e); next }
       /^=========     and / && k != "" { split($0, a, "and "); split(a[2], w, " "); x = (k < w[1]) ? k "/" w[1] : w[1] "/" k; print e " " x; next }
       { k = "" }' "$1" | grep mla_dense_fp8 | sed 's/mla_dense_fp8_sm90_v32_bf16_n16w3 /mla_dense_fp8_sm90_v32_bf16_n16 /' | sort -u
}
raceGate() {
  local h hs cc cs new
  if grep -q 'RACECHECK SUMMARY' "$rc" && grep -q 'RACECHECK SUMMARY' "$rs"; then
    h=$(grep -cE 'Race reported.*mla_dense_fp8' "$rc") hs=$(grep -cE 'Race reported.*mla_dense_fp8' "$rs")
    cc=$(raceClasses "$rc" | tr '\n' ';') cs=$(raceClasses "$rs" | tr '\n' ';')
    new=$(comm -23 <(raceClasses "$rc") <(raceClasses "$rs") | tr '\n' ';')
    echo "$c racecheck: $(grep 'RACECHECK SUMMARY' "$rc" | tail -1 | tr -s ' '); reports in mla_dense_fp8 kernels: $h (shipped: $hs); classes: $cc (shipped: $cs); new classes: ${new:-none}"
    [ -z "$new" ] || ok=0
  else
    echo "$c racecheck: no summary from both runs (timed out?), not gating: $(tail -1 "$rc" | cut -c1-120) / $(tail -1 "$rs" | cut -c1-120)"
  fi
}
# w3Folder DIR W3TILES [FATBIN]: a copy of dist/cuda whose manifest names the 16-row dispatch threshold W3TILES (json:
# a number, 0 = every 16-row launch on n16w3, null = never) and 384 threads at 16 rows; with FATBIN, that
# dense_fp8_sm90.fatbin instead of the shipped one (the manifest's sha256 follows it). (The s19-h3 slots.)
w3Folder() {
  rm -rf "$1"; mkdir -p "$1"; cp dist/cuda/* "$1/"; [ -n "${3:-}" ] && cp "$3" "$1/dense_fp8_sm90.fatbin"
  python3 - "$1" "$2" <<'PY'
import hashlib, json, sys
d = sys.argv[1]
j = json.load(open(d + "/manifest.json"))
j["files"]["dense_fp8_sm90.fatbin"] = hashlib.sha256(open(d + "/dense_fp8_sm90.fatbin", "rb").read()).hexdigest()
j["denseFp8Sm90Threads16"] = 384
j["denseFp8Sm90W3Tiles"] = json.loads(sys.argv[2])
json.dump(j, open(d + "/manifest.json", "w"), indent=1)
PY
}
# dense90qSide NAME=DIR ...: QCASES (default 60) dense90q cases on each kernel folder, side by side ($OUT/q-NAME.txt;
# Q_TIMEOUT, default 30 s, each), then a line a folder and its first two failure lines; qpass NAME: that run's pass
# count. (The f16 score path's suite: s19_h3b.sh, s20_h3.sh.)
dense90qSide() {
  local b n l
  for b in "$@"; do
    FLASHMLA_CUDA_KERNELS=${b#*=} timeout -k 5 ${Q_TIMEOUT:-30} node build/test/gpu/sparse-count.js ${QCASES:-60} cuda dense90q > "$OUT/q-${b%%=*}.txt" 2>&1 &
  done
  wait
  for b in "$@"; do
    n=${b%%=*}
    l=$(grep -E 'dense90q' "$OUT/q-$n.txt" | head -1); echo "dense90q $n: ${l:-no result ($(tail -1 "$OUT/q-$n.txt" | cut -c1-160))}"
    grep -E '^  ' "$OUT/q-$n.txt" | head -2 | cut -c1-300
  done
}
qpass() { sed -nE 's/.*dense90q: ([0-9]+)\/[0-9]+ pass.*/\1/p' "$OUT/q-$1.txt" | head -1; }
# dense90qGate FATBIN NAME: the f16 score path's gate (s19_h3b.sh, s20_h3.sh, s20_f1.sh): two folders of FATBIN,
# /tmp/NAME-f48 (dispatch 48) and /tmp/NAME-fall (every 16-row launch on n16w3), and the shipped dist/cuda as the
# control through dense90qSide (Q_TIMEOUT default 25 s here); sets qs / q48 / qall (pass counts) and qok (1 = each folder
# passes at least as many as the control, all QCASES where the control printed no count); prints the summary line.
dense90qGate() {
  w3Folder /tmp/$2-f48 48 "$1"; w3Folder /tmp/$2-fall 0 "$1"
  Q_TIMEOUT=${Q_TIMEOUT:-25} dense90qSide "${2}48=/tmp/$2-f48" "${2}all=/tmp/$2-fall" shipped=$PWD/dist/cuda
  qs=$(qpass shipped) q48=$(qpass "${2}48") qall=$(qpass "${2}all")
  qok=0; [ -n "$q48" ] && [ -n "$qall" ] && [ "$q48" -ge "${qs:-${QCASES:-60}}" ] && [ "$qall" -ge "${qs:-${QCASES:-60}}" ] && qok=1
  echo "dense90q done: $2 folders pass ${q48:-?} / ${qall:-?}, the shipped control ${qs:-?} ($2 ok: $qok)"
}
# ownThreshold FATBIN NAME LEFT [SHAPES]: a candidate's own n16 against its n16w3 (s19_h3.sh's frame with FF = FATBIN:
# all three folders take it), a diagnostic that never gates, in LEFT seconds at most (two passes, 10 reps x 3 rounds);
# $OUT/NAME-s19.txt, its `# ` lines prefixed `NAME: `, then its verdict line. (s20_h3.sh, s20_f1.sh.)
ownThreshold() {
  FF=$1 OUT=$OUT/$2 SH=${4:-2048x16x1,3072x16x1,4096x16x1,5120x16x1,6144x16x1,7168x16x1,8192x16x1} TIME_TIMEOUT=$((($3 - 6) / 2)) \
    REPS=10 ROUNDS=3 timeout -k 3 $(($3 - 3)) bash "$(dirname "${BASH_SOURCE[0]}")/s19_h3.sh" > "$OUT/$2-s19.txt" 2>&1
  grep -E '^# ' "$OUT/$2-s19.txt" | head -14 | sed "s/^/$2: /"
  echo "$2's own threshold (diagnostic, its n16 vs its n16w3): $(tail -1 "$OUT/$2-s19.txt")"
}
# h4Verdict V V4 NAME: the last line of a slot gated by s18_h4.sh (V4 its last line) and dense90qGate's qok.
h4Verdict() {
  if [ "$2" = "SHIP v$1" ] && [ "$qok" = 1 ]; then echo "SHIP v$1"
  elif [ "$2" = "SHIP v$1" ]; then echo "KEEP the shipped build (v$1 failed dense90q above)"
  else echo "KEEP the shipped build: ${2#KEEP the shipped build } (dense90q $3 folders ok $qok)"; fi
}
# h4Run V LIM: s18_h4.sh on candidate V (stage $HB) with the rule's limits LIM, every 16-row launch on n16w3 for the
# extra checks, the diagnostic at 2048 / 4096 x 16 x 1 and x 32 x 1 and the stall reasons (STALLS, default 1); $OUT/h4.txt,
# its last 40 lines printed; sets v4 (its verdict line). (s20_h3.sh, s20_f1.sh.)
h4Run() {
  V=$1 HB=$HB W3ALL=1 H4_NCU=0 STALLS=${STALLS:-1} DIAG_SHAPES=2048x16x1,4096x16x1,2048x32x1,4096x32x1 TIME_TIMEOUT=${TIME_TIMEOUT:-30} \
    CHECK_TIMEOUT=${CHECK_TIMEOUT:-30} LIM="$2" bash "$(dirname "${BASH_SOURCE[0]}")/s18_h4.sh" > "$OUT/h4.txt" 2>&1
  grep -vE '^$' "$OUT/h4.txt" | tail -40 | cut -c1-400
  v4=$(tail -1 "$OUT/h4.txt")
}
