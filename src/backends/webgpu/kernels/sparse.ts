// Token-sparse MLA decode in WGSL, over FlashMLA's FP8 caches (V3.2, MODEL1) or a bf16/f16 cache.
// Correct first, not yet fast: one 64-lane workgroup per query row (batch, query, head). The row's index list
// (main top-k, then the extra top-k) is walked 64 entries at a time: lane t resolves entry t, dequantizes that
// token and computes its score; then every lane folds the 64 scores into the running max / sum (online softmax)
// and accumulates its own 8 output columns. e4m3 and UE8M0 are decoded with bit operations (no float8 in WGSL).
// Roofline: a token's bytes are read twice (score lane, then 64 lanes for V) per head, so this is ~2*hQ x the
// traffic of a kernel that shares tokens across heads; the next step is FlashMLA's head-tiled layout.
import type { HalfDType } from '../../../core/dtype.js';
import type { SparseCacheKind, SparseProblem } from '../../../core/sparse.js';
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
  ['kOff', 'u32', 'FP8: byte offset of the cache in its buffer; bf16/f16: element offset'], ['extraOff', 'u32'],
  ['qOff', 'u32', 'u32 words'], ['outOff', 'u32', 'u32 words'], ['lseOff', 'u32', 'f32 elements'],
  ['indOff', 'u32', 'offsets into idx (i32 elements)'], ['extraIndOff', 'u32'], ['tlOff', 'u32'], ['extraTlOff', 'u32'], ['sinkOff', 'u32'],
  ['scale', 'f32'], ['posInfBits', 'u32'],
]);

export interface SparseSpec { kind: SparseCacheKind; dtype: HalfDType }

export const sparseMaxDqk = 576;

export function sparseDispatch(p: SparseProblem, caps: DeviceCaps): Dispatch {
  return foldDispatch(p.b * p.sQ * p.hQ, caps.maxComputeWorkgroupsPerDimension);
}

function unpack(dtype: HalfDType): string {
  return dtype === 'bf16'
    ? `fn unpack2(w: u32) -> vec2<f32> { return vec2<f32>(bitcast<f32>(w << 16u), bitcast<f32>(w & 0xffff0000u)); }`
    : `fn unpack2(w: u32) -> vec2<f32> { return unpack2x16float(w); }`;
}

/** Token access for the cache kind: where a token lives, its score against qs, and its 8 V columns at c0. */
function tokenAccess(kind: SparseCacheKind): string {
  const word = `fn word(sel: u32, i: u32) -> u32 { if (sel == 1u) { return kc[i]; } return xc[i]; }`;
  if (kind === 'bf16' || kind === 'f16') {
    return `${word}
${unpack(kind).replace('unpack2', 'unpackK')}
// a: the token's first u32 word.
fn tokenAddr(sel: u32, phys: u32) -> vec3<u32> {
  let off = select(u.extraOff, u.kOff, sel == 1u);
  return vec3<u32>((off + phys * u.dQk) / 2u, 0u, 0u);
}
fn score(sel: u32, a: vec3<u32>) -> f32 {
  var acc = 0.0;
  for (var w = 0u; w < u.dQk / 2u; w++) {
    let k = unpackK(word(sel, a.x + w));
    acc += qs[2u * w] * k.x + qs[2u * w + 1u] * k.y;
  }
  return acc;
}
fn vcols(sel: u32, a: vec3<u32>, c0: u32) -> array<f32, 8> {
  var v: array<f32, 8>;
  for (var w = 0u; w < 4u; w++) { let k = unpackK(word(sel, a.x + c0 / 2u + w)); v[2u * w] = k.x; v[2u * w + 1u] = k.y; }
  return v;
}`;
  }
  const v32 = kind === 'v32';
  const nope = v32 ? 512 : 448, tile = v32 ? 128 : 64;
  return `${word}
const NOPE: u32 = ${nope}u;
const TILE: u32 = ${tile}u;
// e4m3fn from its bits: S.EEEE.MMM, bias 7, no infinities, S.1111.111 = NaN.
fn e4m3(b: u32) -> f32 {
  let e = (b >> 3u) & 15u;
  let m = b & 7u;
  if (e == 15u && m == 7u) { return bitcast<f32>(u.posInfBits | 0x00400000u); }
  if (e == 0u) { return select(1.0, -1.0, (b & 0x80u) != 0u) * f32(m) * ${2 ** -9}; }
  return bitcast<f32>(((b & 0x80u) << 24u) | ((e + 120u) << 23u) | (m << 20u));
}
fn byteAt(sel: u32, o: u32) -> u32 { return (word(sel, o >> 2u) >> ((o & 3u) * 8u)) & 0xffu; }
fn scaleOf(sel: u32, s: u32, j: u32) -> f32 {
${v32 ? '  return bitcast<f32>(word(sel, (s >> 2u) + j)); // 4 f32 scales'
    : `  let b = byteAt(sel, s + j); // UE8M0: 2^(b - 127), 0xFF = NaN
  if (b == 255u) { return bitcast<f32>(u.posInfBits | 0x00400000u); }
  if (b == 0u) { return bitcast<f32>(0x00400000u); }
  return bitcast<f32>(b << 23u);`}
}
// Byte offsets of the token's NoPE bytes, bf16 RoPE and scales.
fn tokenAddr(sel: u32, phys: u32) -> vec3<u32> {
  let bs = select(u.extraPageBlockSize, u.pageBlockSize, sel == 1u);
  let base = select(u.extraOff, u.kOff, sel == 1u) + (phys / bs) * select(u.extraBlockStride, u.blockStride, sel == 1u);
  let slot = phys % bs;
${v32 ? '  let n = base + slot * 656u;\n  return vec3<u32>(n, n + 528u, n + 512u);'
    : '  let n = base + slot * 576u;\n  return vec3<u32>(n, n + 448u, base + bs * 576u + slot * 8u);'}
}
fn score(sel: u32, a: vec3<u32>) -> f32 {
  var acc = 0.0;
  for (var j = 0u; j < NOPE / TILE; j++) {
    var part = 0.0;
    for (var w = 0u; w < TILE / 4u; w++) {
      let d = j * TILE + 4u * w;
      let x = word(sel, (a.x + d) >> 2u);
      part += qs[d] * e4m3(x & 0xffu) + qs[d + 1u] * e4m3((x >> 8u) & 0xffu)
        + qs[d + 2u] * e4m3((x >> 16u) & 0xffu) + qs[d + 3u] * e4m3(x >> 24u);
    }
    acc += part * scaleOf(sel, a.z, j);
  }
  for (var w = 0u; w < 32u; w++) {
    let x = word(sel, (a.y >> 2u) + w);
    acc += qs[NOPE + 2u * w] * bitcast<f32>(x << 16u) + qs[NOPE + 2u * w + 1u] * bitcast<f32>(x & 0xffff0000u);
  }
  return acc;
}
fn vcols(sel: u32, a: vec3<u32>, c0: u32) -> array<f32, 8> {
  var v: array<f32, 8>;
  if (c0 < NOPE) {
    let s = scaleOf(sel, a.z, c0 / TILE);
    for (var w = 0u; w < 2u; w++) {
      let x = word(sel, ((a.x + c0) >> 2u) + w);
      for (var k = 0u; k < 4u; k++) { v[4u * w + k] = e4m3((x >> (8u * k)) & 0xffu) * s; }
    }
  } else {
    for (var w = 0u; w < 4u; w++) {
      let x = word(sel, (a.y >> 2u) + (c0 - NOPE) / 2u + w);
      v[2u * w] = bitcast<f32>(x << 16u);
      v[2u * w + 1u] = bitcast<f32>(x & 0xffff0000u);
    }
  }
  return v;
}`;
}

export const sparseProgram: Program<SparseSpec> = {
  name: 'mla_sparse_decode',
  key: (s) => `${s.kind}.${s.dtype}`,
  source: (s) => `${sparseParams.wgsl}
@group(0) @binding(0) var<uniform> u: SparseParams;
@group(0) @binding(1) var<storage, read> idx: array<i32>;
@group(0) @binding(2) var<storage, read> qb: array<u32>;
@group(0) @binding(3) var<storage, read> kc: array<u32>;
@group(0) @binding(4) var<storage, read> xc: array<u32>;
@group(0) @binding(5) var<storage, read_write> out: array<u32>;
@group(0) @binding(6) var<storage, read_write> lse: array<f32>;
const NEG: f32 = ${negBig};
var<workgroup> qs: array<f32, ${sparseMaxDqk}>;
var<workgroup> sc: array<f32, 64>;
var<workgroup> tsel: array<u32, 64>; // 0: invalid entry, 1: main cache, 2: extra cache
var<workgroup> taddr: array<vec3<u32>, 64>;
${unpack(s.dtype)}
${packWgsl(s.dtype)}
${nanWgsl(s.dtype, 'u.posInfBits')}
${linearWorkgroupWgsl}
${tokenAccess(s.kind)}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let g = linearWorkgroup(wid, nwg); // row (i, s, h) of out [b, sQ, hQ, 512]
  if (g >= u.b * u.sQ * u.hQ) { return; }
  let h = g % u.hQ;
  let i = g / (u.sQ * u.hQ);
  let s = (g / u.hQ) % u.sQ;
  for (var w = t; w < u.dQk / 2u; w += 64u) {
    let v = unpack2(qb[u.qOff + g * (u.dQk / 2u) + w]);
    qs[2u * w] = v.x;
    qs[2u * w + 1u] = v.y;
  }
  var mainLen = u.topk;
  if (u.hasTopkLength != 0u) { mainLen = min(u32(idx[u.tlOff + i]), u.topk); }
  var extraLen = u.extraTopk;
  if (u.hasExtraTopkLength != 0u) { extraLen = min(u32(idx[u.extraTlOff + i]), u.extraTopk); }
  let total = mainLen + extraLen;
  let rowQ = i * u.sQ + s;
  workgroupBarrier();
  var m = NEG;
  var l = 0.0;
  var seen = false; // a valid index: the row is not empty
  var bad = false; // a NaN or +inf score: the row is NaN (as in the reference)
  var acc: array<f32, 8>;
  let c0 = t * 8u;
  for (var c = 0u; c < total; c += 64u) {
    let p = c + t;
    var sel = 0u;
    var phys = -1;
    if (p < mainLen) { phys = idx[u.indOff + rowQ * u.topk + p]; sel = 1u; }
    else if (p < total) { phys = idx[u.extraIndOff + rowQ * u.extraTopk + (p - mainLen)]; sel = 2u; }
    if (phys < 0) { sel = 0u; }
    var x = NEG;
    if (sel != 0u) {
      let a = tokenAddr(sel, u32(phys));
      taddr[t] = a;
      x = score(sel, a) * u.scale;
    }
    tsel[t] = sel;
    sc[t] = x;
    workgroupBarrier();
    // NaN and infinities are told by their bits and kept out of the max (WGSL leaves max(NaN, x) open); a -inf
    // score is a token with p = 0 whose V still enters the sum (0 * inf = NaN, as in the reference).
    var cmax = NEG;
    var some = false;
    for (var k = 0u; k < 64u; k++) {
      if (tsel[k] != 0u) {
        let x = sc[k];
        some = true;
        bad = bad | (nonFinite(x) & !isNegInf(x));
        cmax = max(cmax, select(x, NEG, nonFinite(x)));
      }
    }
    seen = seen || some;
    if (some && !bad) {
      let mNew = max(m, cmax);
      let corr = exp(m - mNew);
      l *= corr;
      for (var d = 0u; d < 8u; d++) { acc[d] *= corr; }
      for (var k = 0u; k < 64u; k++) {
        let sk = tsel[k];
        if (sk == 0u) { continue; }
        let pk = select(0.0, exp(sc[k] - mNew), sc[k] > NEG * 0.5);
        l += pk;
        let v = vcols(sk, taddr[k], c0);
        for (var d = 0u; d < 8u; d++) { acc[d] += pk * v[d]; }
      }
      m = mNew;
    }
    workgroupBarrier();
  }
  let o = u.outOff + g * 256u + t * 4u;
  let lo = u.lseOff + (i * u.hQ + h) * u.sQ + s;
  if (!seen) { // no valid index: out 0, lse +inf
    for (var w = 0u; w < 4u; w++) { out[o + w] = 0u; }
    if (t == 0u) { lse[lo] = bitcast<f32>(u.posInfBits); }
    return;
  }
  if (bad || l == 0.0) { // a NaN or +inf score, or every score -inf: NaN, whatever the sink
    for (var w = 0u; w < 4u; w++) { out[o + w] = nanPair(); }
    if (t == 0u) { lse[lo] = nanF32(); }
    return;
  }
  let rowLse = m + log(l);
  var f = 1.0 / l;
  if (u.hasSink != 0u) {
    let sb = u32(idx[u.sinkOff + h]);
    if (sb == 0x7f800000u) { f = 0.0; } // +inf: the sink takes everything
    else if (sb != 0xff800000u) { // f / (1 + e^d); past d = 80 the same value as f * e^-d, which cannot overflow
      let d = bitcast<f32>(sb) - rowLse;
      if (d > 80.0) { f = f * exp(-d); } else { f = f / (1.0 + exp(d)); }
    }
  }
  for (var w = 0u; w < 4u; w++) { out[o + w] = pack2(vec2<f32>(acc[2u * w], acc[2u * w + 1u]) * f); }
  if (t == 0u) { lse[lo] = rowLse; }
}
`,
};
