// Tensor maps for the TMA kernels: every limit the driver documents is a typed invalid_argument before the driver
// sees it, and the argument block lays the params struct and the 64-byte-aligned maps out as cuLaunchKernel reads
// them. The encode itself runs against a recording fake here (no GPU); test/gpu/tensor-map.test.ts encodes on a
// real driver.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import koffi from 'koffi';
import { FlashMlaError } from '../../src/core/errors.js';
import { type TiledTensorMapArgs, type TiledTensorMapSpec, kernelArgs, tensorMapBytes, tiledMapArgs } from '../../src/backends/cuda/tensor-map.js';

/** The KV cache of 100 pages of 64 tokens, one KV head, as the Hopper kernels map it: box 64 columns x 64 keys, SW128. */
const kv: TiledTensorMapSpec = { dtype: 'bf16', base: 0x7f0000000000n, dims: [576, 6400], strides: [1152], box: [64, 64], swizzle: '128B', l2Promotion: '256B' };

test('tiledMapArgs: a KV-cache map becomes cuTensorMapEncodeTiled arguments', () => {
  const a = tiledMapArgs(kv);
  assert.equal(a.dataType, 9); // CU_TENSOR_MAP_DATA_TYPE_BFLOAT16
  assert.equal(a.rank, 2);
  assert.deepEqual(Array.from(a.globalDim), [576n, 6400n]);
  assert.deepEqual(Array.from(a.globalStrides), [1152n]);
  assert.deepEqual(Array.from(a.boxDim), [64, 64]);
  assert.deepEqual(Array.from(a.elementStrides), [1, 1]);
  assert.equal(a.swizzle, 3); // CU_TENSOR_MAP_SWIZZLE_128B
  assert.equal(a.l2Promotion, 3); // CU_TENSOR_MAP_L2_PROMOTION_L2_256B
  const three = tiledMapArgs({ ...kv, dims: [64, 6400, 9], strides: [1152, 128], box: [64, 64, 9] });
  assert.deepEqual(Array.from(three.globalStrides), [1152n, 128n]);
});

test('tiledMapArgs: each documented limit is a typed error naming the field', () => {
  const cases: [Partial<TiledTensorMapSpec>, RegExp][] = [
    [{ base: 0x7f0000000008n }, /tensorMap\.base: expected a non-null device address aligned to 16 bytes/],
    [{ base: 0n }, /tensorMap\.base/],
    [{ strides: [1000] }, /tensorMap\.strides\[0\]: expected a positive multiple of 16/],
    [{ strides: [] }, /tensorMap\.strides: expected 1 byte strides/],
    [{ box: [64, 300] }, /tensorMap\.box\[1\]: expected an integer in 1\.\.256, got 300/],
    [{ box: [128, 64] }, /tensorMap\.box\[0\]: expected at most 64 elements \(128B swizzle span\), got 128/],
    [{ box: [4, 64], swizzle: 'none' }, /tensorMap\.box\[0\]: expected a multiple of 8 elements \(16 bytes\), got 4/],
    [{ box: [64, 64], dims: [576, 32] }, /tensorMap\.box\[1\]: expected at most dims\[1\] = 32, got 64/],
    [{ dims: [576, 0] }, /tensorMap\.dims\[1\]: expected an integer in 1\.\.2\^32, got 0/],
    [{ dims: [1, 2, 3, 4, 5, 6], strides: [16, 16, 16, 16, 16], box: [1, 1, 1, 1, 1, 1] }, /tensorMap\.dims: expected 1 to 5 dimensions, got 6/],
    [{ swizzle: '16B' as never }, /tensorMap\.swizzle: expected none \| 32B \| 64B \| 128B, got 16B/],
    [{ dtype: 'e4m3' as never }, /tensorMap\.dtype/],
  ];
  for (const [change, msg] of cases) {
    assert.throws(() => tiledMapArgs({ ...kv, ...change }), (e: unknown) => e instanceof FlashMlaError && e.code === 'invalid_argument' && msg.test(e.message),
      `${JSON.stringify(change, (_, v) => (typeof v === 'bigint' ? `${v}` : v))} should fail with ${msg}`);
  }
  // The 128B span at 1-byte elements is 128 elements: an FP8 box of 128 columns is allowed.
  assert.doesNotThrow(() => tiledMapArgs({ ...kv, dtype: 'u8', dims: [656, 6400], strides: [656], box: [128, 64] }));
});

function recordingDriver(withEncode = true) {
  const calls: { map: bigint; args: TiledTensorMapArgs }[] = [];
  return {
    calls,
    drv: { koffi, encodeTiled: withEncode ? (map: bigint, args: TiledTensorMapArgs) => { calls.push({ map, args }); } : undefined },
  };
}

test('kernelArgs: argv points at the params struct, then at each 64-byte-aligned map', () => {
  const { drv } = recordingDriver();
  const k = kernelArgs(drv, 200, 2);
  assert.equal(k.view.byteLength, 200);
  const argv = koffi.decode(k.argv, 'void *[3]') as bigint[];
  assert.equal(k.maps.length, 2);
  assert.equal(argv[0], k.ptr, 'the params struct starts the allocation');
  assert.equal(argv[1], k.maps[0].ptr);
  assert.equal(argv[2], k.maps[1].ptr);
  for (const m of k.maps) assert.equal(m.ptr % 64n, 0n, 'CUtensorMap is 64-byte aligned');
  assert.ok(k.maps[0].ptr >= argv[0] + 200n, 'the first map starts after the params struct');
  assert.equal(k.maps[1].ptr - k.maps[0].ptr, BigInt(tensorMapBytes));
  // The params view writes the bytes argv[0] points at.
  k.view.setUint32(0, 0xdeadbeef, true);
  assert.equal(koffi.decode(argv[0], 'uint32_t'), 0xdeadbeef);
});

test('TensorMapSlot.set: encodes once per spec, again when the tensor moves, never after a refused spec', () => {
  const { drv, calls } = recordingDriver();
  const slot = kernelArgs(drv, 64, 1).maps[0];
  slot.set(kv);
  slot.set({ ...kv, dims: [...kv.dims], strides: [...kv.strides], box: [...kv.box] });
  assert.equal(calls.length, 1, 'an equal spec is not encoded again');
  slot.set({ ...kv, base: kv.base + 1152n * 64n });
  assert.equal(calls.length, 2);
  assert.equal(calls[1].map, slot.ptr);
  assert.equal(calls[1].args.base, kv.base + 1152n * 64n);
  assert.throws(() => slot.set({ ...kv, strides: [8] }), /tensorMap\.strides\[0\]/);
  assert.equal(calls.length, 2, 'a refused spec never reaches the driver');
  slot.set({ ...kv, base: kv.base + 1152n * 64n });
  assert.equal(calls.length, 2, 'the slot still holds the last good map');
});

test('TensorMapSlot.set: a failed encode leaves nothing cached', () => {
  let fail = true, n = 0;
  const drv = { koffi, encodeTiled: () => { n++; if (fail) throw new FlashMlaError('driver_error', 'cuda: cuTensorMapEncodeTiled: CUDA_ERROR_INVALID_VALUE'); } };
  const slot = kernelArgs(drv, 64, 1).maps[0];
  assert.throws(() => slot.set(kv), /CUDA_ERROR_INVALID_VALUE/);
  fail = false;
  slot.set(kv);
  assert.equal(n, 2, 'the spec is encoded again after the failure');
});

test('TensorMapSlot.set: a driver without cuTensorMapEncodeTiled is backend_unavailable', () => {
  const { drv } = recordingDriver(false);
  const slot = kernelArgs(drv, 64, 1).maps[0];
  assert.throws(() => slot.set(kv), (e: unknown) => e instanceof FlashMlaError && e.code === 'backend_unavailable' && /cuTensorMapEncodeTiled/.test(e.message));
});
