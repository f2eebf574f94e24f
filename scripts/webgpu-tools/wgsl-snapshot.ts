// Hashes of the WGSL the WebGPU kernels generate, over every decode specialisation the backend can choose (dtypes,
// tile rows, stage sizes, prefetch depth, unrolling, cache bindings, subgroup or workgroup reductions, fma or
// a * b + c) and the other kernels that share decode.ts's pieces (f16, matrix v3-v6, combine, sparse), and MlaAttention's
// decode-step kernels (kernels/layer.ts, every specialisation). A refactor of a
// generator that must not change its output is checked by running this before and after:
//   node --import tsx scripts/webgpu-tools/wgsl-snapshot.ts > before.json   (then after the change: > after.json)
//   cmp before.json after.json
// `--dump DIR` also writes each source as DIR/<kernel>.<key>.wgsl, for diffing texts.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeProgram } from '../../src/backends/webgpu/kernels/decode.js';
import { decodeF16Program } from '../../src/backends/webgpu/kernels/decode-f16.js';
import { decodeMatrixProgram } from '../../src/backends/webgpu/kernels/decode-matrix.js';
import { decodeMatrix4Program } from '../../src/backends/webgpu/kernels/decode-matrix4.js';
import { decodeMatrix5Program, decodeMatrix5Spec, type Matrix5Choice } from '../../src/backends/webgpu/kernels/decode-matrix5.js';
import { decodeMatrix6Program } from '../../src/backends/webgpu/kernels/decode-matrix6.js';
import { combineProgram } from '../../src/backends/webgpu/kernels/combine.js';
import { sparseProgram } from '../../src/backends/webgpu/kernels/sparse.js';
import { gatherFinishProgram, gatherListProgram, gatherProgram, gatherQProgram } from '../../src/backends/webgpu/kernels/sparse-gather.js';
import {
  layerConvertProgram, layerGemmPartProgram, layerGemmProgram, layerGemmReduceProgram, layerKvAppendProgram, layerQRopeProgram,
  layerRmsNormProgram,
} from '../../src/backends/webgpu/kernels/layer.js';
import type { DeviceCaps, Program } from '../../src/backends/webgpu/program.js';

const dumpAt = process.argv.indexOf('--dump');
const dumpDir = dumpAt > 0 ? process.argv[dumpAt + 1] : undefined;
if (dumpDir) mkdirSync(dumpDir, { recursive: true });
const out: Record<string, string> = {};

function add<S>(program: Program<S>, spec: S): void {
  const key = `${program.name}.${program.key(spec)}`;
  const src = program.source(spec);
  out[key] = createHash('sha256').update(src).digest('hex');
  if (dumpDir) writeFileSync(join(dumpDir, `${key}.wgsl`), src);
}

const dtypes = ['bf16', 'f16'] as const;
// A device with v5's needs (48 KiB, the 16x16x16 float configuration): the two fields decodeMatrix5Spec reads.
const v5Caps = { maxComputeWorkgroupStorageSize: 49152, subgroupMatrixF16: { m: 16, n: 16, k: 16, result: 'f32' } } as unknown as DeviceCaps;
const v5Choices: Matrix5Choice[] = [{}, { subgroups: 4 }, { qRowLanes: true }, { qRowLanes: true, firstEarly: true }, { infSafe: 'seen' }, { infSafe: true },
  { packedMax: false }, { qOnce: false }, { freshO: false }, { f16Direct: false }, { bf16Direct: false }];
// The decode spec from named knobs (this mapping is the one line to adapt when the spec's fields change; the
// output is keyed by the pipeline key, so runs before and after such a change still compare).
const decodeSpecOf = (k: Knobs) => ({
  dtype: k.dtype, rowsPerTile: k.rows, qkColumnsPerStage: k.qkCols, pvKeysPerStage: k.pvKeys, prefetchStages: k.prefetch,
  stagesPerIteration: k.unroll, cacheBindings: k.bindings, subgroups: k.subgroups, mulAdd: k.mulAdd,
});
interface Knobs { dtype: 'bf16' | 'f16'; rows: number; qkCols: number; pvKeys: number; prefetch: number; unroll: number; bindings: number; subgroups: boolean; mulAdd: boolean }
for (const dtype of dtypes)
  for (const rows of [16, 32, 64])
    for (const qkCols of [16, 32])
      for (const pvKeys of [4, 8])
        for (const prefetch of [1, 2])
          for (const unroll of [1, 2, 4, 6])
            for (const bindings of [1, 2, 3])
              for (const subgroups of [true, false])
                for (const mulAdd of [false, true]) {
                  // Only the combinations the kernel's layout rules admit (qk columns per slice a multiple of 8).
                  const slices = 256 / (16 * (rows / 4));
                  if (qkCols / slices < 8) continue;
                  add(decodeProgram, decodeSpecOf({ dtype, rows, qkCols, pvKeys, prefetch, unroll, bindings, subgroups, mulAdd }));
                }
for (const dtype of dtypes) {
  for (const segs of [1, 2, 3]) {
    add(decodeF16Program, { dtype, segs });
    for (const emulate of [true, false])
      for (const vSplit of [1, 2] as const)
        for (const config of [{ m: 16, n: 16, k: 16, result: 'f32' as const }, { m: 16, n: 8, k: 16, result: 'f32' as const }, { m: 16, n: 16, k: 8, result: 'f32' as const }])
          add(decodeMatrixProgram, { dtype, segs, config, emulate, vSplit });
    for (const emulate of [true, false])
      for (const subgroups of [4, 8] as const) add(decodeMatrix4Program, { dtype, segs, config: { m: 16, n: 16, k: 16, result: 'f32' }, emulate, subgroups });
    for (const emulate of [true, false])
      for (const subgroups of [4, 8] as const) add(decodeMatrix5Program, { dtype, segs, config: { m: 16, n: 16, k: 16, result: 'f32' }, emulate, subgroups });
    // v5 as the backend resolves it (decodeMatrix5Spec: the shipped defaults — lazy, trim, bounded, packedMax, qOnce,
    // freshO, f16Direct, bf16Direct — and the per-plan picks qRowLanes / firstEarly, infSafe 'seen', and the knobs turned off).
    for (const emulate of [true, false])
      for (const choice of v5Choices) add(decodeMatrix5Program, decodeMatrix5Spec({ dtype }, v5Caps, segs, emulate, choice));
    for (const emulate of [true, false])
      for (const pvPair of [1, 2] as const) add(decodeMatrix6Program, { dtype, segs, config: { m: 16, n: 16, k: 16, result: 'f32' }, emulate, pvPair });
  }
  add(combineProgram, { dtype });
  for (const kind of ['v32', 'model1', dtype] as const) {
    for (const heads of [1, 4, 8] as const) add(sparseProgram, { kind, dtype, heads, segs: { k: 1, x: 1 } });
    add(sparseProgram, { kind, dtype, heads: 8, segs: { k: 3, x: 2 } });
    for (const segs of [{ k: 1, x: 1 }, { k: 2, x: 3 }]) add(gatherProgram, { kind, dtype, segs });
  }
  add(gatherListProgram, {});
  add(gatherQProgram, {});
  add(gatherFinishProgram, { dtype });
}
// MlaAttention's decode-step kernels (kernels/layer.ts), every specialisation.
const layerEls = ['f32', 'bf16', 'f16'] as const;
for (const dtype of ['f32', 'bf16'] as const) {
  for (const rm of [1, 4] as const) {
    for (const y of layerEls) add(layerGemmProgram, { dtype, y, rm });
    add(layerGemmPartProgram, { dtype, rm });
  }
}
for (const y of layerEls) add(layerGemmReduceProgram, { y });
for (const out of [...layerEls, 'none'] as const) add(layerRmsNormProgram, { out });
for (const attn of ['bf16', 'f16'] as const) for (const nope of [...layerEls, 'none'] as const) add(layerQRopeProgram, { attn, nope });
for (const cache of ['bf16', 'f16'] as const) add(layerKvAppendProgram, { cache });
for (const src of layerEls) for (const dst of layerEls) add(layerConvertProgram, { src, dst });
process.stdout.write(`${JSON.stringify(out, null, 1)}\n`);
