// Which decode kernel a WebGPU device runs, and why. Unforced, a device with the 16x16x16 float subgroup-matrix
// configuration and v5's 48 KiB of workgroup memory runs the matrix kernel v5 (faster than the f32 kernel at every
// shape measured on the H200, and right on the extreme inputs of the GPU suite there); every other device runs the
// f32 kernel. The f16-arithmetic kernel (shader-f16: less exact) runs when decodePath asks for it.
// Notes and numbers: docs/notes/webgpu-tensor-core.md, docs/notes/webgpu-matrix-kernel.md.
import { FlashMlaError } from '../../../core/errors.js';
import type { DeviceCaps } from '../program.js';
import { decodeMatrix5SharedBytes, matrix5ConfigUsable } from './decode-matrix5.js';

export type DecodePath = 'matrix' | 'f16' | 'f32';

/** A float subgroup-matrix configuration: f16 operands, `result` accumulators, an M x N result over K. */
export interface SubgroupMatrixF16 { m: number; n: number; k: number; result: 'f32' | 'f16' }

/**
 * The f16 kernel works on 16-row tiles, so a problem with more query rows per KV head reads the cache once per 16
 * rows; the f32 kernel takes 64-row tiles. Measured on the H200 (docs/notes/webgpu-tensor-core.md): 16 rows, f16
 * 2.4x faster than f32 (but against a first-config f32 row, 5x slow: not established); 128 rows, 2.4x slower. An
 * f16 choice that was not forced would hand larger problems to f32 (chooseDecodePath makes f16 only when forced, so
 * today a forced f16 path runs every size).
 */
export const f16MaxRows = 16;

/** The kernel a problem of `rows` = sQ * hQ / hKv query rows per KV head runs on a path choice. */
export function decodeKernelFor(choice: DecodePathChoice, rows: number): DecodePath {
  return choice.path === 'f16' && !choice.forced && rows > f16MaxRows ? 'f32' : choice.path;
}

/**
 * The kernels of this build. The matrix kernel (v5, kernels/decode-matrix5.ts; v4 and v3 selectable) with 8 subgroups
 * ran faster than the f32 kernel at every shape timed on the H200 in one call with FlashMLA (2026-11-30, session 8,
 * docs/notes/webgpu-matrix-kernel.md, "v5"): b = 128 s_k = 8192 h_q = 16 0.980 ms against 2.04 (2.08x), b = 1
 * s_k = 32768 0.130 against 0.171 (1.31x), b = 4 uneven s_q = 4 (64 rows) 0.368 against 0.466 (1.27x), h_q = 128
 * 7.26 against 12.6 (1.74x); 300 random cases within the matrix tolerance (worst lse error 8.8e-6, cosine 1.5e-6). With
 * 4 subgroups (a device under 48 KiB) it tied the f32 kernel on the uneven batch, so those devices keep the f32 kernel.
 */
export const builtDecodePaths: readonly DecodePath[] = ['matrix', 'f16', 'f32'];

/** The matrix kernel's needs: 16 result rows, f32 results, n and k dividing its 32-column chunks. */
export function matrixConfigUsable(c: SubgroupMatrixF16): boolean {
  return c.m === 16 && c.result === 'f32' && c.n > 0 && c.k > 0 && 32 % c.n === 0 && 32 % c.k === 0;
}

export interface DecodePathChoice {
  path: DecodePath;
  /** Set by an explicit decodePath: the path runs for every problem. */
  forced?: boolean;
  /** Matrix path only: the subgroup-matrix products run as scalar code (tests on adapters without the feature). */
  emulate?: boolean;
  /** One line for `flashmla info`: what the device offers and what runs. */
  why: string;
}

/**
 * The adapter's float configuration for the matrix kernel, best first: 16x16x16 with f32 results, then any other
 * f16-in / f32-out shape (Dawn reports `subgroupMatrixConfigs` on GPUAdapterInfo).
 */
export function pickSubgroupMatrix(configs: readonly unknown[] | undefined): SubgroupMatrixF16 | undefined {
  const found: SubgroupMatrixF16[] = [];
  for (const c of configs ?? []) {
    const x = c as { componentType?: string; resultComponentType?: string; M?: number; N?: number; K?: number };
    if (x.componentType !== 'f16' || (x.resultComponentType !== 'f32' && x.resultComponentType !== 'f16')) continue;
    found.push({ m: x.M ?? 0, n: x.N ?? 0, k: x.K ?? 0, result: x.resultComponentType });
  }
  const score = (c: SubgroupMatrixF16) => (c.result === 'f32' ? 2 : 0) + (c.m === 16 && c.n === 16 && c.k === 16 ? 1 : 0);
  found.sort((a, b) => score(b) - score(a));
  return found.find((c) => c.result === 'f32');
}

/**
 * Whether an unforced choice runs the matrix kernel: a hardware adapter with shader-f16, the 16x16x16 f16 -> f32
 * configuration, and the workgroup memory of v5 with 8 subgroups (the layout measured faster than the f32 kernel).
 */
export function matrixAuto(caps: DeviceCaps): boolean {
  const mx = caps.subgroupMatrixF16;
  return !!mx && caps.f16 && !caps.software && matrix5ConfigUsable(mx) && caps.maxComputeWorkgroupStorageSize >= decodeMatrix5SharedBytes(8);
}

/**
 * Whether an unforced choice may pick the matrix kernel on a device that qualifies (matrixAuto). On since session 9:
 * v5 with the fix for the extreme inputs the arithmetic model found (test/support/matrix-model5.ts,
 * docs/notes/webgpu-matrix-v5-model.md) passed the GPU suite on the H200 (test/gpu/webgpu-matrix.test.ts: goldens,
 * extreme magnitudes, NaN rows, 300 random cases) and ran 1.2-1.9x the f32 kernel's speed in the same call.
 * Tests pass false to check the f32 fallback rule.
 */
export const matrixByDefault = true;

/**
 * The decode kernel for a device, or `force`d (a path the device cannot run throws). `emulateMatrix` (tests only)
 * lets a forced matrix path run on a device with shader-f16 and no subgroup matrices, its products in scalar code.
 */
export function chooseDecodePath(caps: DeviceCaps, force?: DecodePath | 'auto', emulateMatrix = false, matrixDefault = matrixByDefault): DecodePathChoice {
  const mx = caps.subgroupMatrixF16;
  const offers = mx ? `subgroup-matrix f16 ${mx.m}x${mx.n}x${mx.k} (f32 accumulate)` : caps.f16 ? 'shader-f16 (no float subgroup matrix)' : 'neither shader-f16 nor subgroup matrices';
  if (force && force !== 'auto') {
    if (force === 'f16' && !caps.f16) throw new Error('decodePath f16: the device has no shader-f16');
    if (force === 'matrix') {
      if (emulateMatrix) {
        if (!caps.f16) throw new FlashMlaError('backend_unavailable', 'decodePath matrix (emulated): the device has no shader-f16', 'decodePath', 'a device with shader-f16', 'none');
        return { path: 'matrix', forced: true, emulate: true, why: `${offers}; forced → matrix kernel, products emulated by scalar code (a test mode)` };
      }
      if (!mx) {
        throw new FlashMlaError('backend_unavailable', `decodePath matrix: the device offers no float subgroup-matrix configuration (chromium-experimental-subgroup-matrix with f16 inputs and f32 results); it has ${offers}`,
          'decodePath', 'a device with a float subgroup-matrix configuration', offers);
      }
      if (!matrixConfigUsable(mx)) {
        throw new FlashMlaError('backend_unavailable', `decodePath matrix: the kernel needs M = 16 and N, K dividing 32, the device offers ${mx.m}x${mx.n}x${mx.k}`,
          'decodePath', 'a 16xNxK configuration with N, K dividing 32', `${mx.m}x${mx.n}x${mx.k}`);
      }
    }
    return { path: force, forced: true, why: `${offers}; forced → ${force} kernel` };
  }
  if (matrixAuto(caps) && !matrixDefault) {
    return { path: 'f32', why: `${offers}, ${caps.maxComputeWorkgroupStorageSize} B of workgroup memory → f32 kernel; decodePath 'matrix' runs the subgroup-matrix kernel v5 (on the H200 1.2-2.1x the f32 kernel), off by the matrix-default setting` };
  }
  if (matrixAuto(caps)) {
    return { path: 'matrix', why: `${offers}, ${caps.maxComputeWorkgroupStorageSize} B of workgroup memory → matrix kernel v5 with 8 subgroups (on the H200 1.3-2.1x the f32 kernel at 16-128 rows per KV head; decodePath 'f32' forces the f32 kernel)` };
  }
  // The f16 kernel is opt-in: its lse error (about 1e-3 at the default scale, up to 1e-2 at scale 0.25, measured on
  // the H200 and lavapipe) is looser than the bound every default path meets (1e-3 at any scale).
  if (caps.f16 || mx) return { path: 'f32', why: `${offers} → f32 kernel (decodePath 'f16' runs the faster, less exact f16 kernel for <= ${f16MaxRows} rows per KV head; 'matrix' the subgroup-matrix kernel)` };
  return { path: 'f32', why: `${offers} → f32 kernel` };
}
