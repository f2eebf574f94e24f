// Program objects and the pipeline cache. A program is a kernel's name, the key of what changes its code, its
// WGSL generator and its dispatch math; the manager compiles each key once and labels every GPU object.
import { FlashMlaError } from '../../core/errors.js';

/** What the adapter/device can do, as far as code generation cares. */
export interface DeviceCaps {
  f16: boolean;
  subgroups: boolean;
  /** The float subgroup-matrix configuration the device offers (chromium-experimental-subgroup-matrix), if any. */
  subgroupMatrixF16?: { m: number; n: number; k: number; result: 'f32' | 'f16' };
  /** A CPU-emulated adapter (lavapipe, SwiftShader): f16 arithmetic gains nothing there. */
  software?: boolean;
  /** Smallest subgroup the device may run (a reduction over w lanes by shuffles needs w <= this). */
  subgroupMinSize: number;
  timestamps: boolean;
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
  maxStorageBuffersPerShaderStage: number;
  maxComputeWorkgroupStorageSize: number;
  maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupsPerDimension: number;
  minStorageBufferOffsetAlignment: number;
}

export interface Program<S> {
  readonly name: string;
  /** Everything that changes the generated code; equal keys must give equal WGSL. */
  key(spec: S): string;
  source(spec: S): string;
}

export type Dispatch = readonly [number, number, number];

/**
 * Spread `n` workgroups over x, y (and z) so that no dimension exceeds the device limit. Kernels recover the
 * linear index with `linearWorkgroup` below (extra workgroups of the last row see an index >= n and return).
 */
export function foldDispatch(n: number, maxPerDim: number): Dispatch {
  if (n <= maxPerDim) return [Math.max(n, 1), 1, 1];
  const y = Math.ceil(n / maxPerDim);
  if (y <= maxPerDim) return [maxPerDim, y, 1];
  const z = Math.ceil(y / maxPerDim);
  if (z > maxPerDim) throw new FlashMlaError('invalid_argument', `dispatch of ${n} workgroups exceeds the device limit`);
  return [maxPerDim, maxPerDim, z];
}

/** WGSL: the linear workgroup index of a dispatch made by foldDispatch. */
export const linearWorkgroupWgsl = `fn linearWorkgroup(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return wid.x + nwg.x * (wid.y + nwg.y * wid.z);
}`;

interface Compiled { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout }

export class ProgramManager {
  private readonly cache = new Map<string, Compiled>();
  /** Compile count, so tests can check that pipelines are built once per specialisation. */
  compiles = 0;

  constructor(private readonly device: GPUDevice) {}

  get<S>(program: Program<S>, spec: S): Compiled {
    const key = `${program.name}:${program.key(spec)}`;
    let c = this.cache.get(key);
    if (!c) {
      const code = program.source(spec);
      const module = this.device.createShaderModule({ label: key, code });
      const pipeline = this.device.createComputePipeline({ label: key, layout: 'auto', compute: { module, entryPoint: 'main' } });
      c = { pipeline, layout: pipeline.getBindGroupLayout(0) };
      this.cache.set(key, c);
      this.compiles++;
    }
    return c;
  }

  /** Compile now and surface WGSL errors with the program's key (used by tests and at first use). */
  async check<S>(program: Program<S>, spec: S): Promise<void> {
    const code = program.source(spec);
    const module = this.device.createShaderModule({ label: program.name, code });
    const info = await module.getCompilationInfo();
    const errors = info.messages.filter((m) => m.type === 'error');
    if (errors.length) {
      throw new FlashMlaError('driver_error', `${program.name} (${program.key(spec)}): WGSL errors:\n${errors.map((e) => `${e.lineNum}:${e.linePos} ${e.message}`).join('\n')}`);
    }
  }
}
