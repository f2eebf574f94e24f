// MlaAttention's decode step on WebGPU (src/backends/webgpu/layer.ts drives it; the contract is MlaDeviceOps in
// src/core/mla/device.ts, the numerics those of CUDA's kernels/layer.cu): the projections as one batched GEMM each,
// RMSNorm, RoPE/YaRN, the paged-cache append and the dtype conversions.
//   Arithmetic is f32 throughout, also for precision 'bf16': a bf16 x bf16 product is exact in f32, so an f32
//   accumulation of decoded bf16 operands computes what the tensor cores compute (f32 accumulation) up to the
//   order of the sums. The rounding points are the op arguments' dtypes, as on CUDA: a 16-bit destination gets the
//   f32 value rounded to nearest even (bf16, f16 with subnormals, overflow to infinity, NaN kept quiet) by integer
//   code, not pack2x16float, whose rounding and NaN handling WGSL leaves to the implementation.
//   16-bit tensors are bound as u32 words. A 16-bit destination is stored with atomicAnd + atomicOr on its half of the
//   word: any offset and stride is then race-free (two lanes may own the two halves of a word).
//   sin / cos of the RoPE angle are computed here (Cody-Waite reduction by pi/2, Taylor polynomials on [-pi/4, pi/4]):
//   WGSL's builtins promise 2^-11 absolute inside [-pi, pi] only, and the angle is position * inv_freq (radians in the
//   thousands at long contexts); CUDA's sincosf is accurate to a few ulp over that whole range, and so is this.
// Every kernel takes element offsets (into its bindings) in its params: the host binds a window of each tensor (a
// storage binding has a size limit) and cuts large calls into pieces whose windows fit (layer.ts).
import { defineParams } from '../params.js';
import { type DeviceCaps, type Dispatch, type Program, foldDispatch, linearWorkgroupWgsl } from '../program.js';

/** Element types the ops read and write; 16-bit ones live in u32 words. */
export type LayerElem = 'f32' | 'bf16' | 'f16';

// ---------------------------------------------------------------- WGSL pieces shared by the kernels

/** f32 -> 16-bit pattern, round to nearest even; the same bits as core/dtype.ts f32ToBf16 / f32ToF16. */
const encodeWgsl = `fn bf16Bits(v: f32) -> u32 {
  let b = bitcast<u32>(v);
  return select(((b + 0x7fffu + ((b >> 16u) & 1u)) >> 16u) & 0xffffu, (b >> 16u) | 0x40u, (b & 0x7fffffffu) > 0x7f800000u);
}
fn f16Bits(v: f32) -> u32 {
  let b = bitcast<u32>(v);
  let sign = (b >> 16u) & 0x8000u;
  let e8 = (b >> 23u) & 0xffu;
  let man = b & 0x7fffffu;
  if (e8 == 0xffu) { return sign | select(0x7c00u, 0x7e00u | (man >> 13u), man != 0u); }
  let e = i32(e8) - 112; // exponent rebiased from 127 to 15
  if (e >= 31) { return sign | 0x7c00u; }
  if (e <= 0) {
    if (e < -10) { return sign; } // under half the smallest subnormal
    let full = man | 0x800000u;
    let shift = u32(14 - e);
    let kept = full >> shift;
    let rest = full & ((1u << shift) - 1u);
    let half = 1u << (shift - 1u);
    return sign | (kept + select(0u, 1u, rest > half || (rest == half && (kept & 1u) == 1u))); // a carry makes the smallest normal
  }
  let kept = (u32(e) << 10u) | (man >> 13u);
  let rest = man & 0x1fffu;
  return sign | (kept + select(0u, 1u, rest > 0x1000u || (rest == 0x1000u && (kept & 1u) == 1u))); // a carry may give infinity
}`;

/** 16-bit pattern -> f32, exact (subnormal f16 included, NaN payload kept). */
const decodeWgsl = `fn bf16Value(h: u32) -> f32 { return bitcast<f32>(h << 16u); }
fn f16Value(h: u32) -> f32 {
  let s = (h & 0x8000u) << 16u;
  let e = (h >> 10u) & 0x1fu;
  let m = h & 0x3ffu;
  if (e == 0u) { return bitcast<f32>(s | bitcast<u32>(f32(m) * 5.9604644775390625e-8)); } // m * 2^-24, exact
  if (e == 31u) { return bitcast<f32>(s | 0x7f800000u | (m << 13u)); }
  return bitcast<f32>(s | ((e + 112u) << 23u) | (m << 13u));
}`;

/** A read-only binding `name` of `t` elements and its loader `load_<name>(i) -> f32` (i in elements). */
function readBinding(binding: number, name: string, t: LayerElem | 'i32'): string {
  if (t === 'f32' || t === 'i32') {
    return `@group(0) @binding(${binding}) var<storage, read> ${name}: array<${t}>;
fn load_${name}(i: u32) -> ${t} { return ${name}[i]; }`;
  }
  return `@group(0) @binding(${binding}) var<storage, read> ${name}: array<u32>;
fn load_${name}(i: u32) -> f32 { return ${t}Value((${name}[i >> 1u] >> ((i & 1u) << 4u)) & 0xffffu); }`;
}

/** A written binding `name` and its storer `store_<name>(i, v)`: f32 plainly, 16-bit into its half word atomically. */
function writeBinding(binding: number, name: string, t: LayerElem): string {
  if (t === 'f32') {
    return `@group(0) @binding(${binding}) var<storage, read_write> ${name}: array<f32>;
fn store_${name}(i: u32, v: f32) { ${name}[i] = v; }`;
  }
  return `@group(0) @binding(${binding}) var<storage, read_write> ${name}: array<atomic<u32>>;
fn store_${name}(i: u32, v: f32) {
  let sh = (i & 1u) << 4u;
  atomicAnd(&${name}[i >> 1u], ~(0xffffu << sh));
  atomicOr(&${name}[i >> 1u], ${t}Bits(v) << sh);
}`;
}

/**
 * pi/2 in parts for the Cody-Waite reduction: the first four of 6 significant bits each, so k * part is exact in f32
 * for |k| < 2^18 (angles up to ~4e5 radians), the last the f32 rounding of the rest (about 48 bits of pi/2 in all).
 */
export function halfPiParts(): number[] {
  const parts: number[] = [];
  let rest = Math.PI / 2;
  for (let i = 0; i < 4; i++) {
    const q = 2 ** (Math.floor(Math.log2(rest)) - 5);
    const p = Math.trunc(rest / q) * q;
    parts.push(p);
    rest -= p; // exact in float64: p is rest cut to its leading bits
  }
  parts.push(Math.fround(rest));
  return parts;
}

/** A WGSL float literal of v: the parts above are f32 values and read back exactly; WGSL rounds the Taylor coefficients to f32. */
const lit = (v: number): string => {
  const s = String(v);
  return /[.e]/.test(s) ? s : `${s}.0`;
};

/**
 * sinCos(x) = (sin x, cos x) for an f32 angle. Reduction: x = k pi/2 + r, |r| <= pi/4 (plus rounding), r from the
 * parts above; then Taylor polynomials (degree 9 for sin, 10 for cos: truncation under 2e-9 at pi/4), and the quadrant
 * k mod 4 picks and negates them. ropeOut: one pair's two outputs in transformers' rotate_half order (CUDA's ropePair);
 * the kernels pick the pair, (2i, 2i+1) interleaved or (i, i + half).
 */
function ropeWgsl(): string {
  const [p1, p2, p3, p4, p5] = halfPiParts();
  const f = (n: number) => { let r = 1; for (let i = 2; i <= n; i++) r *= i; return r; };
  return `fn sinCos(x: f32) -> vec2<f32> {
  let k = round(x * 0.6366197723675814);
  var r = x - k * ${lit(p1)};
  r = r - k * ${lit(p2)};
  r = r - k * ${lit(p3)};
  r = r - k * ${lit(p4)};
  r = r - k * ${lit(p5)};
  let r2 = r * r;
  let s = r + r * r2 * (${lit(-1 / f(3))} + r2 * (${lit(1 / f(5))} + r2 * (${lit(-1 / f(7))} + r2 * ${lit(1 / f(9))})));
  let c = 1.0 + r2 * (${lit(-1 / f(2))} + r2 * (${lit(1 / f(4))} + r2 * (${lit(-1 / f(6))} + r2 * (${lit(1 / f(8))} + r2 * ${lit(-1 / f(10))}))));
  switch (i32(k) & 3) {
    case 0: { return vec2<f32>(s, c); }
    case 1: { return vec2<f32>(c, -s); }
    case 2: { return vec2<f32>(-s, -c); }
    default: { return vec2<f32>(-c, s); }
  }
}
// RoPE of the pair (a, b) at position pos: the outputs at i and i + half (o0, o1), as CUDA's ropePair.
fn ropeOut(a: f32, b: f32, pos: i32, freq: f32, af: f32) -> vec2<f32> {
  let sc = sinCos(f32(pos) * freq) * af; // transformers: position * inv_freq in f32, cos / sin times the attention factor
  return vec2<f32>(a * sc.y - b * sc.x, b * sc.y + a * sc.x);
}`;
}

// ---------------------------------------------------------------- gemm

const gemmOperandFields = [
  ['m', 'u32'], ['n', 'u32'], ['k', 'u32'],
  ['xOff', 'u32', 'element of x[z = 0, 0, 0] in its binding'], ['xStride', 'u32'], ['xBatch', 'u32', 'elements between batch entries'],
  ['wOff', 'u32'], ['wStride', 'u32'], ['wBatch', 'u32'],
] as const;

export const layerGemmParams = defineParams('LayerGemmParams', [
  ...gemmOperandFields,
  ['yOff', 'u32'], ['yStride', 'u32'], ['yBatch', 'u32'],
  ['tilesM', 'u32', 'ceil(m / tile rows): 16 rm; tiled 16 or 64'], ['tilesN', 'u32', 'ceil(n / tile columns): 64; tiled 128'], ['groups', 'u32', 'tilesM * tilesN * batch'],
]);

/** x and w share `dtype` (f32, or bf16 for precision 'bf16'); y is f32, bf16 or f16; rm rows of y a lane (1 or 4). */
export interface LayerGemmSpec { dtype: 'f32' | 'bf16'; y: LayerElem; rm: 1 | 4 }

export function chooseLayerGemmSpec(dtype: 'f32' | 'bf16', y: LayerElem, m: number): LayerGemmSpec {
  return { dtype, y, rm: m <= 16 ? 1 : 4 };
}

export function layerGemmTiles(m: number, n: number, batch: number, spec: Pick<LayerGemmSpec, 'rm'>): { tilesM: number; tilesN: number; groups: number } {
  const tilesM = Math.ceil(m / (16 * spec.rm)), tilesN = Math.ceil(n / 64);
  return { tilesM, tilesN, groups: tilesM * tilesN * batch };
}

/**
 * The tile loop of the gemm and of its split-K partial: a workgroup of 16 x 16 lanes owns a (16 rm) x 64 tile of one
 * batch entry, x and w staged 16 k-columns at a time through workgroup memory as f32, each lane rm x 4 accumulators
 * over k in [kLo, kHi). `head` turns the workgroup index g into z, row0, col0, xb, wb (and what `store` needs); `store`
 * writes acc[i][j] of row r, column c.
 */
function gemmTileWgsl(s: { dtype: 'f32' | 'bf16'; rm: 1 | 4 }, params: { wgsl: string; structName: string }, out: string, head: string, kLo: string, kHi: string, store: string): string {
  return `${params.wgsl}
@group(0) @binding(0) var<uniform> u: ${params.structName};
${decodeWgsl}
${encodeWgsl}
${readBinding(1, 'x', s.dtype)}
${readBinding(2, 'w', s.dtype)}
${out}
${linearWorkgroupWgsl}
const TM: u32 = ${16 * s.rm}u;
const RM: u32 = ${s.rm}u;
var<workgroup> xs: array<array<f32, 17>, TM>; // [row][k], padded against bank conflicts
var<workgroup> ws: array<array<f32, 17>, 64>;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let g = linearWorkgroup(wid, nwg);
  if (g >= u.groups) { return; } // uniform per workgroup: the folded dispatch's spare groups
${head}
  let t = lid.y * 16u + lid.x;
  var acc: array<array<f32, 4>, RM>;
  for (var k0 = ${kLo}; k0 < ${kHi}; k0 += 16u) {
    for (var e = t; e < TM * 16u; e += 256u) {
      let r = e / 16u; let kk = e % 16u;
      var v = 0.0;
      if (row0 + r < u.m && k0 + kk < ${kHi}) { v = load_x(xb + (row0 + r) * u.xStride + k0 + kk); }
      xs[r][kk] = v;
    }
    for (var e = t; e < 1024u; e += 256u) {
      let r = e / 16u; let kk = e % 16u;
      var v = 0.0;
      if (col0 + r < u.n && k0 + kk < ${kHi}) { v = load_w(wb + (col0 + r) * u.wStride + k0 + kk); }
      ws[r][kk] = v;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      var b: array<f32, 4>;
      for (var j = 0u; j < 4u; j++) { b[j] = ws[lid.x + 16u * j][kk]; }
      for (var i = 0u; i < RM; i++) {
        let a = xs[lid.y + 16u * i][kk];
        for (var j = 0u; j < 4u; j++) { acc[i][j] += a * b[j]; }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < RM; i++) {
    let r = row0 + lid.y + 16u * i;
    if (r >= u.m) { continue; }
    for (var j = 0u; j < 4u; j++) {
      let c = col0 + lid.x + 16u * j;
      if (c < u.n) { ${store} }
    }
  }
}`;
}

/**
 * y[z, i, j] = sum_t x[z, i, t] w[z, j, t]: one workgroup a (16 rm) x 64 tile of y of one batch entry (the per-head
 * products of the absorbed W_UK / W_UV are one dispatch), walking all of k.
 */
export const layerGemmProgram: Program<LayerGemmSpec> = {
  name: 'mla_layer_gemm',
  key: (s) => `${s.dtype}-y${s.y}-rm${s.rm}`,
  source: (s) => gemmTileWgsl(s, layerGemmParams, writeBinding(3, 'y', s.y), `  let perZ = u.tilesM * u.tilesN;
  let z = g / perZ;
  let tile = g % perZ;
  let row0 = (tile / u.tilesN) * TM;
  let col0 = (tile % u.tilesN) * 64u;
  let xb = u.xOff + z * u.xBatch;
  let wb = u.wOff + z * u.wBatch;
  let yb = u.yOff + z * u.yBatch;`, '0u', 'u.k', 'store_y(yb + r * u.yStride + c, acc[i][j]);'),
};

// ---------------------------------------------------------------- gemm, split over k
// A skinny GEMM (few rows, long k: MlaAttention's projections at decode) has too few tiles to fill a GPU, each walking
// all of k: o_proj at m = 64 is 112 workgroups over k = 16384. Split-K cuts k into `splits` ranges of `chunk` columns;
// the partial pass computes each tile over each range into an f32 scratch part[s, z, i, j], the reduce pass adds the
// ranges' sums in order s = 0, 1, ... (a fixed order: the same bits run to run, and whether or not the call is cut
// into pieces) and stores y as the gemm does. Both passes go in one command encoder.

export const layerGemmPartParams = defineParams('LayerGemmPartParams', [
  ...gemmOperandFields,
  ['batch', 'u32'], ['chunk', 'u32', 'k columns a split (a multiple of 16)'], ['splits', 'u32', 'ceil(k / chunk)'],
  ['tilesM', 'u32', 'ceil(m / tile rows): 16 rm; tiled 16 or 64'], ['tilesN', 'u32', 'ceil(n / tile columns): 64; tiled 128'], ['groups', 'u32', 'tilesM * tilesN * batch * splits'],
]);

export interface LayerGemmPartSpec { dtype: 'f32' | 'bf16'; rm: 1 | 4 }

/** The partial pass: workgroup g = (split, z, tile), tile as in the gemm; part[((split * batch + z) * m + i) * n + j]. */
export const layerGemmPartProgram: Program<LayerGemmPartSpec> = {
  name: 'mla_layer_gemm_part',
  key: (s) => `${s.dtype}-rm${s.rm}`,
  source: (s) => gemmTileWgsl(s, layerGemmPartParams, '@group(0) @binding(3) var<storage, read_write> part: array<f32>;', `  let perZ = u.tilesM * u.tilesN;
  let split = g / (perZ * u.batch);
  let zt = g % (perZ * u.batch);
  let z = zt / perZ;
  let tile = zt % perZ;
  let row0 = (tile / u.tilesN) * TM;
  let col0 = (tile % u.tilesN) * 64u;
  let xb = u.xOff + z * u.xBatch;
  let wb = u.wOff + z * u.wBatch;
  let kLo = split * u.chunk;
  let kHi = min(u.k, kLo + u.chunk);
  let pb = (split * u.batch + z) * u.m * u.n;`, 'kLo', 'kHi', 'part[pb + r * u.n + c] = acc[i][j];'),
};

export const layerGemmReduceParams = defineParams('LayerGemmReduceParams', [
  ['m', 'u32'], ['n', 'u32'], ['splits', 'u32'], ['total', 'u32', 'batch * m * n: elements of one split in part'],
  ['yOff', 'u32'], ['yStride', 'u32'], ['yBatch', 'u32'],
]);

export interface LayerGemmReduceSpec { y: LayerElem }

/** The reduce pass: a lane an element of y, its splits summed in order, stored (and rounded) as the gemm stores. */
export const layerGemmReduceProgram: Program<LayerGemmReduceSpec> = {
  name: 'mla_layer_gemm_reduce',
  key: (s) => `y${s.y}`,
  source: (s) => `${layerGemmReduceParams.wgsl}
@group(0) @binding(0) var<uniform> u: LayerGemmReduceParams;
${encodeWgsl}
@group(0) @binding(1) var<storage, read> part: array<f32>;
${writeBinding(2, 'y', s.y)}
${linearWorkgroupWgsl}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let e = linearWorkgroup(wid, nwg) * 256u + t;
  if (e >= u.total) { return; }
  var v = part[e];
  for (var s = 1u; s < u.splits; s++) { v += part[s * u.total + e]; }
  let mn = u.m * u.n;
  let z = e / mn;
  let i = (e % mn) / u.n;
  let j = e % u.n;
  store_y(u.yOff + z * u.yBatch + i * u.yStride + j, v);
}`,
};

/**
 * When and how far the gemm splits k (WebGpuBackendOptions.layerSplitK). WebGPU does not say how many processors
 * the device has: the rule aims at `targetGroups` workgroups (512: about four on each of an H200's 132 SMs) for
 * calls of k >= `minK`, each split at least `minChunk` columns of k, at most `maxSplits` splits, a power of two.
 */
export interface LayerSplitKRule { targetGroups: number; minK: number; minChunk: number; maxSplits: number }

export const layerSplitKDefault: LayerSplitKRule = { targetGroups: 512, minK: 2048, minChunk: 256, maxSplits: 64 };

/**
 * The layer gemm's main loops (WebGpuBackendOptions.layerGemm): 'tiled' (the default: layerGemmTiledProgram) and
 * 'classic' (layerGemmProgram, kept for A/B runs).
 */
export type LayerGemmKernel = 'tiled' | 'classic';
export const layerGemmKernels: readonly LayerGemmKernel[] = ['tiled', 'classic'];

/**
 * Split-K's rule for the tiled loop: its workgroups are half the lanes of the classic one's and own twice the columns,
 * so a V3 decode shape has half the tiles; splits go down to 128 columns of k (8 slices) and calls from k = 512 (the
 * absorbed W_UV: 128 tiles unsplit) split too. At m = 64: o_proj 16 splits (896 workgroups), q_a 32 (384), kv_a 32
 * (160), q_b 4 (768), W_UV 4 (512), W_UK none (512).
 */
export const layerSplitKTiled: LayerSplitKRule = { targetGroups: 512, minK: 512, minChunk: 128, maxSplits: 64 };

/** The split-K rule each main loop takes unless told. */
export const layerSplitKDefaults: Record<LayerGemmKernel, LayerSplitKRule> = { tiled: layerSplitKTiled, classic: layerSplitKDefault };

/**
 * The split of a call of `groups` tiles over k: `splits` ranges of `chunk` columns (a multiple of 16, the tile loop's
 * step; the last range may be shorter, none is empty), or { splits: 1, chunk: k } where the call does not split.
 */
export function layerGemmSplitK(k: number, groups: number, rule: LayerSplitKRule | undefined): { splits: number; chunk: number } {
  if (!rule || k < rule.minK || groups >= rule.targetGroups) return { splits: 1, chunk: k };
  let s = 1;
  while (s * 2 <= rule.maxSplits && groups * s < rule.targetGroups && k / (s * 2) >= rule.minChunk) s *= 2;
  const chunk = Math.ceil(k / s / 16) * 16, splits = Math.ceil(k / chunk);
  return splits > 1 ? { splits, chunk } : { splits: 1, chunk: k };
}

// ---------------------------------------------------------------- gemm, register-tiled (the default, 'tiled')
// The gemm above keeps 16 accumulators a lane and reads two scalars from workgroup memory for every FMA pair: on the
// H200 a V3 decode step's projections ran at ~10 TFLOPS of f32 FMA against ~62 that WGSL reaches there, with the
// weights' bytes worth ~0.2 ms: its inner loop was the limit. This one: 128 lanes a workgroup, each an 8 x 8 block of
// a 64 x 128 tile (4 x 4 of a 16 x 128 tile where m <= 16) in vec4 accumulators; x and w staged k-major in workgroup
// memory, so one vec4 read gives a lane 4 rows (or 4 columns) and 4 vec4 reads feed 64 FMAs; the next 16 k-columns
// fetched from global memory into registers before the FMAs of this slice (their latency hidden behind them) and
// written to workgroup memory after; 16-byte global loads (vec4<f32>, or vec4<u32> of 8 bf16) where offsets, strides
// and k allow, element loads otherwise (`xv` / `wv` false). Each y element is still one lane's sum over k in order
// (two products a step under contraction at most): the same bits whatever the call is cut into.

/** The tiled gemm's tiles: 'm64' (64 x 128: 8 x 16 lanes of 8 x 8) and 'm16' (16 x 128: 4 x 32 lanes of 4 x 4). */
export type LayerGemmTile = 'm64' | 'm16';

/** lanes ty x tx; a lane owns rg groups of 4 rows (ty * 4 + g * 4 ty ...) and cg groups of 4 columns likewise. */
const tileShapes: Record<LayerGemmTile, { ty: number; tx: number; rg: number; cg: number }> = {
  m64: { ty: 8, tx: 16, rg: 2, cg: 2 },
  m16: { ty: 4, tx: 32, rg: 1, cg: 1 },
};

/** Rows and columns of y a workgroup of the tiled gemm owns. */
export function layerGemmTileSize(tile: LayerGemmTile): { tm: number; tn: number } {
  const t = tileShapes[tile];
  return { tm: t.ty * 4 * t.rg, tn: t.tx * 4 * t.cg };
}

/** x and w share `dtype`; y as the gemm's; xv / wv: that operand read 16 bytes at a time (layerGemmVecElems). */
export interface LayerGemmTiledSpec { dtype: 'f32' | 'bf16'; y: LayerElem; tile: LayerGemmTile; xv: boolean; wv: boolean }

export function chooseLayerGemmTile(m: number): LayerGemmTile {
  return m <= 16 ? 'm16' : 'm64';
}

export function layerGemmTiledTiles(m: number, n: number, batch: number, tile: LayerGemmTile): { tilesM: number; tilesN: number; groups: number } {
  const { tm, tn } = layerGemmTileSize(tile);
  const tilesM = Math.ceil(m / tm), tilesN = Math.ceil(n / tn);
  return { tilesM, tilesN, groups: tilesM * tilesN * batch };
}

/**
 * Elements of one 16-byte load: an operand takes the vec4 loads where its element offset, row stride, batch stride
 * and k are multiples of this (then every load is whole, aligned and inside the bound window; split-K's ranges are
 * multiples of 16).
 */
export const layerGemmVecElems = { f32: 4, bf16: 8 } as const;

const slice = 16; // k-columns staged a barrier pair
const lanes = 128;

/** WGSL of one operand's staging: its binding, the registers, `fetch` (global -> registers), `put` (registers -> workgroup memory). */
function stageWgsl(name: 'x' | 'w', binding: number, dtype: 'f32' | 'bf16', vec: boolean, rows: number, sm: string, rowExpr: (r: string) => string, rowOk: (r: string) => string) {
  const kHi = 'kHi';
  const per = vec && dtype === 'bf16' ? 8 : 4; // k-columns an item (a register) holds
  const items = (rows * slice) / per, n = Math.ceil(items / lanes), guard = items % lanes !== 0;
  const stride = `(${sm} / 4u)`; // vec4s of a k-row of the staging array
  const reg = vec && dtype === 'bf16' ? 'vec4<u32>' : 'vec4<f32>';
  const decl = !vec ? readBinding(binding, name, dtype)
    : `@group(0) @binding(${binding}) var<storage, read> ${name}: array<${dtype === 'f32' ? 'vec4<f32>' : 'vec4<u32>'}>;`;
  const regs = Array.from({ length: n }, (_, i) => `  var ${name}r${i}: ${reg};`).join('\n');
  const item = (i: number) => `let e = t + ${i * lanes}u; let r = e / ${slice / per}u; let kq = (e % ${slice / per}u) * ${per}u;`;
  const fetch = (k0: string) => Array.from({ length: n }, (_, i) => {
    const at = `${rowExpr('r')} + ${k0} + kq`;
    const body = vec
      ? `if (${rowOk('r')} && ${k0} + kq < ${kHi}) { ${name}r${i} = ${name}[(${at}) >> ${dtype === 'f32' ? 2 : 3}u]; }`
      : [0, 1, 2, 3].map((c) => `if (${rowOk('r')} && ${k0} + kq + ${c}u < ${kHi}) { ${name}r${i}.${'xyzw'[c]} = load_${name}(${at} + ${c}u); }`).join('\n      ');
    return `    { ${item(i)}
      ${name}r${i} = ${reg}();${guard ? `\n      if (e < ${items}u) {` : ''}
      ${body}${guard ? '\n      }' : ''}
    }`;
  }).join('\n');
  const put = Array.from({ length: n }, (_, i) => {
    const vals = vec && dtype === 'bf16'
      ? 'xyzw'.split('').flatMap((c) => [`bitcast<f32>(${name}r${i}.${c} << 16u)`, `bitcast<f32>(${name}r${i}.${c} & 0xffff0000u)`])
      : 'xyzw'.split('').map((c) => `${name}r${i}.${c}`);
    const stores = vals.map((v, c) => `${name}s[(kq + ${c}u) * ${stride} + r / 4u][r % 4u] = ${v};`).join(' ');
    return `    { ${item(i)}${guard ? ` if (e < ${items}u) {` : ''}
      ${stores}${guard ? ' }' : ''}
    }`;
  }).join('\n');
  return { decl, regs, fetch, put };
}

/**
 * The tiled gemm's tile loop, over k in [kLo, kHi) (gemmTileWgsl's contract: `head` gives z, row0, col0, xb, wb; `store`
 * writes value v of row r, column c).
 */
function gemmTiledWgsl(s: { dtype: 'f32' | 'bf16'; tile: LayerGemmTile; xv: boolean; wv: boolean }, params: { wgsl: string; structName: string }, out: string, head: string, kLo: string, kHi: string, store: (v: string) => string): string {
  const { ty, tx, rg, cg } = tileShapes[s.tile], { tm, tn } = layerGemmTileSize(s.tile);
  // The staging arrays are k-major, a k-row padded by 4 floats: a warp's transposing stores then meet at most two to a bank.
  const xsm = tm + 4, wsm = tn + 4;
  const X = stageWgsl('x', 1, s.dtype, s.xv, tm, 'XSM', (r) => `xb + (row0 + ${r}) * u.xStride`, (r) => `row0 + ${r} < u.m`);
  const W = stageWgsl('w', 2, s.dtype, s.wv, tn, 'WSM', (r) => `wb + (col0 + ${r}) * u.wStride`, (r) => `col0 + ${r} < u.n`);
  const acc: string[] = [], fma: string[] = [], reads: string[] = [], stores: string[] = [];
  for (let g = 0; g < rg; g++) reads.push(`let a${g} = xs[kk * (XSM / 4u) + ${g * ty}u + ty];`);
  for (let h = 0; h < cg; h++) reads.push(`let b${h} = ws[kk * (WSM / 4u) + ${h * tx}u + tx];`);
  for (let g = 0; g < rg; g++) {
    for (let ci = 0; ci < 4; ci++) {
      const i = g * 4 + ci;
      for (let h = 0; h < cg; h++) {
        acc.push(`  var c${i}_${h} = vec4<f32>();`);
        fma.push(`c${i}_${h} += a${g}.${'xyzw'[ci]} * b${h};`);
      }
      const cols: string[] = [];
      for (let h = 0; h < cg; h++) {
        for (let j = 0; j < 4; j++) cols.push(`{ let c = col0 + ${h * tx * 4 + j}u + tx * 4u; if (c < u.n) { ${store(`c${i}_${h}.${'xyzw'[j]}`)} } }`);
      }
      stores.push(`  { let r = row0 + ${g * ty * 4 + ci}u + ty * 4u;
    if (r < u.m) {
      ${cols.join('\n      ')}
    }
  }`);
    }
  }
  return `${params.wgsl}
@group(0) @binding(0) var<uniform> u: ${params.structName};
${decodeWgsl}
${encodeWgsl}
${X.decl}
${W.decl}
${out}
${linearWorkgroupWgsl}
const TM: u32 = ${tm}u;
const TN: u32 = ${tn}u;
const XSM: u32 = ${xsm}u;
const WSM: u32 = ${wsm}u;
var<workgroup> xs: array<vec4<f32>, ${(slice * xsm) / 4}>; // [k][row], k-rows of XSM floats
var<workgroup> ws: array<vec4<f32>, ${(slice * wsm) / 4}>; // [k][column], k-rows of WSM floats

@compute @workgroup_size(${lanes})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let g = linearWorkgroup(wid, nwg);
  if (g >= u.groups) { return; } // uniform per workgroup: the folded dispatch's spare groups
${head}
  let tx = t % ${tx}u;
  let ty = t / ${tx}u;
${acc.join('\n')}
${X.regs}
${W.regs}
  let kLo = ${kLo};
  let kHi = ${kHi};
${X.fetch('kLo')}
${W.fetch('kLo')}
  for (var k0 = kLo; k0 < kHi; k0 += ${slice}u) {
${X.put}
${W.put}
    workgroupBarrier();
    // The next slice's loads are issued before this slice's FMAs (all out of range, so none, after the last).
    let k1 = k0 + ${slice}u;
${X.fetch('k1')}
${W.fetch('k1')}
    for (var kk = 0u; kk < ${slice}u; kk++) {
      ${reads.join('\n      ')}
      ${fma.join('\n      ')}
    }
    workgroupBarrier();
  }
${stores.join('\n')}
}`;
}

/** WGSL: tile `tile` of batch entry `z` -> its first row and column and the entry's x / w bases (both tiled passes). */
const tiledTileBase = `  let row0 = (tile / u.tilesN) * TM;
  let col0 = (tile % u.tilesN) * TN;
  let xb = u.xOff + z * u.xBatch;
  let wb = u.wOff + z * u.wBatch;`;

/** y[z, i, j] = sum_t x[z, i, t] w[z, j, t], as layerGemmProgram, by the register-tiled loop. */
export const layerGemmTiledProgram: Program<LayerGemmTiledSpec> = {
  name: 'mla_layer_gemm',
  key: (s) => `tiled-${s.dtype}-y${s.y}-${s.tile}-x${s.xv ? 'v' : 's'}-w${s.wv ? 'v' : 's'}`,
  source: (s) => gemmTiledWgsl(s, layerGemmParams, writeBinding(3, 'y', s.y), `  let perZ = u.tilesM * u.tilesN;
  let z = g / perZ;
  let tile = g % perZ;
${tiledTileBase}
  let yb = u.yOff + z * u.yBatch;`, '0u', 'u.k', (v) => `store_y(yb + r * u.yStride + c, ${v});`),
};

export interface LayerGemmTiledPartSpec { dtype: 'f32' | 'bf16'; tile: LayerGemmTile; xv: boolean; wv: boolean }

/** The tiled split-K partial pass: workgroup g = (split, z, tile) and part[] as layerGemmPartProgram's. */
export const layerGemmTiledPartProgram: Program<LayerGemmTiledPartSpec> = {
  name: 'mla_layer_gemm_part',
  key: (s) => `tiled-${s.dtype}-${s.tile}-x${s.xv ? 'v' : 's'}-w${s.wv ? 'v' : 's'}`,
  source: (s) => gemmTiledWgsl(s, layerGemmPartParams, '@group(0) @binding(3) var<storage, read_write> part: array<f32>;', `  let perZ = u.tilesM * u.tilesN;
  let split = g / (perZ * u.batch);
  let zt = g % (perZ * u.batch);
  let z = zt / perZ;
  let tile = zt % perZ;
${tiledTileBase}
  let pb = (split * u.batch + z) * u.m * u.n;`, 'split * u.chunk', 'min(u.k, split * u.chunk + u.chunk)', (v) => `part[pb + r * u.n + c] = ${v};`),
};

// ---------------------------------------------------------------- rmsNorm

export const layerRmsNormParams = defineParams('LayerRmsNormParams', [
  ['rows', 'u32'], ['d', 'u32', 'row width'],
  ['xOff', 'u32', 'element of row 0 in the x binding'], ['weightOff', 'u32'], ['outOff', 'u32', 'element of row 0 in the out binding'],
  ['eps', 'f32'],
]);

/** out: the dtype of the optional copy, or 'none'. */
export interface LayerRmsNormSpec { out: LayerElem | 'none' }

/** 256 lanes a row: the sum of squares reduced in workgroup memory. */
const reduceWgsl = `var<workgroup> part: array<f32, 256>;
fn rowSum(v: f32, t: u32) -> f32 {
  part[t] = v;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (t < s) { part[t] += part[t + s]; }
    workgroupBarrier();
  }
  let total = part[0];
  workgroupBarrier(); // part[] is free again for the next call
  return total;
}`;

export const layerRmsNormProgram: Program<LayerRmsNormSpec> = {
  name: 'mla_layer_rmsnorm',
  key: (s) => `out${s.out}`,
  source: (s) => `${layerRmsNormParams.wgsl}
@group(0) @binding(0) var<uniform> u: LayerRmsNormParams;
${encodeWgsl}
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
${s.out === 'none' ? '' : writeBinding(3, 'out', s.out)}
${linearWorkgroupWgsl}
${reduceWgsl}

// transformers' DeepseekV3RMSNorm: x * (1 / sqrt(mean(x^2) + eps)), then weight * that, in f32.
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let r = linearWorkgroup(wid, nwg);
  if (r >= u.rows) { return; }
  let xb = u.xOff + r * u.d;
  var ss = 0.0;
  for (var i = t; i < u.d; i += 256u) { let v = x[xb + i]; ss += v * v; }
  let inv = 1.0 / sqrt(rowSum(ss, t) / f32(u.d) + u.eps);
  for (var i = t; i < u.d; i += 256u) {
    let v = weight[u.weightOff + i] * (x[xb + i] * inv);
    x[xb + i] = v;${s.out === 'none' ? '' : `
    store_out(u.outOff + r * u.d + i, v);`}
  }
}`,
};

// ---------------------------------------------------------------- qRope

export const layerQRopeParams = defineParams('LayerQRopeParams', [
  ['rows', 'u32', 'tokens of this piece'], ['heads', 'u32'], ['nope', 'u32'], ['rope', 'u32'],
  ['qOff', 'u32', 'element of q[row 0, head 0, 0]'], ['posOff', 'u32'], ['freqOff', 'u32'],
  ['attnOff', 'u32', 'element of qAttn[row 0, head 0, 0] (rows 576 wide)'], ['nopeOff', 'u32'],
  ['interleave', 'u32', '1: pairs (2i, 2i+1); 0: halves (i, i + rope / 2)'], ['attentionFactor', 'f32'],
]);

export interface LayerQRopeSpec { attn: 'bf16' | 'f16'; nope: LayerElem | 'none' }

export const layerQRopeProgram: Program<LayerQRopeSpec> = {
  name: 'mla_layer_q_rope',
  key: (s) => `attn${s.attn}-nope${s.nope}`,
  source: (s) => `${layerQRopeParams.wgsl}
@group(0) @binding(0) var<uniform> u: LayerQRopeParams;
${encodeWgsl}
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> positions: array<i32>;
@group(0) @binding(3) var<storage, read> invFreq: array<f32>;
${writeBinding(4, 'attn', s.attn)}
${s.nope === 'none' ? '' : writeBinding(5, 'nopeOut', s.nope)}
${linearWorkgroupWgsl}
${ropeWgsl()}

// A workgroup a (token, head): q_nope copied out for the W_UK GEMM, RoPE(q_pe) into the query row's columns 512..
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let head = linearWorkgroup(wid, nwg);
  if (head >= u.rows * u.heads) { return; }
  let r = head / u.heads;
  let qb = u.qOff + head * (u.nope + u.rope);${s.nope === 'none' ? '' : `
  for (var i = t; i < u.nope; i += 64u) { store_nopeOut(u.nopeOff + head * u.nope + i, q[qb + i]); }`}
  let half = u.rope / 2u;
  let pos = positions[u.posOff + r];
  let pe = qb + u.nope;
  let ab = u.attnOff + head * 576u + 512u;
  for (var i = t; i < half; i += 64u) {
    let a = select(q[pe + i], q[pe + 2u * i], u.interleave != 0u);
    let b = select(q[pe + i + half], q[pe + 2u * i + 1u], u.interleave != 0u);
    let o = ropeOut(a, b, pos, invFreq[u.freqOff + i], u.attentionFactor);
    store_attn(ab + i, o.x);
    store_attn(ab + half + i, o.y);
  }
}`,
};

// ---------------------------------------------------------------- kvAppend

export const layerKvAppendParams = defineParams('LayerKvAppendParams', [
  ['rows', 'u32', 'tokens of this piece'], ['kvOff', 'u32', 'element of kv[row 0, 0] (rows 576 wide)'],
  ['weightOff', 'u32'], ['posOff', 'u32'], ['freqOff', 'u32'], ['slotOff', 'u32'],
  ['cacheOff', 'u32', 'element of cache row slotLo in the cache binding'],
  ['slotLo', 'u32', 'first cache row of this binding'], ['slotCount', 'u32', 'cache rows in this binding'],
  ['interleave', 'u32'], ['eps', 'f32'], ['attentionFactor', 'f32'],
]);

export interface LayerKvAppendSpec { cache: 'bf16' | 'f16' }

export const layerKvAppendProgram: Program<LayerKvAppendSpec> = {
  name: 'mla_layer_kv_append',
  key: (s) => `cache${s.cache}`,
  source: (s) => `${layerKvAppendParams.wgsl}
@group(0) @binding(0) var<uniform> u: LayerKvAppendParams;
${encodeWgsl}
@group(0) @binding(1) var<storage, read> kv: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> positions: array<i32>;
@group(0) @binding(4) var<storage, read> invFreq: array<f32>;
@group(0) @binding(5) var<storage, read> slots: array<i32>;
${writeBinding(6, 'cache', s.cache)}
${linearWorkgroupWgsl}
${reduceWgsl}
${ropeWgsl()}

// A workgroup a token: [RMSNorm(c_kv) (512), RoPE(k_pe) (64)] into cache row slots[r]. A cache larger than one binding
// is appended in one dispatch per binding; a token whose slot is outside this binding's rows (or outside the cache)
// is not written by it.
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let r = linearWorkgroup(wid, nwg);
  if (r >= u.rows) { return; }
  let slot = slots[u.slotOff + r];
  if (slot < i32(u.slotLo) || slot - i32(u.slotLo) >= i32(u.slotCount)) { return; } // uniform: one slot a workgroup
  let kb = u.kvOff + r * 576u;
  var ss = 0.0;
  for (var i = t; i < 512u; i += 256u) { let v = kv[kb + i]; ss += v * v; }
  let inv = 1.0 / sqrt(rowSum(ss, t) / 512.0 + u.eps);
  let dst = u.cacheOff + u32(slot - i32(u.slotLo)) * 576u;
  for (var i = t; i < 512u; i += 256u) { store_cache(dst + i, weight[u.weightOff + i] * (kv[kb + i] * inv)); }
  let pos = positions[u.posOff + r];
  let pe = kb + 512u;
  if (t < 32u) {
    let a = select(kv[pe + t], kv[pe + 2u * t], u.interleave != 0u);
    let b = select(kv[pe + t + 32u], kv[pe + 2u * t + 1u], u.interleave != 0u);
    let o = ropeOut(a, b, pos, invFreq[u.freqOff + t], u.attentionFactor);
    store_cache(dst + 512u + t, o.x);
    store_cache(dst + 544u + t, o.y);
  }
}`,
};

// ---------------------------------------------------------------- convert

export const layerConvertParams = defineParams('LayerConvertParams', [
  ['n', 'u32', 'elements of this piece'], ['srcOff', 'u32'], ['dstOff', 'u32'],
]);

export interface LayerConvertSpec { src: LayerElem; dst: LayerElem }

export const layerConvertProgram: Program<LayerConvertSpec> = {
  name: 'mla_layer_convert',
  key: (s) => `${s.src}-${s.dst}`,
  source: (s) => `${layerConvertParams.wgsl}
@group(0) @binding(0) var<uniform> u: LayerConvertParams;
${decodeWgsl}
${encodeWgsl}
${readBinding(1, 'src', s.src)}
${writeBinding(2, 'dst', s.dst)}
${linearWorkgroupWgsl}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let i = linearWorkgroup(wid, nwg) * 256u + t;
  if (i < u.n) { store_dst(u.dstOff + i, load_src(u.srcOff + i)); }
}`,
};

/**
 * Every layer kernel's grid: `groups` workgroups (GEMM: one a (batch entry, row tile, column tile); convert: 256
 * elements each; the others one a row, or a (token, head)), folded over x, y, z against the device's per-dimension limit.
 */
export function layerDispatch(groups: number, caps: DeviceCaps): Dispatch {
  return foldDispatch(groups, caps.maxComputeWorkgroupsPerDimension);
}
