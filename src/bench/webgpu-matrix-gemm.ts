// How fast WGSL's subgroup matrices multiply when their operands come from memory (docs/notes/webgpu-matrix-gemm.md).
// webgpu-ceilings-matrix.ts measures the multiply-accumulate with both operands held in registers (~622 TFLOPS on
// the H200): a bound no decode can meet, since every key's fragments arrive through workgroup memory. Two probes
// here put the memory back:
//   smem: each subgroup loads `lefts` + `rights` 16 x 16 f16 matrices from workgroup memory every step and does
//         lefts x rights products (the operand reuse a kernel's tile shape gives), no device memory in the loop;
//   gemm: C = A B (f16 in, f32 out), the usual tiled form: a workgroup's A and B slabs copied from storage into
//         workgroup memory (vec4 loads, unpacked to f16), a barrier, every subgroup's products, one or two stages.
// The best of each is what any decode built of these operations on that device can reach at most. `emulate`
// replaces the builtins with WGSL functions (each lane computes a whole 16 x 16 product) so the same code runs on
// an adapter without the feature, for tests. Browser-safe: no Node imports.
import { FlashMlaError } from '../core/errors.js';
import { f32ToF16 } from '../core/dtype.js';
import { Usage, type WebGpuBackend } from '../backends/webgpu/backend.js';
import { clockWarmMs, timeDispatch } from './webgpu-ceilings.js';
import { compile } from './webgpu-ceilings-matrix.js';

export interface SmemMacSpec {
  /** Subgroups of 32 lanes a workgroup. */
  subgroups: number;
  /** Left (16 x 16) matrices loaded a step; each meets every right one. */
  lefts: number;
  rights: number;
  /** f16 elements between the rows of the 64-row panel the operands are read from (128: rows 256 B apart; 136 skews the banks). */
  stride: number;
}

export interface GemmSpec {
  /** Subgroups along M and N; each computes (16 lefts) x (16 rights) of C. */
  subgroupsM: number;
  subgroupsN: number;
  lefts: number;
  rights: number;
  /** K columns a workgroup stages a step (16, 32 or 64). */
  kStep: number;
  /** f16 elements added to each staged row (0 or 8: shifts consecutive rows by 16 bytes of banks). */
  pad: number;
  /** 1: copy, barrier, products, barrier. 2: the next slab's loads in registers while this one is multiplied. */
  stages: 1 | 2;
  /**
   * 'workgroup' (default): the staged form above. 'storage': every subgroup loads its matrices straight from the
   * storage buffers (A and B bound as f16 arrays; no workgroup memory, no barrier; pad and stages unused).
   */
  source?: 'workgroup' | 'storage';
  /**
   * With stages 2: one workgroup buffer instead of two (the next slab still waits in registers; stored after a second
   * barrier a step), so twice the kStep fits the same workgroup memory.
   */
  oneBuffer?: boolean;
  /**
   * With oneBuffer: slabs held in registers ahead of the one being multiplied (default 1). 2: the loads of slab k + 2
   * are issued while slab k is multiplied, into a second set of registers (the loop unrolled by two steps to alternate
   * them), for a load latency longer than a step's products.
   */
  prefetch?: 1 | 2;
}

const M = 16; // the 16 x 16 x 16 configuration (caps.subgroupMatrixF16); the probes take no other

export function header(emulate: boolean): string {
  return emulate ? 'enable f16;\n' : 'enable f16;\nenable chromium_experimental_subgroup_matrix;\ndiagnostic(off, chromium.subgroup_matrix_uniformity);\n';
}

/** The builtins as WGSL text, or (emulate) as calls of the working functions `emulation()` declares for array `arr`. */
export function ops(emulate: boolean) {
  return {
    left: (arr: string, off: string, stride: string) => (emulate ? `ldL_${arr}(${off}, ${stride})` : `subgroupMatrixLoad<subgroup_matrix_left<f16, ${M}, ${M}>>(&${arr}, ${off}, false, ${stride})`),
    right: (arr: string, off: string, stride: string) => (emulate ? `ldR_${arr}(${off}, ${stride})` : `subgroupMatrixLoad<subgroup_matrix_right<f16, ${M}, ${M}>>(&${arr}, ${off}, false, ${stride})`),
    zero: emulate ? 'SmResult()' : `subgroup_matrix_result<f32, ${M}, ${M}>()`,
    mac: (l: string, r: string, c: string) => (emulate ? `smMac(${l}, ${r}, ${c})` : `subgroupMatrixMultiplyAccumulate(${l}, ${r}, ${c})`),
    store: (arr: string, off: string, c: string, stride: string) => (emulate ? `stC_${arr}(${off}, ${c}, ${stride}, t)` : `subgroupMatrixStore(&${arr}, ${off}, ${c}, false, ${stride})`),
  };
}

/**
 * One subgroup's lefts x rights result matrices: their declarations, a k-step's loads (names suffixed `sfx`) and
 * products, and their stores; `left(x)` / `right(y)` give the offset argument lists of the loads.
 */
function subgroupTile(o: ReturnType<typeof ops>, lefts: number, rights: number) {
  const L = Array.from({ length: lefts }, (_, x) => x), R = Array.from({ length: rights }, (_, y) => y);
  const acc = L.flatMap((x) => R.map((y) => [x, y] as const));
  return {
    declare: acc.map(([x, y]) => `var c${x}_${y} = ${o.zero};`).join(' '),
    step: (sfx: string, left: (x: number) => string, right: (y: number) => string) => [
      ...L.map((x) => `let l${x}${sfx} = ${left(x)};`),
      ...R.map((y) => `let r${y}${sfx} = ${right(y)};`),
      ...acc.map(([x, y]) => `c${x}_${y} = ${o.mac(`l${x}${sfx}`, `r${y}${sfx}`, `c${x}_${y}`)};`),
    ],
    stores: (arr: string, offset: (x: number, y: number) => string, stride: string) => acc.map(([x, y]) => o.store(arr, offset(x, y), `c${x}_${y}`, stride)).join(';\n  '),
  };
}

/** Working stand-ins for the builtins over the named f16 arrays (loads) and f32 arrays (stores): slow, exact. */
export function emulation(f16Arrays: string[], f32Arrays: string | string[]): string {
  const loads = f16Arrays.map((a) => ['L', 'R'].map((s) => `fn ld${s}_${a}(off: u32, stride: u32) -> Sm${s} {
  var m: Sm${s};
  for (var i = 0u; i < 256u; i++) { m.v[i] = ${a}[off + (i / 16u) * stride + i % 16u]; }
  return m;
}`).join('\n')).join('\n');
  return `struct SmL { v: array<f16, 256> }
struct SmR { v: array<f16, 256> }
struct SmResult { v: array<f32, 256> }
${loads}
fn smMac(a: SmL, b: SmR, c: SmResult) -> SmResult {
  var d = c;
  for (var r = 0u; r < 16u; r++) {
    for (var j = 0u; j < 16u; j++) {
      var s = 0.0;
      for (var k = 0u; k < 16u; k++) { s += f32(a.v[r * 16u + k]) * f32(b.v[k * 16u + j]); }
      d.v[r * 16u + j] += s;
    }
  }
  return d;
}
// Element i is written by lane i % 32 of the subgroup, as the 32 lanes of a real store share the matrix.
${[f32Arrays].flat().map((a) => `fn stC_${a}(off: u32, m: SmResult, stride: u32, t: u32) {
  for (var i = t % 32u; i < 256u; i += 32u) { ${a}[off + (i / 16u) * stride + i % 16u] = m.v[i]; }
}`).join('\n')}
`;
}

export function checkSpec(ok: boolean, what: string): void {
  if (!ok) throw new FlashMlaError('invalid_argument', `matrix probe: ${what}`);
}

/** The smem probe's WGSL: workgroups of `subgroups` x 32 lanes, `u.iters` steps, results stored (so nothing is dead). */
export function smemMacWgsl(s: SmemMacSpec, emulate = false): string {
  checkSpec(s.subgroups >= 1 && s.subgroups <= 8 && s.lefts >= 1 && s.rights >= 1 && s.lefts * s.rights <= 16, `subgroups 1..8 and lefts x rights <= 16 (got ${JSON.stringify(s)})`);
  checkSpec(s.stride >= 128 && s.stride % 8 === 0, `stride >= 128, a multiple of 8 (got ${s.stride})`);
  const o = ops(emulate), T = 32 * s.subgroups, n = 64 * s.stride, acc = s.lefts * s.rights, tile = subgroupTile(o, s.lefts, s.rights);
  // The column block kc moves every step (and differs between subgroups), so no load can be hoisted out of the loop.
  const body = tile.step('',
    (x) => o.left('ops', `${x % 4}u * ${16 * s.stride}u + kc * 16u`, `${s.stride}u`),
    (y) => o.right('ops', `${(y + 1) % 4}u * ${16 * s.stride}u + ((kc + ${y}u) % 8u) * 16u`, `${s.stride}u`));
  return `${header(emulate)}struct U { iters: u32, p0: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read_write> o: array<f32>;
var<workgroup> ops: array<f16, ${n}>;
@compute @workgroup_size(${T}) fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  for (var i = t; i < ${n}u; i += ${T}u) { ops[i] = f16(f32(i % 7u) * 0.125); }
  workgroupBarrier();
  let sg = t / 32u;
  ${tile.declare}
  for (var i = 0u; i < u.iters; i++) {
    let kc = (i + sg) % 8u;
    ${body.join('\n    ')}
  }
  let base = (w.x * ${s.subgroups}u + sg) * ${acc * 256}u;
  ${tile.stores('o', (x, y) => `base + ${(x * s.rights + y) * 256}u`, '16u')};
}
${emulate ? emulation(['ops'], 'o') : ''}`;
}

export interface GemmShape { m: number; n: number; k: number }

export function gemmTile(s: GemmSpec): { tm: number; tn: number; threads: number; sharedBytes: number } {
  const tm = 16 * s.lefts * s.subgroupsM, tn = 16 * s.rights * s.subgroupsN;
  const buffers = s.oneBuffer ? 1 : s.stages;
  const sharedBytes = s.source === 'storage' ? 0 : 2 * buffers * (tm * (s.kStep + s.pad) + s.kStep * (tn + s.pad));
  return { tm, tn, threads: 32 * s.subgroupsM * s.subgroupsN, sharedBytes };
}

/** The storage form of the gemm probe: each subgroup's matrices loaded from A and B directly, kStep / 16 k-steps unrolled a loop step. */
function gemmStorageWgsl(s: GemmSpec, shape: GemmShape, emulate: boolean): string {
  const { tm, tn, threads } = gemmTile(s);
  const o = ops(emulate), tile = subgroupTile(o, s.lefts, s.rights);
  const products = Array.from({ length: s.kStep / 16 }, (_, kk) => tile.step(`k${kk}`,
    (x) => o.left('A', `aBase + ${x * 16 * shape.k + kk * 16}u`, `${shape.k}u`),
    (y) => o.right('B', `bBase + ${kk * 16 * shape.n + y * 16}u`, `${shape.n}u`)).join('\n    ')).join('\n    ');
  return `${header(emulate)}struct U { x: u32, p0: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> A: array<f16>;
@group(0) @binding(2) var<storage, read> B: array<f16>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;
@compute @workgroup_size(${threads}) fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let tileRow = w.x / ${shape.n / tn}u;
  let tileCol = w.x % ${shape.n / tn}u;
  let sg = t / 32u;
  let row0 = tileRow * ${tm}u + (sg / ${s.subgroupsN}u) * ${16 * s.lefts}u;
  let col0 = tileCol * ${tn}u + (sg % ${s.subgroupsN}u) * ${16 * s.rights}u;
  ${tile.declare}
  for (var step = 0u; step < u.x; step++) {
    let aBase = row0 * ${shape.k}u + step * ${s.kStep}u;
    let bBase = step * ${s.kStep * shape.n}u + col0;
    ${products}
  }
  let cBase = row0 * ${shape.n}u + col0;
  ${tile.stores('C', (x, y) => `cBase + ${x * 16 * shape.n + y * 16}u`, `${shape.n}u`)};
}
${emulate ? emulation(['A', 'B'], 'C') : ''}`;
}

/**
 * The gemm probe's WGSL for one shape (its sizes are constants; `u.x` = the K steps). A: [m, k] f16 row-major,
 * B: [k, n] f16 row-major, both bound as vec4<u32> (8 halves); C: [m, n] f32. Workgroup w owns tile
 * (w / (n / tn), w % (n / tn)).
 */
export function gemmWgsl(s: GemmSpec, shape: GemmShape, emulate = false): string {
  const { tm, tn, threads } = gemmTile(s);
  checkSpec(s.subgroupsM * s.subgroupsN <= 8 && s.lefts * s.rights <= 16, `at most 8 subgroups and 16 products a subgroup (got ${JSON.stringify(s)})`);
  checkSpec([16, 32, 64].includes(s.kStep) && (s.pad === 0 || s.pad === 8) && (s.stages === 1 || s.stages === 2) && !(s.oneBuffer && s.stages !== 2), `kStep 16 / 32 / 64, pad 0 / 8, stages 1 / 2, oneBuffer only with 2 stages (got ${JSON.stringify(s)})`);
  checkSpec((s.prefetch ?? 1) === 1 || (s.prefetch === 2 && s.oneBuffer === true && s.source !== 'storage'), `prefetch 2 only with oneBuffer (got ${JSON.stringify(s)})`);
  checkSpec(shape.m % tm === 0 && shape.n % tn === 0 && shape.k % s.kStep === 0, `shape ${shape.m} x ${shape.n} x ${shape.k} in whole ${tm} x ${tn} x ${s.kStep} tiles`);
  if (s.source === 'storage') return gemmStorageWgsl(s, shape, emulate);
  const o = ops(emulate), tile = subgroupTile(o, s.lefts, s.rights), sa = s.kStep + s.pad, sb = tn + s.pad;
  const aVec = (tm * s.kStep) / 8, bVec = (s.kStep * tn) / 8; // vec4<u32> a slab
  const per = Math.ceil((aVec + bVec) / threads);
  const aStage = tm * sa, bStage = s.kStep * sb;
  // Slot j of a thread is vec4 v = t + j * threads: A's vectors first (row v / (kStep / 8)), then B's.
  // A slab's loads into registers `r`0.. (`fetch`), and those registers into workgroup memory at `stage` (`put`).
  const loads = (r: string, at: string) => Array.from({ length: per }, (_, j) => `${r}${j} = fetch(t + ${j * threads}u, ${at});`).join(' ');
  const stores = (r: string, stage: string) => Array.from({ length: per }, (_, j) => `put(t + ${j * threads}u, ${r}${j}, ${stage});`).join(' ');
  const products = Array.from({ length: s.kStep / 16 }, (_, kk) => tile.step(`k${kk}`,
    (x) => o.left('sA', `aBase + ${(x * 16 * sa + kk * 16)}u`, `${sa}u`),
    (y) => o.right('sB', `bBase + ${(kk * 16 * sb + y * 16)}u`, `${sb}u`)).join('\n      ')).join('\n      ');
  const compute = (stage: string) => `{
      let aBase = ${stage} * ${aStage}u + (sgM * ${16 * s.lefts}u) * ${sa}u;
      let bBase = ${stage} * ${bStage}u + sgN * ${16 * s.rights}u;
      ${products}
    }`;
  // Two stages: the next slab's loads are issued before this one's products and stored after them, into the other
  // buffer (one barrier a step) or, with one buffer, into the same one once every subgroup is past its products.
  const [stage, next] = s.oneBuffer ? ['0u', '0u'] : ['(step % 2u)', '((step + 1u) % 2u)'];
  const loop = s.stages === 1
    ? `for (var step = 0u; step < u.x; step++) {
    ${loads('g', 'step')} ${stores('g', '0u')}
    workgroupBarrier();
    ${compute('0u')}
    workgroupBarrier();
  }`
    : `${loads('g', '0u')} ${stores('g', '0u')}
  workgroupBarrier();
  for (var step = 0u; step < u.x; step++) {
    let more = step + 1u < u.x;
    if (more) { ${loads('g', 'step + 1u')} }
    ${compute(stage)}
    ${s.oneBuffer ? 'workgroupBarrier();\n    ' : ''}if (more) { ${stores('g', next)} }
    workgroupBarrier();
  }`;
  // prefetch 2 (one buffer): registers g hold slab step + 1 and h slab step + 2 while slab step is multiplied; two steps
  // an iteration so the two sets alternate without copies.
  const deepLoop = `${loads('g', '0u')} ${stores('g', '0u')}
  workgroupBarrier();
  if (1u < u.x) { ${loads('g', '1u')} }
  for (var step = 0u; step < u.x; step += 2u) {
    if (step + 2u < u.x) { ${loads('h', 'step + 2u')} }
    ${compute('0u')}
    workgroupBarrier();
    if (step + 1u < u.x) {
      ${stores('g', '0u')}
      workgroupBarrier();
      if (step + 3u < u.x) { ${loads('g', 'step + 3u')} }
      ${compute('0u')}
      workgroupBarrier();
      if (step + 2u < u.x) { ${stores('h', '0u')} }
      workgroupBarrier();
    }
  }`;
  // A vec4<u32> of 8 halves into `arr` at `at`, one 16-bit store each (WGSL has no wider store into an f16 array).
  const unpack = (arr: string) => `let h0 = bitcast<vec2<f16>>(g.x); let h1 = bitcast<vec2<f16>>(g.y); let h2 = bitcast<vec2<f16>>(g.z); let h3 = bitcast<vec2<f16>>(g.w);
    ${arr}[at] = h0.x; ${arr}[at + 1u] = h0.y; ${arr}[at + 2u] = h1.x; ${arr}[at + 3u] = h1.y; ${arr}[at + 4u] = h2.x; ${arr}[at + 5u] = h2.y; ${arr}[at + 6u] = h3.x; ${arr}[at + 7u] = h3.y;`;
  return `${header(emulate)}struct U { x: u32, p0: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> A: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> B: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;
var<workgroup> sA: array<f16, ${(s.oneBuffer ? 1 : s.stages) * aStage}>;
var<workgroup> sB: array<f16, ${(s.oneBuffer ? 1 : s.stages) * bStage}>;
var<private> tileRow: u32;
var<private> tileCol: u32;
fn fetch(v: u32, step: u32) -> vec4<u32> {
  if (v < ${aVec}u) {
    let r = v / ${s.kStep / 8}u;
    return A[((tileRow * ${tm}u + r) * ${shape.k}u + step * ${s.kStep}u) / 8u + v % ${s.kStep / 8}u];
  }
  if (v < ${aVec + bVec}u) {
    let w = v - ${aVec}u;
    let r = w / ${tn / 8}u;
    return B[((step * ${s.kStep}u + r) * ${shape.n}u + tileCol * ${tn}u) / 8u + w % ${tn / 8}u];
  }
  return vec4<u32>();
}
fn put(v: u32, g: vec4<u32>, stage: u32) {
  var at: u32;
  if (v < ${aVec}u) {
    at = stage * ${aStage}u + (v / ${s.kStep / 8}u) * ${sa}u + (v % ${s.kStep / 8}u) * 8u;
    ${unpack('sA')}
  } else if (v < ${aVec + bVec}u) {
    let w = v - ${aVec}u;
    at = stage * ${bStage}u + (w / ${tn / 8}u) * ${sb}u + (w % ${tn / 8}u) * 8u;
    ${unpack('sB')}
  }
}
@compute @workgroup_size(${threads}) fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  tileRow = w.x / ${shape.n / tn}u;
  tileCol = w.x % ${shape.n / tn}u;
  let sg = t / 32u;
  let sgM = sg / ${s.subgroupsN}u;
  let sgN = sg % ${s.subgroupsN}u;
  ${Array.from({ length: per }, (_, j) => `var g${j}: vec4<u32>;`).join(' ')}${s.prefetch === 2 ? `\n  ${Array.from({ length: per }, (_, j) => `var h${j}: vec4<u32>;`).join(' ')}` : ''}
  ${tile.declare}
  ${s.prefetch === 2 ? deepLoop : loop}
  let cBase = (tileRow * ${tm}u + sgM * ${16 * s.lefts}u) * ${shape.n}u + tileCol * ${tn}u + sgN * ${16 * s.rights}u;
  ${tile.stores('C', (x, y) => `cBase + ${x * 16 * shape.n + y * 16}u`, `${shape.n}u`)};
}
${emulate ? emulation(['sA', 'sB'], 'C') : ''}`;
}

export function needMatrix(backend: WebGpuBackend, emulate: boolean): void {
  const c = backend.caps.subgroupMatrixF16;
  if (emulate) return;
  if (!c || c.m !== M || c.n !== M || c.k !== M) throw new FlashMlaError('backend_unavailable', 'WebGPU: the matrix probes need a 16x16x16 f16 subgroup-matrix configuration');
}

export interface SmemMacResult extends SmemMacSpec { ms: number; TFLOPS: number }

export async function measureSmemMac(backend: WebGpuBackend, s: SmemMacSpec, o: { iterations?: number; reps?: number; workgroupsPerSm?: number; emulate?: boolean } = {}): Promise<SmemMacResult> {
  const emulate = o.emulate ?? false;
  needMatrix(backend, emulate);
  const device = backend.device, iters = o.iterations ?? 2048, reps = o.reps ?? 7;
  const wgs = backend.info.numSms * (o.workgroupsPerSm ?? 8);
  const uni = device.createBuffer({ size: 16, usage: Usage.UNIFORM | Usage.COPY_DST });
  const sink = device.createBuffer({ size: wgs * s.subgroups * s.lefts * s.rights * 256 * 4, usage: Usage.STORAGE });
  try {
    device.queue.writeBuffer(uni, 0, new Uint32Array([iters, 0, 0, 0]));
    const p = await compile(device, smemMacWgsl(s, emulate), `probe.smem-mac.${s.subgroups}.${s.lefts}x${s.rights}.${s.stride}`);
    const g = device.createBindGroup({ layout: p.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: uni } }, { binding: 1, resource: { buffer: sink } }] });
    const ms = await timeDispatch(device, p, g, wgs, reps, clockWarmMs(backend));
    return { ...s, ms, TFLOPS: (wgs * s.subgroups * iters * s.lefts * s.rights * 2 * M ** 3) / ms / 1e9 };
  } finally {
    uni.destroy(); sink.destroy();
  }
}

/** The gemm probe's inputs: small integers (exact in f16, every sum exact in f32 for k <= 2^20 / 4). */
export const gemmA = (i: number, k: number): number => ((i * 7 + k * 3) % 5) - 2;
export const gemmB = (k: number, j: number): number => ((k * 5 + j * 11 + 1) % 5) - 2;

let lastInputs: { key: string; hA: Uint16Array<ArrayBuffer>; hB: Uint16Array<ArrayBuffer> } | undefined;
/** A and B as f16 bits (the last shape's kept: a sweep of specs over one shape converts them once). */
function gemmInputs(shape: GemmShape): { hA: Uint16Array<ArrayBuffer>; hB: Uint16Array<ArrayBuffer> } {
  const key = `${shape.m}x${shape.n}x${shape.k}`;
  if (lastInputs?.key !== key) {
    const hA = new Uint16Array(shape.m * shape.k), hB = new Uint16Array(shape.k * shape.n);
    const h = [-2, -1, 0, 1, 2].map(f32ToF16);
    for (let i = 0; i < shape.m; i++) for (let k = 0; k < shape.k; k++) hA[i * shape.k + k] = h[gemmA(i, k) + 2];
    for (let k = 0; k < shape.k; k++) for (let j = 0; j < shape.n; j++) hB[k * shape.n + j] = h[gemmB(k, j) + 2];
    lastInputs = { key, hA, hB };
  }
  return lastInputs;
}

export interface GemmOptions {
  reps?: number;
  /** Elements of C checked besides its four corners (default 256). */
  samples?: number;
  emulate?: boolean;
  /** Tests only: rewrite the WGSL before it is compiled (a mutant must fail the check). */
  edit?: (code: string) => string;
}

export interface GemmResult extends GemmSpec { shape: GemmShape; tile: string; ms: number; TFLOPS: number; checked: number; maxAbsErr: number; ok: boolean }

/** Time C = A B for one spec and check `samples` elements of C (plus its corners) against the host's exact sums. */
export async function measureGemm(backend: WebGpuBackend, s: GemmSpec, shape: GemmShape, o: GemmOptions = {}): Promise<GemmResult> {
  const emulate = o.emulate ?? false;
  needMatrix(backend, emulate);
  const { tm, tn, sharedBytes } = gemmTile(s);
  checkSpec(sharedBytes <= backend.caps.maxComputeWorkgroupStorageSize, `${sharedBytes} B of workgroup memory, the device allows ${backend.caps.maxComputeWorkgroupStorageSize}`);
  const code = (o.edit ?? ((x: string) => x))(gemmWgsl(s, shape, emulate));
  const device = backend.device, reps = o.reps ?? 7;
  const { hA, hB } = gemmInputs(shape);
  const uni = device.createBuffer({ size: 16, usage: Usage.UNIFORM | Usage.COPY_DST });
  const a = device.createBuffer({ size: hA.byteLength, usage: Usage.STORAGE | Usage.COPY_DST });
  const b = device.createBuffer({ size: hB.byteLength, usage: Usage.STORAGE | Usage.COPY_DST });
  const c = device.createBuffer({ size: shape.m * shape.n * 4, usage: Usage.STORAGE | Usage.COPY_SRC | Usage.COPY_DST });
  const read = device.createBuffer({ size: shape.m * shape.n * 4, usage: Usage.MAP_READ | Usage.COPY_DST });
  try {
    device.queue.writeBuffer(uni, 0, new Uint32Array([shape.k / s.kStep, 0, 0, 0]));
    device.queue.writeBuffer(a, 0, hA);
    device.queue.writeBuffer(b, 0, hB);
    const label = `probe.gemm.${s.subgroupsM}x${s.subgroupsN}.${s.lefts}x${s.rights}.k${s.kStep}.p${s.pad}.s${s.stages}${s.oneBuffer ? 'b1' : ''}${s.prefetch === 2 ? 'd2' : ''}.${s.source ?? 'workgroup'}`;
    const p = await compile(device, code, label);
    const g = device.createBindGroup({ layout: p.getBindGroupLayout(0), entries: [uni, a, b, c].map((buffer, binding) => ({ binding, resource: { buffer } })) });
    // Poison C (NaN), so an element no workgroup writes fails the check.
    device.queue.writeBuffer(c, 0, new Float32Array(shape.m * shape.n).fill(Number.NaN));
    const wgs = (shape.m / tm) * (shape.n / tn);
    const ms = await timeDispatch(device, p, g, wgs, reps, clockWarmMs(backend));
    const e = device.createCommandEncoder();
    e.copyBufferToBuffer(c, 0, read, 0, shape.m * shape.n * 4);
    device.queue.submit([e.finish()]);
    await read.mapAsync(1);
    const got = new Float32Array(read.getMappedRange().slice(0));
    read.unmap();
    const picks: [number, number][] = [[0, 0], [shape.m - 1, shape.n - 1], [0, shape.n - 1], [shape.m - 1, 0]];
    let seed = 12345;
    const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) >>> 0; return seed % n; };
    for (let i = 0; i < (o.samples ?? 256); i++) picks.push([rnd(shape.m), rnd(shape.n)]);
    let err = 0;
    for (const [i, j] of picks) {
      let sum = 0;
      for (let k = 0; k < shape.k; k++) sum += gemmA(i, k) * gemmB(k, j);
      const d = Math.abs(got[i * shape.n + j] - sum);
      err = Number.isNaN(d) ? Infinity : Math.max(err, d);
    }
    return { ...s, shape, tile: `${tm}x${tn}x${s.kStep}`, ms, TFLOPS: (2 * shape.m * shape.n * shape.k) / ms / 1e9, checked: picks.length, maxAbsErr: err, ok: err === 0 };
  } finally {
    uni.destroy(); a.destroy(); b.destroy(); c.destroy(); read.destroy();
  }
}
