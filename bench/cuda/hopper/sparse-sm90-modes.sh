# Sourced by the sparse_sm90.cu build-mode scripts beside it (sparse-sm90-ab.sh, -probes.sh, -round.sh,
# -final-ab.sh): one build of a mode, and the swap of a fatbin into a kernel folder with its manifest hash updated
# (the backend refuses a fatbin whose sha256 differs from dist/cuda/manifest.json).

# sparse_sm90_build MODE OUT.fatbin: sparse_sm90.cu with -DMLA_SPARSE_SM90_MODE=MODE, the flags of scripts/build-kernels.mjs.
sparse_sm90_build() {
  nvcc -std=c++17 -O3 --Werror all-warnings -Xptxas -warn-spills --threads 0 -DMLA_SPARSE_SM90_MODE="$1" -gencode arch=compute_90a,code=sm_90a \
    -fatbin -o "$2" src/backends/cuda/kernels/sparse_sm90.cu
}

# sparse_sm90_rehash DIR [FILE=sparse_sm90.fatbin]: DIR/manifest.json's sha256 of DIR/FILE, recomputed (s17_h3_slot.sh
# uses it for combine.fatbin).
sparse_sm90_rehash() {
  python3 - "$1" "${2:-sparse_sm90.fatbin}" <<'PY'
import hashlib, json, sys
d, f = sys.argv[1], sys.argv[2]
j = json.load(open(d + "/manifest.json"))
j["files"][f] = hashlib.sha256(open(d + "/" + f, "rb").read()).hexdigest()
json.dump(j, open(d + "/manifest.json", "w"), indent=1)
PY
}

# sparse_sm90_swap FATBIN [DIR=dist/cuda]: FATBIN becomes DIR's sparse_sm90.fatbin.
sparse_sm90_swap() {
  local d=${2:-dist/cuda}
  cp "$1" "$d/sparse_sm90.fatbin" && sparse_sm90_rehash "$d"
}

# slot_left / slot_cap N: a slot's seconds left before $END (counted from the caller's start $S), and a step's timeout: its
# own N, or what is left (s20_s1_slot.sh; the earlier slots define the same as left / cap).
slot_left() { echo $((END - (SECONDS - S))); }
slot_cap() { local l; l=$(slot_left); [ "$1" -lt "$l" ] && echo "$1" || echo "$l"; }

# sparse_slot_goldens: $FLASHMLA_GOLDEN_SPARSE from .gpu-host/golden-sparse.tar.xz when it is unset and the archive was
# carried (calls B / C4 / E of session 19 carried it packed); logged through the caller's `ts`.
sparse_slot_goldens() {
  if [ -z "${FLASHMLA_GOLDEN_SPARSE:-}" ] && [ -f .gpu-host/golden-sparse.tar.xz ]; then
    tar xJf .gpu-host/golden-sparse.tar.xz -C .gpu-host && [ -d .gpu-host/golden-sparse ] && export FLASHMLA_GOLDEN_SPARSE=$PWD/.gpu-host/golden-sparse
  fi
  ts "goldens: ${FLASHMLA_GOLDEN_SPARSE:-none (the checks will not pass: the rule needs the goldens)}"
}

# sparse_slot_stage STAGE HB BASE MODE...: a slot's prologue. Unpacks STAGE/fatbins.tar.xz into HB (emptied first),
# checks its SHA256SUMS, and logs (through the caller's `ts` and $OUT/log.txt) dist/cuda's sparse_sm90 hash against
# the shipped mode BASE and each candidate MODE's fatbin hash.
sparse_slot_stage() {
  local stage=$1 hb=$2 base=$3 m; shift 3
  rm -rf "$hb"; mkdir -p "$hb"
  tar xJf "$stage/fatbins.tar.xz" -C "$hb" && (cd "$hb" && sha256sum -c --quiet SHA256SUMS) \
    && ts "fatbins: $(ls "$hb" | grep -c fatbin) ok (SHA256SUMS)" || ts "fatbins: BAD STAGE"
  echo "dist/cuda sparse_sm90 $(sha256sum < dist/cuda/sparse_sm90.fatbin | cut -c1-16) (the shipped build: m$base)" | tee -a "$OUT/log.txt"
  for m in "$@"; do echo "m$m $(sha256sum < "$hb/sparse_sm90_m$m.fatbin" | cut -c1-16)" | tee -a "$OUT/log.txt"; done
}

# sparse_slot_base HB BASE: after sparse_slot_stage, dist/cuda's sparse_sm90.fatbin becomes HB's staged build of the shipped
# mode BASE if it is not that already (the lead's dist/cuda may hold an older shipped build); logged through `ts`.
sparse_slot_base() {
  local want have
  want=$(sha256sum < "$1/sparse_sm90_m$2.fatbin" | cut -c1-16); have=$(sha256sum < dist/cuda/sparse_sm90.fatbin | cut -c1-16)
  [ "$want" = "$have" ] || { sparse_sm90_swap "$1/sparse_sm90_m$2.fatbin" dist/cuda; ts "dist/cuda sparse_sm90 was $have: staged m$2 swapped in"; }
}

# sparse_slot_begin STAGE HB SHIP FM_TIMEOUT MODE...: a slot's whole prologue (the caller sets $OUT and `ts`): sparse_slot_stage,
# sparse_slot_base, then FlashMLA's bench_sparse.py into $OUT/flashmla-sparse.json (its log $OUT/flashmla-sparse.txt) within
# FM_TIMEOUT seconds.
sparse_slot_begin() {
  local stage=$1 hb=$2 ship=$3 fmt=$4; shift 4
  sparse_slot_stage "$stage" "$hb" "$ship" "$ship" "$@"
  sparse_slot_base "$hb" "$ship"
  PYTHONUNBUFFERED=1 timeout -k 5 "$fmt" python3 .gpu-host/anchors/flashmla-sparse/bench_sparse.py --out "$OUT/flashmla-sparse.json" > "$OUT/flashmla-sparse.txt" 2>&1
  ts "flashmla sparse rc=$?"
}

# sparse_slot_san KDIR SECONDS [TOOLS]: compute-sanitizer's TOOLS (default "memcheck racecheck") side by side (within
# SECONDS) on the kernel folder KDIR at h_q 128 (2 'fast' cases a format: the pair entries; SAN_HQ=64: the one-CTA entries),
# into $OUT/san-<tool>.txt; logs through the caller's `ts` the pass counts and summaries, then racecheck's distinct race
# sites if it ran. (run_s14_h5r2.sh, s17_h1r2_slot.sh, s18_h2_slot.sh, s18_h2r3_slot.sh.)
sparse_slot_san() {
  local tool tools=${3:-memcheck racecheck}
  for tool in $tools; do
    FLASHMLA_CUDA_KERNELS=$1 FLASHMLA_GPU_SPARSE_CASES=0 FLASHMLA_GPU_DENSE90_CASES=0 FLASHMLA_GPU_SPARSE_SM90_CASES=2 FLASHMLA_GPU_SPARSE_SM90_HQ=${SAN_HQ:-128} \
      timeout -k 2 "$2" compute-sanitizer --tool $tool --target-processes all --print-limit 20 \
      node --test --test-reporter=tap --test-name-pattern='hQ 64 / 128$' build/test/gpu/sparse.test.js > "$OUT/san-$tool.txt" 2>&1 &
  done
  wait
  for tool in $tools; do
    ts "san-$tool: $(grep -E '^# (pass|fail) ' "$OUT/san-$tool.txt" | tr -d '#' | xargs) $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$OUT/san-$tool.txt" | tail -1)"
  done
  [ -f "$OUT/san-racecheck.txt" ] && grep -E 'Race reported' "$OUT/san-racecheck.txt" | sed -E 's/^(========= [A-Za-z]+: Race reported between [A-Za-z]+ access at [^ ]+).*/\1/' \
    | LC_ALL=C sort | uniq -c | head -12 | tee -a "$OUT/log.txt"
}

# sparse_slot_m1items SECONDS BUILD...: the MODEL1 item probe (sparse-sm90-final-ab.js --shapes m1items, 2 rounds of 10) on the
# builds (name=kernel folder) within SECONDS, into $OUT/m1items.json / m1items.txt; logs its rows and sparse_sm90_items_s13.py's
# per-build lines (us an item, a tile, fixed at k512) and FlashMLA's. (s17_h1_slot.sh, s18_h2_slot.sh.)
sparse_slot_m1items() {
  local t=$1; shift
  timeout -k 3 "$t" node build/bench/cuda/hopper/sparse-sm90-final-ab.js "$OUT/flashmla-sparse.json" "$@" --shapes m1items --reps 10 --rounds 2 \
    --json "$OUT/m1items.json" > "$OUT/m1items.txt" 2>&1
  ts "m1items rc=$?"
  grep -v '^\[+' "$OUT/m1items.txt" | tail -8 | tee -a "$OUT/log.txt"
  timeout 10 python3 bench/cuda/hopper/sparse_sm90_items_s13.py "$OUT/m1items.json" 2>&1 | grep -E 'us an item|^FlashMLA' | tee -a "$OUT/log.txt"
}

# sparse_slot_checked AB_TXT MODE: whether MODE's check line in AB_TXT (sparse-sm90-final-ab.sh's stdout) says all passed.
sparse_slot_checked() {
  python3 -c "import sys; sys.path.insert(0, 'bench/cuda/hopper'); from s16_h2_rule import checks_ok; sys.exit(0 if checks_ok(open('$1').read(), $2) else 1)"
}
