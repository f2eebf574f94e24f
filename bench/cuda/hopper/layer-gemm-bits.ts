// The CUDA layer gemm's output bits, as one SHA-256 a case: run it with two kernel builds (FLASHMLA_CUDA_KERNELS=dir)
// and compare the lines to show a kernel change kept every bit (session 42: the f32 tile loop rewritten to keep each
// output's fmaf chain in k order). Cases: the V3 decode shapes at m 64 (split and not), odd shapes, strided batches, the
// three y dtypes, f32 and bf16 operands; inputs from a fixed seed. The split-K switch applies as usual
// (FLASHMLA_CUDA_LAYER_SPLITK=0: the one-pass kernels only).
//   FLASHMLA_CUDA_KERNELS=dist/cuda node build/bench/cuda/hopper/layer-gemm-bits.js
import { createHash } from 'node:crypto';
import { encodeHalf } from '../../../src/core/dtype.js';
import { fromArray } from '../../../src/core/tensor.js';
import { createBackend } from '../../../src/node.js';
import { Rng } from '../../../test/support/random.js';

const backend = await createBackend('cuda');
if (!backend.layerOps) throw new Error('cuda: no layer ops');
const ops = backend.layerOps();
const rng = new Rng(42);
const normals = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
// [m, n, k, batch, xType, yType]
const cases: [number, number, number, number, 'f32' | 'bf16', 'f32' | 'bf16' | 'f16'][] = [
  [64, 1536, 7168, 1, 'f32', 'f32'], [64, 576, 7168, 1, 'f32', 'f32'], [64, 24576, 1536, 1, 'f32', 'f32'],
  [64, 7168, 16384, 1, 'f32', 'f32'], [64, 512, 128, 128, 'f32', 'f32'], [64, 128, 512, 128, 'f32', 'bf16'],
  [17, 65, 2051, 3, 'f32', 'f16'], [1, 5, 4097, 1, 'f32', 'bf16'], [65, 130, 3000, 2, 'f32', 'f32'], [5, 7, 33, 1, 'f32', 'f32'],
  [64, 1536, 7168, 1, 'bf16', 'f32'], [64, 7168, 16384, 1, 'bf16', 'bf16'],
  // session 43 (the bf16 tile loop moved into a function shared with its split-K pass): more bf16 shapes, odd and batched
  [64, 576, 7168, 1, 'bf16', 'f32'], [17, 65, 4104, 3, 'bf16', 'f16'], [1, 5, 2056, 1, 'bf16', 'bf16'], [65, 130, 2600, 2, 'bf16', 'f32'],
];
for (const [m, n, k, batch, xt, yt] of cases) {
  const xs = normals(batch * m * k), ws = normals(batch * n * k);
  const up = (t: 'f32' | 'bf16', a: Float32Array) => backend.upload(t === 'f32' ? fromArray('f32', [a.length], a) : fromArray('bf16', [a.length], encodeHalf('bf16', a)));
  const x = up(xt, xs), w = up(xt, ws), y = backend.empty(yt, [batch * m * n]);
  ops.gemm({ m, n, k, x, w, y, batch, xBatch: m * k, wBatch: n * k, yBatch: m * n });
  const out = await backend.download(y);
  const h = out.host();
  const bytes = new Uint8Array(h.buffer, h.byteOffset, h.byteLength);
  console.log(`${m}x${n}x${k}x${batch} ${xt}->${yt} ${createHash('sha256').update(bytes).digest('hex').slice(0, 32)}`);
  backend.free(x); backend.free(w); backend.free(y);
}
backend.dispose();
