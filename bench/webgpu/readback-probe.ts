// Where a WebGPU read-back's time goes (session 42: on the H200 download() of 1.8 MB took 1.3-11 ms on an idle device
// and ~10 ms more than the GPU work at the end of an MLA layer step). For each size, on the backend's own device, each
// way `reps` times on an idle device, medians in ms:
//   fresh    download() as the backend does it: a new MAP_READ buffer, copy, submit, mapAsync, copy out, destroy
//            (split: until mapAsync resolves / the mapped bytes copied out / unmap + destroy)
//   reuse    one MAP_READ buffer kept across reads (copy, submit, mapAsync, copy out, unmap; reuse_copy: copy out + unmap)
//   done     fresh, with queue.onSubmittedWorkDone() awaited before mapAsync
//   backend  backend.download() itself
//   node --import tsx bench/webgpu/readback-probe.ts [--reps 9] [--json out.json]
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fromArray } from '../../src/core/tensor.js';
import { createBackend } from '../../src/node.js';

const { values: v } = parseArgs({ options: { reps: { type: 'string', default: '9' }, json: { type: 'string' } } });
const reps = Number(v.reps);
const backend = await createBackend('webgpu');
const device = (backend as unknown as { device: GPUDevice }).device;
const MAP_READ = 0x0001, COPY_SRC = 0x0004, COPY_DST = 0x0008, STORAGE = 0x0080;
const med = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1];
const rows: Record<string, unknown>[] = [];
for (const bytes of [4096, 262144, 1835008, 8388608]) {
  const src = device.createBuffer({ size: bytes, usage: STORAGE | COPY_SRC | COPY_DST });
  device.queue.writeBuffer(src, 0, new Uint8Array(bytes).fill(7));
  const host = new Uint8Array(bytes);
  const idle = async () => { await device.queue.onSubmittedWorkDone(); };
  const copyTo = (dst: GPUBuffer) => {
    const e = device.createCommandEncoder(); e.copyBufferToBuffer(src, 0, dst, 0, bytes); device.queue.submit([e.finish()]);
  };
  const fresh = { map: [] as number[], copy: [] as number[], free: [] as number[], total: [] as number[] };
  const reuse: number[] = [], reuseCopy: number[] = [], done: number[] = [], viaBackend: number[] = [];
  const kept = device.createBuffer({ size: bytes, usage: MAP_READ | COPY_DST });
  let dev;
  try { dev = backend.upload(fromArray('f32', [bytes / 4], new Float32Array(bytes / 4))); } catch { dev = undefined; }
  for (let r = 0; r < reps; r++) {
    await idle();
    let t0 = performance.now();
    const st = device.createBuffer({ size: bytes, usage: MAP_READ | COPY_DST });
    copyTo(st);
    await st.mapAsync(1);
    const t1 = performance.now();
    host.set(new Uint8Array(st.getMappedRange()));
    const t2 = performance.now();
    st.unmap(); st.destroy();
    const t3 = performance.now();
    fresh.map.push(t1 - t0); fresh.copy.push(t2 - t1); fresh.free.push(t3 - t2); fresh.total.push(t3 - t0);

    await idle();
    t0 = performance.now();
    copyTo(kept); await kept.mapAsync(1);
    const tc = performance.now();
    host.set(new Uint8Array(kept.getMappedRange())); kept.unmap();
    reuse.push(performance.now() - t0); reuseCopy.push(performance.now() - tc);

    await idle();
    t0 = performance.now();
    const s2 = device.createBuffer({ size: bytes, usage: MAP_READ | COPY_DST });
    copyTo(s2); await device.queue.onSubmittedWorkDone(); await s2.mapAsync(1); host.set(new Uint8Array(s2.getMappedRange())); s2.unmap(); s2.destroy();
    done.push(performance.now() - t0);

    if (dev) {
      await idle();
      t0 = performance.now(); await backend.download(dev); viaBackend.push(performance.now() - t0);
    }
  }
  const row = {
    bytes, fresh_map_ms: med(fresh.map), fresh_copy_ms: med(fresh.copy), fresh_free_ms: med(fresh.free), fresh_ms: med(fresh.total),
    fresh_all: fresh.total.map((x) => +x.toFixed(3)), reuse_ms: med(reuse), reuse_copy_ms: med(reuseCopy), reuse_all: reuse.map((x) => +x.toFixed(3)),
    done_ms: med(done), backend_ms: viaBackend.length ? med(viaBackend) : null, backend_all: viaBackend.map((x) => +x.toFixed(3)),
  };
  rows.push(row);
  console.log(JSON.stringify(row));
  kept.destroy(); src.destroy(); if (dev) backend.free(dev);
}
if (v.json) writeFileSync(v.json, JSON.stringify({ device: backend.info.device, date: new Date().toISOString(), reps, rows }, null, 1));
backend.dispose();
