#!/bin/bash
# Session 19 (h1): the wide dense kernel without its producer warpgroup (decode_sm90_wide.cu, VARB kVarBNoProd: 256
# threads, the TMA refills issued by the releasing consumer thread, up to 255 registers a thread without setmaxnreg).
# Harness entries (harness_gap.cu): lib = the shipped kLibVar x932758302 (384 threads), np = the same bits + kVarBNoProd;
# "+w" = combineWarps, as the library. Predictions and the ship rule: docs/notes/cuda-hopper-decode.md, "Session 19
# (h1)", written before any run. Harness only: needs neither dist/cuda, build/ nor Node; compute-sanitizer and
# cuobjdump from /usr/local/cuda/bin. From the merged tree's root:
#   OUT=<dir> timeout 110 bash bench/cuda/hopper/s19_h1_slot.sh          (~75-95 s warm; stage .devstage/s19-h1)
# 1. in parallel: the SASS of np's entries (cuobjdump: HGMMA, LDL / STL, against lib's), random cases of np+w against
#    the float64 reference (bf16 and f16, the harness's 64-256-row shapes, single and split requests), memcheck of np+w
#    (2 cases).
# 2. if np checked clean: abb (interleaved bursts, the order alternating each round) of lib+w and np+w at b 128, s_k 8192
#    / 4096 x (h_q 128 s_q 2: 256 rows; h_q 128 s_q 1 and h_q 64 s_q 2: 128 rows), then the 64-row control (s_k 8192,
#    h_q 64 s_q 1).
# 3. the rule (s19_h1_rule.py): last line "SHIP np ..." or "KEEP lib ...". Files under $OUT/s19h1/.
set -u
S=$SECONDS; ts() { echo "[+$((SECONDS - S))s] $*"; }
O=${OUT:-./out}/s19h1; mkdir -p "$O"
HG=${HG:-.devstage/s19-h1}
export PATH=$PATH:/usr/local/cuda/bin
D=/tmp/hg-s19h1; G=$D/harness_gap; mkdir -p $D
xz -dc "$HG/harness_gap.xz" > $G && chmod +x $G || { echo "s19h1: no harness at $HG"; echo "KEEP lib (no harness)"; exit 2; }
(cd $D && sha256sum -c "$OLDPWD/$HG/UNPACKED.sha256" > /dev/null 2>&1) && echo "s19h1: harness sha256 ok" || echo "s19h1: harness sha256 MISMATCH"
echo "s19h1: $(sha256sum $G | cut -c1-16) $(nvidia-smi --query-gpu=name,clocks.sm,temperature.gpu,power.draw --format=csv,noheader 2>/dev/null)"

# 1. SASS, checks, memcheck in parallel
( for f in mla_decode_sm90w_bf16 mla_decode_sm90w_bf16_gnp mla_decode_sm90w_f16_gnp; do
    timeout 25 cuobjdump -sass -fun $f $G > $D/sass_$f.txt 2>&1
    echo "sass $f: HGMMA $(grep -c 'HGMMA' $D/sass_$f.txt) LDL $(grep -c 'LDL' $D/sass_$f.txt) STL $(grep -c 'STL' $D/sass_$f.txt) UTMALDG $(grep -c 'UTMALDG' $D/sass_$f.txt) WARPGROUP.DEPBAR $(grep -c 'WARPGROUP.DEPBAR' $D/sass_$f.txt) lines $(wc -l < $D/sass_$f.txt)"
  done > "$O/sass.txt" 2>&1 ) &
p1=$!
( CHECK_KERNEL=np+w CHECK_CHUNK=6 timeout ${CHECK_S:-40} $G check ${CHECK_N:-20} 191 > "$O/check_np.log" 2>&1; echo "rc=$?" >> "$O/check_np.log" ) &
p2=$!
( CHECK_KERNEL=np+w timeout ${SAN_S:-40} compute-sanitizer --tool memcheck $G check 2 193 > "$O/memcheck_np.log" 2>&1; echo "rc=$?" >> "$O/memcheck_np.log" ) &
p3=$!
wait $p1 $p2 $p3
sumline() { grep -o '[0-9]* cases run, [0-9]* failed, worst rel [0-9.e+-]*' "$@" | awk '{ r += $1; f += $4; w = ($8 + 0 > w) ? $8 + 0 : w } END { printf "%d cases, %d failed, worst rel %.3e", r, f, w }'; }
{
  echo "check np+w: $(sumline "$O/check_np.log"); f16 ok: $(grep -c '^ok.* f16 ' "$O/check_np.log"); split ok: $(grep -c '^ok.*splits=[2-9]' "$O/check_np.log"); $(grep -h '^rc=' "$O/check_np.log") $(grep -h -m2 '^FAIL' "$O/check_np.log" | tr '\n' ' ')"
  echo "memcheck np+w: $(grep -h 'ERROR SUMMARY\|cases run' "$O/memcheck_np.log" | tr '\n' ' ') $(grep -h '^rc=' "$O/memcheck_np.log")"
  cat "$O/sass.txt"
} | tee "$O/check.txt"
ts "checks done"

# 2. A/B, only if np checked clean
if grep -qE "^check np\+w: [1-9][0-9]* cases, 0 failed.*rc=0" "$O/check.txt"; then
  for s in ${AB_SHAPES:-128,8192,128,2 128,8192,128,1 128,8192,64,2 128,4096,128,2 128,4096,128,1 128,4096,64,2 128,8192,64,1}; do
    AB_KERNELS="lib+w np+w" IDLE_MS=${IDLE_MS:-50} ROUNDS=${ROUNDS:-8} timeout ${AB_S:-8} $G abb ${s//,/ } 2>&1 | grep '^abb' | tee -a "$O/ab.txt"
  done
  ts "ab done"
else
  echo "s19h1: np did not check clean: no A/B"
fi

# 3. the rule (written before any run, in the note)
ts "rule"
python3 bench/cuda/hopper/s19_h1_rule.py "$O" | tee "$O/summary.txt"
