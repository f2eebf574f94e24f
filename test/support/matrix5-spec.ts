// Shorthands for the WGSL-level tests of the v5 matrix kernel (kernels/decode-matrix5.ts): a bf16 spec on the
// 16x16x16 f16 -> f32 configuration with 8 subgroups, its source and pipeline key with some fields changed, and the
// bytes of workgroup memory a source declares (counted from its `var<workgroup>` lines, as the driver will see them).
import { type DecodeMatrix5Spec, decodeMatrix5Program } from '../../src/backends/webgpu/kernels/decode-matrix5.js';

export const m16 = { m: 16, n: 16, k: 16, result: 'f32' } as const;
export const spec5 = (o: Partial<DecodeMatrix5Spec> = {}): DecodeMatrix5Spec => ({ dtype: 'bf16', segs: 1, config: m16, emulate: false, subgroups: 8, ...o });
export const src5 = (o: Partial<DecodeMatrix5Spec> = {}): string => decodeMatrix5Program.source(spec5(o));
export const key5 = (o: Partial<DecodeMatrix5Spec> = {}): string => decodeMatrix5Program.key(spec5(o));
export const wgBytes = (s: string): number => [...s.matchAll(/var<workgroup> \w+: (?:array<(?:atomic<)?(f16|f32|u32|i32)>?, (\d+)>|(u32|f32))/g)]
  .reduce((a, [, ty, n, one]) => a + (one ? 4 : (ty === 'f16' ? 2 : 4) * Number(n)), 0);
