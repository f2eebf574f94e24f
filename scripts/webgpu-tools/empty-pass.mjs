#!/usr/bin/env node
// Session 24 (issue #13): what a WebGPU compute pass costs on this device by the backend's own timing (timestamp writes
// at the pass's start and end, backend.timeMs): an empty kernel (1 workgroup, and 132), and two passes in one encoder
// as the split decode runs them (decode, then combine), each reporting the median of REPS.
//   node scripts/webgpu-tools/empty-pass.mjs      (runs the compiled tree, $FLASHMLA_DIST or build/src)
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const dist = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', process.env.FLASHMLA_DIST ?? 'build/src');
const { createNodeWebGpuBackend } = await import(pathToFileURL(`${dist}/backends/webgpu/node.js`).href);
const { median } = await import(pathToFileURL(`${dist}/bench/stats.js`).href);
const be = await createNodeWebGpuBackend({});
const dev = be.device;
const reps = Number(process.env.REPS ?? 30);
const buf = dev.createBuffer({ size: 1 << 20, usage: GPUBufferUsage.STORAGE });
const pipe = (code) => dev.createComputePipeline({ layout: 'auto', compute: { module: dev.createShaderModule({ code }), entryPoint: 'main' } });
const empty = pipe('@compute @workgroup_size(256) fn main() {}');
const touch = pipe('@group(0) @binding(0) var<storage, read_write> o: array<u32>; @compute @workgroup_size(256) fn main(@builtin(global_invocation_id) g: vec3<u32>) { o[g.x % 262144u] = g.x; }');
const touchBg = dev.createBindGroup({ layout: touch.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: buf } }] });
async function time(label, passes) {
  const ms = await be.timeMs(async () => {
    const enc = dev.createCommandEncoder();
    passes.forEach(([p, bg, n], i) => {
      const tw = be.timestampWritesFor();
      const pass = enc.beginComputePass({ timestampWrites: tw && { querySet: tw.querySet, ...(i === 0 ? { beginningOfPassWriteIndex: tw.beginningOfPassWriteIndex } : {}), ...(i === passes.length - 1 ? { endOfPassWriteIndex: tw.endOfPassWriteIndex } : {}) } });
      pass.setPipeline(p); if (bg) pass.setBindGroup(0, bg); pass.dispatchWorkgroups(n); pass.end();
    });
    dev.queue.submit([enc.finish()]);
  }, { warmup: 5, reps });
  console.log(`${label.padEnd(40)} median ${(median(ms) * 1000).toFixed(1)} us  min ${(Math.min(...ms) * 1000).toFixed(1)} us`);
}
console.log(`device: ${be.info.device}`);
await time('empty kernel, 1 workgroup', [[empty, undefined, 1]]);
await time('empty kernel, 132 workgroups', [[empty, undefined, 132]]);
await time('a store a lane, 132 workgroups', [[touch, touchBg, 132]]);
await time('two passes (store, then empty)', [[touch, touchBg, 132], [empty, undefined, 1]]);
be.dispose?.();
