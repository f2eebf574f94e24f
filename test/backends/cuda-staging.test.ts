// The CUDA backend's host-index staging (staging.ts) and grow-only workspace (workspace.ts) against a fake driver
// that keeps device and pinned memory in ArrayBuffers: after each placeIndices, every pointer of the parameter
// block must lead to the right values in the fake device memory, and a repeat of the same host tensors must not
// copy again. No GPU: this checks the host logic only; test/gpu/cuda.test.ts proves it with the kernels.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DecodeCall } from '../../src/core/problem.js';
import { type DeviceStorage, Tensor } from '../../src/core/tensor.js';
import type { Driver } from '../../src/backends/cuda/driver.js';
import { mlaParamsLayout } from '../../src/backends/cuda/params.js';
import { IndexStaging } from '../../src/backends/cuda/staging.js';
import { getMlaMetadata } from '../../src/core/api.js';
import { Workspace } from '../../src/backends/cuda/workspace.js';

/** Device and pinned allocations as ArrayBuffers at fake addresses; copies are done for real, and counted. */
class FakeDriver {
  private next = 0x10000n;
  readonly mem = new Map<bigint, ArrayBuffer>();
  copies = 0;
  syncs = 0;
  freed: bigint[] = [];
  /** Device allocations come back at the last freed address (as CUDA's allocator may), zero-filled. */
  reuse = false;
  private place(bytes: number, device = false): { ptr: bigint; bytes: ArrayBuffer } {
    const again = device && this.reuse ? this.freed.pop() : undefined;
    const ptr = again ?? this.next, buf = new ArrayBuffer(bytes);
    if (again === undefined) this.next += BigInt(Math.ceil(bytes / 4096) * 4096 + 4096);
    this.mem.set(ptr, buf);
    return { ptr, bytes: buf };
  }
  alloc(bytes: number): bigint { return this.place(bytes, true).ptr; }
  hostAlloc(bytes: number): { ptr: bigint; bytes: ArrayBuffer } { return this.place(bytes); }
  free(ptr: bigint): void { assert.ok(this.mem.delete(ptr), 'free of an unknown pointer'); this.freed.push(ptr); }
  hostFree(ptr: bigint): void { this.free(ptr); }
  /** The bytes at a fake address (within one allocation). */
  at(ptr: bigint, bytes: number): Uint8Array {
    for (const [base, buf] of this.mem) {
      if (ptr >= base && ptr + BigInt(bytes) <= base + BigInt(buf.byteLength)) return new Uint8Array(buf, Number(ptr - base), bytes);
    }
    throw new Error(`no allocation holds 0x${ptr.toString(16)} + ${bytes}`);
  }
  copyHtoD(dst: bigint, src: ArrayBufferView | bigint, bytes: number): void {
    const from = typeof src === 'bigint' ? this.at(src, bytes) : new Uint8Array(src.buffer, src.byteOffset, bytes);
    this.at(dst, bytes).set(from);
    this.copies++;
  }
  synchronize(): void { this.syncs++; }
  createEvent(): bigint { return 1n; }
  destroyEvent(): void {}
  record(): void {}
  eventDone(): boolean { return true; }
  eventSynchronize(): void {}
}

function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}
const i32 = (a: Int32Array, shape: number[]) => new Tensor('i32', shape, a);

function setup() {
  const drv = new FakeDriver();
  const view = new DataView(new ArrayBuffer(mlaParamsLayout.size));
  const ws = new Workspace(drv as unknown as Driver, 7n, 1.25);
  const devTensors = new Map<Tensor, bigint>();
  let capturing = false;
  const staging = new IndexStaging({
    drv: drv as unknown as Driver, stream: 7n, paramsView: view, ws,
    ptrOf: (t) => { const p = devTensors.get(t); assert.ok(p !== undefined, 'ptrOf of a host tensor'); return p; },
    capturing: () => capturing,
  });
  /** A device copy of host values, known to ptrOf. */
  const device = (a: Int32Array, shape: number[]): Tensor => {
    const ptr = drv.alloc(a.byteLength);
    drv.at(ptr, a.byteLength).set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    const storage: DeviceStorage = { device: 'cuda', byteLength: a.byteLength, ptr, owner: drv };
    const t = new Tensor('i32', shape, storage);
    devTensors.set(t, ptr);
    return t;
  };
  return { drv, view, ws, staging, device, setCapturing: (on: boolean) => { capturing = on; } };
}

/** Every index pointer of the parameter block leads to its tensor's values; the accumulators follow the index words. */
function checkPlaced(drv: FakeDriver, view: DataView, ws: Workspace, l: Record<string, Int32Array | undefined>, accumBytes: number, lseBytes: number) {
  const off = mlaParamsLayout.offsets as Record<string, number>;
  for (const [name, values] of Object.entries(l)) {
    const ptr = view.getBigUint64(off[name], true);
    if (!values) { assert.equal(ptr, 0n, `${name}: null pointer`); continue; }
    const got = new Int32Array(drv.at(ptr, values.byteLength).slice().buffer);
    assert.deepEqual(Array.from(got), Array.from(values), `${name}: values at its pointer`);
  }
  const lseAccum = view.getBigUint64(off.lseAccum, true), oAccum = view.getBigUint64(off.oAccum, true);
  assert.equal(oAccum - lseAccum, BigInt(lseBytes));
  assert.equal(Number(lseAccum - ws.ptr) % 256, 0, 'accumulators 256-byte aligned');
  assert.ok(lseAccum >= ws.ptr && Number(lseAccum - ws.ptr) + accumBytes <= ws.bytes, 'accumulators inside the workspace');
}

/** A host-index call of b = seqlens.length sequences (the block table b rows of its length / b), `parts` plan rows. */
function hostCall(blockTable: Int32Array, seqlens: number[], parts: number, metaWord: (i: number) => number, numSplits: number[]) {
  const b = seqlens.length;
  const vals = {
    blockTable, cacheSeqlens: Int32Array.from(seqlens), qIndptr: undefined,
    tileSchedulerMetadata: Int32Array.from({ length: parts * 8 }, (_, i) => metaWord(i)), numSplits: Int32Array.from(numSplits),
  };
  const l = {
    blockTable: i32(vals.blockTable, [b, blockTable.length / b]), cacheSeqlens: i32(vals.cacheSeqlens, [b]), qIndptr: undefined,
    tileSchedulerMetadata: i32(vals.tileSchedulerMetadata, [parts, 8]), numSplits: i32(vals.numSplits, [b + 1]),
  } as unknown as DecodeCall;
  return { vals, l };
}

test('host index tensors: staged into the workspace, one copy, skipped when repeated, redone when changed', () => {
  const { drv, view, ws, staging } = setup();
  const r = rng(11);
  for (let trial = 0; trial < 30; trial++) {
    const b = 1 + Math.floor(r() * 6), cols = 1 + Math.floor(r() * 40), parts = 1 + Math.floor(r() * 9);
    const vals = {
      blockTable: Int32Array.from({ length: b * cols }, () => Math.floor(r() * 1e6)),
      cacheSeqlens: Int32Array.from({ length: b }, () => Math.floor(r() * 5000)),
      qIndptr: r() < 0.5 ? Int32Array.from({ length: b + 1 }, (_, i) => i * 2) : undefined,
      tileSchedulerMetadata: Int32Array.from({ length: parts * 8 }, () => Math.floor(r() * 100)),
      numSplits: Int32Array.from({ length: b + 1 }, (_, i) => i + Math.floor(r() * 3)),
    };
    const l = {
      blockTable: i32(vals.blockTable, [b, cols]), cacheSeqlens: i32(vals.cacheSeqlens, [b]),
      qIndptr: vals.qIndptr && i32(vals.qIndptr, [b + 1]), tileSchedulerMetadata: i32(vals.tileSchedulerMetadata, [parts, 8]),
      numSplits: i32(vals.numSplits, [b + 1]),
    } as unknown as DecodeCall;
    const accumBytes = 4096 * (1 + Math.floor(r() * 8)), lseBytes = 256 * (1 + Math.floor(r() * 4));
    const before = drv.copies;
    staging.placeIndices(l, accumBytes, lseBytes);
    assert.equal(drv.copies, before + 1, 'one transfer for all host index tensors');
    checkPlaced(drv, view, ws, vals, accumBytes, lseBytes);
    // The next layer of the step: the same tensors, nothing copied, the same pointers.
    const snapshot = new Uint8Array(view.buffer.slice(0));
    staging.placeIndices(l, accumBytes, lseBytes);
    assert.equal(drv.copies, before + 1, 'a repeat of the same words is not copied');
    assert.deepEqual(new Uint8Array(view.buffer.slice(0)), snapshot);
    // A changed block table (same length) must be copied again.
    vals.blockTable[Math.floor(r() * vals.blockTable.length)] ^= 0x155;
    staging.placeIndices(l, accumBytes, lseBytes);
    assert.equal(drv.copies, before + 2, 'changed words are copied');
    checkPlaced(drv, view, ws, vals, accumBytes, lseBytes);
  }
});

// Session 51 (H100): a bf16 decode of 48 rows after dense FP8 rows of 16, 32 and 16 x 2 wrote zeros in 19 us. Its
// workspace grew, the new allocation came back at the old address, and the staging took the unchanged host metadata for
// already copied (it compared addresses only): the kernels read zeros where the schedule should have been.
test('a grown workspace at the address of the old one gets the index words copied again', () => {
  const { drv, view, ws, staging } = setup();
  drv.reuse = true;
  const { vals, l } = hostCall(Int32Array.from({ length: 12 }, (_, i) => 100 + i), [300, 50, 7], 3, (i) => 3 * i + 1, [0, 1, 3, 4]);
  staging.placeIndices(l, 4096, 256);
  const first = ws.ptr, copies = drv.copies;
  staging.placeIndices(l, 4096, 256);
  assert.equal(drv.copies, copies, 'a repeat is not copied');
  // The next step needs more accumulators: the workspace grows and (here) comes back at the same address, zero-filled.
  staging.placeIndices(l, 1 << 20, 256);
  assert.equal(ws.ptr, first, 'the fake allocator reused the address');
  assert.equal(drv.copies, copies + 1, 'the words are copied into the new allocation');
  checkPlaced(drv, view, ws, vals, 1 << 20, 256);
});

// Session 56: a CUDA graph's replay writes its accumulators at the workspace's front, over the words a host-index call
// staged there; the backend calls forgetStaged after each replay, and the next call with the same words copies them.
test('after forgetStaged (a graph replay) the same host words are copied again', () => {
  const { drv, view, ws, staging } = setup();
  const { vals, l } = hostCall(Int32Array.from({ length: 8 }, (_, i) => 40 + i), [120, 9], 2, (i) => i, [0, 2, 3]);
  staging.placeIndices(l, 4096, 256);
  const copies = drv.copies;
  drv.at(ws.ptr, 64).fill(0xee); // (what a replay's accumulators leave there)
  staging.forgetStaged();
  staging.placeIndices(l, 4096, 256);
  assert.equal(drv.copies, copies + 1, 'copied again');
  checkPlaced(drv, view, ws, vals, 4096, 256);
});

test('device index tensors are used where they are; host ones are refused while capturing', () => {
  const { drv, view, ws, staging, device, setCapturing } = setup();
  const vals = {
    blockTable: Int32Array.from([5, 6, 7, 8]), cacheSeqlens: Int32Array.from([100, 200]), qIndptr: undefined,
    tileSchedulerMetadata: Int32Array.from({ length: 16 }, (_, i) => i), numSplits: Int32Array.from([0, 1, 2]),
  };
  const l = {
    blockTable: device(vals.blockTable, [2, 2]), cacheSeqlens: device(vals.cacheSeqlens, [2]), qIndptr: undefined,
    tileSchedulerMetadata: device(vals.tileSchedulerMetadata, [2, 8]), numSplits: device(vals.numSplits, [3]),
  } as unknown as DecodeCall;
  staging.placeIndices(l, 8192, 512);
  assert.equal(drv.copies, 0);
  checkPlaced(drv, view, ws, vals, 8192, 512);
  assert.equal(view.getBigUint64(mlaParamsLayout.offsets.lseAccum, true), ws.ptr, 'no index words: accumulators at the front');
  setCapturing(true);
  const host = { ...l, cacheSeqlens: i32(vals.cacheSeqlens, [2]) } as DecodeCall;
  assert.throws(() => staging.placeIndices(host, 8192, 512), (e: Error & { code?: string }) => e.code === 'invalid_argument' && /index tensors/.test(e.message));
});

test('workspace: grows by at least its factor, synchronizing before it frees the old one', () => {
  const drv = new FakeDriver();
  const ws = new Workspace(drv as unknown as Driver, 7n, 1.25);
  ws.ensure(1000);
  assert.equal(ws.bytes, 1000);
  assert.equal(drv.syncs, 0, 'nothing to free, nothing to wait for');
  const first = ws.ptr;
  ws.ensure(900);
  assert.equal(ws.ptr, first, 'no growth when it fits');
  ws.ensure(1001);
  assert.equal(ws.bytes, 1250);
  assert.equal(drv.syncs, 1);
  assert.deepEqual(drv.freed, [first]);
  ws.ensure(5000);
  assert.equal(ws.bytes, 5000);
  const two = new Workspace(drv as unknown as Driver, 7n, 2);
  two.ensure(100); two.ensure(101);
  assert.equal(two.bytes, 200);
});

// Validation accepts two plans for the same seqlens and SM parts (getMlaMetadata's FlashMLA plan and its 'fill' plan):
// equal seqlens and lengths do not imply equal metadata, so a call that switches plans must get its own words copied.
test('the other accepted plan for the same seqlens is copied, not taken for the one staged before', () => {
  const { drv, view, ws, staging } = setup();
  const seqlens = Int32Array.from([4000, 300, 77]), table = Int32Array.from({ length: 3 * 63 }, (_, i) => i);
  const plans = (['flashmla', 'fill'] as const).map((schedule) => getMlaMetadata(seqlens, 16, 1, { numSms: 132, schedule }));
  const words = plans.map((m) => ({ meta: m.tileSchedulerMetadata.host() as Int32Array, splits: m.numSplits.host() as Int32Array }));
  assert.equal(words[0].meta.length, words[1].meta.length, 'the same SM parts');
  assert.notDeepEqual(Array.from(words[0].meta), Array.from(words[1].meta), 'two different plans');
  for (const k of [0, 1, 0]) {
    const vals = { blockTable: table, cacheSeqlens: seqlens, qIndptr: undefined, tileSchedulerMetadata: words[k].meta, numSplits: words[k].splits };
    const l = {
      blockTable: i32(table, [3, 63]), cacheSeqlens: i32(seqlens, [3]), qIndptr: undefined,
      tileSchedulerMetadata: plans[k].tileSchedulerMetadata, numSplits: plans[k].numSplits,
    } as unknown as DecodeCall;
    const before = drv.copies;
    staging.placeIndices(l, 1 << 16, 1024);
    assert.equal(drv.copies, before + 1, `plan ${k}: copied`);
    checkPlaced(drv, view, ws, vals, 1 << 16, 1024);
  }
});
