// The host's cost of a WebGPU decode call, one submission each against one batch (WebGpuBackend.batch): N b = 1 calls of
// MlaDecoder.run (device index tensors; only the uniforms are host bytes) and of flashMlaWithKvcache with host index
// tensors (staged through the upload ring in a batch), enqueued one by one or inside one batch. For each: the host wall
// time of the enqueue alone (a batch's includes its one submission at the end; recording_us is the calls up to it) and
// the total to synchronize(), per call,
// the median of `rounds` rounds after a warm-up round. On lavapipe (a CPU Vulkan driver) the totals are CPU rendering;
// the enqueue times are what the host spends, indicative of Dawn's own cost on a GPU.
//   node --import tsx bench/webgpu/batch-host.ts [--calls 200] [--rounds 7] [--sk 256] [--json out.json]
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { WebGpuBackend } from '../../src/backends/webgpu/backend.js';
import { MlaDecoder, flashMlaWithKvcache, getMlaMetadata } from '../../src/index.js';
import { fromArray } from '../../src/core/tensor.js';
import { createBackend } from '../../src/node.js';
import { median } from '../../src/bench/stats.js';

const { values: v } = parseArgs({ options: {
  calls: { type: 'string', default: '200' }, rounds: { type: 'string' , default: '7' }, sk: { type: 'string', default: '256' }, json: { type: 'string' },
} });
const calls = Number(v.calls), rounds = Number(v.rounds), sK = Number(v.sk), hQ = 16, page = 64, pages = Math.ceil(sK / page);
const be = (await createBackend('webgpu')) as WebGpuBackend;
const words = Uint16Array.from({ length: pages * page * 576 }, (_, i) => 0x3c00 + (i % 251)); // bf16 in [1, 2)
const k = be.upload(fromArray('bf16', [pages, page, 1, 576], words));
const q = be.upload(fromArray('bf16', [1, 1, hQ, 576], words.subarray(0, hQ * 576)));
const bt = fromArray('i32', [1, pages], Int32Array.from({ length: pages }, (_, i) => i));
const seqlens = fromArray('i32', [1], Int32Array.of(sK));
const dec = new MlaDecoder(be, { hQ });
dec.plan(seqlens.host() as Int32Array, bt);
const md = getMlaMetadata(seqlens, hQ, 1, { numSms: be.info.numSms });
const out = be.empty('bf16', [1, 1, hQ, 512]), lse = be.empty('f32', [1, hQ, 1]);
const kinds: Record<string, () => Promise<unknown>> = {
  'MlaDecoder.run': () => dec.run(q, k),
  'flashMlaWithKvcache, host indices': () => flashMlaWithKvcache(q, k, bt, seqlens, 512, md.tileSchedulerMetadata, md.numSplits, { backend: be, out, lse }),
};

const rows = [];
for (const [kind, call] of Object.entries(kinds)) {
  for (const mode of ['one by one', 'one batch'] as const) {
    const enqueue: number[] = [], record: number[] = [], total: number[] = [];
    for (let r = 0; r <= rounds; r++) {
      await be.synchronize();
      const t0 = performance.now();
      let tr = NaN;
      if (mode === 'one batch') await be.batch(async () => { for (let i = 0; i < calls; i++) await call(); tr = performance.now(); });
      else for (let i = 0; i < calls; i++) await call();
      const t1 = performance.now();
      await be.synchronize();
      const t2 = performance.now();
      if (r === 0) continue; // warm-up round: pipelines, bind groups, the ring
      enqueue.push(((t1 - t0) / calls) * 1000);
      record.push(((tr - t0) / calls) * 1000);
      total.push(((t2 - t0) / calls) * 1000);
    }
    const row = { kind, mode, calls, s_k: sK, h_q: hQ, enqueue_us: median(enqueue), ...(mode === 'one batch' ? { record_us: median(record) } : {}), total_us: median(total) };
    rows.push(row);
    const rec = row.record_us === undefined ? '' : ` (recording ${row.record_us.toFixed(1)}, encoding and submitting ${(row.enqueue_us - row.record_us).toFixed(1)})`;
    console.log(`${kind.padEnd(34)} ${mode.padEnd(10)}  enqueue ${row.enqueue_us.toFixed(1).padStart(6)} us a call${rec}   total ${row.total_us.toFixed(1).padStart(7)} us a call`);
  }
}
if (v.json) writeFileSync(v.json, JSON.stringify({ device: be.info.device, date: new Date().toISOString(), rows }, null, 1) + '\n');
dec.dispose();
for (const t of [k, q, out, lse]) be.free(t);
be.dispose();
