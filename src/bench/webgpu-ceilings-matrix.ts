// The subgroup-matrix side of the WebGPU roofline (beside ceilings.ts): a probe that one f16 M x N x K product
// through chromium_experimental_subgroup_matrix matches the host's, and the f16-in / f32-accumulate
// multiply-accumulate throughput of a loop of independent accumulators, measured through the same API as the
// decode. Needs the feature and a float configuration (caps.subgroupMatrixF16); browser-safe.
import { FlashMlaError } from '../core/errors.js';
import { f32ToF16 } from '../core/dtype.js';
import { Usage, type WebGpuBackend } from '../backends/webgpu/backend.js';
import { clockWarmMs, timeDispatch } from './webgpu-ceilings.js';

/** One workgroup of `p` over `buffers` (bindings 0, 1, ... of group 0), after clearing `clear` if given; submitted, not awaited. */
function dispatchOnce(device: GPUDevice, p: GPUComputePipeline, buffers: GPUBuffer[], clear?: GPUBuffer): void {
  const g = device.createBindGroup({ layout: p.getBindGroupLayout(0), entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })) });
  const e = device.createCommandEncoder();
  if (clear) e.clearBuffer(clear);
  const pass = e.beginComputePass();
  pass.setPipeline(p);
  pass.setBindGroup(0, g);
  pass.dispatchWorkgroups(1);
  pass.end();
  device.queue.submit([e.finish()]);
}

export interface MatrixProbe {
  config: string;
  /** Largest |gpu - host| over the M x N result (inputs are small integers: the product is exact in f32). */
  maxAbsErr: number;
  ok: boolean;
}

export interface MatrixCeiling {
  config: string;
  chains: number;
  ms: number;
  TFLOPS: number;
}

function need(backend: WebGpuBackend): { m: number; n: number; k: number } {
  const c = backend.caps.subgroupMatrixF16;
  if (!c) throw new FlashMlaError('backend_unavailable', 'WebGPU: the device has no float subgroup-matrix configuration (chromium-experimental-subgroup-matrix with f16 inputs)');
  return c;
}

/** Copy `bytes` of an f32 storage buffer back to the host. */
export async function readF32(device: GPUDevice, src: GPUBuffer, bytes: number): Promise<Float32Array> {
  const read = device.createBuffer({ size: bytes, usage: Usage.MAP_READ | Usage.COPY_DST });
  const e = device.createCommandEncoder();
  e.copyBufferToBuffer(src, 0, read, 0, bytes);
  device.queue.submit([e.finish()]);
  await read.mapAsync(1);
  const r = new Float32Array(read.getMappedRange().slice(0));
  read.unmap();
  read.destroy();
  return r;
}

/** Compile, throwing the WGSL or pipeline validation error (they are reported asynchronously otherwise). */
export async function compile(device: GPUDevice, code: string, label: string): Promise<GPUComputePipeline> {
  device.pushErrorScope('validation');
  const p = device.createComputePipeline({ label, layout: 'auto', compute: { module: device.createShaderModule({ label, code }), entryPoint: 'main' } });
  const err = await device.popErrorScope();
  if (err) throw new FlashMlaError('driver_error', `${label}: ${err.message.split('\n').filter((l) => /error/.test(l)).join(' | ') || err.message}`);
  return p;
}

/** One subgroup computes C = A B (A: M x K row-major, B: K x N row-major, f16; C f32) and the host checks it. */
export async function probeSubgroupMatrix(backend: WebGpuBackend): Promise<MatrixProbe> {
  const { m, n, k } = need(backend);
  const device = backend.device;
  const sg = 32; // the workgroup's x size must be a multiple of the largest subgroup; 32 covers NVIDIA, AMD wave32, Intel
  const a = Array.from({ length: m * k }, (_, i) => ((i * 7) % 11) - 5);
  const b = Array.from({ length: k * n }, (_, i) => ((i * 5) % 13) - 6);
  const toHalf = (xs: number[]) => { const u = new Uint16Array(xs.length + (xs.length & 1)); xs.forEach((x, i) => { u[i] = f32ToF16(x); }); return u; };
  const ab = device.createBuffer({ size: Math.ceil((m * k * 2) / 16) * 16, usage: Usage.STORAGE | Usage.COPY_DST });
  const bb = device.createBuffer({ size: Math.ceil((k * n * 2) / 16) * 16, usage: Usage.STORAGE | Usage.COPY_DST });
  const cb = device.createBuffer({ size: m * n * 4, usage: Usage.STORAGE | Usage.COPY_SRC });
  try {
    device.queue.writeBuffer(ab, 0, toHalf(a));
    device.queue.writeBuffer(bb, 0, toHalf(b));
    const p = await compile(device, `enable f16;
enable chromium_experimental_subgroup_matrix;
@group(0) @binding(0) var<storage, read> A: array<f16>;
@group(0) @binding(1) var<storage, read> B: array<f16>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@compute @workgroup_size(${sg}) fn main() {
  let l = subgroupMatrixLoad<subgroup_matrix_left<f16, ${k}, ${m}>>(&A, 0u, false, ${k}u);
  let r = subgroupMatrixLoad<subgroup_matrix_right<f16, ${n}, ${k}>>(&B, 0u, false, ${n}u);
  let c = subgroupMatrixMultiplyAccumulate(l, r, subgroup_matrix_result<f32, ${n}, ${m}>());
  subgroupMatrixStore(&C, 0u, c, false, ${n}u);
}`, 'probe.subgroup-matrix');
    dispatchOnce(device, p, [ab, bb, cb]);
    const got = await readF32(device, cb, m * n * 4);
    let err = 0;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let x = 0; x < k; x++) s += a[i * k + x] * b[x * n + j];
        err = Math.max(err, Math.abs(got[i * n + j] - s));
      }
    }
    return { config: `f16 ${m}x${n}x${k} -> f32`, maxAbsErr: err, ok: err === 0 };
  } finally {
    ab.destroy(); bb.destroy(); cb.destroy();
  }
}

/**
 * f16 multiply-accumulate throughput on subgroup matrices: every subgroup keeps `chains` independent f32
 * accumulators and multiplies the same operands (held in registers) `iterations` times; 2 M N K flop per product.
 * One subgroup per workgroup (32 lanes): subgroupMatrixStore wants a workgroup-uniform offset, and a subgroup's
 * index within a larger workgroup is not uniform to WGSL's analysis (Dawn on the H200 rejects it).
 */
export async function measureMatrixCeiling(backend: WebGpuBackend, o: { processors?: number; iterations?: number; reps?: number; chains?: number } = {}): Promise<MatrixCeiling> {
  const { m, n, k } = need(backend);
  const device = backend.device;
  const wgSize = 32, chains = o.chains ?? 4, iters = o.iterations ?? 4096, reps = o.reps ?? 7;
  const wgs = (o.processors ?? backend.info.numSms) * 64;
  const uni = device.createBuffer({ size: 16, usage: Usage.UNIFORM | Usage.COPY_DST });
  const sink = device.createBuffer({ size: wgs * chains * m * n * 4, usage: Usage.STORAGE });
  try {
    device.queue.writeBuffer(uni, 0, new Uint32Array([iters, 0, 0, 0]));
    const acc = Array.from({ length: chains }, (_, i) => i);
    const p = await compile(device, `enable f16;
enable chromium_experimental_subgroup_matrix;
struct U { iters: u32, p0: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read_write> o: array<f32>;
var<workgroup> ops: array<f16, ${Math.max(m * k, k * n)}>;
@compute @workgroup_size(${wgSize}) fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  for (var i = t; i < ${Math.max(m * k, k * n)}u; i += ${wgSize}u) { ops[i] = f16(f32(i % 7u) * 0.125); }
  workgroupBarrier();
  let l = subgroupMatrixLoad<subgroup_matrix_left<f16, ${k}, ${m}>>(&ops, 0u, false, ${k}u);
  let r = subgroupMatrixLoad<subgroup_matrix_right<f16, ${n}, ${k}>>(&ops, 0u, false, ${n}u);
  ${acc.map((i) => `var c${i} = subgroup_matrix_result<f32, ${n}, ${m}>();`).join(' ')}
  for (var i = 0u; i < u.iters; i++) {
    ${acc.map((i) => `c${i} = subgroupMatrixMultiplyAccumulate(l, r, c${i});`).join(' ')}
  }
  let base = w.x * ${chains * m * n}u;
  ${acc.map((i) => `subgroupMatrixStore(&o, base + ${i * m * n}u, c${i}, false, ${n}u);`).join(' ')}
}`, 'ceiling.subgroup-matrix');
    const g = device.createBindGroup({ layout: p.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: uni } }, { binding: 1, resource: { buffer: sink } }] });
    const ms = await timeDispatch(device, p, g, wgs, reps, clockWarmMs(backend));
    const flop = wgs * iters * chains * 2 * m * n * k;
    return { config: `f16 ${m}x${n}x${k} -> f32`, chains, ms, TFLOPS: flop / ms / 1e9 };
  } finally {
    uni.destroy(); sink.destroy();
  }
}

export interface AddressingForm {
  compiles: boolean;
  correct?: boolean;
  /** Per subgroup s: [expected 16 (s + 1)^2, first element, distinct values] of its 16 x 16 result. */
  perSubgroup?: [number, number, number][];
  error?: string;
}

export interface UniformityProbe {
  /** Offsets derived from the subgroup index (local_invocation_index / 32): the H200 rejected this form. */
  offsetPerSubgroup: AddressingForm;
  /** Constant offsets into a per-subgroup array (`&tiles[sg]`): also rejected on the H200. */
  pointerPerSubgroup: AddressingForm;
  /**
   * The two forms again under `diagnostic(off, chromium.subgroup_matrix_uniformity)`: Tint files the uniformity
   * requirement of the subgroup-matrix builtins under that rule, so a module may switch the check off and take
   * responsibility for subgroup-uniform arguments itself (a subgroup index is uniform within its subgroup).
   */
  offsetPerSubgroupDiagOff: AddressingForm;
  pointerPerSubgroupDiagOff: AddressingForm;
}

/**
 * Which way 8 subgroups of one 256-lane workgroup may address their own matrices (docs/notes/webgpu-tensor-core.md,
 * the open question of the matrix kernel): subgroup s multiplies two 16x16 matrices of (s + 1), so every element of
 * its result must be 16 (s + 1)^2.
 */
export async function probeSubgroupAddressing(backend: WebGpuBackend): Promise<UniformityProbe> {
  const { m, n, k } = need(backend);
  if (m !== 16 || n !== 16 || k !== 16) throw new FlashMlaError('backend_unavailable', 'the addressing probe is written for 16x16x16');
  const device = backend.device;
  const head = (diagOff: boolean) => `enable f16;
enable chromium_experimental_subgroup_matrix;
${diagOff ? 'diagnostic(off, chromium.subgroup_matrix_uniformity);\n' : ''}@group(0) @binding(0) var<storage, read_write> C: array<f32>;`;
  const offsetForm = (diagOff: boolean) => `${head(diagOff)}
var<workgroup> tiles: array<f16, 2048>;
var<workgroup> outs: array<f32, 2048>;
@compute @workgroup_size(256) fn main(@builtin(local_invocation_index) t: u32) {
  for (var i = t; i < 2048u; i += 256u) { tiles[i] = f16(f32(i / 256u + 1u)); }
  workgroupBarrier();
  let sg = t / 32u;
  let l = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>>(&tiles, sg * 256u, false, 16u);
  let r = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>>(&tiles, sg * 256u, false, 16u);
  subgroupMatrixStore(&outs, sg * 256u, subgroupMatrixMultiplyAccumulate(l, r, subgroup_matrix_result<f32, 16, 16>()), false, 16u);
  workgroupBarrier();
  for (var i = t; i < 2048u; i += 256u) { C[i] = outs[i]; }
}`;
  const pointerForm = (diagOff: boolean) => `${head(diagOff)}
var<workgroup> tiles: array<array<f16, 256>, 8>;
var<workgroup> outs: array<array<f32, 256>, 8>;
@compute @workgroup_size(256) fn main(@builtin(local_invocation_index) t: u32) {
  for (var i = t; i < 2048u; i += 256u) { tiles[i / 256u][i % 256u] = f16(f32(i / 256u + 1u)); }
  workgroupBarrier();
  let sg = t / 32u;
  let l = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>>(&tiles[sg], 0u, false, 16u);
  let r = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>>(&tiles[sg], 0u, false, 16u);
  subgroupMatrixStore(&outs[sg], 0u, subgroupMatrixMultiplyAccumulate(l, r, subgroup_matrix_result<f32, 16, 16>()), false, 16u);
  workgroupBarrier();
  for (var i = t; i < 2048u; i += 256u) { C[i] = outs[i / 256u][i % 256u]; }
}`;
  const cb = device.createBuffer({ size: 2048 * 4, usage: Usage.STORAGE | Usage.COPY_SRC | Usage.COPY_DST });
  const tryForm = async (code: string, label: string): Promise<AddressingForm> => {
    const r: AddressingForm = { compiles: false };
    try {
      const p = await compile(device, code, label);
      r.compiles = true;
      // A validation error here is this probe's own: caught in a scope, so it cannot fail the backend's next call.
      device.pushErrorScope('validation');
      dispatchOnce(device, p, [cb], cb);
      const err = await device.popErrorScope();
      if (err) throw new Error(`${label}: ${err.message.split('\n')[0]}`);
      const got = await readF32(device, cb, 2048 * 4);
      r.correct = got.every((v, i) => v === 16 * (Math.floor(i / 256) + 1) ** 2);
      if (!r.correct) r.perSubgroup = Array.from({ length: 8 }, (_, sg) => [16 * (sg + 1) ** 2, got[sg * 256], new Set(got.subarray(sg * 256, sg * 256 + 256)).size]);
    } catch (e) {
      r.error = (e as Error).message.slice(0, 300);
    }
    return r;
  };
  try {
    return {
      offsetPerSubgroup: await tryForm(offsetForm(false), 'probe.offset-per-subgroup'),
      pointerPerSubgroup: await tryForm(pointerForm(false), 'probe.pointer-per-subgroup'),
      offsetPerSubgroupDiagOff: await tryForm(offsetForm(true), 'probe.offset-per-subgroup.diag-off'),
      pointerPerSubgroupDiagOff: await tryForm(pointerForm(true), 'probe.pointer-per-subgroup.diag-off'),
    };
  } finally {
    cb.destroy();
  }
}

/**
 * A benchmark row of the matrix kernel against its own roofline: the copy ceiling and the subgroup-matrix MAC
 * ceiling (not the f32 one): bound 'memory' or 'matrix', and the fraction of the bounding ceiling reached.
 */
export function matrixRoofline(r: { GBps: number; TFLOPS: number }, copyGBps: number, matrixTFLOPS: number): { bound: 'memory' | 'matrix'; roofline_fraction: number } {
  const mem = r.GBps / copyGBps, mac = r.TFLOPS / matrixTFLOPS;
  return { bound: mem >= mac ? 'memory' : 'matrix', roofline_fraction: Math.max(mem, mac) };
}
