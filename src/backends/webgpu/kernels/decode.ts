// Split-KV MLA decode, one workgroup per (SM part, KV head, tile of mT query rows); the WGSL is generated per
// specialisation. Roofline, versions and H100 numbers: docs/notes/webgpu-decode.md (v3).
//
// A 64-key tile is a pipeline of stages: 576/dc QK stages (S = Q K^T over dc columns), the softmax, then 64/kc PV
// stages (O += P V over kc keys). Every stage's slice of the cache (and of q) is loaded into registers `pf` stages
// ahead, written unpacked into one of two workgroup buffers, and consumed after one barrier: global latency hides
// behind the previous stages' arithmetic and each stage costs one barrier. QK keeps a 4-row x 4-key register
// microtile per lane (small tiles split the columns over lane slices, summed once per tile); scores are masked by
// selecting (unused keys may be NaN); the online softmax works in the exp2 domain; P V keeps ro rows x cw columns per
// lane with the rows shared by a subgroup, so P loads broadcast. Keys past kEnd are never loaded. The cache may
// span several bindings (`segs`), each holding whole pages.
import type { HalfDType } from '../../../core/dtype.js';
import type { MlaProblem } from '../../../core/problem.js';
import { defineParams } from '../params.js';
import type { DeviceCaps, Dispatch, Program } from '../program.js';
import { nanWgsl } from './nan.js';

export const wgSize = 256;
export const nT = 64; // keys per tile (FlashMLA's blockSizeN)
const dQk = 576;
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
  /** Columns of q/k per QK stage: 16 or 32. */
  dc: number;
  /** Keys of V per PV stage: 4 or 8. */
  kc: number;
  /** Stages loaded ahead into registers: 1 or 2. */
  pf: number;
  /**
   * Stages per loop iteration, at most (each loop takes the largest even divisor of its stage count up to this):
   * 1 (a runtime buffer offset, least code), 2, 4 or 6 (buffer offsets and register slots constant).
   */
  unroll: number;
  /** Cache bindings. */
  segs: number;
  /** Row reductions by subgroup shuffles (lanes of one row are consecutive invocations of one subgroup). */
  subgroups: boolean;
  /** Multiply-adds written a * b + c (left to the driver to fuse) instead of the fma() builtin. */
  mulAdd: boolean;
}

/** The knobs a benchmark may force (everything else follows from the problem and the device). */
export type DecodeTuning = Partial<Pick<DecodeSpec, 'mT' | 'dc' | 'kc' | 'pf' | 'unroll'>>;

/**
 * Thread geometry of a tile size. QK: every lane owns a 4-row x 4-key microtile of a column slice of each stage,
 * so small tiles split the columns (qkSlices) instead of shrinking the microtile. PV: every lane owns ro rows x
 * cw columns, rows shared by a whole subgroup so P loads broadcast.
 */
export function decodeGeometry(mT: number): { rowGroups: number; qkSlices: number; cw: number; colGroups: number; ro: number; kSplit: number } {
  const rowGroups = mT / 4;
  const qkSlices = wgSize / (16 * rowGroups);
  const cw = mT === 64 ? 8 : 4;
  const colGroups = 512 / cw;
  // 16-row tiles: every lane keeps all 16 rows (4 broadcast P loads per V load, not 2) and the two halves of the
  // workgroup take alternate halves of each PV stage's keys, summed at the end of the item.
  const kSplit = mT === 16 ? 2 : 1;
  return { rowGroups, qkSlices, cw, colGroups, ro: (mT * colGroups * kSplit) / wgSize, kSplit };
}

/** vec4 slots of one stage buffer: the larger of a QK stage (q and k columns) and a PV stage (kc rows of V). */
function stageVec4s(mT: number, dc: number, kc: number): number {
  return Math.max(dc * (mT / 4 + nT / 4), kc * 128);
}

/** Workgroup memory of a specialisation, array by array as the WGSL declares them. */
function decodeSharedBytes(mT: number, dc: number, kc: number, subgroups: boolean): number {
  return 16 * (2 * stageVec4s(mT, dc, kc) + (mT * nT) / 4) + 4 * (2 * nT + 5 * mT) + (subgroups ? 0 : wgSize * 4);
}

/** Whether a (mT, dc, kc, pf) combination satisfies the kernel's layout rules on a device. */
function fits(mT: number, dc: number, kc: number, pf: number, limit: number, subgroups: boolean): boolean {
  const { rowGroups, qkSlices } = decodeGeometry(mT);
  const dS = dc / qkSlices;
  const slicePartials = (qkSlices - 1) * 4 * 16 * rowGroups; // vec4s of the slice reduction (stage buffers)
  return (dc === 16 || dc === 32) && (kc === 4 || kc === 8) && (pf === 1 || pf === 2) && dS >= 8 && dS % 8 === 0
    && (dQk / dc) % 2 === 0 && (nT / kc) % 2 === 0 && slicePartials <= 2 * stageVec4s(mT, dc, kc)
    && decodeSharedBytes(mT, dc, kc, subgroups) <= limit;
}

/** Choose the specialisation for a problem on a device: the largest tiles and stages that fit its workgroup memory. */
export function chooseDecodeSpec(p: MlaProblem, caps: DeviceCaps, segs: number, mulAdd = false, tune: DecodeTuning = {}): DecodeSpec {
  const rows = p.sQ * p.nGroups;
  const limit = caps.maxComputeWorkgroupStorageSize;
  let mT = tune.mT ?? (rows <= 16 ? 16 : rows <= 32 ? 32 : 64);
  for (;;) {
    const subgroups = caps.subgroups && caps.subgroupMinSize >= wgSize / mT;
    for (const [dc, kc] of [[32, 8], [32, 4], [16, 8], [16, 4]]) {
      const d = tune.dc ?? dc, k = tune.kc ?? kc, pf = tune.pf ?? 2;
      if (fits(mT, d, k, pf, limit, subgroups)) return { dtype: p.dtype, mT, dc: d, kc: k, pf, unroll: tune.unroll ?? 2, segs, subgroups, mulAdd };
    }
    if (mT === 16) throw new Error(`workgroup memory ${limit} B is too small for the decode kernel (or the forced tuning ${JSON.stringify(tune)} does not fit)`);
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
    : `fn pack2(v: vec2<f32>) -> u32 { // pack2x16float leaves NaN indeterminate: write f16's quiet NaN ourselves
  let w = pack2x16float(v);
  let n = (bitcast<vec2<u32>>(v) & vec2<u32>(0x7fffffffu)) > vec2<u32>(0x7f800000u);
  return select(w & 0xffffu, 0x7e00u, n.x) | select(w & 0xffff0000u, 0x7e000000u, n.y);
}`;
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
  key: (s) => `${s.dtype}.m${s.mT}.dc${s.dc}.kc${s.kc}.pf${s.pf}.u${s.unroll}.seg${s.segs}.${s.subgroups ? 'sg' : 'wg'}.${s.mulAdd ? 'mad' : 'fma'}`,
  source(s) {
    const { mT, dc, kc, pf, segs } = s;
    const { rowGroups: rgN, qkSlices: S, cw, colGroups, ro, kSplit } = decodeGeometry(mT);
    const kh = kc / kSplit; // keys of a PV stage per lane
    const dS = dc / S; // columns of a stage per QK slice (a multiple of 8: whole parts)
    const cv = dc / 8; // vec4<u32> (parts of 8 columns) per row per QK stage
    const half = stageVec4s(mT, dc, kc); // vec4s of one stage buffer
    const kOff = dc * rgN; // k columns after the q columns in a QK stage buffer
    const nQ = dQk / dc, nV = nT / kc; // stages per tile
    const tpr = wgSize / mT; // lanes per row in the softmax
    const kpl = nT / tpr; // keys per lane in the softmax
    const nc = cw / 4; // vec4 columns per PV lane
    const vRegs = kc / 4; // vec4<u32> of V a lane loads per PV stage (1 or 2)
    const expMask = s.dtype === 'bf16' ? 0x7f80 : 0x7c00; // exponent field of a half: all ones = NaN or inf
    const mad = (a: string, b: string, c: string) => (s.mulAdd ? `${a} * ${b} + ${c}` : `fma(${a}, ${b}, ${c})`);
    const enables = s.subgroups ? 'enable subgroups;' : '';
    const kBindings = Array.from({ length: segs }, (_, i) => `@group(0) @binding(${6 + i}) var<storage, read> k${i}: array<vec4<u32>>;`).join('\n');
    const comp = ['x', 'y', 'z', 'w'];
    const r4 = [0, 1, 2, 3];
    const rotate = s.unroll === 1 && pf === 2 ? 'rA0 = rA1; rB0 = rB1;' : '';
    const range = (n: number) => Array.from({ length: n }, (_, i) => i);
    // Stages per loop iteration: the largest even divisor of the stage count up to s.unroll (1: no unrolling).
    const unrollOf = (n: number) => (s.unroll === 1 ? 1 : Math.max(...range(s.unroll + 1).filter((u) => u >= 2 && u % 2 === 0 && n % u === 0)));
    const uQ = unrollOf(nQ), uV = unrollOf(nV);
    const at = (b: number, k: number) => (b < 0 ? `bo + ${k}u` : `${b * half + k}u`); // stage buffer b (-1: runtime bo)
    const slotA = (i: number) => `rA${pf === 2 ? i : 0}`;
    const slotB = (i: number) => `rB${pf === 2 ? i : 0}`;
    // ---- stage loads (registers), commits (registers -> stage buffer b) and computes (stage buffer b)
    const loadQk = (c: string, i: number) => `${slotA(i)} = vec4<u32>(0u); ${slotB(i)} = vec4<u32>(0u);
    if (kSeg != NONE) { ${slotA(i)} = loadK(kSeg, kRow + (${c}) * ${cv}u); }
    if (qValid) { ${slotB(i)} = q[qBase + (${c}) * ${cv}u]; }`;
    // V of a key that some row of the tile must not see (causal diagonal, keys up to kEnd) is loaded for every row;
    // its P is 0 there, and 0 * NaN or 0 * inf would put a NaN the reference never computes into that row. So V of
    // keys from the first row's visible end on has its NaN/inf halves zeroed, and diagNF notes that it happened.
    // A key with a NaN/inf V element has a NaN or infinite score in every row that sees it: NaN or +inf makes the
    // row NaN anyway; -inf gives p = 0 and, in the reference, 0 * inf = NaN in exactly those columns, which
    // diagFixup (below) then writes into the accumulators of the rows that see the key.
    const loadV = (v: string, i: number) => Array.from({ length: vRegs }, (_, j) => {
      const reg = j === 0 ? slotA(i) : slotB(i);
      return `{ let kk = (${v}) * ${kc}u + ${j * 4}u + t / 64u; let sg = keySeg[kk]; ${reg} = vec4<u32>(0u);
    if (sg != NONE) { ${reg} = loadK(sg, keyRow[kk] + t % 64u); if (k0 + i32(kk) >= diagKey) { let f = finiteHalves(${reg}); if (any(f != ${reg})) { atomicOr(&diagNF, 1u); } ${reg} = f; } } }`;
    }).join('\n        ');
    const refillQk = (stage: string, i: number) => `if (${stage} < ${nQ}u) {
    ${loadQk(stage, i)}
   } else {
    ${loadV(`${stage} - ${nQ}u`, i)}
   }`;
    // The four words of a part: unrolled for 64-row tiles, a loop for smaller ones (measured on the H100,
    // docs/notes/webgpu-decode.md v3: unrolling cost 16- and 32-row tiles 28-39 % and gained 64-row tiles 6 %).
    const commitQk = (b: number, i: number) => {
      if (mT < 64) {
        return `for (var e = 0u; e < 4u; e++) {
        if (kStage) {
          let kv = unpack2(${slotA(i)}[e]);
          B[${at(b, kOff)} + (kPart8 + 2u * e) * 16u + kSw][kC4] = kv.x;
          B[${at(b, kOff)} + (kPart8 + 2u * e + 1u) * 16u + kSw][kC4] = kv.y;
        }
        if (qStage) {
          let qv = unpack2(${slotB(i)}[e]);
          B[${at(b, 0)} + (qPart8 + 2u * e) * ${rgN}u + qRow / 4u][qRow % 4u] = qv.x;
          B[${at(b, 0)} + (qPart8 + 2u * e + 1u) * ${rgN}u + qRow / 4u][qRow % 4u] = qv.y;
        }
      }`;
      }
      const k = [0, 1, 2, 3].map((e) => `{ let x = unpack2(${slotA(i)}.${comp[e]}); B[${at(b, kOff + 32 * e)} + kDst][kC4] = x.x; B[${at(b, kOff + 32 * e + 16)} + kDst][kC4] = x.y; }`);
      const q = [0, 1, 2, 3].map((e) => `{ let x = unpack2(${slotB(i)}.${comp[e]}); B[${at(b, 2 * e * rgN)} + qDst][qC4] = x.x; B[${at(b, (2 * e + 1) * rgN)} + qDst][qC4] = x.y; }`);
      return `if (kStage) {\n        ${k.join('\n        ')}\n      }\n      if (qStage) {\n        ${q.join('\n        ')}\n      }`;
    };
    const computeQk = (b: number) => {
      const lines: string[] = [];
      for (let j = 0; j < dS; j++) {
        const qb = b < 0 ? 'qb0 + bo' : `qb${b}`, kb = b < 0 ? `kb0_${j >> 3} + bo` : `kb${b}_${j >> 3}`;
        lines.push(`{ let qv = B[${qb} + ${j * rgN}u]; let kv = B[${kb} + ${j * 16}u]; ${r4.map((i) => `s${i} = ${mad(`vec4<f32>(qv.${comp[i]})`, 'kv', `s${i}`)};`).join(' ')} }`);
      }
      return lines.join('\n      ');
    };
    const commitV = (b: number, i: number) => Array.from({ length: vRegs }, (_, j) => {
      const reg = j === 0 ? slotA(i) : slotB(i);
      return `B[${at(b, j * 512)} + vIdx] = vec4<f32>(unpack2(${reg}.x), unpack2(${reg}.y));
   B[${at(b, j * 512 + 64)} + vIdx] = vec4<f32>(unpack2(${reg}.z), unpack2(${reg}.w));`;
    }).join('\n      ');
    const acc = (i: number, c: number) => `a${i}_${c}`;
    const accList: string[] = [];
    for (let i = 0; i < ro; i++)
      for (let c = 0; c < nc; c++)
        accList.push(acc(i, c));
    const computePv = (b: number, v: string) => {
      const lines = [`{ let pBase = (${v}) * ${kc * rgN}u + pvKey0 * ${rgN}u + rowQ;`];
      for (let k = 0; k < kh; k++) {
        const vl = Array.from({ length: nc }, (_, c) => `let v${c} = B[${b < 0 ? 'vb0 + bo' : `vb${b}`} + ${k * 128 + 64 * c}u];`).join(' ');
        const pl = Array.from({ length: ro / 4 }, (_, g) => `let p${g} = Ps[pBase + ${k * rgN + g}u];`).join(' ');
        const body: string[] = [];
        for (let i = 0; i < ro; i++)
          for (let c = 0; c < nc; c++)
            body.push(`${acc(i, c)} = ${mad(`vec4<f32>(p${i >> 2}.${comp[i & 3]})`, `v${c}`, acc(i, c))};`);
        lines.push(`{ ${vl} ${pl}\n        ${body.join(' ')} }`);
      }
      return `${lines.join('\n      ')} }`;
    };
    const accDecl = accList.map((a) => `var ${a} = vec4<f32>(0.0);`).join(' ');
    const zeroAcc = accList.map((a) => `${a} = vec4<f32>(0.0);`).join(' ');
    const rescale = Array.from({ length: ro }, (_, i) => `{ let al = rowAlpha[rowP + ${i}u]; ${Array.from({ length: nc }, (_, c) => `${acc(i, c)} *= al;`).join(' ')} }`).join(' ');
    // Slot j of a V row holds columns 8j..8j+3 (j < 64) or 8(j-64)+4.. (j >= 64): lane colP's slot colP + 64c.
    const writeRows = Array.from({ length: ro }, (_, i) => Array.from({ length: nc }, (_, c) => `writeQuad(rowP + ${i}u, col4_${c}, ${acc(i, c)});`).join(' ')).join('\n    ');
    // End of an item: with split keys, sum the halves' accumulators 8 rows at a time through the stage buffers
    // (the first barrier lets every lane finish reading the last PV stage), then the first half writes.
    const merge = [0, 1].map((h) => `workgroupBarrier();
  if (pvHalf == 1u) { ${Array.from({ length: 8 }, (_, i) => `B[${i * 128}u + colP] = ${acc(h * 8 + i, 0)};`).join(' ')} }
  workgroupBarrier();
  if (pvHalf == 0u) { ${Array.from({ length: 8 }, (_, i) => `${acc(h * 8 + i, 0)} += B[${i * 128}u + colP];`).join(' ')} }`).join('\n    ');
    const finish = kSplit === 1 ? writeRows : `${merge}\n    if (pvHalf == 0u) {\n    ${writeRows}\n    }`;
    // Columns 4 col4_c .. +3 of key kk: NaN in the accumulators of this lane's rows that see the key, where V is
    // NaN or inf (the rare path: only after diagNF was set).
    const diagFixup = Array.from({ length: nc }, (_, c) => `{ let w = loadK(sg, keyRow[kk] + col4_${c} / 2u);
      let h = select(w.xy, w.zw, col4_${c} % 2u == 1u);
      let nf = vec4<bool>((h.x & ${expMask}) == ${expMask}, (h.x & ${expMask << 16 >>> 0}u) == ${expMask << 16 >>> 0}u, (h.y & ${expMask}) == ${expMask}, (h.y & ${expMask << 16 >>> 0}u) == ${expMask << 16 >>> 0}u);
      ${Array.from({ length: ro }, (_, i) => `if (k0 + i32(kk) < rowVis[rowP + ${i}u]) { ${acc(i, c)} = select(${acc(i, c)}, vec4<f32>(nanF32()), nf); }`).join('\n      ')} }`).join('\n     ');
    const sliceBase = (z: string, i: number) => `((${z}) * 4u + ${i}u) * ${16 * rgN}u + rg * 16u + kgrp`;
    // The slice partials fill stage buffer 0 (free: the last QK stage used buffer 1) and, when larger, buffer 1
    // as well, after a barrier that lets every lane finish reading it.
    const srWide = (S - 1) * 4 * 16 * rgN > half;
    const sliceReduce = S === 1 ? '' : `${srWide ? '\n    workgroupBarrier();' : ''}
  if (slice != 0u) { ${r4.map((i) => `B[${sliceBase('slice - 1u', i)}] = s${i};`).join(' ')} }
  workgroupBarrier();
  if (slice == 0u) {
   for (var z = 0u; z < ${S - 1}u; z++) { ${r4.map((i) => `s${i} += B[${sliceBase('z', i)}];`).join(' ')} }
  }`;
    // k columns of a QK stage are stored [col][key / 4 permuted by the part of col], so the transposing writes of
    // the 8 parts' lanes fall in distinct banks; a reading lane's part is fixed per group of 8 columns. 16/32-row
    // tiles permute by rotation, which the WGSL compiler can bound (no clamp on these loads and stores): 3 % faster
    // on the H100. 64-row tiles keep the XOR: rotation there made them 16 % slower (docs/notes/webgpu-decode.md).
    const swz = (g: string, sh: string) => (mT < 64 ? `(${g} + ${sh}) % 16u` : `((${g}) ^ (${sh}))`);
    const kbDecl = [0, 1].map((b) => Array.from({ length: dS / 8 }, (_, m) => `let kb${b}_${m} = ${b * half + kOff}u + dBase * 16u + ${swz('kgrp', `((dBase / 8u + ${m}u) % ${cv}u) * ${8 / cv}u`)};`).join('\n  ')).join('\n  ');
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
const NONE: u32 = 0xffffffffu;
// Two stage buffers of ${half} vec4 each. QK stage: q columns [col][row / 4], then k columns [col][key / 4 ^ swz];
// PV stage: kc rows of V, [key][slot]. Slice partial sums of QK reuse the buffers between the stages.
var<workgroup> B: array<vec4<f32>, ${2 * half}>;
var<workgroup> Ps: array<vec4<f32>, ${(mT * nT) / 4}>;   // scores, then probabilities [key][row / 4]
var<workgroup> keyRow: array<u32, ${nT}>;
var<workgroup> keySeg: array<u32, ${nT}>;
var<workgroup> rowAlpha: array<f32, ${mT}>;
var<workgroup> rowM: array<f32, ${mT}>;
var<workgroup> rowL: array<f32, ${mT}>;
var<workgroup> rowVis: array<i32, ${mT}>;
var<workgroup> rowBad: array<atomic<u32>, ${mT}>; // the row saw a NaN or +inf score: its out and lse are NaN
var<workgroup> diagNF: atomic<u32>; // a masked-for-some-row key of this item had a NaN/inf V element (zeroed)
${s.subgroups ? '' : `var<workgroup> red: array<f32, ${wgSize}>;`}

${unpackWgsl(s.dtype)}
${packWgsl(s.dtype)}
${nanWgsl(s.dtype, 'u.posInfBits')}
${segmentLoader(segs)}
${rowReduce('rowMax', 'max', tpr, s.subgroups)}
${rowReduce('rowSum', 'add', tpr, s.subgroups)}

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
 // QK lanes: 8 key groups fastest, then row group, then the other 8 key groups, then slice: a subgroup spans
 // 8 key groups x 4 row groups, so a column costs it one wavefront of q and one of k.
 let kgrp = t % 8u + 8u * ((t / ${8 * rgN}u) % 2u);
 let rg = (t / 8u) % ${rgN}u;
 let slice = t / ${16 * rgN}u;
 let dBase = slice * ${dS}u;
 let qb0 = dBase * ${rgN}u + rg;
 let qb1 = ${half}u + qb0;
 ${kbDecl}
 // QK stage loads: lane t carries part t % ${cv} (8 columns) of key t / ${cv}, and maybe a part of a q row.
 let kKey = min(t / ${cv}u, ${nT - 1}u);
 let kStage = t < ${nT * cv}u;
 let kPart8 = (t % ${cv}u) * 8u;
 let kSw = ${swz('kKey / 4u', `(t % ${cv}u) * ${8 / cv}u`)};
 let kC4 = kKey % 4u;
 let kDst = kPart8 * 16u + kSw;
 // q is staged by the last ${mT * cv} lanes, k by the first ${Math.min(nT * cv, wgSize)}: the work of a stage spreads over all subgroups.
 let qStage = t >= ${wgSize - mT * cv}u;
 let qi = select(0u, t - ${wgSize - mT * cv}u, qStage);
 let qRow = qi % ${mT}u;
 let qPart8 = (qi / ${mT}u) * 8u;
 let qDst = qPart8 * ${rgN}u + qRow / 4u;
 let qC4 = qRow % 4u;
 // PV lanes: column slot fastest, so a subgroup shares its rows.
 let colP = t % ${colGroups}u;
 let rowP = ((t / ${colGroups}u) % ${mT / ro}u) * ${ro}u;
 let rowQ = rowP / 4u;
 let pvHalf = t / ${wgSize / kSplit}u; // which keys of a PV stage this lane takes (kSplit > 1)
 let pvKey0 = pvHalf * ${kh}u;
 let vb0 = pvKey0 * 128u + colP;
 let vb1 = ${half}u + vb0;
 let vIdx = (t / 64u) * 128u + t % 64u; // PV stage stores: key t / 64 (+4 per register), slots t % 64 and +64
 ${Array.from({ length: nc }, (_, c) => `let col4_${c} = select(2u * (colP + ${64 * c}u) - 127u, 2u * (colP + ${64 * c}u), colP + ${64 * c}u < 64u);`).join('\n  ')}
 let sRow = t / ${tpr}u;
 let sLane = t % ${tpr}u;
 ${accDecl}
 ${Array.from({ length: pf }, (_, i) => `var rA${i} = vec4<u32>(0u); var rB${i} = vec4<u32>(0u);`).join(' ')}

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
   atomicStore(&rowBad[t], 0u);
  }
  if (t == 0u) { atomicStore(&diagNF, 0u); }
  // This lane's q row for staging (rows past the item's queries stage zeros).
  let qm = it.mBase + qRow;
  let qValid = qStage && qm < it.qLen * u.nGroups;
  let qBase = ((it.qStart + qm / max(u.nGroups, 1u)) * u.hQ + it.kvh * u.nGroups + qm % u.nGroups) * ${qkVec4}u + u.qOff + qPart8 / 8u;
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
     keySeg[t] = NONE;
    }
   }
   workgroupBarrier();
   let diagKey = rowVis[0]; // keys from here on are masked for some row of the tile
   let kSeg = select(NONE, keySeg[kKey], kStage);
   let kRow = keyRow[kKey] + kPart8 / 8u;
   ${Array.from({ length: pf }, (_, i) => `{ ${loadQk(`${i}u`, i)} }`).join('\n      ')}
   var s0 = vec4<f32>(0.0); var s1 = vec4<f32>(0.0); var s2 = vec4<f32>(0.0); var s3 = vec4<f32>(0.0);
   ${uQ > 1 ? `for (var ci = 0u; ci < ${nQ / uQ}u; ci++) {
    let c = ci * ${uQ}u;
    ${range(uQ).map((i) => `// stage c + ${i}: buffer ${i & 1}
    ${commitQk(i & 1, i % pf)}
    { let nx = c + ${i + pf}u; ${refillQk('nx', i % pf)} }
    workgroupBarrier();
    ${computeQk(i & 1)}`).join('\n        ')}
   }` : `for (var c = 0u; c < ${nQ}u; c++) {
    let bo = (c & 1u) * ${half}u;
    ${commitQk(-1, 0)}
    ${rotate}
    { let nx = c + ${pf}u; ${refillQk('nx', pf - 1)} }
    workgroupBarrier();
    ${computeQk(-1)}
   }`}${sliceReduce}
   if (slice == 0u) {
    // Scores of keys kgrp*4 .. +3 for rows rg*4 .. +3, masked by selecting (unused keys may be NaN).
    let vis = vec4<i32>(rowVis[rg * 4u], rowVis[rg * 4u + 1u], rowVis[rg * 4u + 2u], rowVis[rg * 4u + 3u]);
    let key0 = k0 + i32(kgrp * 4u);
    ${r4.map((j) => `Ps[(kgrp * 4u + ${j}u) * ${rgN}u + rg] = select(vec4<f32>(NEG), vec4<f32>(s0.${comp[j]}, s1.${comp[j]}, s2.${comp[j]}, s3.${comp[j]}) * u.scaleLog2, vec4<i32>(key0 + ${j}) < vis);`).join('\n        ')}
   }
   workgroupBarrier();
   // Online softmax, exp2 domain: lanes sRow*tpr .. +tpr-1 own row sRow and keep its m and l.
   // A NaN or +inf score makes the row NaN (as in the reference); it is kept out of the max, whose result WGSL
   // leaves open for NaN, and flagged by its bits. A -inf score is a key with p = 0.
   var mx = NEG;
   var bad = false;
   for (var i = 0u; i < ${kpl}u; i++) {
    let sc = Ps[(sLane + i * ${tpr}u) * ${rgN}u + sRow / 4u][sRow % 4u];
    let nf = nonFinite(sc);
    bad = bad | (nf & !isNegInf(sc)); // | and &: no short-circuit branches in the loop
    mx = max(mx, select(sc, NEG, nf));
   }
   if (bad) { atomicOr(&rowBad[sRow], 1u); }
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
   ${uV > 1 ? `for (var vi = 0u; vi < ${nV / uV}u; vi++) {
    let v = vi * ${uV}u; // unit-step counters: the WGSL compiler bounds what derives from them (no clamps)
    ${range(uV).map((i) => `// PV stage v + ${i}: buffer ${i & 1}
    ${commitV(i & 1, i % pf)}
    { let nx = v + ${i + pf}u; if (nx < ${nV}u) { ${loadV('nx', i % pf)} } }
    workgroupBarrier();
    ${computePv(i & 1, `v + ${i}u`)}`).join('\n        ')}
   }` : `for (var v = 0u; v < ${nV}u; v++) {
    let bo = (v & 1u) * ${half}u;
    ${commitV(-1, 0)}
    ${rotate}
    { let nx = v + ${pf}u; if (nx < ${nV}u) { ${loadV('nx', pf - 1)} } }
    workgroupBarrier();
    ${computePv(-1, 'v')}
   }`}
   if (atomicLoad(&diagNF) != 0u) {
    for (var kk = u32(max(diagKey - k0, 0)); kk < ${nT}u; kk++) {
     let sg = keySeg[kk];
     if (sg == NONE) { continue; }
     ${diagFixup}
    }
   }
  }
  if (sLane == 0u) { rowM[sRow] = m; rowL[sRow] = l; }
  workgroupBarrier();
  ${finish}
  if (t < ${mT}u) { writeLse(t); }
  workgroupBarrier();
 }
}
`;
  },
};
