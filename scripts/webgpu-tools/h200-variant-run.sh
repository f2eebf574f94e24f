# Sourced by the WebGPU variant slots (h200-robustness-toggles.sh, h200-s18-bounded.sh): one bench process a variant on
# the robustness configs of session 17 (b128 s_k 8192 h16 / h128, b1 s_k 32768, uneven b4: --only 16,22,24,25 of the
# full grid, 10 reps, 2 warm-ups), the variant's settings as environment assignments.
#   O=<dir> S=$SECONDS; . scripts/webgpu-tools/h200-variant-run.sh; run TAG [VAR=VALUE ...]
# WG_T: each process's time limit (default 40 s); WG_ONLY: the configs (default 16,22,24,25); WG_CHECK=1 among the
# assignments checks that variant's results;
# WG_CEIL=--no-ceilings skips the ceilings. Writes $O/TAG.json and $O/TAG.txt; prints the rows.
CLI=(node scripts/flashmla-dist.mjs dist)
"${CLI[@]}" bench --grid full --emit-configs "$O/configs.json" > /dev/null 2>&1
run() { local tag=$1 chk=0; shift
  case " $* " in *" WG_CHECK=1 "*) chk=1;; esac
  env "$@" timeout -k 5 ${WG_T:-40} "${CLI[@]}" bench --backend webgpu --configs "$O/configs.json" --only ${WG_ONLY:-16,22,24,25} --reps 10 --warmup 2 \
    --check $chk ${WG_CEIL:-} --out "$O/$tag.json" > "$O/$tag.txt" 2>&1
  echo "[+$((SECONDS - S))s] webgpu $tag rc=$?"; grep -E '^b=|FAILED|rror' "$O/$tag.txt" | head -8 | sed "s/^/  $tag: /"
}
