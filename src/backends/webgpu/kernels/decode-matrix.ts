// Split-KV MLA decode with QKᵀ and PV on subgroup matrices (chromium_experimental_subgroup_matrix: f16 operands,
// f32 accumulators). Same bindings, params, schedule and split-KV accumulators as kernels/decode.ts, so the combine
// kernel is shared. Design, constraints and roofline: docs/notes/webgpu-tensor-core.md and
// docs/notes/webgpu-matrix-kernel.md. Selected only when forced (decodePath 'matrix'): correct on the H200, slower
// than the f32 kernel there.
//
// One subgroup (32 lanes) per workgroup, so every matrix load and store has a workgroup-uniform offset (Dawn
// rejects offsets derived from the subgroup index); one workgroup per (SM part, KV head, 16 query rows, 1/vSplit
// of dV). O (16 x 512/vSplit f32) lives in workgroup memory, not in result matrices (32 of those would be 256
// registers a lane). Per 64-key tile, QK streams 18 chunks of 32 columns: the chunk of q (16 x 32) and of k
// (64 x 32) is converted to f16 in workgroup memory, then multiplied; the next chunk's words are loaded into
// registers (lane t: keys t and t + 32, 8 vec4) before the product, so the loads overlap it. PV converts a chunk of
// 64 keys x 32 columns from 8 vec4 loads a lane (v2; v1 loaded a vec4 per key and column to keep one word). Workgroup
// memory: q chunk 1 KiB + cache chunk 4 KiB + a 16 x 64 f32 scratch 4 KiB + P 2 KiB + O 32 / vSplit KiB + row state
// and key indices 0.9 KiB: 43.9 KiB with vSplit 1 (the H200's 48 KiB), 27.9 KiB with vSplit 2 (lavapipe's 32 KiB;
// each half recomputes QK).
//
// Range: bf16 values outside f16's range are kept by power-of-two scales chosen where the contraction allows a
// factor out of the product: q per (row, 32-column chunk), k per (key, 32-column chunk), v per (column, 64-key tile).
// Each scale puts the largest finite magnitude of its block in [1, 2); values within 2^14 of it convert exactly
// (bf16 has 8 significant bits, f16 11), smaller ones lose bits below 2^-24 of the block's largest. Every chunk's
// product goes into a fresh f32 result, stored, then added into the scores (registers) times qScale * kScale, or
// into O times vScale; the softmax rescale of O happens in the same pass. f16 products are exact in the f32
// accumulators; P rounds to f16 (FlashMLA rounds it to bf16).
// NaN: a block holding a NaN gets a NaN scale, so a NaN in q or in a key makes exactly the scores it touches NaN; a
// row whose visible score is NaN ends with NaN out and lse; NaN in V is zeroed (rows that see the key are NaN
// through their score, rows that do not must stay finite), as in kernels/decode-f16.ts.
//
// `emulate` replaces the three subgroup-matrix builtins by scalar code with the same memory contract (operands read
// from workgroup memory, the result written to the scratch before the same barrier), so everything around the
// products (addressing, conversion, scales, masks, softmax, split-KV writes) runs and is tested on any adapter with
// shader-f16 (lavapipe in CI: test/long/webgpu-matrix-emu.test.ts). It is not a path a user selects.
import type { HalfDType } from '../../../core/dtype.js';
import { metadataWgsl } from '../../../core/constants.js';
import { FlashMlaError } from '../../../core/errors.js';
import type { MlaProblem } from '../../../core/problem.js';
import type { DeviceCaps, Dispatch, Program } from '../program.js';
import { type SubgroupMatrixF16, matrixConfigUsable } from './path.js';
import { decodeBindingsWgsl, itemLoopHead, metaRowLets, packWgsl, segmentLoader } from './decode.js';

export const matrixRows = 16; // query rows per workgroup (one M tile)
export const matrixLanes = 32; // one subgroup per workgroup
const nT = 64; // keys per tile
const cw = 32; // cache columns per chunk
const qkChunks = 576 / cw;

export interface DecodeMatrixSpec {
  dtype: HalfDType;
  /** Cache bindings. */
  segs: number;
  /** The device's float configuration (m must be 16; n and k divide 32). Ignored by emulate. */
  config: SubgroupMatrixF16;
  /** Scalar stand-ins for the matrix builtins (tests on adapters without subgroup matrices). */
  emulate: boolean;
  /** Workgroups per 16-row tile, each owning 512 / vSplit columns of O (and each computing QK): 1 or 2. */
  vSplit: 1 | 2;
}

export function decodeMatrixDispatch(p: Pick<MlaProblem, 'numSmParts' | 'hKv' | 'sQ' | 'nGroups'>, s: DecodeMatrixSpec): Dispatch {
  return [p.numSmParts, p.hKv, Math.ceil((p.sQ * p.nGroups) / matrixRows) * s.vSplit];
}

/** Bytes of workgroup memory the kernel declares, array by array as the WGSL does. */
export function decodeMatrixSharedBytes(vSplit: number): number {
  return 2 * (matrixRows * cw) + 2 * (nT * cw) + 4 * (matrixRows * nT) + 2 * (matrixRows * nT) + 4 * ((matrixRows * 512) / vSplit)
    + 4 * matrixRows + 4 * 2 * nT + 4 * 5 * matrixRows;
}

/**
 * The specialisation for a problem on a device (the path choice already checked the configuration): the whole of
 * O in one workgroup where its memory allows, else halves; `vSplit` forces one (benchmarks, tests).
 */
export function decodeMatrixSpec(p: Pick<MlaProblem, 'dtype'>, caps: DeviceCaps, segs: number, emulate: boolean, vSplit?: 1 | 2): DecodeMatrixSpec {
  const limit = caps.maxComputeWorkgroupStorageSize;
  const v = vSplit ?? (decodeMatrixSharedBytes(1) <= limit ? 1 : 2);
  if (decodeMatrixSharedBytes(v) > limit) {
    throw new FlashMlaError('backend_unavailable', `decodePath matrix: the kernel (vSplit ${v}) needs ${decodeMatrixSharedBytes(v)} B of workgroup memory, the device allows ${limit}`,
      'decodePath', `maxComputeWorkgroupStorageSize >= ${decodeMatrixSharedBytes(v)}`, String(limit));
  }
  const config = caps.subgroupMatrixF16 ?? { m: 16, n: 16, k: 16, result: 'f32' as const };
  return { dtype: p.dtype, segs, config, emulate, vSplit: v };
}

/** WGSL unpack2: one u32 of two bf16 / f16 values as vec2<f32> (also kernels/decode-matrix4.ts). */
/**
 * The matrix kernels' WGSL helpers for NaN tests and power-of-two block scales: isNan, qNan (from the uniform's +inf
 * bits), the clamped biased exponent of a block's largest finite magnitude and its two scale factors, and the vec4
 * forms.
 */
export const scaleHelpersWgsl = `fn isNan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn qNan() -> f32 { return bitcast<f32>(u.posInfBits | 0x400000u); }
// Largest finite magnitude's biased exponent, clamped so both 2^(127-e) and 2^(e-127) are normal f32.
fn expOf(maxBits: u32) -> u32 { return clamp(maxBits >> 23u, 1u, 253u); }
fn downOf(e: u32) -> f32 { return bitcast<f32>((254u - e) << 23u); }
fn upOf(e: u32) -> f32 { return bitcast<f32>(e << 23u); }
fn isNan4(v: vec4<f32>) -> vec4<bool> { return (bitcast<vec4<u32>>(v) & vec4<u32>(0x7fffffffu)) > vec4<u32>(0x7f800000u); }
fn finiteBits4(v: vec4<f32>) -> vec4<u32> { let b = bitcast<vec4<u32>>(v) & vec4<u32>(0x7fffffffu); return select(vec4<u32>(0u), b, b < vec4<u32>(0x7f800000u)); }`;

export function unpackWgsl(dtype: HalfDType): string {
  return dtype === 'bf16'
    ? `fn unpack2(w: u32) -> vec2<f32> { return vec2<f32>(bitcast<f32>(w << 16u), bitcast<f32>(w & 0xffff0000u)); }`
    : `fn unpack2(w: u32) -> vec2<f32> { return unpack2x16float(w); }`;
}

/**
 * Sc[16 x nOut] (row stride nOut) = A[16 x kLen] B[kLen x nOut]: A row-major in `a` at `aOff` (stride aStride), B
 * row-major in `b` from element 0 (stride bStride); f16 operands, f32 results. `aOff` may be a uniform expression.
 */
function product(s: DecodeMatrixSpec, a: string, aOff: string, aStride: number, b: string, bStride: number, kLen: number, nOut: number): string {
  if (s.emulate) {
    return `for (var e = t; e < ${matrixRows * nOut}u; e += ${matrixLanes}u) {
     let r = e / ${nOut}u; let j = e % ${nOut}u;
     var x = 0.0;
     for (var i = 0u; i < ${kLen}u; i++) { x = fma(f32(${a}[${aOff} + r * ${aStride}u + i]), f32(${b}[i * ${bStride}u + j]), x); }
     Sc[e] = x;
    }`;
  }
  const { n, k } = s.config;
  const left = `subgroup_matrix_left<f16, ${k}, ${matrixRows}>`;
  const right = `subgroup_matrix_right<f16, ${n}, ${k}>`;
  const result = `subgroup_matrix_result<f32, ${n}, ${matrixRows}>`;
  const lines: string[] = [];
  for (let kk = 0; kk < kLen / k; kk++) lines.push(`let a${kk} = subgroupMatrixLoad<${left}>(&${a}, ${aOff} + ${kk * k}u, false, ${aStride}u);`);
  for (let nb = 0; nb < nOut / n; nb++) {
    const steps = Array.from({ length: kLen / k }, (_, kk) =>
      `mc = subgroupMatrixMultiplyAccumulate(a${kk}, subgroupMatrixLoad<${right}>(&${b}, ${kk * k * bStride + nb * n}u, false, ${bStride}u), mc);`);
    lines.push(`{ var mc = ${result}(); ${steps.join(' ')} subgroupMatrixStore(&Sc, ${nb * n}u, mc, false, ${nOut}u); }`);
  }
  return lines.join('\n    ');
}

/** WGSL: load the 32-column chunk `c` of this lane's two keys (keys of a NONE segment stay zero) and of its q row. */
function loadChunk(c: string): string {
  return `if (sgA != NONE) { ${[0, 1, 2, 3].map((i) => `ka${i} = loadK(sgA, rowA + (${c}) * 4u + ${i}u);`).join(' ')} }
     if (sgB != NONE) { ${[0, 1, 2, 3].map((i) => `kb${i} = loadK(sgB, rowB + (${c}) * 4u + ${i}u);`).join(' ')} }
     if (qValid) { ${[0, 1, 2, 3].map((i) => `qw${i} = q[qBase + (${c}) * 4u + ${i}u];`).join(' ')} }`;
}

/**
 * WGSL, straight-line: the 32 values of four vec4<u32> words `w0..w3` as eight vec4<f32> (x0..x7), scaled by the
 * power of two that puts their largest finite magnitude in [1, 2), rounded to f16 and handed to `store(i, h)`
 * (h the i-th vec4<f16>); `scale` gets the inverse factor, NaN when a value is NaN. No private arrays: an array
 * indexed in a loop may live in local memory.
 */
function convert32(w: string[], store: (i: number, h: string) => string, scale: string): string {
  const r = [0, 1, 2, 3, 4, 5, 6, 7];
  const half = (i: number) => `${w[i >> 1]}.${i & 1 ? 'zw' : 'xy'}`;
  return `${r.map((i) => `let x${i} = vec4<f32>(unpack2(${half(i)}.x), unpack2(${half(i)}.y));`).join(' ')}
     let mb4 = ${r.map((i) => `finiteBits4(x${i})`).reduce((a, b) => `max(${a}, ${b})`)};
     let nan4 = ${r.map((i) => `isNan4(x${i})`).join(' | ')};
     let e = expOf(max(max(mb4.x, mb4.y), max(mb4.z, mb4.w)));
     let down = downOf(e);
     ${r.map((i) => `{ let h = vec4<f16>(x${i} * down); ${store(i, 'h')} }`).join('\n     ')}
     ${scale} = select(upOf(e), qNan(), any(nan4));`;
}

/** WGSL: convert one key's loaded chunk (words v0..v3) into column-major Ch at key `kk`, its scale into `scale`. */
function convertKey(v: string, kk: string, scale: string): string {
  return `{
     let kk = ${kk};
     ${convert32([0, 1, 2, 3].map((i) => `${v}${i}`), (i, h) => [0, 1, 2, 3].map((x) => `Ch[${(4 * i + x) * nT}u + kk] = ${h}.${'xyzw'[x]};`).join(' '), scale)}
    }`;
}

export const decodeMatrixProgram: Program<DecodeMatrixSpec> = {
  name: 'mla_decode_matrix',
  key: (s) => `${s.dtype}.seg${s.segs}.v${s.vSplit}.${s.emulate ? 'emu' : `m${s.config.m}n${s.config.n}k${s.config.k}`}`,
  source(s) {
    const vCols = 512 / s.vSplit; // columns of O this workgroup owns
    const vChunks = vCols / cw;
    if (!s.emulate && !matrixConfigUsable(s.config)) throw new Error(`decode-matrix: unusable configuration ${JSON.stringify(s.config)}`);
    const nanWord = s.dtype === 'bf16' ? '0x7fc07fc0u' : '0x7e007e00u';
    const sRegs = (matrixRows * nT) / matrixLanes; // scores per lane: element e = t + 32 i, row i / 2, key 32 (i % 2) + t
    const range = (n: number) => Array.from({ length: n }, (_, i) => i);
    return `enable f16;
${s.emulate ? '' : 'enable chromium_experimental_subgroup_matrix;'}
${decodeBindingsWgsl(s.segs)}
${metadataWgsl()}
var<workgroup> Qc: array<f16, ${matrixRows * cw}>;       // q chunk [row][col], times 1 / Qs
var<workgroup> Ch: array<f16, ${nT * cw}>;               // k chunk [col][key] (QK), or v chunk [key][col] (PV)
var<workgroup> Sc: array<f32, ${matrixRows * nT}>;       // a product's fresh result; then the tile's scores
var<workgroup> Ph: array<f16, ${matrixRows * nT}>;       // P [row][key]
var<workgroup> O: array<f32, ${matrixRows * vCols}>;     // this workgroup's columns of O [row][${vCols}]
var<workgroup> Qs: array<f32, ${matrixRows}>;            // q scales of the current chunk [row]
var<workgroup> keyRow: array<u32, ${nT}>;
var<workgroup> keySeg: array<u32, ${nT}>;
var<workgroup> rowAlpha: array<f32, ${matrixRows}>;
var<workgroup> rowM: array<f32, ${matrixRows}>;
var<workgroup> rowL: array<f32, ${matrixRows}>;
var<workgroup> rowNan: array<u32, ${matrixRows}>;
var<workgroup> rowVis: array<i32, ${matrixRows}>;

${unpackWgsl(s.dtype)}
${packWgsl(s.dtype)}
${segmentLoader(s.segs)}

${scaleHelpersWgsl}

struct Item { batch: u32, qStart: u32, qLen: u32, slot: u32, split: bool, mBase: u32, kvh: u32, vh: u32 }
var<private> it: Item;

@compute @workgroup_size(${matrixLanes})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
 let mb = u.metaOff + wid.x * META_FIELDS;
${metaRowLets('mb')}
 let rowTile = wid.z / ${s.vSplit}u;
 it.kvh = wid.y;
 it.vh = wid.z % ${s.vSplit}u;
 it.mBase = rowTile * ${matrixRows}u;
 ${range(sRegs).map((i) => `var s${i} = 0.0;`).join(' ')}

${itemLoopHead}
  it.batch = batch;
  it.split = idx[u.nsOff + batch + 1u] - nsBase > 1;
  it.slot = u32(nsBase + split);
  // Control flow uses these locals (uniform by analysis: read-only storage and the uniform buffer).
  var qStart = batch * u.sQ;
  var qLen = u.sQ;
  if (u.varlen != 0u) {
   qStart = u32(idx[u.qiOff + batch]);
   qLen = u32(idx[u.qiOff + batch + 1u]) - qStart;
  }
  it.qStart = qStart;
  it.qLen = qLen;
  if (rowTile * ${matrixRows}u >= qLen * u.nGroups) { continue; }
  workgroupBarrier();
  if (t < ${matrixRows}u) {
   let j = i32((it.mBase + t) / u.nGroups);
   let vis = select(seqlen, seqlen - i32(qLen) + j + 1, u.causal != 0u);
   rowVis[t] = min(vis, kEnd);
  }
  // Lane r < 16 stages q row r (rows past the item stage zeros).
  let qm = it.mBase + t % ${matrixRows}u;
  let qValid = t < ${matrixRows}u && qm < qLen * u.nGroups;
  let qBase = ((qStart + qm / u.nGroups) * u.hQ + it.kvh * u.nGroups + qm % u.nGroups) * 72u + u.qOff;
  for (var e = t; e < ${matrixRows * vCols}u; e += ${matrixLanes}u) { O[e] = 0.0; }
  var m = NEG;
  var l = 0.0;
  var nanRow = 0u;

  for (var k0 = kBegin; k0 < kEnd; k0 += ${nT}) {
   workgroupBarrier();
   for (var kk = t; kk < ${nT}u; kk += ${matrixLanes}u) {
    let key = k0 + i32(kk);
    if (key < kEnd) {
     let blkId = u32(idx[u.btOff + batch * u.maxBlocksPerSeq + u32(key) / u.pageBlockSize]);
     let seg = ${s.segs === 1 ? '0u' : `min(blkId / u.pagesPerSeg, ${s.segs - 1}u)`};
     let local = blkId - seg * u.pagesPerSeg;
     keyRow[kk] = ((local * u.pageBlockSize + u32(key) % u.pageBlockSize) * u.hKv + it.kvh) * 72u;
     keySeg[kk] = seg;
    } else {
     keySeg[kk] = NONE;
    }
   }
   ${range(sRegs).map((i) => `s${i} = 0.0;`).join(' ')}
   // ---- S = Q Kᵀ, 32 columns a chunk: convert the chunk of 64 keys (lane t: keys t and t + 32; lanes < 16: q row
   // t), multiply into a fresh result, add it into the scores times the two scales. The next chunk's words are
   // loaded into registers right after the conversion, so their latency hides behind the product.
   let sgA = keySeg[t];
   let rowA = keyRow[t];
   let sgB = keySeg[t + ${matrixLanes}u];
   let rowB = keyRow[t + ${matrixLanes}u];
   var ksA = 0.0; // this lane's keys' scales of the current chunk (keys t and t + 32)
   var ksB = 0.0;
   ${['ka', 'kb', 'qw'].map((v) => range(4).map((i) => `var ${v}${i} = vec4<u32>(0u);`).join(' ')).join('\n   ')}
   ${loadChunk('0u')}
   for (var c = 0u; c < ${qkChunks}u; c++) {
    workgroupBarrier();
    ${convertKey('ka', 't', 'ksA')}
    ${convertKey('kb', `t + ${matrixLanes}u`, 'ksB')}
    if (t < ${matrixRows}u) {
     let o = t * ${cw}u;
     var qs = 0.0;
     ${convert32(['qw0', 'qw1', 'qw2', 'qw3'], (i, h) => [0, 1, 2, 3].map((x) => `Qc[o + ${4 * i + x}u] = ${h}.${'xyzw'[x]};`).join(' '), 'qs')}
     Qs[t] = qs;
    }
    if (c + 1u < ${qkChunks}u) {
     ${loadChunk('c + 1u')}
    }
    workgroupBarrier();
    ${product(s, 'Qc', '0u', cw, 'Ch', nT, cw, nT)}
    workgroupBarrier();
    ${range(sRegs).map((i) => `s${i} = fma(Sc[${i * matrixLanes}u + t], Qs[${i >> 1}u] * ${i & 1 ? 'ksB' : 'ksA'}, s${i});`).join('\n    ')}
   }
   // Scores in the exp2 domain; keys a row does not see are masked by selecting (they may hold NaN).
   ${range(sRegs).map((i) => `Sc[${i * matrixLanes}u + t] = select(NEG, s${i} * u.scaleLog2, k0 + ${(i & 1) * matrixLanes} + i32(t) < rowVis[${i >> 1}u]);`).join('\n   ')}
   workgroupBarrier();
   // Online softmax: lane r < 16 owns row r (m, l, NaN flag); P rounds to f16 for the product.
   if (t < ${matrixRows}u) {
    var mx = NEG;
    for (var kk = 0u; kk < ${nT}u; kk++) {
     let x = Sc[t * ${nT}u + kk];
     if (isNan(x)) { nanRow = 1u; } else { mx = max(mx, x); }
    }
    let mNew = max(m, mx);
    var sum = 0.0;
    for (var kk = 0u; kk < ${nT}u; kk++) {
     let x = Sc[t * ${nT}u + kk];
     let p = select(0.0, exp2(x - mNew), !isNan(x) && x > NEG * 0.5);
     Ph[t * ${nT}u + kk] = f16(p);
     sum += p;
    }
    let alpha = exp2(m - mNew);
    l = l * alpha + sum;
    m = mNew;
    rowAlpha[t] = alpha;
   }
   // ---- O = O * alpha + P V over this workgroup's columns, 32 a chunk: the chunk's 64 keys x 32 columns are
   // loaded as 256 vec4 (8 a lane), each column scaled by its largest finite magnitude, then a fresh product is
   // added into O times the scale.
   var vsT = 0.0; // the scale of column t of the current chunk
   for (var vc = 0u; vc < ${vChunks}u; vc++) {
    workgroupBarrier();
    // Lane t loads the vec4 j = t % 4 (8 columns) of keys t / 4 + 8 i (8 vec4 loads), folds their finite
    // magnitudes into 8 column maxima, publishes them in the free scratch (Sc is consumed before this barrier),
    // and after the reduction over the 8 key groups converts its 64 values with their columns' scales.
    {
     let v4 = (it.vh * ${vCols}u + vc * ${cw}u) / 8u + t % 4u;
     let kq = t / 4u;
     ${range(8).map((i) => `var w${i} = vec4<u32>(0u);
     { let kk = kq + ${8 * i}u; let sg = keySeg[kk]; if (sg != NONE) { w${i} = loadK(sg, keyRow[kk] + v4); } }
     let a${i} = vec4<f32>(unpack2(w${i}.x), unpack2(w${i}.y)); let b${i} = vec4<f32>(unpack2(w${i}.z), unpack2(w${i}.w));`).join('\n     ')}
     let ma = ${range(8).map((i) => `finiteBits4(a${i})`).reduce((x, y) => `max(${x}, ${y})`)};
     let mb = ${range(8).map((i) => `finiteBits4(b${i})`).reduce((x, y) => `max(${x}, ${y})`)};
     let g = kq * ${cw}u + (t % 4u) * 8u;
     Sc[g] = bitcast<f32>(ma.x); Sc[g + 1u] = bitcast<f32>(ma.y); Sc[g + 2u] = bitcast<f32>(ma.z); Sc[g + 3u] = bitcast<f32>(ma.w);
     Sc[g + 4u] = bitcast<f32>(mb.x); Sc[g + 5u] = bitcast<f32>(mb.y); Sc[g + 6u] = bitcast<f32>(mb.z); Sc[g + 7u] = bitcast<f32>(mb.w);
     workgroupBarrier();
     {
      var mbits = 0u;
      for (var i = 0u; i < 8u; i++) { mbits = max(mbits, bitcast<u32>(Sc[i * ${cw}u + t])); }
      let e = expOf(mbits);
      vsT = upOf(e);
      Sc[${8 * cw}u + t] = downOf(e);
     }
     workgroupBarrier();
     let c0 = (t % 4u) * 8u;
     let da = vec4<f32>(Sc[${8 * cw}u + c0], Sc[${8 * cw + 1}u + c0], Sc[${8 * cw + 2}u + c0], Sc[${8 * cw + 3}u + c0]);
     let db = vec4<f32>(Sc[${8 * cw + 4}u + c0], Sc[${8 * cw + 5}u + c0], Sc[${8 * cw + 6}u + c0], Sc[${8 * cw + 7}u + c0]);
     ${range(8).map((i) => `{
      let o = (kq + ${8 * i}u) * ${cw}u + c0;
      let ha = vec4<f16>(select(a${i} * da, vec4<f32>(0.0), isNan4(a${i}))); let hb = vec4<f16>(select(b${i} * db, vec4<f32>(0.0), isNan4(b${i})));
      Ch[o] = ha.x; Ch[o + 1u] = ha.y; Ch[o + 2u] = ha.z; Ch[o + 3u] = ha.w; Ch[o + 4u] = hb.x; Ch[o + 5u] = hb.y; Ch[o + 6u] = hb.z; Ch[o + 7u] = hb.w;
     }`).join('\n     ')}
    }
    workgroupBarrier();
    ${product(s, 'Ph', '0u', nT, 'Ch', cw, nT, cw)}
    workgroupBarrier();
    for (var e = t; e < ${matrixRows * cw}u; e += ${matrixLanes}u) {
     let r = e / ${cw}u;
     let j = e % ${cw}u;
     let o = r * ${vCols}u + vc * ${cw}u + j;
     O[o] = fma(O[o], rowAlpha[r], Sc[e] * vsT); // j == t: this lane's column scale
    }
   }
  }
  if (t < ${matrixRows}u) { rowM[t] = m; rowL[t] = l; rowNan[t] = nanRow; }
  workgroupBarrier();
  // Write this half of O: lane t takes word-pairs of columns (bf16/f16 out) or f32 partials (split items).
  for (var w = t; w < ${(matrixRows * vCols) / 2}u; w += ${matrixLanes}u) {
   let r = w / ${vCols / 2}u;
   let cp = w % ${vCols / 2}u;
   let mm = it.mBase + r;
   if (mm < qLen * u.nGroups) {
    let j = mm / u.nGroups;
    let h = it.kvh * u.nGroups + mm % u.nGroups;
    let ll = rowL[r];
    let inv = select(0.0, 1.0 / ll, ll > 0.0);
    let nan = rowNan[r] != 0u;
    let o = vec2<f32>(O[r * ${vCols}u + 2u * cp], O[r * ${vCols}u + 2u * cp + 1u]) * inv;
    if (!it.split) {
     out[u.outOff + ((qStart + j) * u.hQ + h) * 256u + it.vh * ${vCols / 2}u + cp] = select(pack2(o), ${nanWord}, nan);
    } else {
     let a = u.oAccOff + (it.slot * u.rowStride + j * u.hQ + h) * 512u + it.vh * ${vCols}u + 2u * cp;
     acc[a] = select(o.x, qNan(), nan); acc[a + 1u] = select(o.y, qNan(), nan);
    }
   }
  }
  if (it.vh == 0u && t < ${matrixRows}u) {
   let mm = it.mBase + t;
   if (mm < qLen * u.nGroups) {
    let j = mm / u.nGroups;
    let h = it.kvh * u.nGroups + mm % u.nGroups;
    let ll = rowL[t];
    let nan = rowNan[t] != 0u || isNan(ll); // a NaN sum (a score of +inf) is a NaN row, not "no key"
    let v = select((rowM[t] + log2(ll)) * 0.6931471805599453, qNan(), nan);
    if (!it.split) {
     lse[u.lseOff + batch * u.lseStrideB + h * u.lseStrideH + (qStart + j) * u.lseStrideT] = select(bitcast<f32>(u.posInfBits), v, ll > 0.0 || nan);
    } else {
     acc[it.slot * u.rowStride + j * u.hQ + h] = select(NEG, v, ll > 0.0 || nan);
    }
   }
  }
 }
}
`;
  },
};
