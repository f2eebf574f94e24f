#!/usr/bin/env bash
# Session 53, call 3 (prepared, never run: the device time ran out). Its steps ran in session 54 instead:
# bench/cuda/hopper/s54_call1.sh (the stray cases and memcheck with the pre-pass; its A/B's old arm failed, the build
# before the bound has no mla_sparse_bound) and s54_call2.sh (the A/B, the old arm with FLASHMLA_CUDA_SPARSE_BOUND=0).
echo "superseded by bench/cuda/hopper/s54_call1.sh and s54_call2.sh" >&2
exit 1
