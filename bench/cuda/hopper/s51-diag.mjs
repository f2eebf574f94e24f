// Session 51 diagnostic: call 2's and call 6's bf16 row of 19 us (MODEL1 dense rows 16, 32, 16 x 2, then 48, one process).
// Runs bench-sparse's runDense on those rows, then a bf16 dense decode of 48 rows by hand on the same backend (wall time
// around one call and its synchronize, events of 5 calls, the output) and the same on a fresh backend; prints both and
// whether the outputs are identical.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
const dir = process.argv[2];
const im = (p) => import(pathToFileURL(resolve(dir, p)).href);
const { createCudaBackend } = await im('backends/cuda/index.js');
const { runDense } = await im('cli/bench-sparse.js');
const { flashMlaWithKvcache, getMlaMetadata } = await im('core/api.js');
const { fromArray } = await im('core/tensor.js');
const { f32ToBf16 } = await im('core/dtype.js');
const timing = { warmup: 10, reps: 50, flushBytes: 256e6, doBench: { warmMs: 25, repMs: 200 } };
const order = (process.env.DIAG_ROWS ?? '16,32,16x2,48').split(',');
const be = await createCudaBackend();
for (const x of order) {
  const [h, s] = x.split('x').map(Number);
  const d = await runDense(be, 128, 8192, h, timing, false, s || 1, 'model1', 'bf16');
  console.log(`row ${x}: fp8 ${d.us.toFixed(1)} us (${d.kernel}), bf16 ${d.bf16_us.toFixed(1)} us`);
}
async function manual(b2, tag) {
  const b = 128, sK = 8192, B = 64, pages = sK / B, nb = b * pages, hQ = 48;
  let seed = 1; const r = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const seqlens = new Int32Array(b).fill(sK);
  const q = b2.upload(fromArray('bf16', [b, 1, hQ, 576], Uint16Array.from({ length: b * hQ * 576 }, () => f32ToBf16(r() * 2 - 1))));
  const kv = new Uint16Array(nb * B * 576), tile = 64 * B * 576;
  for (let i = 0; i < tile; i++) kv[i] = f32ToBf16((r() - 0.5) * 0.2);
  for (let i = tile; i < kv.length; i += tile) kv.copyWithin(i, 0, Math.min(tile, kv.length - i));
  const k = b2.upload(fromArray('bf16', [nb, B, 1, 576], kv));
  const table = b2.upload(fromArray('i32', [b, pages], Int32Array.from({ length: nb }, (_, i) => i))), lens = b2.upload(fromArray('i32', [b], seqlens));
  const md = getMlaMetadata(seqlens, hQ, 1, { backend: b2 });
  const out = b2.empty('bf16', [b, 1, hQ, 512]), lse = b2.empty('f32', [b, hQ, 1]);
  const call = () => flashMlaWithKvcache(q, k, table, lens, 512, md.tileSchedulerMetadata, md.numSplits, { backend: b2, out, lse });
  await call(); await b2.synchronize();
  const t0 = performance.now(); await call(); await b2.synchronize(); const wall = (performance.now() - t0) * 1e3;
  const ev = await b2.timeMs(() => call().then(() => undefined), { warmup: 2, reps: 5, flushBytes: 256e6 });
  const o = (await b2.download(out)).host(), l = (await b2.download(lse)).host();
  console.log(`${tag}: wall ${wall.toFixed(0)} us, events ${ev.map((x) => (x * 1e3).toFixed(1)).join(' ')} us, out[0..3] ${[...o.slice(0, 4)]}, lse[0] ${l[0]}`);
  for (const t of [q, k, table, lens, out, lse]) b2.free(t);
  return { o, l };
}
const a = await manual(be, 'after the rows');
be.dispose();
const be2 = await createCudaBackend();
const c = await manual(be2, 'fresh backend');
be2.dispose();
let same = a.o.length === c.o.length; for (let i = 0; same && i < a.o.length; i++) same = a.o[i] === c.o[i];
let sameL = true; for (let i = 0; sameL && i < a.l.length; i++) sameL = Object.is(a.l[i], c.l[i]);
console.log(`outputs identical: ${same}, lse identical: ${sameL}`);
