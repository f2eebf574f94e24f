#!/usr/bin/env bash
# Session 24 (issue #13): the NVIDIA driver's SASS of the WebGPU decode pipelines, read from its shader disk cache.
# Each pipeline is built by Dawn in a child process (pipeline-stats.mjs's child role) with the driver's disk cache in a
# folder of its own; glcache-sass.py unpacks the cache and disassembles its code sections with nvdisasm.
# From the tree's root on the GPU host, with .gpu-host (webgpu package included) and build/ (tsc) carried:
#   OUT=$OUT bash scripts/webgpu-tools/h200-s24-sass.sh      (NAMES: pipeline-stats.mjs's names; ZSTD: a zstd binary)
set -u
source .gpu-host/enter.sh >/dev/null
export PATH=/usr/local/cuda/bin:$PATH
W=${WORK:-/tmp/s24-sass}; rm -rf "$W"; mkdir -p "$W"
NAMES=${NAMES:-"matrix5-sg8 matrix5-t16 matrix5-nl f32-rows16 f16"}
echo "nvdisasm: $(command -v nvdisasm || echo missing); zstd: ${ZSTD:-zstd}"
for n in $NAMES; do
  d=$W/glc/$n; mkdir -p "$d"
  (export __GL_SHADER_DISK_CACHE=1 __GL_SHADER_DISK_CACHE_PATH=$d __GL_SHADER_DISK_CACHE_SKIP_CLEANUP=1 CHILD_WAIT_MS=${CHILD_WAIT_MS:-1500}
   timeout 90 node scripts/webgpu-tools/pipeline-stats.mjs "$W/spv" child "$n") > "$W/$n.child.log" 2>&1
  rc=$?
  echo "== $n: child rc $rc, cache files: $(find "$d" -type f -printf '%P(%s) ' | head -c 600)"
  grep -E '^ERROR|Error|error' "$W/$n.child.log" | head -5
  python3 scripts/webgpu-tools/glcache-sass.py "$d" "$W/sass/$n" 2>&1 | head -40
done
tar czf "$OUT/all.tgz" -C "$W" sass glc
