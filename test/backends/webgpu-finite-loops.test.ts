// The finite-loop probe (kernels/finite-loops.ts; docs/notes/webgpu-tensor-core.md, "Session 18, round 2"), fast: the
// rewrite keeps every loop's iterations (checked by running the loop heads as JavaScript over a range of bounds and
// starts), leaves v5 with no loop Tint cannot prove finite but its tile loop and the combine with none (every other
// head steps by 1 to a literal), and
// its GPU WGSL (stubbed builtins) compiles through Tint; on lavapipe (products emulated, 4 subgroups, lazy + trim +
// bounded) v5 and the combine give the same bits with it and without it, split and unsplit.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { WebGpuBackend } from '../../src/backends/webgpu/backend.js';
import { combineProgram } from '../../src/backends/webgpu/kernels/combine.js';
import { decodeMatrix5Program } from '../../src/backends/webgpu/kernels/decode-matrix5.js';
import { finiteLoopsWgsl } from '../../src/backends/webgpu/kernels/finite-loops.js';
import { createNodeWebGpuBackend } from '../../src/backends/webgpu/node.js';
import { flashMlaWithKvcache } from '../../src/index.js';
import { stubbedMatrixWgsl } from '../support/matrix-stub.js';
import { key5 as key, src5 as src } from '../support/matrix5-spec.js';
import { runCase } from '../support/random.js';
import { growingCase } from '../support/webgpu-matrix.js';

const dflt = { lazy: true, trim: true, bounded: true } as const; // the default v5 on the H200

/** The values a WGSL loop (head + `{`, body `seen.push(x)`) visits, run as JavaScript (integers only). */
function visits(loop: string, x: string, env: Record<string, number>): number[] {
  const js = `${loop.replace(/\bvar\b/g, 'let').replace(/\blet (\w+) =/g, 'let $1 =').replace(/(\d+)u\b/g, '$1')} seen.push(${x}); }`;
  const seen: number[] = [];
  new Function('seen', ...Object.keys(env), js)(seen, ...Object.values(env));
  return seen;
}

describe('finite loops (WGSL)', () => {
  test('the rewrite visits the same values in the same order', () => {
    const heads: [string, string, Record<string, number>[]][] = [
      ['for (var bi = b0; bi <= b1; bi++) {', 'bi', [{ b0: 0, b1: 0 }, { b0: 3, b1: 9 }, { b0: 5, b1: 4 }]],
      ['for (var s = 0; s < n; s++) {', 's', [{ n: 0 }, { n: 1 }, { n: 132 }, { n: -3 }]],
      ['for (var w = t; w < 1152u; w += 256u) {', 'w', [0, 1, 127, 128, 255].map((t) => ({ t }))],
      ['for (var pi = l; pi < 128u; pi += 32u) {', 'pi', [0, 5, 31].map((l) => ({ l }))],
      ['for (var k0 = kBegin; k0 < kEnd; k0 += 32) {', 'k0', [{ kBegin: 0, kEnd: 0 }, { kBegin: 0, kEnd: 1 }, { kBegin: 64, kEnd: 300 }, { kBegin: 7, kEnd: 71 }]],
      ['for (var j = 0u; j < 8u; j++) {', 'j', [{}]],
    ];
    for (const [h, x, envs] of heads) {
      const r = finiteLoopsWgsl(h);
      if (/< (\d+)u?; \w+\+\+\) \{$/.test(h)) assert.equal(r, h, 'a literal bound stepping by 1 stays');
      else assert.match(r, /^for \(var \w+ = [^;]+; \w+ < \d+; \w+\+\+\) \{/, r);
      for (const env of envs) assert.deepEqual(visits(r, x, env), visits(h, x, env), `${h} ${JSON.stringify(env)}`);
    }
    assert.throws(() => finiteLoopsWgsl('for (var w = t; w < 9u; w += 2u) { w = 3u; }'), /assigned/);
    assert.equal(finiteLoopsWgsl('for (var k0 = a; k0 < b; k0 += 32) {', ['k0']), 'for (var k0 = a; k0 < b; k0 += 32) {');
  });

  test('v5 (8 and 4 subgroups, emulated or not) keeps only its tile loop and the combine no loop Tint cannot prove finite', () => {
    const unproven = (s: string) => [...s.matchAll(/for \(var (\w+) = [^;]+; \1 (<=?) ([^;]+); ([^)]+)\)/g)].filter((m) => m[2] !== '<' || !/^\d+u?$/.test(m[3].trim()) || m[4] !== `${m[1]}++`).map((m) => m[0]);
    for (const subgroups of [8, 4] as const) for (const emulate of [false, true]) {
      const base = src({ ...dflt, subgroups, emulate });
      assert.ok(unproven(base).length >= 4, 'v5 has runtime-bounded loops');
      assert.deepEqual(unproven(src({ ...dflt, subgroups, emulate, finite: true })).map((h) => h.split(' ')[2]), ['k0'], 'only the tile loop keeps its head');
    }
    assert.equal(unproven(combineProgram.source({ dtype: 'bf16' })).length, 3);
    assert.deepEqual(unproven(combineProgram.source({ dtype: 'bf16', finite: true })), []);
    assert.match(key({ ...dflt, finite: true }), /\.trim\.bnd\.fin$/);
    assert.equal(combineProgram.key({ dtype: 'bf16', finite: true }), 'bf16.fin');
    assert.equal(src({ ...dflt, finite: false }), src(dflt));
  });
});

describe('finite loops on lavapipe (products emulated, 4 subgroups, lazy + trim + bounded)', () => {
  const bes: { on?: WebGpuBackend; off?: WebGpuBackend } = {};
  let why = '';
  const keys = new Set<string>();
  const { key: key0 } = decodeMatrix5Program;
  const { key: ckey0 } = combineProgram;
  before(async () => {
    decodeMatrix5Program.key = (s) => { const k = key0.call(decodeMatrix5Program, s); keys.add(k); return k; };
    combineProgram.key = (s) => { const k = ckey0.call(combineProgram, s); keys.add(`combine.${k}`); return k; };
    try {
      bes.on = await createNodeWebGpuBackend({ decodePath: 'matrix', matrix: { emulate: true, subgroups: 4, finite: true } });
      bes.off = await createNodeWebGpuBackend({ decodePath: 'matrix', matrix: { emulate: true, subgroups: 4 } });
    } catch (e) { why = `no WebGPU adapter with shader-f16 (${(e as Error).message.split('\n')[0]})`; }
  });
  after(() => { decodeMatrix5Program.key = key0; combineProgram.key = ckey0; bes.on?.dispose(); bes.off?.dispose(); });
  test('the GPU\'s WGSL (stubbed builtins) compiles through Tint', async (t) => {
    if (!bes.on) { if (process.env.CI) assert.fail(why); t.skip(why); return; }
    const p = { ...dflt, subgroups: 4 as const, finite: true };
    const code = stubbedMatrixWgsl(src(p));
    await bes.on.programs.check({ name: `v5 ${key(p)}`, key: () => key(p), source: () => code }, undefined);
  });
  test('the same bits either way: keys growing along the sequence, split (132 SMs, the combine) and unsplit (1 SM)', async (t) => {
    if (!bes.on || !bes.off) { if (process.env.CI) assert.fail(why); t.skip(why); return; }
    // 330 keys: two splits at 132 SMs (130 keys were one: the combine pass ran only because it always did; since
    // session 19 a batch with no split request has no combine pass)
    const c = growingCase([330, 33]);
    for (const numSms of [132, 1]) {
      keys.clear();
      const a = await runCase(c, bes.on, flashMlaWithKvcache, { numSms });
      assert.ok([...keys].some((k) => /\.bnd\.fin(\.|$)/.test(k)) && (numSms === 1 || keys.has('combine.bf16.fin')), [...keys].join(' '));
      keys.clear();
      const b = await runCase(c, bes.off, flashMlaWithKvcache, { numSms });
      assert.ok(![...keys].some((k) => /\.fin(\.|$)/.test(k)), [...keys].join(' '));
      assert.deepEqual(a.out, b.out, `out, ${numSms} SMs`);
      assert.deepEqual(new Uint32Array(a.lse.buffer, a.lse.byteOffset, a.lse.length), new Uint32Array(b.lse.buffer, b.lse.byteOffset, b.lse.length), `lse, ${numSms} SMs`);
    }
  });
});
