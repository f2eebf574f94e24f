// The GEMM path of dense decode on subgroup matrices (session 46; docs/notes/webgpu-decode-gemm.md): for many query
// rows per KV head the decode runs as three batched matrix products instead of one fused pass, so that every key a
// workgroup converts serves 64 query rows (v5 serves 16) and no workgroup holds a 512-column output in registers:
//   1. `mla_gemm_q`: each query row as f16 times a power of two that puts its largest magnitude in [1, 2) (the row's
//      exponent kept), padded rows zeroed; the row's request flagged when a value is NaN or infinite or the exponent
//      is past 100.
//   2. `mla_gemm_s`: S = Q Kᵀ over 64-key tiles, f16 products with f32 sums, the raw sums stored as f32 [row][key];
//      each key converted from bf16 to f16 as it is (no scale). A key whose largest magnitude is past 65280 (or
//      infinite, or NaN) or, being non-zero, below 2^-6 flags its request: within those bounds every bf16 value is an
//      f16 value, or a subnormal one within 2^-25 of it (2^-19 of the key's largest), as v5's bf16Direct keeps them.
//   3. `mla_gemm_softmax`: a workgroup a row: the exp2-domain scores (sum times 2^exponent times scale * log2 e),
//      causal limit, max, P = exp2(x - max) as f16 (at most 1), the lse and 1 / sum.
//   4. `mla_gemm_pv`: O = P V over the request's key tiles, 64 rows x 128 columns a workgroup, times 1 / sum into out.
// Then `mla_gemm_args` writes the indirect dispatch sizes of the fallback: v5 and its combine over the whole step when
// any request was flagged (their outputs replace the GEMM path's everywhere), nothing otherwise.
// What it costs besides the products: S written and read back as f32 and P as f16 (6 bytes a row and key), so it
// pays where the keys' conversion and the per-tile chain of v5 cost more than that traffic: many rows per KV head.
//
// `emulate` replaces the subgroup-matrix builtins by scalar loops over the same operands (tests on adapters without
// the feature); a "subgroup" is then 32 consecutive invocations, as on the GPU path.
import type { HalfDType } from '../../../core/dtype.js';
import { defineParams } from '../params.js';
import { type DeviceCaps, type Dispatch, type Program, foldDispatch, linearWorkgroupWgsl } from '../program.js';
import { packWgsl, segmentLoader } from './decode.js';
import { unpackWgsl } from './decode-matrix.js';

/** Query rows a tile of the S and PV products (4 blocks of 16). */
export const gemmRowTile = 64;
/** Keys a tile (the S product's workgroup; the PV product's step). */
export const gemmKeyTile = 64;
/** Output columns a PV workgroup. */
export const gemmColTile = 128;
const ks = 72; // S's key tile row stride (f16): 64 + 8
const vs = 136; // PV's value tile row stride (f16): 128 + 8
const chunks = 9; // 576 / 64 columns a step of S
const range4 = [0, 1, 2, 3];

export const gemmParams = defineParams('GemmParams', [
  ['slots', 'u32', 'requests of this chunk'], ['slot0', 'u32', 'its first request'],
  ['sQ', 'u32'], ['hQ', 'u32'], ['hKv', 'u32'], ['nGroups', 'u32'],
  ['rows', 'u32', 'query rows a KV head: sQ * nGroups'], ['rowsPad', 'u32', 'rows rounded up to the row tile'],
  ['keysPad', 'u32', 'key slots a row of S and P: the block table\'s keys rounded up to 64'],
  ['causal', 'u32'], ['pageBlockSize', 'u32'], ['maxBlocksPerSeq', 'u32'], ['pagesPerSeg', 'u32'],
  ['scaleLog2', 'f32'], ['lseStrideB', 'u32'], ['lseStrideH', 'u32'], ['lseStrideT', 'u32'],
  ['qOff', 'u32', 'u32 words'], ['outOff', 'u32', 'u32 words'], ['lseOff', 'u32', 'f32 elements'],
  ['btOff', 'u32', 'index words'], ['seqOff', 'u32', 'index words'], ['flagCount', 'u32', 'b * hKv'],
  ['posInfBits', 'u32'],
  ['fbX', 'u32', 'the fallback decode\'s workgroups'], ['fbY', 'u32'], ['fbZ', 'u32'],
  ['cbX', 'u32', 'the fallback combine\'s workgroups'], ['cbY', 'u32'], ['cbZ', 'u32'],
]);

export interface GemmSpec {
  dtype: HalfDType;
  /** Storage bindings the cache is split over (the S and PV products). */
  segs: number;
  emulate: boolean;
  /** PV's value tiles in workgroup memory: 2 (double-buffered, 43 KiB in all) or 1 (one barrier more a tile, 25 KiB). */
  vBuffers?: 1 | 2;
  /** S: each step's Q columns staged in workgroup memory (+18 KiB) instead of matrix loads from the storage buffer. */
  qStage?: boolean;
  /** PV: each step's P tile staged in workgroup memory (+18 KiB; with one value tile) instead of storage matrix loads. */
  pStage?: boolean;
}

/** Workgroup bytes of the PV product with `vBuffers` value tiles (its scratch and the length word included). */
export function gemmPvSharedBytes(vBuffers: 1 | 2): number {
  return vBuffers * gemmKeyTile * vs * 2 + 8 * 256 * 4 + 4;
}
/** Workgroup bytes of the S product. */
export const gemmSSharedBytes = 2 * gemmKeyTile * ks * 2 + 64 * 4 + 4;

const header = (enableMx: boolean) => `enable f16;
${enableMx ? 'enable chromium_experimental_subgroup_matrix;\ndiagnostic(off, chromium.subgroup_matrix_uniformity);\n' : ''}${gemmParams.wgsl}
@group(0) @binding(0) var<uniform> u: GemmParams;
${linearWorkgroupWgsl}
const NONE: u32 = 0xffffffffu;`;

const L16 = 'subgroup_matrix_left<f16, 16, 16>';
const R16 = 'subgroup_matrix_right<f16, 16, 16>';
const RES = 'subgroup_matrix_result<f32, 16, 16>';

/** WGSL: the request slot, its KV head and its batch index from `sh` (slot * hKv + head). */
const slotLets = `  let slotL = sh / u.hKv;
  let h = sh % u.hKv;
  let batch = u.slot0 + slotL;`;

/** WGSL: the cache row of key `key` of request `batch`, KV head `h`, as (binding, vec4 index of its first word). */
function keyRowFn(segs: number): string {
  return `fn keyRow(batch: u32, key: u32, h: u32) -> vec2<u32> {
  let blk = u32(idx[u.btOff + batch * u.maxBlocksPerSeq + key / u.pageBlockSize]);
  let seg = ${segs === 1 ? '0u' : `min(blk / u.pagesPerSeg, ${segs - 1}u)`};
  let local = blk - seg * u.pagesPerSeg;
  return vec2<u32>(seg, ((local * u.pageBlockSize + key % u.pageBlockSize) * u.hKv + h) * 72u);
}`;
}

function cacheBindings(first: number, segs: number): string {
  return Array.from({ length: segs }, (_, i) => `@group(0) @binding(${first + i}) var<storage, read> k${i}: array<vec4<u32>>;`).join('\n');
}

/** WGSL: the eight 16-bit values of word `w` (a vec4<u32>) as f16, converted from the cache's dtype. */
function toHalf8(dtype: HalfDType): string {
  return dtype === 'f16'
    ? `fn half8(w: vec4<u32>) -> array<vec2<f16>, 4> { return array<vec2<f16>, 4>(bitcast<vec2<f16>>(w.x), bitcast<vec2<f16>>(w.y), bitcast<vec2<f16>>(w.z), bitcast<vec2<f16>>(w.w)); }
fn mag8(w: vec4<u32>) -> u32 { // the largest magnitude as f32 bits (NaN and infinity above 0x7f7fffff)
  let a = vec4<u32>(w.x & 0x7fffu, (w.x >> 16u) & 0x7fffu, w.y & 0x7fffu, (w.y >> 16u) & 0x7fffu);
  let b = vec4<u32>(w.z & 0x7fffu, (w.z >> 16u) & 0x7fffu, w.w & 0x7fffu, (w.w >> 16u) & 0x7fffu);
  let m = max(max(a.x, a.y), max(max(a.z, a.w), max(max(b.x, b.y), max(b.z, b.w))));
  if (m == 0u) { return 0u; }
  return select(0x3c800000u, 0x7f800000u, m >= 0x7c00u);
}`
    : `fn half8(w: vec4<u32>) -> array<vec2<f16>, 4> {
  return array<vec2<f16>, 4>(vec2<f16>(unpack2(w.x)), vec2<f16>(unpack2(w.y)), vec2<f16>(unpack2(w.z)), vec2<f16>(unpack2(w.w)));
}
fn mag8(w: vec4<u32>) -> u32 { // the largest magnitude as f32 bits (NaN and infinity above 0x7f7fffff)
  let lo = (w << vec4<u32>(16u)) & vec4<u32>(0x7fff0000u);
  let hi = w & vec4<u32>(0x7fff0000u);
  let m = max(lo, hi);
  return max(max(m.x, m.y), max(m.z, m.w));
}`;
}

/** WGSL: put8(at, w) stores word w's eight values, as f16, at elements at.. of workgroup array `dst`. */
function put8Wgsl(dst: string): string {
  return `fn put8(at: u32, w: vec4<u32>) {
  let hv = half8(w);
  ${[0, 1, 2, 3].map((i) => `${dst}[at + ${2 * i}u] = hv[${i}].x; ${dst}[at + ${2 * i + 1}u] = hv[${i}].y;`).join(' ')}
}`;
}

/**
 * A key is taken as it is when its largest magnitude (f32 bits) is 0, or in [2^-6, 65280]: the f16 cache's mag8
 * reports a finite non-zero key as 2^-6 (f16 values need no conversion), infinities and NaN above the bound.
 */
const keyBadWgsl = `fn keyBad(m: u32) -> bool { return m != 0u && (m < 0x3c800000u || m > 0x477f0000u); }`;

// ------------------------------------------------------------------------------------------------ 1. the queries

export const gemmQProgram: Program<Pick<GemmSpec, 'dtype'>> = {
  name: 'mla_gemm_q',
  key: (s) => s.dtype,
  source: (s) => `${header(false)}
@group(0) @binding(1) var<storage, read> q: array<u32>;
@group(0) @binding(2) var<storage, read_write> qp: array<f16>;
@group(0) @binding(3) var<storage, read_write> qe: array<i32>;
@group(0) @binding(4) var<storage, read_write> flags: array<u32>;
var<workgroup> red: array<u32, 256>;
var<workgroup> bad: atomic<u32>;
${unpackWgsl(s.dtype)}

// A workgroup a (request, KV head); 8 rows at a time, 32 lanes a row, 9 words a lane (288 a row).
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let sh = linearWorkgroup(wid, nwg);
  if (sh >= u.slots * u.hKv) { return; }
${slotLets}
  if (t == 0u) { atomicStore(&bad, 0u); }
  let lr = t / 32u;
  let ll = t % 32u;
  for (var r0 = 0u; r0 < u.rowsPad; r0 += 8u) {
    let r = r0 + lr;
    let real = r < u.rows;
    var w: array<u32, 9>;
    var m = 0u;
    if (real) {
      let j = r / u.nGroups;
      let head = h * u.nGroups + r % u.nGroups;
      let base = u.qOff + ((batch * u.sQ + j) * u.hQ + head) * 288u;
      for (var i = 0u; i < 9u; i++) {
        w[i] = q[base + ll + 32u * i];
        let v = bitcast<vec2<u32>>(unpack2(w[i])) & vec2<u32>(0x7fffffffu);
        m = max(m, max(v.x, v.y));
      }
    }
    red[t] = m;
    workgroupBarrier();
    for (var o = 16u; o > 0u; o >>= 1u) {
      if (ll < o) { red[t] = max(red[t], red[t + o]); }
      workgroupBarrier();
    }
    let rm = red[lr * 32u];
    workgroupBarrier(); // every lane has its row's maximum before the next rows overwrite red
    var e = 0;
    if (rm != 0u) { e = max(i32(rm >> 23u), 1) - 127; }
    if (real && (rm >= 0x7f800000u || e > 100)) { atomicOr(&bad, 1u); }
    let qb = (sh * u.rowsPad + r) * 576u;
    for (var i = 0u; i < 9u; i++) {
      var v = vec2<f32>(0.0);
      if (real && rm < 0x7f800000u && e <= 100) { v = ldexp(unpack2(w[i]), vec2<i32>(-e)); }
      let c = 2u * (ll + 32u * i);
      qp[qb + c] = f16(v.x);
      qp[qb + c + 1u] = f16(v.y);
    }
    if (ll == 0u) { qe[sh * u.rowsPad + r] = e; }
  }
  workgroupBarrier();
  if (t == 0u) { flags[batch * u.hKv + h] = atomicLoad(&bad); }
}
`,
};

// ------------------------------------------------------------------------------------------------ 2. S = Q Kᵀ

/**
 * WGSL of one 64-column step of S for the subgroup's 16 rows and its two 16-key blocks: Q from qp (row-major, stride
 * 576) at `qRow + col`, Kᵀ from kT (key-major, stride ks) at `buf`.
 */
function sStep(s: GemmSpec): string {
  if (s.emulate) {
    // Lane l of the subgroup holds elements e = l + 32 i (i < 8) of each 16 x 16 result: row e / 16, key e % 16.
    return `for (var i = 0u; i < 8u; i++) {
        let e = sl + 32u * i;
        let qr = qRow + (e / 16u) * 576u + c * 64u;
        let ka = buf + (kb0 * 16u + e % 16u) * ${ks}u;
        let kb = ka + 16u * ${ks}u;
        var x0 = 0.0; var x1 = 0.0;
        for (var k = 0u; k < 64u; k++) {
          let a = f32(qp[qr + k]);
          x0 = fma(a, f32(kT[ka + k]), x0);
          x1 = fma(a, f32(kT[kb + k]), x1);
        }
        acc0[i] += x0; acc1[i] += x1;
      }`;
  }
  const left = (st: number) => s.qStage
    ? `subgroupMatrixLoad<${L16}>(&qT, buf + (sg / 2u) * ${16 * ks}u + ${16 * st}u, false, ${ks}u)`
    : `subgroupMatrixLoad<${L16}>(&qp, qRow + c * 64u + ${16 * st}u, false, 576u)`;
  return [0, 1, 2, 3].map((st) => `{ let lm = ${left(st)};
        acc0 = subgroupMatrixMultiplyAccumulate(lm, subgroupMatrixLoad<${R16}>(&kT, buf + kb0 * ${16 * ks}u + ${16 * st}u, true, ${ks}u), acc0);
        acc1 = subgroupMatrixMultiplyAccumulate(lm, subgroupMatrixLoad<${R16}>(&kT, buf + (kb0 + 1u) * ${16 * ks}u + ${16 * st}u, true, ${ks}u), acc1); }`).join('\n      ');
}

export const gemmSProgram: Program<GemmSpec> = {
  name: 'mla_gemm_s',
  key: (s) => `${s.dtype}.seg${s.segs}.${s.emulate ? 'emu' : 'mx'}${s.qStage && !s.emulate ? '.qs' : ''}`,
  source: (s) => `${header(!s.emulate)}
@group(0) @binding(1) var<storage, read> idx: array<i32>;
${s.qStage && !s.emulate ? `@group(0) @binding(2) var<storage, read> qw: array<vec4<u32>>;\nvar<workgroup> qT: array<f16, ${2 * 64 * ks}>;` : '@group(0) @binding(2) var<storage, read> qp: array<f16>;'}
@group(0) @binding(3) var<storage, read_write> flags: array<u32>;
@group(0) @binding(4) var<storage, read_write> S: array<f32>;
${cacheBindings(5, s.segs)}
var<workgroup> kT: array<f16, ${2 * gemmKeyTile * ks}>;
var<workgroup> kmax: array<atomic<u32>, 64>;
var<workgroup> wl: u32;
${unpackWgsl(s.dtype)}
${segmentLoader(s.segs)}
${keyRowFn(s.segs)}
${toHalf8(s.dtype)}
${keyBadWgsl}

${put8Wgsl('kT')}${s.qStage && !s.emulate ? `
fn putQ(at: u32, w: vec4<u32>) {
  ${[0, 1, 2, 3].map((i) => `{ let h = bitcast<vec2<f16>>(w.${'xyzw'[i]}); qT[at + ${2 * i}u] = h.x; qT[at + ${2 * i + 1}u] = h.y; }`).join(' ')}
}` : ''}

// A workgroup a (64-key tile, 64-row tile, request x KV head). Lane t loads word t % 8 of a 64-column step for keys
// t / 8 and 32 + t / 8; subgroup sg takes rows 16 (sg / 2) .. and key blocks 2 (sg % 2), + 1.
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let lin = linearWorkgroup(wid, nwg);
  let nKt = u.keysPad / 64u;
  let nRt = u.rowsPad / 64u;
  let kt = lin % nKt;
  let rt = (lin / nKt) % nRt;
  let sh = lin / (nKt * nRt);
  if (sh >= u.slots * u.hKv) { return; }
${slotLets}
  if (t == 0u) { wl = u32(max(idx[u.seqOff + batch], 0)); }
  let L = min(workgroupUniformLoad(&wl), u.keysPad);
  let k0 = kt * 64u;
  if (k0 >= L) { return; }
  if (t < 64u) { atomicStore(&kmax[t], 0u); }
  let kl = t / 8u;
  let wd = t % 8u;
  var ra = vec2<u32>(NONE, 0u);
  var rb = vec2<u32>(NONE, 0u);
  if (k0 + kl < L) { ra = keyRow(batch, k0 + kl, h); }
  if (k0 + kl + 32u < L) { rb = keyRow(batch, k0 + kl + 32u, h); }
  var wa = vec4<u32>(0u);
  var wb = vec4<u32>(0u);
  if (ra.x != NONE) { wa = loadK(ra.x, ra.y + wd); }
  if (rb.x != NONE) { wb = loadK(rb.x, rb.y + wd); }
  var ma = 0u;
  var mb = 0u;
  let sg = t / 32u;
  let sl = t % 32u;
  let kb0 = (sg % 2u) * 2u;
  let qRow = (sh * u.rowsPad + rt * 64u + (sg / 2u) * 16u) * 576u;${s.qStage && !s.emulate ? `
  let qw0 = (sh * u.rowsPad + rt * 64u + kl) * 72u + wd; // Q' words of rows kl and kl + 32, word wd of a step
  var qa = qw[qw0];
  var qb = qw[qw0 + 32u * 72u];` : ''}
  ${s.emulate ? 'var acc0: array<f32, 8>; var acc1: array<f32, 8>;' : `var acc0 = ${RES}(); var acc1 = ${RES}();`}
  for (var c = 0u; c < ${chunks}u; c++) {
    let buf = (c & 1u) * ${gemmKeyTile * ks}u;
    put8(buf + kl * ${ks}u + wd * 8u, wa);
    put8(buf + (kl + 32u) * ${ks}u + wd * 8u, wb);${s.qStage && !s.emulate ? `
    putQ(buf + kl * ${ks}u + wd * 8u, qa);
    putQ(buf + (kl + 32u) * ${ks}u + wd * 8u, qb);
    if (c + 1u < ${chunks}u) { qa = qw[qw0 + (c + 1u) * 8u]; qb = qw[qw0 + 32u * 72u + (c + 1u) * 8u]; }` : ''}
    ma = max(ma, mag8(wa));
    mb = max(mb, mag8(wb));
    if (c + 1u < ${chunks}u) {
      if (ra.x != NONE) { wa = loadK(ra.x, ra.y + (c + 1u) * 8u + wd); }
      if (rb.x != NONE) { wb = loadK(rb.x, rb.y + (c + 1u) * 8u + wd); }
    }
    workgroupBarrier();
    ${sStep(s)}
  }
  let sRow = (sh * u.rowsPad + rt * 64u + (sg / 2u) * 16u) * u.keysPad + k0 + kb0 * 16u;
  ${s.emulate
    ? `for (var i = 0u; i < 8u; i++) {
    let e = sl + 32u * i;
    S[sRow + (e / 16u) * u.keysPad + e % 16u] = acc0[i];
    S[sRow + (e / 16u) * u.keysPad + 16u + e % 16u] = acc1[i];
  }`
    : `subgroupMatrixStore(&S, sRow, acc0, false, u.keysPad);
  subgroupMatrixStore(&S, sRow + 16u, acc1, false, u.keysPad);`}
  atomicMax(&kmax[kl], ma);
  atomicMax(&kmax[kl + 32u], mb);
  workgroupBarrier();
  if (t < 64u && k0 + t < L && keyBad(atomicLoad(&kmax[t]))) { flags[batch * u.hKv + h] = 1u; }
}
`,
};

// ------------------------------------------------------------------------------------------------ 3. the softmax

export const gemmSoftmaxProgram: Program<Record<string, never>> = {
  name: 'mla_gemm_softmax',
  key: () => '',
  source: () => `${header(false)}
@group(0) @binding(1) var<storage, read> idx: array<i32>;
@group(0) @binding(2) var<storage, read> S: array<f32>;
@group(0) @binding(3) var<storage, read> qe: array<i32>;
@group(0) @binding(4) var<storage, read_write> P: array<u32>; // f16 pairs: a lane writes whole words (16-bit stores may be read-modify-writes of the word)
@group(0) @binding(5) var<storage, read_write> st: array<f32>;
@group(0) @binding(6) var<storage, read_write> lse: array<f32>;
var<workgroup> red: array<f32, 256>;
var<workgroup> wl: u32;

// A workgroup a query row (of a request and KV head).
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let lin = linearWorkgroup(wid, nwg);
  let r = lin % u.rows;
  let sh = lin / u.rows;
  if (sh >= u.slots * u.hKv) { return; }
${slotLets}
  if (t == 0u) { wl = u32(max(idx[u.seqOff + batch], 0)); }
  let L = min(workgroupUniformLoad(&wl), u.keysPad);
  let j = r / u.nGroups;
  let head = h * u.nGroups + r % u.nGroups;
  var lim = L;
  if (u.causal != 0u) { lim = u32(clamp(i32(L) - i32(u.sQ) + i32(j) + 1, 0, i32(L))); }
  let e = qe[sh * u.rowsPad + r];
  let base = (sh * u.rowsPad + r) * u.keysPad;
  var m = -3.0e38;
  for (var k = t; k < lim; k += 256u) { m = max(m, ldexp(S[base + k], e) * u.scaleLog2); }
  red[t] = m;
  workgroupBarrier();
  for (var o = 128u; o > 0u; o >>= 1u) {
    if (t < o) { red[t] = max(red[t], red[t + o]); }
    workgroupBarrier();
  }
  let mx = red[0];
  workgroupBarrier();
  var l = 0.0;
  let end = (L + 63u) / 64u * 64u;
  for (var k = 2u * t; k < end; k += 512u) {
    var p = vec2<f32>(0.0);
    if (k < lim) { p.x = exp2(ldexp(S[base + k], e) * u.scaleLog2 - mx); }
    if (k + 1u < lim) { p.y = exp2(ldexp(S[base + k + 1u], e) * u.scaleLog2 - mx); }
    l += p.x + p.y;
    P[(base + k) / 2u] = pack2x16float(p);
  }
  red[t] = l;
  workgroupBarrier();
  for (var o = 128u; o > 0u; o >>= 1u) {
    if (t < o) { red[t] += red[t + o]; }
    workgroupBarrier();
  }
  if (t == 0u) {
    let sum = red[0];
    let none = lim == 0u;
    st[sh * u.rowsPad + r] = select(1.0 / sum, 0.0, none);
    lse[u.lseOff + batch * u.lseStrideB + head * u.lseStrideH + (batch * u.sQ + j) * u.lseStrideT] = select((mx + log2(sum)) * 0.6931471805599453, bitcast<f32>(u.posInfBits), none);
  }
}
`,
};

// ------------------------------------------------------------------------------------------------ 4. O = P V

function pvStep(s: GemmSpec): string {
  if (s.emulate) {
    return `for (var i = 0u; i < 8u; i++) {
        let e = sl + 32u * i;
        let pr = pRow + (e / 16u) * u.keysPad + tt * 64u;
        for (var n = 0u; n < 4u; n++) {
          let vc = buf + (nb0 + n) * 16u + e % 16u;
          var x = 0.0;
          for (var k = 0u; k < 64u; k++) { x = fma(f32(P[pr + k]), f32(vT[vc + k * ${vs}u]), x); }
          acc[n * 8u + i] += x;
        }
      }`;
  }
  const left = (st: number) => s.pStage
    ? `subgroupMatrixLoad<${L16}>(&pT, pbuf + (sg / 2u) * ${16 * ks}u + ${16 * st}u, false, ${ks}u)`
    : `subgroupMatrixLoad<${L16}>(&P, pRow + tt * 64u + ${16 * st}u, false, u.keysPad)`;
  return [0, 1, 2, 3].map((st) => `{ let lm = ${left(st)};
        ${[0, 1, 2, 3].map((n) => `acc${n} = subgroupMatrixMultiplyAccumulate(lm, subgroupMatrixLoad<${R16}>(&vT, buf + ${16 * st * vs}u + (nb0 + ${n}u) * 16u, false, ${vs}u), acc${n});`).join(' ')} }`).join('\n      ');
}

export const gemmPvProgram: Program<GemmSpec> = {
  name: 'mla_gemm_pv',
  key: (s) => `${s.dtype}.seg${s.segs}.${s.emulate ? 'emu' : 'mx'}.vb${s.vBuffers ?? 2}${s.pStage && !s.emulate ? '.ps' : ''}`,
  source: (s) => `${header(!s.emulate)}
@group(0) @binding(1) var<storage, read> idx: array<i32>;
${s.pStage && !s.emulate ? `@group(0) @binding(2) var<storage, read> pw: array<vec4<u32>>;\nvar<workgroup> pT: array<f16, ${2 * 64 * ks}>;` : '@group(0) @binding(2) var<storage, read> P: array<f16>;'}
@group(0) @binding(3) var<storage, read> st: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<u32>;
${cacheBindings(5, s.segs)}
var<workgroup> vT: array<f16, ${(s.vBuffers ?? 2) * gemmKeyTile * vs}>;
var<workgroup> sc: array<f32, ${8 * 256}>;
var<workgroup> wl: u32;
${unpackWgsl(s.dtype)}
${packWgsl(s.dtype)}
${segmentLoader(s.segs)}
${keyRowFn(s.segs)}
${toHalf8(s.dtype)}

${put8Wgsl('vT')}${s.pStage && !s.emulate ? `
fn putP(at: u32, w: vec4<u32>) {
  ${[0, 1, 2, 3].map((i) => `{ let h = bitcast<vec2<f16>>(w.${'xyzw'[i]}); pT[at + ${2 * i}u] = h.x; pT[at + ${2 * i + 1}u] = h.y; }`).join(' ')}
}` : ''}

// A workgroup a (128-column slice, 64-row tile, request x KV head). Lane t loads word t % 16 of the slice for keys
// t / 16 + 16 i (i < 4); subgroup sg takes rows 16 (sg / 2) .. and column blocks 4 (sg % 2) .. + 3.
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let lin = linearWorkgroup(wid, nwg);
  let nRt = u.rowsPad / 64u;
  let cb = lin % 4u;
  let rt = (lin / 4u) % nRt;
  let sh = lin / (4u * nRt);
  if (sh >= u.slots * u.hKv) { return; }
${slotLets}
  if (t == 0u) { wl = u32(max(idx[u.seqOff + batch], 0)); }
  let L = min(workgroupUniformLoad(&wl), u.keysPad);
  let nT = (L + 63u) / 64u;
  let kq = t / 16u;
  let wd = t % 16u;
  let col0 = cb * 16u; // the slice's first word of a row (128 columns = 16 words)
  let sg = t / 32u;
  let sl = t % 32u;
  let nb0 = (sg % 2u) * 4u;
  let pRow = (sh * u.rowsPad + rt * 64u + (sg / 2u) * 16u) * u.keysPad;${s.pStage && !s.emulate ? `
  let pw0 = (sh * u.rowsPad + rt * 64u + t / 8u) * (u.keysPad / 8u) + t % 8u; // P words of rows t / 8 and + 32 of a tile
  let pRowW = 32u * (u.keysPad / 8u);
  var pa = vec4<u32>(0u);
  var pb = vec4<u32>(0u);
  if (nT > 0u) { pa = pw[pw0]; pb = pw[pw0 + pRowW]; }` : ''}
  ${s.emulate ? 'var acc: array<f32, 32>;' : `var acc0 = ${RES}(); var acc1 = ${RES}(); var acc2 = ${RES}(); var acc3 = ${RES}();`}
  ${range4.map((i) => `var w${i} = vec4<u32>(0u);
  if (kq + ${16 * i}u < L) { let kr = keyRow(batch, kq + ${16 * i}u, h); w${i} = loadK(kr.x, kr.y + col0 + wd); }`).join('\n  ')}
  for (var tt = 0u; tt < nT; tt++) {
    let buf = ${(s.vBuffers ?? 2) === 2 ? `(tt & 1u) * ${gemmKeyTile * vs}u` : '0u'};
    ${range4.map((i) => `put8(buf + (kq + ${16 * i}u) * ${vs}u + wd * 8u, w${i});`).join(' ')}${s.pStage && !s.emulate ? `
    let pbuf = (tt & 1u) * ${64 * ks}u;
    putP(pbuf + (t / 8u) * ${ks}u + (t % 8u) * 8u, pa);
    putP(pbuf + (t / 8u + 32u) * ${ks}u + (t % 8u) * 8u, pb);
    if (tt + 1u < nT) { pa = pw[pw0 + (tt + 1u) * 8u]; pb = pw[pw0 + pRowW + (tt + 1u) * 8u]; }` : ''}
    if (tt + 1u < nT) {
      ${range4.map((i) => `{ let key = (tt + 1u) * 64u + kq + ${16 * i}u; w${i} = vec4<u32>(0u); if (key < L) { let kr = keyRow(batch, key, h); w${i} = loadK(kr.x, kr.y + col0 + wd); } }`).join('\n      ')}
    }
    workgroupBarrier();
    ${pvStep(s)}${(s.vBuffers ?? 2) === 1 ? '\n    workgroupBarrier(); // (one tile buffer: every product read it before the next tile is stored)' : ''}
  }
  // out: the subgroup's four 16 x 16 results through its 1 KiB of sc, times 1 / sum, two columns a word
  let rBase = rt * 64u + (sg / 2u) * 16u;
  for (var n = 0u; n < 4u; n++) {
    ${s.emulate
      ? `for (var i = 0u; i < 8u; i++) { sc[sg * 256u + sl + 32u * i] = acc[n * 8u + i]; }`
      : `switch n { case 0u: { subgroupMatrixStore(&sc, sg * 256u, acc0, false, 16u); } case 1u: { subgroupMatrixStore(&sc, sg * 256u, acc1, false, 16u); }
      case 2u: { subgroupMatrixStore(&sc, sg * 256u, acc2, false, 16u); } default: { subgroupMatrixStore(&sc, sg * 256u, acc3, false, 16u); } }`}
    workgroupBarrier();
    for (var i = 0u; i < 4u; i++) {
      let e = 2u * (sl + 32u * i); // elements e, e + 1 of the 16 x 16 result: row e / 16, columns e % 16 and + 1
      let r = rBase + e / 16u;
      if (r < u.rows) {
        let j = r / u.nGroups;
        let head = h * u.nGroups + r % u.nGroups;
        let f = st[sh * u.rowsPad + r];
        let col = cb * 128u + (nb0 + n) * 16u + e % 16u;
        out[u.outOff + ((batch * u.sQ + j) * u.hQ + head) * 256u + col / 2u] = pack2(vec2<f32>(sc[sg * 256u + e], sc[sg * 256u + e + 1u]) * f);
      }
    }
    workgroupBarrier();
  }
}
`,
};

// ------------------------------------------------------------------------------------------------ 5. the fallback's sizes

export const gemmArgsProgram: Program<Record<string, never>> = {
  name: 'mla_gemm_args',
  key: () => '',
  source: () => `${header(false)}
@group(0) @binding(1) var<storage, read> flags: array<u32>;
@group(0) @binding(2) var<storage, read_write> args: array<u32>;
var<workgroup> red: array<u32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) t: u32) {
  var any = 0u;
  for (var i = t; i < u.flagCount; i += 256u) { any |= flags[i]; }
  red[t] = any;
  workgroupBarrier();
  for (var o = 128u; o > 0u; o >>= 1u) {
    if (t < o) { red[t] |= red[t + o]; }
    workgroupBarrier();
  }
  if (t == 0u) {
    let on = red[0] != 0u;
    args[0] = select(0u, u.fbX, on); args[1] = select(1u, u.fbY, on); args[2] = select(1u, u.fbZ, on);
    args[4] = select(0u, u.cbX, on); args[5] = select(1u, u.cbY, on); args[6] = select(1u, u.cbZ, on);
  }
}
`,
};

// ------------------------------------------------------------------------------------------------ sizes

/** The padded sizes of a step: rows to the row tile, key slots to 64 over the block table's keys. */
export function gemmGeometry(p: { sQ: number; nGroups: number; maxBlocksPerSeq: number; pageBlockSize: number; hKv: number }) {
  const rows = p.sQ * p.nGroups;
  const rowsPad = Math.ceil(rows / gemmRowTile) * gemmRowTile;
  const keysPad = Math.max(gemmKeyTile, Math.ceil((p.maxBlocksPerSeq * p.pageBlockSize) / gemmKeyTile) * gemmKeyTile);
  /** S bytes of one request (all its KV heads): the workspace's largest part. */
  const sBytesPerSlot = p.hKv * rowsPad * keysPad * 4;
  return { rows, rowsPad, keysPad, sBytesPerSlot };
}

export function gemmQDispatch(slots: number, hKv: number, caps: Pick<DeviceCaps, 'maxComputeWorkgroupsPerDimension'>): Dispatch {
  return foldDispatch(slots * hKv, caps.maxComputeWorkgroupsPerDimension);
}
export function gemmSDispatch(slots: number, hKv: number, rowsPad: number, keysPad: number, caps: Pick<DeviceCaps, 'maxComputeWorkgroupsPerDimension'>): Dispatch {
  return foldDispatch(slots * hKv * (rowsPad / gemmRowTile) * (keysPad / gemmKeyTile), caps.maxComputeWorkgroupsPerDimension);
}
export function gemmSoftmaxDispatch(slots: number, hKv: number, rows: number, caps: Pick<DeviceCaps, 'maxComputeWorkgroupsPerDimension'>): Dispatch {
  return foldDispatch(slots * hKv * rows, caps.maxComputeWorkgroupsPerDimension);
}
export function gemmPvDispatch(slots: number, hKv: number, rowsPad: number, caps: Pick<DeviceCaps, 'maxComputeWorkgroupsPerDimension'>): Dispatch {
  return foldDispatch(slots * hKv * (rowsPad / gemmRowTile) * (512 / gemmColTile), caps.maxComputeWorkgroupsPerDimension);
}
