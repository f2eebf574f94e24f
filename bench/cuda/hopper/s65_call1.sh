#!/usr/bin/env bash
# Session 65, call 1 (issue #14): sparse_sm90.cu bounds device ids itself (idLive: the unsigned compare with the cache's
# token count where it tested id >= 0), so sparse steps with device indices run no pre-pass (mla_sparse_bound; sessions
# 53-55: a launch, 2.9 % of the kernel's time on an H100, 1.9 % with the decode PDL-launched behind it).
# Arms, each a full `flashmla bench --mode sparse` (FlashMLA's 12 shapes, indices on the device, do_bench's loop, flush
# 256 MB), alternating, two rounds: new = this build (no pass); pass = the previous kernels (dist-old) behind the pass,
# as shipped before this session (FLASHMLA_CUDA_SPARSE_BOUND=pass); nob = the previous kernels with no bound at all
# (FLASHMLA_CUDA_SPARSE_BOUND=0: the speed the bound is measured against). FlashMLA 9241ae3's table first, same call.
# Then memcheck of the stray-id tests on the new build.
# Predictions (written before the run): new / pass 0.975-0.99 geomean (the pass's net ~1.9 %), every shape 0.96-1.00;
# new / nob 0.995-1.01 (8-24 more instructions in 4888-8016, at the use sites, off the index load's chain); memcheck 0
# errors; against FlashMLA the new arm 1.02-1.04x geomean with MODEL1 h_q 128 top-k 512 >= 0.95x on an H200 (session
# 61: 1.013x, 0.941x).
# Rule: ship if call 2's checks pass, memcheck is clean, new / pass <= 0.995 (geomean) in both rounds with no shape above
# 1.01 in both, and new / nob <= 1.01. Measured (H100; results/gpu-host/bench/hopper/s65/call1/): new / pass 0.996 /
# 0.994, new / nob 1.016 / 1.016, memcheck 0 errors: the rule failed (KEEP); the cost is the select between the two
# caches a token (call 2).
#   (here)   rm -rf build && npx tsc -p tsconfig.json --noEmit false --outDir build --declaration false --sourceMap false
#            node scripts/build-kernels.mjs --launch build/src/backends/cuda/kernels/launch.js --out dist/cuda --gencode arch=compute_90a,code=sm_90a
#            (dist-old/cuda: the same with the previous commit's sparse_sm90.cu)
#            source bench/cuda/hopper/s29_common.sh && s29_pack .devstage/s65c1.tar.xz old
#   (device) ln -sfn .ghc .gpu-host && OUT=$OUT bash bench/cuda/hopper/s65_call1.sh > $OUT/log.txt 2>&1
export PACK=${PACK:-.devstage/s65c1.tar.xz} BUDGET=${BUDGET:-560}
source bench/cuda/hopper/s50_common.sh && s50_setup s65c1 # (W, CLI, ts, lim)
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu --format=csv,noheader
PYTHONUNBUFFERED=1 timeout -k 5 "$(lim 75)" python3 bench/cuda/flashmla_sparse_protocols.py .gpu-host/anchors/flashmla-sparse --out "$W/fp-sparse.json" --deadline 55 > "$W/fp-sparse.txt" 2>&1 || echo "sparse anchor rc $?"
ts "flashmla sparse"
for r in 1 2; do
  for arm in new:dist/cuda: pass:dist-old/cuda:pass nob:dist-old/cuda:0; do
    IFS=: read -r tag dir bound <<< "$arm"
    FLASHMLA_CUDA_SPARSE_BOUND=$bound FLASHMLA_CUDA_KERNELS=$dir timeout -k 5 "$(lim 45)" "${CLI[@]}" bench --mode sparse --backend cuda --flush-mb 256 --rep-ms 30 \
      --dense-heads none --flashmla "$W/fp-sparse.json" --out "$W/ab-$tag$r.json" > "$W/ab-$tag$r.txt" 2>&1
    echo "ab $tag$r rc $?: $(grep -aE "geometric" "$W/ab-$tag$r.txt" | head -1 | cut -c1-150)"
  done
  ts "round $r"
done
python3 - "$W" <<'P'
import json, math, os, sys
w = sys.argv[1]
def rows(t):
    f = os.path.join(w, f'ab-{t}.json')
    return json.load(open(f))['rows'] if os.path.exists(f) else None
for r in '12':
    new, pas, nob = rows('new' + r), rows('pass' + r), rows('nob' + r)
    if not new: continue
    for name, other in (('pass', pas), ('nob', nob)):
        if not other: continue
        q = [a['us'] / b['us'] for a, b in zip(new, other)]
        print(f"round {r} new / {name}: geomean {math.exp(sum(map(math.log, q)) / len(q)):.4f}, {min(q):.3f}-{max(q):.3f}")
    for a, b, c in zip(new, pas or new, nob or new):
        print(f"  {a['label']:<22} h_q {a['hQ']:>3} s_q {a['sQ']} topk {a['topk_total']:>5}: new {a['us']:7.1f} pass {b['us']:7.1f} nob {c['us']:7.1f} us"
              f"  new/pass {a['us'] / b['us']:.3f} new/nob {a['us'] / c['us']:.3f}  vs FlashMLA {a.get('ratio_vs_flashmla', 0):.3f} (pass {b.get('ratio_vs_flashmla', 0):.3f})")
    fm = [a['ratio_vs_flashmla'] for a in new if a.get('ratio_vs_flashmla')]
    if fm: print(f"round {r} new vs FlashMLA: geomean {math.exp(sum(map(math.log, fm)) / len(fm)):.4f}, lowest {min(fm):.3f}")
P
ts "ab"
FLASHMLA_GPU_SPARSE_STRAY_CASES=2 timeout -k 5 "$(lim 120)" compute-sanitizer --tool memcheck --target-processes all --print-limit 20 \
  node --test --test-reporter=tap --test-name-pattern "outside the cache|bound pass" build/test/gpu/sparse.test.js > "$W/memcheck.txt" 2>&1
echo "memcheck rc $?"; grep -aE "ERROR SUMMARY|^# (pass|fail|skip)|^not ok" "$W/memcheck.txt" | head -8
ts "memcheck"
xz -T4 "$W/memcheck.txt"
tar czf "$OUT/s65c1.tgz" -C "$W" .
ts end
