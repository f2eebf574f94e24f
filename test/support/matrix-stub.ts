// The matrix kernels' GPU WGSL (v5, v6) made compilable on an adapter without subgroup matrices, for Tint's checks
// (test/backends/webgpu-matrix6.test.ts, webgpu-matrix-ablate.test.ts).
import assert from 'node:assert/strict';

/**
 * The GPU's WGSL (not emulated) with the subgroup-matrix types and builtins replaced by typed stubs, so that Tint checks
 * everything around them on an adapter without the feature: identifiers, scopes, types, the branches, the arguments'
 * types (offsets and strides u32, the column-major flag bool, each pointer's array f16 or f32, left / right / result
 * in the right places).
 */
export function stubbedMatrixWgsl(src: string): string {
  const body = src
    .replace('enable chromium_experimental_subgroup_matrix;\ndiagnostic(off, chromium.subgroup_matrix_uniformity);', '')
    .replace(/subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>>\(&(Kt|Ph), /g, 'loadL_$1(')
    .replace(/subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>>\(&Kt, /g, 'loadR_Kt(')
    .replace(/subgroupMatrixLoad<subgroup_matrix_result<f32, 16, 16>>\(&Sc, /g, 'loadC_Sc(')
    .replace(/subgroupMatrixStore\(&Sc, /g, 'store_Sc(')
    .replace(/subgroupMatrixMultiplyAccumulate\(/g, 'mma(')
    .replace(/subgroup_matrix_left<f16, 16, 16>/g, 'SmLeft')
    .replace(/subgroup_matrix_right<f16, 16, 16>/g, 'SmRight')
    .replace(/subgroup_matrix_result<f32, 16, 16>/g, 'SmResult');
  assert.doesNotMatch(body, /subgroup_matrix|subgroupMatrix/);
  return `${body}
struct SmLeft { x: f16 }
struct SmRight { x: f16 }
struct SmResult { x: f32 }
fn loadL_Kt(off: u32, colMajor: bool, stride: u32) -> SmLeft { return SmLeft(Kt[off + stride]); }
fn loadL_Ph(off: u32, colMajor: bool, stride: u32) -> SmLeft { return SmLeft(Ph[off + stride]); }
fn loadR_Kt(off: u32, colMajor: bool, stride: u32) -> SmRight { return SmRight(Kt[off + stride]); }
fn loadC_Sc(off: u32, colMajor: bool, stride: u32) -> SmResult { return SmResult(Sc[off + stride]); }
fn mma(a: SmLeft, b: SmRight, c: SmResult) -> SmResult { return SmResult(f32(a.x * b.x) + c.x); }
fn store_Sc(off: u32, m: SmResult, colMajor: bool, stride: u32) { Sc[off + stride] = m.x; }
`;
}

/**
 * The GPU's WGSL (not emulated) with the subgroup-matrix types and builtins replaced by working functions, so that the
 * kernel the H200 compiles runs on an adapter without the feature (lavapipe) with everything around the products
 * unchanged: the loop-carried result matrices, the branches, the barriers, the offsets and strides. Each lane holds a
 * whole 16 x 16 matrix (a subgroup's 32 lanes hold the same one, as the builtins' operands are subgroup-uniform) and
 * computes the whole product; a store writes element i from lane i % 32 only, so that a store read by another lane
 * without a barrier between them shows as a race, as on the GPU. Slow (each lane does the subgroup's whole product):
 * for small cases only.
 */
export function functionalMatrixWgsl(src: string): string {
  const head = 'fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) t: u32) {';
  assert.ok(src.includes(head), 'the kernel\'s entry point as the matrix kernels declare it');
  const body = stubbedMatrixWgsl(src).split('\nstruct SmLeft')[0].replace(head, `${head}\n smLane = t % 32u;\n smN = select(16u, 17u, u.hQ == 0xffffffffu); // 16, opaque to the compiler (no unrolling)`);
  const load = (name: string, arr: string, elem: string) => `fn ${name}(off: u32, colMajor: bool, stride: u32) -> ${elem} {
  var m: ${elem};
  for (var i = 0u; i < smN * smN; i++) { m.v[i] = ${arr}[smAt(off, i, colMajor, stride)]; }
  return m;
}`;
  return `${body}
struct SmLeft { v: array<f16, 256> }   // [row][col], 16 x 16
struct SmRight { v: array<f16, 256> }
struct SmResult { v: array<f32, 256> }
var<private> smLane: u32;
var<private> smN: u32;
fn smAt(off: u32, i: u32, colMajor: bool, stride: u32) -> u32 {
  let r = i / 16u; let c = i % 16u;
  return off + select(r * stride + c, c * stride + r, colMajor);
}
${load('loadL_Kt', 'Kt', 'SmLeft')}
${load('loadL_Ph', 'Ph', 'SmLeft')}
${load('loadR_Kt', 'Kt', 'SmRight')}
${load('loadC_Sc', 'Sc', 'SmResult')}
fn mma(a: SmLeft, b: SmRight, c: SmResult) -> SmResult {
  var d = c;
  for (var r = 0u; r < smN; r++) {
    for (var n = 0u; n < smN; n++) {
      var s = d.v[r * 16u + n];
      for (var k = 0u; k < smN; k++) { s = fma(f32(a.v[r * 16u + k]), f32(b.v[k * 16u + n]), s); }
      d.v[r * 16u + n] = s;
    }
  }
  return d;
}
fn store_Sc(off: u32, m: SmResult, colMajor: bool, stride: u32) {
  for (var i = smLane; i < smN * smN; i += 32u) { Sc[smAt(off, i, colMajor, stride)] = m.v[i]; }
}
`;
}
