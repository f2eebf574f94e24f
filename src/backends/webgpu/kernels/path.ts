// Which decode kernel a WebGPU device runs, and why: the subgroup-matrix kernel where the device offers a float
// configuration (f16 in, f32 accumulate), the f16-arithmetic kernel where it has shader-f16, else the f32 kernel.
// Notes and numbers: docs/notes/webgpu-tensor-core.md.
import type { DeviceCaps } from '../program.js';

export type DecodePath = 'matrix' | 'f16' | 'f32';

/** A float subgroup-matrix configuration: f16 operands, `result` accumulators, an M x N result over K. */
export interface SubgroupMatrixF16 { m: number; n: number; k: number; result: 'f32' | 'f16' }

/**
 * The f16 kernel works on 16-row tiles, so a problem with more query rows per KV head reads the cache once per 16
 * rows; the f32 kernel takes 64-row tiles. Measured on the H200 (docs/notes/webgpu-tensor-core.md): 16 rows, f16
 * 2.4x faster than f32; 128 rows, 2.4x slower. Unforced, the f16 path runs only up to this many rows.
 */
export const f16MaxRows = 16;

/** The kernel a problem of `rows` = sQ * hQ / hKv query rows per KV head runs on a path choice. */
export function decodeKernelFor(choice: DecodePathChoice, rows: number): DecodePath {
  return choice.path === 'f16' && !choice.forced && rows > f16MaxRows ? 'f32' : choice.path;
}

/** The kernels of this build that exist (the matrix kernel is not written yet: see the design note). */
export const builtDecodePaths: readonly DecodePath[] = ['f16', 'f32'];

export interface DecodePathChoice {
  path: DecodePath;
  /** Set by an explicit decodePath: the path runs for every problem. */
  forced?: boolean;
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

/** The decode kernel for a device, or `force`d (a path the device cannot run throws). */
export function chooseDecodePath(caps: DeviceCaps, force?: DecodePath | 'auto'): DecodePathChoice {
  const mx = caps.subgroupMatrixF16;
  const offers = mx ? `subgroup-matrix f16 ${mx.m}x${mx.n}x${mx.k} (f32 accumulate)` : caps.f16 ? 'shader-f16 (no float subgroup matrix)' : 'neither shader-f16 nor subgroup matrices';
  if (force && force !== 'auto') {
    if (force === 'f16' && !caps.f16) throw new Error('decodePath f16: the device has no shader-f16');
    if (force === 'matrix') throw new Error('decodePath matrix: the subgroup-matrix kernel is not in this build');
    return { path: force, forced: true, why: `${offers}; forced → ${force} kernel` };
  }
  if (mx && caps.f16 && !caps.software) return { path: 'f16', why: `${offers} → f16 kernel for <= ${f16MaxRows} query rows per KV head, f32 kernel above (the matrix kernel is not in this build yet)` };
  // A CPU emulating the GPU gains nothing from f16 and its LLVM spends about a minute compiling the f16 kernel.
  if (caps.f16 && caps.software) return { path: 'f32', why: `${offers} on a software adapter → f32 kernel (decodePath: 'f16' forces the f16 one)` };
  if (caps.f16) return { path: 'f16', why: `${offers} → f16 kernel for <= ${f16MaxRows} query rows per KV head, f32 kernel above` };
  return { path: 'f32', why: `${offers} → f32 kernel` };
}
