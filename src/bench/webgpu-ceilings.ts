// What the device itself reaches, measured by WGSL kernels through the same API as the decode: the roofline a
// decode benchmark is judged against (`flashmla bench --backend webgpu` records it beside every row).
//   copy: read + write bandwidth of a grid-stride vec4<u32> copy (GB/s counts both directions)
//   f32 FMA: independent vec4 fma() chains per lane, the body unrolled; the best variant is the ceiling.
// fma() is one rounding, so the compiler has to issue every one of them; chains written a * b + c may be
// reassociated by a driver (on the H100, 8 such chains "reached" 89.6 TFLOPS, above its 66.9 TFLOPS f32 peak),
// so they are reported but never used as the bar. Browser-safe: no Node imports.
import { FlashMlaError } from '../core/errors.js';
import { isSoftwareAdapter } from '../core/software-adapter.js';
import { Usage, type WebGpuBackend } from '../backends/webgpu/backend.js';
import type { Ceilings } from './formulas.js';

export interface FmaVariant { chains: number; form: 'fma' | 'mad'; unroll: number; ms: number; TFLOPS: number }

export interface WebGpuCeilings extends Ceilings {
  copy_GBps: number;
  /** The best fma() variant: the f32 roofline. */
  f32_fma_TFLOPS: number;
  f32_fma_best: string;
  f32_fma_variants: FmaVariant[];
  /** The copy measured again after the benchmark's rows (`flashmla bench` records it): a run whose device slowed down
   * (a clock left low, say) shows here as less than copy_GBps (docs/notes/webgpu-matrix-gemm.md, "Session 60, call 3"). */
  copy_after_GBps?: number;
}

export interface CeilingOptions {
  /** Processors the dispatches are sized for (workgroups = 16 per processor). */
  processors?: number;
  /** Iterations of the FMA loop (default 1024; a small value only checks that the kernels run). */
  iterations?: number;
  reps?: number;
}

import { median } from './stats.js';

/**
 * Device time of `reps` passes of one dispatch (median, ms), after untimed passes for at least `warmMs` of the host's
 * clock (default 0; `clockWarmMs` gives 250 on a hardware adapter) and two more. The warm-up is for the card's clock:
 * after idle seconds the H200 ran a timed copy at 345 MHz and 1497 GB/s where it reads ~3810 at 1980 MHz, and short
 * bursts of work do not bring the clock back up (docs/notes/webgpu-matrix-gemm.md, "Session 60, call 3").
 */
export async function timeDispatch(device: GPUDevice, pipeline: GPUComputePipeline, group: GPUBindGroup, workgroups: number, reps: number, warmMs = 0): Promise<number> {
  const set = device.createQuerySet({ type: 'timestamp', count: 2 * reps });
  const resolve = device.createBuffer({ size: 16 * reps, usage: Usage.QUERY_RESOLVE | Usage.COPY_SRC });
  const read = device.createBuffer({ size: 16 * reps, usage: Usage.MAP_READ | Usage.COPY_DST });
  try {
    const pass = (tw?: GPUComputePassTimestampWrites) => {
      const e = device.createCommandEncoder();
      const p = e.beginComputePass({ timestampWrites: tw });
      p.setPipeline(pipeline);
      p.setBindGroup(0, group);
      p.dispatchWorkgroups(workgroups);
      p.end();
      device.queue.submit([e.finish()]);
    };
    const t0 = performance.now();
    for (let n = 0; performance.now() - t0 < warmMs; n++) {
      pass();
      if (n % 4 === 3) await device.queue.onSubmittedWorkDone();
    }
    pass();
    pass();
    for (let i = 0; i < reps; i++) pass({ querySet: set, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 });
    const e = device.createCommandEncoder();
    e.resolveQuerySet(set, 0, 2 * reps, resolve, 0);
    e.copyBufferToBuffer(resolve, 0, read, 0, 16 * reps);
    device.queue.submit([e.finish()]);
    await read.mapAsync(1);
    const ts = new BigInt64Array(read.getMappedRange().slice(0));
    read.unmap();
    return median(Array.from({ length: reps }, (_, i) => Number(ts[2 * i + 1] - ts[2 * i]) / 1e6));
  } finally {
    set.destroy(); resolve.destroy(); read.destroy();
  }
}

/** The clock warm-up timeDispatch should run on this backend's adapter: 250 ms on hardware, none on a software one. */
export function clockWarmMs(backend: WebGpuBackend): number {
  return isSoftwareAdapter(backend.info) ? 0 : 250;
}

function pipeline(device: GPUDevice, code: string, label: string): GPUComputePipeline {
  return device.createComputePipeline({ label, layout: 'auto', compute: { module: device.createShaderModule({ label, code }), entryPoint: 'main' } });
}

/** What the copy ceiling dispatches: a grid-stride vec4<u32> copy of `bytes` from one buffer into another. */
export interface CopySetup { pipeline: GPUComputePipeline; group: GPUBindGroup; bytes: number; workgroups: number }

/** The copy ceiling's buffers, pipeline and bind group, given to `f` and destroyed after it. */
export async function withCopy<T>(backend: WebGpuBackend, f: (c: CopySetup) => Promise<T>, processors?: number): Promise<T> {
  const device = backend.device;
  const bytes = Math.min(512 * 1024 * 1024, backend.caps.maxStorageBufferBindingSize, backend.caps.maxBufferSize) & ~255;
  const src = device.createBuffer({ size: bytes, usage: Usage.STORAGE });
  const dst = device.createBuffer({ size: bytes, usage: Usage.STORAGE });
  try {
    const copy = pipeline(device, `@group(0) @binding(0) var<storage, read> a: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read_write> b: array<vec4<u32>>;
@compute @workgroup_size(256) fn main(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>) {
  let stride = n.x * 256u;
  for (var i = g.x; i < arrayLength(&a); i += stride) { b[i] = a[i]; }
}`, 'ceiling.copy');
    const group = device.createBindGroup({ layout: copy.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: src } }, { binding: 1, resource: { buffer: dst } }] });
    return await f({ pipeline: copy, group, bytes, workgroups: (processors ?? backend.info.numSms) * 16 });
  } finally {
    src.destroy(); dst.destroy();
  }
}

/** Read + write bandwidth of the grid-stride copy (GB/s, both directions counted; needs timestamp queries). */
export async function measureCopy(backend: WebGpuBackend, o: Pick<CeilingOptions, 'processors' | 'reps'> = {}): Promise<number> {
  if (!backend.caps.timestamps) throw new FlashMlaError('backend_unavailable', 'WebGPU ceilings need the timestamp-query feature');
  const reps = o.reps ?? 9;
  return withCopy(backend, async (c) => (2 * c.bytes) / (await timeDispatch(backend.device, c.pipeline, c.group, c.workgroups, reps + 6, clockWarmMs(backend))) / 1e6, o.processors);
}

/** Copy bandwidth and f32 FMA throughput of the backend's device (needs timestamp queries). */
export async function measureCeilings(backend: WebGpuBackend, o: CeilingOptions = {}): Promise<WebGpuCeilings> {
  const copy_GBps = await measureCopy(backend, o);
  const device = backend.device;
  const wgs = (o.processors ?? backend.info.numSms) * 16, reps = o.reps ?? 9, iters = o.iterations ?? 1024, unroll = 4;

  const uni = device.createBuffer({ size: 16, usage: Usage.UNIFORM | Usage.COPY_DST });
  const sink = device.createBuffer({ size: wgs * 256 * 16, usage: Usage.STORAGE });
  const variants: FmaVariant[] = [];
  try {
    device.queue.writeBuffer(uni, 0, new Uint32Array([iters, 0, 0, 0]));
    const shapes: [number, 'fma' | 'mad', number][] = [[8, 'fma', 1], [8, 'fma', unroll], [16, 'fma', unroll], [8, 'mad', unroll], [16, 'mad', unroll]];
    for (const [chains, form, un] of shapes) {
      const chain = Array.from({ length: chains }, (_, i) => (form === 'fma' ? `a${i} = fma(a${i}, y, x);` : `a${i} = a${i} * y + x;`)).join(' ');
      const fma = pipeline(device, `struct U { iters: u32, p0: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read_write> o: array<vec4<f32>>;
@compute @workgroup_size(256) fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let x = vec4<f32>(f32(g.x) * 1e-9, 0.5, 0.25, 0.125);
  let y = vec4<f32>(0.999, 0.998, 0.997, 0.996);
  ${Array.from({ length: chains }, (_, i) => `var a${i} = x + vec4<f32>(${i}.0);`).join(' ')}
  for (var i = 0u; i < u.iters; i++) {
    ${Array(un).fill(chain).join('\n    ')}
  }
  o[g.x] = ${Array.from({ length: chains }, (_, i) => `a${i}`).join(' + ')};
}`, `ceiling.fma.${chains}.${form}.${un}`);
      const group = device.createBindGroup({ layout: fma.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: uni } }, { binding: 1, resource: { buffer: sink } }] });
      const ms = await timeDispatch(device, fma, group, wgs, reps, clockWarmMs(backend));
      variants.push({ chains, form, unroll: un, ms, TFLOPS: (wgs * 256 * iters * un * chains * 8) / ms / 1e9 });
    }
  } finally {
    uni.destroy(); sink.destroy();
  }
  const best = variants.filter((v) => v.form === 'fma').reduce((a, v) => (v.TFLOPS > a.TFLOPS ? v : a));
  return {
    copy_GBps, f32_fma_TFLOPS: best.TFLOPS,
    f32_fma_best: `${best.chains} vec4 chains, fma(), unroll ${best.unroll}`, f32_fma_variants: variants,
  };
}

export { roofline } from './formulas.js';
