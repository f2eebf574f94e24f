"""How many bits does the H200's e4m3 tensor-core accumulator keep? (session 22; torch._scaled_mm, cuBLASLt's FP8 GEMM)

Each output element is a dot product of one large product (448 x 1) and K - 1 equal small ones (v x 1): exactly
448 + (K - 1) v. An accumulator that keeps m bits after the leading one loses a small product whose value is under half
an ulp of the running sum (2^(8 - m) near 448-512). `use_fast_accum=True` is the tensor core's own accumulation
(what a kernel issuing wgmma back to back into one accumulator gets); False is cuBLAS's periodic promotion to f32.
Also times an 8192^3 e4m3 GEMM against bf16 (the rate ratio the FP8-native note assumes). Writes JSON to argv[1].
"""
import json, sys, time
import torch

dev = 'cuda'
out = {'device': torch.cuda.get_device_name(0), 'torch': torch.__version__, 'cases': [], 'rates': {}}
f8 = torch.float8_e4m3fn
one = torch.tensor(1.0, device=dev)
for K in (64, 512, 4096):
    for lg in (-6, -5, -4, -3, -2, -1, 0):
        v = 2.0 ** lg
        for big_first in (True, False):
            a = torch.full((16, K), v, device=dev)
            if big_first: a[:, 0] = 448.0
            else: a[:, -1] = 448.0
            b = torch.ones((16, K), device=dev)  # (N, K) row-major -> .t() is (K, N) column-major
            a8, b8 = a.to(f8), b.to(f8)
            exact = 448.0 + (K - 1) * v
            row = {'K': K, 'small': v, 'big_first': big_first, 'exact': exact}
            for fast in (True, False):
                r = torch._scaled_mm(a8, b8.t(), scale_a=one, scale_b=one, out_dtype=torch.float32, use_fast_accum=fast)
                got = float(r[0, 0])
                row['fast' if fast else 'promoted'] = got
            row['lost_fast'] = (exact - row['fast']) / ((K - 1) * v)
            row['lost_promoted'] = (exact - row['promoted']) / ((K - 1) * v)
            out['cases'].append(row)
            print(f"K {K:5d} small 2^{lg:+d} big {'first' if big_first else 'last '}: exact {exact:10.4f} fast {row['fast']:10.4f}"
                  f" (lost {row['lost_fast']:.3f})  promoted {row['promoted']:10.4f} (lost {row['lost_promoted']:.3f})")

def bench(fn, n=20):
    for _ in range(3): fn()
    torch.cuda.synchronize(); t = time.perf_counter()
    for _ in range(n): fn()
    torch.cuda.synchronize(); return (time.perf_counter() - t) / n

M = N = K = 8192
a = torch.randn(M, K, device=dev) * 0.1; b = torch.randn(N, K, device=dev) * 0.1
a8, b8 = a.to(f8), b.to(f8); ab, bb = a.bfloat16(), b.bfloat16()
for name, fn in (('bf16', lambda: ab @ bb.t()),
                 ('e4m3_fast', lambda: torch._scaled_mm(a8, b8.t(), scale_a=one, scale_b=one, out_dtype=torch.bfloat16, use_fast_accum=True)),
                 ('e4m3_promoted', lambda: torch._scaled_mm(a8, b8.t(), scale_a=one, scale_b=one, out_dtype=torch.bfloat16, use_fast_accum=False))):
    s = bench(fn)
    out['rates'][name] = {'s': s, 'tflops': 2 * M * N * K / s / 1e12}
    print(f"{name:14s} {s * 1e3:7.3f} ms  {2 * M * N * K / s / 1e12:6.1f} TFLOPS")
json.dump(out, open(sys.argv[1] if len(sys.argv) > 1 else 'acc_probe.json', 'w'), indent=1)
