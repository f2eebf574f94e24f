// MlaDeviceOps in plain JS over host tensors: what kernels/layer.cu computes, element by element (f32 math,
// 16-bit stores rounded to nearest even). Attached to a CPU backend it runs MlaAttention's device-resident step
// (src/core/mla/device.ts) without a GPU, so the step's strides, offsets, buffers and cache slots are checked in
// `npm test`; the GPU suite (test/gpu/mla-device.test.ts) checks the kernels themselves.
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../../src/core/dtype.js';
import type { DeviceGemm, MlaDeviceOps } from '../../src/core/mla/device.js';
import type { Backend } from '../../src/core/problem.js';
import type { Tensor } from '../../src/core/tensor.js';

const f = Math.fround;

function reader(t: Tensor): (i: number) => number {
  const a = t.data as Float32Array | Uint16Array | Int32Array, o = t.offset;
  if (t.dtype === 'bf16') return (i) => bf16ToF32(a[o + i]);
  if (t.dtype === 'f16') return (i) => f16ToF32(a[o + i]);
  return (i) => a[o + i];
}
function writer(t: Tensor): (i: number, v: number) => void {
  const a = t.data as Float32Array | Uint16Array | Int32Array, o = t.offset;
  if (t.dtype === 'bf16') return (i, v) => { a[o + i] = f32ToBf16(v); };
  if (t.dtype === 'f16') return (i, v) => { a[o + i] = f32ToF16(v); };
  return (i, v) => { a[o + i] = v; };
}

function rope(get: (i: number) => number, put: (i: number, v: number) => void, half: number, interleave: boolean, pos: number, invFreq: (i: number) => number, af: number): void {
  for (let i = 0; i < half; i++) {
    const a = interleave ? get(2 * i) : get(i), b = interleave ? get(2 * i + 1) : get(i + half);
    const ang = f(pos * invFreq(i));
    const c = f(f(Math.cos(ang)) * af), s = f(f(Math.sin(ang)) * af);
    put(i, f(a * c - b * s));
    put(i + half, f(b * c + a * s));
  }
}

export const emulatedLayerOps: MlaDeviceOps = {
  gemm(g: DeviceGemm): void {
    const x = reader(g.x), w = reader(g.w), y = writer(g.y);
    const xs = g.xStride ?? g.k, ws = g.wStride ?? g.k, ys = g.yStride ?? g.n;
    for (let z = 0; z < (g.batch ?? 1); z++) {
      const xo = (g.xOff ?? 0) + z * (g.xBatch ?? 0), wo = (g.wOff ?? 0) + z * (g.wBatch ?? 0), yo = (g.yOff ?? 0) + z * (g.yBatch ?? 0);
      for (let i = 0; i < g.m; i++) for (let j = 0; j < g.n; j++) {
        let s = 0;
        for (let t = 0; t < g.k; t++) s += x(xo + i * xs + t) * w(wo + j * ws + t);
        y(yo + i * ys + j, s);
      }
    }
  },
  rmsNorm(a): void {
    const x = a.x.data as Float32Array, wt = reader(a.weight), out = a.out ? writer(a.out) : undefined;
    for (let r = 0; r < a.rows; r++) {
      const o = a.x.offset + r * a.d;
      let ss = 0;
      for (let i = 0; i < a.d; i++) ss += x[o + i] * x[o + i];
      const inv = f(1 / Math.sqrt(ss / a.d + a.eps));
      for (let i = 0; i < a.d; i++) { x[o + i] = f(wt(i) * f(x[o + i] * inv)); out?.(r * a.d + i, x[o + i]); }
    }
  },
  qRope(a): void {
    const q = reader(a.q), pos = reader(a.positions), inv = reader(a.invFreq), attn = writer(a.qAttn), nope = a.nopeOut ? writer(a.nopeOut) : undefined;
    const qk = a.nope + a.rope;
    for (let r = 0; r < a.rows; r++) for (let h = 0; h < a.heads; h++) {
      const head = r * a.heads + h;
      for (let i = 0; i < a.nope; i++) nope?.(head * a.nope + i, q(head * qk + i));
      rope((i) => q(head * qk + a.nope + i), (i, v) => attn(head * 576 + 512 + i, v), a.rope / 2, a.interleave, pos(r), inv, a.attentionFactor);
    }
  },
  kvAppend(a): void {
    const kv = reader(a.kv), wt = reader(a.weight), pos = reader(a.positions), inv = reader(a.invFreq), slots = reader(a.slots), cache = writer(a.cache);
    for (let r = 0; r < a.rows; r++) {
      let ss = 0;
      for (let i = 0; i < 512; i++) ss += kv(r * 576 + i) ** 2;
      const invN = f(1 / Math.sqrt(ss / 512 + a.eps)), dst = slots(r) * 576;
      for (let i = 0; i < 512; i++) cache(dst + i, f(wt(i) * f(kv(r * 576 + i) * invN)));
      rope((i) => kv(r * 576 + 512 + i), (i, v) => cache(dst + 512 + i, v), 32, a.interleave, pos(r), inv, a.attentionFactor);
    }
  },
  convert(src: Tensor, dst: Tensor, n: number): void {
    const s = reader(src), d = writer(dst);
    for (let i = 0; i < n; i++) d(i, s(i));
  },
};

/** The backend with emulated layer kernels (a new object: the original is not changed). */
export function withEmulatedLayerOps(backend: Backend): Backend {
  return Object.assign(Object.create(backend) as Backend, { layerOps: () => emulatedLayerOps });
}
