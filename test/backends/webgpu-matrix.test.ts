// The subgroup-matrix decode kernel's generator (kernels/decode-matrix.ts) and its path rules, without a GPU that
// has subgroup matrices: the forced-only choice and its typed refusals, the workgroup-memory budget as the WGSL
// declares it, every matrix load/store offset a constant (Dawn requires uniform offsets), the configurations it
// accepts, and the emulated variant's WGSL through Dawn's compiler (Tint) where an adapter with shader-f16 exists.
// The kernel itself runs in test/long/webgpu-matrix-emu.test.ts (products emulated, lavapipe) and
// test/gpu/webgpu-matrix.test.ts (subgroup matrices, the H200).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { WebGpuBackend } from '../../src/backends/webgpu/backend.js';
import { type DecodeMatrixSpec, decodeMatrixProgram, decodeMatrixSharedBytes, decodeMatrixSpec } from '../../src/backends/webgpu/kernels/decode-matrix.js';
import { type DecodeMatrix4Spec, decodeMatrix4Program, decodeMatrix4SharedBytes, decodeMatrix4Spec, matrix4ConfigUsable, matrix4Layout } from '../../src/backends/webgpu/kernels/decode-matrix4.js';
import { type DecodeMatrix5Spec, decodeMatrix5Program, decodeMatrix5SharedBytes, decodeMatrix5Spec, matrix5ConfigUsable, matrix5Layout } from '../../src/backends/webgpu/kernels/decode-matrix5.js';
import { builtDecodePaths, chooseDecodePath, decodeKernelFor, matrixConfigUsable } from '../../src/backends/webgpu/kernels/path.js';
import { createNodeWebGpuBackend } from '../../src/backends/webgpu/node.js';
import type { DeviceCaps } from '../../src/backends/webgpu/program.js';
import { FlashMlaError } from '../../src/core/errors.js';
import type { MlaProblem } from '../../src/core/problem.js';
import type { DecodePlan } from '../../src/core/plan.js';
import { resolveDecodeKernel } from '../../src/backends/webgpu/decode-kernel.js';
import { compareOutputs, assertOutputsClose } from '../support/compare.js';
import { convert32, matrixModel } from '../support/matrix-model.js';
import { type Matrix5ModelOptions, convertRow, matrix5Model, pow2Mul, v5Before13 } from '../support/matrix-model5.js';
import { type DecodeCase, caseMatrix, caseReference, makeCase, specName } from '../support/random.js';
import { stubbedMatrixWgsl } from '../support/matrix-stub.js';
import { extremeCases, infKeyCase, matrixTol, mixedBlockCase, nanRowsCase, noKeyRowsCase, ropeHeavyCase, scaledCase } from '../support/webgpu-matrix.js';

const m16 = { m: 16, n: 16, k: 16, result: 'f32' } as const;
const base = { f16: true, subgroups: true, subgroupMinSize: 32, maxComputeWorkgroupStorageSize: 49152 } as DeviceCaps;
const spec = (o: Partial<DecodeMatrixSpec> = {}): DecodeMatrixSpec => ({ dtype: 'bf16', segs: 1, config: m16, emulate: false, vSplit: 1, ...o });
const problem = { dtype: 'bf16', sQ: 1, nGroups: 16, numSmParts: 132, hKv: 1 } as MlaProblem;

function typedError(code: string, argument: string) {
  return (e: unknown) => e instanceof FlashMlaError && e.code === code && e.argument === argument;
}

describe('webgpu matrix kernel: path rules', () => {
  test('unforced (with the matrix default on), the matrix kernel runs where v5 with 8 subgroups fits (48 KiB), else the f32 kernel; forced it runs for every row count', () => {
    assert.ok(builtDecodePaths.includes('matrix'));
    assert.equal(chooseDecodePath({ ...base, subgroupMatrixF16: m16 }, undefined, false, false).path, 'f32'); // the matrix default off
    const auto = chooseDecodePath({ ...base, subgroupMatrixF16: m16 }, undefined, false, true);
    assert.equal(auto.path, 'matrix');
    assert.match(auto.why, /matrix kernel v5 with 8 subgroups/);
    const small = chooseDecodePath({ ...base, subgroupMatrixF16: m16, maxComputeWorkgroupStorageSize: 32768 }, undefined, false, true);
    assert.equal(small.path, 'f32');
    assert.match(small.why, /'matrix' the subgroup-matrix kernel/);
    const forced = chooseDecodePath({ ...base, subgroupMatrixF16: m16 }, 'matrix');
    assert.equal(forced.path, 'matrix');
    assert.ok(!forced.emulate);
    assert.equal(decodeKernelFor(forced, 1), 'matrix');
    assert.equal(decodeKernelFor(forced, 256), 'matrix');
  });
  test('forcing it without a usable float configuration is a typed backend_unavailable naming decodePath', () => {
    assert.throws(() => chooseDecodePath(base, 'matrix'), typedError('backend_unavailable', 'decodePath'));
    assert.throws(() => chooseDecodePath({ ...base, f16: false }, 'matrix'), /no float subgroup-matrix/);
    assert.throws(() => chooseDecodePath({ ...base, subgroupMatrixF16: { m: 8, n: 8, k: 8, result: 'f32' } }, 'matrix'), typedError('backend_unavailable', 'decodePath'));
    // The emulation (tests) needs shader-f16 only.
    assert.equal(chooseDecodePath(base, 'matrix', true).emulate, true);
    assert.throws(() => chooseDecodePath({ ...base, f16: false }, 'matrix', true), typedError('backend_unavailable', 'decodePath'));
  });
  test('configurations: 16 rows, f32 results, n and k dividing 32', () => {
    assert.ok(matrixConfigUsable(m16));
    assert.ok(matrixConfigUsable({ m: 16, n: 8, k: 16, result: 'f32' }));
    assert.ok(matrixConfigUsable({ m: 16, n: 8, k: 8, result: 'f32' }));
    assert.ok(!matrixConfigUsable({ m: 8, n: 8, k: 8, result: 'f32' }));
    assert.ok(!matrixConfigUsable({ m: 16, n: 16, k: 16, result: 'f16' }));
    assert.ok(!matrixConfigUsable({ m: 16, n: 12, k: 16, result: 'f32' }));
  });
});

describe('webgpu matrix kernel: generated WGSL', () => {
  test('workgroup memory as declared: vSplit 1 fits 48 KiB, vSplit 2 fits 32 KiB; the spec picks by the limit or refuses', () => {
    for (const vSplit of [1, 2] as const) {
      const src = decodeMatrixProgram.source(spec({ vSplit }));
      const elem = { f16: 2, f32: 4, u32: 4, i32: 4 } as Record<string, number>;
      let bytes = 0;
      for (const m of src.matchAll(/var<workgroup> \w+: array<(\w+), (\d+)>/g)) bytes += elem[m[1]] * Number(m[2]);
      assert.equal(bytes, decodeMatrixSharedBytes(vSplit), `vSplit ${vSplit}`);
    }
    assert.ok(decodeMatrixSharedBytes(1) <= 48 * 1024);
    assert.ok(decodeMatrixSharedBytes(2) <= 32 * 1024);
    assert.equal(decodeMatrixSpec(problem, base, 1, false).vSplit, 1);
    assert.equal(decodeMatrixSpec(problem, { ...base, maxComputeWorkgroupStorageSize: 32768 }, 1, false).vSplit, 2);
    assert.throws(() => decodeMatrixSpec(problem, { ...base, maxComputeWorkgroupStorageSize: 16384 }, 1, false), typedError('backend_unavailable', 'decodePath'));
    assert.throws(() => decodeMatrixSpec(problem, { ...base, maxComputeWorkgroupStorageSize: 32768 }, 1, false, 1), /needs/);
  });
  test('every subgroupMatrixLoad / Store offset is a constant, every stride matches its array; the emulation has no matrix code', () => {
    for (const config of [m16, { m: 16, n: 8, k: 16, result: 'f32' }, { m: 16, n: 8, k: 8, result: 'f32' }] as const) {
      const src = decodeMatrixProgram.source(spec({ config }));
      assert.match(src, /enable chromium_experimental_subgroup_matrix;/);
      const loads = [...src.matchAll(/subgroupMatrixLoad<[^>]+>>\(&(\w+), ([^,]+), (false|true), (\d+)u\)/g)];
      const stores = [...src.matchAll(/subgroupMatrixStore\(&(\w+), ([^,]+), mc, (false|true), (\d+)u\)/g)];
      // QK per chunk: 32/k left loads, (64/n) * (32/k) right loads, 64/n stores; PV: 64/k, (32/n) * (64/k), 32/n.
      const { n, k } = config;
      assert.equal(loads.length, 32 / k + (64 / n) * (32 / k) + 64 / k + (32 / n) * (64 / k), JSON.stringify(config));
      assert.equal(stores.length, 64 / n + 32 / n, JSON.stringify(config));
      // Row strides of the arrays as the kernel lays them out: q chunk [16][32], k chunk [32][64] or v chunk
      // [64][32], scratch [16][64] (QK) or [16][32] (PV), P [16][64].
      const strides: Record<string, number[]> = { Qc: [32], Ch: [64, 32], Sc: [64, 32], Ph: [64] };
      for (const [, arr, off, colMajor, stride] of [...loads, ...stores]) {
        assert.match(off, /^[\d u+*]+$/, `offset ${off} into ${arr} must be a constant`);
        assert.equal(colMajor, 'false');
        assert.ok(strides[arr]?.includes(Number(stride)), `stride ${stride} of ${arr}`);
      }
      assert.equal((src.match(/subgroupMatrixMultiplyAccumulate/g) ?? []).length, (64 / n) * (32 / k) + (32 / n) * (64 / k));
    }
    const emu = decodeMatrixProgram.source(spec({ emulate: true }));
    assert.doesNotMatch(emu, /subgroup_matrix|subgroupMatrix/);
    assert.notEqual(decodeMatrixProgram.key(spec({ emulate: true })), decodeMatrixProgram.key(spec()));
    assert.notEqual(decodeMatrixProgram.key(spec({ vSplit: 2 })), decodeMatrixProgram.key(spec()));
  });
});

describe('webgpu matrix kernel v4 (four or eight subgroups): generated WGSL', () => {
  const spec4 = (o: Partial<DecodeMatrix4Spec> = {}): DecodeMatrix4Spec => ({ dtype: 'bf16', segs: 1, config: m16, emulate: false, subgroups: 4, ...o });
  test('workgroup memory as declared fits lavapipe\'s 32 KiB; a smaller device and a config with n or k over 16 are typed refusals', () => {
    for (const subgroups of [4, 8] as const) {
      const src = decodeMatrix4Program.source(spec4({ subgroups }));
      const elem = { f16: 2, f32: 4, u32: 4, i32: 4, 'atomic<u32>': 4 } as Record<string, number>;
      let bytes = 0;
      for (const m of src.matchAll(/var<workgroup> \w+: array<(\w+|atomic<u32>), (\d+)>/g)) bytes += elem[m[1]] * Number(m[2]);
      assert.equal(bytes, decodeMatrix4SharedBytes(subgroups));
      assert.ok(bytes <= 32 * 1024, `${bytes} B`);
      assert.match(src, new RegExp(`@workgroup_size\\(${32 * subgroups}\\)`));
    }
    const n8 = { m: 16, n: 8, k: 16, result: 'f32' } as const;
    assert.deepEqual(decodeMatrix4Spec(problem, { ...base, subgroupMatrixF16: n8 }, 3, false, 8), { dtype: 'bf16', segs: 3, config: n8, emulate: false, subgroups: 8 });
    assert.equal(decodeMatrix4Spec(problem, base, 1, false).subgroups, 4);
    assert.throws(() => decodeMatrix4Spec(problem, { ...base, maxComputeWorkgroupStorageSize: 16384 }, 1, false), typedError('backend_unavailable', 'decodePath'));
    assert.throws(() => decodeMatrix4Spec(problem, { ...base, subgroupMatrixF16: { m: 16, n: 32, k: 16, result: 'f32' } }, 1, false), typedError('backend_unavailable', 'decodePath'));
    assert.ok(matrix4ConfigUsable({ m: 16, n: 8, k: 8, result: 'f32' }));
  });
  test('the uniformity diagnostic is off; every matrix offset is built of constants and subgroup indices, every stride its array\'s', () => {
    for (const subgroups of [4, 8] as const) {
      const pw = matrix4Layout(subgroups).pw;
      for (const config of [m16, { m: 16, n: 8, k: 16, result: 'f32' }, { m: 16, n: 8, k: 8, result: 'f32' }] as const) {
        const src = decodeMatrix4Program.source(spec4({ config, subgroups }));
        const what = `${subgroups} subgroups, ${JSON.stringify(config)}`;
        assert.match(src, /enable chromium_experimental_subgroup_matrix;\ndiagnostic\(off, chromium\.subgroup_matrix_uniformity\);/);
        const loads = [...src.matchAll(/subgroupMatrixLoad<[^>]+>>\(&(\w+), ([^,]+), (false|true), (\d+)u\)/g)];
        const stores = [...src.matchAll(/subgroupMatrixStore\(&(\w+), ([^,]+), mc, (false|true), (\d+)u\)/g)];
        const { n, k } = config;
        // QK a chunk: 32/k left (q), (16/n) (32/k) right (k); P: 64/k left once a tile; PV: 4 chunks of (pw/n) (64/k) right.
        assert.equal(loads.length, 32 / k + (16 / n) * (32 / k) + 64 / k + 4 * (pw / n) * (64 / k), what);
        assert.equal(stores.length, 16 / n + 4 * (pw / n), what);
        assert.equal((src.match(/subgroupMatrixMultiplyAccumulate/g) ?? []).length, (16 / n) * (32 / k) + 4 * (pw / n) * (64 / k), what);
        // q chunks [16][40], k chunks [32][64], v chunks [64][pw], P [16][72], fresh QK [16][20] / PV [16][pw + 4].
        const strides: Record<string, number[]> = { Ch: [40, 64, pw], Ph: [72], Sc: [20, pw + 4] };
        for (const [, arr, off, colMajor, stride] of [...loads, ...stores]) {
          // sg, cg, kg: the subgroup, its chunk group and its index in the group (uniform within a subgroup).
          assert.match(off, /^(\d+u|sg|cg|kg|[ +*])+$/, `offset ${off} into ${arr}`);
          assert.equal(colMajor, 'false');
          assert.ok(strides[arr]?.includes(Number(stride)), `stride ${stride} of ${arr} (${what})`);
        }
      }
      const emu = decodeMatrix4Program.source(spec4({ emulate: true, subgroups }));
      assert.doesNotMatch(emu, /subgroup_matrix|subgroupMatrix|diagnostic/);
    }
    assert.notEqual(decodeMatrix4Program.key(spec4({ emulate: true })), decodeMatrix4Program.key(spec4()));
    assert.notEqual(decodeMatrix4Program.key(spec4({ subgroups: 8 })), decodeMatrix4Program.key(spec4()));
  });
  test('the matrix path runs v5 unless version 4 or 3 is asked for', () => {
    const plan = { numSmParts: 132, hKv: 1, sQ: 1, hQ: 16 } as unknown as DecodePlan;
    const path = chooseDecodePath({ ...base, subgroupMatrixF16: m16 }, 'matrix');
    const settings = { caps: { ...base, subgroupMatrixF16: m16 }, path, mulAdd: false, tuning: {} };
    assert.equal(resolveDecodeKernel(plan, 'bf16', 1, settings).program.name, 'mla_decode_matrix5');
    assert.equal((resolveDecodeKernel(plan, 'bf16', 1, settings).spec as DecodeMatrix5Spec).subgroups, 8);
    assert.deepEqual(resolveDecodeKernel(plan, 'bf16', 1, settings).dispatch, [132, 1, 1]);
    assert.equal(resolveDecodeKernel(plan, 'bf16', 1, { ...settings, matrix: { version: 4 } }).program.name, 'mla_decode_matrix4');
    assert.deepEqual(resolveDecodeKernel(plan, 'bf16', 1, { ...settings, matrix: { version: 4 } }).dispatch, [132, 1, 1]);
    assert.equal(resolveDecodeKernel(plan, 'bf16', 1, { ...settings, matrix: { version: 3 } }).program.name, 'mla_decode_matrix');
    assert.equal((resolveDecodeKernel(plan, 'bf16', 1, { ...settings, matrix: { version: 4, subgroups: 8 } }).spec as DecodeMatrix4Spec).subgroups, 8);
    assert.equal((resolveDecodeKernel(plan, 'bf16', 1, { ...settings, matrix: { subgroups: 4 } }).spec as DecodeMatrix5Spec).subgroups, 4);
  });
});

describe('webgpu matrix kernel v5 (the key tile converted once): generated WGSL', () => {
  const spec5 = (o: Partial<DecodeMatrix5Spec> = {}): DecodeMatrix5Spec => ({ dtype: 'bf16', segs: 1, config: m16, emulate: false, subgroups: 8, ...o });
  test('workgroup memory as declared: 8 subgroups within 48 KiB, 4 within lavapipe\'s 32 KiB; the default layout and typed refusals', () => {
    for (const subgroups of [4, 8] as const) {
      const src = decodeMatrix5Program.source(spec5({ subgroups }));
      const elem = { f16: 2, f32: 4, u32: 4, i32: 4, 'atomic<u32>': 4 } as Record<string, number>;
      let bytes = 0;
      for (const m of src.matchAll(/var<workgroup> \w+: array<(\w+|atomic<u32>), (\d+)>/g)) bytes += elem[m[1]] * Number(m[2]);
      assert.equal(bytes, decodeMatrix5SharedBytes(subgroups));
      assert.ok(bytes <= (subgroups === 8 ? 49152 : 32768), `${bytes} B`);
      assert.match(src, new RegExp(`@workgroup_size\\(${32 * subgroups}\\)`));
    }
    assert.equal(decodeMatrix5Spec(problem, { ...base, subgroupMatrixF16: m16 }, 1, false).subgroups, 8);
    assert.equal(decodeMatrix5Spec(problem, { ...base, subgroupMatrixF16: m16, maxComputeWorkgroupStorageSize: 32768 }, 1, false).subgroups, 4);
    assert.throws(() => decodeMatrix5Spec(problem, { ...base, maxComputeWorkgroupStorageSize: 32768 }, 1, false, { subgroups: 8 }), typedError('backend_unavailable', 'decodePath'));
    assert.throws(() => decodeMatrix5Spec(problem, { ...base, maxComputeWorkgroupStorageSize: 16384 }, 1, false), typedError('backend_unavailable', 'decodePath'));
    assert.throws(() => decodeMatrix5Spec(problem, { ...base, subgroupMatrixF16: { m: 16, n: 8, k: 16, result: 'f32' } }, 1, false), typedError('backend_unavailable', 'decodePath'));
    assert.ok(matrix5ConfigUsable(m16));
    assert.ok(!matrix5ConfigUsable({ m: 16, n: 16, k: 8, result: 'f32' }));
  });
  test('the uniformity diagnostic is off; matrix offsets of constants and subgroup indices; strides and counts', () => {
    for (const subgroups of [4, 8] as const) {
      const g = matrix5Layout(subgroups);
      const src = decodeMatrix5Program.source(spec5({ subgroups }));
      assert.match(src, /enable chromium_experimental_subgroup_matrix;\ndiagnostic\(off, chromium\.subgroup_matrix_uniformity\);/);
      const loads = [...src.matchAll(/subgroupMatrixLoad<[^>]+>>\(&(\w+), ([^,]+), (false|true), (\d+)u\)/g)];
      const stores = [...src.matchAll(/subgroupMatrixStore\(&(\w+), ([^,]+), mc, (false|true), (\d+)u\)/g)];
      // Qᵀ: 11 right matrices an item; QK: 11 left (parts of 11, 11, 10 and 4 steps); P: kb left a tile; PV: nbs x kb right.
      assert.equal(loads.length, 11 + 11 + g.kb + g.nbs * g.kb);
      assert.equal(stores.length, 1 + g.nbs);
      assert.equal((src.match(/subgroupMatrixMultiplyAccumulate/g) ?? []).length, 11 + g.nbs * g.kb);
      // Steps 0..3 for every part, 4..9 for the three latent parts, 10 for the first two; the RoPE part from column 512.
      assert.match(src, /if \(cp < 3u\) \{ (mc = subgroupMatrixMultiplyAccumulate\([^;]+\);\s*){6}\}\s*if \(cp < 2u\) \{ mc = [^;]+ \+ 160u, [^;]+\); \}/);
      assert.match(src, /let cs = select\(cl, 512u, cp == 3u\);/);
      const strides: Record<string, number[]> = { Kt: [584, 16], Ph: [g.pStride], Sc: [16] };
      for (const [, arr, off, colMajor, stride] of [...loads, ...stores]) {
        assert.match(off, /^(\d+u|sg|kb|cp|cs|cl|[ +*()])+$/, `offset ${off} into ${arr}`);
        assert.equal(colMajor, 'false');
        assert.ok(strides[arr]?.includes(Number(stride)), `stride ${stride} of ${arr}`);
      }
      const emu = decodeMatrix5Program.source(spec5({ emulate: true, subgroups }));
      assert.doesNotMatch(emu, /subgroup_matrix|subgroupMatrix|diagnostic/);
    }
    assert.notEqual(decodeMatrix5Program.key(spec5({ emulate: true })), decodeMatrix5Program.key(spec5()));
    assert.notEqual(decodeMatrix5Program.key(spec5({ subgroups: 4 })), decodeMatrix5Program.key(spec5()));
    assert.notEqual(decodeMatrix5Program.key(spec5({ dtype: 'f16' })), decodeMatrix5Program.key(spec5()));
  });

  test('lazy rescale (option): its own key, no byte more of workgroup memory; O in result matrices, PV\'s products with no scratch store or barrier outside the rescale branch', () => {
    assert.notEqual(decodeMatrix5Program.key(spec5({ lazy: true })), decodeMatrix5Program.key(spec5()));
    assert.equal(decodeMatrix5Program.source(spec5({ lazy: false })), decodeMatrix5Program.source(spec5()));
    assert.deepEqual(decodeMatrix5Spec({ dtype: 'bf16' }, { ...base, subgroupMatrixF16: m16 }, 1, false, { lazy: true }), { ...spec5(), lazy: true, trim: true, bounded: true, packedMax: true, qOnce: true, freshO: true, bf16Direct: true });
    for (const subgroups of [4, 8] as const) {
      const g = matrix5Layout(subgroups);
      const src = decodeMatrix5Program.source(spec5({ subgroups, lazy: true }));
      // The barrier after the softmax is the uniform load of the flag; the rescale branch hangs on it.
      assert.match(src, /let grew = workgroupUniformLoad\(&rowC\[0\]\) != 0\.0;/);
      // Declared exactly as v5 (same workgroup arrays, same sizes).
      const decls = (x: string) => x.match(/var<workgroup> [^;]+;/g)?.join('\n');
      assert.equal(decls(src), decls(decodeMatrix5Program.source(spec5({ subgroups }))));
      const pvAt = src.indexOf('// <pv-product>'), pvEnd = src.indexOf('// </pv-product>');
      const pv = src.slice(pvAt, pvEnd);
      assert.equal((pv.match(/subgroupMatrixMultiplyAccumulate\(pl\d, /g) ?? []).length, g.nbs * g.kb);
      assert.doesNotMatch(pv, /workgroupBarrier|subgroupMatrixStore|Sc\[/);
      // After the products the loop ends: the next barrier is the next tile's.
      assert.match(src.slice(pvEnd), /^\/\/ <\/pv-product>\n {2}\}\n {2}\/\/ Row sums/);
      // Outside the rescale branch and the item's end, Sc is not touched in PV; the branch restores each result.
      const branch = src.slice(src.indexOf('if (grew) {'), pvAt);
      assert.equal((branch.match(/subgroupMatrixStore\(&Sc, sg \* 256u, om\d, false, 16u\)/g) ?? []).length, g.nbs);
      assert.equal((branch.match(/subgroupMatrixLoad<subgroup_matrix_result<f32, 16, 16>>\(&Sc, sg \* 256u, false, 16u\)/g) ?? []).length, g.nbs);
      const emu = decodeMatrix5Program.source(spec5({ emulate: true, subgroups, lazy: true }));
      assert.doesNotMatch(emu, /subgroup_matrix|subgroupMatrix|diagnostic/);
      assert.match(emu, /let ra0 = select\(1\.0, rowA\[hh \* 8u \+ 0u\], grew\); let rc0 = 1\.0;/);
    }
  });
});

describe('webgpu matrix kernel: the emulated WGSL through Dawn', () => {
  let be: WebGpuBackend | undefined;
  before(async () => { try { be = await createNodeWebGpuBackend({ decodePath: 'matrix', matrix: { emulate: true } }); } catch { /* skipped below */ } });
  after(() => be?.dispose());
  test('v3 (vSplit 2), v4 and v5 (4 subgroups: lavapipe\'s 32 KiB), bf16 and f16, one and three cache bindings: no WGSL errors (uniformity included)', async (t) => {
    if (!be) { if (process.env.CI) assert.fail('no WebGPU adapter with shader-f16 in CI'); t.skip('no WebGPU adapter with shader-f16'); return; }
    for (const dtype of ['bf16', 'f16'] as const) {
      for (const segs of [1, 3]) await be.programs.check(decodeMatrixProgram, spec({ dtype, segs, emulate: true, vSplit: 2 }));
      for (const subgroups of [4, 8] as const) await be.programs.check(decodeMatrix4Program, { dtype, segs: 3, config: m16, emulate: true, subgroups });
      for (const segs of [1, 3]) await be.programs.check(decodeMatrix5Program, { dtype, segs, config: m16, emulate: true, subgroups: 4 });
      for (const segs of [1, 3]) await be.programs.check(decodeMatrix5Program, { dtype, segs, config: m16, emulate: true, subgroups: 4, lazy: true });
      // The GPU's lazy WGSL (8 subgroups), the matrix builtins as typed stubs.
      const gpu = stubbedMatrixWgsl(decodeMatrix5Program.source({ dtype, segs: 3, config: m16, emulate: false, subgroups: 8, lazy: true }));
      await be.programs.check({ name: 'v5 lazy (stubbed matrices)', key: () => 'lazy', source: () => gpu }, undefined);
    }
    assert.equal(be.info.details?.decodePath, 'matrix');
  });
});

describe('webgpu matrix kernel: its arithmetic modelled in JavaScript, against the float64 reference', () => {
  // Random cases of the hostile matrix with several 16-row tiles or odd head counts, then extreme magnitudes.
  const specs = caseMatrix(60, 0x6d0de1).filter((x) => !x.qLens && x.hQ * x.sQ / x.hKv > 16 && x.hQ * x.sQ / x.hKv <= 24).slice(0, 2);
  const extremes = extremeCases();
  const cases: [string, () => DecodeCase][] = [
    ...specs.map((s, i): [string, () => DecodeCase] => [specName(s, i), () => makeCase(s, 500 + i)]),
    extremes[0], extremes[5], extremes[7],
    ['one key row mixing 1e-6 and 6e4', mixedBlockCase],
  ];
  for (const [label, make] of cases) {
    test(label, () => {
      const c = make();
      const ref = caseReference(c);
      const got = matrixModel(c);
      assertOutputsClose(got.out, got.lse, ref, c.dtype, { b: c.b, sQ: c.sQ, hQ: c.hQ }, matrixTol, label);
      // v4: one V scale per 32-column block and tile instead of per column.
      const v4 = matrixModel(c, true, 32);
      assertOutputsClose(v4.out, v4.lse, ref, c.dtype, { b: c.b, sQ: c.sQ, hQ: c.hQ }, matrixTol, `${label}, V scales per 32 columns`);
    });
  }
  test('the model can fail: without the power-of-two scales, magnitudes outside f16\'s range do', () => {
    for (const [label, make] of [extremes[7]]) {
      const c = make();
      const ref = caseReference(c);
      const got = matrixModel(c);
      assert.ok(compareOutputs(got.out, got.lse, ref, c.dtype, { b: c.b, sQ: c.sQ, hQ: c.hQ }, matrixTol).ok, label);
      const plain = matrixModel(c, false);
      assert.ok(!compareOutputs(plain.out, plain.lse, ref, c.dtype, { b: c.b, sQ: c.sQ, hQ: c.hQ }, matrixTol).ok, `${label}, unscaled`);
    }
    assert.equal(convert32(Array.from({ length: 32 }, (_, i) => (i ? 1e-9 : 1))).h[1], 0, '1e-9 below its block\'s largest is lost (an error below 2^-24 of it)');
  });
});

describe('webgpu matrix kernel v5: its arithmetic modelled in JavaScript (support/matrix-model5.ts), against the float64 reference', () => {
  // The v4 model's random cases (several 16-row tiles, odd head counts), the extreme magnitudes, the mixed block.
  const specs = caseMatrix(60, 0x6d0de1).filter((x) => !x.qLens && x.hQ * x.sQ / x.hKv > 16 && x.hQ * x.sQ / x.hKv <= 24).slice(0, 2);
  // Each case built once: the mutation test reuses the cases (and their memoised references) the tests above built.
  const made = new Map<() => DecodeCase, DecodeCase>();
  const once = (make: () => DecodeCase) => () => { let c = made.get(make); if (!c) { c = make(); made.set(make, c); } return c; };
  const extremes = extremeCases().map(([label, make]): [string, () => DecodeCase] => [label, once(make)]);
  const nanCase = once(nanRowsCase);
  const random = specs.map((s, i) => once(() => makeCase(s, 500 + i)));
  const layout = (c: DecodeCase) => ({ b: c.b, sQ: c.sQ, hQ: c.hQ });
  const check = (c: DecodeCase, opts: Matrix5ModelOptions, label: string) => {
    const got = matrix5Model(c, opts);
    return compareOutputs(got.out, got.lse, caseReference(c), c.dtype, layout(c), matrixTol).ok ? '' : label;
  };
  /** '' when the model's NaN rows are exactly the reference's and every other row is within matrixTol, else why not. */
  const checkNan = (c: DecodeCase, opts: Matrix5ModelOptions): string => {
    const ref = caseReference(c);
    const got = matrix5Model(c, opts);
    const out = Uint16Array.from(got.out), lse = Float32Array.from(got.lse);
    const refOut = Float64Array.from(ref.out), refLse = Float64Array.from(ref.lse);
    const outNan = c.dtype === 'bf16' ? (h: number) => (h & 0x7fff) > 0x7f80 : (h: number) => (h & 0x7fff) > 0x7c00;
    let refNanRows = 0;
    for (let row = 0; row < c.totalQ * c.hQ; row++) {
      const tok = Math.floor(row / c.hQ), h = row % c.hQ, at = (Math.floor(tok / c.sQ) * c.hQ + h) * c.sQ + (tok % c.sQ);
      const refNan = Number.isNaN(refLse[at]);
      refNanRows += refNan ? 1 : 0;
      for (let col = 0; col < 512; col++) {
        if (outNan(out[row * 512 + col]) !== refNan) return `row ${row} col ${col}: out NaN ${!refNan}, reference ${refNan}`;
      }
      if (Number.isNaN(lse[at]) !== refNan) return `row ${row}: lse NaN ${!refNan}, reference ${refNan}`;
      // The NaN rows match: blank them in both (a row that sees no key) so the rest is compared as usual.
      if (refNan) { out.fill(0, row * 512, row * 512 + 512); refOut.fill(0, row * 512, row * 512 + 512); lse[at] = Infinity; refLse[at] = Infinity; }
    }
    if (refNanRows === 0) return 'the reference has no NaN row';
    const r = compareOutputs(out, lse, { out: refOut, lse: refLse }, c.dtype, layout(c), matrixTol);
    return r.ok ? '' : r.message;
  };
  const cases: [string, () => DecodeCase][] = [
    ...specs.map((s, i): [string, () => DecodeCase] => [specName(s, i), random[i]]),
    ...extremes,
    ['one key row mixing 1e-6 and 6e4', mixedBlockCase],
    ['rows that see no key (zero-length sequence, causal queries past a short one)', noKeyRowsCase],
  ];
  for (const [label, make] of cases) {
    test(label, () => {
      const c = make();
      const ref = caseReference(c);
      // 8 subgroups (32-key tiles, the H200's default) always; 4 (16-key tiles, lavapipe's) but for the extremes.
      for (const subgroups of label.startsWith('q x') ? [8] as const : [8, 4] as const) {
        const got = matrix5Model(c, { subgroups });
        assertOutputsClose(got.out, got.lse, ref, c.dtype, layout(c), matrixTol, `${label}, ${subgroups} subgroups`);
      }
    });
  }
  test('a NaN in q or in a key gives NaN for exactly the rows that see it; a NaN in V of a key other rows do not see leaves them finite', () => {
    for (const subgroups of [8, 4] as const) assert.equal(checkNan(nanCase(), { subgroups }), '', `${subgroups} subgroups`);
  });
  test('the assertions can fail: each broken scale rule fails them', () => {
    // The NaN bit folded into the key's maximum (the bug 9b5ecf4 fixed): the key's finite values convert to inf and
    // P = 0 times inf turns the rows of its tile that do not see it NaN.
    assert.match(checkNan(nanCase(), { nanInMax: true }), /out NaN true, reference false/);
    // No per-key scale: cache values of 1e25 overflow f16 (and 1e-6 lose bits); no per-row q scale: q of 3e-30 is 0.
    assert.notEqual(check(extremes[7][1](), { keyScale: false }, 'no key scale'), '');
    assert.notEqual(check(extremes[1][1](), { keyScale: false }, 'no key scale'), '');
    assert.notEqual(check(extremes[7][1](), { qScale: false }, 'no q scale'), '');
    assert.notEqual(check(extremes[0][1](), { qScale: false }, 'no q scale'), '');
    // The key scale left out of P': V enters O divided by its key's scale.
    assert.notEqual(check(random[0](), { keyScaleInP: false }, 'no key scale in P'), '');
    // The same cases pass with the scheme intact (the tests above), so these failures are the mutations'.
    // The conversion: 576 values share one scale; values 2^24 below the largest are lost, a NaN is zeroed and flags it.
    const row = Array.from({ length: 576 }, (_, i) => (i === 3 ? 3 : i === 4 ? 1e-8 : i === 5 ? NaN : 1));
    const r = convertRow(row);
    assert.deepEqual([r.h[3], r.h[4], r.h[5], r.h[0], r.e, r.scale], [1.5, 0, 0, 0.5, 128, NaN]);
    assert.deepEqual([convertRow(row, true, true).e, convertRow(row.map((x) => (Number.isNaN(x) ? 0 : x))).scale], [1, 2]);
  });
  // Issue #13 (docs/notes/webgpu-matrix-v5-model.md): three cases v5 got wrong, fixed in the kernel and in the model;
  // each test checks that the old arithmetic (a named mutation of the model) fails it.
  const qHuge = once(() => scaledCase({ name: 'q huge', dtype: 'bf16', hQ: 16, hKv: 1, pageBlockSize: 64, seqlens: [77], sQ: 1, causal: false }, 4242, 1e37, 1e-30));
  test('keys whose RoPE columns are 2^20 times their latent columns (every key, and one key in 32 at 2^30): the RoPE columns have a scale of their own', () => {
    for (const [label, c] of [['RoPE x 2^20', ropeHeavyCase(20)], ['RoPE x 2^30 in one key of 32', ropeHeavyCase(30, 32)]] as const) {
      for (const subgroups of [8, 4] as const) assert.equal(check(c, { subgroups }, `${label}, ${subgroups} subgroups`), '');
      // One scale over a key's 576 values: the latent columns (QK and V) keep 4 bits.
      assert.notEqual(check(c, { oneKeyScale: true }, 'one key scale'), '', label);
      assert.notEqual(check(c, v5Before13, 'v5 before #13'), '', label);
    }
  });
  test('q of 1e37 against keys of 1e-30 (bf16): the score as acc * 2^(eq + ek - 254), never acc * qs alone', () => {
    for (const subgroups of [8, 4] as const) assert.equal(check(qHuge(), { subgroups }, `${subgroups} subgroups`), '');
    // ((acc * qs) * ks): acc * 2^123 overflows f32 though the score is about 1e8.
    assert.notEqual(check(qHuge(), { productScore: true }, 'acc * qs * ks'), '');
    assert.notEqual(check(qHuge(), { productScore: true, oneKeyScale: true }, 'acc * qs * ks, one key scale'), '');
    // Exponents past f32's: exact where the result is a normal f32, inf only where the result overflows.
    assert.deepEqual([pow2Mul(1.5 * 2 ** -100, 200), pow2Mul(1.5 * 2 ** 100, -200), pow2Mul(1, 128), pow2Mul(2 ** -60, 252)], [1.5 * 2 ** 100, 1.5 * 2 ** -100, Infinity, Infinity]);
  });
  test('+inf in a key: the rows it turns NaN have NaN lse (not +inf, "no key")', () => {
    for (const subgroups of [8, 4] as const) assert.equal(checkNan(infKeyCase(), { subgroups }), '', `${subgroups} subgroups`);
    assert.match(checkNan(infKeyCase(), { nanSumNoKey: true }), /lse NaN false, reference true/);
  });
});
