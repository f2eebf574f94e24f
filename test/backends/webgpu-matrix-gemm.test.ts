// The subgroup-matrix memory probes (src/bench/webgpu-matrix-gemm.ts): their WGSL runs on lavapipe with the builtins
// emulated (each lane computes a whole 16 x 16 product), the gemm's result is checked against the host's exact sums
// for every tile form the device call sweeps, and a mutated kernel fails that check; specs outside the probes' forms
// are refused before any WGSL is made.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FlashMlaError } from '../../src/core/errors.js';
import { type GemmSpec, gemmTile, gemmWgsl, measureGemm, measureSmemMac, smemMacWgsl } from '../../src/bench/webgpu-matrix-gemm.js';
import { useWebGpu } from '../support/webgpu.js';

const gpu = useWebGpu({ withReduced: false });
const base: GemmSpec = { subgroupsM: 2, subgroupsN: 2, lefts: 2, rights: 1, kStep: 16, pad: 0, stages: 1 };

describe('webgpu matrix probes: specs and text', () => {
  test('tile sizes and workgroup memory', () => {
    assert.deepEqual(gemmTile({ ...base, subgroupsN: 4, lefts: 4, rights: 2, kStep: 32, pad: 8, stages: 2 }), { tm: 128, tn: 128, threads: 256, sharedBytes: 2 * 2 * (128 * 40 + 32 * 136) });
  });
  test('specs outside the probes\' forms are typed errors', () => {
    assert.throws(() => gemmWgsl({ ...base, kStep: 48 }, { m: 64, n: 64, k: 96 }), FlashMlaError);
    assert.throws(() => gemmWgsl({ ...base, oneBuffer: true }, { m: 64, n: 64, k: 64 }), /oneBuffer only with 2 stages/);
    assert.throws(() => gemmWgsl(base, { m: 48, n: 64, k: 64 }), /whole 64 x 32 x 16 tiles/);
    assert.throws(() => gemmWgsl({ ...base, stages: 2, prefetch: 2 }, { m: 64, n: 64, k: 64 }), /prefetch 2 only with oneBuffer/);
    assert.throws(() => smemMacWgsl({ subgroups: 4, lefts: 8, rights: 4, stride: 128 }), /lefts x rights <= 16/);
    assert.throws(() => smemMacWgsl({ subgroups: 4, lefts: 1, rights: 1, stride: 100 }), /stride/);
  });
  test('the GPU text uses the builtins, the emulated one none of them', () => {
    const gpuText = gemmWgsl(base, { m: 64, n: 64, k: 64 }), emu = gemmWgsl(base, { m: 64, n: 64, k: 64 }, true);
    assert.match(gpuText, /subgroupMatrixMultiplyAccumulate/);
    assert.match(gpuText, /diagnostic\(off, chromium\.subgroup_matrix_uniformity\)/);
    assert.doesNotMatch(emu, /subgroup_matrix|subgroupMatrix/);
    assert.doesNotMatch(smemMacWgsl({ subgroups: 2, lefts: 2, rights: 2, stride: 136 }, true), /subgroup_matrix|subgroupMatrix/);
  });
});

describe('webgpu matrix probes on lavapipe (emulated builtins)', () => {
  test('gemm: every form the device call sweeps computes C = A B exactly', async (t) => {
    const be = gpu.need(t);
    if (!be) return;
    const forms: Partial<GemmSpec>[] = [{}, { kStep: 32 }, { pad: 8 }, { stages: 2 }, { stages: 2, kStep: 32, pad: 8 }, { subgroupsM: 1, subgroupsN: 4, lefts: 1, rights: 2 },
      { stages: 2, oneBuffer: true }, { stages: 2, oneBuffer: true, kStep: 64, pad: 8 },
      { stages: 2, oneBuffer: true, prefetch: 2 }, { stages: 2, oneBuffer: true, prefetch: 2, kStep: 32, pad: 8 },
      { stages: 2, oneBuffer: true, subgroupsM: 1, subgroupsN: 8, lefts: 1, rights: 2, kStep: 32, pad: 8 }, // set 4's 16-row layout (its own kStep 64 / 512-column forms exceed lavapipe's 32 KiB of workgroup memory)
      { source: 'storage' }, { source: 'storage', kStep: 32, subgroupsM: 1, subgroupsN: 4, lefts: 1, rights: 2 }];
    for (const f of forms) {
      const s = { ...base, ...f };
      const { tm, tn } = gemmTile(s);
      const shape = { m: 2 * tm, n: 2 * tn, k: s.kStep === 64 ? 192 : 96 }; // 4 workgroups; an odd and an even count of K steps
      const r = await measureGemm(be, s, shape, { emulate: true, reps: 1, samples: 64 });
      assert.ok(r.ok, `${JSON.stringify(f)}: max |error| ${r.maxAbsErr}`);
      assert.equal(r.checked, 68);
      assert.equal(r.TFLOPS > 0, true);
    }
  });
  test('gemm: a kernel that skips a K step, misplaces B\'s rows or drops prefetch 2\'s second slab fails the check', async (t) => {
    const be = gpu.need(t);
    if (!be) return;
    const shape = { m: 128, n: 64, k: 96 };
    const skip = await measureGemm(be, base, shape, { emulate: true, reps: 1, samples: 64, edit: (c) => c.replace('step < u.x; step++', 'step + 1u < u.x; step++') });
    assert.equal(skip.ok, false);
    const rows = await measureGemm(be, base, shape, { emulate: true, reps: 1, samples: 64, edit: (c) => c.replace('let r = w / ', 'let r = 1u + w / ') });
    assert.equal(rows.ok, false);
    // prefetch 2: the second register set never stored (every other slab multiplied twice)
    const deep = { ...base, stages: 2 as const, oneBuffer: true, prefetch: 2 as const };
    assert.equal((await measureGemm(be, deep, shape, { emulate: true, reps: 1, samples: 64 })).ok, true);
    const lost = await measureGemm(be, deep, shape, { emulate: true, reps: 1, samples: 64, edit: (c) => c.replace('if (step + 2u < u.x) { put(', 'if (false) { put(') });
    assert.equal(lost.ok, false);
  });
  test('smem: runs and reports its arithmetic', async (t) => {
    const be = gpu.need(t);
    if (!be) return;
    const r = await measureSmemMac(be, { subgroups: 2, lefts: 2, rights: 2, stride: 136 }, { emulate: true, iterations: 2, reps: 1, workgroupsPerSm: 1 });
    assert.ok(r.ms > 0 && Number.isFinite(r.TFLOPS));
    assert.equal(r.lefts * r.rights, 4);
  });
});
