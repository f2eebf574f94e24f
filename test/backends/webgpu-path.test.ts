// The WebGPU decode path choice (kernels/path.ts): which kernel a device's features select, and why. Pure logic
// plus one look at the backends lavapipe gives (the f16 kernel itself is checked in test/long/webgpu-f16.test.ts).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { WebGpuBackend } from '../../src/backends/webgpu/backend.js';
import { chooseDecodePath, chooseDecodePath as choose, decodeKernelFor, f16MaxRows, matrixAuto, matrixByDefault, pickSubgroupMatrix } from '../../src/backends/webgpu/kernels/path.js';
import { decodeMatrix5SharedBytes } from '../../src/backends/webgpu/kernels/decode-matrix5.js';
import { createNodeWebGpuBackend, nodeGpu } from '../../src/backends/webgpu/node.js';
import type { DeviceCaps } from '../../src/backends/webgpu/program.js';

const base = { f16: false, subgroups: true, subgroupMinSize: 32 } as DeviceCaps;

describe('webgpu: decode path choice', () => {
  test('float subgroup-matrix configs: 16x16x16 with f32 results first; integer and f16-result ones are not picked', () => {
    assert.equal(pickSubgroupMatrix([{ componentType: 'u8', resultComponentType: 'u32', M: 16, N: 16, K: 32 }]), undefined);
    assert.equal(pickSubgroupMatrix([{ componentType: 'f16', resultComponentType: 'f16', M: 16, N: 16, K: 16 }]), undefined);
    assert.deepEqual(pickSubgroupMatrix([
      { componentType: 'f16', resultComponentType: 'f16', M: 16, N: 16, K: 16 },
      { componentType: 'f16', resultComponentType: 'f32', M: 16, N: 8, K: 16 },
      { componentType: 'f16', resultComponentType: 'f32', M: 16, N: 16, K: 16 },
    ]), { m: 16, n: 16, k: 16, result: 'f32' });
    assert.deepEqual(pickSubgroupMatrix(undefined), undefined);
  });
  test('the matrix kernel is the default of a qualifying device; with the default off (a test setting) it runs f32 and says how to get v5', () => {
    const h200 = { ...base, f16: true, subgroupMatrixF16: { m: 16, n: 16, k: 16, result: 'f32' as const }, maxComputeWorkgroupStorageSize: 49152 };
    assert.equal(matrixByDefault, true);
    assert.ok(matrixAuto(h200));
    assert.equal(chooseDecodePath(h200).path, 'matrix');
    assert.equal(chooseDecodePath(h200, 'auto').path, 'matrix');
    assert.equal(chooseDecodePath(h200, 'f32').path, 'f32');
    const off = chooseDecodePath(h200, undefined, false, false);
    assert.equal(off.path, 'f32');
    assert.match(off.why, /decodePath 'matrix' runs the subgroup-matrix kernel v5/);
    assert.equal(chooseDecodePath(h200, 'auto', false, false).path, 'f32');
    assert.equal(chooseDecodePath(h200, 'matrix', false, false).path, 'matrix');
  });
  test('with the matrix default on, it runs where v5 with 8 subgroups fits: 16x16x16 f16 -> f32, shader-f16, 48 KiB, hardware', () => {
    const m16 = { m: 16, n: 16, k: 16, result: 'f32' as const };
    const need = decodeMatrix5SharedBytes(8);
    assert.ok(need > 32768 && need <= 49152, `v5 with 8 subgroups declares ${need} B`);
    const h200 = { ...base, f16: true, subgroupMatrixF16: m16, maxComputeWorkgroupStorageSize: 49152 };
    assert.ok(matrixAuto(h200));
    const chooseDecodePath = (caps: Parameters<typeof choose>[0], force?: 'f32' | 'auto') => choose(caps, force, false, true);
    const c = chooseDecodePath(h200);
    assert.equal(c.path, 'matrix');
    assert.equal(c.forced, undefined);
    assert.match(c.why, /matrix kernel v5 with 8 subgroups/);
    assert.match(c.why, /49152 B of workgroup memory/);
    assert.equal(decodeKernelFor(c, 1), 'matrix');
    assert.equal(decodeKernelFor(c, 128), 'matrix');
    // Each missing piece keeps the f32 kernel: memory one byte short, another configuration, f16 results, no
    // shader-f16, a software adapter; and decodePath 'f32' forces it.
    for (const caps of [
      { ...h200, maxComputeWorkgroupStorageSize: need - 1 },
      { ...h200, maxComputeWorkgroupStorageSize: 32768 },
      { ...h200, subgroupMatrixF16: { ...m16, n: 8 } },
      { ...h200, subgroupMatrixF16: { ...m16, result: 'f16' as const } },
      { ...h200, f16: false },
      { ...h200, software: true },
    ]) {
      assert.equal(matrixAuto(caps), false, JSON.stringify(caps));
      assert.equal(chooseDecodePath(caps).path, 'f32', JSON.stringify(caps));
    }
    assert.equal(chooseDecodePath({ ...h200, maxComputeWorkgroupStorageSize: need }).path, 'matrix');
    assert.equal(chooseDecodePath(h200, 'f32').path, 'f32');
    assert.equal(chooseDecodePath(h200, 'auto').path, 'matrix');
  });
  test('without that, the default is the f32 kernel; f16 and matrix only when forced; forcing what the device lacks throws', () => {
    assert.equal(chooseDecodePath(base).path, 'f32');
    assert.match(chooseDecodePath(base).why, /neither/);
    assert.equal(chooseDecodePath({ ...base, f16: true }).path, 'f32');
    assert.equal(chooseDecodePath({ ...base, f16: true, software: true }).path, 'f32');
    assert.equal(chooseDecodePath({ ...base, f16: true, software: true }, 'f16').path, 'f16');
    const mx = chooseDecodePath({ ...base, f16: true, subgroupMatrixF16: { m: 16, n: 16, k: 16, result: 'f32' } });
    assert.equal(mx.path, 'f32');
    assert.match(mx.why, /subgroup-matrix f16 16x16x16/);
    assert.throws(() => chooseDecodePath(base, 'f16'), /shader-f16/);
    // An f16 choice that was not forced hands problems of more than f16MaxRows rows per KV head to the f32 kernel.
    const auto = { path: 'f16' as const, why: '' };
    assert.equal(decodeKernelFor(auto, f16MaxRows), 'f16');
    assert.equal(decodeKernelFor(auto, f16MaxRows + 1), 'f32');
    assert.equal(decodeKernelFor(chooseDecodePath({ ...base, f16: true }, 'f16'), 128), 'f16');
    assert.throws(() => chooseDecodePath({ ...base, f16: true }, 'matrix'), /no float subgroup-matrix configuration/);
  });
});

describe('webgpu: the path a Node backend reports', () => {
  let be: WebGpuBackend | undefined, forced: WebGpuBackend | undefined;
  before(async () => {
    try { be = await createNodeWebGpuBackend(); forced = await createNodeWebGpuBackend({ decodePath: 'f32' }); } catch { /* skipped below */ }
  });
  after(() => { be?.dispose(); forced?.dispose(); });
  test('unlockFeatures: false starts on a Dawn instance without the toggles (same features on lavapipe)', async (t) => {
    if (!be) { t.skip('no WebGPU adapter'); return; }
    const plain = await createNodeWebGpuBackend({ unlockFeatures: false });
    try {
      assert.notEqual(nodeGpu([], false), nodeGpu([], true));
      // The toggles unlock shader-f16 / subgroup matrices on NVIDIA only; elsewhere the kernels see the same device.
      if (be.caps.software) assert.deepEqual([...plain.device.features].filter((f) => f !== 'chromium-experimental-subgroup-matrix').sort(), [...be.device.features].filter((f) => f !== 'chromium-experimental-subgroup-matrix').sort());
      assert.equal(plain.caps.f16, be.caps.f16);
    } finally {
      plain.dispose();
    }
  });
  test('info.details carries decodePath and why; decodePath: f32 forces the f32 kernel', (t) => {
    if (!be) { if (process.env.CI) assert.fail('no WebGPU adapter in CI'); t.skip('no WebGPU adapter'); return; }
    const d = be.info.details as Record<string, unknown>;
    assert.equal(d.decodePath, chooseDecodePath(be.caps).path);
    assert.equal(typeof d.decodePathWhy, 'string');
    assert.equal(forced!.info.details?.decodePath, 'f32');
    assert.match(String(forced!.info.details?.decodePathWhy), /forced/);
  });
});
