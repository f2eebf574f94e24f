// The subgroup-matrix decode kernel v6 (kernels/decode-matrix6.ts: 32 query rows a workgroup, 16-key tiles), opt-in
// by matrix.version 6: its generated WGSL without a GPU that has subgroup matrices (workgroup memory as declared, the
// layout choice and typed refusals, matrix offsets built of constants and subgroup-uniform indices, strides, the
// counts of matrix loads, stores and products), how the backend selects it, the emulated WGSL through Dawn's
// compiler, and the GPU's WGSL through it with the matrix types and builtins replaced by typed stubs (lavapipe has no
// subgroup matrices, so this is as close as this machine gets to compiling what the H200 runs). The kernel runs on lavapipe with emulated products in test/long/webgpu-matrix6-emu.test.ts, and on a GPU
// with subgroup matrices in test/gpu/webgpu-matrix.test.ts (FLASHMLA_MATRIX_TEST_VERSION=6).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { WebGpuBackend } from '../../src/backends/webgpu/backend.js';
import { resolveDecodeKernel } from '../../src/backends/webgpu/decode-kernel.js';
import { type DecodeMatrix6Spec, decodeMatrix6Program, decodeMatrix6SharedBytes, decodeMatrix6Spec, matrix6Rows } from '../../src/backends/webgpu/kernels/decode-matrix6.js';
import { chooseDecodePath } from '../../src/backends/webgpu/kernels/path.js';
import { createNodeWebGpuBackend } from '../../src/backends/webgpu/node.js';
import type { DeviceCaps } from '../../src/backends/webgpu/program.js';
import { FlashMlaError } from '../../src/core/errors.js';
import type { DecodePlan } from '../../src/core/plan.js';
import type { MlaProblem } from '../../src/core/problem.js';
import { stubbedMatrixWgsl } from '../support/matrix-stub.js';

const m16 = { m: 16, n: 16, k: 16, result: 'f32' } as const;
const base = { f16: true, subgroups: true, subgroupMinSize: 32, maxComputeWorkgroupStorageSize: 49152, maxComputeInvocationsPerWorkgroup: 1024, subgroupMatrixF16: m16 } as DeviceCaps;
const problem = { dtype: 'bf16' } as MlaProblem;
const spec6 = (o: Partial<DecodeMatrix6Spec> = {}): DecodeMatrix6Spec => ({ dtype: 'bf16', segs: 1, config: m16, emulate: false, pvPair: 2, ...o });
const typedError = (code: string, argument: string) => (e: unknown) => e instanceof FlashMlaError && e.code === code && e.argument === argument;

describe('webgpu matrix kernel v6 (32 rows a workgroup): generated WGSL', () => {
  test('workgroup memory as declared: pvPair 2 within 48 KiB, pvPair 1 within lavapipe\'s 32 KiB; the layout choice and typed refusals', () => {
    for (const pvPair of [1, 2] as const) {
      const src = decodeMatrix6Program.source(spec6({ pvPair }));
      const elem = { f16: 2, f32: 4, u32: 4, i32: 4, 'atomic<u32>': 4 } as Record<string, number>;
      let bytes = 0;
      for (const m of src.matchAll(/var<workgroup> \w+: array<(\w+|atomic<u32>), (\d+)>/g)) bytes += elem[m[1]] * Number(m[2]);
      assert.equal(bytes, decodeMatrix6SharedBytes(pvPair));
      assert.ok(bytes <= (pvPair === 2 ? 49152 : 32768), `${bytes} B`);
      assert.match(src, /@workgroup_size\(256\)/);
      // Qᵀ of one 16-row block (576 x 16 f16) fits the tile's memory it is staged in.
      assert.ok(576 * 16 <= Number(/var<workgroup> Kt: array<f16, (\d+)>/.exec(src)![1]));
    }
    assert.equal(decodeMatrix6Spec(problem, base, 1, false).pvPair, 2);
    assert.equal(decodeMatrix6Spec(problem, { ...base, maxComputeWorkgroupStorageSize: 32768 }, 1, false).pvPair, 1);
    assert.throws(() => decodeMatrix6Spec(problem, { ...base, maxComputeWorkgroupStorageSize: 16384 }, 1, false), typedError('backend_unavailable', 'decodePath'));
    assert.throws(() => decodeMatrix6Spec(problem, { ...base, maxComputeInvocationsPerWorkgroup: 128 }, 1, false), typedError('backend_unavailable', 'decodePath'));
    assert.throws(() => decodeMatrix6Spec(problem, { ...base, subgroupMatrixF16: { m: 16, n: 8, k: 16, result: 'f32' } }, 1, false), typedError('backend_unavailable', 'decodePath'));
    assert.equal(decodeMatrix6Spec(problem, { ...base, subgroupMatrixF16: { m: 16, n: 8, k: 16, result: 'f32' } }, 1, true).emulate, true);
  });

  test('the uniformity diagnostic is off; matrix offsets of constants and subgroup indices; strides and counts', () => {
    for (const pvPair of [1, 2] as const) {
      const src = decodeMatrix6Program.source(spec6({ pvPair }));
      assert.match(src, /enable chromium_experimental_subgroup_matrix;\ndiagnostic\(off, chromium\.subgroup_matrix_uniformity\);/);
      const loads = [...src.matchAll(/subgroupMatrixLoad<[^>]+>>\(&(\w+), ([^,]+), (false|true), (\d+)u\)/g)];
      const stores = [...src.matchAll(/subgroupMatrixStore\(&(\w+), ([^,]+), .*?, (false|true), (\d+)u\);/g)];
      // Qᵀ: 11 right matrices a row block (two staging passes); QK: 11 left; P: 2 left a tile; V: 4 column blocks,
      // loaded once a round (pvPair 2: one round a column block; 1: one a column block and row block).
      assert.equal(loads.length, 22 + 11 + 2 + 4 * (3 - pvPair), `loads, pvPair ${pvPair}`);
      assert.equal((src.match(/subgroupMatrixStore\(/g) ?? []).length, 1 + 8);
      assert.equal((src.match(/subgroupMatrixMultiplyAccumulate/g) ?? []).length, 11 + 8);
      assert.match(src, /if \(cp < 3u\) \{ (mc = subgroupMatrixMultiplyAccumulate\([^;]+\);\s*){6}\}\s*if \(cp < 2u\) \{ mc = [^;]+ \+ 160u, [^;]+\); \}/);
      assert.match(src, /if \(rb == 0u\) \{/);
      assert.match(src, /if \(rb == 1u\) \{/);
      const strides: Record<string, number[]> = { Kt: [584, 16], Ph: [24], Sc: [16] };
      for (const [, arr, off, colMajor, stride] of loads) {
        assert.match(off, /^(\d+u|sg|cs|cl|[ +*()])+$/, `offset ${off} into ${arr}`);
        assert.equal(colMajor, 'false');
        assert.ok(strides[arr]?.includes(Number(stride)), `stride ${stride} of ${arr}`);
      }
      for (const m of src.matchAll(/subgroupMatrixStore\(&(\w+), ([^,]+), /g)) {
        assert.equal(m[1], 'Sc');
        assert.match(m[2], /^sg \* (256|512)u( \+ (0|256)u)?$/, `store offset ${m[2]}`);
        if (pvPair === 1) assert.doesNotMatch(m[2], /512u|\+ 256u/, 'pvPair 1: one 16 x 16 result a subgroup in the scratch');
      }
      assert.equal(stores.length, 9);
      for (const [, , , colMajor, stride] of stores) { assert.equal(colMajor, 'false'); assert.equal(stride, '16'); }
      const emu = decodeMatrix6Program.source(spec6({ emulate: true, pvPair }));
      assert.doesNotMatch(emu, /subgroup_matrix|subgroupMatrix|diagnostic/);
      // The scratch holds the QK results of 8 subgroups (2048 f32) and pvPair PV results a subgroup.
      assert.equal(Number(/var<workgroup> Sc: array<f32, (\d+)>/.exec(src)![1]), 2048 * pvPair);
    }
    assert.notEqual(decodeMatrix6Program.key(spec6({ emulate: true })), decodeMatrix6Program.key(spec6()));
    assert.notEqual(decodeMatrix6Program.key(spec6({ pvPair: 1 })), decodeMatrix6Program.key(spec6()));
    assert.notEqual(decodeMatrix6Program.key(spec6({ dtype: 'f16' })), decodeMatrix6Program.key(spec6()));
  });

  test('version 6 selects v6 (32 rows a workgroup); the default stays v5', () => {
    const settings = { caps: base, path: chooseDecodePath(base, 'matrix'), mulAdd: false, tuning: {} };
    for (const [hQ, sQ, hKv, z] of [[16, 1, 1, 1], [32, 1, 1, 1], [128, 1, 1, 4], [128, 2, 1, 8], [34, 3, 2, 2], [5, 4, 1, 1]]) {
      const plan = { numSmParts: 132, hKv, sQ, hQ } as unknown as DecodePlan;
      const k = resolveDecodeKernel(plan, 'bf16', 1, { ...settings, matrix: { version: 6 } });
      assert.equal(k.program.name, 'mla_decode_matrix6');
      assert.deepEqual(k.dispatch, [132, hKv, z], `hQ ${hQ} sQ ${sQ} hKv ${hKv}`);
      assert.equal(z, Math.ceil((sQ * hQ) / hKv / matrix6Rows));
      assert.equal(resolveDecodeKernel(plan, 'bf16', 1, settings).program.name, 'mla_decode_matrix5');
    }
    assert.equal(chooseDecodePath(base).path, 'matrix');
    assert.equal((resolveDecodeKernel({ numSmParts: 132, hKv: 1, sQ: 1, hQ: 128 } as unknown as DecodePlan, 'bf16', 1, { ...settings, path: chooseDecodePath(base) })).program.name, 'mla_decode_matrix5');
  });
});

describe('webgpu matrix kernel v6: its WGSL through Dawn\'s compiler (emulated, and the GPU\'s with stubbed matrix builtins)', () => {
  let be: WebGpuBackend | undefined;
  before(async () => { try { be = await createNodeWebGpuBackend({ decodePath: 'matrix', matrix: { emulate: true, version: 6 } }); } catch { /* skipped below */ } });
  after(() => be?.dispose());
  test('bf16 and f16, one and three cache bindings, pvPair 1 and 2: no WGSL errors (uniformity included)', async (t) => {
    if (!be) { if (process.env.CI) assert.fail('no WebGPU adapter with shader-f16 in CI'); t.skip('no WebGPU adapter with shader-f16'); return; }
    for (const dtype of ['bf16', 'f16'] as const) {
      for (const segs of [1, 3]) for (const pvPair of [1, 2] as const) await be.programs.check(decodeMatrix6Program, spec6({ dtype, segs, emulate: true, pvPair }));
    }
    assert.equal(be.info.details?.decodePath, 'matrix');
  });
  test('the GPU\'s WGSL with typed stubs for the matrix builtins: no WGSL errors (bf16 and f16, pvPair 1 and 2, one and three bindings)', async (t) => {
    if (!be) { if (process.env.CI) assert.fail('no WebGPU adapter with shader-f16 in CI'); t.skip('no WebGPU adapter with shader-f16'); return; }
    for (const dtype of ['bf16', 'f16'] as const) {
      for (const segs of [1, 3]) {
        for (const pvPair of [1, 2] as const) {
          const s = spec6({ dtype, segs, pvPair });
          await be.programs.check({ name: 'mla_decode_matrix6_stubbed', key: () => decodeMatrix6Program.key(s), source: () => stubbedMatrixWgsl(decodeMatrix6Program.source(s)) }, s);
        }
      }
    }
    // The stubs can fail: a matrix load into the f32 scratch is a type error.
    const bad = { name: 'mla_decode_matrix6_stubbed', key: () => 'bad', source: () => stubbedMatrixWgsl(decodeMatrix6Program.source(spec6())).replace('store_Sc(sg * 256u, mc,', 'store_Sc(sg * 256u, qm0,') };
    await assert.rejects(be.programs.check(bad, spec6()), (e: unknown) => e instanceof FlashMlaError && /WGSL errors/.test(e.message));
  });
});
