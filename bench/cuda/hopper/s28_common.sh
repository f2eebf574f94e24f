# Session 28's call scripts (bench/cuda/hopper/s28_call*.sh), sourced from the tree's root on the GPU host.
# s28_unpack PACK: a pack made on the development machine (an xz tar of build/ = tsc of the tree, dist/cuda = its sm_90a
# fatbins and, where present, strict/ = the verification build's changed fatbins and manifest; packed because the 64 MiB
# a call carries do not hold them beside node) into build/, dist/cuda and, with strict/, dist-strict/cuda (dist/cuda's
# fatbins with strict/ over them). Then .gpu-host is entered and FLASHMLA_CUDA_KERNELS points at dist/cuda.
s28_unpack() {
  local pack=$1
  if [ -f "$pack" ]; then
    python3 -c 'import lzma,tarfile,sys; tarfile.open(fileobj=lzma.open(sys.argv[1])).extractall(".devstage/s28")' "$pack"
    rm -rf build; mkdir -p dist; mv .devstage/s28/build build; rm -rf dist/cuda; mv .devstage/s28/dist/cuda dist/cuda
    if [ -d .devstage/s28/strict ]; then
      rm -rf dist-strict; mkdir -p dist-strict/cuda; cp dist/cuda/*.fatbin dist-strict/cuda/ && cp .devstage/s28/strict/* dist-strict/cuda/
    fi
  fi
  source .gpu-host/enter.sh >/dev/null 2>&1
  export FLASHMLA_CUDA_KERNELS=dist/cuda
}
