// Does the host keep a WebGPU decode call's GPU busy? (session 42: the H200 under Dawn stays at its 345 MHz idle clock
// while the GPU works a small share of the time.) For each shape: a 3 s warm-up of calls back to back, then `calls` calls
// of MlaDecoder.run enqueued back to back and one synchronize (wall time a call: the host's enqueue rate or the GPU's,
// whichever is slower), the host's enqueue time alone, and backend.timeMs (the GPU time a call by timestamps, as
// `flashmla bench` reports it). Phase marks with ISO times, to set beside nvidia-smi's clock samples.
//   node --import tsx bench/webgpu/submit-rate.ts [--calls 2000] [--json out.json]
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { MlaDecoder } from '../../src/index.js';
import { fromArray } from '../../src/core/tensor.js';
import { createBackend } from '../../src/node.js';
import { Rng } from '../../test/support/random.js';

const { values: v } = parseArgs({ options: { calls: { type: 'string', default: '2000' }, json: { type: 'string' } } });
const calls = Number(v.calls);
const backend = await createBackend('webgpu');
const mark = (what: string) => console.log(`phase ${what} ${new Date().toISOString()}`);
const shapes = [{ b: 1, sK: 32768, hQ: 16 }, { b: 1, sK: 4096, hQ: 16 }, { b: 128, sK: 1024, hQ: 16 }];
const rows = [];
for (const s of shapes) {
  const page = 64, pages = Math.ceil(s.sK / page), rng = new Rng(7);
  const words = new Uint16Array(s.b * pages * page * 576);
  for (let i = 0; i < words.length; i++) words[i] = 0x3c00 + rng.int(0, 255); // bf16 in [1, 2)
  const k = backend.upload(fromArray('bf16', [s.b * pages, page, 1, 576], words));
  const q = backend.upload(fromArray('bf16', [s.b, 1, s.hQ, 576], words.subarray(0, s.b * s.hQ * 576)));
  const bt = fromArray('i32', [s.b, pages], Int32Array.from({ length: s.b * pages }, (_, i) => i));
  const dec = new MlaDecoder(backend, { hQ: s.hQ });
  dec.plan(new Int32Array(s.b).fill(s.sK), bt);
  mark(`warm ${s.b}x${s.sK}`);
  const t0 = performance.now();
  while (performance.now() - t0 < 3000) { for (let i = 0; i < 50; i++) await dec.run(q, k); await backend.synchronize(); }
  mark(`enqueue ${s.b}x${s.sK}`);
  await backend.synchronize();
  const t1 = performance.now();
  for (let i = 0; i < calls; i++) await dec.run(q, k);
  const t2 = performance.now();
  await backend.synchronize();
  const t3 = performance.now();
  mark(`timeMs ${s.b}x${s.sK}`);
  const gpu = await backend.timeMs(async () => { await dec.run(q, k); }, { warmup: 10, reps: 200 });
  gpu.sort((p, r) => p - r);
  mark(`done ${s.b}x${s.sK}`);
  const row = { ...s, calls, host_enqueue_us: ((t2 - t1) / calls) * 1000, wall_us: ((t3 - t1) / calls) * 1000, gpu_median_us: gpu[gpu.length >> 1] * 1000, gpu_min_us: gpu[0] * 1000 };
  rows.push(row);
  console.log(JSON.stringify(row));
  backend.free(k); backend.free(q);
}
if (v.json) writeFileSync(v.json, JSON.stringify({ device: backend.info.device, date: new Date().toISOString(), rows }, null, 1));
backend.dispose();
