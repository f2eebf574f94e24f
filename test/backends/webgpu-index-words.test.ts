// MlaDecoder on WebGPU reads its step's index words in place (DecodeCall.indexWords, BackendInfo.readsIndexWords:
// packed once a step in the plan's workspace layout and bound as the index buffer, so a call copies nothing before its
// passes; session 43). On lavapipe: the same bits as flashMlaWithKvcache given the same metadata (whose index tensors
// are staged into the backend's workspace), on split and unsplit steps, varlen with an empty request, two KV heads with
// an odd head count, causal sQ 2 with seqlens 0 / 1 / 63 / 64 / 65; and a short or misaligned indexWords is refused
// with a typed error before anything is queued. plan() uploads the words once: the separate index tensors it hands the
// call are views of them (session 44).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { WebGpuBackend } from '../../src/backends/webgpu/backend.js';
import { FlashMlaError } from '../../src/core/errors.js';
import type { DecodeCall } from '../../src/core/problem.js';
import { type Tensor, fromArray } from '../../src/core/tensor.js';
import { MlaDecoder, flashMlaWithKvcache } from '../../src/index.js';
import { type CaseSpec, caseMetadata, caseTensors, makeCase } from '../support/random.js';
import { useWebGpu } from '../support/webgpu.js';

const gpu = useWebGpu({ withReduced: false });

const specs: [CaseSpec, number][] = [
  [{ name: 'b1 long, split', dtype: 'bf16', hQ: 16, hKv: 1, seqlens: [2500], sQ: 1, pageBlockSize: 64, causal: false }, 132],
  [{ name: 'uneven, causal sQ 2', dtype: 'bf16', hQ: 16, hKv: 1, seqlens: [0, 1, 63, 64, 65, 700], sQ: 2, pageBlockSize: 64, causal: true }, 8],
  [{ name: 'two KV heads, odd heads, f16', dtype: 'f16', hQ: 10, hKv: 2, seqlens: [300, 129], sQ: 1, pageBlockSize: 16, causal: false }, 132],
  [{ name: 'varlen with an empty request', dtype: 'bf16', hQ: 8, hKv: 1, seqlens: [200, 0, 77], sQ: 1, qLens: [2, 0, 3], pageBlockSize: 64, causal: true }, 16],
];

async function read(be: WebGpuBackend, out: Tensor, lse: Tensor): Promise<[Uint32Array, Uint32Array]> {
  const o = (await be.download(out)).host() as Uint16Array, l = (await be.download(lse)).host() as Float32Array;
  return [Uint32Array.from(o), new Uint32Array(Float32Array.from(l).buffer)];
}

describe('webgpu: the step\'s index words read in place (MlaDecoder)', () => {
  for (const [spec, numSms] of specs) {
    test(`${spec.name}: the same bits as the staged call`, async (t) => {
      const be = gpu.need(t);
      if (!be) return;
      assert.equal(be.info.readsIndexWords, true);
      const c = makeCase(spec, 0x43a1), tt = caseTensors(c), md = caseMetadata(c, numSms, 'flashmla');
      const q = be.upload(tt.q), k = be.upload(tt.kCache);
      const d = new MlaDecoder(be, { hQ: c.hQ, hKv: c.hKv, dtype: c.dtype, numSms, schedule: 'flashmla', causal: c.causal });
      let seen: DecodeCall | undefined;
      const decode = be.decode.bind(be);
      be.decode = (l: DecodeCall) => { seen = l; return decode(l); };
      try {
        // plan() uploads the step's index words once (session 44: the separate index tensors are views of them).
        const queue = be.device.queue, writeBuffer = queue.writeBuffer;
        let writes = 0;
        queue.writeBuffer = function (this: GPUQueue, ...a: Parameters<GPUQueue['writeBuffer']>) { writes++; return writeBuffer.apply(this, a); } as GPUQueue['writeBuffer'];
        try {
          d.plan(c.cacheSeqlens, fromArray('i32', tt.blockTable.shape, tt.blockTable.host() as Int32Array), { sQ: c.sQ, ...(c.qIndptr ? { qIndptr: c.qIndptr } : {}) });
        } finally {
          queue.writeBuffer = writeBuffer;
        }
        assert.equal(writes, 1, 'index uploads a step');
        const mine = await d.run(q, k);
        assert.ok(seen?.indexWords, 'MlaDecoder passed its index words');
        // The views read back as the tensors they stand for.
        const i32 = async (x: Tensor | undefined) => Array.from((await be.download(x!)).host() as Int32Array);
        assert.deepEqual(await i32(seen.blockTable), Array.from(tt.blockTable.host() as Int32Array), 'blockTable view');
        assert.deepEqual(await i32(seen.cacheSeqlens), Array.from(c.cacheSeqlens), 'cacheSeqlens view');
        assert.deepEqual(await i32(seen.numSplits), Array.from(seen.host!.numSplits), 'numSplits view');
        assert.deepEqual(await i32(seen.tileSchedulerMetadata), Array.from(seen.host!.tileSchedulerMetadata), 'metadata view');
        if (c.qIndptr) assert.deepEqual(await i32(seen.qIndptr), Array.from(c.qIndptr), 'qIndptr view');
        const got = await read(be, mine.out, mine.lse);
        const staged = await flashMlaWithKvcache(q, k, tt.blockTable, tt.cacheSeqlens, 512, md.tileSchedulerMetadata, md.numSplits,
          { causal: c.causal, backend: be, ...(tt.qIndptr ? { qIndptr: tt.qIndptr } : {}) });
        assert.equal(seen?.indexWords, undefined, 'flashMlaWithKvcache stages its tensors');
        const want = await read(be, staged.out, staged.lse);
        assert.deepEqual(got[0], want[0], 'out');
        assert.deepEqual(got[1], want[1], 'lse');
      } finally {
        be.decode = decode;
        d.dispose(); be.free(q); be.free(k);
      }
    });
  }

  test('a staged call whose workspace grows (the index buffer replaced) runs on the new buffer', async (t) => {
    const be0 = gpu.need(t);
    if (!be0) return;
    // A fresh backend's index buffer holds 16384 words; a block table 9000 columns wide (its spare columns -1, as a
    // real cache leaves them) needs more, so the call replaces the buffer and must bind the new one (a call that bound
    // the old one was found by the long random suite in session 43's CI run: "used in submit while destroyed").
    const { createNodeWebGpuBackend } = await import('../../src/backends/webgpu/node.js');
    const { caseReference, poisonedOutputs } = await import('../support/random.js');
    const { assertOutputsClose, tolerances } = await import('../support/compare.js');
    const be = await createNodeWebGpuBackend({ device: be0.device });
    const c = makeCase({ name: 'wide table', dtype: 'bf16', hQ: 16, hKv: 1, seqlens: [300, 65], sQ: 1, pageBlockSize: 64, causal: false }, 0x43b3);
    const tt = caseTensors(c), md = caseMetadata(c, 132, 'flashmla'), width = 9000, narrow = c.maxBlocksPerSeq;
    const wide = new Int32Array(c.b * width).fill(-1);
    for (let i = 0; i < c.b; i++) wide.set(c.blockTable.subarray(i * narrow, (i + 1) * narrow), i * width);
    const poison = poisonedOutputs(c);
    const q = be.upload(tt.q), k = be.upload(tt.kCache), out = be.empty(c.dtype, c.outShape), lse = be.empty('f32', c.lseShape);
    try {
      for (const table of [tt.blockTable, fromArray('i32', [c.b, width], wide)]) {
        be.write(out, poison.out);
        be.write(lse, poison.lse);
        await flashMlaWithKvcache(q, k, table, tt.cacheSeqlens, 512, md.tileSchedulerMetadata, md.numSplits, { causal: c.causal, backend: be, out, lse });
        await be.synchronize();
        const o = Uint16Array.from((await be.download(out)).host() as Uint16Array), l = Float32Array.from((await be.download(lse)).host() as Float32Array);
        assertOutputsClose(o, l, caseReference(c), c.dtype, { b: c.b, sQ: c.sQ, hQ: c.hQ }, tolerances.webgpu, `block table ${table.shape[1]} wide`);
      }
    } finally {
      for (const x of [q, k, out, lse]) be.free(x);
      be.dispose();
    }
  });

  test('a short or misaligned indexWords is refused before anything is queued', async (t) => {
    const be = gpu.need(t);
    if (!be) return;
    const c = makeCase(specs[0][0], 0x43a2), tt = caseTensors(c);
    const q = be.upload(tt.q), k = be.upload(tt.kCache);
    const d = new MlaDecoder(be, { hQ: c.hQ, hKv: 1, dtype: c.dtype, numSms: 132 });
    const decode = be.decode.bind(be);
    const short = be.upload(fromArray('i32', [4], new Int32Array(4)));
    try {
      d.plan(c.cacheSeqlens, fromArray('i32', tt.blockTable.shape, tt.blockTable.host() as Int32Array));
      be.decode = (l: DecodeCall) => decode({ ...l, indexWords: short });
      await assert.rejects(d.run(q, k), (e: unknown) => e instanceof FlashMlaError && e.code === 'invalid_argument' && /indexWords/.test(e.message));
    } finally {
      be.decode = decode;
      d.dispose(); be.free(q); be.free(k); be.free(short);
    }
  });
});
