// Split-KV MLA decode on subgroup matrices, v4: four 32-lane subgroups a workgroup (docs/notes/webgpu-matrix-kernel.md,
// "v4"). Same bindings, params, schedule and split-KV accumulators as kernels/decode.ts and kernels/decode-matrix.ts
// (v3, one subgroup a workgroup), so the combine is shared and the range rules are v3's.
//
// The module switches `chromium.subgroup_matrix_uniformity` off: every matrix offset below depends on the subgroup
// index sg = local_invocation_index / 32, which is uniform within its subgroup (all the hardware needs) but not to
// WGSL's workgroup-level analysis. The H200 probe of 2026-11-29 (results/gpu-host/bench/webgpu-h200-2026-11-29-s6-
// probe.json) showed both per-subgroup forms compile and compute right under that diagnostic.
//
// One workgroup per (SM part, KV head, 16 query rows); 128 lanes. Lane t: sg = t / 32, row r = t % 16 of the tile,
// half hh = (t % 32) / 16. Per 64-key tile:
// - QK, 18 chunks of 32 columns: lanes 0..63 convert key t's 32 values (k chunk stored transposed, [col][key], so
//   lanes write consecutive keys), lanes 64..79 convert q row t - 64 (q is not resident: 18 KiB of f16 would not fit
//   lavapipe's 32 KiB beside the rest); the next chunk's words are loaded into registers right after. Subgroup sg
//   then multiplies S[16 rows][its 16 keys] into a fresh result, and lane t adds row r, keys 8 hh .. 8 hh + 7 of it
//   into 8 score registers times qScale[r] * kScale[key] (the per-block scales leave the product chunk by chunk).
// - Softmax in registers: the 8 lanes of a row (2 a subgroup) exchange partial maxima and sums through two small
//   arrays; P rounds to f16 into workgroup memory.
// - PV: subgroup sg owns columns 128 sg .. 128 sg + 127 of O, 32 a chunk: its lanes convert 64 keys x 32 columns of V
//   (lane: keys 2 l and 2 l + 1) into its own region, multiply P (loaded once a tile into 4 left matrices) by it, and
//   lane t adds row r, columns 16 hh .. 16 hh + 15 of the fresh result into O times vScale, after O * alpha. O lives
//   in registers: 64 a lane (4 chunks x 16), never in workgroup memory.
//
// Range (v3's rules, docs/notes/webgpu-matrix-kernel.md): q per (row, 32-column chunk), k per (key, 32-column chunk),
// v per (32-column block, 64-key tile): the largest finite magnitude of a block goes to [1, 2) by a power of two.
// v's block maxima come free from the k conversion (the same values: columns < 512), folded by atomicMax; v3 took
// one scale per column, here 32 columns share one (the same error bound, relative to a block's largest instead of a
// column's). NaN: a NaN in a q or k block makes its scale NaN, so exactly the scores it touches are NaN; NaN in V
// is zeroed (the rows that see such a key are NaN through their score).
//
// `emulate` replaces the three builtins by scalar loops over the same workgroup arrays, each subgroup's 32 lanes
// computing that subgroup's product at the same per-subgroup offsets (test/long/webgpu-matrix-emu.test.ts).
import type { HalfDType } from '../../../core/dtype.js';
import { metadataWgsl } from '../../../core/constants.js';
import { FlashMlaError } from '../../../core/errors.js';
import type { MlaProblem } from '../../../core/problem.js';
import type { DeviceCaps, Dispatch, Program } from '../program.js';
import { type SubgroupMatrixF16, matrixConfigUsable } from './path.js';
import { decodeBindingsWgsl, itemLoopHead, keyRowLookup, matrixItemRowsHead, metaRowLets, packWgsl, segmentLoader } from './decode.js';
import { scaleHelpersWgsl, unpackWgsl } from './decode-matrix.js';

export const matrix4Rows = 16; // query rows a workgroup (one M tile)
const nT = 64; // keys a tile
const cw = 32; // columns a QK chunk and a scale block
const qkChunks = 576 / cw;
// Row strides (elements) of the workgroup arrays; the padding keeps the lanes' scalar accesses off a few banks, and
// every stride keeps 16-byte rows.
const qStride = 40; // q chunk [row][40] f16 (in Ch)
const kStride = nT; // k chunk [col][key] f16 (in Ch), transposed
const sStride = 20; // Sc as [sg][row][20] f32: a subgroup's QK fresh result (16 keys)
const pStride = 72; // Ph [row][72] f16

/**
 * The layout of S subgroups: 4 (one chunk group: the four subgroups split a tile's 64 keys) or 8 (two chunk groups,
 * each of four subgroups taking every other 32-column chunk; their partial scores are summed after QK).
 */
export function matrix4Layout(subgroups: 4 | 8) {
  const groups = subgroups / 4; // chunk groups
  const vCols = 512 / subgroups; // columns of O a subgroup owns
  const pw = subgroups === 4 ? 32 : 16; // columns a PV chunk of one subgroup
  const oStride = pw + 4; // Sc as [sg][row][oStride] f32: a subgroup's PV fresh result
  const qOff = groups * cw * kStride; // the q chunks' offset in Ch, after the k chunks
  const chLen = Math.max(qOff + groups * matrix4Rows * qStride, subgroups * nT * pw);
  const scLen = subgroups * matrix4Rows * Math.max(sStride, oStride);
  return { subgroups, lanes: 32 * subgroups, groups, vCols, pw, vChunks: vCols / pw, oStride, qOff, chLen, scLen };
}

export interface DecodeMatrix4Spec {
  dtype: HalfDType;
  /** Cache bindings. */
  segs: number;
  /** The device's float configuration (m 16; n and k divide 16). Ignored by emulate. */
  config: SubgroupMatrixF16;
  /** Scalar stand-ins for the matrix builtins (tests on adapters without subgroup matrices). */
  emulate: boolean;
  /** Subgroups a workgroup: 4 or 8 (matrix4Layout). */
  subgroups: 4 | 8;
}

/** The configurations v4 runs: v3's rule with n and k dividing 16 (a subgroup's QK result is 16 x 16). */
export function matrix4ConfigUsable(c: SubgroupMatrixF16): boolean {
  return matrixConfigUsable(c) && 16 % c.n === 0 && 16 % c.k === 0;
}

export function decodeMatrix4Dispatch(p: Pick<MlaProblem, 'numSmParts' | 'hKv' | 'sQ' | 'nGroups'>): Dispatch {
  return [p.numSmParts, p.hKv, Math.ceil((p.sQ * p.nGroups) / matrix4Rows)];
}

/** Bytes of workgroup memory the kernel declares, array by array as the WGSL does. */
export function decodeMatrix4SharedBytes(subgroups: 4 | 8): number {
  const g = matrix4Layout(subgroups);
  return 2 * g.chLen + 4 * g.scLen + 2 * matrix4Rows * pStride + 4 * 2 * g.groups * matrix4Rows + 4 * 2 * g.groups * nT
    + 4 * (qkChunks - 2) + 4 * 2 * nT + 4 * matrix4Rows + 4 * 2 * matrix4Rows * 8;
}

/** The specialisation for a problem on a device; a device without the workgroup memory or configuration is refused. */
export function decodeMatrix4Spec(p: Pick<MlaProblem, 'dtype'>, caps: DeviceCaps, segs: number, emulate: boolean, subgroups: 4 | 8 = 4): DecodeMatrix4Spec {
  const need = decodeMatrix4SharedBytes(subgroups), limit = caps.maxComputeWorkgroupStorageSize;
  if (need > limit) {
    throw new FlashMlaError('backend_unavailable', `decodePath matrix (v4): the kernel needs ${need} B of workgroup memory, the device allows ${limit}`,
      'decodePath', `maxComputeWorkgroupStorageSize >= ${need}`, String(limit));
  }
  const config = caps.subgroupMatrixF16 ?? { m: 16, n: 16, k: 16, result: 'f32' as const };
  if (!emulate && !matrix4ConfigUsable(config)) {
    throw new FlashMlaError('backend_unavailable', `decodePath matrix (v4): the kernel needs M = 16 and N, K dividing 16, the device offers ${config.m}x${config.n}x${config.k}`,
      'decodePath', 'a 16xNxK configuration with N, K dividing 16', `${config.m}x${config.n}x${config.k}`);
  }
  return { dtype: p.dtype, segs, config, emulate, subgroups };
}

/**
 * out = A[16 x kLen] B[kLen x nOut] for subgroup sg, f16 operands, f32 result stored to Sc at `cOff` (row stride
 * cStride). A row-major in `a` at `aOff` (stride aStride), or held in left matrices `${aRegs}${kk}`; B row-major in
 * `b` at `bOff` (stride bStride). Offsets are WGSL expressions that may use sg.
 */
function product(s: DecodeMatrix4Spec, o: { a: string; aOff: string; aStride: number; aRegs?: string; b: string; bOff: string; bStride: number; kLen: number; nOut: number; cOff: string; cStride: number }): string {
  if (s.emulate) {
    return `for (var e = t % 32u; e < ${matrix4Rows * o.nOut}u; e += 32u) {
     let r = e / ${o.nOut}u; let j = e % ${o.nOut}u;
     var x = 0.0;
     for (var i = 0u; i < ${o.kLen}u; i++) { x = fma(f32(${o.a}[${o.aOff} + r * ${o.aStride}u + i]), f32(${o.b}[${o.bOff} + i * ${o.bStride}u + j]), x); }
     Sc[${o.cOff} + r * ${o.cStride}u + j] = x;
    }`;
  }
  const { n, k } = s.config;
  const right = `subgroup_matrix_right<f16, ${n}, ${k}>`;
  const result = `subgroup_matrix_result<f32, ${n}, ${matrix4Rows}>`;
  const lines: string[] = [];
  const left = (kk: number) => (o.aRegs ? `${o.aRegs}${kk}` : `a${kk}`);
  if (!o.aRegs) {
    for (let kk = 0; kk < o.kLen / k; kk++) lines.push(`let a${kk} = subgroupMatrixLoad<subgroup_matrix_left<f16, ${k}, ${matrix4Rows}>>(&${o.a}, ${o.aOff} + ${kk * k}u, false, ${o.aStride}u);`);
  }
  for (let nb = 0; nb < o.nOut / n; nb++) {
    const steps = Array.from({ length: o.kLen / k }, (_, kk) =>
      `mc = subgroupMatrixMultiplyAccumulate(${left(kk)}, subgroupMatrixLoad<${right}>(&${o.b}, ${o.bOff} + ${kk * k * o.bStride + nb * n}u, false, ${o.bStride}u), mc);`);
    lines.push(`{ var mc = ${result}(); ${steps.join(' ')} subgroupMatrixStore(&Sc, ${o.cOff} + ${nb * n}u, mc, false, ${o.cStride}u); }`);
  }
  return lines.join('\n    ');
}

const r8 = [0, 1, 2, 3, 4, 5, 6, 7];
/**
 * WGSL `code` between comment markers naming a part of the kernel, so a timing study can cut that part out of the
 * source (scripts/webgpu-tools/ablate-matrix4.mjs); comments only, the compiled kernel is the same.
 */
const mark = (name: string, code: string) => `// <${name}>\n   ${code}\n   // </${name}>`;
const half = (w: string, i: number) => `${w}${i >> 1}.${i & 1 ? 'zw' : 'xy'}`;

/**
 * WGSL: the 32 values of words `${w}0..3` as x0..x7 (vec4<f32>), their largest finite magnitude's exponent `e`
 * (and its bits `mbits`), and h0..h7 (vec4<f16>) scaled into [1, 2); `nan` when a value is NaN.
 */
function convert32(w: string): string {
  return `${r8.map((i) => `let x${i} = vec4<f32>(unpack2(${half(w, i)}.x), unpack2(${half(w, i)}.y));`).join(' ')}
     let mb4 = ${r8.map((i) => `finiteBits4(x${i})`).reduce((a, b) => `max(${a}, ${b})`)};
     let nan = any(${r8.map((i) => `isNan4(x${i})`).join(' | ')});
     let mbits = max(max(mb4.x, mb4.y), max(mb4.z, mb4.w));
     let e = expOf(mbits);
     let down = downOf(e);
     ${r8.map((i) => `let h${i} = vec4<f16>(x${i} * down);`).join(' ')}`;
}

export const decodeMatrix4Program: Program<DecodeMatrix4Spec> = {
  name: 'mla_decode_matrix4',
  key: (s) => `${s.dtype}.seg${s.segs}.sg${s.subgroups}.${s.emulate ? 'emu' : `m${s.config.m}n${s.config.n}k${s.config.k}`}`,
  source(s) {
    if (!s.emulate && !matrix4ConfigUsable(s.config)) throw new Error(`decode-matrix4: unusable configuration ${JSON.stringify(s.config)}`);
    const g = matrix4Layout(s.subgroups);
    const { groups: G, vCols, pw, vChunks, oStride, qOff } = g;
    const nanWord = s.dtype === 'bf16' ? '0x7fc07fc0u' : '0x7e007e00u';
    const range = (n: number) => Array.from({ length: n }, (_, i) => i);
    const k = s.config.k;
    const pLeft = s.emulate ? '' : range(nT / k).map((kk) =>
      `let pl${kk} = subgroupMatrixLoad<subgroup_matrix_left<f16, ${k}, ${matrix4Rows}>>(&Ph, ${kk * k}u, false, ${pStride}u);`).join(' ');
    const pv4 = pw / 8; // vec4 words of one key in a PV chunk
    const half16 = pw / 2; // columns of a PV chunk a lane adds into O
    // V words of chunk v for this lane's keys 2 l (wa) and 2 l + 1 (wb).
    const loadV = (v: number) => `if (vsA != NONE) { ${range(pv4).map((i) => `wa${i} = loadK(vsA, vrA + vc0 + ${v * pv4 + i}u);`).join(' ')} }
    if (vsB != NONE) { ${range(pv4).map((i) => `wb${i} = loadK(vsB, vrB + vc0 + ${v * pv4 + i}u);`).join(' ')} }`;
    const xs = range(pw / 4);
    const convertV = (w: string, key: string, v: number) => `{
     ${xs.map((i) => `let x${i} = vec4<f32>(unpack2(${half(w, i)}.x), unpack2(${half(w, i)}.y));`).join(' ')}
     let o = sg * ${nT * pw}u + (${key}) * ${pw}u;
     ${xs.map((i) => `{ let h = vec4<f16>(select(x${i} * vd${v}, vec4<f32>(0.0), isNan4(x${i}))); ${range(4).map((x) => `Ch[o + ${4 * i + x}u] = h.${'xyzw'[x]};`).join(' ')} }`).join('\n     ')}
    }`;
    const pv = range(vChunks).map((v) => `
   // PV chunk ${v}: columns ${pw * v}..${pw * v + pw - 1} of this subgroup's ${vCols}.
   ${mark('pv-convert', `${convertV('wa', '2u * l', v)}
   ${convertV('wb', '2u * l + 1u', v)}`)}
   ${v + 1 < vChunks ? mark('pv-load', loadV(v + 1)) : ''}
   workgroupBarrier();
   ${mark('pv-product', product(s, { a: 'Ph', aOff: '0u', aStride: pStride, aRegs: s.emulate ? undefined : 'pl', b: 'Ch', bOff: `sg * ${nT * pw}u`, bStride: pw, kLen: nT, nOut: pw, cOff: `sg * ${matrix4Rows * oStride}u`, cStride: oStride }))}
   workgroupBarrier();
   ${mark('pv-fma', `{
    let f = sg * ${matrix4Rows * oStride}u + r * ${oStride}u + hh * ${half16}u;
    ${range(half16).map((i) => `o${v}_${i} = fma(o${v}_${i}, alpha, Sc[f + ${i}u] * vu${v});`).join(' ')}
   }`)}`).join('');
    // Two chunk groups: group 1's partial scores go through Sc to group 0, which alone runs the softmax's writes.
    const combine = G === 1 ? '' : `
   workgroupBarrier();
   if (cg == 1u) { ${r8.map((i) => `Sc[r * ${nT}u + kl + ${i}u] = s${i};`).join(' ')} }
   workgroupBarrier();
   if (cg == 0u) { ${r8.map((i) => `s${i} += Sc[r * ${nT}u + kl + ${i}u];`).join(' ')} }`;
    const lead = G === 1 ? 'true' : 'cg == 0u';
    return `enable f16;
${s.emulate ? '' : 'enable chromium_experimental_subgroup_matrix;\ndiagnostic(off, chromium.subgroup_matrix_uniformity);'}
${decodeBindingsWgsl(s.segs)}
${metadataWgsl()}
// QK: k chunks [group][col][key] from 0, q chunks [group][row][${qStride}] from ${qOff} (both times 1 / scale);
// PV: v chunks [sg][key][${pw}].
var<workgroup> Ch: array<f16, ${g.chLen}>;
var<workgroup> Sc: array<f32, ${g.scLen}>;                  // the subgroups' fresh results
var<workgroup> Ph: array<f16, ${matrix4Rows * pStride}>;      // P [row][key]
var<workgroup> Qs: array<f32, ${2 * G * matrix4Rows}>;            // q scales [parity][group][row]
var<workgroup> Ks: array<f32, ${2 * G * nT}>;           // k scales [parity][group][key]
var<workgroup> vMax: array<atomic<u32>, ${qkChunks - 2}>; // largest finite magnitude (bits) of each 32-column V block
var<workgroup> keyRow: array<u32, ${nT}>;
var<workgroup> keySeg: array<u32, ${nT}>;
var<workgroup> rowVis: array<i32, ${matrix4Rows}>;
var<workgroup> redM: array<f32, ${matrix4Rows * 8}>;          // a row's 8 partial maxima (NaN: a NaN score)
var<workgroup> redS: array<f32, ${matrix4Rows * 8}>;          // a row's 8 partial sums

${unpackWgsl(s.dtype)}
${packWgsl(s.dtype)}
${segmentLoader(s.segs)}

${scaleHelpersWgsl}

@compute @workgroup_size(${g.lanes})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
 let mb = u.metaOff + wid.x * META_FIELDS;
${metaRowLets('mb')}
 let kvh = wid.y;
 let mBase = wid.z * ${matrix4Rows}u;
 let sg = t / 32u;     // this lane's subgroup
 let cg = t / 128u;    // its chunk group
 let kg = sg % 4u;     // its subgroup in the group: keys 16 kg .. 16 kg + 15 of the tile in QK
 let tl = t % 128u;    // its lane in the group: converts key tl (< 64) or q row tl - 64 (64..79)
 let l = t % 32u;      // lane in the subgroup
 let r = t % 16u;      // its row (softmax, scores, O)
 let hh = l / 16u;     // its half: keys 8 hh.. of the subgroup's 16, columns ${half16} hh.. of a PV chunk
 let kl = kg * 16u + hh * 8u; // its first key in the tile
 let vc0 = (sg * ${vCols}u) / 8u; // the vec4 index of this subgroup's first V column

${itemLoopHead}
${matrixItemRowsHead('slot', matrix4Rows)}
  }
  // Lanes 64..79 of each group convert q row tl - 64 (rows past the item convert zeros).
  let qr = tl - 64u;
  let qm = mBase + qr;
  let qValid = tl >= 64u && tl < 80u && qm < qLen * u.nGroups;
  let qBase = ((qStart + qm / u.nGroups) * u.hQ + kvh * u.nGroups + qm % u.nGroups) * 72u + u.qOff;
  ${range(vChunks).map((v) => range(half16).map((i) => `var o${v}_${i} = 0.0;`).join(' ')).join('\n  ')}
  var m = NEG;
  var lsum = 0.0;
  var nanRow = false;

  for (var k0 = kBegin; k0 < kEnd; k0 += ${nT}) {
   workgroupBarrier();
   if (t < ${nT}u) {
    let key = k0 + i32(t);
    if (key < kEnd) {
${keyRowLookup(s.segs, 'kvh', 'blkId')}
    } else {
     keySeg[t] = NONE;
    }
   }
   if (t < ${qkChunks - 2}u) { atomicStore(&vMax[t], 0u); }
   workgroupBarrier();
   ${r8.map((i) => `var s${i} = 0.0;`).join(' ')}
   // ---- S = Q Kᵀ, 32 columns a chunk, chunk group cg taking chunks cg, cg + ${G}, ...
   var cSeg = NONE;
   var cRow = 0u;
   if (tl < ${nT}u) { cSeg = keySeg[tl]; cRow = keyRow[tl]; } else if (qValid) { cSeg = 0u; cRow = qBase; }
   let isQ = tl >= ${nT}u;
   ${range(4).map((i) => `var w${i} = vec4<u32>(0u);`).join(' ')}
   if (cSeg != NONE) {
    let wo = cRow + cg * 4u;
    if (isQ) { ${range(4).map((i) => `w${i} = q[wo + ${i}u];`).join(' ')} } else { ${range(4).map((i) => `w${i} = loadK(cSeg, wo + ${i}u);`).join(' ')} }
   }
   for (var c0 = 0u; c0 < ${qkChunks}u; c0 += ${G}u) {
    let c = c0 + cg;
    let sb = ((c0 / ${G}u) % 2u) * ${G}u + cg; // scale buffer: [parity][group]
    // <qk-convert>
    if (tl < 80u) {
     ${convert32('w')}
     let sc = select(upOf(e), qNan(), nan);
     if (isQ) {
      let qo = ${qOff}u + cg * ${matrix4Rows * qStride}u + qr * ${qStride}u;
      ${r8.map((i) => range(4).map((x) => `Ch[qo + ${4 * i + x}u] = h${i}.${'xyzw'[x]};`).join(' ')).join('\n      ')}
      Qs[sb * ${matrix4Rows}u + qr] = sc;
     } else {
      let ko = cg * ${cw * kStride}u + tl;
      ${r8.map((i) => range(4).map((x) => `Ch[ko + ${(4 * i + x) * kStride}u] = h${i}.${'xyzw'[x]};`).join(' ')).join('\n      ')}
      Ks[sb * ${nT}u + tl] = sc;
      if (c < ${qkChunks - 2}u) { atomicMax(&vMax[c], mbits); }
     }
    }
    // </qk-convert>
    // <qk-load>
    if (c0 + ${G}u < ${qkChunks}u && cSeg != NONE) {
     let wo = cRow + (c + ${G}u) * 4u;
     if (isQ) { ${range(4).map((i) => `w${i} = q[wo + ${i}u];`).join(' ')} } else { ${range(4).map((i) => `w${i} = loadK(cSeg, wo + ${i}u);`).join(' ')} }
    }
    // </qk-load>
    workgroupBarrier();
    ${mark('qk-product', product(s, { a: 'Ch', aOff: `${qOff}u + cg * ${matrix4Rows * qStride}u`, aStride: qStride, b: 'Ch', bOff: `cg * ${cw * kStride}u + kg * 16u`, bStride: kStride, kLen: cw, nOut: 16, cOff: `sg * ${matrix4Rows * sStride}u`, cStride: sStride }))}
    workgroupBarrier();
    // <qk-fma>
    {
     let f = sg * ${matrix4Rows * sStride}u + r * ${sStride}u + hh * 8u;
     let qsr = Qs[sb * ${matrix4Rows}u + r];
     let kb = sb * ${nT}u + kl;
     ${r8.map((i) => `s${i} = fma(Sc[f + ${i}u], qsr * Ks[kb + ${i}u], s${i});`).join(' ')}
    }
    // </qk-fma>
   }${combine}
   // ---- Softmax in the exp2 domain; keys a row does not see are masked by selecting (they may hold NaN).
   let vis = rowVis[r];
   ${r8.map((i) => `let x${i} = select(NEG, s${i} * u.scaleLog2, k0 + i32(kl + ${i}u) < vis);`).join(' ')}
   if (${lead}) {
    var mx = NEG;
    var bad = false;
    ${r8.map((i) => `if (isNan(x${i})) { bad = true; } else { mx = max(mx, x${i}); }`).join(' ')}
    redM[r * 8u + kg * 2u + hh] = select(mx, qNan(), bad);
   }
   workgroupBarrier();
   var mNew = m;
   for (var j = 0u; j < 8u; j++) {
    let y = redM[r * 8u + j];
    if (isNan(y)) { nanRow = true; } else { mNew = max(mNew, y); }
   }
   if (${lead}) {
    var part = 0.0;
    let pb = r * ${pStride}u + kl;
    ${r8.map((i) => `{ let p = select(0.0, exp2(x${i} - mNew), !isNan(x${i}) && x${i} > NEG * 0.5); Ph[pb + ${i}u] = f16(p); part += p; }`).join('\n    ')}
    redS[r * 8u + kg * 2u + hh] = part;
   }
   workgroupBarrier();
   var sum = 0.0;
   for (var j = 0u; j < 8u; j++) { sum += redS[r * 8u + j]; }
   let alpha = exp2(m - mNew);
   lsum = lsum * alpha + sum;
   m = mNew;
   // ---- O = O * alpha + P V over this subgroup's columns, ${pw} a chunk, each scaled by its 32-column block's
   // tile maximum (vMax, gathered by the k conversion).
   ${pLeft}
   ${range(vChunks).map((v) => `let ve${v} = expOf(atomicLoad(&vMax[(sg * ${vCols}u + ${v * pw}u) / ${cw}u])); let vd${v} = downOf(ve${v}); let vu${v} = upOf(ve${v});`).join('\n   ')}
   let vsA = keySeg[2u * l];
   let vrA = keyRow[2u * l];
   let vsB = keySeg[2u * l + 1u];
   let vrB = keyRow[2u * l + 1u];
   ${range(pv4).map((i) => `var wa${i} = vec4<u32>(0u); var wb${i} = vec4<u32>(0u);`).join(' ')}
   ${loadV(0)}
${pv}
  }
  // Row r: this lane's columns of O (128 / ${G} of them: sg * ${vCols} + ${pw} v + ${half16} hh + i).
  let mm = mBase + r;
  if (mm < qLen * u.nGroups) {
   let j = mm / u.nGroups;
   let h = kvh * u.nGroups + mm % u.nGroups;
   let inv = select(0.0, 1.0 / lsum, lsum > 0.0);
   if (!isSplit) {
    let ob = u.outOff + ((qStart + j) * u.hQ + h) * 256u + (sg * ${vCols}u + hh * ${half16}u) / 2u;
    ${range(vChunks).map((v) => range(half16 / 2).map((i) => `out[ob + ${v * pw / 2 + i}u] = select(pack2(vec2<f32>(o${v}_${2 * i}, o${v}_${2 * i + 1}) * inv), ${nanWord}, nanRow);`).join(' ')).join('\n    ')}
   } else {
    let a = u.oAccOff + (slot * u.rowStride + j * u.hQ + h) * 512u + sg * ${vCols}u + hh * ${half16}u;
    ${range(vChunks).map((v) => range(half16).map((i) => `acc[a + ${v * pw + i}u] = select(o${v}_${i} * inv, qNan(), nanRow);`).join(' ')).join('\n    ')}
   }
   if (t < ${matrix4Rows}u) {
    let nr = nanRow || isNan(lsum); // a NaN sum (a score of +inf) is a NaN row, not "no key"
    let v = select((m + log2(lsum)) * 0.6931471805599453, qNan(), nr);
    if (!isSplit) {
     lse[u.lseOff + batch * u.lseStrideB + h * u.lseStrideH + (qStart + j) * u.lseStrideT] = select(bitcast<f32>(u.posInfBits), v, lsum > 0.0 || nr);
    } else {
     acc[slot * u.rowStride + j * u.hQ + h] = select(NEG, v, lsum > 0.0 || nr);
    }
   }
  }
 }
}
`;
  },
};
