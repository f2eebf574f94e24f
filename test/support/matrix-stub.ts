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
