#!/usr/bin/env python3
"""Tensor time and DRAM time per 64-key tile and SM, bf16 path vs FP8-native, for docs/notes/cuda-fp8-native.md.

ESTIMATES, not measurements. Rates: bf16 wgmma at torch's measured 690 TFLOPS on the H200 (132 SMs) -> 5.23 TFLOP/s an
SM; e4m3 wgmma at twice that (the datasheet ratio; not measured here). DRAM: the measured 4.27 TB/s copy shared by
132 SMs. Products: S^T = K Q^T (M = 64 keys, N = rows, K = d_qk), O^T = V^T P^T (M = 512 value columns, N = rows,
K = 64 keys). FP8-native: the e4m3 NoPE part times TQ (S) and TP (O) e4m3 wgmmas; the bf16 RoPE part one bf16 wgmma
(MODEL1's RoPE value columns too). 'bf16 path' = one 16-bit wgmma per product (today's dense FP8 kernel: bf16 or f16
S, f16 P x f16 V; FlashMLA: bf16 S and O).
"""
R16 = 690e12 / 132
R8 = 2 * R16
BW = 4.27e12 / 132
FMT = {'v32': dict(nope=512, rope=64, bytes=656, v_e4m3=512, v_bf16=0),
       'model1': dict(nope=448, rope=64, bytes=584, v_e4m3=448, v_bf16=64)}


def tile_us(fmt, n, tq=None, tp=None):
    f = FMT[fmt]
    s_fp8 = 2 * 64 * n * f['nope']
    s_rope = 2 * 64 * n * f['rope']
    o_fp8 = 2 * f['v_e4m3'] * n * 64
    o_bf16 = 2 * f['v_bf16'] * n * 64
    if tq is None:  # bf16 path
        s = (s_fp8 + s_rope) / R16
    else:
        s = s_fp8 * tq / R8 + s_rope / R16
    if tp is None:
        o = (o_fp8 + o_bf16) / R16
    else:
        o = o_fp8 * tp / R8 + o_bf16 / R16
    return s * 1e6, o * 1e6


def main():
    combos = [('bf16 path', None, None), ('Q1 + bf16 O', 1, None), ('Q1 P2', 1, 2), ('Q2 P2', 2, 2), ('Q2 P3', 2, 3), ('Q1 P3', 1, 3)]
    for fmt in ('v32', 'model1'):
        dram = 64 * FMT[fmt]['bytes'] / BW * 1e6
        print(f'\n{fmt}: DRAM {dram:.3f} us a tile an SM (one SM reading the tile)')
        print('| rows | ' + ' | '.join(c[0] for c in combos) + ' |')
        print('|---|' + '---|' * len(combos))
        for n in (16, 32, 64, 128):
            cells = []
            for _, tq, tp in combos:
                s, o = tile_us(fmt, n, tq, tp)
                cells.append(f'{s + o:.3f} ({s:.2f} + {o:.2f})')
            print(f'| {n} | ' + ' | '.join(cells) + ' |')


if __name__ == '__main__':
    main()
