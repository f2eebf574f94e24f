// Runtime piece of the CUDA backend: programmatic dependent launch (PDL). A kernel launched through
// cuLaunchKernelEx with CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION may be scheduled while the kernel
// before it on the stream still runs (from the moment that kernel's CTAs all executed
// griddepcontrol.launch_dependents, or ended); it must itself wait (griddepcontrol.wait, kernels/pdl.cuh) before it
// reads what earlier kernels wrote. The decode path launches combine.cu this way (its launch and start overlap the
// decode kernel's tail), and decode_sm90.cu too (its start overlaps the previous kernel's tail, e.g. the last
// layer's combine), and sparse_sm90.cu after the pass that bounds device indices or writes a dense step's lists (its
// start overlaps that pass; session 55). Inside stream capture the attribute becomes a programmatic edge of the graph.
//
// By default (since session 37) every launch that waits is a programmatic dependent, captured graphs included: on the
// H200, with decode_sm90.cu no longer triggering its dependents before it ends (kernels/decode_sm90.cu, TRIG 0), that
// took the narrow kernel's calls 0.980x the time in triton do_bench's loop (42 shapes; the long split calls
// 0.93-0.95x) and 0.974x from CUDA graphs (b = 1 s_k 32768 0.97x), the wide kernel's level (it neither waits nor
// triggers). Session 36's default, the merges outside stream capture only, is FLASHMLA_CUDA_PDL=merges;
// `createCudaBackend({ pdl: false })` or FLASHMLA_CUDA_PDL=0 launches nothing this way (docs/notes/cuda-hopper-decode.md,
// "Session 37").
// Where it is asked for but unavailable it is off, by typed detection, never a crash: GPUs before sm_90, drivers
// without cuLaunchKernelEx or older than CUDA 12.3 (programmatic edges in captured graphs). A PDL launch the driver
// refuses (CUDA_ERROR_NOT_SUPPORTED, CUDA_ERROR_INVALID_VALUE) turns PDL off for the backend and is retried as a
// plain launch, so the call still succeeds.
import type { Driver } from './driver.js';

/** cuda.h: CUlaunchAttributeID CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION. */
export const CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION = 6;
/** sizeof(CUlaunchConfig) on 64-bit hosts: 7 unsigned ints (28 bytes, padded to 32), hStream, attrs, numAttrs (+ padding). */
export const launchConfigBytes = 56;
/** sizeof(CUlaunchAttribute): the 4-byte id padded to 8, then the 64-byte CUlaunchAttributeValue union. */
export const launchAttributeBytes = 72;
/** Byte offsets of CUlaunchConfig's fields. */
export const launchConfigOffsets = { gridDimX: 0, gridDimY: 4, gridDimZ: 8, blockDimX: 12, blockDimY: 16, blockDimZ: 20, sharedMemBytes: 24, hStream: 32, attrs: 40, numAttrs: 48 } as const;

const CUDA_ERROR_INVALID_VALUE = 1;
const CUDA_ERROR_NOT_SUPPORTED = 801;

export interface PdlSupport {
  enabled: boolean;
  /**
   * Which launches: 'all' (the default: decode_sm90.cu and the merges, captured graphs included), 'merges' (the merges
   * outside stream capture: session 36's default, FLASHMLA_CUDA_PDL=merges), 'off'.
   */
  scope: 'all' | 'merges' | 'off';
  /** Why it is on or off, for BackendInfo.details and bug reports. */
  reason: string;
}

/** PDL off, and why (every form of "off": asked off, unavailable, refused at run time). */
export function pdlOff(why: string): PdlSupport {
  return { enabled: false, scope: 'off', reason: `off (${why})` };
}

/**
 * Whether launches use PDL, and which: `pdl: false` or FLASHMLA_CUDA_PDL=0 none; FLASHMLA_CUDA_PDL=merges the merges
 * outside stream capture (scope 'merges'); otherwise (the default, `pdl: true`, FLASHMLA_CUDA_PDL=1) every launch that
 * waits (scope 'all'). Only on sm_90 or newer, with a driver that has cuLaunchKernelEx and is at least CUDA 12.3
 * (cuDriverGetVersion's 12030: captured programmatic edges).
 */
export function pdlSupport(o: { ccMajor: number; driverVersion: number; hasLaunchEx: boolean; option?: boolean; env?: string }): PdlSupport {
  const env = o.env?.trim();
  if (o.option === false) return pdlOff('option pdl: false');
  if (env !== undefined && /^(0|false|off|no)$/i.test(env)) return pdlOff(`FLASHMLA_CUDA_PDL=${env}`);
  const mergesOnly = o.option !== true && env !== undefined && /^merges$/i.test(env);
  if (o.ccMajor < 9) return pdlOff(`compute capability ${o.ccMajor}.x: programmatic dependent launch needs sm_90 or newer`);
  if (!o.hasLaunchEx) return pdlOff('the driver has no cuLaunchKernelEx');
  if (o.driverVersion < 12030) return pdlOff(`driver API ${Math.floor(o.driverVersion / 1000)}.${(o.driverVersion % 1000) / 10}: 12.3 or newer is needed`);
  return mergesOnly
    ? { enabled: true, scope: 'merges', reason: `on for the merges outside graph capture (FLASHMLA_CUDA_PDL=${env})` }
    : { enabled: true, scope: 'all', reason: 'on (decode_sm90, sparse_sm90 after its index pass, and the merges launched with programmatic stream serialization, captured graphs included; pdl: false for none)' };
}

/**
 * Whether one launch of a decode is a programmatic dependent: a merge where the scope is 'all', or 'merges' outside
 * stream capture; a decode kernel that waits (KernelLaunch.pdl: decode_sm90.cu; sparse_sm90.cu after its index pass)
 * only where the scope is 'all'.
 */
export function pdlFor(scope: PdlSupport['scope'], kind: 'decode' | 'merge', waits: boolean, capturing: boolean): boolean {
  if (!waits || scope === 'off') return false;
  return scope === 'all' || (kind === 'merge' && !capturing);
}

/** What a launch needs: function handle, grid, block (x only), dynamic shared memory. */
export interface LaunchShape {
  fn: bigint; gx: number; gy: number; gz: number; threads: number; smem: number;
}

/** What LaunchEx needs of the driver (Driver, or a recording fake in tests). */
export interface LaunchExDriver {
  readonly koffi: Pick<Driver['koffi'], 'alloc' | 'view' | 'address' | 'free'>;
  readonly api: {
    cuLaunchKernel: (...args: unknown[]) => number;
    cuLaunchKernelEx?: (...args: unknown[]) => number;
  };
}

/**
 * Kernel launches with or without the PDL attribute. One native CUlaunchConfig and its one attribute are allocated
 * once and rewritten per launch (no allocation on the hot path).
 */
export class LaunchEx {
  private readonly raw?: unknown;
  private readonly view?: DataView;
  private support: PdlSupport;

  constructor(private readonly drv: LaunchExDriver, support: PdlSupport) {
    this.support = support.enabled && !drv.api.cuLaunchKernelEx ? pdlOff('the driver has no cuLaunchKernelEx') : support;
    if (!this.support.enabled) return;
    const k = drv.koffi;
    const bytes = launchConfigBytes + launchAttributeBytes;
    this.raw = k.alloc('uint8_t', bytes);
    const addr = BigInt(k.address(this.raw as never) as unknown as bigint);
    const v = new DataView(k.view(this.raw as never, bytes) as ArrayBuffer);
    new Uint8Array(v.buffer, v.byteOffset, bytes).fill(0);
    const o = launchConfigOffsets;
    v.setBigUint64(o.attrs, addr + BigInt(launchConfigBytes), true);
    v.setUint32(o.blockDimY, 1, true);
    v.setUint32(o.blockDimZ, 1, true);
    // The attribute: id, 4 bytes of padding, then the value union's first int (programmaticStreamSerializationAllowed).
    v.setUint32(launchConfigBytes, CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION, true);
    v.setInt32(launchConfigBytes + 8, 1, true);
    this.view = v;
  }

  get pdl(): PdlSupport { return this.support; }

  /**
   * Queue `l` on `stream` with the argument block `argv`; with `pdl` (and PDL on) as a programmatic dependent of
   * the previous kernel: only for kernels that wait (kernels/pdl.cuh pdlWait) before their first dependent access.
   * Returns the driver's result code (the caller's check() names the kernel).
   */
  launch(l: LaunchShape, stream: bigint, argv: unknown, pdl: boolean): number {
    const api = this.drv.api;
    if (pdl && this.support.enabled) {
      const v = this.view!, o = launchConfigOffsets;
      v.setUint32(o.gridDimX, l.gx, true);
      v.setUint32(o.gridDimY, l.gy, true);
      v.setUint32(o.gridDimZ, l.gz, true);
      v.setUint32(o.blockDimX, l.threads, true);
      v.setUint32(o.sharedMemBytes, l.smem, true);
      v.setBigUint64(o.hStream, stream, true);
      v.setUint32(o.numAttrs, 1, true);
      const rc = api.cuLaunchKernelEx!(this.raw, l.fn, argv, null);
      if (rc !== CUDA_ERROR_NOT_SUPPORTED && rc !== CUDA_ERROR_INVALID_VALUE) return rc;
      // Refused with the attribute: PDL off from now on, this launch retried plainly (a real error repeats there).
      this.support = pdlOff(`cuLaunchKernelEx with programmatic stream serialization returned ${rc}; turned off at run time`);
    }
    return api.cuLaunchKernel(l.fn, l.gx, l.gy, l.gz, l.threads, 1, 1, l.smem, stream, argv, null);
  }

  dispose(attempt: (f: () => void) => void): void {
    if (this.raw !== undefined) attempt(() => this.drv.koffi.free(this.raw as never));
  }
}
