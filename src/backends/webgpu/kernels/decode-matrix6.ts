// Split-KV MLA decode on subgroup matrices, v6: 32 query rows a workgroup, so each key is loaded and converted once
// per 32 rows instead of once per 16 (docs/notes/webgpu-matrix-kernel.md, "v6"). Same bindings, params, schedule and
// split-KV accumulators as kernels/decode.ts and v5 (kernels/decode-matrix5.ts), so the combine is shared; the range
// rules (one power-of-two scale per q row, two per key, P' scaled by the key's latent scale) are v5's, unchanged.
//
// v5 runs 16 rows a workgroup on 32-key tiles; at 128 rows per KV head eight workgroups load and convert the same keys.
// v6 keeps v5's eight subgroups (256 lanes) and its 48 KiB budget and trades the tile's keys for rows:
// - the tile holds 16 keys (18.7 KiB of f16 instead of 37.4): lane t loads and converts words t % 16 + 16 i (i < 4,
//   the latent columns) of key t / 16, and lanes with t % 16 < 8 also word 64 + t % 16 (the RoPE columns), so every
//   lane converts 4.5 words a 16-key tile where v5's converted 9 a 32-key tile: per key and row, half the loads and
//   the conversions;
// - QK: subgroup sg takes row block rb = sg / 4 and contraction part cp = sg % 4 (v5: key block and part), the same 11
//   right matrices of Qᵀ (its row block's) in registers, staged through the tile's memory in two passes;
// - softmax on all 256 lanes: row t % 32, keys 2 (t / 32) and 2 (t / 32) + 1;
// - PV: O (32 x 512) = P' V, subgroup sg owns 64 columns of both row blocks (64 registers a lane): each right matrix
//   of V is loaded once for two products; with 48 KiB (`pvPair` 2) both results of a column block go through the
//   scratch at once (7 barriers a tile, as v5's), else (`pvPair` 1: lavapipe's 32 KiB) one at a time (15).
// Per key and row, v6 has half of v5's tile loads, conversions and V loads, the same matrix steps and barriers.
// Measured on the H200 (session 9): correct (300 random cases), but slower than v5 at every shape (h_q = 128: 9.27
// against 8.23 ms), so it stays opt-in; the time follows the tile count, not the conversions (the design note).
//
// `emulate` replaces the matrix builtins by scalar loops (each subgroup's 32 lanes computing that subgroup's product at
// the same offsets); the emulated QK reads q from global memory and converts it as the prologue does.
import type { HalfDType } from '../../../core/dtype.js';
import { metadataWgsl } from '../../../core/constants.js';
import { FlashMlaError } from '../../../core/errors.js';
import type { MlaProblem } from '../../../core/problem.js';
import type { DeviceCaps, Dispatch, Program } from '../program.js';
import type { SubgroupMatrixF16 } from './path.js';
import { decodeBindingsWgsl, itemLoopHead, keyRowLookup, matrixItemRowsHead, metaRowLets, packWgsl, segmentLoader } from './decode.js';
import { scaleHelpersWgsl, unpackWgsl } from './decode-matrix.js';
import { matrix5ConfigUsable, matrixRowStateWgsl, pow2MulWgsl, qMaxLoopWgsl, qStageLoopWgsl, qkPartLetsWgsl } from './decode-matrix5.js';

export const matrix6Rows = 32;
export const matrix6Keys = 16; // keys a tile
const nT = matrix6Keys;
const kStride = 584; // the tile's row stride (f16): 576 + 8 keeps matrix rows 16 bytes apart in banks
const qtStride = 16; // Qᵀ staging [col][row], one 16-row block at a time
const lanes = 256;
const vCols = 64; // O columns a subgroup owns
const nbs = vCols / 16;
const pStride = nT + 8;
const kpl = nT / 8; // softmax keys a lane
// QK's contraction parts (v5's): columns 0..175, 176..351, 352..511 (latent) and 512..575 (RoPE); steps of 16 columns.
const partSteps = [11, 11, 10, 4];
const maxSteps = 11;

export interface DecodeMatrix6Spec {
  dtype: HalfDType;
  segs: number;
  /** The device's float configuration; v6 runs 16x16x16 only. Ignored by emulate. */
  config: SubgroupMatrixF16;
  emulate: boolean;
  /** PV results a subgroup passes through the scratch between two barriers: 2 where 48 KiB allow, else 1. */
  pvPair: 1 | 2;
}

export function decodeMatrix6Dispatch(p: Pick<MlaProblem, 'numSmParts' | 'hKv' | 'sQ' | 'nGroups'>): Dispatch {
  return [p.numSmParts, p.hKv, Math.ceil((p.sQ * p.nGroups) / matrix6Rows)];
}

/** Bytes of workgroup memory the kernel declares, array by array as the WGSL does. */
export function decodeMatrix6SharedBytes(pvPair: 1 | 2): number {
  const R = matrix6Rows;
  return 2 * nT * kStride + 4 * 8 * 256 * pvPair + 2 * R * pStride + 4 * nT * 3 + 4 * 2 * nT * 2 + 4 * R * 5 + 4 * 2 * R * 8;
}

/** The specialisation for a device: pvPair 2 where the workgroup memory allows (39.7 KiB), else 1 (31.6 KiB). */
export function decodeMatrix6Spec(p: Pick<MlaProblem, 'dtype'>, caps: DeviceCaps, segs: number, emulate: boolean): DecodeMatrix6Spec {
  const limit = caps.maxComputeWorkgroupStorageSize;
  const pvPair = decodeMatrix6SharedBytes(2) <= limit ? 2 : 1;
  const need = decodeMatrix6SharedBytes(pvPair);
  if (need > limit) {
    throw new FlashMlaError('backend_unavailable', `decodePath matrix (v6): the kernel needs ${need} B of workgroup memory, the device allows ${limit}`,
      'decodePath', `maxComputeWorkgroupStorageSize >= ${need}`, String(limit));
  }
  if (caps.maxComputeInvocationsPerWorkgroup < lanes) {
    throw new FlashMlaError('backend_unavailable', `decodePath matrix (v6): the kernel needs ${lanes} invocations a workgroup, the device allows ${caps.maxComputeInvocationsPerWorkgroup}`,
      'decodePath', `maxComputeInvocationsPerWorkgroup >= ${lanes}`, String(caps.maxComputeInvocationsPerWorkgroup));
  }
  const config = caps.subgroupMatrixF16 ?? { m: 16, n: 16, k: 16, result: 'f32' as const };
  if (!emulate && !matrix5ConfigUsable(config)) {
    throw new FlashMlaError('backend_unavailable', `decodePath matrix (v6): the kernel needs the 16x16x16 configuration, the device offers ${config.m}x${config.n}x${config.k}`,
      'decodePath', '16x16x16 with f32 results', `${config.m}x${config.n}x${config.k}`);
  }
  return { dtype: p.dtype, segs, config, emulate, pvPair };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const mark = (name: string, code: string) => `// <${name}>\n   ${code}\n   // </${name}>`;
const L16 = 'subgroup_matrix_left<f16, 16, 16>';
const R16 = 'subgroup_matrix_right<f16, 16, 16>';
const RES = 'subgroup_matrix_result<f32, 16, 16>';

export const decodeMatrix6Program: Program<DecodeMatrix6Spec> = {
  name: 'mla_decode_matrix6',
  key: (s) => `${s.dtype}.seg${s.segs}.pv${s.pvPair}.${s.emulate ? 'emu' : `m${s.config.m}n${s.config.n}k${s.config.k}`}`,
  source(s) {
    if (!s.emulate && !matrix5ConfigUsable(s.config)) throw new Error(`decode-matrix6: unusable configuration ${JSON.stringify(s.config)}`);
    const R = matrix6Rows;
    const nanWord = s.dtype === 'bf16' ? '0x7fc07fc0u' : '0x7e007e00u';
    const scSize = 8 * 256 * s.pvPair;
    // q's value (row rr of 32, column cc) as the prologue converts it (emulation only).
    const qAt = `fn qAt(rr: u32, cc: u32, qStart: u32, qLen: u32, kvh: u32, mBase: u32) -> f32 {
  let qm = mBase + rr;
  if (qm >= qLen * u.nGroups) { return 0.0; }
  let w = q[((qStart + qm / u.nGroups) * u.hQ + kvh * u.nGroups + qm % u.nGroups) * 72u + u.qOff + cc / 8u];
  let x = unpack2(w[(cc % 8u) / 2u])[cc % 2u];
  let mx = atomicLoad(&qMax[rr]);
  if (isNan(x)) { return 0.0; }
  return f32(f16(x * downOf(expOf(mx))));
}`;
    const qkSteps = (from: number, to: number) => range(to - from).map((i) => from + i).map((st) => `mc = subgroupMatrixMultiplyAccumulate(subgroupMatrixLoad<${L16}>(&Kt, cs + ${16 * st}u, false, ${kStride}u), qm${st}, mc);`).join(' ');
    const qkProduct = s.emulate
      ? `for (var e = l; e < 256u; e += 32u) {
     let kk = e / 16u; let rr = e % 16u;
     var x = 0.0;
     for (var i = cs; i < ce; i++) { x = fma(f32(Kt[kk * ${kStride}u + i]), qAt(rb * 16u + rr, i, qStart, qLen, kvh, mBase), x); }
     Sc[sg * 256u + e] = x;
    }`
      : `{ var mc = ${RES}(); ${qkSteps(0, partSteps[3])}
     if (cp < 3u) { ${qkSteps(partSteps[3], partSteps[2])} }
     if (cp < 2u) { ${qkSteps(partSteps[2], maxSteps)} }
     subgroupMatrixStore(&Sc, sg * 256u, mc, false, 16u); }`;
    // PV rounds: with pvPair 2, column block nb of both row blocks (one right matrix of V, two products); with 1, one
    // (nb, row block) a round. A result of row block b in round slot j lands at Sc[sg * 256 pvPair + 256 j].
    const rounds: { nb: number; rbs: number[] }[] = s.pvPair === 2
      ? range(nbs).map((nb) => ({ nb, rbs: [0, 1] }))
      : range(nbs).flatMap((nb) => [0, 1].map((b) => ({ nb, rbs: [b] })));
    const scBase = `sg * ${256 * s.pvPair}u`;
    const pvProduct = (nb: number, rbs: number[]) => s.emulate
      ? rbs.map((b, j) => `for (var e = l; e < 256u; e += 32u) {
     let rr = e / 16u; let cc = e % 16u;
     var x = 0.0;
     for (var i = 0u; i < ${nT}u; i++) { x = fma(f32(Ph[(${16 * b}u + rr) * ${pStride}u + i]), f32(Kt[i * ${kStride}u + sg * ${vCols}u + ${16 * nb}u + cc]), x); }
     Sc[${scBase} + ${256 * j}u + e] = x;
    }`).join('\n    ')
      : `{ let vm = subgroupMatrixLoad<${R16}>(&Kt, sg * ${vCols}u + ${16 * nb}u, false, ${kStride}u);
     ${rbs.map((b, j) => `subgroupMatrixStore(&Sc, ${scBase} + ${256 * j}u, subgroupMatrixMultiplyAccumulate(pl${b}, vm, ${RES}()), false, 16u);`).join('\n     ')} }`;
    // A row's alpha and 2^(y - m) (rowA, rowC: written by the softmax, constant through PV): on a GPU loaded once a
    // tile into registers; emulated, loaded where used (lavapipe's compiler took minutes over 32 more values live
    // across PV's barriers).
    const preload = !s.emulate;
    const rowLets = (b: number, i: number) => `let ra${b}_${i} = rowA[${16 * b}u + hh * 8u + ${i}u]; let rc${b}_${i} = rowC[${16 * b}u + hh * 8u + ${i}u];`;
    const pLeft = s.emulate ? '' : range(2).map((b) => `let pl${b} = subgroupMatrixLoad<${L16}>(&Ph, ${16 * b * pStride}u, false, ${pStride}u);`).join(' ');
    const pv = rounds.map(({ nb, rbs }, ri) => `
   ${mark('pv-product', pvProduct(nb, rbs))}
   ${mark('pv-sync', 'workgroupBarrier();')}
   ${mark('pv-fma', `{ ${rbs.map((b, j) => range(8).map((i) => `${preload ? '' : rowLets(b, i)} o${nb}_${b}_${i} = fma(o${nb}_${b}_${i}, ra${b}_${i}, Sc[${scBase} + ${256 * j + 16 * i}u + hh * 128u + cc] * rc${b}_${i});`).join(' ')).join('\n   ')} }`)}
   ${ri + 1 < rounds.length ? mark('pv-sync', 'workgroupBarrier();') : ''}`).join('');
    // Qᵀ staging, row block b: converted into the tile's memory [col][16], then loaded by the subgroups of block b.
    const qStage = (b: number) => `${qStageLoopWgsl(16, 16 * b, lanes)}
  workgroupBarrier();
  if (rb == ${b}u) {
   ${range(maxSteps).map((st) => `qm${st} = subgroupMatrixLoad<${R16}>(&Kt, (${st < partSteps[3] ? 'cs' : 'cl'} + ${16 * st}u) * ${qtStride}u, false, ${qtStride}u);`).join('\n   ')}
  }
  workgroupBarrier();`;
    const qLoad = s.emulate ? '' : `${range(maxSteps).map((st) => `var qm${st} = ${R16}();`).join(' ')}
  ${qStage(0)}
  ${qStage(1)}`;
    // The tile load of lane t: words lj + 16 i (i < 4) of key lk; lanes lj < 8 also word 64 + lj (RoPE).
    const tileLoad = `if (ls != NONE) { ${range(4).map((i) => `w${i} = loadK(ls, lr + lj + ${16 * i}u);`).join(' ')} if (lj < 8u) { w4 = loadK(ls, lr + 64u + lj); } }`;
    const conv = (i: number, d: string, at: string) => `{ let ha = vec4<f16>(select(a${i} * ${d}, vec4<f32>(0.0), isNan4(a${i}))); let hb = vec4<f16>(select(b${i} * ${d}, vec4<f32>(0.0), isNan4(b${i})));
     let oo = ${at};
     ${range(4).map((x) => `Kt[oo + ${x}u] = ha.${'xyzw'[x]};`).join(' ')} ${range(4).map((x) => `Kt[oo + ${4 + x}u] = hb.${'xyzw'[x]};`).join(' ')} }`;
    const rowsOf = (fn: (b: number, i: number) => string) => range(2).map((b) => range(8).map((i) => fn(b, i)).join(' ')).join('\n  ');
    return `enable f16;
${s.emulate ? '' : 'enable chromium_experimental_subgroup_matrix;\ndiagnostic(off, chromium.subgroup_matrix_uniformity);'}
${decodeBindingsWgsl(s.segs)}
${metadataWgsl()}
var<workgroup> Kt: array<f16, ${nT * kStride}>;      // the key tile [key][${kStride}] (times 1 / its key's scale); Qᵀ [col][16] of one row block in the prologue
var<workgroup> Sc: array<f32, ${scSize}>;          // QK: the subgroups' 16 x 16 results; PV: ${s.pvPair} a subgroup
var<workgroup> Ph: array<f16, ${R * pStride}>;      // P' [row][key]
${matrixRowStateWgsl(nT, R)}

${unpackWgsl(s.dtype)}
${packWgsl(s.dtype)}
${segmentLoader(s.segs)}

${scaleHelpersWgsl}
${pow2MulWgsl}
${s.emulate ? qAt : ''}

@compute @workgroup_size(${lanes})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
 let mb = u.metaOff + wid.x * META_FIELDS;
${metaRowLets('mb')}
 let kvh = wid.y;
 let mBase = wid.z * ${R}u;
 let sg = t / 32u;   // subgroup
 let l = t % 32u;    // lane in it
 let rb = sg / 4u;   // QK: its row block
 let cp = sg % 4u;   // QK: its contraction part
${qkPartLetsWgsl}
 let r = t % ${R}u;    // softmax: row
 let slot = t / ${R}u; // softmax: keys ${kpl} slot ..
 let cc = l % 16u;   // PV: this lane's column of a 16-column result
 let hh = l / 16u;   // PV: its rows 8 hh .. 8 hh + 7 of each row block
 let lk = t / 16u;   // tile load: key
 let lj = t % 16u;   // tile load: words lj + 16 i (and 64 + lj for lj < 8)

${itemLoopHead}
${matrixItemRowsHead('slotAcc', R)}
   atomicStore(&qMax[t], 0u);
   atomicStore(&qNanF[t], 0u);
  }
  workgroupBarrier();
  // q: each row's largest finite magnitude (and a NaN flag), then Qᵀ converted block by block.
${qMaxLoopWgsl(R, lanes)}  workgroupBarrier();
  ${qLoad}
  let eq = i32(expOf(atomicLoad(&qMax[r])));
  let qBad = atomicLoad(&qNanF[r]) != 0u;
  ${range(nbs).map((nb) => range(2).map((b) => range(8).map((i) => `var o${nb}_${b}_${i} = 0.0;`).join(' ')).join(' ')).join('\n  ')}
  var m = NEG;
  var lsum = 0.0;
  var nanRow = false;
  let vis = rowVis[r];

  // The first tile's keys and words; every tile then looks up and loads the next one's while it computes.
  workgroupBarrier();
  if (t < ${nT}u) {
   let key = kBegin + i32(t);
   if (key < kEnd) {
${keyRowLookup(s.segs, 'kvh', 'blkId')}
   } else {
    keySeg[t] = NONE;
   }
  }
  workgroupBarrier();
  ${range(5).map((i) => `var w${i} = vec4<u32>(0u);`).join(' ')}
  {
   let ls = keySeg[lk];
   let lr = keyRow[lk];
   ${mark('tile-load', tileLoad)}
  }
  var par = 0u;
  for (var k0 = kBegin; k0 < kEnd; k0 += ${nT}) {
   workgroupBarrier();
   if (t < ${nT}u) {
    let key = k0 + ${nT} + i32(t);
    let o = (1u - par) * ${nT}u + t;
    if (key < kEnd) {
${keyRowLookup(s.segs, 'kvh', 'blkId').replace(/keyRow\[t\]/g, 'keyRow[o]').replace(/keySeg\[t\]/g, 'keySeg[o]')}
    } else {
     keySeg[o] = NONE;
    }
    atomicStore(&kMax[t], 0u);
    atomicStore(&kMaxR[t], 0u);
    atomicStore(&kNan[t], 0u);
   }
   // ---- The tile: the key's finite maxima by atomicMax, latent words (w0..w3) and RoPE (w4, zero where lj >= 8) apart.
   ${range(5).map((i) => `let a${i} = vec4<f32>(unpack2(w${i}.x), unpack2(w${i}.y)); let b${i} = vec4<f32>(unpack2(w${i}.z), unpack2(w${i}.w));`).join('\n   ')}
   workgroupBarrier();
   // <tile-max>
   {
    let mb4 = ${range(4).map((i) => `max(finiteBits4(a${i}), finiteBits4(b${i}))`).reduce((x, y) => `max(${x}, ${y})`)};
    let mr4 = max(finiteBits4(a4), finiteBits4(b4));
    let nan = any(${range(5).map((i) => `isNan4(a${i}) | isNan4(b${i})`).join(' | ')});
    atomicMax(&kMax[lk], max(max(mb4.x, mb4.y), max(mb4.z, mb4.w)));
    atomicMax(&kMaxR[lk], max(max(mr4.x, mr4.y), max(mr4.z, mr4.w)));
    if (nan) { atomicOr(&kNan[lk], 1u); }
   }
   // </tile-max>
   workgroupBarrier();
   ${mark('tile-convert', `{
    let down = downOf(expOf(atomicLoad(&kMax[lk])));
    let o = lk * ${kStride}u;
    ${range(4).map((i) => conv(i, 'down', `o + (lj + ${16 * i}u) * 8u`)).join('\n    ')}
    if (lj < 8u) {
     let downR = downOf(expOf(atomicLoad(&kMaxR[lk])));
     ${conv(4, 'downR', 'o + 512u + lj * 8u')}
    }
   }`)}
   workgroupBarrier();
   par = 1u - par;
   {
    let ls = keySeg[par * ${nT}u + lk];
    let lr = keyRow[par * ${nT}u + lk];
    ${range(5).map((i) => `w${i} = vec4<u32>(0u);`).join(' ')}
    ${mark('tile-load', tileLoad)}
   }
   // ---- Sᵀ (keys x rows), this subgroup's row block and contraction part.
   ${mark('qk-product', qkProduct)}
   workgroupBarrier();
   // ---- Softmax (every lane: row r, keys ${kpl} slot ..) in the exp2 domain; masked keys are selected out.
   ${range(kpl).map((j) => `var x${j} = NEG; var y${j} = NEG;`).join(' ')}
   // <softmax>
   {
    var mx = NEG;
    var my = NEG;
    var bad = false;
    ${range(kpl).map((j) => `{
     let key = slot * ${kpl}u + ${j}u;
     let base = (r / 16u) * ${4 * 256}u + key * 16u + r % 16u;
     let sLat = Sc[base] + Sc[base + 256u] + Sc[base + 512u];
     let ek = expOf(atomicLoad(&kMax[key]));
     let er = expOf(atomicLoad(&kMaxR[key]));
     let sv = (pow2Mul(sLat, eq + i32(ek) - 254) + pow2Mul(Sc[base + 768u], eq + i32(er) - 254)) * u.scaleLog2;
     let seen = k0 + i32(key) < vis;
     x${j} = select(NEG, select(sv, qNan(), qBad || atomicLoad(&kNan[key]) != 0u), seen);
     y${j} = select(NEG, x${j} + f32(ek) - 127.0, seen);
     if (isNan(x${j})) { bad = true; } else { mx = max(mx, x${j}); my = max(my, y${j}); }
    }`).join('\n    ')}
    redM[r * 8u + slot] = select(mx, qNan(), bad);
    redY[r * 8u + slot] = my;
   }
   // </softmax>
   workgroupBarrier();
   // <softmax>
   {
    var mNew = m;
    var yMax = NEG;
    for (var j = 0u; j < 8u; j++) {
     let v = redM[r * 8u + j];
     if (isNan(v)) { nanRow = true; } else { mNew = max(mNew, v); }
     yMax = max(yMax, redY[r * 8u + j]);
    }
    let alpha = exp2(m - mNew);
    var part = 0.0;
    ${range(kpl).map((j) => `{
     let live = !isNan(x${j}) && x${j} > NEG * 0.5;
     part += select(0.0, exp2(x${j} - mNew), live);
     Ph[r * ${pStride}u + slot * ${kpl}u + ${j}u] = f16(select(0.0, exp2(y${j} - yMax), live));
    }`).join('\n    ')}
    lsum = lsum * alpha + part;
    m = mNew;
    if (slot == 0u) { rowA[r] = alpha; rowC[r] = exp2(yMax - mNew); }
   }
   // </softmax>
   workgroupBarrier();
   // ---- O = O * alpha + (P' V) * 2^(y - m), 16 columns a result; lane: column cc, rows 8 hh .. 8 hh + 7 of each block.
   ${pLeft}
   ${preload ? rowsOf(rowLets) : ''}
${pv}
  }
  // Row sums, maxima and NaN flags to every lane; then out (through Sc, in pairs) or the f32 partials.
  workgroupBarrier();
  redY[r * 8u + slot] = lsum;
  if (slot == 0u) { rowA[r] = m; rowC[r] = select(0.0, 1.0, nanRow); }
  workgroupBarrier();
  // 1 / (a row's sum) into redM (free at the item's end), read where each output element is written.
  if (t < ${R}u) {
   let ls = ${range(8).map((j) => `redY[t * 8u + ${j}u]`).join(' + ')};
   redM[t] = select(0.0, 1.0 / ls, ls > 0.0);
  }
  workgroupBarrier();
  if (isSplit) {
   ${range(2).map((b) => range(8).map((i) => `{
    let mm = mBase + ${16 * b}u + hh * 8u + ${i}u;
    if (mm < qLen * u.nGroups) {
     let a = u.oAccOff + (slotAcc * u.rowStride + (mm / u.nGroups) * u.hQ + kvh * u.nGroups + mm % u.nGroups) * 512u + sg * ${vCols}u + cc;
     let nr = rowC[${16 * b}u + hh * 8u + ${i}u] != 0.0;
     let inv = redM[${16 * b}u + hh * 8u + ${i}u];
     ${range(nbs).map((nb) => `acc[a + ${16 * nb}u] = select(o${nb}_${b}_${i} * inv, qNan(), nr);`).join(' ')}
    }
   }`).join('\n   ')).join('\n   ')}
  } else {
   ${range(nbs).flatMap((nb) => range(2).map((b) => `
   workgroupBarrier();
   ${range(8).map((i) => `Sc[sg * 256u + ${16 * i}u + hh * 128u + cc] = o${nb}_${b}_${i} * redM[${16 * b}u + hh * 8u + ${i}u];`).join(' ')}
   workgroupBarrier();
   for (var pi = l; pi < 128u; pi += 32u) {
    let row = pi / 8u;
    let mm = mBase + ${16 * b}u + row;
    if (mm < qLen * u.nGroups) {
     let ob = u.outOff + ((qStart + mm / u.nGroups) * u.hQ + kvh * u.nGroups + mm % u.nGroups) * 256u + (sg * ${vCols}u + ${16 * nb}u) / 2u + pi % 8u;
     let v = vec2<f32>(Sc[sg * 256u + row * 16u + 2u * (pi % 8u)], Sc[sg * 256u + row * 16u + 2u * (pi % 8u) + 1u]);
     out[ob] = select(pack2(v), ${nanWord}, rowC[${16 * b}u + row] != 0.0);
    }
   }`)).join('')}
  }
  if (t < ${R}u) {
   let mm = mBase + t;
   if (mm < qLen * u.nGroups) {
    let j = mm / u.nGroups;
    let h = kvh * u.nGroups + mm % u.nGroups;
    let lsT = ${range(8).map((j) => `redY[t * 8u + ${j}u]`).join(' + ')};
    // A NaN row sum (a score of +inf: inf - inf) is NaN, not "no key": the combine reads a NaN partial as a NaN row.
    let nr = rowC[t] != 0.0 || isNan(lsT);
    let v = select((rowA[t] + log2(lsT)) * 0.6931471805599453, qNan(), nr);
    if (!isSplit) {
     lse[u.lseOff + batch * u.lseStrideB + h * u.lseStrideH + (qStart + j) * u.lseStrideT] = select(bitcast<f32>(u.posInfBits), v, lsT > 0.0 || nr);
    } else {
     acc[slotAcc * u.rowStride + j * u.hQ + h] = select(NEG, v, lsT > 0.0 || nr);
    }
   }
  }
 }
}
`;
  },
};
