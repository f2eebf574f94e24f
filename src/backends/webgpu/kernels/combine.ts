// Merge the fp32 partial results of every split sequence: lse = log sum_s exp(lse_s),
// out = sum_s exp(lse_s - lse) o_s. One workgroup of 64 lanes per (batch, query row), 8 columns a lane.
// A partial lse is finite, NEG (the split saw no key of the row), -inf (it saw keys, all scored -inf) or NaN
// (it saw a NaN or +inf score); the merge gives what the float64 reference gives for the whole row.
import type { HalfDType } from '../../../core/dtype.js';
import type { DecodePlan } from '../../../core/plan.js';
import type { MlaProblem } from '../../../core/problem.js';
import { defineParams } from '../params.js';
import { type DeviceCaps, type Dispatch, type Program, foldDispatch, linearWorkgroupWgsl } from '../program.js';
import { negBig, packWgsl } from './decode.js';
import { finiteLoopsWgsl } from './finite-loops.js';
import { nanWgsl } from './nan.js';

export const combineParams = defineParams('CombineParams', [
  ['b', 'u32'], ['hQ', 'u32'], ['sQ', 'u32'], ['varlen', 'u32'],
  ['rowStride', 'u32', 'partial rows per split slot: sQ * hQ'],
  ['lseStrideB', 'u32'], ['lseStrideH', 'u32'], ['lseStrideT', 'u32'],
  ['outOff', 'u32'], ['lseOff', 'u32'], ['oAccOff', 'u32'],
  ['qiOff', 'u32'], ['nsOff', 'u32'], ['posInfBits', 'u32'],
]);

/**
 * finite: its three loops over the splits in the form Tint proves finite (kernels/finite-loops.ts; probe, opt-in).
 * groups (session 19; the default where a request has many splits: chooseCombine; docs/notes/webgpu-tensor-core.md,
 * "Session 19"): the wide combine, 256 lanes a
 * row instead of 64, the splits' lse read by all lanes at once and reduced in workgroup memory, O merged by `groups`
 * (4 or 8) groups of lanes that each take every groups-th split with unconditional vector loads, then summed.
 */
export interface CombineSpec {
  dtype: HalfDType;
  finite?: boolean;
  groups?: CombineGroups;
  /**
   * The wide combine only (session 25): its rows' 512 columns cut into `cols` slices, a workgroup a (row, slice), so that a
   * step with few rows to merge (b = 1: 16) spreads the partials' reads over cols times as many SMs. Unset: 1, the row
   * whole (session 19's kernel, WGSL byte for byte).
   */
  cols?: CombineCols;
}
export type CombineGroups = 4 | 8;
export type CombineCols = 1 | 2 | 4 | 8;
/** The backend's `matrix.combine` knob: 0 the default combine always (session 18's launch), 4 / 8 the wide one always. */
export type CombineKnob = 0 | CombineGroups;

/**
 * The fewest splits of one request for which the default decode takes the wide combine (8 groups): the longest row
 * then gives every lane group of its O pass a split. H200 (docs/notes/webgpu-tensor-core.md, "Session 19"): 103 splits
 * a row 0.573x, the uneven batch (101 in its longest rows) 0.745x; 2 splits a row (b = 128 h128 s_k 8192, 62 of 128
 * requests) 1.021x, where 64 lanes merge 2 splits in one short chain and the wide workgroup idles 6 of its 8 groups
 * behind ~10 barriers.
 */
export const wideCombineMinSplits = 8;

/**
 * Which combine a decode of `plan` runs: `knob` 4 / 8 forces the wide one, 0 the default one; unset, the wide one with
 * 8 groups when some request has at least wideCombineMinSplits splits (the plan's maxSplits, from numSplits on the
 * host; without it, the mean the scheduler can make, (b + numSmParts) / b, stands in), else the default one.
 */
export function chooseCombine(plan: Pick<DecodePlan, 'b' | 'numSmParts' | 'maxSplits'>, knob?: CombineKnob): CombineGroups | undefined {
  if (knob !== undefined) return knob === 0 ? undefined : knob;
  const most = plan.maxSplits ?? Math.floor((plan.b + plan.numSmParts) / plan.b);
  return most >= wideCombineMinSplits ? 8 : undefined;
}

/**
 * Whether the wide combine cuts its rows into column slices unless told (matrix.combineCols; session 25): yes. On the
 * H200 (docs/notes/webgpu-matrix-kernel.md, "Session 25", call 3) 0.945x the time at b = 1 s_k 32768 / 65536, 0.963 at
 * 16384, 0.986 at 4096, 0.978 at b = 2 (32 rows), 0.988 at b = 4 h_q 32 (128 rows); the same pipelines elsewhere.
 */
export const combineSlicedDefault = true;

/**
 * How many column slices the wide combine cuts a row into (CombineSpec.cols): 'auto' (or unset where
 * combineSlicedDefault) the fewest of 1, 2, 4, 8 that give the combine at least as many workgroups as the plan has SM
 * parts (rows = b * sQ * hQ, a workgroup a row before), so a step with few rows (b = 1, h_q = 16: 16 rows, 8 slices)
 * reads its partials on as many SMs as wrote them; a number forces it. 1 where the wide combine does not run.
 */
export function chooseCombineCols(rows: number, numSmParts: number, groups: CombineGroups | undefined, knob: CombineCols | 'auto' | undefined = combineSlicedDefault ? 'auto' : 1): CombineCols {
  if (!groups) return 1;
  if (knob !== 'auto') return knob;
  for (const c of [1, 2, 4] as const) if (rows * c >= numSmParts) return c;
  return 8;
}

export function combineDispatch(p: MlaProblem, caps: DeviceCaps, cols: CombineCols = 1): Dispatch {
  return foldDispatch(p.b * p.sQ * p.hQ * cols, caps.maxComputeWorkgroupsPerDimension);
}

export const combineProgram: Program<CombineSpec> = {
  name: 'mla_combine',
  key: (s) => `${s.dtype}${s.finite ? '.fin' : ''}${s.groups ? `.g${s.groups}` : ''}${s.cols && s.cols > 1 ? `.c${s.cols}` : ''}`,
  source: (s) => {
    if (s.cols && s.cols > 1 && !s.groups) throw new Error('combine: column slices (cols) are the wide combine\'s (groups)');
    if (s.groups) {
      if (s.finite) throw new Error('combine: the wide combine (groups) runs without finite');
      return wideCombineSource(s.dtype, s.groups, s.cols ?? 1);
    }
    return s.finite ? finiteLoopsWgsl(combineSource(s)) : combineSource(s);
  },
};

// Both combines' bindings (the same buffers; `acc` read as f32 or as vec4, its declaration's tail given), constants and
// helpers.
const combineHeaderWgsl = (dtype: HalfDType, acc: string): string => `${combineParams.wgsl}
@group(0) @binding(0) var<uniform> u: CombineParams;
@group(0) @binding(1) var<storage, read> idx: array<i32>;
@group(0) @binding(2) var<storage, read> acc: ${acc}
@group(0) @binding(3) var<storage, read_write> out: array<u32>;
@group(0) @binding(4) var<storage, read_write> lse: array<f32>;
const NEG: f32 = ${negBig};
${packWgsl(dtype)}
${nanWgsl(dtype, 'u.posInfBits')}
${linearWorkgroupWgsl}`;

// A combine workgroup's row: its request, query and head, the request's splits at idx[base ..] (n), and the early
// returns (rows a single split wrote directly, query rows past the request's own length). Shared by both combines.
const combineRowWgsl = (g: string) => `  let g = ${g};
  let perBatch = u.sQ * u.hQ;
  let batch = g / perBatch;
  if (batch >= u.b) { return; }
  let rr = g % perBatch; // j * hQ + h
  let j = rr / u.hQ;
  let h = rr % u.hQ;
  let base = idx[u.nsOff + batch];
  let n = idx[u.nsOff + batch + 1u] - base;
  if (n <= 1) { return; } // written by the decode kernel directly
  var qStart = batch * u.sQ;
  var qLen = u.sQ;
  if (u.varlen != 0u) {
    qStart = u32(idx[u.qiOff + batch]);
    qLen = u32(idx[u.qiOff + batch + 1u]) - qStart;
  }
  if (j >= qLen) { return; }`;

const combineSource = (s: CombineSpec): string => `${combineHeaderWgsl(s.dtype, 'array<f32>;')}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
${combineRowWgsl('linearWorkgroup(wid, nwg)')}
  var mx = NEG;
  var nan = false;
  var negInf = false;
  for (var s = 0; s < n; s++) {
    let ls = acc[u32(base + s) * u.rowStride + rr];
    nan = nan | isNan(ls);
    negInf = negInf | isNegInf(ls);
    mx = max(mx, select(ls, NEG, nonFinite(ls)));
  }
  let o = u.outOff + (((qStart + j) * u.hQ + h) * 512u) / 2u;
  let lo0 = u.lseOff + batch * u.lseStrideB + h * u.lseStrideH + (qStart + j) * u.lseStrideT;
  let c = t * 4u;
  if (nan || (negInf && mx <= NEG * 0.5)) { // a poisoned row, or every key of the row scored -inf: NaN
    out[o + t * 2u] = nanPair(); out[o + t * 2u + 1u] = nanPair(); out[o + 128u + t * 2u] = nanPair(); out[o + 128u + t * 2u + 1u] = nanPair();
    if (t == 0u) { lse[lo0] = nanF32(); }
    return;
  }
  if (mx <= NEG * 0.5) { // no split saw a key: the contract's empty row
    out[o + t * 2u] = 0u; out[o + t * 2u + 1u] = 0u; out[o + 128u + t * 2u] = 0u; out[o + 128u + t * 2u + 1u] = 0u;
    if (t == 0u) { lse[lo0] = bitcast<f32>(u.posInfBits); }
    return;
  }
  var sum = 0.0;
  for (var s = 0; s < n; s++) {
    let ls = acc[u32(base + s) * u.rowStride + rr];
    if (ls > NEG * 0.5) { sum += exp(ls - mx); }
  }
  let total = mx + log(sum);
  var lo = vec4<f32>(0.0);
  var hi = vec4<f32>(0.0);
  for (var s = 0; s < n; s++) {
    let slot = u32(base + s);
    let ls = acc[slot * u.rowStride + rr];
    if (ls <= NEG * 0.5 && !isNegInf(ls)) { continue; } // this split saw no key of the row
    // A split whose keys all scored -inf weighs 0, but its o carries the NaN of 0 * inf (as the reference's sum).
    let w = select(exp(ls - total), 0.0, isNegInf(ls));
    let a = u.oAccOff + (slot * u.rowStride + rr) * 512u;
    lo += w * vec4<f32>(acc[a + c], acc[a + c + 1u], acc[a + c + 2u], acc[a + c + 3u]);
    hi += w * vec4<f32>(acc[a + 256u + c], acc[a + 257u + c], acc[a + 258u + c], acc[a + 259u + c]);
  }
  out[o + t * 2u] = pack2(lo.xy); out[o + t * 2u + 1u] = pack2(lo.zw);
  out[o + 128u + t * 2u] = pack2(hi.xy); out[o + 128u + t * 2u + 1u] = pack2(hi.zw);
  if (t == 0u) { lse[lo0] = total; }
}
`;


const rng = (n: number) => Array.from({ length: n }, (_, i) => i);

/**
 * The wide combine (CombineSpec.groups; same bindings, params, dispatch and results up to the order of the sums): one
 * workgroup of 256 lanes a row. The default combine's 64 lanes walk the row's splits three times in a dependent chain
 * (a uniform lse load an iteration, then O's loads behind a branch on it): at b = 1 on the H200 that is ~100 splits
 * x 3 round trips through L2 for each of the 16 rows. Here: (1) every lane reads the lse of splits t, t + 256, ..., and
 * the row's maximum and NaN / -inf flags reduce in workgroup memory (4-way, 4 levels); (2) the same for the sum of
 * exp(lse - max); (3) lane group g (of `groups`) merges splits g, g + groups, ... into 512 / (256 / groups) columns a
 * lane with vec4 loads issued whatever the split's lse (a split that saw no key of the row is selected out, as the
 * default combine skips it: its O is not added, so a stale NaN there cannot leak); the groups' sums are added in group
 * order through workgroup memory. A row's special cases (NaN, every key -inf, no key) are the default combine's.
 */
function wideCombineSource(dtype: HalfDType, groups0: CombineGroups, cols: CombineCols): string {
  // cols > 1: workgroup w merges row w / cols, its vec4 columns (w % cols) * 128 / cols .. (a slice); the lane groups
  // grow so that a group's lanes do not outnumber the slice's vec4 columns.
  const groups = Math.max(groups0, 2 * cols);
  const L = 256 / groups; // column lanes a group
  const V = 128 / cols / L; // vec4 columns a lane: v = cl + L k (of the slice)
  const sliced = cols > 1;
  const sl = sliced ? `cs * ${128 / cols}u + ` : ''; // the slice's first vec4 column
  const U = sliced ? Math.max(1, 4 / V) : 1; // splits a lane loads an iteration of the O pass (at least 4 vec4 in flight)
  // 256 lane values to [0] in 4 levels of 4-way merges; the last level's barrier is the uniform load's that follows.
  const reduce = (arrs: [string, (a: string, b: string) => string][]) => [64, 16, 4, 1].map((st) => `if (t < ${st}u) {${arrs.map(([arr, op]) => `
    ${arr}[t] = ${op(op(`${arr}[t]`, `${arr}[t + ${st}u]`), op(`${arr}[t + ${2 * st}u]`, `${arr}[t + ${3 * st}u]`))};`).join('')}
  }${st > 1 ? '\n  workgroupBarrier();' : ''}`).join('\n  ');
  return `${combineHeaderWgsl(dtype, 'array<vec4<f32>>; // lseAccum at 0, oAccum from a 256-byte boundary (core/plan.ts)')}
var<workgroup> rM: array<f32, 256>;   // lanes' lse maxima, then the row's at [0]
var<workgroup> rF: array<u32, 256>;   // lanes' flags (1: a NaN lse, 2: a -inf lse), then the row's at [0]
var<workgroup> rS: array<f32, 256>;   // lanes' sums of exp(lse - max), then the row's at [0]
var<workgroup> rO: array<vec4<f32>, ${(groups - 1) * L * V}>; // groups 1.. : their O sums

fn lseAt(i: u32) -> f32 { return acc[i / 4u][i % 4u]; }

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
${sliced ? `  let cs = linearWorkgroup(wid, nwg) % ${cols}u; // the column slice
${combineRowWgsl(`linearWorkgroup(wid, nwg) / ${cols}u`)}` : combineRowWgsl('linearWorkgroup(wid, nwg)')}
  // (1) the row's largest finite lse and its NaN / -inf flags
  var mx = NEG;
  var fl = 0u;
  for (var s = i32(t); s < n; s += 256) {
    let ls = lseAt(u32(base + s) * u.rowStride + rr);
    fl = fl | select(0u, 1u, isNan(ls)) | select(0u, 2u, isNegInf(ls));
    mx = max(mx, select(ls, NEG, nonFinite(ls)));
  }
  rM[t] = mx;
  rF[t] = fl;
  workgroupBarrier();
  ${reduce([['rM', (a, b) => `max(${a}, ${b})`], ['rF', (a, b) => `(${a} | ${b})`]])}
  let rowMx = workgroupUniformLoad(&rM[0]);
  let rowFl = workgroupUniformLoad(&rF[0]);
  let o = u.outOff + (((qStart + j) * u.hQ + h) * 512u) / 2u;
  let lo0 = u.lseOff + batch * u.lseStrideB + h * u.lseStrideH + (qStart + j) * u.lseStrideT;
  if ((rowFl & 1u) != 0u || ((rowFl & 2u) != 0u && rowMx <= NEG * 0.5)) { // a poisoned row, or every key of the row scored -inf: NaN
    ${sliced ? `if (t < ${256 / cols}u) { out[o + cs * ${256 / cols}u + t] = nanPair(); }` : 'out[o + t] = nanPair();'}
    if (t == 0u${sliced ? ' && cs == 0u' : ''}) { lse[lo0] = nanF32(); }
    return;
  }
  if (rowMx <= NEG * 0.5) { // no split saw a key: the contract's empty row
    ${sliced ? `if (t < ${256 / cols}u) { out[o + cs * ${256 / cols}u + t] = 0u; }` : 'out[o + t] = 0u;'}
    if (t == 0u${sliced ? ' && cs == 0u' : ''}) { lse[lo0] = bitcast<f32>(u.posInfBits); }
    return;
  }
  // (2) the sum of exp(lse - max) over the splits that saw a key
  var sum = 0.0;
  for (var s = i32(t); s < n; s += 256) {
    let ls = lseAt(u32(base + s) * u.rowStride + rr);
    if (ls > NEG * 0.5) { sum += exp(ls - rowMx); }
  }
  rS[t] = sum;
  workgroupBarrier();
  ${reduce([['rS', (a, b) => `(${a} + ${b})`]])}
  let total = rowMx + log(workgroupUniformLoad(&rS[0]));
  // (3) O: group gq merges splits gq, gq + ${groups}, ...; lane cl holds columns 4 (cl + ${L} k) .. + 3, k < ${V}
  let gq = t / ${L}u;
  let cl = t % ${L}u;
  ${rng(V).map((k) => `var o${k} = vec4<f32>(0.0);`).join(' ')}
  ${U === 1 ? `for (var s = i32(gq); s < n; s += ${groups}) {
    let slot = u32(base + s);
    let ls = lseAt(slot * u.rowStride + rr);
    let a = (u.oAccOff + (slot * u.rowStride + rr) * 512u) / 4u + ${sl}cl;
    ${rng(V).map((k) => `let x${k} = acc[a + ${k * L}u];`).join(' ')}
    // A split that saw no key of the row is left out; one whose keys all scored -inf weighs 0, but its o carries the
    // NaN of 0 * inf (as the reference's sum).
    let keep = !(ls <= NEG * 0.5 && !isNegInf(ls));
    let w = select(exp(ls - total), 0.0, isNegInf(ls));
    ${rng(V).map((k) => `o${k} += select(vec4<f32>(0.0), w * x${k}, keep);`).join(' ')}
  }` : `// ${U} splits an iteration (s + ${groups} j), every load issued before any is used; one past n reads split s again
  // and is left out.
  for (var s = i32(gq); s < n; s += ${groups * U}) {
    ${rng(U).map((j) => `let ok${j} = s + ${groups * j} < n;
    let slot${j} = u32(base + select(s, s + ${groups * j}, ok${j}));
    let ls${j} = lseAt(slot${j} * u.rowStride + rr);
    let a${j} = (u.oAccOff + (slot${j} * u.rowStride + rr) * 512u) / 4u + ${sl}cl;
    ${rng(V).map((k) => `let x${j}_${k} = acc[a${j} + ${k * L}u];`).join(' ')}`).join('\n    ')}
    // A split that saw no key of the row is left out; one whose keys all scored -inf weighs 0, but its o carries the
    // NaN of 0 * inf (as the reference's sum).
    ${rng(U).map((j) => `{
     let keep = ok${j} && !(ls${j} <= NEG * 0.5 && !isNegInf(ls${j}));
     let w = select(exp(ls${j} - total), 0.0, isNegInf(ls${j}));
     ${rng(V).map((k) => `o${k} += select(vec4<f32>(0.0), w * x${j}_${k}, keep);`).join(' ')}
    }`).join('\n    ')}
  }`}
  if (gq > 0u) {
    ${rng(V).map((k) => `rO[((gq - 1u) * ${L}u + cl) * ${V}u + ${k}u] = o${k};`).join(' ')}
  }
  workgroupBarrier();
  if (gq == 0u) {
    ${rng(groups - 1).map((g1) => rng(V).map((k) => `o${k} += rO[(${g1 * L}u + cl) * ${V}u + ${k}u];`).join(' ')).join('\n    ')}
    ${rng(V).map((k) => `out[o + 2u * (${sl}cl + ${k * L}u)] = pack2(o${k}.xy); out[o + 2u * (${sl}cl + ${k * L}u) + 1u] = pack2(o${k}.zw);`).join('\n    ')}
    if (t == 0u${sliced ? ' && cs == 0u' : ''}) { lse[lo0] = total; }
  }
}
`;
}
