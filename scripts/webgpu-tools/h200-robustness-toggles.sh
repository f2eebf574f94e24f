#!/usr/bin/env bash
# Session 17 (H200): the WebGPU matrix kernel (v5 lazy, the default there) under Dawn toggles set through
# FLASHMLA_DAWN_FLAGS, four configs (b128 s_k 8192 h16 / h128, b1 s_k 32768, uneven b4), one process a variant: base,
# the three robustness toggles that keep WebGPU's guarantees (together, then each alone), no robustness at all, base.
# (Call 1 of the session ran base / disable_robustness / + disable_workgroup_init / base.) From the repository root
# with dist/ and build/ in place:   source .gpu-host/enter.sh; OUT=<dir> bash scripts/webgpu-tools/h200-robustness-toggles.sh  (~60 s)
# Results: results/gpu-host/bench/webgpu-robustness-h200-2026-12-01-s17/, docs/notes/webgpu-tensor-core.md.
O=${OUT:?}/webgpu; mkdir -p $O; S=$SECONDS
. "$(dirname "${BASH_SOURCE[0]}")/h200-variant-run.sh" # CLI, $O/configs.json, run TAG [VAR=VALUE ...]
SAFE=vulkan_use_buffer_robust_access_2,enable_integer_range_analysis_in_robustness,vulkan_use_cooperative_matrix_robust_access
run base0 FLASHMLA_DAWN_FLAGS=
run safe FLASHMLA_DAWN_FLAGS=enable-dawn-features=$SAFE WG_CHECK=1
run rba2 FLASHMLA_DAWN_FLAGS=enable-dawn-features=vulkan_use_buffer_robust_access_2
run ira FLASHMLA_DAWN_FLAGS=enable-dawn-features=enable_integer_range_analysis_in_robustness
run cmra FLASHMLA_DAWN_FLAGS=enable-dawn-features=vulkan_use_cooperative_matrix_robust_access
run norob FLASHMLA_DAWN_FLAGS=enable-dawn-features=disable_robustness
run base1 FLASHMLA_DAWN_FLAGS=
python3 - $O <<'PY'
import json, sys, os
d = sys.argv[1]
tabs = {}
for t in ("base0", "safe", "rba2", "ira", "cmra", "norob", "base1"):
    try: j = json.load(open(os.path.join(d, t + ".json")))
    except Exception as e: print(t, "no json", e); continue
    tabs[t] = [(f"b{r['b']} s{r.get('s_k', 'var')} h{r['h_q']} q{r['s_q']} {r.get('kernel_path')}", r["ms"]) for r in j["rows"]]
for t, v in tabs.items(): print("webgpu", t, " | ".join(f"{c}: {m:.4f} ms" for c, m in v))
if "base0" in tabs and "base1" in tabs:
    base = [min(a[1], b[1]) for a, b in zip(tabs["base0"], tabs["base1"])]
    for t in ("safe", "rba2", "ira", "cmra", "norob"):
        if t in tabs: print("webgpu", t, "/ best base:", " ".join(f"{m / b:.3f}" for (c, m), b in zip(tabs[t], base)))
PY
