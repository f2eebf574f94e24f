// v5's shuffleMax (kernels/decode-matrix5.ts `shuffleMax`, session 40; docs/notes/webgpu-matrix-kernel.md, "Session 40"):
// packedMax's key maxima met over a key's 8 lanes by subgroup shuffles instead of workgroup atomics, the conversion's
// scale from registers. Fast: its WGSL (its own key; bf16 with packedMax on a device with subgroups; no atomicMax in the
// tile; three shuffle steps for each of the two maxima and the NaN flag; the same workgroup memory and barriers) and the
// GPU WGSL (stubbed builtins) through Tint. On lavapipe (products emulated; its subgroups are 8 lanes or more): the same
// bits as packedMax with atomics, for growing keys, a random case, NaN keys and +-inf keys, split and unsplit; a mutant
// without the last shuffle step gives other bits (so the lanes' maxima do meet).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { WebGpuBackend } from '../../src/backends/webgpu/backend.js';
import { decodeMatrix5Program, decodeMatrix5Spec, matrix5ShuffleMaxDefault, matrix5ShuffleMaxOn } from '../../src/backends/webgpu/kernels/decode-matrix5.js';
import type { DeviceCaps } from '../../src/backends/webgpu/program.js';
import { createNodeWebGpuBackend } from '../../src/backends/webgpu/node.js';
import { flashMlaWithKvcache } from '../../src/index.js';
import { makeCase, runCase } from '../support/random.js';
import { checkV5ThroughTint, growingCase, infKeyCase, nanRowsCase, onOffMatrixBackends } from '../support/webgpu-matrix.js';
import { key5 as key, m16, src5 as src, wgBytes } from '../support/matrix5-spec.js';

const dflt = { lazy: true, trim: true, bounded: true, packedMax: true, qOnce: true, freshO: true } as const;
const on = { ...dflt, shuffleMax: true } as const;
const count = (s: string, re: RegExp) => [...s.matchAll(re)].length;
const block = (s: string, name: string) => s.slice(s.indexOf(`// <${name}>`), s.indexOf(`// </${name}>`));

describe('webgpu matrix v5 shuffleMax (WGSL)', () => {
  test('its own key; bf16 with packedMax on a device with subgroups; takes bf16Direct\'s place; no byte of workgroup memory more', () => {
    const caps = (subgroups: boolean) => ({ maxComputeWorkgroupStorageSize: 49152, subgroupMatrixF16: m16, subgroups }) as unknown as DeviceCaps;
    assert.match(key(on), /\.shm$/);
    assert.equal(src({ ...dflt, shuffleMax: false }), src(dflt));
    for (const o of [{ packedMax: undefined }, { dtype: 'f16' }, { tile16: true }, { pair: true }, { lean: true }] as const) {
      assert.equal(matrix5ShuffleMaxOn({ dtype: 'bf16', ...on, ...o }), false, JSON.stringify(o));
      assert.equal(src({ ...on, ...o }), src({ ...dflt, ...o }), `${JSON.stringify(o)}: the WGSL as without it`);
    }
    assert.equal(matrix5ShuffleMaxOn({ dtype: 'bf16', ...on }), true);
    assert.equal(decodeMatrix5Spec({ dtype: 'bf16' }, caps(true), 1, false).shuffleMax, matrix5ShuffleMaxDefault ? true : undefined);
    const sp = decodeMatrix5Spec({ dtype: 'bf16' }, caps(true), 1, false, { shuffleMax: true, bf16Direct: true });
    assert.deepEqual([sp.shuffleMax, sp.bf16Direct], [true, undefined], 'shuffleMax takes bf16Direct\'s place');
    assert.equal(decodeMatrix5Spec({ dtype: 'bf16' }, caps(false), 1, false, { shuffleMax: true }).shuffleMax, undefined, 'no subgroups: atomics');
    for (const subgroups of [4, 8] as const) assert.equal(wgBytes(src({ ...on, subgroups })), wgBytes(src({ ...dflt, subgroups })));
  });

  test('the tile: no atomicMax; three shuffle steps each for the latent and RoPE maxima and the NaN flag; one store a key; the conversion from registers', () => {
    for (const subgroups of [4, 8] as const) {
      const s = src({ ...on, subgroups }), off = src({ ...dflt, subgroups });
      assert.match(s, /^enable f16;\nenable subgroups;/);
      assert.doesNotMatch(off, /enable subgroups/);
      const max = block(s, 'tile-max');
      assert.equal(count(max, /atomicMax|atomicOr/g), 0);
      for (const v of ['mb', 'mr']) for (const m of [1, 2, 4]) assert.match(max, new RegExp(`${v} = max\\(${v}, subgroupShuffleXor\\(${v}, ${m}u\\)\\);`));
      for (const m of [1, 2, 4]) assert.match(max, new RegExp(`nf = nf \\| subgroupShuffleXor\\(nf, ${m}u\\);`));
      assert.match(max, /if \(lj == 0u\) \{ atomicStore\(&kMax\[lk\], mb\); atomicStore\(&kMaxR\[lk\], mr\); atomicStore\(&kNan\[lk\], nf\); \}/);
      const conv = block(s, 'tile-convert');
      assert.doesNotMatch(conv, /atomic/);
      assert.match(conv, /let down = downOf\(expOf\(kmb\)\);\s*let downR = downOf\(expOf\(kmr\)\);/);
      assert.match(conv, /if \(knan != 0u\) \{/);
      assert.equal(count(s, /workgroupBarrier\(\)/g), count(off, /workgroupBarrier\(\)/g));
      assert.equal(count(s, /workgroupUniformLoad/g), count(off, /workgroupUniformLoad/g));
    }
  });

  test('the GPU\'s WGSL (stubbed builtins) compiles through Tint', async (t) => {
    await checkV5ThroughTint(t, [on, { ...on, subgroups: 4 }, { ...on, firstEarly: true, qRowLanes: true, infSafe: 'seen' }, { ...on, infSafe: true }]);
  });
});

/** infKeyCase's +inf in a RoPE column of key 3, and -inf in a latent (V) column of key 20. */
function infMixCase(): ReturnType<typeof infKeyCase> {
  const c = infKeyCase();
  c.kCache[(c.blockTable[1] * 16 + 4) * 576 + 100] = 0xff80;
  return c;
}

describe('webgpu matrix v5 shuffleMax on lavapipe (products emulated, 4 subgroups): the same bits as packedMax\'s atomics', () => {
  const bes = onOffMatrixBackends({ shuffleMax: true, bf16Direct: false }, { shuffleMax: false, bf16Direct: false });
  before(() => bes.setup());
  after(() => bes.teardown());
  const bits = (x: Float32Array) => new Uint32Array(x.buffer, x.byteOffset, x.length);
  const cases = (): [string, ReturnType<typeof growingCase>][] => [
    ['growing keys', growingCase([130, 33])],
    ['random', makeCase({ name: 'random', sQ: 2, hQ: 5, hKv: 1, seqlens: [70, 1], pageBlockSize: 64, dtype: 'bf16', causal: true }, 2424)],
    ['NaN keys', nanRowsCase()],
    ['+-inf keys', infMixCase()],
  ];
  test('growing keys, a random case, NaN keys, +-inf keys (split and unsplit)', async (t) => {
    if (!bes.on || !bes.off) { if (process.env.CI) assert.fail(bes.why); t.skip(bes.why); return; }
    for (const [name, c] of cases()) {
      for (const numSms of [132, 1]) {
        bes.keys.clear();
        const a = await runCase(c, bes.on, flashMlaWithKvcache, { numSms });
        assert.ok([...bes.keys].some((k) => k.endsWith('.shm')), `${name}: ${[...bes.keys].join(' ')}`);
        const b = await runCase(c, bes.off, flashMlaWithKvcache, { numSms });
        assert.deepEqual(bits(a.lse), bits(b.lse), `${name}: lse, ${numSms} SMs`);
        assert.deepEqual(a.out, b.out, `${name}: out, ${numSms} SMs`);
      }
    }
  });
  test('mutant: without the last shuffle step the bits differ', async (t) => {
    if (!bes.off) { if (process.env.CI) assert.fail(bes.why); t.skip(bes.why); return; }
    const { source, key: key0 } = decodeMatrix5Program;
    decodeMatrix5Program.source = (s) => source.call(decodeMatrix5Program, s).replace(/mb = max\(mb, subgroupShuffleXor\(mb, 4u\)\);/g, '');
    decodeMatrix5Program.key = (s) => `${key0.call(decodeMatrix5Program, s)}.mutant`;
    let be: WebGpuBackend | undefined;
    try {
      be = await createNodeWebGpuBackend({ decodePath: 'matrix', matrix: { emulate: true, subgroups: 4, shuffleMax: true, bf16Direct: false } });
      const c = growingCase([130, 33]);
      const a = await runCase(c, be, flashMlaWithKvcache, { numSms: 132 });
      const b = await runCase(c, bes.off, flashMlaWithKvcache, { numSms: 132 });
      assert.notDeepEqual(a.out, b.out);
    } finally { decodeMatrix5Program.source = source; decodeMatrix5Program.key = key0; be?.dispose(); }
  });
});
