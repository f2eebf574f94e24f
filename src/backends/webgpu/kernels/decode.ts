// Split-KV MLA decode, one workgroup per (SM part, KV head, tile of mT query rows); the WGSL is generated per
// specialisation. Roofline, versions and H100 numbers: docs/notes/webgpu-decode.md (v2).
//
// Per 64-key tile: S = Q K^T in f32 through workgroup-memory chunks of dc columns (4-row x 4-key register
// microtile for every mT; small tiles split the columns over lane slices and sum them once per tile), masked by
// selecting (never multiplying: unused keys may be NaN), online softmax per row in the exp2 domain, P stored
// [key][row / 4] as vec4, then O += P V with V staged kc keys at a time (register microtile ro rows x cw columns,
// rows shared by a subgroup so P loads broadcast). Keys past kEnd are never loaded. The cache may span several
// bindings (`segs`), each holding whole pages.
import type { HalfDType } from '../../../core/dtype.js';
import type { MlaProblem } from '../../../core/problem.js';
import { defineParams } from '../params.js';
import type { DeviceCaps, Dispatch, Program } from '../program.js';

export const wgSize = 256;
export const nT = 64; // keys per tile (FlashMLA's blockSizeN)
const dQk = 576, dV = 512;
const qkVec4 = dQk / 8; // vec4<u32> per cache/q row (8 halves each)

/** Sentinel for "minus infinity" that keeps arithmetic finite (exp2 of a difference with it is 0). */
export const negBig = -1e30;

export const decodeParams = defineParams('DecodeParams', [
  ['b', 'u32'], ['hQ', 'u32'], ['hKv', 'u32'], ['nGroups', 'u32'],
  ['sQ', 'u32', 'uniform query length, or the largest one when varlen'],
  ['varlen', 'u32'], ['causal', 'u32'],
  ['pageBlockSize', 'u32'], ['maxBlocksPerSeq', 'u32'],
  ['pagesPerSeg', 'u32', 'pages held by each cache binding but the last'],
  ['scaleLog2', 'f32', 'softmaxScale * log2(e): scores live in the exp2 domain'],
  ['lseStrideB', 'u32'], ['lseStrideH', 'u32'], ['lseStrideT', 'u32'],
  ['qOff', 'u32', 'vec4<u32> offset of q[0] in its buffer'],
  ['outOff', 'u32', 'u32-word offset of out[0]'], ['lseOff', 'u32', 'f32 offset of lse[0]'],
  ['rowStride', 'u32', 'partial rows per split slot: sQ * hQ'],
  ['oAccOff', 'u32', 'f32 offset of oAccum in the accumulator buffer (lseAccum starts at 0)'],
  ['btOff', 'u32'], ['seqOff', 'u32'], ['qiOff', 'u32'], ['metaOff', 'u32'], ['nsOff', 'u32'],
  ['posInfBits', 'u32', '0x7f800000: +inf for the lse of an empty row, a runtime value so no constant overflows'],
]);
export type DecodeParamValues = Parameters<typeof decodeParams.pack>[0];

export interface DecodeSpec {
  dtype: HalfDType;
  /** Query rows per workgroup: 16, 32 or 64. */
  mT: number;
  /** Columns of q/k staged per QK step (multiple of 8). */
  dc: number;
  /** Keys of V staged per PV step. */
  kc: number;
  /** Cache bindings. */
  segs: number;
  /** f16 products in P V (dtype f16 with shader-f16). */
  f16: boolean;
  /** Row reductions by subgroup shuffles (lanes of one row are consecutive invocations of one subgroup). */
  subgroups: boolean;
  /** Multiply-adds written a * b + c (left to the driver to fuse) instead of the fma() builtin. */
  mulAdd: boolean;
}

/**
 * Thread geometry of a tile size. QK: every lane owns a 4-row x 4-key microtile of a column slice of each chunk,
 * so small tiles split the columns (qkSlices) instead of shrinking the microtile; the slices are summed once per
 * key tile. PV: every lane owns ro rows x cw columns, rows shared by a whole subgroup so P loads broadcast.
 */
export function decodeGeometry(mT: number): { rowGroups: number; qkSlices: number; cw: number; colGroups: number; ro: number } {
  const rowGroups = mT / 4;
  const qkSlices = wgSize / (16 * rowGroups);
  const cw = mT === 64 ? 8 : 4;
  const colGroups = dV / cw;
  return { rowGroups, qkSlices, cw, colGroups, ro: (mT * colGroups) / wgSize };
}

/** Workgroup memory of a specialisation, array by array as the WGSL declares them. */
function sharedBytes(mT: number, dc: number, kc: number, f16: boolean, subgroups: boolean): number {
  const { qkSlices } = decodeGeometry(mT);
  return mT * nT * 4 + dc * (mT + nT) * 4 + kc * dV * (f16 ? 2 : 4) + 2 * nT * 4 + 4 * mT * 4
    + (subgroups ? 0 : wgSize * 4) + (qkSlices - 1) * mT * nT * 4;
}

/** Choose the specialisation for a problem on a device: the largest tiles that fit its workgroup memory. */
export function chooseDecodeSpec(p: MlaProblem, caps: DeviceCaps, segs: number, mulAdd = false): DecodeSpec {
  const rows = p.sQ * p.nGroups;
  const f16 = caps.f16 && p.dtype === 'f16';
  const limit = caps.maxComputeWorkgroupStorageSize;
  let mT = rows <= 16 ? 16 : rows <= 32 ? 32 : 64;
  for (;;) {
    const subgroups = caps.subgroups && caps.subgroupMinSize >= wgSize / mT;
    // Fewest barriers first: a QK step costs two per dc columns, a PV step two per kc keys.
    for (const [dc, kc] of [[32, 16], [32, 8], [32, 4], [16, 8], [16, 4], [16, 2], [8, 2]]) {
      const kcUse = f16 ? kc * 2 : kc;
      if (sharedBytes(mT, dc, kcUse, f16, subgroups) <= limit) return { dtype: p.dtype, mT, dc, kc: kcUse, segs, f16, subgroups, mulAdd };
    }
    if (mT === 16) throw new Error(`workgroup memory ${limit} B is too small for the decode kernel`);
    mT /= 2;
  }
}

export function decodeDispatch(p: MlaProblem, spec: DecodeSpec): Dispatch {
  return [p.numSmParts, p.hKv, Math.ceil((p.sQ * p.nGroups) / spec.mT)];
}

function unpackWgsl(dtype: HalfDType): string {
  return dtype === 'bf16'
    ? `fn unpack2(w: u32) -> vec2<f32> { return vec2<f32>(bitcast<f32>(w << 16u), bitcast<f32>(w & 0xffff0000u)); }`
    : `fn unpack2(w: u32) -> vec2<f32> { return unpack2x16float(w); }`;
}

/** f32 pair -> two 16-bit patterns in one word, round to nearest even (the contract's out dtype). */
export function packWgsl(dtype: HalfDType): string {
  return dtype === 'bf16'
    ? `fn toBf16(x: f32) -> u32 {
  let b = bitcast<u32>(x);
  return select((b + 0x7fffu + ((b >> 16u) & 1u)) >> 16u, (b >> 16u) | 0x40u, (b & 0x7fffffffu) > 0x7f800000u);
}
fn pack2(v: vec2<f32>) -> u32 { return toBf16(v.x) | (toBf16(v.y) << 16u); }`
    : `fn pack2(v: vec2<f32>) -> u32 { return pack2x16float(v); }`;
}

function segmentLoader(segs: number): string {
  if (segs === 1) return `fn loadK(seg: u32, i: u32) -> vec4<u32> { return k0[i]; }`;
  const cases = Array.from({ length: segs }, (_, s) => s === segs - 1 ? `    default: { return k${s}[i]; }` : `    case ${s}u: { return k${s}[i]; }`);
  return `fn loadK(seg: u32, i: u32) -> vec4<u32> {\n  switch seg {\n${cases.join('\n')}\n  }\n}`;
}

/** Reduction of `x` over the `w` consecutive lanes of one row (op: max or +). */
function rowReduce(name: string, op: 'max' | 'add', w: number, subgroups: boolean): string {
  const combine = (a: string, b: string) => (op === 'max' ? `max(${a}, ${b})` : `${a} + ${b}`);
  if (subgroups) {
    const steps: string[] = [];
    for (let s = w >> 1; s >= 1; s >>= 1) steps.push(`  r = ${combine('r', `subgroupShuffleXor(r, ${s}u)`)};`);
    return `fn ${name}(x: f32, t: u32) -> f32 {\n  var r = x;\n${steps.join('\n')}\n  return r;\n}`;
  }
  // Workgroup memory: every lane publishes, then every lane folds its row (w is small: 4..16).
  return `fn ${name}(x: f32, t: u32) -> f32 {
  red[t] = x;
  workgroupBarrier();
  let base = t - t % ${w}u;
  var r = red[base];
  for (var i = 1u; i < ${w}u; i++) { r = ${combine('r', 'red[base + i]')}; }
  workgroupBarrier();
  return r;
}`;
}

export const decodeProgram: Program<DecodeSpec> = {
  name: 'mla_decode',
  key: (s) => `${s.dtype}.m${s.mT}.dc${s.dc}.kc${s.kc}.seg${s.segs}.${s.f16 ? 'h' : 'f'}.${s.subgroups ? 'sg' : 'wg'}.${s.mulAdd ? 'mad' : 'fma'}`,
  source(s) {
    const { mT, dc, kc, segs } = s;
    const { rowGroups: rgN, qkSlices: S, cw, colGroups, ro } = decodeGeometry(mT);
    const dS = dc / S; // columns of a chunk per QK slice
    const tpr = wgSize / mT; // lanes per row in the softmax
    const kpl = nT / tpr; // keys per lane
    const cv = dc / 8; // vec4<u32> per row per chunk
    const chunks = dQk / dc;
    const nc = cw / 4; // vec4 columns per PV lane
    const mad = (a: string, b: string, c: string) => (s.mulAdd ? `${a} * ${b} + ${c}` : `fma(${a}, ${b}, ${c})`);
    const vType = s.f16 ? 'vec4<f16>' : 'vec4<f32>';
    const enables = [s.f16 ? 'enable f16;' : '', s.subgroups ? 'enable subgroups;' : ''].filter(Boolean).join('\n');
    const kBindings = Array.from({ length: segs }, (_, i) => `@group(0) @binding(${6 + i}) var<storage, read> k${i}: array<vec4<u32>>;`).join('\n');
    const rows4 = [0, 1, 2, 3];
    const comp = ['x', 'y', 'z', 'w'];
    const sDecl = rows4.map((i) => `var s${i} = vec4<f32>(0.0);`).join(' ');
    const qkBody = rows4.map((i) => `s${i} = ${mad(`vec4<f32>(qv.${comp[i]})`, 'kv', `s${i}`)};`).join(' ');
    const acc = (i: number, c: number) => `a${i}_${c}`;
    const accList: string[] = [];
    for (let i = 0; i < ro; i++) for (let c = 0; c < nc; c++) accList.push(acc(i, c));
    const accDecl = accList.map((a) => `var ${a} = vec4<f32>(0.0);`).join(' ');
    const zeroAcc = accList.map((a) => `${a} = vec4<f32>(0.0);`).join(' ');
    const vLoads = Array.from({ length: nc }, (_, c) => `let v${c} = Vs[k * 128u + ${c * 64}u + colP];`).join(' ');
    const pLoads = Array.from({ length: ro / 4 }, (_, g) => `let p${g} = Ps[kk * ${rgN}u + rowQ + ${g}u];`).join(' ');
    const pvBody: string[] = [];
    for (let i = 0; i < ro; i++) {
      const p = `p${i >> 2}.${comp[i & 3]}`;
      for (let c = 0; c < nc; c++) {
        pvBody.push(s.f16 ? `${acc(i, c)} += vec4<f32>(f16(${p}) * v${c});` : `${acc(i, c)} = ${mad(`vec4<f32>(${p})`, `v${c}`, acc(i, c))};`);
      }
    }
    const rescale = Array.from({ length: ro }, (_, i) => `{ let al = rowAlpha[rowP + ${i}u]; ${Array.from({ length: nc }, (_, c) => `${acc(i, c)} *= al;`).join(' ')} }`).join(' ');
    const writeRows = Array.from({ length: ro }, (_, i) => Array.from({ length: nc }, (_, c) => `writeQuad(rowP + ${i}u, colP + ${c * 64}u, ${acc(i, c)});`).join(' ')).join('\n    ');
    const sliceBase = (z: string, i: number) => `((${z}) * 4u + ${i}u) * ${16 * rgN}u + rg * 16u + kgrp`;
    const sliceReduce = S === 1 ? '' : `
      if (slice != 0u) { ${rows4.map((i) => `Sr[${sliceBase('slice - 1u', i)}] = s${i};`).join(' ')} }
      workgroupBarrier();
      if (slice == 0u) {
        for (var z = 0u; z < ${S - 1}u; z++) { ${rows4.map((i) => `s${i} += Sr[${sliceBase('z', i)}];`).join(' ')} }
      }`;

    return `${enables}
${decodeParams.wgsl}
@group(0) @binding(0) var<uniform> u: DecodeParams;
@group(0) @binding(1) var<storage, read> idx: array<i32>;
@group(0) @binding(2) var<storage, read> q: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read_write> out: array<u32>;
@group(0) @binding(4) var<storage, read_write> lse: array<f32>;
@group(0) @binding(5) var<storage, read_write> acc: array<f32>;
${kBindings}

const NEG: f32 = ${negBig};
var<workgroup> Ps: array<vec4<f32>, ${(mT * nT) / 4}>;   // scores, then probabilities [key][row / 4]
var<workgroup> Qs: array<vec4<f32>, ${dc * rgN}>;       // q chunk, [col][row / 4]
var<workgroup> Ks: array<vec4<f32>, ${dc * (nT / 4)}>;  // k chunk, [col][key / 4]
var<workgroup> Vs: array<${vType}, ${kc * (dV / 4)}>;   // v rows, [key][col / 4]
${S === 1 ? '' : `var<workgroup> Sr: array<vec4<f32>, ${(S - 1) * 4 * 16 * rgN}>; // QK partial sums of slices 1.., [slice][row][lane]\n`}var<workgroup> keyRow: array<u32, ${nT}>;
var<workgroup> keySeg: array<u32, ${nT}>;
var<workgroup> rowAlpha: array<f32, ${mT}>;
var<workgroup> rowM: array<f32, ${mT}>;
var<workgroup> rowL: array<f32, ${mT}>;
var<workgroup> red: array<f32, ${wgSize}>;
var<workgroup> rowVis: array<i32, ${mT}>;

${unpackWgsl(s.dtype)}
${packWgsl(s.dtype)}
${segmentLoader(segs)}
${rowReduce('rowMax', 'max', tpr, s.subgroups)}
${rowReduce('rowSum', 'add', tpr, s.subgroups)}

struct Item { batch: u32, qStart: u32, qLen: u32, kBegin: i32, kEnd: i32, slot: u32, split: bool, mBase: u32, kvh: u32 }
var<private> it: Item;

// Row r of the tile: query j = m / nGroups of the item, head kvh * nGroups + m % nGroups; c4: the vec4 column.
fn writeQuad(r: u32, c4: u32, x: vec4<f32>) {
  let m = it.mBase + r;
  if (m >= it.qLen * u.nGroups) { return; }
  let j = m / u.nGroups;
  let h = it.kvh * u.nGroups + m % u.nGroups;
  let l = rowL[r];
  let a = x * select(0.0, 1.0 / l, l > 0.0);
  if (!it.split) {
    let w = u.outOff + (((it.qStart + j) * u.hQ + h) * ${dV}u) / 2u + c4 * 2u;
    out[w] = pack2(a.xy);
    out[w + 1u] = pack2(a.zw);
  } else {
    let o = u.oAccOff + ((it.slot * u.rowStride + j * u.hQ + h) * ${dV}u) + c4 * 4u;
    acc[o] = a.x; acc[o + 1u] = a.y; acc[o + 2u] = a.z; acc[o + 3u] = a.w;
  }
}

fn writeLse(r: u32) {
  let m = it.mBase + r;
  if (m >= it.qLen * u.nGroups) { return; }
  let j = m / u.nGroups;
  let h = it.kvh * u.nGroups + m % u.nGroups;
  let l = rowL[r];
  let ln2 = 0.6931471805599453;
  if (!it.split) {
    lse[u.lseOff + it.batch * u.lseStrideB + h * u.lseStrideH + (it.qStart + j) * u.lseStrideT] =
      select(bitcast<f32>(u.posInfBits), (rowM[r] + log2(l)) * ln2, l > 0.0);
  } else {
    acc[it.slot * u.rowStride + j * u.hQ + h] = select(NEG, (rowM[r] + log2(l)) * ln2, l > 0.0);
  }
}

@compute @workgroup_size(${wgSize})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let mb = u.metaOff + wid.x * 8u;
  let beginIdx = idx[mb];
  let beginSeqlen = idx[mb + 1u];
  let endIdx = idx[mb + 2u];
  let endSeqlen = idx[mb + 3u];
  let beginSplit = idx[mb + 4u];
  it.kvh = wid.y;
  it.mBase = wid.z * ${mT}u;
  // QK lanes: key group fastest, then row group (a subgroup spans 16 key groups x 2 row groups), then slice.
  let kgrp = t % 16u;
  let rg = (t / 16u) % ${rgN}u;
  let slice = t / ${16 * rgN}u;
  // PV lanes: column group fastest, so a subgroup shares its rows.
  let colP = t % ${colGroups}u;
  let rowP = (t / ${colGroups}u) * ${ro}u;
  let rowQ = rowP / 4u;
  let sRow = t / ${tpr}u;
  let sLane = t % ${tpr}u;
  ${accDecl}

  for (var bi = beginIdx; bi <= endIdx; bi++) {
    let batch = u32(bi);
    let seqlen = idx[u.seqOff + batch];
    let kBegin = select(0, beginSeqlen, bi == beginIdx);
    let kEnd = select(seqlen, endSeqlen, bi == endIdx);
    let split = select(0, beginSplit, bi == beginIdx);
    let nsBase = idx[u.nsOff + batch];
    it.batch = batch;
    it.kBegin = kBegin;
    it.kEnd = kEnd;
    it.split = idx[u.nsOff + batch + 1u] - nsBase > 1;
    it.slot = u32(nsBase + split);
    // Control flow uses these locals (uniform by analysis), the helpers read the copies in \`it\`.
    var qStart = batch * u.sQ;
    var qLen = u.sQ;
    if (u.varlen != 0u) {
      qStart = u32(idx[u.qiOff + batch]);
      qLen = u32(idx[u.qiOff + batch + 1u]) - qStart;
    }
    it.qStart = qStart;
    it.qLen = qLen;
    if (wid.z * ${mT}u >= qLen * u.nGroups) { continue; }
    if (t < ${mT}u) {
      let j = i32((it.mBase + t) / u.nGroups);
      let vis = select(seqlen, seqlen - i32(it.qLen) + j + 1, u.causal != 0u);
      rowVis[t] = min(vis, kEnd);
    }
    // This lane's q row for staging, and where it starts (rows past the item's queries stage zeros).
    let qRow = t / ${cv}u;
    let qm = it.mBase + qRow;
    let qValid = qm < it.qLen * u.nGroups && qRow < ${mT}u;
    let qBase = ((it.qStart + qm / max(u.nGroups, 1u)) * u.hQ + it.kvh * u.nGroups + qm % u.nGroups) * ${qkVec4}u + u.qOff + t % ${cv}u;
    let kKey = t / ${cv}u;
    var m = NEG;
    var l = 0.0;
    ${zeroAcc}

    for (var k0 = kBegin; k0 < kEnd; k0 += ${nT}) {
      workgroupBarrier();
      if (t < ${nT}u) {
        let key = k0 + i32(t);
        if (key < kEnd) {
          let blk = u32(idx[u.btOff + batch * u.maxBlocksPerSeq + u32(key) / u.pageBlockSize]);
          let seg = ${segs === 1 ? '0u' : 'min(blk / u.pagesPerSeg, ' + (segs - 1) + 'u)'};
          let local = blk - seg * u.pagesPerSeg;
          keyRow[t] = ((local * u.pageBlockSize + u32(key) % u.pageBlockSize) * u.hKv + it.kvh) * ${qkVec4}u;
          keySeg[t] = seg;
        } else {
          keySeg[t] = 0xffffffffu;
        }
      }
      ${sDecl}
      for (var c = 0u; c < ${chunks}u; c++) {
        workgroupBarrier();
        if (t < ${mT * cv}u) {
          var w = vec4<u32>(0u);
          if (qValid) { w = q[qBase + c * ${cv}u]; }
          let d0 = (t % ${cv}u) * 8u;
          for (var e = 0u; e < 4u; e++) {
            let v = unpack2(w[e]);
            Qs[(d0 + 2u * e) * ${rgN}u + qRow / 4u][qRow % 4u] = v.x;
            Qs[(d0 + 2u * e + 1u) * ${rgN}u + qRow / 4u][qRow % 4u] = v.y;
          }
        }
        if (t < ${nT * cv}u) {
          var w = vec4<u32>(0u);
          let seg = keySeg[kKey];
          if (seg != 0xffffffffu) { w = loadK(seg, keyRow[kKey] + c * ${cv}u + t % ${cv}u); }
          let d0 = (t % ${cv}u) * 8u;
          let kq = kKey / 4u;
          let kc4 = kKey % 4u;
          for (var e = 0u; e < 4u; e++) {
            let v = unpack2(w[e]);
            Ks[(d0 + 2u * e) * ${nT / 4}u + kq][kc4] = v.x;
            Ks[(d0 + 2u * e + 1u) * ${nT / 4}u + kq][kc4] = v.y;
          }
        }
        workgroupBarrier();
        for (var j = 0u; j < ${dS}u; j++) {
          let d = ${S === 1 ? 'j' : `slice * ${dS}u + j`};
          let qv = Qs[d * ${rgN}u + rg];
          let kv = Ks[d * ${nT / 4}u + kgrp];
          ${qkBody}
        }
      }${sliceReduce}
      if (slice == 0u) {
        // Scores of keys kgrp*4 .. +3 for rows rg*4 .. +3, masked by selecting (unused keys may be NaN).
        let vis = vec4<i32>(rowVis[rg * 4u], rowVis[rg * 4u + 1u], rowVis[rg * 4u + 2u], rowVis[rg * 4u + 3u]);
        let key0 = k0 + i32(kgrp * 4u);
        ${[0, 1, 2, 3].map((j) => `Ps[(kgrp * 4u + ${j}u) * ${rgN}u + rg] = select(vec4<f32>(NEG), vec4<f32>(s0.${comp[j]}, s1.${comp[j]}, s2.${comp[j]}, s3.${comp[j]}) * u.scaleLog2, vec4<i32>(key0 + ${j}) < vis);`).join('\n        ')}
      }
      workgroupBarrier();
      // Online softmax, exp2 domain: lanes sRow*tpr .. +tpr-1 own row sRow and keep its m and l.
      var mx = NEG;
      for (var i = 0u; i < ${kpl}u; i++) { mx = max(mx, Ps[(sLane + i * ${tpr}u) * ${rgN}u + sRow / 4u][sRow % 4u]); }
      mx = rowMax(mx, t);
      let mNew = max(m, mx);
      var sum = 0.0;
      for (var i = 0u; i < ${kpl}u; i++) {
        let o = (sLane + i * ${tpr}u) * ${rgN}u + sRow / 4u;
        let sc = Ps[o][sRow % 4u];
        let p = select(0.0, exp2(sc - mNew), sc > NEG * 0.5);
        Ps[o][sRow % 4u] = p;
        sum += p;
      }
      sum = rowSum(sum, t);
      let alpha = exp2(m - mNew);
      l = l * alpha + sum;
      m = mNew;
      if (sLane == 0u) { rowAlpha[sRow] = alpha; }
      workgroupBarrier();
      ${rescale}
      let nKeys = u32(min(kEnd - k0, ${nT}));
      for (var kb = 0u; kb < nKeys; kb += ${kc}u) {
        workgroupBarrier();
        for (var e = t; e < ${kc * 64}u; e += ${wgSize}u) {
          let kk = e / 64u;
          let sub = e % 64u;
          let seg = keySeg[kb + kk];
          var w = vec4<u32>(0u);
          if (seg != 0xffffffffu) { w = loadK(seg, keyRow[kb + kk] + sub); }
          ${stageV(s.f16)}
        }
        workgroupBarrier();
        for (var k = 0u; k < ${kc}u; k++) {
          let kk = kb + k;
          ${vLoads}
          ${pLoads}
          ${pvBody.join('\n          ')}
        }
      }
    }
    if (sLane == 0u) { rowM[sRow] = m; rowL[sRow] = l; }
    workgroupBarrier();
    ${writeRows}
    if (t < ${mT}u) { writeLse(t); }
    workgroupBarrier();
  }
}
`;
  },
};

function stageV(f16: boolean): string {
  return f16
    ? `Vs[kk * 128u + sub * 2u] = vec4<f16>(bitcast<vec2<f16>>(w.x), bitcast<vec2<f16>>(w.y));
          Vs[kk * 128u + sub * 2u + 1u] = vec4<f16>(bitcast<vec2<f16>>(w.z), bitcast<vec2<f16>>(w.w));`
    : `Vs[kk * 128u + sub * 2u] = vec4<f32>(unpack2(w.x), unpack2(w.y));
          Vs[kk * 128u + sub * 2u + 1u] = vec4<f32>(unpack2(w.z), unpack2(w.w));`;
}
