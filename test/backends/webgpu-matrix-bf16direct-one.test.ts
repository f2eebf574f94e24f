// v5's bf16DirectOne (kernels/decode-matrix5.ts `bf16DirectOne`, session 41 candidate, opt-in): bf16Direct with the key
// maxima taken on every tile and the lanes' range test beside them, then one plain barrier before each lane reads the
// flag (an ordinary load) and converts its words scaled or direct: one barrier a tile fewer than bf16Direct, the same
// conversion chosen per tile, so the same bits. Fast: the WGSL (its key; ignored where bf16Direct does not run; the
// test on the magnitudes as loaded; the barrier between the flag's writers and readers, none inside the conversion;
// the reset after the last reader) and the GPU WGSL (stubbed builtins) through Tint, whose uniformity analysis must
// accept the non-uniform branch. On lavapipe (products emulated): against the float64 reference and bit for bit against
// bf16Direct, on random cases of many shapes (split and unsplit), magnitudes far outside f16's range, work items that
// mix direct and scaled tiles, NaN rows and an +inf key.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  type DecodeMatrix5Spec, type Matrix5Choice, decodeMatrix5Spec, matrix5Bf16DirectOneDefault, matrix5Bf16DirectOneOn, matrix5Layout,
} from '../../src/backends/webgpu/kernels/decode-matrix5.js';
import type { DeviceCaps } from '../../src/backends/webgpu/program.js';
import type { WebGpuBackend } from '../../src/backends/webgpu/backend.js';
import type { MatrixKnobs } from '../../src/backends/webgpu/decode-kernel.js';
import { createNodeWebGpuBackend } from '../../src/backends/webgpu/node.js';
import { flashMlaWithKvcache } from '../../src/index.js';
import { f32ToBf16 } from '../../src/core/dtype.js';
import { compareOutputs } from '../support/compare.js';
import { type CaseSpec, type DecodeCase, caseMatrix, caseReference, makeCase, runCase } from '../support/random.js';
import {
  checkInfKeyRows, checkNanRows, checkV5ThroughTint, extremeCases, infKeyCase, matrixTol, mixedBlockCase, nanRowsCase, onOffMatrixBackends,
  ropeHeavyCase, someHugeKeys,
} from '../support/webgpu-matrix.js';
import { key5 as key, m16, src5 as src, wgBytes } from '../support/matrix5-spec.js';

const b16d = { lazy: true, trim: true, bounded: true, packedMax: true, qOnce: true, freshO: true, bf16Direct: true } as const; // v5's default on the H200
const one = { ...b16d, bf16DirectOne: true } as const;
const count = (s: string, re: RegExp) => [...s.matchAll(re)].length;
const between = (s: string, from: string, to: string) => s.slice(s.indexOf(from), s.indexOf(to));

describe('webgpu matrix v5 bf16DirectOne (WGSL)', () => {
  test('opt-in; its own key after bf16Direct\'s; only where bf16Direct runs; off, the WGSL as bf16Direct\'s; no byte of workgroup memory more', () => {
    const caps = { maxComputeWorkgroupStorageSize: 49152, subgroupMatrixF16: m16 } as unknown as DeviceCaps;
    assert.equal(matrix5Bf16DirectOneDefault, false);
    assert.match(key(one), /\.b16d\.b16d1$/);
    assert.equal(src({ ...b16d, bf16DirectOne: false }), src(b16d));
    assert.notEqual(src(one), src(b16d));
    assert.equal(src({ ...one, dtype: 'f16' }), src({ ...b16d, dtype: 'f16' }), 'f16: no change');
    assert.equal(key({ ...one, dtype: 'f16' }), key({ ...b16d, dtype: 'f16' }));
    // Where bf16Direct does not run, neither does bf16DirectOne: the WGSL and the key as without it.
    for (const o of [{ bf16Direct: undefined }, { tile16: true }, { pair: true }, { lean: true }, { infSafe: true }, { lazy: undefined }, { packedMax: undefined }] as const) {
      const s: Partial<DecodeMatrix5Spec> = { ...one, ...o };
      assert.equal(matrix5Bf16DirectOneOn({ dtype: 'bf16', ...s }), false, JSON.stringify(o));
      assert.equal(src(s), src({ ...b16d, ...o }), `${JSON.stringify(o)}: the WGSL as without it`);
      assert.equal(key(s), key({ ...b16d, ...o }), `${JSON.stringify(o)}: the key as without it`);
    }
    assert.equal(matrix5Bf16DirectOneOn({ dtype: 'bf16', ...one, infSafe: 'seen' }), true);
    const spec = (dtype: 'bf16' | 'f16', o: Matrix5Choice = {}) => decodeMatrix5Spec({ dtype }, caps, 1, false, o);
    assert.equal(spec('bf16').bf16DirectOne, undefined, 'off unless told');
    assert.equal(spec('bf16', { bf16DirectOne: true }).bf16DirectOne, true);
    assert.equal(spec('bf16', { bf16DirectOne: true }).bf16Direct, true);
    assert.equal(spec('bf16', { bf16DirectOne: true, bf16Direct: false }).bf16DirectOne, undefined);
    assert.equal(spec('bf16', { bf16DirectOne: true, packedMax: false }).bf16DirectOne, undefined);
    assert.equal(spec('f16', { bf16DirectOne: true }).bf16DirectOne, undefined);
    for (const subgroups of [4, 8] as const) assert.equal(wgBytes(src({ ...one, subgroups })), wgBytes(src({ ...b16d, subgroups })));
  });

  test('the tile: the maxima and the test together; one plain barrier, then the flag read by every lane; no barrier in the conversion; the reset after the next one', () => {
    for (const o of [{ subgroups: 8 }, { subgroups: 4 }, { emulate: true, subgroups: 4 }, { trim: undefined, bounded: undefined }, { firstEarly: true, qRowLanes: true }] as const) {
      const s = src({ ...one, ...o }), old = src({ ...b16d, ...o }), pm = src({ ...b16d, ...o, bf16Direct: undefined });
      const what = JSON.stringify(o);
      const words = matrix5Layout(o.subgroups ?? 8).words;
      const max = between(s, '// <tile-max>', '// </tile-max>');
      // The maxima on every tile (not under a flag), the test on the magnitudes before a NaN or an infinity recomputes them.
      assert.equal(count(max, /magMax\(w\d\)/g), words, `${what}: all 36 words, once`);
      assert.match(max, /atomicMax\(&kMax\[lk\], mb\);\s*atomicMax\(&kMaxR\[lk\], mr\);/);
      const test1 = max.indexOf('let mbD = max(mb, mr);');
      assert.ok(test1 > max.indexOf('var mr = magMax(') && test1 < max.indexOf('if (max(mb, mr) >= 0x7f800000u) {'), `${what}: the test's magnitudes as loaded`);
      assert.match(max, /let mbD = max\(mb, mr\);[^\n]*\n\s*if \(mbD >= 0x47800000u \|\| \(mbD < 0x3c800000u && mbD != 0u\)\) \{ rowC\[2\] = 1\.0; \}/);
      assert.doesNotMatch(max, /if \(slow\)|workgroupBarrier|workgroupUniformLoad/);
      // Between the test and the conversion: one plain barrier, then the flag as an ordinary load.
      const mid = between(s, '// </tile-max>', '// <tile-convert>');
      assert.equal(count(mid, /workgroupBarrier\(\);/g), 1, what);
      assert.ok(mid.indexOf('workgroupBarrier();') < mid.indexOf('let slow = rowC[2] != 0.0;'), `${what}: the read after the barrier`);
      assert.doesNotMatch(mid, /atomic|if \(slow\)/);
      assert.doesNotMatch(s, /workgroupUniformLoad\(&rowC\[2\]\)/);
      // The conversion: scaled or direct by the lane's flag, no barrier in either; then the barrier, then the reset.
      const conv = between(s, '// <tile-convert>', '// </tile-convert>');
      assert.match(conv, /^\/\/ <tile-convert>\s*if \(slow\) \{/);
      assert.doesNotMatch(conv, /workgroupBarrier|workgroupUniformLoad|rowC/);
      assert.equal(conv, between(old, '// <tile-convert>', '// </tile-convert>'), `${what}: bf16Direct's conversion`);
      assert.match(s, /\/\/ <\/tile-convert>\s*workgroupBarrier\(\);\s*if \(t == 0u\) \{ rowC\[2\] = 0\.0; \}/);
      // rowC[2]: written by the test, read once, reset once (every reader before the barrier that precedes the reset).
      assert.equal(count(s, /rowC\[2\]/g), 3, what);
      // The softmax's factors as bf16Direct's, from the lane's own flag.
      assert.equal(count(s, /let ek = select\(127u, expOf\(atomicLoad\(&kMax\[key\]\)\), slow\);/g), count(old, /let ek = select\(127u, expOf\(atomicLoad\(&kMax\[key\]\)\), slow\);/g));
      assert.ok(count(s, /let er = select\(127u, expOf\(atomicLoad\(&kMaxR\[key\]\)\), slow\);/g) > 0);
      // One barrier a tile fewer than bf16Direct (its uniform load is two; the rare maxima's barrier is gone): packedMax's count.
      const barriers = (x: string) => count(x, /workgroupBarrier\(\)/g) + 2 * count(x, /workgroupUniformLoad\(/g);
      assert.equal(barriers(s), barriers(pm), `${what}: packedMax's barriers`);
      assert.equal(barriers(old) - barriers(s), 2, `${what}: bf16Direct's uniform load (2) and rare barrier (1) against one plain barrier`);
    }
  });

  test('FLASHMLA_WEBGPU_MATRIX_BF16DIRECTONE=1 / 0 reaches the backend\'s matrix knobs (unset: none)', async (t) => {
    const was = process.env.FLASHMLA_WEBGPU_MATRIX_BF16DIRECTONE;
    try {
      for (const [env, want] of [['1', true], ['0', false], [undefined, undefined]] as const) {
        if (env === undefined) delete process.env.FLASHMLA_WEBGPU_MATRIX_BF16DIRECTONE; else process.env.FLASHMLA_WEBGPU_MATRIX_BF16DIRECTONE = env;
        let be: WebGpuBackend;
        try { be = await createNodeWebGpuBackend(); } catch (e) {
          if (process.env.CI) throw e;
          return t.skip(`no WebGPU adapter (${(e as Error).message.split('\n')[0]})`);
        }
        // the options the backend keeps (private: read here only to see what the environment made of them)
        try { assert.equal((be as unknown as { opts: { matrix?: MatrixKnobs } }).opts.matrix?.bf16DirectOne, want, `env ${env}`); } finally { be.dispose(); }
      }
    } finally { if (was === undefined) delete process.env.FLASHMLA_WEBGPU_MATRIX_BF16DIRECTONE; else process.env.FLASHMLA_WEBGPU_MATRIX_BF16DIRECTONE = was; }
  });

  test('the GPU\'s WGSL (stubbed builtins) compiles through Tint (its uniformity analysis: the branch on the flag holds no barrier)', async (t) => {
    await checkV5ThroughTint(t, [one, { ...one, subgroups: 4 }, { ...one, firstEarly: true, qRowLanes: true, infSafe: 'seen' }, { ...one, trim: undefined, bounded: undefined }, { ...one, noPrefetch: true }]);
  });
});

/** Keys scaled by 2^lg in the cache's bf16 bits where `pick(token)` says so (NaN slots stay NaN). */
function scaleKeys(c: DecodeCase, pick: (tok: number) => boolean, lg: number): DecodeCase {
  const toF = (b: number) => new Float32Array(new Uint32Array([b << 16]).buffer)[0];
  const row = 576 * c.hKv;
  for (let tok = 0; tok * row < c.kCache.length; tok++) {
    if (!pick(tok)) continue;
    for (let i = tok * row; i < (tok + 1) * row; i++) if ((c.kCache[i] & 0x7fff) <= 0x7f80) c.kCache[i] = f32ToBf16(toF(c.kCache[i]) * 2 ** lg);
  }
  return c;
}

/**
 * A host model of the tiles an unsplit run converts (4 subgroups: 16-key tiles from key 0, 8 lanes a key, lane lj holding
 * words lj + 8 i): [direct, scaled] tiles, by bf16Direct's lane test on the bf16 bits.
 */
function tileKinds(c: DecodeCase, kvh = 0): [number, number] {
  const fails = (b: number) => { const m = (b & 0x7fff) << 16; return m >= 0x47800000 || (m < 0x3c800000 && m !== 0); };
  let direct = 0, scaled = 0;
  for (let bi = 0; bi < c.b; bi++) {
    for (let k0 = 0; k0 < c.cacheSeqlens[bi]; k0 += 16) {
      let slow = false;
      for (let k = k0; k < Math.min(k0 + 16, c.cacheSeqlens[bi]) && !slow; k++) {
        const base = ((c.blockTable[bi * c.maxBlocksPerSeq + Math.floor(k / c.pageBlockSize)] * c.pageBlockSize + (k % c.pageBlockSize)) * c.hKv + kvh) * 576;
        for (let lj = 0; lj < 8 && !slow; lj++) {
          let mx = 0;
          for (let w = lj; w < 72; w += 8) for (let e = 0; e < 8; e++) mx = Math.max(mx, c.kCache[base + w * 8 + e] & 0x7fff);
          slow = fails(mx);
        }
      }
      if (slow) scaled++; else direct++;
    }
  }
  return [direct, scaled];
}

describe('webgpu matrix v5 bf16DirectOne on lavapipe (products emulated, 4 subgroups): the reference, and bf16Direct\'s bits', () => {
  const bes = onOffMatrixBackends({ bf16Direct: true, bf16DirectOne: true }, { bf16Direct: true });
  before(() => bes.setup());
  after(() => bes.teardown());
  const base: CaseSpec = { name: 'bf16', dtype: 'bf16', hQ: 16, hKv: 1, pageBlockSize: 16, seqlens: [130, 1], sQ: 1, causal: false };
  const skip = (t: { skip: (m?: string) => void }) => { if (process.env.CI) assert.fail(bes.why); t.skip(bes.why); };
  const bits = (x: Float32Array) => new Uint32Array(x.buffer, x.byteOffset, x.length);
  /** The case on bf16DirectOne (its key checked), bit for bit bf16Direct's; against the reference unless `ref` is false. */
  const same = async (c: DecodeCase, what: string, numSms: number, schedule?: 'fill', ref = true) => {
    const opts = { numSms, ...(schedule ? { schedule } : {}) };
    bes.keys.clear();
    const a = await runCase(c, bes.on!, flashMlaWithKvcache, opts);
    assert.ok([...bes.keys].some((k) => k.endsWith('.b16d.b16d1')), `${what}: ${[...bes.keys].join(' ')}`);
    bes.keys.clear();
    const b = await runCase(c, bes.off!, flashMlaWithKvcache, opts);
    assert.ok([...bes.keys].some((k) => k.endsWith('.b16d')), `${what}: ${[...bes.keys].join(' ')}`);
    const at = `${what}, ${numSms} SMs${schedule ? ` ${schedule}` : ''}`;
    assert.deepEqual(bits(a.lse), bits(b.lse), `${at}: lse, bf16Direct's bits`);
    assert.deepEqual(a.out, b.out, `${at}: out, bf16Direct's bits`);
    if (!ref) return;
    const rep = compareOutputs(a.out, a.lse, caseReference(c), c.dtype, { b: c.b, sQ: c.sQ, hQ: c.hQ, qIndptr: c.qIndptr }, matrixTol);
    assert.ok(rep.ok, `${at}: ${rep.failures[0] ?? rep.message}`);
  };
  const splitAndNot = async (c: DecodeCase, what: string) => { for (const [numSms, schedule] of [[132, 'fill'], [1, undefined]] as const) await same(c, what, numSms, schedule); };

  test('random cases (odd heads, two KV heads, seqlens 0 / 1 / 63 / 64 / 65 / 2049, causal, varlen, page 1 / 16 / 64 / 100 / 256), split and unsplit', async (t) => {
    if (!bes.on) return skip(t);
    const specs: CaseSpec[] = [
      { ...base, name: 'h5 causal', hQ: 5, sQ: 2, seqlens: [65, 0, 1, 63, 64], causal: true },
      { ...base, name: 'hKv 2', hQ: 6, hKv: 2, seqlens: [200, 17] },
      { ...base, name: 'h16 page 64', pageBlockSize: 64, seqlens: [300, 64] },
      { ...base, name: 'h17 sQ 3 causal', hQ: 17, sQ: 3, seqlens: [1, 129, 64], causal: true },
      { ...base, name: 'varlen h7 causal', hQ: 7, qLens: [2, 0, 3], seqlens: [70, 5, 129], causal: true },
      { ...base, name: 'h1 2049 keys', hQ: 1, pageBlockSize: 64, seqlens: [2049, 3] },
      // caseMatrix's bf16 shapes (odd page sizes and head counts, out-of-range table slots, spare NaN pages; its varlen
      // cases fall on f16)
      ...caseMatrix(24, 0xb16d1, { workBudget: 12_000 }).filter((s) => s.dtype === 'bf16'),
    ];
    for (const [i, sp] of specs.entries()) await splitAndNot(makeCase(sp, 0xb16d1 + i), sp.name);
  });

  test('magnitudes outside f16\'s range, blocks mixing 1e-6 and 6e4, RoPE columns 2^20 times the latent ones', async (t) => {
    if (!bes.on) return skip(t);
    for (const [name, mk] of extremeCases()) await same(mk(), name, 132, 'fill');
    await same(mixedBlockCase(), 'mixed blocks', 1);
    await same(ropeHeavyCase(20), 'RoPE x 2^20', 132, 'fill');
  });

  test('direct and scaled tiles in one work item: every 7th / 50th key 2^20 times the rest, tiles of huge or tiny keys between plain ones', async (t) => {
    if (!bes.on) return skip(t);
    const mixed: [string, DecodeCase][] = [
      ['every 7th key x 2^20', someHugeKeys({ ...base, seqlens: [260, 90] }, 0xb17, 7)],
      ['every 50th key x 2^20', someHugeKeys({ ...base, seqlens: [260, 90] }, 0xb50, 50)],
      // by cache page (16 keys: an unsplit run's tile): pages 1, 4, 7, .. huge (2^20), 2, 5, 8, .. tiny (2^-12: every
      // lane's largest below 2^-6), the rest plain
      ['tiles huge / tiny / plain', scaleKeys(scaleKeys(makeCase({ ...base, seqlens: [300, 77], sQ: 2, causal: true }, 0xb16e), (tok) => Math.floor(tok / 16) % 3 === 1, 20), (tok) => Math.floor(tok / 16) % 3 === 2, -12)],
    ];
    const [, pure] = mixed[2];
    pure.softmaxScale = 1 / (Math.sqrt(576) * 2 ** 20);
    pure.explicitScale = true;
    for (const [name, c] of mixed) {
      if (name !== 'every 7th key x 2^20') {
        const [direct, scaled] = tileKinds(c);
        assert.ok(direct > 0 && scaled > 0, `${name}: ${direct} direct and ${scaled} scaled tiles`);
      }
      await splitAndNot(c, name);
    }
  });

  test('NaN rows and an +inf key (exactly the reference\'s NaN rows; bf16Direct\'s bits)', async (t) => {
    if (!bes.on) return skip(t);
    await checkNanRows(bes.on!);
    await checkInfKeyRows(bes.on!);
    for (const numSms of [132, 1]) {
      await same(nanRowsCase(), 'NaN rows', numSms, undefined, false);
      await same(infKeyCase(1000), '+inf key', numSms, undefined, false);
    }
  });
});
