// Split-KV MLA decode, one workgroup per (SM part, KV head, tile of rowsPerTile query rows); the WGSL is generated
// per specialisation. Three parts: the spec (kernels/decode-spec.ts: the tiling choice and its key), the geometry
// (kernels/decode-geometry.ts: lane layout and memory sizes derived from the spec) and, here, the WGSL text.
// Roofline, versions and numbers: docs/notes/webgpu-decode.md.
//
// A 64-key tile is a pipeline of stages: 576/qkColumnsPerStage QK stages (S = Q K^T over those columns), the
// softmax, then 64/pvKeysPerStage PV stages (O += P V over those keys). Every stage's slice of the cache (and of q)
// is loaded into registers prefetchStages stages ahead, written unpacked into one of two workgroup buffers, and
// consumed after one barrier: global latency hides behind the previous stages' arithmetic and each stage costs one
// barrier. QK keeps a 4-row x 4-key register microtile per lane (small tiles split the columns over lane slices,
// summed once per tile); scores are masked by selecting (unused keys may be NaN); the online softmax works in the
// exp2 domain; P V keeps pvRowsPerLane rows x pvColumnsPerLane columns per lane with the rows shared by a
// subgroup, so P loads broadcast. Keys past kEnd are never loaded. The cache may span several bindings
// (cacheBindings), each holding whole pages.
import type { HalfDType } from '../../../core/dtype.js';
import type { DecodePlan } from '../../../core/plan.js';
import { metadataWgsl } from '../../../core/constants.js';
import { defineParams } from '../params.js';
import type { Dispatch, Program } from '../program.js';
import { nanWgsl } from './nan.js';
import { decodeGeometry, keysPerTile, qkVec4sPerRow, workgroupSize } from './decode-geometry.js';
import { type DecodeSpec, decodeSpecKey, queryRowsPerKvHead } from './decode-spec.js';

export { type DecodeSpec, type DecodeTuning, chooseDecodeSpec, decodeSpecKey } from './decode-spec.js';
export { decodeGeometry, keysPerTile, workgroupSize } from './decode-geometry.js';

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

/** One workgroup per (SM part, KV head, tile of rowsPerTile query rows). */
export function decodeDispatch(plan: Pick<DecodePlan, 'numSmParts' | 'sQ' | 'hQ' | 'hKv'>, spec: DecodeSpec): Dispatch {
  return [plan.numSmParts, plan.hKv, Math.ceil(queryRowsPerKvHead(plan) / spec.rowsPerTile)];
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
    : `fn pack2(v: vec2<f32>) -> u32 { // pack2x16float leaves NaN indeterminate: write f16's quiet NaN ourselves
  let w = pack2x16float(v);
  let n = (bitcast<vec2<u32>>(v) & vec2<u32>(0x7fffffffu)) > vec2<u32>(0x7f800000u);
  return select(w & 0xffffu, 0x7e00u, n.x) | select(w & 0xffff0000u, 0x7e000000u, n.y);
}`;
}

/** `loadK(seg, i)`: element i of cache binding `seg` (a cache over one binding's limit is split over several). */
export function segmentLoader(segs: number): string {
  if (segs === 1) return `fn loadK(seg: u32, i: u32) -> vec4<u32> { return k0[i]; }`;
  const cases = Array.from({ length: segs }, (_, s) => s === segs - 1 ? `    default: { return k${s}[i]; }` : `    case ${s}u: { return k${s}[i]; }`);
  return `fn loadK(seg: u32, i: u32) -> vec4<u32> {\n  switch seg {\n${cases.join('\n')}\n  }\n}`;
}

/**
 * The five scheduler-metadata fields of this workgroup's SM part (the row starting at `base`), as the WGSL lets
 * every decode kernel's main() begins with.
 */
export function metaRowLets(base: string): string {
  return [['beginIdx', 'META_BEGIN_IDX'], ['beginSeqlen', 'META_BEGIN_SEQLEN'], ['endIdx', 'META_END_IDX'], ['endSeqlen', 'META_END_SEQLEN'],
    ['beginSplit', 'META_BEGIN_NSPLIT_IDX']].map(([name, field]) => ` let ${name} = idx[${base} + ${field}];`).join('\n');
}

/**
 * The bindings every decode kernel declares (params, the metadata and index words, q, out, lse, the f32 partials,
 * then the cache as `segments` bindings k0, k1, ...) and the constants NEG and NONE.
 */
export function decodeBindingsWgsl(segments: number): string {
  const k = Array.from({ length: segments }, (_, i) => `@group(0) @binding(${6 + i}) var<storage, read> k${i}: array<vec4<u32>>;`).join('\n');
  return `${decodeParams.wgsl}
@group(0) @binding(0) var<uniform> u: DecodeParams;
@group(0) @binding(1) var<storage, read> idx: array<i32>;
@group(0) @binding(2) var<storage, read> q: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read_write> out: array<u32>;
@group(0) @binding(4) var<storage, read_write> lse: array<f32>;
@group(0) @binding(5) var<storage, read_write> acc: array<f32>;
${k}

const NEG: f32 = ${negBig};
const NONE: u32 = 0xffffffffu;`;
}

/**
 * The head of every decode kernel's loop over the requests of its SM part (after metaRowLets): the request, its
 * length, the key range and first split of this part's share, and the request's first partial-row slot base.
 */
export const itemLoopHead = ` for (var bi = beginIdx; bi <= endIdx; bi++) {
  let batch = u32(bi);
  let seqlen = idx[u.seqOff + batch];
  let kBegin = select(0, beginSeqlen, bi == beginIdx);
  let kEnd = select(seqlen, endSeqlen, bi == endIdx);
  let split = select(0, beginSplit, bi == beginIdx);
  let nsBase = idx[u.nsOff + batch];`;

/**
 * The matrix kernels' (v4, v5) next lines of a work item: whether the request is split, its accumulator slot
 * (`slot`), its query rows (varlen or uniform), the skip of a row block past them, and, for lanes t < `rows`, the
 * first lines of the per-row visibility block (the caller closes it).
 */
export function matrixItemRowsHead(slot: string, rows: number): string {
  return `  let isSplit = idx[u.nsOff + batch + 1u] - nsBase > 1;
  let ${slot} = u32(nsBase + split);
  var qStart = batch * u.sQ;
  var qLen = u.sQ;
  if (u.varlen != 0u) {
   qStart = u32(idx[u.qiOff + batch]);
   qLen = u32(idx[u.qiOff + batch + 1u]) - qStart;
  }
  if (mBase >= qLen * u.nGroups) { continue; }
  workgroupBarrier();
  if (t < ${rows}u) {
   let j = i32((mBase + t) / u.nGroups);
   let vis = select(seqlen, seqlen - i32(qLen) + j + 1, u.causal != 0u);
   rowVis[t] = min(vis, kEnd);`;
}

/**
 * Inside a decode kernel's key loop, lane t < keys-per-tile with `key` < kEnd: the key's cache page from the block
 * table, the binding (segment) that holds it, and its first vec4 within that binding (keyRow[t], keySeg[t]).
 * `rowVec4s`: the vec4 words a key's row takes in the cache (72 for a 16-bit row of 576; 41 for a V3.2 FP8 token).
 */
export function keyRowLookup(segments: number, kvh: string, blk = 'blk', rowVec4s = qkVec4sPerRow): string {
  return `     let ${blk} = u32(idx[u.btOff + batch * u.maxBlocksPerSeq + u32(key) / u.pageBlockSize]);
     let seg = ${segments === 1 ? '0u' : `min(${blk} / u.pagesPerSeg, ${segments - 1}u)`};
     let local = ${blk} - seg * u.pagesPerSeg;
     keyRow[t] = ((local * u.pageBlockSize + u32(key) % u.pageBlockSize) * u.hKv + ${kvh}) * ${rowVec4s}u;
     keySeg[t] = seg;`;
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
  key: decodeSpecKey,
  source(s) {
    const { rowsPerTile, pvKeysPerStage, prefetchStages, cacheBindings } = s;
    const g = decodeGeometry(s);
    const { rowGroups, qkSlices, pvColumnGroups, pvRowsPerLane, pvKeySplit, pvKeysPerLane, qkColumnsPerSlice } = g;
    const { qkPartsPerStage, stageVec4s, qkKeyColumnsOffset, qkStages, pvStages, softmaxLanesPerRow, softmaxKeysPerLane } = g;
    const { pvVec4sPerLane, vLoadsPerLane, qkStagesPerIteration, pvStagesPerIteration } = g;
    const expMask = s.dtype === 'bf16' ? 0x7f80 : 0x7c00; // exponent field of a half: all ones = NaN or inf
    const mad = (a: string, b: string, c: string) => (s.mulAdd ? `${a} * ${b} + ${c}` : `fma(${a}, ${b}, ${c})`);
    const enables = s.subgroups ? 'enable subgroups;' : '';
    const comp = ['x', 'y', 'z', 'w'];
    const r4 = [0, 1, 2, 3];
    const rotate = s.stagesPerIteration === 1 && prefetchStages === 2 ? 'rA0 = rA1; rB0 = rB1;' : '';
    const range = (n: number) => Array.from({ length: n }, (_, i) => i);
    const at = (b: number, k: number) => (b < 0 ? `bufOffset + ${k}u` : `${b * stageVec4s + k}u`); // stage buffer b (-1: at the runtime bufOffset)
    const slotA = (i: number) => `rA${prefetchStages === 2 ? i : 0}`;
    const slotB = (i: number) => `rB${prefetchStages === 2 ? i : 0}`;
    // ---- stage loads (registers), commits (registers -> stage buffer b) and computes (stage buffer b)
    const loadQk = (c: string, i: number) => `${slotA(i)} = vec4<u32>(0u); ${slotB(i)} = vec4<u32>(0u);
    if (kSeg != NONE) { ${slotA(i)} = loadK(kSeg, kRow + (${c}) * ${qkPartsPerStage}u); }
    if (qValid) { ${slotB(i)} = q[qBase + (${c}) * ${qkPartsPerStage}u]; }`;
    // V of a key that some row of the tile must not see (causal diagonal, keys up to kEnd) is loaded for every row;
    // its P is 0 there, and 0 * NaN or 0 * inf would put a NaN the reference never computes into that row. So V of
    // keys from the first row's visible end on has its NaN/inf halves zeroed, and diagNF notes that it happened.
    // A key with a NaN/inf V element has a NaN or infinite score in every row that sees it: NaN or +inf makes the
    // row NaN anyway; -inf gives p = 0 and, in the reference, 0 * inf = NaN in exactly those columns, which
    // diagFixup (below) then writes into the accumulators of the rows that see the key.
    const loadV = (v: string, i: number) => Array.from({ length: vLoadsPerLane }, (_, j) => {
      const reg = j === 0 ? slotA(i) : slotB(i);
      return `{ let kk = (${v}) * ${pvKeysPerStage}u + ${j * 4}u + t / 64u; let sg = keySeg[kk]; ${reg} = vec4<u32>(0u);
    if (sg != NONE) { ${reg} = loadK(sg, keyRow[kk] + t % 64u); if (k0 + i32(kk) >= diagKey) { let f = finiteHalves(${reg}); if (any(f != ${reg})) { atomicOr(&diagNF, 1u); } ${reg} = f; } } }`;
    }).join('\n        ');
    const refillQk = (stage: string, i: number) => `if (${stage} < ${qkStages}u) {
    ${loadQk(stage, i)}
   } else {
    ${loadV(`${stage} - ${qkStages}u`, i)}
   }`;
    // The four words of a part: unrolled for 64-row tiles, a loop for smaller ones (measured on the H100,
    // docs/notes/webgpu-decode.md v3: unrolling cost 16- and 32-row tiles 28-39 % and gained 64-row tiles 6 %).
    const commitQk = (b: number, i: number) => {
      if (rowsPerTile < 64) {
        return `for (var e = 0u; e < 4u; e++) {
        if (kStage) {
          let kv = unpack2(${slotA(i)}[e]);
          stageBuf[${at(b, qkKeyColumnsOffset)} + (kPart8 + 2u * e) * 16u + kSwizzle][kC4] = kv.x;
          stageBuf[${at(b, qkKeyColumnsOffset)} + (kPart8 + 2u * e + 1u) * 16u + kSwizzle][kC4] = kv.y;
        }
        if (qStage) {
          let qv = unpack2(${slotB(i)}[e]);
          stageBuf[${at(b, 0)} + (qPart8 + 2u * e) * ${rowGroups}u + qRow / 4u][qRow % 4u] = qv.x;
          stageBuf[${at(b, 0)} + (qPart8 + 2u * e + 1u) * ${rowGroups}u + qRow / 4u][qRow % 4u] = qv.y;
        }
      }`;
      }
      const k = [0, 1, 2, 3].map((e) => `{ let x = unpack2(${slotA(i)}.${comp[e]}); stageBuf[${at(b, qkKeyColumnsOffset + 32 * e)} + kDst][kC4] = x.x; stageBuf[${at(b, qkKeyColumnsOffset + 32 * e + 16)} + kDst][kC4] = x.y; }`);
      const q = [0, 1, 2, 3].map((e) => `{ let x = unpack2(${slotB(i)}.${comp[e]}); stageBuf[${at(b, 2 * e * rowGroups)} + qDst][qC4] = x.x; stageBuf[${at(b, (2 * e + 1) * rowGroups)} + qDst][qC4] = x.y; }`);
      return `if (kStage) {\n        ${k.join('\n        ')}\n      }\n      if (qStage) {\n        ${q.join('\n        ')}\n      }`;
    };
    const computeQk = (b: number) => {
      const lines: string[] = [];
      for (let j = 0; j < qkColumnsPerSlice; j++) {
        const qb = b < 0 ? 'qb0 + bufOffset' : `qb${b}`, kb = b < 0 ? `kb0_${j >> 3} + bufOffset` : `kb${b}_${j >> 3}`;
        lines.push(`{ let qv = stageBuf[${qb} + ${j * rowGroups}u]; let kv = stageBuf[${kb} + ${j * 16}u]; ${r4.map((i) => `s${i} = ${mad(`vec4<f32>(qv.${comp[i]})`, 'kv', `s${i}`)};`).join(' ')} }`);
      }
      return lines.join('\n      ');
    };
    const commitV = (b: number, i: number) => Array.from({ length: vLoadsPerLane }, (_, j) => {
      const reg = j === 0 ? slotA(i) : slotB(i);
      return `stageBuf[${at(b, j * 512)} + vIdx] = vec4<f32>(unpack2(${reg}.x), unpack2(${reg}.y));
   stageBuf[${at(b, j * 512 + 64)} + vIdx] = vec4<f32>(unpack2(${reg}.z), unpack2(${reg}.w));`;
    }).join('\n      ');
    const acc = (i: number, c: number) => `a${i}_${c}`;
    const accList: string[] = [];
    for (let i = 0; i < pvRowsPerLane; i++)
      for (let c = 0; c < pvVec4sPerLane; c++)
        accList.push(acc(i, c));
    const computePv = (b: number, v: string) => {
      const lines = [`{ let pBase = (${v}) * ${pvKeysPerStage * rowGroups}u + pvKey0 * ${rowGroups}u + pvRowQuad;`];
      for (let k = 0; k < pvKeysPerLane; k++) {
        const vl = Array.from({ length: pvVec4sPerLane }, (_, c) => `let v${c} = stageBuf[${b < 0 ? 'vb0 + bufOffset' : `vb${b}`} + ${k * 128 + 64 * c}u];`).join(' ');
        const pl = Array.from({ length: pvRowsPerLane / 4 }, (_, g) => `let p${g} = tileScores[pBase + ${k * rowGroups + g}u];`).join(' ');
        const body: string[] = [];
        for (let i = 0; i < pvRowsPerLane; i++)
          for (let c = 0; c < pvVec4sPerLane; c++)
            body.push(`${acc(i, c)} = ${mad(`vec4<f32>(p${i >> 2}.${comp[i & 3]})`, `v${c}`, acc(i, c))};`);
        lines.push(`{ ${vl} ${pl}\n        ${body.join(' ')} }`);
      }
      return `${lines.join('\n      ')} }`;
    };
    const accDecl = accList.map((a) => `var ${a} = vec4<f32>(0.0);`).join(' ');
    const zeroAcc = accList.map((a) => `${a} = vec4<f32>(0.0);`).join(' ');
    const rescale = Array.from({ length: pvRowsPerLane }, (_, i) => `{ let al = rowAlpha[pvRow0 + ${i}u]; ${Array.from({ length: pvVec4sPerLane }, (_, c) => `${acc(i, c)} *= al;`).join(' ')} }`).join(' ');
    // Slot j of a V row holds columns 8j..8j+3 (j < 64) or 8(j-64)+4.. (j >= 64): lane colP's slot colP + 64c.
    const writeRows = Array.from({ length: pvRowsPerLane }, (_, i) => Array.from({ length: pvVec4sPerLane }, (_, c) => `writeQuad(pvRow0 + ${i}u, col4_${c}, ${acc(i, c)});`).join(' ')).join('\n    ');
    // End of an item: with split keys, sum the halves' accumulators 8 rows at a time through the stage buffers
    // (the first barrier lets every lane finish reading the last PV stage), then the first half writes.
    const merge = [0, 1].map((h) => `workgroupBarrier();
  if (pvHalf == 1u) { ${Array.from({ length: 8 }, (_, i) => `stageBuf[${i * 128}u + pvColumnGroup] = ${acc(h * 8 + i, 0)};`).join(' ')} }
  workgroupBarrier();
  if (pvHalf == 0u) { ${Array.from({ length: 8 }, (_, i) => `${acc(h * 8 + i, 0)} += stageBuf[${i * 128}u + pvColumnGroup];`).join(' ')} }`).join('\n    ');
    const finish = pvKeySplit === 1 ? writeRows : `${merge}\n    if (pvHalf == 0u) {\n    ${writeRows}\n    }`;
    // Columns 4 col4_c .. +3 of key kk: NaN in the accumulators of this lane's rows that see the key, where V is
    // NaN or inf (the rare path: only after diagNF was set).
    const diagFixup = Array.from({ length: pvVec4sPerLane }, (_, c) => `{ let w = loadK(sg, keyRow[kk] + col4_${c} / 2u);
      let h = select(w.xy, w.zw, col4_${c} % 2u == 1u);
      let nf = vec4<bool>((h.x & ${expMask}) == ${expMask}, (h.x & ${expMask << 16 >>> 0}u) == ${expMask << 16 >>> 0}u, (h.y & ${expMask}) == ${expMask}, (h.y & ${expMask << 16 >>> 0}u) == ${expMask << 16 >>> 0}u);
      ${Array.from({ length: pvRowsPerLane }, (_, i) => `if (k0 + i32(kk) < rowVis[pvRow0 + ${i}u]) { ${acc(i, c)} = select(${acc(i, c)}, vec4<f32>(nanF32()), nf); }`).join('\n      ')} }`).join('\n     ');
    const sliceBase = (z: string, i: number) => `((${z}) * 4u + ${i}u) * ${16 * rowGroups}u + rowGroup * 16u + keyGroup`;
    // The slice partials fill stage buffer 0 (free: the last QK stage used buffer 1) and, when larger, buffer 1
    // as well, after a barrier that lets every lane finish reading it.
    const sliceReduce = qkSlices === 1 ? '' : `${g.slicePartialsSpill ? '\n    workgroupBarrier();' : ''}
  if (slice != 0u) { ${r4.map((i) => `stageBuf[${sliceBase('slice - 1u', i)}] = s${i};`).join(' ')} }
  workgroupBarrier();
  if (slice == 0u) {
   for (var z = 0u; z < ${qkSlices - 1}u; z++) { ${r4.map((i) => `s${i} += stageBuf[${sliceBase('z', i)}];`).join(' ')} }
  }`;
    // k columns of a QK stage are stored [col][key / 4 permuted by the part of col], so the transposing writes of
    // the 8 parts' lanes fall in distinct banks; a reading lane's part is fixed per group of 8 columns. 16/32-row
    // tiles permute by rotation, which the WGSL compiler can bound (no clamp on these loads and stores): 3 % faster
    // on the H100. 64-row tiles keep the XOR: rotation there made them 16 % slower (docs/notes/webgpu-decode.md).
    const swz = (g: string, sh: string) => (rowsPerTile < 64 ? `(${g} + ${sh}) % 16u` : `((${g}) ^ (${sh}))`);
    const kbDecl = [0, 1].map((b) => Array.from({ length: qkColumnsPerSlice / 8 }, (_, m) => `let kb${b}_${m} = ${b * stageVec4s + qkKeyColumnsOffset}u + dBase * 16u + ${swz('keyGroup', `((dBase / 8u + ${m}u) % ${qkPartsPerStage}u) * ${8 / qkPartsPerStage}u`)};`).join('\n  ')).join('\n  ');
    return `${enables}
${decodeBindingsWgsl(cacheBindings)}
// tileSchedulerMetadata layout (src/core/constants.ts)
${metadataWgsl()}
// Two stage buffers of ${stageVec4s} vec4 each. QK stage: q columns [col][row / 4], then k columns [col][key / 4 ^ swz];
// PV stage: kc rows of V, [key][slot]. Slice partial sums of QK reuse the buffers between the stages.
var<workgroup> stageBuf: array<vec4<f32>, ${2 * stageVec4s}>;
var<workgroup> tileScores: array<vec4<f32>, ${(rowsPerTile * keysPerTile) / 4}>;   // scores, then probabilities [key][row / 4]
var<workgroup> keyRow: array<u32, ${keysPerTile}>;
var<workgroup> keySeg: array<u32, ${keysPerTile}>;
var<workgroup> rowAlpha: array<f32, ${rowsPerTile}>;
var<workgroup> rowM: array<f32, ${rowsPerTile}>;
var<workgroup> rowL: array<f32, ${rowsPerTile}>;
var<workgroup> rowVis: array<i32, ${rowsPerTile}>;
var<workgroup> rowBad: array<atomic<u32>, ${rowsPerTile}>; // the row saw a NaN or +inf score: its out and lse are NaN
var<workgroup> diagNF: atomic<u32>; // a masked-for-some-row key of this item had a NaN/inf V element (zeroed)
${s.subgroups ? '' : `var<workgroup> red: array<f32, ${workgroupSize}>;`}

${unpackWgsl(s.dtype)}
${packWgsl(s.dtype)}
${nanWgsl(s.dtype, 'u.posInfBits')}
${segmentLoader(cacheBindings)}
${rowReduce('rowMax', 'max', softmaxLanesPerRow, s.subgroups)}
${rowReduce('rowSum', 'add', softmaxLanesPerRow, s.subgroups)}

struct Item { batch: u32, qStart: u32, qLen: u32, kBegin: i32, kEnd: i32, slot: u32, split: bool, mBase: u32, kvh: u32 }
var<private> it: Item;

// What the reference makes of row r of this item: 0 a softmax, 1 NaN (a NaN or +inf score), 2 no key (empty
// row), 3 keys whose scores are all -inf (NaN for the whole row, -inf as a split's partial lse).
fn rowKind(r: u32) -> u32 {
 if (atomicLoad(&rowBad[r]) != 0u) { return 1u; }
 if (rowL[r] > 0.0) { return 0u; }
 return select(2u, 3u, rowVis[r] > it.kBegin);
}

// Row r of the tile: query j = m / nGroups of the item, head kvh * nGroups + m % nGroups; c4: the vec4 column.
fn writeQuad(r: u32, c4: u32, x: vec4<f32>) {
 let m = it.mBase + r;
 if (m >= it.qLen * u.nGroups) { return; }
 let j = m / u.nGroups;
 let h = it.kvh * u.nGroups + m % u.nGroups;
 let l = rowL[r];
 // l == 0: x is a sum of 0 * V, so NaN exactly where a -inf-scored key's V is infinite (as in the reference).
 let a = x * select(0.0, 1.0 / l, l > 0.0);
 if (!it.split) {
  let w = u.outOff + (((it.qStart + j) * u.hQ + h) * 512u) / 2u + c4 * 2u;
  let kind = rowKind(r);
  let nan = kind == 1u || kind == 3u;
  out[w] = select(pack2(a.xy), nanPair(), nan);
  out[w + 1u] = select(pack2(a.zw), nanPair(), nan);
 } else {
  let o = u.oAccOff + ((it.slot * u.rowStride + j * u.hQ + h) * 512u) + c4 * 4u;
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
 let kind = rowKind(r);
 var v = (rowM[r] + log2(l)) * ln2;
 if (!it.split) {
  if (kind == 2u) { v = bitcast<f32>(u.posInfBits); }
  if (kind == 1u || kind == 3u) { v = nanF32(); }
  lse[u.lseOff + it.batch * u.lseStrideB + h * u.lseStrideH + (it.qStart + j) * u.lseStrideT] = v;
 } else {
  // The combine reads a partial lse: NaN (poisoned), -inf (keys, all -inf), NEG (no key) or finite.
  if (kind == 1u) { v = nanF32(); }
  if (kind == 2u) { v = NEG; }
  if (kind == 3u) { v = negInfF32(); }
  acc[it.slot * u.rowStride + j * u.hQ + h] = v;
 }
}

@compute @workgroup_size(${workgroupSize})
fn main(@builtin(workgroup_id) workgroupId: vec3<u32>, @builtin(local_invocation_index) t: u32) {
 let metaBase = u.metaOff + workgroupId.x * META_FIELDS;
${metaRowLets('metaBase')}
 it.kvh = workgroupId.y;
 it.mBase = workgroupId.z * ${rowsPerTile}u;
 // QK lanes: 8 key groups fastest, then row group, then the other 8 key groups, then slice: a subgroup spans
 // 8 key groups x 4 row groups, so a column costs it one wavefront of q and one of k.
 let keyGroup = t % 8u + 8u * ((t / ${8 * rowGroups}u) % 2u);
 let rowGroup = (t / 8u) % ${rowGroups}u;
 let slice = t / ${16 * rowGroups}u;
 let dBase = slice * ${qkColumnsPerSlice}u;
 let qb0 = dBase * ${rowGroups}u + rowGroup;
 let qb1 = ${stageVec4s}u + qb0;
 ${kbDecl}
 // QK stage loads: lane t carries part t % ${qkPartsPerStage} (8 columns) of key t / ${qkPartsPerStage}, and maybe a part of a q row.
 let kKey = min(t / ${qkPartsPerStage}u, ${keysPerTile - 1}u);
 let kStage = t < ${keysPerTile * qkPartsPerStage}u;
 let kPart8 = (t % ${qkPartsPerStage}u) * 8u;
 let kSwizzle = ${swz('kKey / 4u', `(t % ${qkPartsPerStage}u) * ${8 / qkPartsPerStage}u`)};
 let kC4 = kKey % 4u;
 let kDst = kPart8 * 16u + kSwizzle;
 // q is staged by the last ${rowsPerTile * qkPartsPerStage} lanes, k by the first ${Math.min(keysPerTile * qkPartsPerStage, workgroupSize)}: the work of a stage spreads over all subgroups.
 let qStage = t >= ${workgroupSize - rowsPerTile * qkPartsPerStage}u;
 let qi = select(0u, t - ${workgroupSize - rowsPerTile * qkPartsPerStage}u, qStage);
 let qRow = qi % ${rowsPerTile}u;
 let qPart8 = (qi / ${rowsPerTile}u) * 8u;
 let qDst = qPart8 * ${rowGroups}u + qRow / 4u;
 let qC4 = qRow % 4u;
 // PV lanes: column slot fastest, so a subgroup shares its rows.
 let pvColumnGroup = t % ${pvColumnGroups}u;
 let pvRow0 = ((t / ${pvColumnGroups}u) % ${rowsPerTile / pvRowsPerLane}u) * ${pvRowsPerLane}u;
 let pvRowQuad = pvRow0 / 4u;
 let pvHalf = t / ${workgroupSize / pvKeySplit}u; // which keys of a PV stage this lane takes (kSplit > 1)
 let pvKey0 = pvHalf * ${pvKeysPerLane}u;
 let vb0 = pvKey0 * 128u + pvColumnGroup;
 let vb1 = ${stageVec4s}u + vb0;
 let vIdx = (t / 64u) * 128u + t % 64u; // PV stage stores: key t / 64 (+4 per register), slots t % 64 and +64
 ${Array.from({ length: pvVec4sPerLane }, (_, c) => `let col4_${c} = select(2u * (pvColumnGroup + ${64 * c}u) - 127u, 2u * (pvColumnGroup + ${64 * c}u), pvColumnGroup + ${64 * c}u < 64u);`).join('\n  ')}
 let softmaxRow = t / ${softmaxLanesPerRow}u;
 let softmaxLane = t % ${softmaxLanesPerRow}u;
 ${accDecl}
 ${Array.from({ length: prefetchStages }, (_, i) => `var rA${i} = vec4<u32>(0u); var rB${i} = vec4<u32>(0u);`).join(' ')}

${itemLoopHead}
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
  if (workgroupId.z * ${rowsPerTile}u >= qLen * u.nGroups) { continue; }
  if (t < ${rowsPerTile}u) {
   let j = i32((it.mBase + t) / u.nGroups);
   let vis = select(seqlen, seqlen - i32(it.qLen) + j + 1, u.causal != 0u);
   rowVis[t] = min(vis, kEnd);
   atomicStore(&rowBad[t], 0u);
  }
  if (t == 0u) { atomicStore(&diagNF, 0u); }
  // This lane's q row for staging (rows past the item's queries stage zeros).
  let qm = it.mBase + qRow;
  let qValid = qStage && qm < it.qLen * u.nGroups;
  let qBase = ((it.qStart + qm / max(u.nGroups, 1u)) * u.hQ + it.kvh * u.nGroups + qm % u.nGroups) * ${qkVec4sPerRow}u + u.qOff + qPart8 / 8u;
  var m = NEG;
  var l = 0.0;
  ${zeroAcc}

  for (var k0 = kBegin; k0 < kEnd; k0 += ${keysPerTile}) {
   workgroupBarrier();
   if (t < ${keysPerTile}u) {
    let key = k0 + i32(t);
    if (key < kEnd) {
${keyRowLookup(cacheBindings, 'it.kvh')}
    } else {
     keySeg[t] = NONE;
    }
   }
   workgroupBarrier();
   let diagKey = rowVis[0]; // keys from here on are masked for some row of the tile
   let kSeg = select(NONE, keySeg[kKey], kStage);
   let kRow = keyRow[kKey] + kPart8 / 8u;
   ${Array.from({ length: prefetchStages }, (_, i) => `{ ${loadQk(`${i}u`, i)} }`).join('\n      ')}
   var s0 = vec4<f32>(0.0); var s1 = vec4<f32>(0.0); var s2 = vec4<f32>(0.0); var s3 = vec4<f32>(0.0);
   ${qkStagesPerIteration > 1 ? `for (var ci = 0u; ci < ${qkStages / qkStagesPerIteration}u; ci++) {
    let c = ci * ${qkStagesPerIteration}u;
    ${range(qkStagesPerIteration).map((i) => `// stage c + ${i}: buffer ${i & 1}
    ${commitQk(i & 1, i % prefetchStages)}
    { let nextStage = c + ${i + prefetchStages}u; ${refillQk('nextStage', i % prefetchStages)} }
    workgroupBarrier();
    ${computeQk(i & 1)}`).join('\n        ')}
   }` : `for (var c = 0u; c < ${qkStages}u; c++) {
    let bufOffset = (c & 1u) * ${stageVec4s}u;
    ${commitQk(-1, 0)}
    ${rotate}
    { let nextStage = c + ${prefetchStages}u; ${refillQk('nextStage', prefetchStages - 1)} }
    workgroupBarrier();
    ${computeQk(-1)}
   }`}${sliceReduce}
   if (slice == 0u) {
    // Scores of keys keyGroup*4 .. +3 for rows rowGroup*4 .. +3, masked by selecting (unused keys may be NaN).
    let vis = vec4<i32>(rowVis[rowGroup * 4u], rowVis[rowGroup * 4u + 1u], rowVis[rowGroup * 4u + 2u], rowVis[rowGroup * 4u + 3u]);
    let key0 = k0 + i32(keyGroup * 4u);
    ${r4.map((j) => `tileScores[(keyGroup * 4u + ${j}u) * ${rowGroups}u + rowGroup] = select(vec4<f32>(NEG), vec4<f32>(s0.${comp[j]}, s1.${comp[j]}, s2.${comp[j]}, s3.${comp[j]}) * u.scaleLog2, vec4<i32>(key0 + ${j}) < vis);`).join('\n        ')}
   }
   workgroupBarrier();
   // Online softmax, exp2 domain: lanes softmaxRow*tpr .. +tpr-1 own row softmaxRow and keep its m and l.
   // A NaN or +inf score makes the row NaN (as in the reference); it is kept out of the max, whose result WGSL
   // leaves open for NaN, and flagged by its bits. A -inf score is a key with p = 0.
   var mx = NEG;
   var bad = false;
   for (var i = 0u; i < ${softmaxKeysPerLane}u; i++) {
    let sc = tileScores[(softmaxLane + i * ${softmaxLanesPerRow}u) * ${rowGroups}u + softmaxRow / 4u][softmaxRow % 4u];
    let nf = nonFinite(sc);
    bad = bad | (nf & !isNegInf(sc)); // | and &: no short-circuit branches in the loop
    mx = max(mx, select(sc, NEG, nf));
   }
   if (bad) { atomicOr(&rowBad[softmaxRow], 1u); }
   mx = rowMax(mx, t);
   let mNew = max(m, mx);
   var sum = 0.0;
   for (var i = 0u; i < ${softmaxKeysPerLane}u; i++) {
    let o = (softmaxLane + i * ${softmaxLanesPerRow}u) * ${rowGroups}u + softmaxRow / 4u;
    let sc = tileScores[o][softmaxRow % 4u];
    let p = select(0.0, exp2(sc - mNew), sc > NEG * 0.5);
    tileScores[o][softmaxRow % 4u] = p;
    sum += p;
   }
   sum = rowSum(sum, t);
   let alpha = exp2(m - mNew);
   l = l * alpha + sum;
   m = mNew;
   if (softmaxLane == 0u) { rowAlpha[softmaxRow] = alpha; }
   workgroupBarrier();
   ${rescale}
   ${pvStagesPerIteration > 1 ? `for (var vi = 0u; vi < ${pvStages / pvStagesPerIteration}u; vi++) {
    let v = vi * ${pvStagesPerIteration}u; // unit-step counters: the WGSL compiler bounds what derives from them (no clamps)
    ${range(pvStagesPerIteration).map((i) => `// PV stage v + ${i}: buffer ${i & 1}
    ${commitV(i & 1, i % prefetchStages)}
    { let nextStage = v + ${i + prefetchStages}u; if (nextStage < ${pvStages}u) { ${loadV('nextStage', i % prefetchStages)} } }
    workgroupBarrier();
    ${computePv(i & 1, `v + ${i}u`)}`).join('\n        ')}
   }` : `for (var v = 0u; v < ${pvStages}u; v++) {
    let bufOffset = (v & 1u) * ${stageVec4s}u;
    ${commitV(-1, 0)}
    ${rotate}
    { let nextStage = v + ${prefetchStages}u; if (nextStage < ${pvStages}u) { ${loadV('nextStage', prefetchStages - 1)} } }
    workgroupBarrier();
    ${computePv(-1, 'v')}
   }`}
   if (atomicLoad(&diagNF) != 0u) {
    for (var kk = u32(max(diagKey - k0, 0)); kk < ${keysPerTile}u; kk++) {
     let sg = keySeg[kk];
     if (sg == NONE) { continue; }
     ${diagFixup}
    }
   }
  }
  if (softmaxLane == 0u) { rowM[softmaxRow] = m; rowL[softmaxRow] = l; }
  workgroupBarrier();
  ${finish}
  if (t < ${rowsPerTile}u) { writeLse(t); }
  workgroupBarrier();
 }
}
`;
  },
};
