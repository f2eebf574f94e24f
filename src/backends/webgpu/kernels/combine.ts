// Merge the fp32 partial results of every split sequence: lse = log sum_s exp(lse_s),
// out = sum_s exp(lse_s - lse) o_s. One workgroup of 64 lanes per (batch, query row), 8 columns a lane.
// A partial lse is finite, NEG (the split saw no key of the row), -inf (it saw keys, all scored -inf) or NaN
// (it saw a NaN or +inf score); the merge gives what the float64 reference gives for the whole row.
import type { HalfDType } from '../../../core/dtype.js';
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

/** finite: its three loops over the splits in the form Tint proves finite (kernels/finite-loops.ts; probe, opt-in). */
export interface CombineSpec { dtype: HalfDType; finite?: boolean }

export function combineDispatch(p: MlaProblem, caps: DeviceCaps): Dispatch {
  return foldDispatch(p.b * p.sQ * p.hQ, caps.maxComputeWorkgroupsPerDimension);
}

export const combineProgram: Program<CombineSpec> = {
  name: 'mla_combine',
  key: (s) => `${s.dtype}${s.finite ? '.fin' : ''}`,
  source: (s) => (s.finite ? finiteLoopsWgsl(combineSource(s)) : combineSource(s)),
};

const combineSource = (s: CombineSpec): string => `${combineParams.wgsl}
@group(0) @binding(0) var<uniform> u: CombineParams;
@group(0) @binding(1) var<storage, read> idx: array<i32>;
@group(0) @binding(2) var<storage, read> acc: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<u32>;
@group(0) @binding(4) var<storage, read_write> lse: array<f32>;
const NEG: f32 = ${negBig};
${packWgsl(s.dtype)}
${nanWgsl(s.dtype, 'u.posInfBits')}
${linearWorkgroupWgsl}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let g = linearWorkgroup(wid, nwg);
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
  if (j >= qLen) { return; }
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

