// y [m, n] = x [m, k] · w [n, k]ᵀ in f32 (the MLA layer's projections). A workgroup of 16 x 16 lanes owns a
// (16·rm) x 64 tile of y, each lane rm x 4 outputs; x and w are staged through workgroup memory 16 k-columns at
// a time. rm = 1 for decode-sized m (a GEMV would waste 63 of 64 tile rows with rm = 4), 4 for prefill.
import { defineParams } from '../params.js';
import { type DeviceCaps, type Dispatch, type Program, foldDispatch, linearWorkgroupWgsl } from '../program.js';

export const matmulParams = defineParams('MatmulParams', [
  ['m', 'u32'], ['n', 'u32'], ['k', 'u32'],
  ['xOff', 'u32', 'element offset of x[0, 0] in its binding'], ['xStride', 'u32'],
  ['wOff', 'u32'], ['wStride', 'u32'],
  ['yOff', 'u32'],
  ['tilesN', 'u32', 'ceil(n / 64)'],
]);

export interface MatmulSpec { rm: 1 | 4 }

export function chooseMatmulSpec(m: number): MatmulSpec { return { rm: m <= 16 ? 1 : 4 }; }

export function matmulDispatch(m: number, n: number, spec: MatmulSpec, caps: DeviceCaps): Dispatch {
  return foldDispatch(Math.ceil(m / (16 * spec.rm)) * Math.ceil(n / 64), caps.maxComputeWorkgroupsPerDimension);
}

export const matmulProgram: Program<MatmulSpec> = {
  name: 'mla_matmul',
  key: (s) => `rm${s.rm}`,
  source: (s) => {
    const tm = 16 * s.rm;
    return `${matmulParams.wgsl}
@group(0) @binding(0) var<uniform> u: MatmulParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
${linearWorkgroupWgsl}
const TM: u32 = ${tm}u;
const RM: u32 = ${s.rm}u;
var<workgroup> xs: array<array<f32, 17>, TM>; // [row][k], padded against bank conflicts
var<workgroup> ws: array<array<f32, 17>, 64>;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let g = linearWorkgroup(wid, nwg);
  let tileM = g / u.tilesN;
  let tileN = g % u.tilesN;
  let row0 = tileM * TM;
  let col0 = tileN * 64u;
  if (row0 >= u.m) { return; } // uniform per workgroup: the folded dispatch's spare groups
  let t = lid.y * 16u + lid.x;
  var acc: array<array<f32, 4>, RM>;
  for (var k0 = 0u; k0 < u.k; k0 += 16u) {
    // Stage x: TM rows x 16 k; w: 64 rows x 16 k (256 lanes, one or four values each).
    for (var e = t; e < TM * 16u; e += 256u) {
      let r = e / 16u; let kk = e % 16u;
      var v = 0.0;
      if (row0 + r < u.m && k0 + kk < u.k) { v = x[u.xOff + (row0 + r) * u.xStride + k0 + kk]; }
      xs[r][kk] = v;
    }
    for (var e = t; e < 1024u; e += 256u) {
      let r = e / 16u; let kk = e % 16u;
      var v = 0.0;
      if (col0 + r < u.n && k0 + kk < u.k) { v = w[u.wOff + (col0 + r) * u.wStride + k0 + kk]; }
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
      if (c < u.n) { y[u.yOff + r * u.n + c] = acc[i][j]; }
    }
  }
}`;
  },
};
