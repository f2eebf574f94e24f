// Split-KV MLA decode with f16 arithmetic for QK (devices with shader-f16; runs when decodePath 'f16' asks). Same
// bindings, params, schedule and split-KV accumulators as kernels/decode.ts, so the combine kernel is shared.
// Design and precision: docs/notes/webgpu-tensor-core.md.
//
// One workgroup per (SM part, KV head, tile of 16 query rows); 64-key tiles. QK streams the 576 columns in 18
// stages of 32 (4 parts of 8 columns); every loaded part of q or k becomes a block of 8 f16 values times a power
// of two 2^e, where e is the exponent of the block's largest finite magnitude. The conversion is exact for every
// value within 2^14 of its block's largest (bf16 has 8 significant bits, f16 11, and the block's largest lands in
// [1, 2)); smaller ones lose bits, which bounds their error by 2^-24 of the block's largest product. So any bf16
// magnitude (1e-30 .. 1e38) decodes, not only f16's 6e-5 .. 6e4. A block holding a NaN gets a NaN scale.
// A lane's 8-column partial dot products are f16 (dot of two vec4<f16>, values <= 4 each); each partial is
// scaled and accumulated into the score in f32. Softmax state (m, l), P and P V stay f32 (V converts exactly).
// NaN: a visible score that is NaN (a NaN in q or in a key the row sees) makes the row's out and lse NaN.
import type { HalfDType } from '../../../core/dtype.js';
import { metadataWgsl } from '../../../core/constants.js';
import type { MlaProblem } from '../../../core/problem.js';
import type { Dispatch, Program } from '../program.js';
import { decodeBindingsWgsl, itemLoopHead, keyRowLookup, metaRowLets, packWgsl, segmentLoader } from './decode.js';

export const f16Rows = 16; // query rows per workgroup
const nT = 64; // keys per tile
const parts = 4; // 8-column parts per QK stage
const stages = 576 / (8 * parts);

export interface DecodeF16Spec {
  dtype: HalfDType;
  /** Cache bindings. */
  segs: number;
}

export function decodeF16Dispatch(p: Pick<MlaProblem, 'numSmParts' | 'hKv' | 'sQ' | 'nGroups'>): Dispatch {
  return [p.numSmParts, p.hKv, Math.ceil((p.sQ * p.nGroups) / f16Rows)];
}

function unpackWgsl(dtype: HalfDType): string {
  return dtype === 'bf16'
    ? `fn unpack2(w: u32) -> vec2<f32> { return vec2<f32>(bitcast<f32>(w << 16u), bitcast<f32>(w & 0xffff0000u)); }`
    : `fn unpack2(w: u32) -> vec2<f32> { return unpack2x16float(w); }`;
}

export const decodeF16Program: Program<DecodeF16Spec> = {
  name: 'mla_decode_f16',
  key: (s) => `${s.dtype}.seg${s.segs}`,
  source(s) {
    const r4 = [0, 1, 2, 3];
    const c4 = ['x', 'y', 'z', 'w'];
    // QK compute of one stage buffer: lane (row r, key group g) owns keys g, g+16, g+32, g+48.
    const qk = Array.from({ length: parts }, (_, p) => `{
    let qa = Qh[qo + ${2 * p * f16Rows}u]; let qb = Qh[qo + ${(2 * p + 1) * f16Rows}u]; let qs = Qs[qso + ${p * f16Rows}u];
    ${r4.map((i) => `{ let kk = ko + ${2 * p * nT + 16 * i}u; let d = dot(qa, Kh[kk]) + dot(qb, Kh[kk + ${nT}u]); s.${c4[i]} = fma(f32(d), qs * Ks[kso + ${p * nT + 16 * i}u], s.${c4[i]}); }`).join('\n    ')}
   }`).join('\n   ');
    // P V: lane (row group rg, column group c) owns rows 4rg..4rg+3 x columns 8c..8c+7 (acc{row}{half}).
    const accs = r4.flatMap((i) => [`a${i}0`, `a${i}1`]);
    const pvKey = (k: string) => `{ let kk = ${k}; let sg = keySeg[kk]; var w = vec4<u32>(0u);
     if (sg != NONE) { w = loadK(sg, keyRow[kk] + c); }
     let v0 = clean(vec4<f32>(unpack2(w.x), unpack2(w.y))); let v1 = clean(vec4<f32>(unpack2(w.z), unpack2(w.w)));
     let p = Ps[kk * 4u + rg];
     ${r4.map((i) => `a${i}0 = fma(vec4<f32>(p.${c4[i]}), v0, a${i}0); a${i}1 = fma(vec4<f32>(p.${c4[i]}), v1, a${i}1);`).join('\n     ')} }`;
    const nanWord = s.dtype === 'bf16' ? '0x7fc07fc0u' : '0x7e007e00u';
    return `enable f16;
${decodeBindingsWgsl(s.segs)}
${metadataWgsl()}
// Two QK stage buffers. k: [buf][part * 2 + half][key] (consecutive keys in consecutive slots: the reads of a
// subgroup's key groups do not collide); q: [buf][part * 2 + half][row]; scales [buf][part][key or row].
var<workgroup> Kh: array<vec4<f16>, ${2 * 2 * parts * nT}>;
var<workgroup> Qh: array<vec4<f16>, ${2 * 2 * parts * f16Rows}>;
var<workgroup> Ks: array<f32, ${2 * parts * nT}>;
var<workgroup> Qs: array<f32, ${2 * parts * f16Rows}>;
var<workgroup> Ps: array<vec4<f32>, ${(nT * f16Rows) / 4}>; // probabilities [key][row / 4]
var<workgroup> red: array<f32, 256>;
var<workgroup> redN: array<u32, 256>;
var<workgroup> keyRow: array<u32, ${nT}>;
var<workgroup> keySeg: array<u32, ${nT}>;
var<workgroup> rowAlpha: array<f32, ${f16Rows}>;
var<workgroup> rowM: array<f32, ${f16Rows}>;
var<workgroup> rowL: array<f32, ${f16Rows}>;
var<workgroup> rowNan: array<u32, ${f16Rows}>;
var<workgroup> rowVis: array<i32, ${f16Rows}>;

${unpackWgsl(s.dtype)}
${packWgsl(s.dtype)}
${segmentLoader(s.segs)}

fn isNan4(x: vec4<f32>) -> vec4<bool> { return (bitcast<vec4<u32>>(x) & vec4<u32>(0x7fffffffu)) > vec4<u32>(0x7f800000u); }
fn isNanF(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
// NaN in V: zero (a row that sees the key is NaN through its score already; one that does not must stay finite).
fn clean(v: vec4<f32>) -> vec4<f32> { return select(v, vec4<f32>(0.0), isNan4(v)); }

struct Block { lo: vec4<f16>, hi: vec4<f16>, scale: f32 }

// 8 values (one vec4<u32> of the row) -> 8 f16 times 2^e, the block's largest finite magnitude scaled to [1, 2).
fn toBlock(w: vec4<u32>) -> Block {
 let a = vec4<f32>(unpack2(w.x), unpack2(w.y));
 let b = vec4<f32>(unpack2(w.z), unpack2(w.w));
 let inf = vec4<u32>(0x7f800000u);
 let ba = bitcast<vec4<u32>>(a) & vec4<u32>(0x7fffffffu);
 let bb = bitcast<vec4<u32>>(b) & vec4<u32>(0x7fffffffu);
 // Bit patterns of non-negative floats order like their values.
 let f = max(select(vec4<u32>(0u), ba, ba < inf), select(vec4<u32>(0u), bb, bb < inf));
 let e = clamp(max(max(f.x, f.y), max(f.z, f.w)) >> 23u, 1u, 253u);
 let down = bitcast<f32>((254u - e) << 23u);
 var r: Block;
 r.lo = vec4<f16>(a * down);
 r.hi = vec4<f16>(b * down);
 r.scale = select(bitcast<f32>(e << 23u), bitcast<f32>(u.posInfBits | 0x400000u), any(ba > inf) || any(bb > inf));
 return r;
}

struct Item { batch: u32, qStart: u32, qLen: u32, slot: u32, split: bool, mBase: u32, kvh: u32 }
var<private> it: Item;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
 let mb = u.metaOff + wid.x * META_FIELDS;
${metaRowLets('mb')}
 it.kvh = wid.y;
 it.mBase = wid.z * ${f16Rows}u;
 // Stage loads: lane t carries part t % 4 of key t / 4; lanes 0..63 also part t % 4 of q row t / 4.
 let ldKey = t / 4u;
 let ldPart = t % 4u;
 // QK / softmax lanes: row sr = t / 16, key group g = t % 16.
 let sr = t / 16u;
 let g = t % 16u;
 // P V lanes: column group c (8 columns, one vec4<u32> of V), row group rg.
 let c = t % 64u;
 let rg = t / 64u;
 ${accs.map((a) => `var ${a} = vec4<f32>(0.0);`).join(' ')}

${itemLoopHead}
  it.batch = batch;
  it.split = idx[u.nsOff + batch + 1u] - nsBase > 1;
  it.slot = u32(nsBase + split);
  var qStart = batch * u.sQ;
  var qLen = u.sQ;
  if (u.varlen != 0u) {
   qStart = u32(idx[u.qiOff + batch]);
   qLen = u32(idx[u.qiOff + batch + 1u]) - qStart;
  }
  it.qStart = qStart;
  it.qLen = qLen;
  if (wid.z * ${f16Rows}u >= qLen * u.nGroups) { continue; }
  if (t < ${f16Rows}u) {
   let j = i32((it.mBase + t) / u.nGroups);
   let vis = select(seqlen, seqlen - i32(qLen) + j + 1, u.causal != 0u);
   rowVis[t] = min(vis, kEnd);
  }
  let qm = it.mBase + ldKey;
  let qValid = t < ${4 * f16Rows}u && qm < qLen * u.nGroups;
  let qBase = ((qStart + qm / max(u.nGroups, 1u)) * u.hQ + it.kvh * u.nGroups + qm % u.nGroups) * 72u + u.qOff + ldPart;
  var m = NEG;
  var l = 0.0;
  var nanRow = 0u;
  ${accs.map((a) => `${a} = vec4<f32>(0.0);`).join(' ')}

  for (var k0 = kBegin; k0 < kEnd; k0 += ${nT}) {
   workgroupBarrier();
   if (t < ${nT}u) {
    let key = k0 + i32(t);
    if (key < kEnd) {
${keyRowLookup(s.segs, 'it.kvh')}
    } else {
     keySeg[t] = NONE;
    }
   }
   workgroupBarrier();
   let kSeg = keySeg[ldKey];
   let kRow = keyRow[ldKey] + ldPart;
   var rk = vec4<u32>(0u);
   var rq = vec4<u32>(0u);
   if (kSeg != NONE) { rk = loadK(kSeg, kRow); }
   if (qValid) { rq = q[qBase]; }
   var s = vec4<f32>(0.0);
   for (var st = 0u; st < ${stages}u; st++) {
    let b = st & 1u;
    {
     let kb = toBlock(rk);
     let ko = b * ${2 * parts * nT}u + ldPart * ${2 * nT}u + ldKey;
     Kh[ko] = kb.lo; Kh[ko + ${nT}u] = kb.hi; Ks[b * ${parts * nT}u + ldPart * ${nT}u + ldKey] = kb.scale;
     if (t < ${4 * f16Rows}u) {
      let qb = toBlock(rq);
      let qo = b * ${2 * parts * f16Rows}u + ldPart * ${2 * f16Rows}u + ldKey;
      Qh[qo] = qb.lo; Qh[qo + ${f16Rows}u] = qb.hi; Qs[b * ${parts * f16Rows}u + ldPart * ${f16Rows}u + ldKey] = qb.scale;
     }
    }
    if (st + 1u < ${stages}u) {
     let nx = (st + 1u) * ${parts}u;
     rk = vec4<u32>(0u);
     if (kSeg != NONE) { rk = loadK(kSeg, kRow + nx); }
     if (qValid) { rq = q[qBase + nx]; }
    }
    workgroupBarrier();
    let qo = b * ${2 * parts * f16Rows}u + sr;
    let ko = b * ${2 * parts * nT}u + g;
    let qso = b * ${parts * f16Rows}u + sr;
    let kso = b * ${parts * nT}u + g;
    ${qk}
   }
   // Scores in the exp2 domain; keys a row does not see are masked by selecting (they may hold NaN).
   let vis = rowVis[sr];
   let keys = vec4<i32>(k0 + i32(g)) + vec4<i32>(0, 16, 32, 48);
   let seen = keys < vec4<i32>(vis);
   let bad = seen & isNan4(s);
   let sc = select(vec4<f32>(NEG), s * u.scaleLog2, seen & !bad);
   red[t] = max(max(sc.x, sc.y), max(sc.z, sc.w));
   redN[t] = select(0u, 1u, any(bad));
   workgroupBarrier();
   var mx = NEG;
   for (var i = 0u; i < 16u; i++) { mx = max(mx, red[sr * 16u + i]); nanRow |= redN[sr * 16u + i]; }
   let mNew = max(m, mx);
   let p = select(vec4<f32>(0.0), exp2(sc - vec4<f32>(mNew)), sc > vec4<f32>(NEG * 0.5));
   ${r4.map((i) => `Ps[(g + ${16 * i}u) * 4u + sr / 4u][sr % 4u] = p.${c4[i]};`).join(' ')}
   workgroupBarrier();
   red[t] = p.x + p.y + p.z + p.w;
   workgroupBarrier();
   var sum = 0.0;
   for (var i = 0u; i < 16u; i++) { sum += red[sr * 16u + i]; }
   let alpha = exp2(m - mNew);
   l = l * alpha + sum;
   m = mNew;
   if (g == 0u) { rowAlpha[sr] = alpha; }
   workgroupBarrier();
   ${r4.map((i) => `{ let al = rowAlpha[rg * 4u + ${i}u]; a${i}0 *= al; a${i}1 *= al; }`).join(' ')}
   for (var kq = 0u; kq < ${nT}u; kq += 4u) {
    ${[0, 1, 2, 3].map((j) => pvKey(`kq + ${j}u`)).join('\n    ')}
   }
  }
  if (g == 0u) { rowM[sr] = m; rowL[sr] = l; rowNan[sr] = nanRow; }
  workgroupBarrier();
  ${r4.map((i) => `{
   let r = rg * 4u + ${i}u;
   let mm = it.mBase + r;
   if (mm < qLen * u.nGroups) {
    let j = mm / u.nGroups;
    let h = it.kvh * u.nGroups + mm % u.nGroups;
    let ll = rowL[r];
    let inv = select(0.0, 1.0 / ll, ll > 0.0);
    let nan = rowNan[r] != 0u;
    let o0 = a${i}0 * inv; let o1 = a${i}1 * inv;
    if (!it.split) {
     let w = u.outOff + ((qStart + j) * u.hQ + h) * 256u + c * 4u;
     out[w] = select(pack2(o0.xy), ${nanWord}, nan); out[w + 1u] = select(pack2(o0.zw), ${nanWord}, nan);
     out[w + 2u] = select(pack2(o1.xy), ${nanWord}, nan); out[w + 3u] = select(pack2(o1.zw), ${nanWord}, nan);
    } else {
     let o = u.oAccOff + (it.slot * u.rowStride + j * u.hQ + h) * 512u + c * 8u;
     let qn = bitcast<f32>(u.posInfBits | 0x400000u);
     acc[o] = select(o0.x, qn, nan); acc[o + 1u] = select(o0.y, qn, nan); acc[o + 2u] = select(o0.z, qn, nan); acc[o + 3u] = select(o0.w, qn, nan);
     acc[o + 4u] = select(o1.x, qn, nan); acc[o + 5u] = select(o1.y, qn, nan); acc[o + 6u] = select(o1.z, qn, nan); acc[o + 7u] = select(o1.w, qn, nan);
    }
   }
  }`).join('\n  ')}
  if (t < ${f16Rows}u) {
   let mm = it.mBase + t;
   if (mm < qLen * u.nGroups) {
    let j = mm / u.nGroups;
    let h = it.kvh * u.nGroups + mm % u.nGroups;
    let ll = rowL[t];
    let qn = bitcast<f32>(u.posInfBits | 0x400000u);
    let nr = rowNan[t] != 0u || isNanF(ll); // a NaN sum (a score of +inf) is a NaN row, not "no key"
    let v = select((rowM[t] + log2(ll)) * 0.6931471805599453, qn, nr);
    if (!it.split) {
     lse[u.lseOff + batch * u.lseStrideB + h * u.lseStrideH + (qStart + j) * u.lseStrideT] = select(bitcast<f32>(u.posInfBits), v, ll > 0.0 || nr);
    } else {
     acc[it.slot * u.rowStride + j * u.hQ + h] = select(NEG, v, ll > 0.0 || nr);
    }
   }
  }
  workgroupBarrier();
 }
}
`;
  },
};
