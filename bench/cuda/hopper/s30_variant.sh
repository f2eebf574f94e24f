#!/usr/bin/env bash
# Session 30: a variant kernel folder dist-NAME/cuda = dist/cuda with one fatbin (SRC, default decode_sm90_wide)
# rebuilt with extra nvcc defines (build-kernels' flags, sm_90a), its manifest's checksum updated and the defines added to
# its flags (as build-kernels' --define records them).
#   [SRC=decode_sm90] bash bench/cuda/hopper/s30_variant.sh NAME -DMLA_SM90W_LIB_VARB=... [-D...]
set -euo pipefail
name=$1; shift
src=${SRC:-decode_sm90_wide}
rm -rf "dist-$name"; mkdir -p "dist-$name"; cp -r dist/cuda "dist-$name/cuda"
( cd src/backends/cuda/kernels && nvcc -std=c++17 -O3 --Werror all-warnings -Xptxas -warn-spills --threads 0 -gencode arch=compute_90a,code=sm_90a -fatbin "$@" -o "../../../../dist-$name/cuda/$src.fatbin" "$src.cu" 2>&1 | grep -v C7519 || true )
python3 - "dist-$name/cuda" "$src.fatbin" "$@" <<'P'
import hashlib, json, sys
d, f = sys.argv[1], sys.argv[2]; m = json.load(open(d + '/manifest.json'))
m['files'][f] = hashlib.sha256(open(d + '/' + f, 'rb').read()).hexdigest()
m['flags'] = m['flags'] + [a for a in sys.argv[3:] if a not in m['flags']]
json.dump(m, open(d + '/manifest.json', 'w'), indent=2)
print(d, f, m['files'][f][:16], m['flags'])
P
