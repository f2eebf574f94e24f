# Sourced by the sparse_sm90.cu build-mode scripts beside it (sparse-sm90-ab.sh, -probes.sh, -round.sh,
# -final-ab.sh): one build of a mode, and the swap of a fatbin into a kernel folder with its manifest hash updated
# (the backend refuses a fatbin whose sha256 differs from dist/cuda/manifest.json).

# sparse_sm90_build MODE OUT.fatbin: sparse_sm90.cu with -DMLA_SPARSE_SM90_MODE=MODE, the flags of scripts/build-kernels.mjs.
sparse_sm90_build() {
  nvcc -std=c++17 -O3 --Werror all-warnings -Xptxas -warn-spills --threads 0 -DMLA_SPARSE_SM90_MODE="$1" -gencode arch=compute_90a,code=sm_90a \
    -fatbin -o "$2" src/backends/cuda/kernels/sparse_sm90.cu
}

# sparse_sm90_rehash DIR: DIR/manifest.json's sha256 of DIR/sparse_sm90.fatbin, recomputed.
sparse_sm90_rehash() {
  python3 - "$1" <<'PY'
import hashlib, json, sys
d = sys.argv[1]
j = json.load(open(d + "/manifest.json"))
j["files"]["sparse_sm90.fatbin"] = hashlib.sha256(open(d + "/sparse_sm90.fatbin", "rb").read()).hexdigest()
json.dump(j, open(d + "/manifest.json", "w"), indent=1)
PY
}

# sparse_sm90_swap FATBIN [DIR=dist/cuda]: FATBIN becomes DIR's sparse_sm90.fatbin.
sparse_sm90_swap() {
  local d=${2:-dist/cuda}
  cp "$1" "$d/sparse_sm90.fatbin" && sparse_sm90_rehash "$d"
}
