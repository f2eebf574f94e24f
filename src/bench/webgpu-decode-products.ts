// The products of a 64-row WebGPU decode, without its softmax: the bound on a v7 kernel before it is written
// (docs/notes/webgpu-matrix-gemm.md, "What is next for issue #13"). One workgroup of 8 subgroups takes 64 (32, 16) query
// rows of one request and walks its keys in tiles of `keyTile`, as the decode would:
//   1. the tile's keys, bf16 [keyTile, dQk] from storage, converted to f16 in workgroup memory (sK, rows padded by
//      8 halves), the next tile's loads in registers while this one is used;
//   2. Sᵀ = K Qᵀ on subgroup matrices: each subgroup one 16 keys x 16 rows block over its share of the dQk / 16
//      k-steps (two subgroups share a block when keyTile is 16), Qᵀ [dQk, 64] f16 loaded from storage every tile
//      or held in registers for the whole walk;
//   3. Sᵀ stored f32 to workgroup memory, then P = f16(S / 64) written by every lane into the RoPE columns of sK
//      (V is the first dV columns, so those are free once the scores are done; 64 rows x keyTile halves fit there);
//   4. O += P V with O (rows x dV f32) in result matrices, 16 a subgroup at 64 rows, stored once at the end.
// With Q, K in {-1, 0, 1} every score, P and sum is exact, so the host checks sampled elements of O exactly.
// `only` drops a phase to see what each costs (no check then). `emulate` runs it without the feature (tests).
// Browser-safe: no Node imports.
import { Usage, type WebGpuBackend } from '../backends/webgpu/backend.js';
import { FlashMlaError } from '../core/errors.js';
import { clockWarmMs, timeDispatch } from './webgpu-ceilings.js';
import { compile, readF32 } from './webgpu-ceilings-matrix.js';
import { checkSpec, emulation, header, needMatrix, ops } from './webgpu-matrix-gemm.js';

export interface DecodeProductSpec {
  /** Keys a workgroup converts and multiplies between two barriers (16 or 32). */
  keyTile: 16 | 32;
  /** Where each subgroup's Qᵀ matrices come from: loaded from storage every tile, or held in registers. */
  q: 'storage' | 'registers';
  /** PV: subgroups along O's rows (1, 2 or 4); the other 8 / pvRows split its dV columns. */
  pvRows: 1 | 2 | 4;
  /** Query rows a workgroup (default 64; 32 halves O's registers, so two workgroups can share an SM; 16, the
   *  memory-bound decode's rows a KV head, takes 32-key tiles only: 16-key tiles would split 36 k-steps 8 ways). */
  rows?: 16 | 32 | 64;
  /** Measurement only: run the score phase alone ('qk': Sᵀ stored, no P, no PV) or the PV phase alone ('pv'). */
  only?: 'qk' | 'pv';
  /** Independent Sᵀ accumulators a subgroup (default 1): k-step i adds into chain i % chains, and each chain is stored
   *  as a partial of its own that the conversion sums, so a subgroup's score products form `chains` dependency chains
   *  instead of one (session 63: 18-36 dependent products a tile, one after another). */
  chains?: 1 | 2 | 3 | 4;
}

export interface DecodeProductShape {
  /** Requests (one per 64-row group set; default the device's SM count). */
  requests: number;
  /** 64-row groups a request (the decode's hQ·sQ / 64). */
  groups: number;
  /** Keys a request, a multiple of keyTile. */
  keys: number;
  /** Value columns (the decode's 512; tests use fewer). dQk is dV + 64. */
  dV?: number;
}

const THREADS = 256, SUBGROUPS = 8, ROPE = 64;

/** Sizes the WGSL and the host derive from one spec and shape. */
export function decodeProductLayout(s: DecodeProductSpec, shape: Pick<DecodeProductShape, 'dV'>) {
  const dV = shape.dV ?? 512, dQk = dV + ROPE, ks = dQk + 8, rows = s.rows ?? 64, ss = rows + 4; // Sᵀ rows: 16 bytes of bank skew a key
  const keyBlocks = s.keyTile / 16, outs = keyBlocks * (rows / 16), kParts = SUBGROUPS / outs, steps = dQk / 16 / kParts;
  const chains = s.chains ?? 1, partials = kParts * chains;
  // The code reads Qᵀ from storage unless it is the PV phase alone with Qᵀ loaded every tile ('auto' layouts then lack binding 2).
  const readsQt = s.q === 'registers' || s.only !== 'pv';
  const pvCols = SUBGROUPS / s.pvRows, lefts = rows / 16 / s.pvRows, rights = dV / 16 / pvCols;
  const sharedBytes = 2 * s.keyTile * ks + 4 * partials * s.keyTile * ss;
  return { dV, dQk, ks, rows, ss, keyBlocks, outs, kParts, steps, chains, partials, readsQt, pvCols, lefts, rights, sharedBytes };
}

function check(s: DecodeProductSpec, shape: Pick<DecodeProductShape, 'dV'>): ReturnType<typeof decodeProductLayout> {
  checkSpec((s.keyTile === 16 || s.keyTile === 32) && (s.q === 'storage' || s.q === 'registers') && [1, 2, 4].includes(s.pvRows) && (s.rows === undefined || s.rows === 16 || s.rows === 32 || s.rows === 64) && (s.only === undefined || s.only === 'qk' || s.only === 'pv') && (s.chains === undefined || [1, 2, 3, 4].includes(s.chains)), `decode products: keyTile 16 / 32, q storage / registers, pvRows 1 / 2 / 4, rows 16 / 32 / 64, chains 1-4 (got ${JSON.stringify(s)})`);
  const l = decodeProductLayout(s, shape);
  checkSpec(Number.isInteger(l.steps), `decode products: ${l.dQk / 16} k-steps over ${l.kParts} subgroups a score block`);
  checkSpec(Number.isInteger(l.rights) && l.rights >= 1 && Number.isInteger(l.lefts) && l.lefts >= 1 && l.lefts * l.rights <= 16, `decode products: dV ${l.dV} in 16-column blocks over ${l.pvCols} subgroups, at most 16 products a subgroup`);
  checkSpec(l.chains <= l.steps, `decode products: ${l.chains} chains over ${l.steps} k-steps a subgroup`);
  return l;
}

/** The probe's WGSL. Bindings: u (tiles), K [requests, keys, dQk] bf16 as vec4<u32>, Qt [workgroups, dQk, 64] f16, O [workgroups, 64, dV] f32. */
export function decodeProductWgsl(s: DecodeProductSpec, shape: DecodeProductShape, emulate = false): string {
  const l = check(s, shape);
  const o = ops(emulate), kt = s.keyTile, d8 = l.dQk / 8, vecs = kt * d8, per = Math.ceil(vecs / THREADS);
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  const loads = range(per).map((j) => `g${j} = fetch(t + ${j * THREADS}u, kb0);`).join(' ');
  const puts = range(per).map((j) => `put(t + ${j * THREADS}u, g${j});`).join(' ');
  // Right operand of k-step i of this subgroup: Qᵀ rows 16 (kPart * steps + i).., columns rb * 16..
  const qRight = (i: number) => o.right('Qt', `qBase + (kPart * ${l.steps}u + ${i}u) * ${16 * l.rows}u`, `${l.rows}u`);
  const qRegs = s.q === 'registers' ? range(l.steps).map((i) => `let qm${i} = ${qRight(i)};`).join('\n  ') : '';
  const scores = range(l.steps).map((i) => `sc${i % l.chains} = ${o.mac(o.left('sK', `kRow + (kPart * ${l.steps}u + ${i}u) * 16u`, `${l.ks}u`), s.q === 'registers' ? `qm${i}` : qRight(i), `sc${i % l.chains}`)};`).join('\n      ');
  // Partial (kPart, chain) of Sᵀ sits at index kPart * chains + chain of sS.
  const scoreStores = range(l.chains).map((c) => o.store('sS', `(kPart * ${l.chains}u + ${c}u) * ${kt * l.ss}u + kb * ${16 * l.ss}u + rb * 16u`, `sc${c}`, `${l.ss}u`)).join(';\n      ');
  // P's row r lives in sK row r % keyTile, columns dV + (r / keyTile) * keyTile..; a 16-row block stays in one slot.
  const pAt = (r: string, k: string) => `(${r} % ${kt}u) * ${l.ks}u + ${l.dV}u + (${r} / ${kt}u) * ${kt}u + ${k}`;
  const pv = range(kt / 16).map((kk) => [
    ...range(l.lefts).map((x) => `let p${x}k${kk} = ${o.left('sK', pAt(`(pvM * ${16 * l.lefts}u + ${16 * x}u)`, `${16 * kk}u`), `${l.ks}u`)};`),
    ...range(l.rights).map((y) => `let v${y}k${kk} = ${o.right('sK', `${16 * kk * l.ks}u + pvN * ${16 * l.rights}u + ${16 * y}u`, `${l.ks}u`)};`),
    ...range(l.lefts).flatMap((x) => range(l.rights).map((y) => `c${x}_${y} = ${o.mac(`p${x}k${kk}`, `v${y}k${kk}`, `c${x}_${y}`)};`)),
  ].join(' ')).join('\n      ');
  const convert = range((l.rows * kt) / THREADS).map((j) => `{ let e = t + ${j * THREADS}u; let r = e % ${l.rows}u; let k = e / ${l.rows}u;
        let sum = ${range(l.partials).map((p) => `sS[${p * kt * l.ss}u + k * ${l.ss}u + r]`).join(' + ')};
        sK[${pAt('r', 'k')}] = f16(sum * 0.015625); }`).join('\n      ');
  const cvt = (w: string, hi: boolean) => `f16(bitcast<f32>(${hi ? `${w} & 0xffff0000u` : `${w} << 16u`}))`;
  const acc = range(l.lefts).flatMap((x) => range(l.rights).map((y) => [x, y] as const));
  return `${header(emulate)}struct U { tiles: u32, p0: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> K: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> Qt: array<f16>;
@group(0) @binding(3) var<storage, read_write> O: array<f32>;
var<workgroup> sK: array<f16, ${kt * l.ks}>;
var<workgroup> sS: array<f32, ${l.partials * kt * l.ss}>;
fn fetch(v: u32, kb0: u32) -> vec4<u32> {
  if (v < ${vecs}u) { return K[(kb0 + v / ${d8}u) * ${d8}u + v % ${d8}u]; }
  return vec4<u32>();
}
fn put(v: u32, g: vec4<u32>) {
  if (v < ${vecs}u) {
    let at = (v / ${d8}u) * ${l.ks}u + (v % ${d8}u) * 8u;
    sK[at] = ${cvt('g.x', false)}; sK[at + 1u] = ${cvt('g.x', true)}; sK[at + 2u] = ${cvt('g.y', false)}; sK[at + 3u] = ${cvt('g.y', true)};
    sK[at + 4u] = ${cvt('g.z', false)}; sK[at + 5u] = ${cvt('g.z', true)}; sK[at + 6u] = ${cvt('g.w', false)}; sK[at + 7u] = ${cvt('g.w', true)};
  }
}
@compute @workgroup_size(${THREADS}) fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let w = wid.x;
  let keyBase = (w / ${shape.groups}u) * ${shape.keys}u;
  let sg = t / 32u;
  let so = sg % ${l.outs}u; let kPart = sg / ${l.outs}u;
  let kb = so % ${l.keyBlocks}u; let rb = so / ${l.keyBlocks}u;
  let kRow = kb * ${16 * l.ks}u;
  let qBase = w * ${l.dQk * l.rows}u + rb * 16u;
  let pvM = sg / ${l.pvCols}u; let pvN = sg % ${l.pvCols}u;
  ${qRegs}
  ${acc.map(([x, y]) => `var c${x}_${y} = ${o.zero};`).join(' ')}
  ${range(per).map((j) => `var g${j}: vec4<u32>;`).join(' ')}
  var kb0 = keyBase;
  ${loads} ${puts}
  workgroupBarrier();
  for (var tile = 0u; tile < u.tiles; tile++) {
    let more = tile + 1u < u.tiles;
    kb0 = keyBase + (tile + 1u) * ${kt}u;
    if (more) { ${loads} }
    ${s.only === 'pv' ? '' : `{
      ${range(l.chains).map((c) => `var sc${c} = ${o.zero};`).join(' ')}
      ${scores}
      ${scoreStores};
    }
    workgroupBarrier();`}
    ${s.only === 'qk' ? '' : `${convert}
    workgroupBarrier();
    {
      ${pv}
    }
    workgroupBarrier();`}
    if (more) { ${puts} workgroupBarrier(); }
  }
  let oBase = w * ${l.rows * l.dV}u + pvM * ${16 * l.lefts * l.dV}u + pvN * ${16 * l.rights}u;
  ${acc.map(([x, y]) => o.store('O', `oBase + ${x * 16 * l.dV + y * 16}u`, `c${x}_${y}`, `${l.dV}u`)).join(';\n  ')};
}
${emulate ? emulation(['sK', 'Qt'], ['sS', 'O']) : ''}`;
}

/** The probe's inputs in {-1, 0, 1}: q of (workgroup, row, dim), k of (request, key, dim). */
const tern = (a: number, b: number, c: number): number => (((Math.imul(a + 1, 73856093) ^ Math.imul(b + 7, 19349663) ^ Math.imul(c + 3, 83492791)) >>> 0) % 3) - 1;
export const productQ = (w: number, r: number, d: number): number => tern(w, r, d + 1000);
export const productK = (req: number, key: number, d: number): number => tern(req + 5000, key, d);

export interface DecodeProductResult extends DecodeProductSpec {
  shape: Required<DecodeProductShape>;
  ms: number;
  /** 2 x rows x keys x (dQk + dV) a workgroup: the decode's product flops. */
  TFLOPS: number;
  sharedBytes: number;
  checked: number;
  maxAbsErr: number;
  ok: boolean;
}

/** Time the probe over `shape` and (unless `only`) check `samples` elements of O, its first and last, exactly. */
export async function measureDecodeProducts(backend: WebGpuBackend, s: DecodeProductSpec, shapeIn: DecodeProductShape, o: { reps?: number; samples?: number; emulate?: boolean; edit?: (code: string) => string } = {}): Promise<DecodeProductResult> {
  const emulate = o.emulate ?? false;
  needMatrix(backend, emulate);
  const l = check(s, shapeIn);
  const shape = { ...shapeIn, dV: l.dV };
  checkSpec(Number.isInteger(shape.requests) && shape.requests >= 1 && Number.isInteger(shape.groups) && shape.groups >= 1 && shape.keys >= s.keyTile && shape.keys % s.keyTile === 0, `decode products: shape ${JSON.stringify(shapeIn)} (keys a positive multiple of ${s.keyTile})`);
  checkSpec(l.sharedBytes <= backend.caps.maxComputeWorkgroupStorageSize, `${l.sharedBytes} B of workgroup memory, the device allows ${backend.caps.maxComputeWorkgroupStorageSize}`);
  const wgs = shape.requests * shape.groups;
  const kBytes = shape.requests * shape.keys * l.dQk * 2, qBytes = wgs * l.dQk * l.rows * 2, oBytes = wgs * l.rows * l.dV * 4;
  const maxBind = Math.min(backend.caps.maxStorageBufferBindingSize, backend.caps.maxBufferSize);
  checkSpec(Math.max(kBytes, oBytes) <= maxBind, `decode products: ${Math.max(kBytes, oBytes)} B a buffer, the device binds at most ${maxBind}`);
  const code = (o.edit ?? ((x: string) => x))(decodeProductWgsl(s, shape, emulate));
  const device = backend.device, bits = [0xbf80, 0, 0x3f80], halves = [0xbc00, 0, 0x3c00];
  const hK = new Uint16Array(kBytes / 2), hQ = new Uint16Array(qBytes / 2);
  for (let req = 0, i = 0; req < shape.requests; req++) for (let key = 0; key < shape.keys; key++) for (let d = 0; d < l.dQk; d++) hK[i++] = bits[productK(req, key, d) + 1];
  for (let w = 0, i = 0; w < wgs; w++) for (let d = 0; d < l.dQk; d++) for (let r = 0; r < l.rows; r++) hQ[i++] = halves[productQ(w, r, d) + 1];
  const uni = device.createBuffer({ size: 16, usage: Usage.UNIFORM | Usage.COPY_DST });
  const k = device.createBuffer({ size: kBytes, usage: Usage.STORAGE | Usage.COPY_DST });
  const q = device.createBuffer({ size: qBytes, usage: Usage.STORAGE | Usage.COPY_DST });
  const out = device.createBuffer({ size: oBytes, usage: Usage.STORAGE | Usage.COPY_SRC | Usage.COPY_DST });
  try {
    device.queue.writeBuffer(uni, 0, new Uint32Array([shape.keys / s.keyTile, 0, 0, 0]));
    device.queue.writeBuffer(k, 0, hK);
    device.queue.writeBuffer(q, 0, hQ);
    device.queue.writeBuffer(out, 0, new Float32Array(oBytes / 4).fill(Number.NaN)); // an element no store reaches fails the check
    const label = `probe.decode-products.rows${l.rows}.t${s.keyTile}.${s.q}.r${s.pvRows}${s.only ? `.${s.only}` : ''}`;
    const p = await compile(device, code, label);
    // 'auto' layouts hold only the bindings the code uses
    const used = l.readsQt ? [0, 1, 2, 3] : [0, 1, 3], buffers = [uni, k, q, out];
    let ms = 0, bad: GPUError | null = null;
    device.pushErrorScope('validation');
    try {
      const g = device.createBindGroup({ layout: p.getBindGroupLayout(0), entries: used.map((binding) => ({ binding, resource: { buffer: buffers[binding] } })) });
      ms = await timeDispatch(device, p, g, wgs, o.reps ?? 7, clockWarmMs(backend));
    } finally {
      bad = await device.popErrorScope(); // popped also when timing throws, so the scope never outlives the call
    }
    if (bad) throw new FlashMlaError('driver_error', `${label}: ${bad.message.split('\n')[0]}`);
    if (!(ms > 0)) throw new FlashMlaError('driver_error', `${label}: timed ${ms} ms`);
    const got = await readF32(device, out, oBytes);
    let err = 0, checked = 0;
    if (!s.only) {
      const picks: [number, number, number][] = [[0, 0, 0], [wgs - 1, l.rows - 1, l.dV - 1]];
      let seed = 777;
      const rnd = (n: number) => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed % n; };
      for (let i = 0; i < (o.samples ?? 64); i++) picks.push([rnd(wgs), rnd(l.rows), rnd(l.dV)]);
      for (const [w, r, c] of picks) {
        const req = Math.floor(w / shape.groups);
        const qRow = Array.from({ length: l.dQk }, (_, d) => productQ(w, r, d));
        let sum = 0;
        for (let key = 0; key < shape.keys; key++) {
          const v = productK(req, key, c);
          if (v === 0) continue;
          let sc = 0;
          for (let d = 0; d < l.dQk; d++) sc += qRow[d] * productK(req, key, d);
          sum += (sc / 64) * v;
        }
        const dlt = Math.abs(got[(w * l.rows + r) * l.dV + c] - sum);
        err = Number.isNaN(dlt) ? Infinity : Math.max(err, dlt);
      }
      checked = picks.length;
    }
    const flops = 2 * l.rows * shape.keys * (l.dQk + l.dV) * wgs;
    return { ...s, shape, ms, TFLOPS: flops / ms / 1e9, sharedBytes: l.sharedBytes, checked, maxAbsErr: err, ok: !s.only && err === 0 };
  } finally {
    uni.destroy(); k.destroy(); q.destroy(); out.destroy();
  }
}
