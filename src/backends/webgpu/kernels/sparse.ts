// Token-sparse MLA decode in WGSL, over FlashMLA's FP8 caches (V3.2, MODEL1) or a bf16/f16 cache.
// One 64-lane workgroup per query (batch, query) and group of G heads (SparseSpec.heads; the index list is the
// query's, shared by its heads). The list (main top-k, then the extra top-k) is walked 64 entries at a time: lane t
// resolves entry t, decodes that token once and scores it against the G heads' queries; then every lane folds the
// 64 x G scores into each head's running max / sum (online softmax) and accumulates its own 8 output columns of each
// head, decoding those 8 V values once for the G heads. e4m3 and UE8M0 are decoded with bit operations (no float8 in
// WGSL). Roofline: a token's bytes are read twice (score lane, then 64 lanes for V) per group of G heads, so this is
// ~2 * hQ / G x the traffic of a kernel that reads each token once per query; G = 1 is the kernel of sessions 10-43
// (one head a workgroup), kept for A/B (FLASHMLA_WEBGPU_SPARSE_HEADS).
import type { HalfDType } from '../../../core/dtype.js';
import { isFp8Format } from '../../../core/fp8.js';
import type { SparseCacheKind, SparseProblem } from '../../../core/sparse.js';
import { FlashMlaError } from '../../../core/errors.js';
import { defineParams } from '../params.js';
import { type DeviceCaps, type Dispatch, type Program, foldDispatch, linearWorkgroupWgsl } from '../program.js';
import { negBig, packWgsl } from './decode.js';
import { nanWgsl } from './nan.js';

export const sparseParams = defineParams('SparseParams', [
  ['b', 'u32'], ['sQ', 'u32'], ['hQ', 'u32'], ['dQk', 'u32'],
  ['topk', 'u32'], ['extraTopk', 'u32', '0 without an extra cache'],
  ['hasTopkLength', 'u32'], ['hasExtraTopkLength', 'u32'], ['hasSink', 'u32'],
  ['pageBlockSize', 'u32'], ['extraPageBlockSize', 'u32'],
  ['blockStride', 'u32', 'FP8: bytes; bf16/f16: elements'], ['extraBlockStride', 'u32'],
  ['kOff', 'u32', 'FP8: byte offset of the cache in its first binding; bf16/f16: element offset'], ['extraOff', 'u32'],
  ['kPagesPerSeg', 'u32', 'pages a cache binding holds'], ['xPagesPerSeg', 'u32'],
  ['qOff', 'u32', 'u32 words'], ['outOff', 'u32', 'u32 words'], ['lseOff', 'u32', 'f32 elements'],
  ['indOff', 'u32', 'offsets into idx (i32 elements)'], ['extraIndOff', 'u32'], ['tlOff', 'u32'], ['extraTlOff', 'u32'], ['sinkOff', 'u32'],
  ['scale', 'f32'], ['posInfBits', 'u32'],
  ['numTokens', 'u32', 'tokens of kCache: an index outside 0..numTokens-1 counts as -1'], ['extraNumTokens', 'u32'],
]);

export interface SparseSpec {
  kind: SparseCacheKind;
  dtype: HalfDType;
  /** Heads a workgroup (G): 1, 2, 4 or 8 (chooseSparseHeads). */
  heads: SparseHeads;
  /** Bindings of the main and the extra cache (sparseCacheBindingsWgsl). */
  segs: { k: number; x: number };
}

export type SparseHeads = 1 | 2 | 4 | 8;
export const sparseHeadChoices: readonly SparseHeads[] = [1, 2, 4, 8];

export const sparseMaxDqk = 576;

/** WGSL: whether an index entry names a token of its cache of n tokens. -1 and every other id outside 0..n-1 do not:
    index tensors on the device are never read back, so the kernels bound them here. */
export const isTokenWgsl = 'fn isToken(id: i32, n: u32) -> bool { return id >= 0 && u32(id) < n; }';

/** Workgroup memory a G-head workgroup takes: the G query rows (f32), G x 64 scores, 64 entry kinds and addresses. */
export function sparseSharedBytes(heads: number): number {
  return heads * sparseMaxDqk * 4 + heads * 64 * 4 + 64 * 4 + 64 * 16;
}

/**
 * Heads a workgroup: `forced` where given (it must fit the workgroup memory), else the largest of 8 / 4 / 2 not above
 * hQ that fits and still leaves at least 2 workgroups an SM (`numSms`, the backend's count), else 1. The kernel does
 * not split a query's list over workgroups, so at small batches the heads are what fills the device: there G = 1 keeps
 * the most workgroups (each decodes its tokens for one head), at large ones a larger G decodes each token once for G
 * heads. (A prediction from the work counts, not measured on a GPU: session 44 had none.)
 */
export function chooseSparseHeads(p: Pick<SparseProblem, 'b' | 'sQ' | 'hQ'>, numSms: number, caps: Pick<DeviceCaps, 'maxComputeWorkgroupStorageSize'>, forced?: SparseHeads): SparseHeads {
  const fits = (g: number) => sparseSharedBytes(g) <= caps.maxComputeWorkgroupStorageSize;
  if (forced !== undefined) {
    if (!fits(forced)) throw new FlashMlaError('invalid_argument', `sparse heads ${forced}: needs ${sparseSharedBytes(forced)} bytes of workgroup memory, the device has ${caps.maxComputeWorkgroupStorageSize}`, 'sparseHeads');
    return forced;
  }
  for (const g of [8, 4, 2] as const) {
    if (p.hQ >= g && fits(g) && p.b * p.sQ * Math.ceil(p.hQ / g) >= 2 * numSms) return g;
  }
  return 1;
}

export function sparseDispatch(p: SparseProblem, caps: DeviceCaps, heads: SparseHeads): Dispatch {
  return foldDispatch(p.b * p.sQ * Math.ceil(p.hQ / heads), caps.maxComputeWorkgroupsPerDimension);
}

function unpack(dtype: HalfDType): string {
  return dtype === 'bf16'
    ? `fn unpack2(w: u32) -> vec2<f32> { return vec2<f32>(bitcast<f32>(w << 16u), bitcast<f32>(w & 0xffff0000u)); }`
    : `fn unpack2(w: u32) -> vec2<f32> { return unpack2x16float(w); }`;
}

/**
 * The cache bindings of a sparse kernel from binding `first` on: kc0 .. kc{segs.k - 1} (main cache) and xc0 ..
 * (extra cache), each a run of whole pages (WebGpuBackend.sparseCacheBindings; a cache over one binding's limit takes
 * several), and `word(sel, g, i)`: u32 word i of segment g of the cache `sel` (1 main, 2 extra).
 */
export function sparseCacheBindingsWgsl(first: number, segs: { k: number; x: number }): string {
  const decl = (name: string, n: number, at: number) => Array.from({ length: n }, (_, j) => `@group(0) @binding(${at + j}) var<storage, read> ${name}${j}: array<u32>;`).join('\n');
  const pick = (name: string, n: number) => n === 1 ? `return ${name}0[i];`
    : `switch g {\n${Array.from({ length: n }, (_, j) => j === n - 1 ? `    default: { return ${name}${j}[i]; }` : `    case ${j}u: { return ${name}${j}[i]; }`).join('\n')}\n  }`;
  return `${decl('kc', segs.k, first)}
${decl('xc', segs.x, first + segs.k)}
fn word(sel: u32, g: u32, i: u32) -> u32 {
  if (sel == 1u) { return kword(g, i); }
  return xword(g, i);
}
fn kword(g: u32, i: u32) -> u32 {
  ${pick('kc', segs.k)}
}
fn xword(g: u32, i: u32) -> u32 {
  ${pick('xc', segs.x)}
}`;
}

/** WGSL `fn e4m3(b: u32) -> f32`: an e4m3fn byte's value, exact in f32 (its NaN from the uniform `u`'s posInfBits). */
export const e4m3Wgsl = `// e4m3fn from its bits: S.EEEE.MMM, bias 7, no infinities, S.1111.111 = NaN.
fn e4m3(b: u32) -> f32 {
  let e = (b >> 3u) & 15u;
  let m = b & 7u;
  if (e == 15u && m == 7u) { return bitcast<f32>(u.posInfBits | 0x00400000u); }
  if (e == 0u) { return select(1.0, -1.0, (b & 0x80u) != 0u) * f32(m) * ${2 ** -9}; }
  return bitcast<f32>(((b & 0x80u) << 24u) | ((e + 120u) << 23u) | (m << 20u));
}`;

/**
 * Where a token of the cache kind lives (`tokenAddr`: its addresses in its page's segment, the segment in .w), and for
 * FP8 kinds its bytes and scales decoded by bit operations (`e4m3`, `scaleOf`). Shared with the gathered path
 * (kernels/sparse-gather.ts); reads the uniform `u`'s cache fields (kOff, extraOff, pageBlockSize, extraPageBlockSize,
 * blockStride, extraBlockStride, kPagesPerSeg, xPagesPerSeg, dQk, posInfBits) and `word` (sparseCacheBindingsWgsl).
 */
export function tokenAddrWgsl(kind: SparseCacheKind): string {
  // The token's page, its segment and the page's first byte / element there (the cache's offset counts in segment 0).
  const page = `  let bs = select(u.extraPageBlockSize, u.pageBlockSize, sel == 1u);
  let pps = select(u.xPagesPerSeg, u.kPagesPerSeg, sel == 1u);
  let page = phys / bs;
  let g = page / pps;
  let base = select(0u, select(u.extraOff, u.kOff, sel == 1u), g == 0u) + (page - g * pps) * select(u.extraBlockStride, u.blockStride, sel == 1u);
  let slot = phys % bs;`;
  if (!isFp8Format(kind)) {
    return `// a.x: the token's first u32 word in segment a.w.
fn tokenAddr(sel: u32, phys: u32) -> vec4<u32> {
${page}
  return vec4<u32>((base + slot * u.dQk) / 2u, 0u, 0u, g);
}`;
  }
  const v32 = kind === 'v32';
  const nope = v32 ? 512 : 448, tile = v32 ? 128 : 64;
  return `const NOPE: u32 = ${nope}u;
const TILE: u32 = ${tile}u;
${e4m3Wgsl}
fn byteAt(sel: u32, g: u32, o: u32) -> u32 { return (word(sel, g, o >> 2u) >> ((o & 3u) * 8u)) & 0xffu; }
fn scaleOf(sel: u32, g: u32, s: u32, j: u32) -> f32 {
${v32 ? '  return bitcast<f32>(word(sel, g, (s >> 2u) + j)); // 4 f32 scales'
    : `  let b = byteAt(sel, g, s + j); // UE8M0: 2^(b - 127), 0xFF = NaN
  if (b == 255u) { return bitcast<f32>(u.posInfBits | 0x00400000u); }
  if (b == 0u) { return bitcast<f32>(0x00400000u); }
  return bitcast<f32>(b << 23u);`}
}
// Byte offsets (in segment .w) of the token's NoPE bytes, bf16 RoPE and scales.
fn tokenAddr(sel: u32, phys: u32) -> vec4<u32> {
${page}
${v32 ? '  let n = base + slot * 656u;\n  return vec4<u32>(n, n + 528u, n + 512u, g);'
    : '  let n = base + slot * 576u;\n  return vec4<u32>(n, n + 448u, base + bs * 576u + slot * 8u, g);'}
}`;
}

/**
 * Token access for the cache kind: tokenAddrWgsl, and a token's scores against the G queries in qs (QS apart) and its 8
 * V columns at c0. A head's score is summed in the same order whatever G is.
 */
function tokenAccess(kind: SparseCacheKind): string {
  if (!isFp8Format(kind)) {
    return `${tokenAddrWgsl(kind)}
${unpack(kind).replace('unpack2', 'unpackK')}
fn scores(sel: u32, a: vec4<u32>) -> array<f32, G> {
  var acc = array<f32, G>();
  for (var w = 0u; w < u.dQk / 2u; w++) {
    let k = unpackK(word(sel, a.w, a.x + w));
    for (var g = 0u; g < G; g++) { acc[g] += qs[g * QS + 2u * w] * k.x + qs[g * QS + 2u * w + 1u] * k.y; }
  }
  return acc;
}
fn vcols(sel: u32, a: vec4<u32>, c0: u32) -> array<f32, 8> {
  var v: array<f32, 8>;
  for (var w = 0u; w < 4u; w++) { let k = unpackK(word(sel, a.w, a.x + c0 / 2u + w)); v[2u * w] = k.x; v[2u * w + 1u] = k.y; }
  return v;
}`;
  }
  return `${tokenAddrWgsl(kind)}
fn scores(sel: u32, a: vec4<u32>) -> array<f32, G> {
  var acc = array<f32, G>();
  for (var j = 0u; j < NOPE / TILE; j++) {
    var part = array<f32, G>(); // zeroed on every tile: written out (lavapipe kept the last tile's sums under a bare declaration)
    for (var w = 0u; w < TILE / 4u; w++) {
      let d = j * TILE + 4u * w;
      let x = word(sel, a.w, (a.x + d) >> 2u);
      let k0 = e4m3(x & 0xffu);
      let k1 = e4m3((x >> 8u) & 0xffu);
      let k2 = e4m3((x >> 16u) & 0xffu);
      let k3 = e4m3(x >> 24u);
      for (var g = 0u; g < G; g++) {
        let q = g * QS + d;
        part[g] += qs[q] * k0 + qs[q + 1u] * k1 + qs[q + 2u] * k2 + qs[q + 3u] * k3;
      }
    }
    let sj = scaleOf(sel, a.w, a.z, j);
    for (var g = 0u; g < G; g++) { acc[g] += part[g] * sj; }
  }
  for (var w = 0u; w < 32u; w++) {
    let x = word(sel, a.w, (a.y >> 2u) + w);
    let r0 = bitcast<f32>(x << 16u);
    let r1 = bitcast<f32>(x & 0xffff0000u);
    for (var g = 0u; g < G; g++) { acc[g] += qs[g * QS + NOPE + 2u * w] * r0 + qs[g * QS + NOPE + 2u * w + 1u] * r1; }
  }
  return acc;
}
fn vcols(sel: u32, a: vec4<u32>, c0: u32) -> array<f32, 8> {
  var v: array<f32, 8>;
  if (c0 < NOPE) {
    let s = scaleOf(sel, a.w, a.z, c0 / TILE);
    for (var w = 0u; w < 2u; w++) {
      let x = word(sel, a.w, ((a.x + c0) >> 2u) + w);
      for (var k = 0u; k < 4u; k++) { v[4u * w + k] = e4m3((x >> (8u * k)) & 0xffu) * s; }
    }
  } else {
    for (var w = 0u; w < 4u; w++) {
      let x = word(sel, a.w, (a.y >> 2u) + (c0 - NOPE) / 2u + w);
      v[2u * w] = bitcast<f32>(x << 16u);
      v[2u * w + 1u] = bitcast<f32>(x & 0xffff0000u);
    }
  }
  return v;
}`;
}

export const sparseProgram: Program<SparseSpec> = {
  name: 'mla_sparse_decode',
  key: (s) => `${s.kind}.${s.dtype}.g${s.heads}.k${s.segs.k}x${s.segs.x}`,
  source: (s) => `${sparseParams.wgsl}
@group(0) @binding(0) var<uniform> u: SparseParams;
@group(0) @binding(1) var<storage, read> idx: array<i32>;
@group(0) @binding(2) var<storage, read> qb: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<u32>;
@group(0) @binding(4) var<storage, read_write> lse: array<f32>;
${sparseCacheBindingsWgsl(5, s.segs)}
const NEG: f32 = ${negBig};
const G: u32 = ${s.heads}u; // heads a workgroup
const QS: u32 = ${sparseMaxDqk}u; // qs's stride between heads
var<workgroup> qs: array<f32, ${s.heads * sparseMaxDqk}>;
var<workgroup> sc: array<f32, ${s.heads * 64}>; // head g's score of entry k at g * 64 + k
var<workgroup> tsel: array<u32, 64>; // 0: invalid entry, 1: main cache, 2: extra cache
var<workgroup> taddr: array<vec4<u32>, 64>;
${unpack(s.dtype)}
${packWgsl(s.dtype)}
${nanWgsl(s.dtype, 'u.posInfBits')}
${linearWorkgroupWgsl}
${tokenAccess(s.kind)}
${isTokenWgsl}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let groups = (u.hQ + G - 1u) / G;
  let wg = linearWorkgroup(wid, nwg); // (i, s, head group) of out [b, sQ, hQ, 512]
  if (wg >= u.b * u.sQ * groups) { return; }
  let h0 = (wg % groups) * G;
  let rowQ = wg / groups; // i * sQ + s
  let i = rowQ / u.sQ;
  let s = rowQ % u.sQ;
  let heads = min(G, u.hQ - h0);
  for (var w = t; w < G * (u.dQk / 2u); w += 64u) {
    let g = w / (u.dQk / 2u);
    let ww = w % (u.dQk / 2u);
    var v = vec2<f32>(0.0);
    if (g < heads) { v = unpack2(qb[u.qOff + (rowQ * u.hQ + h0 + g) * (u.dQk / 2u) + ww]); }
    qs[g * QS + 2u * ww] = v.x;
    qs[g * QS + 2u * ww + 1u] = v.y;
  }
  var mainLen = u.topk;
  if (u.hasTopkLength != 0u) { mainLen = min(u32(idx[u.tlOff + i]), u.topk); }
  var extraLen = u.extraTopk;
  if (u.hasExtraTopkLength != 0u) { extraLen = min(u32(idx[u.extraTlOff + i]), u.extraTopk); }
  let total = mainLen + extraLen;
  workgroupBarrier();
  var m: array<f32, G>;
  var l: array<f32, G>;
  var bad: array<bool, G>; // a NaN or +inf score: the head's row is NaN (as in the reference)
  for (var g = 0u; g < G; g++) { m[g] = NEG; }
  var seen = false; // a valid index: the rows are not empty
  var acc: array<f32, ${s.heads * 8}>; // head g's 8 columns at g * 8
  let c0 = t * 8u;
  for (var c = 0u; c < total; c += 64u) {
    let p = c + t;
    var sel = 0u;
    var phys = -1;
    if (p < mainLen) { phys = idx[u.indOff + rowQ * u.topk + p]; sel = 1u; }
    else if (p < total) { phys = idx[u.extraIndOff + rowQ * u.extraTopk + (p - mainLen)]; sel = 2u; }
    if (!isToken(phys, select(u.numTokens, u.extraNumTokens, sel == 2u))) { sel = 0u; }
    var x: array<f32, G>;
    for (var g = 0u; g < G; g++) { x[g] = NEG; }
    if (sel != 0u) {
      let a = tokenAddr(sel, u32(phys));
      taddr[t] = a;
      let sg = scores(sel, a);
      for (var g = 0u; g < G; g++) { x[g] = sg[g] * u.scale; }
    }
    tsel[t] = sel;
    for (var g = 0u; g < G; g++) { sc[g * 64u + t] = x[g]; }
    workgroupBarrier();
    // NaN and infinities are told by their bits and kept out of the max (WGSL leaves max(NaN, x) open); a -inf
    // score is a token with p = 0 whose V still enters the sum (0 * inf = NaN, as in the reference).
    var cmax: array<f32, G>;
    for (var g = 0u; g < G; g++) { cmax[g] = NEG; }
    var some = false;
    for (var k = 0u; k < 64u; k++) {
      if (tsel[k] != 0u) {
        some = true;
        for (var g = 0u; g < G; g++) {
          let y = sc[g * 64u + k];
          bad[g] = bad[g] | (nonFinite(y) & !isNegInf(y));
          cmax[g] = max(cmax[g], select(y, NEG, nonFinite(y)));
        }
      }
    }
    seen = seen || some;
    if (some) {
      var mNew: array<f32, G>;
      for (var g = 0u; g < G; g++) {
        mNew[g] = max(m[g], cmax[g]);
        if (!bad[g]) {
          let corr = exp(m[g] - mNew[g]);
          l[g] *= corr;
          for (var d = 0u; d < 8u; d++) { acc[g * 8u + d] *= corr; }
        }
      }
      for (var k = 0u; k < 64u; k++) {
        let sk = tsel[k];
        if (sk == 0u) { continue; }
        let v = vcols(sk, taddr[k], c0);
        for (var g = 0u; g < G; g++) {
          if (bad[g]) { continue; }
          let y = sc[g * 64u + k];
          let pk = select(0.0, exp(y - mNew[g]), y > NEG * 0.5);
          l[g] += pk;
          for (var d = 0u; d < 8u; d++) { acc[g * 8u + d] += pk * v[d]; }
        }
      }
      for (var g = 0u; g < G; g++) { if (!bad[g]) { m[g] = mNew[g]; } }
    }
    workgroupBarrier();
  }
  for (var g = 0u; g < heads; g++) {
    let h = h0 + g;
    let o = u.outOff + (rowQ * u.hQ + h) * 256u + t * 4u;
    let lo = u.lseOff + (i * u.hQ + h) * u.sQ + s;
    if (!seen) { // no valid index: out 0, lse +inf
      for (var w = 0u; w < 4u; w++) { out[o + w] = 0u; }
      if (t == 0u) { lse[lo] = bitcast<f32>(u.posInfBits); }
      continue;
    }
    if (bad[g] || l[g] == 0.0) { // a NaN or +inf score, or every score -inf: NaN, whatever the sink
      for (var w = 0u; w < 4u; w++) { out[o + w] = nanPair(); }
      if (t == 0u) { lse[lo] = nanF32(); }
      continue;
    }
    let rowLse = m[g] + log(l[g]);
    var f = 1.0 / l[g];
    if (u.hasSink != 0u) {
      let sb = u32(idx[u.sinkOff + h]);
      if (sb == 0x7f800000u) { f = 0.0; } // +inf: the sink takes everything
      else if (sb != 0xff800000u) { // f / (1 + e^d); past d = 80 the same value as f * e^-d, which cannot overflow
        let d = bitcast<f32>(sb) - rowLse;
        if (d > 80.0) { f = f * exp(-d); } else { f = f / (1.0 + exp(d)); }
      }
    }
    for (var w = 0u; w < 4u; w++) { out[o + w] = pack2(vec2<f32>(acc[g * 8u + 2u * w], acc[g * 8u + 2u * w + 1u]) * f); }
    if (t == 0u) { lse[lo] = rowLse; }
  }
}
`,
};
