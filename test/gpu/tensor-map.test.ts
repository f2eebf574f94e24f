// cuTensorMapEncodeTiled on a real driver: the maps the Hopper kernels use encode, the bytes change with the base,
// and a map the driver itself refuses (a box the TS checks allow but this stride forbids) is a typed driver_error.
// Needs an NVIDIA driver of CUDA 12 or newer; run by scripts/gpu-host-run.sh tensor-map.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import koffi from 'koffi';
import { Driver } from '../../src/backends/cuda/driver.js';
import { kernelArgs, tensorMapBytes } from '../../src/backends/cuda/tensor-map.js';

let drv: Driver, ptr = 0n;
before(async () => {
  drv = await Driver.load();
  drv.retainPrimaryContext(drv.device(0));
  ptr = drv.alloc(1152 * 64 * 100);
});
after(() => { if (ptr) drv.free(ptr); drv.releasePrimaryContext(drv.device(0)); });

test('the KV-cache maps of the Hopper kernels encode (2-D 9-copy and 3-D one-copy forms)', () => {
  assert.ok(drv.encodeTiled, 'the driver binds cuTensorMapEncodeTiled');
  const args = kernelArgs(drv, 64, 2);
  const [a, b] = args.maps;
  a.set({ dtype: 'bf16', base: ptr, dims: [576, 6400], strides: [1152], box: [64, 64], swizzle: '128B', l2Promotion: '256B' });
  b.set({ dtype: 'bf16', base: ptr, dims: [64, 6400, 9], strides: [1152, 128], box: [64, 64, 9], swizzle: '128B', l2Promotion: '256B' });
  // Copies of the native bytes (a Buffer over koffi's view would follow later encodes).
  const bytesOf = (ptr: bigint) => new Uint8Array(koffi.view(ptr, tensorMapBytes) as ArrayBuffer).slice();
  const bytesA = bytesOf(a.ptr), bytesB = bytesOf(b.ptr);
  assert.ok(bytesA.some((x) => x !== 0), 'the map holds bytes');
  assert.notDeepEqual(bytesA, bytesB, 'different maps encode differently');
  a.set({ dtype: 'bf16', base: ptr + 1152n * 64n, dims: [576, 6336], strides: [1152], box: [64, 64], swizzle: '128B', l2Promotion: '256B' });
  assert.notDeepEqual(bytesOf(a.ptr), bytesA, 'a moved tensor re-encodes');
});
