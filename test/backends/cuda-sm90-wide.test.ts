// CPU-only checks of the wide Hopper kernel's host side (decode_sm90_wide.cu): which shapes it takes, its grid and
// shared memory (the .cu asserts the same number), and the tensor map it reads the cache through, checked the way
// the driver would check it (tensor-map.ts tiledMapArgs). The kernel itself runs in test/gpu/sm90-wide.test.ts.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { sm90WideLaunch, sm90CacheMap, sm90WideSmem } from '../../src/backends/cuda/kernels/launch.js';
import { tiledMapArgs } from '../../src/backends/cuda/tensor-map.js';

type Shape = Parameters<typeof sm90WideLaunch>[0];
const shape = (sQ: number, hQ: number, hKv: number, extra: object = {}): Shape =>
  ({ sQ, hQ, hKv, nGroups: hQ / hKv, numSmParts: 33, dtype: 'bf16', pageBlockSize: 64, varlen: false, numBlocks: 10, ...extra }) as unknown as Shape;

test('sm90WideLaunch: >= 64 rows of one KV head, page 64, uniform query lengths; 64-row tiles on grid x, SM parts on z', () => {
  assert.deepEqual(sm90WideLaunch(shape(1, 64, 1)), {
    name: 'mla_decode_sm90w_bf16', ldName: 'mla_decode_sm90w_ld_bf16', nr: 64, grid: [1, 1, 33], block: [384, 1, 1], smem: sm90WideSmem,
  });
  assert.deepEqual(sm90WideLaunch(shape(2, 128, 1))?.grid, [4, 1, 33]);
  assert.deepEqual(sm90WideLaunch(shape(3, 32, 1))?.grid, [2, 1, 33]); // 96 rows: a half-empty second tile
  assert.equal(sm90WideLaunch(shape(4, 16, 1, { dtype: 'f16' }))?.name, 'mla_decode_sm90w_f16');
  assert.equal(sm90WideLaunch(shape(1, 32, 1)), undefined);
  assert.equal(sm90WideLaunch(shape(1, 128, 2)), undefined);
  assert.equal(sm90WideLaunch(shape(1, 64, 1, { pageBlockSize: 32 })), undefined);
  assert.equal(sm90WideLaunch(shape(1, 64, 1, { varlen: true })), undefined);
});

test('sm90WideSmem is what the .cu asserts, and fits sm_90 with the static 1496 bytes', () => {
  const src = readFileSync(fileURLToPath(new URL('../../src/backends/cuda/kernels/decode_sm90_wide.cu', import.meta.url)), 'utf8');
  // 1472 bytes of row arrays and stage mbarriers, and (MLA_SM90W_MBHAND, the default since session 31) three hand-offs
  assert.match(src, new RegExp(`SMEM == ${sm90WideSmem} && sizeof\\(mla::sm90w::Rows\\) == 1472 \\+ \\(MLA_SM90W_MBHAND \\? 24 : 0\\)`));
  assert.match(src, /#ifndef MLA_SM90W_MBHAND[^\n]*\n#define MLA_SM90W_MBHAND 1\n#endif\nstruct Rows \{/);
  assert.ok(sm90WideSmem + 1472 + 24 <= 227 * 1024);
});

test('decode_sm90_wide.cu: the pair\'s one-way hand-offs are mbarriers of 128 arrivals in the library\'s order (session 31)', () => {
  const src = readFileSync(fileURLToPath(new URL('../../src/backends/cuda/kernels/decode_sm90_wide.cu', import.meta.url)), 'utf8');
  assert.match(src, /for \(int s = 0; s < 3; \+\+s\) mbarInit\(smemAddr\(&rw\.hand\[s\]\), 128\);/);
  // warpgroup 0 hands over on 1 and waits on 3 (or 2) and 2; warpgroup 1 waits on 1 and hands over on 3 and 2
  for (const s of ['else handArrive<1>(); // mA and P_A ready', 'if (hasB) handWait<3>(hPh);', 'else handWait<2>(hPh);',
    'if constexpr ((VAR & kVarCEarly) != 0) handWait<2>(hPh);', 'if constexpr (!kNM) handWait<1>(hPh);', 'handArrive<3>(); // c, mB and P_B ready',
    'handArrive<2>(); // c, mB and P_B ready (kVarCEarly']) assert.ok(src.includes(s), s);
});

test('sm90CacheMap (both Hopper kernels): a valid 2-D map of the cache rows, 64 x 64 boxes of 128 bytes, 128-byte swizzle', () => {
  const spec = sm90CacheMap({ dtype: 'bf16', numBlocks: 10, pageBlockSize: 64 }, 0x7f00_0000_0000n);
  assert.deepEqual(spec.dims, [576, 640]);
  assert.deepEqual(spec.strides, [1152]);
  const a = tiledMapArgs(spec);
  assert.equal(a.rank, 2);
  assert.deepEqual(Array.from(a.boxDim), [64, 64]);
  assert.equal(a.swizzle, 3);
  assert.equal(tiledMapArgs(sm90CacheMap({ dtype: 'f16', numBlocks: 1, pageBlockSize: 64 }, 16n)).dataType, 6);
});
