"""FlashMLA's dense decode (the anchors' 9241ae3 build) set up on one shape as bench_flashmla.py does it: causal,
page 64, bf16, a shuffled block table, fresh random inputs (seed 0). Shared by flashmla_once.py (ncu) and
flashmla_clocks.py (sustained load)."""
import os
import sys

D, DV, PAGE = 576, 512, 64


def load(anchors):
    """torch and the anchors' flash_mla module (its folder put on sys.path first)."""
    sys.path.insert(0, os.path.join(anchors, "flashmla-sparse"))
    import torch
    import flash_mla
    return torch, flash_mla


def prepare(torch, flash_mla, dev, b, s_k, h_q, s_q):
    """A no-argument call of flash_mla_with_kvcache on fresh inputs of this shape."""
    torch.manual_seed(0)
    pages = (s_k + PAGE - 1) // PAGE
    table = torch.randperm(b * pages, dtype=torch.int32).view(b, pages).to(dev)
    lens = torch.full((b,), s_k, dtype=torch.int32, device=dev)
    q = torch.randn(b, s_q, h_q, D, dtype=torch.bfloat16, device=dev)
    k = torch.randn(b * pages, PAGE, 1, D, dtype=torch.bfloat16, device=dev)
    meta, splits = flash_mla.get_mla_metadata(lens, s_q * h_q, 1)
    return lambda: flash_mla.flash_mla_with_kvcache(q, k, table, lens, DV, meta, splits, causal=True)
