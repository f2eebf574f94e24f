# Session 29's call scripts (bench/cuda/hopper/s29_call*.sh), sourced from the tree's root on the GPU host.
# s29_unpack PACK: an xz tar made on the development machine with build/ (tsc of the tree), dist/cuda (sm_90a fatbins
# of the default build) and, for each other build V, V/ with the fatbins that differ from dist/cuda plus its manifest;
# unpacked into build/, dist/cuda and dist-V/cuda (dist/cuda's fatbins with V/ over them). Then .gpu-host is entered
# and FLASHMLA_CUDA_KERNELS points at dist/cuda.
s29_unpack() {
  local pack=$1 v
  if [ -f "$pack" ]; then
    rm -rf .devstage/s29; mkdir -p .devstage/s29
    python3 -c 'import lzma,tarfile,sys; tarfile.open(fileobj=lzma.open(sys.argv[1])).extractall(sys.argv[2])' "$pack" .devstage/s29
    rm -rf build; mv .devstage/s29/build build
    mkdir -p dist; rm -rf dist/cuda; mv .devstage/s29/dist/cuda dist/cuda
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
  for v in "$@"; do
    mkdir -p "$st/$v"; cp "dist-$v/cuda/manifest.json" "$st/$v/"
    for f in "dist-$v"/cuda/*.fatbin; do cmp -s "$f" "dist/cuda/$(basename "$f")" || cp "$f" "$st/$v/"; done
  done
  tar cf - -C "$st" . | xz -T2 -6 > "$out"; rm -rf "$st"; ls -la "$out"
}
