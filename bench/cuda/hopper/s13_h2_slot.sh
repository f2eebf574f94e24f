#!/bin/bash
# Historical (session 14): narftz, "+f" / "+wf" (kNVarEx2Ftz, combine.cu FTZ) no longer exist in harness_gap.cu; a record of call A.
# Session 13, h2's first slot (prepared in session 12 round 3, no device time then; predictions written before any
# run in docs/notes/cuda-hopper-decode.md, "Session 12 round 3 (h2)"). From the merged tree's root on the GPU host:
#   bash .devstage/h2-s13/s13_h2_slot.sh $OUT/h2s13      (carry [".gpu-host", ".devstage/h2-s13"]; ~75 s; HG = the
#                                                        folder of harness_gap.gz, default the script's own)
# The candidate: kVarEx2Ftz (decode_sm90_wide.cu; harness entries ftz = lib + it, ftzf = lib + it + kVarFoldScale).
# 1. sass: cuobjdump of the entries lib / ftz / ftzf: instructions, FSETP / FMUL / MUFU / FFMA, local memory (gate:
#    ftz has fewer instructions and FSETP than lib, the same MUFU, no LDL/STL).
# 2. in parallel: checks of ftz+w and ftzf+w (random cases against the float64 reference, bf16 and f16; 2 processes
#    each) and memcheck of ftz+w (2 cases); and ncu (SourceCounters: executed instructions per SASS line, so opcode
#    NAMES) of lib, ftz and FlashMLA 9241ae3's splitkv_mla_kernel, one launch inside a sustained run at s_k 8192 /
#    128 rows (b 128): "opc" / "opf" lines, warp instructions a tile by opcode, lib against fm, then ftz against fm.
#    (Counts only: cycles there are not timed alone, the checks run beside it.)
# 3. (checks clean, sass gate passed) abb, short interleaved bursts, lib+w / ftz+w / ftzf+w at s_k 1024 / 4096 / 8192
#    x 128 / 256 rows and a 64-row control.
# 4. "h2s13 rule ftz: PASS|FAIL ..." and "h2s13 rule ftzf: ..." (the ship rule in the note).
# Round 4 (h2) added the narrow kernel's candidate, kNVarEx2Ftz (decode_sm90.cu; harness "narftz" = nar + it): its
# sass gate in 1 (n16 / n32 entries), its checks in 2 (Q_SCALE 1: bit-identical results expected, so its worst rel
# equals nar+w's on the same seed; Q_SCALE 64: scores spread over hundreds in base 2, the flush path taken; and a
# memcheck), its A/B in 3 (nar+w / narftz+w, 3 shapes), "h2s13 rule narftz: ..." in 4. NAR=0 skips it. With it,
# combine.cu's FTZ (splitExp) as "+wf" (combineWarps) / "+f" (combine): checked at Q_SCALE 64 and timed as a third
# kernel of the same A/B rows ("h2s13 rule narftz+c: ...").
set -u
S=$SECONDS; ts() { echo "[+$((SECONDS - S))s] $*"; }
O=${1:-${OUT:-./out}/h2s13}; mkdir -p "$O"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HG=${HG:-$HERE}
[ -f .gpu-host/enter.sh ] && source .gpu-host/enter.sh > /dev/null 2>&1
G=/tmp/hg-s13h2/harness_gap; mkdir -p /tmp/hg-s13h2
if [ -f "$HG/harness_gap.gz" ]; then gunzip -c "$HG/harness_gap.gz" > $G; else cp "$HG/harness_gap" $G; fi
chmod +x $G || { echo "h2s13: no harness at $HG"; exit 2; }
FMDIR=${FMDIR:-bench/cuda/hopper}; PY=${PY:-$HERE}
[ -f "$PY/ncu_opcodes.py" ] || PY=bench/cuda/hopper
echo "h2s13: $(nvidia-smi --query-gpu=name,clocks.sm,temperature.gpu,power.draw --format=csv,noheader 2>/dev/null); ncu $(ncu --version 2>/dev/null | tail -1)"

# 1. sass
gate=1
E="mla_decode_sm90w_bf16 mla_decode_sm90w_bf16_gftz mla_decode_sm90w_bf16_gftzf"
for e in $E; do cuobjdump -sass -fun $e $G 2> /dev/null > "$O/sass_$e.txt" & done
wait
for e in $E; do
  f="$O/sass_$e.txt"
  echo "sass $e: $(grep -E '^\s+/\*[0-9a-f]{4,6}\*/' "$f" | grep -vc ' NOP') instructions (NOP excl.); FSETP $(grep -c ' FSETP' "$f") FMUL $(grep -c ' FMUL' "$f") FFMA $(grep -c ' FFMA' "$f") MUFU.EX2 $(grep -c 'MUFU.EX2' "$f") HGMMA $(grep -c HGMMA "$f") LDL/STL $(grep -cE 'LDL|STL' "$f")"
done | tee "$O/sass.txt"
python3 - "$O/sass.txt" << 'PY' || gate=0
import re, sys
d = {}
for l in open(sys.argv[1]):
    m = re.match(r"sass (\S+): (\d+) instructions.*FSETP (\d+) FMUL (\d+) FFMA (\d+) MUFU.EX2 (\d+) HGMMA (\d+) LDL/STL (\d+)", l)
    if m: d[m.group(1)] = list(map(int, m.groups()[1:]))
lib, ftz = d.get("mla_decode_sm90w_bf16"), d.get("mla_decode_sm90w_bf16_gftz")
ok = bool(lib and ftz) and ftz[0] < lib[0] and ftz[1] < lib[1] and ftz[4] == lib[4] and ftz[6] == 0 and d.get("mla_decode_sm90w_bf16_gftzf", [0] * 7)[6] == 0
print("h2s13 sass gate: %s (instructions lib %s ftz %s, FSETP %s -> %s, MUFU.EX2 %s -> %s)" % (
    "PASS" if ok else "FAIL", lib and lib[0], ftz and ftz[0], lib and lib[1], ftz and ftz[1], lib and lib[4], ftz and ftz[4]))
sys.exit(0 if ok else 1)
PY
ts "sass done (gate $gate)"
ngate=0
if [ "${NAR:-1}" = 1 ]; then
  EN="mla_decode_sm90_bf16_n16 mla_decode_sm90_gftz_bf16_n16 mla_decode_sm90_bf16_n32 mla_decode_sm90_gftz_bf16_n32"
  for e in $EN; do cuobjdump -sass -fun $e $G 2> /dev/null > "$O/sass_$e.txt" & done
  wait
  for e in $EN; do
    f="$O/sass_$e.txt"
    echo "sass $e: $(grep -E '^\s+/\*[0-9a-f]{4,6}\*/' "$f" | grep -vc ' NOP') instructions (NOP excl.); FSETP $(grep -c ' FSETP' "$f") FMUL $(grep -c ' FMUL' "$f") FFMA $(grep -c ' FFMA' "$f") MUFU.EX2 $(grep -c 'MUFU.EX2' "$f") HGMMA $(grep -c HGMMA "$f") LDL/STL $(grep -cE 'LDL|STL' "$f")"
  done | tee "$O/sass_nar.txt"
  python3 - "$O/sass_nar.txt" << 'PY' && ngate=1
import re, sys
d = {}
for l in open(sys.argv[1]):
    m = re.match(r"sass (\S+): (\d+) instructions.*FSETP (\d+) FMUL (\d+) FFMA (\d+) MUFU.EX2 (\d+) HGMMA (\d+) LDL/STL (\d+)", l)
    if m: d[m.group(1)] = list(map(int, m.groups()[1:]))
ok, msg = True, []
for nr in (16, 32):
    lib, ftz = d.get("mla_decode_sm90_bf16_n%d" % nr), d.get("mla_decode_sm90_gftz_bf16_n%d" % nr)
    ok = ok and bool(lib and ftz) and ftz[0] < lib[0] and ftz[1] < lib[1] and ftz[4] == lib[4] and ftz[5] == lib[5] and ftz[6] == 0
    msg.append("n%d instructions %s -> %s, FSETP %s -> %s, MUFU.EX2 %s -> %s" % (nr, lib and lib[0], ftz and ftz[0], lib and lib[1], ftz and ftz[1], lib and lib[4], ftz and ftz[4]))
print("h2s13 nar sass gate: %s (%s)" % ("PASS" if ok else "FAIL", "; ".join(msg)))
sys.exit(0 if ok else 1)
PY
  ts "nar sass done (gate $ngate)"
fi

# 2. checks and memcheck beside ncu
pids=""
for c in ftz+w ftzf+w; do
  for i in 1 2; do
    ( CHECK_KERNEL=$c CHECK_CHUNK=5 timeout ${CHECK_S:-45} $G check ${CHECK_N:-30} $((70 + i)) > "$O/check_${c%+w}_$i.log" 2>&1; echo "rc=$?" >> "$O/check_${c%+w}_$i.log" ) &
    pids="$pids $!"
  done
done
( CHECK_KERNEL=ftz+w timeout ${SAN_S:-45} compute-sanitizer --tool memcheck $G check 2 81 > "$O/memcheck.log" 2>&1; echo "rc=$?" >> "$O/memcheck.log" ) &
pids="$pids $!"
if [ "${NAR:-1}" = 1 ]; then # the narrow kernel's: name:Q_SCALE:seed (nar+w the control on the same cases)
  for c in narftz+w:1:71 nar+w:1:71 narftz+w:64:73 nar+w:64:73 narftz+wf:64:73 narftz+f:64:74; do
    IFS=: read -r k qs sd <<< "$c"
    nm=${k%+w}; nm=checkn_${nm//+/_}_q${qs}_$sd # narftz+w -> checkn_narftz_q1_71, narftz+wf -> checkn_narftz_wf_q64_73
    ( Q_SCALE=$qs CHECK_KERNEL=$k CHECK_CHUNK=5 timeout ${CHECK_S:-45} $G check ${CHECK_N:-30} $sd > "$O/$nm.log" 2>&1; echo "rc=$?" >> "$O/$nm.log" ) &
    pids="$pids $!"
  done
  ( Q_SCALE=64 CHECK_KERNEL=narftz+w timeout ${SAN_S:-45} compute-sanitizer --tool memcheck $G check 2 82 > "$O/memcheck_nar.log" 2>&1; echo "rc=$?" >> "$O/memcheck_nar.log" ) &
  pids="$pids $!"
fi
n=${NCU_N:-200}; SH=128,8192,128,1
prof() { # name kernel-regex command...
  local name=$1 kre=$2; shift 2
  timeout ${NCU_S:-40} ncu --section SourceCounters --section InstructionStats --metrics sm__inst_executed.sum,sm__cycles_elapsed.max \
    --cache-control none --clock-control none -k regex:$kre --launch-skip $n --launch-count 1 -f -o "$O/ncu_$name" "$@" > "$O/ncu_$name.log" 2>&1
  echo "ncu $name rc=$?"
  timeout 20 ncu -i "$O/ncu_$name.ncu-rep" --page source --csv --print-source sass 2> /dev/null | gzip > "$O/$name.sass.csv.gz"
  # the same counts by the per-opcode metric, whose instance names this flag prints (where this ncu has it)
  timeout 15 ncu -i "$O/ncu_$name.ncu-rep" --page raw --print-metric-instances details --metrics sass__inst_executed_per_opcode,sm__inst_executed.sum > "$O/$name.opcode_raw.txt" 2>&1
  timeout 15 ncu -i "$O/ncu_$name.ncu-rep" --page raw --csv 2> /dev/null | gzip > "$O/$name.raw.csv.gz"
  rm -f "$O/ncu_$name.ncu-rep"
}
if [ "${NCU:-1}" = 1 ]; then
  ( prof lib sm90w $G b2bn ${SH//,/ } $((n + 10)) lib
    prof ftz sm90w $G b2bn ${SH//,/ } $((n + 10)) ftz
    prof fm splitkv_mla_kernel python3 "$FMDIR/flashmla_gap.py" --anchors .gpu-host/anchors --b2bn $((n + 10)) $SH ) > "$O/ncu.txt" 2>&1 &
  npid=$!
fi
wait $pids
for c in ftz ftzf; do
  echo "check $c+w: $(cat "$O"/check_${c}_*.log | grep -o '[0-9]* cases run, [0-9]* failed, worst rel [0-9.e+-]*' | awk '{ r += $1; f += $4; w = ($8 + 0 > w) ? $8 + 0 : w } END { printf "%d cases, %d failed, worst rel %.2e", r, f, w }'); f16 ok: $(cat "$O"/check_${c}_*.log | grep -c '^ok.* f16 '); $(grep -h '^rc=' "$O"/check_${c}_*.log | tr '\n' ' ')$(grep -h -m2 '^FAIL' "$O"/check_${c}_*.log | head -2 | tr '\n' ' ')"
done | tee "$O/check.txt"
echo "memcheck ftz+w: $(grep -h 'ERROR SUMMARY\|cases run' "$O/memcheck.log" | tr '\n' ' ') $(grep -h '^rc=' "$O/memcheck.log")" | tee -a "$O/check.txt"
if [ "${NAR:-1}" = 1 ]; then
  for f in "$O"/checkn_*.log; do
    echo "checkn $(basename $f .log): $(grep -o '[0-9]* cases run, [0-9]* failed, worst rel [0-9.e+-]*' "$f" | awk '{ r += $1; f += $4; w = ($8 + 0 > w) ? $8 + 0 : w } END { printf "%d cases, %d failed, worst rel %.3e", r, f, w }'); f16 ok $(grep -c '^ok.* f16 ' "$f"); $(grep -h '^rc=' "$f")$(grep -h -m2 '^FAIL' "$f" | head -2 | tr '\n' ' ')"
  done | tee "$O/checkn.txt"
  echo "memcheck narftz+w (Q_SCALE 64): $(grep -h 'ERROR SUMMARY\|cases run' "$O/memcheck_nar.log" | tr '\n' ' ') $(grep -h '^rc=' "$O/memcheck_nar.log")" | tee -a "$O/checkn.txt"
  # Q_SCALE 1: every exponent argument is >= -126 (scores span ~10 in base 2), so narftz's results are nar's bit for
  # bit: the same seed's cases give the same worst rel in every chunk of 5 (and the first 3 cases' rel).
  a=$(grep -oE 'worst rel [0-9.e+-]*|rel=[0-9.e+-]*' "$O/checkn_narftz_q1_71.log" | tr '\n' ' '); b=$(grep -oE 'worst rel [0-9.e+-]*|rel=[0-9.e+-]*' "$O/checkn_nar_q1_71.log" | tr '\n' ' ')
  echo "checkn seed 71 Q_SCALE 1: narftz+w vs nar+w per-chunk worst rel: $([ -n "$a" ] && [ "$a" = "$b" ] && echo SAME || echo DIFFERENT) ($(echo $a | wc -w) numbers)" | tee -a "$O/checkn.txt"
fi
ts "checks done"
[ -n "${npid:-}" ] && wait $npid
cat "$O/ncu.txt"
if [ "${NCU:-1}" = 1 ]; then
  python3 "$PY/ncu_opcodes.py" --per 32768 --top ${TOP:-24} lib="$O/lib.sass.csv.gz" fm="$O/fm.sass.csv.gz" ftz="$O/ftz.sass.csv.gz" | tee "$O/opcodes.txt"
  python3 "$PY/ncu_opcodes.py" --per 32768 --top 12 ftz="$O/ftz.sass.csv.gz" fm="$O/fm.sass.csv.gz" | grep -E '^opc ' | tee -a "$O/opcodes.txt"
  python3 - "$O" << 'PY'
import csv, gzip, os, sys
for x in ("lib", "ftz", "fm"):
    p = os.path.join(sys.argv[1], x + ".raw.csv.gz")
    try:
        rows = list(csv.reader(gzip.open(p, "rt", errors="replace")))
        h, v = rows[0], rows[-1]
        get = lambda k: float(v[h.index(k)].replace(",", "")) if k in h else float("nan")
        i, c = get("sm__inst_executed.sum"), get("sm__cycles_elapsed.max")
        print("ncu %s: warp instructions a tile %.0f, cycles (max SM) %.0f (not alone: checks ran beside it)" % (x, i / 32768, c))
    except Exception as e:
        print("ncu %s: raw page unreadable (%s)" % (x, e))
PY
fi
ts "ncu done"

# 3. A/B
if [ $gate = 1 ] && grep -q 'ftz+w: [1-9][0-9]* cases, 0 failed' "$O/check.txt" || [ "${FORCE:-0}" = 1 ]; then
  for s in ${AB_SHAPES:-128,8192,128,1 128,8192,128,2 128,4096,128,1 128,4096,128,2 128,1024,128,1 128,1024,128,2 128,4096,64,1}; do
    AB_KERNELS="${AB_K:-lib+w ftz+w ftzf+w}" IDLE_MS=${IDLE_MS:-100} ROUNDS=${ROUNDS:-8} timeout ${AB_S:-12} $G abb ${s//,/ } 2>&1 | grep '^abb' | tee -a "$O/ab.txt"
  done
  ts "ab done"
else
  echo "h2s13: sass gate or ftz check not clean: no A/B"
fi
if [ "${NAR:-1}" = 1 ]; then
  if { [ $ngate = 1 ] && ! grep -qE 'checkn .*(, [1-9][0-9]* failed|rc=[1-9])' "$O/checkn.txt" && grep -q 'narftz_q64_73: [1-9][0-9]* cases, 0 failed' "$O/checkn.txt"; } || [ "${FORCE:-0}" = 1 ]; then
    for s in ${AB_NSHAPES:-128,1024,32,1 128,8192,32,1 1,32768,16,1}; do
      w=+w; [ "${s%%,*}" = 1 ] && w= # the library's combine: combineWarps at b = 128, combine at b = 1 (launch.ts combinePick)
      AB_KERNELS="nar$w narftz$w narftz${w:-+}f" IDLE_MS=${IDLE_MS:-100} ROUNDS=${NROUNDS:-6} timeout ${AB_S:-12} $G abb ${s//,/ } 2>&1 | grep '^abb' | tee -a "$O/ab_nar.txt"
    done
    ts "nar ab done"
  else
    echo "h2s13: nar sass gate or narftz check not clean: no nar A/B"
  fi
fi
python3 - "$O" << 'PY' | tee "$O/summary.txt"
import os, re, sys
o = sys.argv[1]
p = os.path.join(o, "ab.txt")
ab = open(p).read() if os.path.exists(p) else ""
chk = open(os.path.join(o, "check.txt")).read() if os.path.exists(os.path.join(o, "check.txt")) else ""
rows = []
for l in ab.splitlines():
    m = re.search(r"s_k=(\d+),h_q=\d+,s_q=\d+ rows=(\d+)", l)
    ks = re.findall(r"\| (\S+) ([\d.]+) us ([\d.]+)", l)
    if m and ks:
        rows.append((int(m.group(2)), int(m.group(1)), {k: (float(us), float(r)) for k, us, r in ks}))
for name in ("ftz+w", "ftzf+w"):
    rs = [(r, sk, d[name][1], d[next(iter(d))][0], d[name][0]) for r, sk, d in rows if name in d]
    if not rs:
        print("h2s13 rule %s: no A/B" % name); continue
    for r, sk, x, a, b in rs:
        print("h2s13 A/B rows %d s_k %d: lib+w %.1f us, %s %.1f us, lib/%s %.3f" % (r, sk, a, name, b, name.split("+")[0], x))
    long_ = [x for r, sk, x, a, b in rs if r >= 128 and sk >= 4096]
    clean = re.search(re.escape(name) + r": [1-9]\d* cases, 0 failed", chk) is not None
    ok = clean and bool(long_) and min(long_) >= 1.005 and min(x for _, _, x, _, _ in rs) >= 0.997
    print("h2s13 rule %s: %s (check clean %s; 128/256 rows at s_k >= 4096 min %.3f (each >= 1.005), all rows min %.3f (each >= 0.997))" % (
        name, "PASS" if ok else "FAIL", clean, min(long_) if long_ else float("nan"), min(x for _, _, x, _, _ in rs)))
# The narrow kernel (round 4): memory-bound, so level expected; the rule asks for no loss (each row >= 0.995, geomean
# >= 1.000) with every narrow check clean and the Q_SCALE 1 results the same as nar's.
p = os.path.join(o, "ab_nar.txt")
ab = open(p).read() if os.path.exists(p) else ""
cn = open(os.path.join(o, "checkn.txt")).read() if os.path.exists(os.path.join(o, "checkn.txt")) else ""
rs = []
for l in ab.splitlines():
    m = re.search(r"b=(\d+),s_k=(\d+),h_q=\d+,s_q=\d+ rows=(\d+)", l)
    ks = re.findall(r"\| (\S+) ([\d.]+) us ([\d.]+)", l)
    if m and len(ks) >= 3:
        rs.append((int(m.group(1)), int(m.group(2)), int(m.group(3)), float(ks[0][1]), float(ks[1][1]), float(ks[1][2]), float(ks[2][1]), float(ks[2][2])))
for b, sk, r, a, x, q, y, qc in rs:
    print("h2s13 nar A/B b %d s_k %d rows %d: nar %.1f us, narftz %.1f us (nar/narftz %.3f), + ftz combine %.1f us (nar/that %.3f)" % (b, sk, r, a, x, q, y, qc))
import math
clean = "failed" in cn and re.search(r", [1-9]\d* failed|rc=[1-9]", cn) is None and "SAME" in cn
for name, i in (("narftz", 5), ("narftz+c", 7)):
    if not rs:
        print("h2s13 rule %s: no A/B" % name); continue
    qs = [row[i] for row in rs]
    gm = math.exp(sum(math.log(q) for q in qs) / len(qs))
    ok = clean and min(qs) >= 0.995 and gm >= 1.0
    print("h2s13 rule %s: %s (checks clean and Q_SCALE 1 same as nar: %s; min %.3f (each >= 0.995), geomean %.3f (>= 1.000))" % (
        name, "PASS" if ok else "FAIL", clean, min(qs), gm))
PY
ts "end"
