// The 64-row decode products probe (src/bench/webgpu-decode-products.ts) on lavapipe with the builtins emulated:
// every form the device call runs computes O = f16(Q Kᵀ / 64) V exactly (dV 128 here, to fit lavapipe's 32 KiB of
// workgroup memory), a kernel that loses a score k-step or a key tile fails the check, and bad specs are typed errors.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FlashMlaError } from '../../src/core/errors.js';
import { decodeProductLayout, decodeProductWgsl, measureDecodeProducts } from '../../src/bench/webgpu-decode-products.js';
import { productForms } from '../../scripts/webgpu-decode-products-probe-forms.js';
import { useWebGpu } from '../support/webgpu.js';

const gpu = useWebGpu({ withReduced: false });
const shape = { requests: 1, groups: 2, keys: 64, dV: 128 };
// Emulated, a workgroup's 32-key tile takes ~10 s on lavapipe: the code paths (32-key tiles from storage, 16-key tiles
// from registers, O split 4 ways along rows, 32 rows with Qᵀ in registers; scores in 3 chains and 16 rows on small
// shapes), not every form.
const checked = [0, 2, 3, 9].map((i) => productForms[i]);

describe('webgpu decode products probe: specs and text', () => {
  test('layout at the decode\'s sizes', () => {
    const l = decodeProductLayout({ keyTile: 32, q: 'storage', pvRows: 1 }, {});
    assert.deepEqual([l.dQk, l.ks, l.outs, l.kParts, l.steps, l.lefts, l.rights], [576, 584, 8, 1, 36, 4, 4]);
    assert.equal(l.sharedBytes, 2 * 32 * 584 + 4 * 32 * 68); // 46,080: under the H200's 49,152
    const h = decodeProductLayout({ keyTile: 16, q: 'registers', pvRows: 2 }, {});
    assert.deepEqual([h.kParts, h.steps, h.lefts, h.rights], [2, 18, 2, 8]);
    const r32 = decodeProductLayout({ keyTile: 32, q: 'registers', pvRows: 1, rows: 32 }, {});
    assert.deepEqual([r32.kParts, r32.steps, r32.lefts, r32.rights, r32.sharedBytes], [2, 18, 2, 4, 2 * 32 * 584 + 4 * 2 * 32 * 36]);
    // chains: one Sᵀ partial a (kPart, chain); every form the script runs fits the H200's 49,152 bytes
    const c3 = decodeProductLayout({ keyTile: 16, q: 'registers', pvRows: 1, chains: 3 }, {});
    assert.deepEqual([c3.kParts, c3.steps, c3.chains, c3.partials, c3.sharedBytes], [2, 18, 3, 6, 2 * 16 * 584 + 4 * 6 * 16 * 68]);
    const r32c3 = decodeProductLayout({ keyTile: 16, q: 'registers', pvRows: 1, rows: 32, chains: 3 }, {});
    assert.deepEqual([r32c3.kParts, r32c3.steps, r32c3.partials, r32c3.sharedBytes], [4, 9, 12, 2 * 16 * 584 + 4 * 12 * 16 * 36]);
    const r16 = decodeProductLayout({ keyTile: 32, q: 'registers', pvRows: 1, rows: 16 }, {});
    assert.deepEqual([r16.kParts, r16.steps, r16.lefts, r16.rights, r16.sharedBytes], [4, 9, 1, 4, 2 * 32 * 584 + 4 * 4 * 32 * 20]);
    for (const f of productForms) assert.ok(decodeProductLayout(f, {}).sharedBytes <= 49152, JSON.stringify(f));
    // only the PV phase alone with Qᵀ from storage leaves Qᵀ unread (form 7); with Qᵀ in registers it is still loaded (18)
    assert.deepEqual([6, 7, 18].map((i) => decodeProductLayout(productForms[i], {}).readsQt), [true, false, true]);
  });
  test('bad specs are typed errors', () => {
    assert.throws(() => decodeProductWgsl({ keyTile: 24 as 16, q: 'storage', pvRows: 1 }, shape), FlashMlaError);
    assert.throws(() => decodeProductWgsl({ keyTile: 32, q: 'storage', pvRows: 4, rows: 32 }, shape), /16-column blocks/); // 32 rows can't split 4 ways
    assert.throws(() => decodeProductWgsl({ keyTile: 32, q: 'storage', pvRows: 1 }, { ...shape, dV: 96 }), /16-column blocks/); // 96 columns over 8 subgroups
    assert.throws(() => decodeProductWgsl({ keyTile: 16, q: 'registers', pvRows: 1, chains: 5 as 4 }, shape), /chains 1-4/);
    assert.throws(() => decodeProductWgsl({ keyTile: 16, q: 'registers', pvRows: 1, rows: 16 }, { ...shape, dV: 512 }), /36 k-steps over 8 subgroups/);
    assert.throws(() => decodeProductWgsl({ keyTile: 16, q: 'registers', pvRows: 1, rows: 32, chains: 4 }, shape), /4 chains over 3 k-steps/); // dQk 192: 12 k-steps over 4 parts
  });
  test('the GPU text uses the builtins, the emulated one none', () => {
    assert.match(decodeProductWgsl(productForms[0], shape), /subgroupMatrixMultiplyAccumulate/);
    assert.doesNotMatch(decodeProductWgsl(productForms[0], shape, true), /subgroup_matrix|subgroupMatrix/);
  });
});

describe('webgpu decode products probe on lavapipe (emulated builtins)', () => {
  test('every checked form computes O exactly', async (t) => {
    const be = gpu.need(t);
    if (!be) return;
    for (const f of checked) {
      const r = await measureDecodeProducts(be, f, shape, { emulate: true, reps: 1, samples: 24 });
      assert.ok(r.ok, `${JSON.stringify(f)}: max |error| ${r.maxAbsErr}`);
      assert.equal(r.checked, 26);
    }
    // scores in 3 chains (form 13) on one workgroup's two 16-key tiles; 16 rows (form 19) on two workgroups' 32 keys
    for (const [i, sh] of [[13, { ...shape, groups: 1, keys: 32 }], [19, { ...shape, groups: 2, keys: 32 }]] as const) {
      const r = await measureDecodeProducts(be, productForms[i], sh, { emulate: true, reps: 1, samples: 24 });
      assert.ok(r.ok && r.checked === 26, `form ${i}: max |error| ${r.maxAbsErr}`);
    }
  });
  test('a kernel that drops a score k-step or its last key tile fails the check', async (t) => {
    const be = gpu.need(t);
    if (!be) return;
    const one = { ...shape, groups: 1, keys: 32 };
    const step = await measureDecodeProducts(be, productForms[0], one, { emulate: true, reps: 1, samples: 24, edit: (c) => c.replace(/\n\s*sc0 = smMac\([^\n]*/, '') });
    assert.equal(step.ok, false);
    // form 13's conversion without its last chain's partial
    const chain = await measureDecodeProducts(be, productForms[13], one, { emulate: true, reps: 1, samples: 24, edit: (c) => c.replace(/ \+ sS\[[^\]]*\];/, ';') });
    assert.equal(chain.ok, false);
    const tile = await measureDecodeProducts(be, productForms[0], one, { emulate: true, reps: 1, samples: 24, edit: (c) => c.replace('tile < u.tiles;', 'tile + 1u < u.tiles;') });
    assert.equal(tile.ok, false);
  });
  test('a phase alone binds what its code uses and times, unchecked', async (t) => {
    const be = gpu.need(t);
    if (!be) return;
    const one = { ...shape, groups: 1, keys: 32 };
    for (const i of [6, 7]) { // 7, the PV phase with Qᵀ from storage, never reads Qᵀ: its 'auto' layout has no binding 2
      const r = await measureDecodeProducts(be, productForms[i], one, { emulate: true, reps: 1 });
      assert.equal(r.checked, 0);
      assert.ok(r.ms > 0 && r.ok === false, JSON.stringify(r));
    }
  });
});
