#!/usr/bin/env bash
# Session 71: the pack of call 2 (bench/cuda/hopper/s71_call2.sh), on the development machine, from the repository root:
#   bash bench/cuda/hopper/s71_pack.sh [BASE]      -> .devstage/s71c2.tar.xz
# build/ is the tsc output of this tree; dist/cuda the library's default sm_90a build (BASE: a folder holding one, e.g.
# an earlier pack's dist/cuda whose fatbins are this tree's byte for byte; else build-kernels.mjs makes it, a few
# minutes). Each variant is dist/cuda with sparse_sm90.fatbin rebuilt by nvcc with its defines and the manifest's sha256
# and flags to match (only that kernel differs, so only it is compiled). The stamp builds spill a few bytes and are
# compiled without -warn-spills (probes, never shipped). The default sparse_sm90.fatbin is compiled here too and must
# equal dist/cuda's (`cmp`), or the pack would time a stale baseline.
set -euo pipefail
base=${1:-}
npx tsc -p tsconfig.json --noEmit false --outDir build --declaration false --sourceMap false
rm -rf dist/cuda && mkdir -p dist
if [ -n "$base" ]; then cp -r "$base" dist/cuda; else
  node scripts/build-kernels.mjs --launch build/src/backends/cuda/kernels/launch.js --out dist/cuda --gencode arch=compute_90a,code=sm_90a
fi
fb=$(mktemp -d)
nv=(nvcc -std=c++17 -O3 --Werror all-warnings --threads 0 -gencode arch=compute_90a,code=sm_90a -fatbin)
(cd src/backends/cuda/kernels && "${nv[@]}" -Xptxas -warn-spills -o "$fb/ship.fatbin" sparse_sm90.cu)
cmp "$fb/ship.fatbin" dist/cuda/sparse_sm90.fatbin || { echo "dist/cuda's sparse_sm90.fatbin is not this tree's default build"; exit 2; }
variants=(owl:-DMLA_SPARSE_SM90_OW=1 owf:-DMLA_SPARSE_SM90_OW=2 owp:-DMLA_SPARSE_SM90_OWPROBE=1 stamp:-DMLA_SPARSE_SM90_STAMP=1
  "stampowp:-DMLA_SPARSE_SM90_STAMP=1 -DMLA_SPARSE_SM90_OWPROBE=1" "stampowl:-DMLA_SPARSE_SM90_STAMP=1 -DMLA_SPARSE_SM90_OW=1")
names=()
for v in "${variants[@]}"; do
  n=${v%%:*}; read -r -a defs <<< "${v#*:}"; names+=("$n")
  spill=(-Xptxas -warn-spills); [[ $n == stamp* ]] && spill=()
  (cd src/backends/cuda/kernels && "${nv[@]}" "${spill[@]}" "${defs[@]}" -o "$fb/$n.fatbin" sparse_sm90.cu)
  rm -rf "dist-$n"; mkdir -p "dist-$n"; cp -r dist/cuda "dist-$n/cuda"; cp "$fb/$n.fatbin" "dist-$n/cuda/sparse_sm90.fatbin"
  python3 - "dist-$n/cuda" "$n" "${defs[@]}" <<'P'
import hashlib, json, sys
d, name, defs = sys.argv[1], sys.argv[2], sys.argv[3:]
m = json.load(open(f'{d}/manifest.json'))
flags = [f for f in m['flags'] if not (name.startswith('stamp') and f in ('-Xptxas', '-warn-spills'))]
m['flags'] = flags + defs
m['files']['sparse_sm90.fatbin'] = hashlib.sha256(open(f'{d}/sparse_sm90.fatbin', 'rb').read()).hexdigest()
json.dump(m, open(f'{d}/manifest.json', 'w'), indent=1)
P
done
rm -rf "$fb"
source bench/cuda/hopper/s29_common.sh && s29_pack .devstage/s71c2.tar.xz "${names[@]}"
for n in "${names[@]}"; do rm -rf "dist-$n"; done # packed; left in the tree they would travel with every device call
