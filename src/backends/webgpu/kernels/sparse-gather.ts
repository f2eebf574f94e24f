// The gathered path of token-sparse decode (session 45): a sparse step turned into a dense one, so that it runs on the
// dense decode kernel the device runs best (on the H200 the subgroup-matrix kernel, kernels/decode-matrix5.ts) instead
// of kernels/sparse.ts's f32 lanes. Each query row (batch, query) becomes a request of its own:
//   1. `sparse_gather_list`: a workgroup a row walks its index list (main top-k, then extra top-k) and numbers the
//      valid entries in order (the row's key count is its cache length); the invalid ones are numbered after them.
//      It writes the row's cache length and its block-table row (identity: the row's pages are its own).
//   2. `sparse_gather`: each entry's token, decoded (e4m3 times its scale, UE8M0 or f32, rounded once to q's dtype; a
//      bf16 / f16 cache copied), is written to its slot of a paged cache of 64-token pages [rows, pages, 64, 576]; an
//      invalid entry's slot (past the row's length, never read as a key) is zeroed. A 512-wide token (MODEL1, or a
//      half cache with dQk 512) fills columns 0..511 (V is all of them, as in the sparse kernel) and zeroes 512..575.
//   3. the dense decode (and its combine) over those pages, q as [rows, 1, hQ, 576] (MODEL1's 512-wide q copied into a
//      576-wide one by `sparse_gather_q`, zero-padded);
//   4. `sparse_gather_finish`, where the step has more than one query or an attention sink: the lse from the dense
//      layout [rows, hQ] to [b, hQ, sQ], and the sink's factor on out (the dense kernel rounded out once; the factor
//      rounds it again: at most one more unit in the last place).
// What it costs: each referenced token's 576 values written and read back as 16-bit floats (1152 bytes) on top of
// the cache's bytes, and the dense kernel's split-KV over the longest possible list (the row lengths on the device are
// not known when the plan is made: keys past a row's length are masked by the kernel, as for a causal step).
import type { HalfDType } from '../../../core/dtype.js';
import { isFp8Format } from '../../../core/fp8.js';
import type { SparseCacheKind } from '../../../core/sparse.js';
import { defineParams } from '../params.js';
import { type DeviceCaps, type Dispatch, type Program, foldDispatch, linearWorkgroupWgsl } from '../program.js';
import { packWgsl } from './decode.js';
import { isTokenWgsl, sparseCacheBindingsWgsl, tokenAddrWgsl } from './sparse.js';

/** Keys a page of the gathered cache. */
export const gatherPage = 64;
/** 16-bit values a gathered token: the dense kernel's row (512 latent + 64 RoPE columns). */
export const gatherRow = 576;

export const gatherParams = defineParams('GatherParams', [
  ['rows', 'u32', 'query rows of this chunk'], ['rowBase', 'u32', 'the chunk\'s first row (i * sQ + s)'], ['sQ', 'u32'], ['hQ', 'u32'],
  ['dQk', 'u32'], ['topk', 'u32'], ['extraTopk', 'u32'], ['hasTopkLength', 'u32'], ['hasExtraTopkLength', 'u32'],
  ['pageBlockSize', 'u32'], ['extraPageBlockSize', 'u32'],
  ['blockStride', 'u32', 'FP8: bytes; bf16/f16: elements'], ['extraBlockStride', 'u32'],
  ['kOff', 'u32', 'FP8: byte offset of the cache in its first binding; bf16/f16: element offset'], ['extraOff', 'u32'],
  ['kPagesPerSeg', 'u32', 'pages a cache binding holds'], ['xPagesPerSeg', 'u32'],
  ['indOff', 'u32', 'offsets into idx (i32 elements)'], ['extraIndOff', 'u32'], ['tlOff', 'u32'], ['extraTlOff', 'u32'], ['sinkOff', 'u32'], ['hasSink', 'u32'],
  ['maxBlocks', 'u32', 'pages a row of the gathered cache'], ['btOff', 'u32', 'dense index words: block table'], ['seqOff', 'u32', 'dense index words: cache lengths'],
  ['qOff', 'u32', 'u32 words'], ['outOff', 'u32', 'u32 words'], ['lseOff', 'u32', 'f32 elements'], ['posInfBits', 'u32'],
  ['numTokens', 'u32', 'tokens of kCache: an index outside 0..numTokens-1 counts as -1'], ['extraNumTokens', 'u32'],
]);

/** Entries a workgroup of sparse_gather takes (64 lanes each). */
const entriesPerGroup = 4;

export function gatherListDispatch(rows: number, caps: Pick<DeviceCaps, 'maxComputeWorkgroupsPerDimension'>): Dispatch {
  return foldDispatch(rows, caps.maxComputeWorkgroupsPerDimension);
}
export function gatherDispatch(rows: number, entries: number, caps: Pick<DeviceCaps, 'maxComputeWorkgroupsPerDimension'>): Dispatch {
  return foldDispatch(rows * Math.ceil(entries / entriesPerGroup), caps.maxComputeWorkgroupsPerDimension);
}
/** sparse_gather_q: a workgroup of 64 lanes a (row, head): 288 words out. */
export function gatherQDispatch(rows: number, hQ: number, caps: Pick<DeviceCaps, 'maxComputeWorkgroupsPerDimension'>): Dispatch {
  return foldDispatch(rows * hQ, caps.maxComputeWorkgroupsPerDimension);
}
/** sparse_gather_finish: a workgroup of 64 lanes a (row, head). */
export const gatherFinishDispatch = gatherQDispatch;

const header = `${gatherParams.wgsl}
@group(0) @binding(0) var<uniform> u: GatherParams;
${linearWorkgroupWgsl}`;

/** The row's list lengths (main, extra) as the sparse kernel reads them. */
const listLengths = `  let i = (u.rowBase + r) / u.sQ;
  var mainLen = u.topk;
  if (u.hasTopkLength != 0u) { mainLen = min(u32(idx[u.tlOff + i]), u.topk); }
  var extraLen = u.extraTopk;
  if (u.hasExtraTopkLength != 0u) { extraLen = min(u32(idx[u.extraTlOff + i]), u.extraTopk); }`;

/**
 * Step 1. dest[r * T + p] (T = topk + extraTopk): the slot of entry p of row r when it is valid (0, 1, .. in list
 * order), else -1 - (its number among the row's invalid entries): slot length + that number.
 */
export const gatherListProgram: Program<Record<string, never>> = {
  name: 'sparse_gather_list',
  key: () => '',
  source: () => `${header}
@group(0) @binding(1) var<storage, read> idx: array<i32>;
@group(0) @binding(2) var<storage, read_write> dest: array<i32>;
@group(0) @binding(3) var<storage, read_write> words: array<i32>;
var<workgroup> sums: array<u32, 256>;
${isTokenWgsl}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let r = linearWorkgroup(wid, nwg);
  if (r >= u.rows) { return; }
  let gr = u.rowBase + r;
${listLengths}
  let n = u.topk + u.extraTopk;
  var valid = 0u;
  var invalid = 0u;
  for (var c = 0u; c < n; c += 256u) {
    let p = c + t;
    var ok = false;
    if (p < u.topk) { ok = p < mainLen && isToken(idx[u.indOff + gr * u.topk + p], u.numTokens); }
    else if (p < n) { let e = p - u.topk; ok = e < extraLen && isToken(idx[u.extraIndOff + gr * u.extraTopk + e], u.extraNumTokens); }
    let one = select(0u, 1u, ok);
    sums[t] = one;
    workgroupBarrier();
    for (var o = 1u; o < 256u; o <<= 1u) { // inclusive scan of the valid flags
      var v = sums[t];
      if (t >= o) { v += sums[t - o]; }
      workgroupBarrier();
      sums[t] = v;
      workgroupBarrier();
    }
    let before = sums[t] - one; // valid entries of this chunk ahead of p
    let here = sums[255];
    if (p < n) {
      if (ok) { dest[r * n + p] = i32(valid + before); }
      else { dest[r * n + p] = -1 - i32(invalid + t - before); }
    }
    valid += here;
    invalid += min(256u, n - c) - here;
    workgroupBarrier(); // every lane has read sums before the next chunk writes it
  }
  if (t == 0u) { words[u.seqOff + r] = i32(valid); }
  for (var j = t; j < u.maxBlocks; j += 256u) { words[u.btOff + r * u.maxBlocks + j] = i32(r * u.maxBlocks + j); }
}
`,
};

export interface GatherSpec {
  kind: SparseCacheKind;
  /** The gathered cache's dtype (q's). */
  dtype: HalfDType;
  /** Bindings of the main and the extra cache (kernels/sparse.ts sparseCacheBindingsWgsl). */
  segs: { k: number; x: number };
}

/** An output word w (values 2w, 2w + 1) of the gathered token at a (tokenAddr), sel the cache. */
function outWord(kind: SparseCacheKind): string {
  if (!isFp8Format(kind)) {
    return `fn outWord(sel: u32, a: vec4<u32>, w: u32) -> u32 {
  if (w < u.dQk / 2u) { return word(sel, a.w, a.x + w); }
  return 0u;
}`;
  }
  // NoPE pairs: a word of the cache holds two pairs (bytes 4j..4j+3), the pair's group scale at NoPE / TILE groups.
  return `fn outWord(sel: u32, a: vec4<u32>, w: u32) -> u32 {
  if (w < NOPE / 2u) {
    let x = word(sel, a.w, (a.x >> 2u) + (w >> 1u)) >> ((w & 1u) * 16u);
    let s = scaleOf(sel, a.w, a.z, (2u * w) / TILE);
    return pack2(vec2<f32>(e4m3(x & 0xffu) * s, e4m3((x >> 8u) & 0xffu) * s));
  }
  if (w < NOPE / 2u + 32u) { return word(sel, a.w, (a.y >> 2u) + w - NOPE / 2u); }
  return 0u;
}`;
}

/** Step 2: the tokens into the gathered pages. */
export const gatherProgram: Program<GatherSpec> = {
  name: 'sparse_gather',
  key: (s) => `${s.kind}.${s.dtype}.k${s.segs.k}x${s.segs.x}`,
  source: (s) => `${header}
@group(0) @binding(1) var<storage, read> idx: array<i32>;
@group(0) @binding(2) var<storage, read> dest: array<i32>;
@group(0) @binding(3) var<storage, read> words: array<i32>;
@group(0) @binding(4) var<storage, read_write> g: array<u32>;
${sparseCacheBindingsWgsl(5, s.segs)}
${packWgsl(s.dtype)}
${tokenAddrWgsl(s.kind)}
${outWord(s.kind)}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let n = u.topk + u.extraTopk;
  let per = (n + ${entriesPerGroup - 1}u) / ${entriesPerGroup}u;
  let wg = linearWorkgroup(wid, nwg);
  let r = wg / per;
  if (r >= u.rows) { return; }
  let p = (wg % per) * ${entriesPerGroup}u + t / 64u;
  if (p >= n) { return; }
  let l = t % 64u;
  let d = dest[r * n + p];
  var slot = 0u;
  var sel = 0u;
  var phys = 0u;
  if (d >= 0) {
    slot = u32(d);
    let gr = u.rowBase + r;
    if (p < u.topk) { sel = 1u; phys = u32(idx[u.indOff + gr * u.topk + p]); }
    else { sel = 2u; phys = u32(idx[u.extraIndOff + gr * u.extraTopk + p - u.topk]); }
  } else {
    slot = u32(words[u.seqOff + r]) + u32(-1 - d);
  }
  let o = (r * u.maxBlocks * ${gatherPage}u + slot) * ${gatherRow / 2}u;
  if (sel == 0u) {
    for (var w = l; w < ${gatherRow / 2}u; w += 64u) { g[o + w] = 0u; }
    return;
  }
  let a = tokenAddr(sel, phys);
  for (var w = l; w < ${gatherRow / 2}u; w += 64u) { g[o + w] = outWord(sel, a, w); }
}
`,
};

/**
 * Dense decode over an FP8 cache (the backend's decodeDenseFp8): the pages of a chunk of requests, each decoded once
 * into a 16-bit page of the same size (the staged cache [pages, pageBlockSize, 576]: e4m3 times its scale rounded
 * once to bf16; MODEL1's 512 columns zero-padded), for the dense kernel to read by a block table of staged pages.
 * Staged page sp is cache page words[u.seqOff + sp]; u.rows staged pages. Reads the uniform's cache fields, as
 * tokenAddrWgsl does (sel 1, the main cache, only). 64 lanes a token, four tokens a workgroup.
 */
export const denseFp8StageProgram: Program<{ kind: SparseCacheKind; segs: number }> = {
  name: 'dense_fp8_stage',
  key: (s) => `${s.kind}.k${s.segs}`,
  source: (s) => `${header}
@group(0) @binding(1) var<storage, read> words: array<i32>;
@group(0) @binding(2) var<storage, read_write> g: array<u32>;
${sparseCacheBindingsWgsl(3, { k: s.segs, x: 1 })}
${packWgsl('bf16')}
${tokenAddrWgsl(s.kind)}
${outWord(s.kind)}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let token = linearWorkgroup(wid, nwg) * ${entriesPerGroup}u + t / 64u;
  if (token >= u.rows * u.pageBlockSize) { return; }
  let sp = token / u.pageBlockSize;
  let phys = u32(words[u.seqOff + sp]) * u.pageBlockSize + token % u.pageBlockSize;
  let a = tokenAddr(1u, phys);
  let o = token * ${gatherRow / 2}u;
  for (var w = t % 64u; w < ${gatherRow / 2}u; w += 64u) { g[o + w] = outWord(1u, a, w); }
}
`,
};

/** denseFp8StageProgram's workgroups for `tokens` staged tokens. */
export function denseFp8StageDispatch(tokens: number, caps: Pick<DeviceCaps, 'maxComputeWorkgroupsPerDimension'>): Dispatch {
  return foldDispatch(Math.ceil(tokens / entriesPerGroup), caps.maxComputeWorkgroupsPerDimension);
}

/** q [rows, hQ, dQk] (dQk < 576) into [rows, hQ, 576], zero-padded: a workgroup a (row, head). */
export const gatherQProgram: Program<Record<string, never>> = {
  name: 'sparse_gather_q',
  key: () => '',
  source: () => `${header}
@group(0) @binding(1) var<storage, read> qb: array<u32>;
@group(0) @binding(2) var<storage, read_write> qg: array<u32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let rh = linearWorkgroup(wid, nwg);
  if (rh >= u.rows * u.hQ) { return; }
  let src = u.qOff + (u.rowBase * u.hQ + rh) * (u.dQk / 2u);
  for (var w = t; w < ${gatherRow / 2}u; w += 64u) {
    var x = 0u;
    if (w < u.dQk / 2u) { x = qb[src + w]; }
    qg[rh * ${gatherRow / 2}u + w] = x;
  }
}
`,
};

/**
 * Step 4: lse from lt [rows, hQ] (the dense kernel's) to lse [b, hQ, sQ], and the sink's factor on out's row: the
 * sparse kernel's rule (a sink of +inf takes everything, -inf nothing; past d = 80 the factor is e^-d). A row with no
 * key (lse +inf) or a NaN row keeps the dense kernel's out.
 */
export const gatherFinishProgram: Program<{ dtype: HalfDType }> = {
  name: 'sparse_gather_finish',
  key: (s) => s.dtype,
  source: (s) => `${header}
@group(0) @binding(1) var<storage, read> idx: array<i32>;
@group(0) @binding(2) var<storage, read> lt: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<u32>;
@group(0) @binding(4) var<storage, read_write> lse: array<f32>;
${packWgsl(s.dtype)}
${s.dtype === 'bf16'
    ? 'fn unpack2(w: u32) -> vec2<f32> { return vec2<f32>(bitcast<f32>(w << 16u), bitcast<f32>(w & 0xffff0000u)); }'
    : 'fn unpack2(w: u32) -> vec2<f32> { return unpack2x16float(w); }'}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let rh = linearWorkgroup(wid, nwg);
  if (rh >= u.rows * u.hQ) { return; }
  let r = rh / u.hQ;
  let h = rh % u.hQ;
  let gr = u.rowBase + r;
  let i = gr / u.sQ;
  let s = gr % u.sQ;
  let rowLse = lt[rh];
  if (t == 0u) { lse[u.lseOff + (i * u.hQ + h) * u.sQ + s] = rowLse; }
  let lb = bitcast<u32>(rowLse);
  if (u.hasSink == 0u || (lb & 0x7fffffffu) >= 0x7f800000u) { return; } // no sink, no key (+inf), a NaN row
  let sb = u32(idx[u.sinkOff + h]);
  if (sb == 0xff800000u) { return; } // -inf: the sink takes nothing
  var f = 0.0; // +inf: the sink takes everything
  if (sb != 0x7f800000u) {
    let d = bitcast<f32>(sb) - rowLse;
    if (d > 80.0) { f = exp(-d); } else { f = 1.0 / (1.0 + exp(d)); }
  }
  let o = u.outOff + (gr * u.hQ + h) * 256u;
  for (var w = t; w < 256u; w += 64u) { out[o + w] = pack2(unpack2(out[o + w]) * f); }
}
`,
};
