// A sparse shape's inputs on the host as `flashmla bench --mode sparse` (runShape) makes them (the same seeds), for the
// maintainer scripts that time kernel folders side by side (sparse-sm90-final-ab.ts, s67_stamps.ts).
import { type SparseShape, randomCache, randomIndices } from '../../../src/cli/bench-sparse.js';
import { uniform as rng } from '../../../src/cli/random.js';
import { f32ToBf16 } from '../../../src/core/dtype.js';
import { fp8Layouts } from '../../../src/core/fp8.js';
import { fp8CacheTensor, getSparseMlaMetadata } from '../../../src/core/sparse.js';
import { type Tensor, fromArray } from '../../../src/core/tensor.js';

export function sparseHostInputs(s: SparseShape) {
  const r = rng(s.b * 1000 + s.hQ + s.topk);
  const L = fp8Layouts[s.format];
  const nb = s.b * Math.ceil(s.sK / s.blockSize);
  const q = fromArray('bf16', [s.b, s.sQ, s.hQ, L.dQk], Uint16Array.from({ length: s.b * s.sQ * s.hQ * L.dQk }, () => f32ToBf16(r() * 2 - 1)));
  const k = fp8CacheTensor(s.format, nb, s.blockSize, randomCache(s.format, nb, s.blockSize, r));
  const indices = fromArray('i32', [s.b, s.sQ, s.topk], randomIndices(s.b, s.sQ, s.sK, s.topk, s.blockSize, r));
  let extra: { k: Tensor<Uint8Array>; indices: Tensor; len?: Tensor } | undefined;
  if (s.extraTopk) {
    const xb = s.b * Math.ceil(s.extraSK! / s.extraBlockSize!);
    extra = {
      k: fp8CacheTensor(s.format, xb, s.extraBlockSize!, randomCache(s.format, xb, s.extraBlockSize!, r)),
      indices: fromArray('i32', [s.b, s.sQ, s.extraTopk], randomIndices(s.b, s.sQ, s.extraSK!, s.extraTopk, s.extraBlockSize!, r)),
      len: s.extraTopkLength ? fromArray('i32', [s.b], Int32Array.from({ length: s.b }, () => Math.floor(r() * (s.extraTopk! + 1)))) : undefined,
    };
  }
  const sink = fromArray('f32', [s.hQ], Float32Array.from({ length: s.hQ }, () => r() * 2 - 1));
  const meta = getSparseMlaMetadata({ b: s.b, sQ: s.sQ, hQ: s.hQ, topk: s.topk, extraTopk: s.extraTopk ?? 0, extraTopkLength: extra?.len, numSms: 132 });
  return { q, k, indices, extra, sink, meta };
}
