// The ablation round of the matrix kernels v5 and v6 (scripts/webgpu-tools/ablate-matrix.mjs, matrix-ablations.mjs):
// every marker the round cuts is in the generated WGSL as whole pairs, the pv-sync marker holds exactly PV's
// barriers, a patched program keys each cut set apart and unpatches, and every cut set of the GPU's WGSL (with typed
// stubs for the matrix builtins, test/support/matrix-stub.ts) passes Tint, so that no set of the next device call fails
// to compile.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { WebGpuBackend } from '../../src/backends/webgpu/backend.js';
import { decodeMatrix4Program } from '../../src/backends/webgpu/kernels/decode-matrix4.js';
import { type DecodeMatrix5Spec, decodeMatrix5Program } from '../../src/backends/webgpu/kernels/decode-matrix5.js';
import { type DecodeMatrix6Spec, decodeMatrix6Program } from '../../src/backends/webgpu/kernels/decode-matrix6.js';
import { createNodeWebGpuBackend } from '../../src/backends/webgpu/node.js';
import { FlashMlaError } from '../../src/core/errors.js';
// @ts-expect-error: a plain ES module of the tools folder, without types
import { ablateSource, ablationSets, bindingNames, matrixMarkers, patchProgram } from '../../scripts/webgpu-tools/matrix-ablations.mjs';
import { stubbedMatrixWgsl } from '../support/matrix-stub.js';

type Set = { label: string; cut: string[]; numSms?: number };
const sets = ablationSets as Set[];
const markers = matrixMarkers as Record<4 | 5 | 6, string[]>;
const cutSource = ablateSource as (src: string, names: string[]) => string;
const bindingsOf = bindingNames as (src: string) => { binding: number; name: string }[];
const m16 = { m: 16, n: 16, k: 16, result: 'f32' } as const;
const spec5 = (o: Partial<DecodeMatrix5Spec> = {}): DecodeMatrix5Spec => ({ dtype: 'bf16', segs: 1, config: m16, emulate: false, subgroups: 8, ...o });
const spec6 = (o: Partial<DecodeMatrix6Spec> = {}): DecodeMatrix6Spec => ({ dtype: 'bf16', segs: 1, config: m16, emulate: false, pvPair: 2, ...o });
const barriers = (src: string) => src.match(/workgroupBarrier\(\);/g)?.length ?? 0;
const sources = () => [
  { name: 'v5 8 subgroups', version: 5 as const, src: decodeMatrix5Program.source(spec5()), pvSync: 7 },
  { name: 'v5 4 subgroups, emulated', version: 5 as const, src: decodeMatrix5Program.source(spec5({ subgroups: 4, emulate: true })), pvSync: 15 },
  { name: 'v6 pvPair 2', version: 6 as const, src: decodeMatrix6Program.source(spec6()), pvSync: 7 },
  { name: 'v6 pvPair 1, emulated', version: 6 as const, src: decodeMatrix6Program.source(spec6({ pvPair: 1, emulate: true })), pvSync: 15 },
];

describe('webgpu matrix kernels: the ablation markers', () => {
  test('every marker of v5 and v6 is in the WGSL as whole pairs; cutting one leaves none of it; pv-sync holds PV\'s barriers', () => {
    for (const { name, version, src, pvSync } of sources()) {
      for (const m of markers[version]) {
        const open = src.split(`// <${m}>`).length - 1, close = src.split(`// </${m}>`).length - 1;
        assert.ok(open > 0 && open === close, `${name}: ${m} opens ${open}, closes ${close}`);
        const cut = cutSource(src, [m]);
        assert.ok(!cut.includes(`// <${m}>`) && !cut.includes(`// </${m}>`), `${name}: ${m}`);
        assert.ok(cut.length < src.length);
      }
      assert.equal(barriers(src) - barriers(cutSource(src, ['pv-sync'])), pvSync, name);
      // The parts of work hold no barrier: the sets cut work, not synchronisation, unless they name pv-sync.
      const work = sets.find((s) => s.label === 'barriers-only')!.cut;
      assert.equal(barriers(cutSource(src, work)), barriers(src), name);
      for (const s of sets) for (const m of s.cut) assert.ok(markers[version].includes(m), `${s.label}: ${m}`);
    }
    for (const m of markers[4]) assert.ok(decodeMatrix4Program.source({ dtype: 'bf16', segs: 1, config: m16, emulate: false, subgroups: 8 } as Parameters<typeof decodeMatrix4Program.source>[0]).includes(`// <${m}>`), `v4: ${m}`);
    assert.throws(() => cutSource(decodeMatrix5Program.source(spec5()), ['qk-convert']), /no part named qk-convert/);
  });

  test('a patched program keys every cut set apart, cuts its source, and unpatches', () => {
    let cut: string[] = [];
    const key0 = decodeMatrix6Program.key(spec6()), src0 = decodeMatrix6Program.source(spec6());
    const undo = (patchProgram as (p: unknown, names: () => string[]) => () => void)(decodeMatrix6Program, () => cut);
    try {
      assert.equal(decodeMatrix6Program.key(spec6()), key0);
      assert.equal(decodeMatrix6Program.source(spec6()), src0);
      const keys = new Set<string>();
      for (const s of sets) { cut = s.cut; keys.add(decodeMatrix6Program.key(spec6())); }
      assert.equal(keys.size, new Set(sets.map((s) => s.cut.join())).size);
      cut = ['pv-sync'];
      assert.equal(barriers(decodeMatrix6Program.source(spec6())), barriers(src0) - 7);
    } finally {
      undo();
    }
    cut = ['pv-sync'];
    assert.equal(decodeMatrix6Program.key(spec6()), key0);
    assert.equal(decodeMatrix6Program.source(spec6()), src0);
  });
});

describe('webgpu matrix kernels: every cut set of the GPU\'s WGSL through Tint (typed stubs for the matrix builtins)', () => {
  let be: WebGpuBackend | undefined;
  before(async () => { try { be = await createNodeWebGpuBackend({ decodePath: 'matrix', matrix: { emulate: true } }); } catch { /* skipped below */ } });
  after(() => be?.dispose());
  test('v5 (8 subgroups) and v6 (pvPair 2), bf16: every set compiles; a broken cut does not', async (t) => {
    if (!be) { if (process.env.CI) assert.fail('no WebGPU adapter with shader-f16 in CI'); t.skip('no WebGPU adapter with shader-f16'); return; }
    const programs = [
      { version: 5, src: decodeMatrix5Program.source(spec5()) },
      { version: 6, src: decodeMatrix6Program.source(spec6()) },
    ];
    for (const { version, src } of programs) {
      for (const s of sets) {
        if (s.numSms !== undefined) continue; // the base kernel, planned differently
        const code = stubbedMatrixWgsl(cutSource(src, s.cut));
        await be.programs.check({ name: `v${version} ${s.label}`, key: () => s.label, source: () => code }, undefined);
      }
    }
    // The check can fail: a cut whose first end marker is lost takes the loop's head with it.
    const broken = stubbedMatrixWgsl(cutSource(programs[0].src.replace('// </tile-load>', ''), ['tile-load']));
    await assert.rejects(be.programs.check({ name: 'broken', key: () => 'broken', source: () => broken }, undefined), (e: unknown) => e instanceof FlashMlaError && /WGSL errors/.test(e.message));
  });

  // Session 10's first H200 call: the barriers-only set cut every read of the cache, the pipeline's auto layout lost
  // binding 6 and the bind group the backend builds for the base kernel failed. Every set's pipeline (auto layout) must
  // take exactly the base's bind group: one buffer a binding the base declares, of the base's kind, and no other.
  test('v5 and v6: every cut set\'s pipeline takes the base kernel\'s bind group (auto layout, every binding)', async (t) => {
    if (!be) { if (process.env.CI) assert.fail('no WebGPU adapter with shader-f16 in CI'); t.skip('no WebGPU adapter with shader-f16'); return; }
    const dev = be.device;
    // The tile arrays shrunk to fit this adapter's workgroup memory (lavapipe: 32 KiB); the bindings do not depend on them.
    const fit = (src: string) => src.replace(/var<workgroup> (\w+): array<(f16|f32), (\d+)>/g, (m, name, ty, n) => Number(n) > 2048 ? `var<workgroup> ${name}: array<${ty}, 2048>` : m);
    const buffers: GPUBuffer[] = [];
    const buffer = (uniform: boolean) => { const b = dev.createBuffer({ size: 4096, usage: uniform ? GPUBufferUsage.UNIFORM : GPUBufferUsage.STORAGE }); buffers.push(b); return b; };
    // The bind group's validation error for this WGSL (null: it fits), entries as the base declares them.
    const bindError = async (code: string, base: { binding: number; name: string }[]) => {
      dev.pushErrorScope('validation');
      const module = dev.createShaderModule({ code: fit(stubbedMatrixWgsl(code)) });
      const pipeline = dev.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
      const pipelineError = await dev.popErrorScope();
      assert.equal(pipelineError, null, pipelineError?.message);
      dev.pushErrorScope('validation');
      dev.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: base.map((b) => ({ binding: b.binding, resource: { buffer: buffer(b.name === 'u') } })) });
      return (await dev.popErrorScope())?.message ?? null;
    };
    try {
      for (const { version, src } of [{ version: 5, src: decodeMatrix5Program.source(spec5()) }, { version: 6, src: decodeMatrix6Program.source(spec6()) }]) {
        const base = bindingsOf(src);
        assert.deepEqual(base.map((b) => b.binding), [0, 1, 2, 3, 4, 5, 6], `v${version}`);
        for (const s of sets) {
          const cut = cutSource(src, s.cut);
          assert.deepEqual(bindingsOf(cut), base, `v${version} ${s.label}`);
          assert.equal(await bindError(cut, base), null, `v${version} ${s.label}`);
        }
        // The check can fail: the cut without its kept bindings is the call's crash.
        const bare = cutSource(src, ['tile-load']).replace(/\n \/\/ \(ablation: every binding stays in the layout\)\n[^\n]*\n/, '\n');
        assert.notEqual(bare, cutSource(src, ['tile-load']));
        assert.match(await bindError(bare, base) ?? '', /binding index 6 not present/, `v${version}`);
      }
    } finally {
      for (const b of buffers) b.destroy();
    }
  });
});
