#!/usr/bin/env bash
# Session 30: a variant kernel folder dist-NAME/cuda = dist/cuda with decode_sm90_wide.fatbin rebuilt with extra nvcc
# defines (build-kernels' flags, sm_90a), its manifest's checksum updated and the defines recorded.
#   bash bench/cuda/hopper/s30_variant.sh NAME -DMLA_SM90W_LIB_VARB=... [-D...]
set -euo pipefail
name=$1; shift
rm -rf "dist-$name"; mkdir -p "dist-$name"; cp -r dist/cuda "dist-$name/cuda"
( cd src/backends/cuda/kernels && nvcc -std=c++17 -O3 --Werror all-warnings -Xptxas -warn-spills --threads 0 -gencode arch=compute_90a,code=sm_90a -fatbin "$@" -o "../../../../dist-$name/cuda/decode_sm90_wide.fatbin" decode_sm90_wide.cu 2>&1 | grep -v C7519 || true )
python3 - "dist-$name/cuda" "$@" <<'P'
import hashlib, json, sys
d = sys.argv[1]; m = json.load(open(d + '/manifest.json'))
m['files']['decode_sm90_wide.fatbin'] = hashlib.sha256(open(d + '/decode_sm90_wide.fatbin', 'rb').read()).hexdigest()
m['defines'] = sorted(set(m.get('defines', []) + sys.argv[2:]))
json.dump(m, open(d + '/manifest.json', 'w'), indent=2)
print(d, m['files']['decode_sm90_wide.fatbin'][:16], m['defines'])
P
