// Where a decode step of MlaAttention's device path goes, op by op (session 41: the WebGPU step took 31 ms wall-clock on
// the H200 for a V3-shaped layer at b 64 against CUDA's 2.4 ms). Builds the layer as bench/mla/layer.ts does, runs a
// warm-up step with the backend's layer ops recorded (name and arguments of every call), then replays each recorded call
// `reps` times between two synchronizations (its mean wall-clock time, queueing included) and times whole steps.
//   node --import tsx bench/mla/layer-profile.ts --backend webgpu --shape v3 --batch 64 --context 4096 [--precision f32] [--json out.json]
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { MlaDeviceOps } from '../../src/core/mla/device.js';
import { type BackendKind, createBackend } from '../../src/node.js';
import { benchLayer, benchShape } from './setup.js';

const { values: v } = parseArgs({ options: {
  shape: { type: 'string', default: 'v3' }, batch: { type: 'string', default: '64' }, context: { type: 'string', default: '4096' },
  backend: { type: 'string', default: 'webgpu' }, reps: { type: 'string', default: '5' }, chain: { type: 'string' }, json: { type: 'string' }, precision: { type: 'string', default: 'f32' },
  'batch-step': { type: 'string', default: '0' },
} });
const c = benchShape(v.shape!);
const b = Number(v.batch), ctx = Number(v.context), reps = Number(v.reps), chain = Number(v.chain ?? v.reps);
const backend = await createBackend(v.backend as BackendKind);
if (!backend.layerOps) throw new Error(`${backend.kind}: no device layer kernels`);
const ops = backend.layerOps();
const calls: { name: keyof MlaDeviceOps; args: unknown[]; what: string }[] = [];
let recording = false;
for (const name of ['gemm', 'rmsNorm', 'qRope', 'kvAppend', 'convert'] as const) {
  const f = (ops[name] as (...a: unknown[]) => void).bind(ops);
  (ops as unknown as Record<string, unknown>)[name] = (...a: unknown[]) => {
    if (recording) {
      const g = a[0] as { m?: number; n?: number; k?: number; batch?: number; rows?: number };
      calls.push({ name, args: a, what: name === 'gemm' ? `m${g.m} n${g.n} k${g.k}${g.batch ? ` x${g.batch}` : ''}` : name === 'convert' ? `n${a[2]}` : `rows ${g.rows}` });
    }
    f(...a);
  };
}
// The backend's decode calls (flashMlaWithKvcache's launch) are recorded too, so the replay covers the whole step.
const be0 = backend as unknown as { decode: (l: unknown) => unknown };
const decodeOf = be0.decode.bind(backend);
be0.decode = (l: unknown) => {
  if (recording) {
    const d = l as { problem: { b: number; sQ: number; hQ: number } };
    calls.push({ name: 'decode' as keyof MlaDeviceOps, args: [l], what: `b${d.problem.b} sQ${d.problem.sQ} hQ${d.problem.hQ}` });
  }
  return decodeOf(l);
};
const run = (cl: (typeof calls)[number]) => cl.name === ('decode' as keyof MlaDeviceOps) ? decodeOf(cl.args[0]) : (ops[cl.name] as (...a: unknown[]) => void)(...cl.args);
const { cache, layer, ids, hidden: x } = benchLayer(backend, c, { batch: b, context: ctx, extraTokens: 16 * reps + 2 * chain + 1016, precision: v.precision as 'f32' | 'bf16', batchStep: v['batch-step'] === '1' });
// Warm-up until the GPU's clocks have risen (session 42 call 5: the H200 under Dawn ran a process's first steps at its
// 345 MHz idle clock, 4x their time): steps for 3 s, at most 1000 (bench/mla/layer.ts does the same).
const tw = performance.now();
for (let i = 0; i < 1000 && (i === 0 || performance.now() - tw < 3000); i++) { await layer.forward(ids, x, 1); await backend.synchronize(); }
recording = true;
await layer.forward(ids, x, 1);
recording = false;
await backend.synchronize();
// Whole steps, with the time spent in each backend method a step calls (wrapped on this instance: sync returns and
// awaited promises alike), so a stall outside the ops shows where it sits.
const spent = new Map<string, number>();
const be = backend as unknown as Record<string, unknown>;
for (const name of ['download', 'synchronize', 'decode', 'write', 'upload', 'empty', 'free']) {
  const f = be[name];
  if (typeof f !== 'function') continue;
  const g = (f as (...a: unknown[]) => unknown).bind(backend);
  be[name] = (...a: unknown[]) => {
    const t0 = performance.now();
    const r = g(...a);
    const done = () => spent.set(name, (spent.get(name) ?? 0) + performance.now() - t0);
    if (r instanceof Promise) return r.finally(done);
    done();
    return r;
  };
}
const mark = (what: string) => console.log(`phase ${what} ${new Date().toISOString()}`);
mark('steps');
const steps: number[] = [], stepParts: Record<string, number>[] = [];
for (let r = 0; r < reps; r++) {
  spent.clear();
  const t0 = performance.now(); await layer.forward(ids, x, 1); steps.push(performance.now() - t0);
  stepParts.push(Object.fromEntries([...spent].map(([k, ms]) => [k, Math.round(ms * 1000) / 1000])));
  console.log(`step ${r}: ${steps[r].toFixed(3)} ms`, JSON.stringify(stepParts[r]));
}
// forwardDevice (nothing read back), then synchronize(): queueing time and the wait for the GPU apart.
const { fromArray } = await import('../../src/core/tensor.js');
const hidDev = backend.upload(fromArray('f32', [b, 1, c.hiddenSize], x));
const devSteps: { queue_ms: number; wait_ms: number }[] = [];
for (let r = 0; r < reps; r++) {
  await backend.synchronize();
  const t0 = performance.now(); await layer.forwardDevice(ids, hidDev, 1);
  const t1 = performance.now(); await backend.synchronize();
  const t2 = performance.now();
  devSteps.push({ queue_ms: t1 - t0, wait_ms: t2 - t1 });
  console.log(`forwardDevice ${r}: queued in ${(t1 - t0).toFixed(3)} ms, synchronize ${(t2 - t1).toFixed(3)} ms`);
}
// `reps` steps queued back to back with forwardDevice and one synchronize(): a step's time where nothing waits between steps.
await backend.synchronize();
const tq0 = performance.now();
for (let r = 0; r < chain; r++) await layer.forwardDevice(ids, hidDev, 1);
await backend.synchronize();
const chainedMs = (performance.now() - tq0) / chain;
console.log(`forwardDevice chained: ${chainedMs.toFixed(3)} ms a step over ${chain} steps`);
// The read-back's share: forwardDevice then download() of the step's output, with and without a synchronize() first.
const readBack: { direct_ms: number; synced_ms: number }[] = [];
for (let r = 0; r < reps; r++) {
  await backend.synchronize();
  let t0 = performance.now();
  let out = await layer.forwardDevice(ids, hidDev, 1); await backend.download(out);
  const direct = performance.now() - t0;
  await backend.synchronize();
  t0 = performance.now();
  out = await layer.forwardDevice(ids, hidDev, 1); await backend.synchronize(); await backend.download(out);
  const synced = performance.now() - t0;
  readBack.push({ direct_ms: direct, synced_ms: synced });
  console.log(`forwardDevice + download: ${direct.toFixed(3)} ms; with synchronize() first: ${synced.toFixed(3)} ms`);
}
// forward() against its parts (session 42: forward() took ~17 ms a step where forwardDevice + download took ~4.5):
// the hidden states written from the host into a device tensor first, with and without a synchronize() between.
mark('io');
const io: Record<string, number[]> = { forward: [], write_sync_fwd_dl: [], write_fwd_dl: [], fwd_dl: [], write_sync: [] };
const hostIn = fromArray('f32', [b, 1, c.hiddenSize], x);
for (let r = 0; r < reps; r++) {
  await backend.synchronize();
  let t0 = performance.now(); await layer.forward(ids, x, 1); io.forward.push(performance.now() - t0);
  await backend.synchronize();
  t0 = performance.now(); backend.write(hidDev, hostIn); await backend.synchronize(); await backend.download(await layer.forwardDevice(ids, hidDev, 1)); io.write_sync_fwd_dl.push(performance.now() - t0);
  await backend.synchronize();
  t0 = performance.now(); backend.write(hidDev, hostIn); await backend.download(await layer.forwardDevice(ids, hidDev, 1)); io.write_fwd_dl.push(performance.now() - t0);
  await backend.synchronize();
  t0 = performance.now(); await backend.download(await layer.forwardDevice(ids, hidDev, 1)); io.fwd_dl.push(performance.now() - t0);
  await backend.synchronize();
  t0 = performance.now(); backend.write(hidDev, hostIn); await backend.synchronize(); io.write_sync.push(performance.now() - t0);
}
// Back to back (the step loop's way) against a synchronize() or a bare queue drain before each forward(), again.
const dev = (backend as unknown as { device?: GPUDevice }).device;
for (const k of ['b2b', 'sync', 'drain', 'b2b_again']) io[k] = [];
for (const k of ['b2b', 'sync', 'drain', 'b2b_again']) {
  mark(k);
  await backend.synchronize();
  for (let r = 0; r < reps; r++) {
    if (k === 'sync') await backend.synchronize();
    if (k === 'drain' && dev) await dev.queue.onSubmittedWorkDone();
    const t0 = performance.now(); await layer.forward(ids, x, 1); io[k].push(performance.now() - t0);
  }
}
mark('end-io');
for (const [k, a] of Object.entries(io)) console.log(`io ${k.padEnd(18)} ${a.map((v) => v.toFixed(3)).join(' ')} ms`);
// download() alone on an idle device (1.8 MB at b 64 on V3): the read-back's own latency.
const dl: number[] = [];
for (let r = 0; r < reps; r++) {
  await backend.synchronize();
  const t0 = performance.now(); await backend.download(hidDev); dl.push(performance.now() - t0);
}
console.log(`download alone (idle device): ${dl.map((v) => v.toFixed(3)).join(' ')} ms`);
backend.free(hidDev);
const opRows = [];
let sum = 0;
for (const cl of calls) {
  await backend.synchronize();
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) await run(cl);
  await backend.synchronize();
  const ms = (performance.now() - t0) / reps;
  sum += ms;
  opRows.push({ op: cl.name, what: cl.what, ms });
  console.log(`${cl.name.padEnd(9)} ${cl.what.padEnd(28)} ${ms.toFixed(3)} ms`);
}
// Every recorded call of a step (the decode included) replayed in order, `chain` times, one synchronization: the
// step's GPU work with nothing of forward()'s host side; set against 'forwardDevice chained' above.
await backend.synchronize();
const tr0 = performance.now();
for (let r = 0; r < chain; r++) for (const cl of calls) await run(cl);
await backend.synchronize();
const replayChainedMs = (performance.now() - tr0) / chain;
console.log(`replayed step chained: ${replayChainedMs.toFixed(3)} ms a step over ${chain} steps (${calls.length} calls a step)`);
// synchronize() alone, and a step's decode (flashMlaWithKvcache) by the backend's own timer where it has one
const sy: number[] = [];
for (let r = 0; r < 10; r++) { const t0 = performance.now(); await backend.synchronize(); sy.push(performance.now() - t0); }
steps.sort((p, q) => p - q); sy.sort((p, q) => p - q);
const res = { shape: v.shape, batch_step: v['batch-step'] === '1', batch: b, context: ctx, backend: backend.info.device, precision: v.precision, step_median_ms: steps[steps.length >> 1], step_min_ms: steps[0],
  ops_sum_ms: sum, sync_median_ms: sy[5], step_parts: stepParts, device_steps: devSteps, chained_step_ms: chainedMs, replay_chained_ms: replayChainedMs, download_idle_ms: dl, io_ms: io, read_back: readBack, ops: opRows, date: new Date().toISOString() };
console.log(JSON.stringify({ ...res, ops: undefined }));
if (v.json) writeFileSync(v.json, JSON.stringify(res, null, 1));
cache.dispose();
backend.dispose();
