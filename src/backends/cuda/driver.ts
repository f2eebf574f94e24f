// The CUDA driver API (libcuda.so.1) through koffi: no compiler, no CUDA toolkit at run time. Only what the
// backend uses is bound; every call goes through check(), which throws FlashMlaError('driver_error') carrying the
// driver's error name. Handles (contexts, streams, modules, functions, events, graphs) and device pointers are
// BigInts, as koffi 3 passes pointers.
import { FlashMlaError, fmtBytes, outOfMemory } from '../../core/errors.js';
import { type KernelArgs, type TiledTensorMapArgs, kernelArgs } from './tensor-map.js';

type Fn = (...args: unknown[]) => number;
type Koffi = typeof import('koffi');

/** CUdevice_attribute values we read (cuda.h). */
export const enum Attr {
  ClockRate = 13,
  MultiprocessorCount = 16,
  MemoryClockRate = 36,
  GlobalMemoryBusWidth = 37,
  L2CacheSize = 38,
  ComputeCapabilityMajor = 75,
  ComputeCapabilityMinor = 76,
  MaxSharedMemoryPerBlockOptin = 97,
}

const CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8;
const CU_STREAM_NON_BLOCKING = 1;
const CU_STREAM_CAPTURE_MODE_RELAXED = 2;
const CUDA_ERROR_OUT_OF_MEMORY = 2;
const CUDA_ERROR_NOT_READY = 600;
/**
 * Errors after which the context is unusable (cuda.h: "the process must be terminated and relaunched", or at least
 * the context destroyed): ECC_UNCORRECTABLE, ILLEGAL_ADDRESS, LAUNCH_TIMEOUT, ASSERT, HARDWARE_STACK_ERROR,
 * ILLEGAL_INSTRUCTION, MISALIGNED_ADDRESS, INVALID_ADDRESS_SPACE, INVALID_PC, LAUNCH_FAILED.
 */
export const stickyCudaErrors: ReadonlySet<number> = new Set([214, 700, 702, 710, 714, 715, 716, 717, 718, 719]);

/** Prototypes, by the exported symbol (the _v2 names are what cuda.h maps the plain names to). */
const prototypes = {
  cuInit: 'int cuInit(unsigned int flags)',
  cuGetErrorName: 'int cuGetErrorName(int error, _Out_ const char **name)',
  cuDriverGetVersion: 'int cuDriverGetVersion(_Out_ int *version)',
  cuDeviceGetCount: 'int cuDeviceGetCount(_Out_ int *count)',
  cuDeviceGet: 'int cuDeviceGet(_Out_ int *device, int ordinal)',
  cuDeviceGetName: 'int cuDeviceGetName(_Out_ uint8_t *name, int len, int dev)',
  cuDeviceGetAttribute: 'int cuDeviceGetAttribute(_Out_ int *value, int attrib, int dev)',
  cuDeviceTotalMem_v2: 'int cuDeviceTotalMem_v2(_Out_ size_t *bytes, int dev)',
  cuDevicePrimaryCtxRetain: 'int cuDevicePrimaryCtxRetain(_Out_ void **ctx, int dev)',
  cuDevicePrimaryCtxRelease_v2: 'int cuDevicePrimaryCtxRelease_v2(int dev)',
  cuCtxSetCurrent: 'int cuCtxSetCurrent(void *ctx)',
  cuStreamCreate: 'int cuStreamCreate(_Out_ void **stream, unsigned int flags)',
  cuStreamDestroy_v2: 'int cuStreamDestroy_v2(void *stream)',
  cuStreamSynchronize: 'int cuStreamSynchronize(void *stream)',
  cuEventCreate: 'int cuEventCreate(_Out_ void **event, unsigned int flags)',
  cuEventDestroy_v2: 'int cuEventDestroy_v2(void *event)',
  cuEventRecord: 'int cuEventRecord(void *event, void *stream)',
  cuEventQuery: 'int cuEventQuery(void *event)',
  cuEventSynchronize: 'int cuEventSynchronize(void *event)',
  cuMemAlloc_v2: 'int cuMemAlloc_v2(_Out_ void **dptr, size_t bytes)',
  cuMemFree_v2: 'int cuMemFree_v2(void *dptr)',
  cuMemHostAlloc: 'int cuMemHostAlloc(_Out_ void **p, size_t bytes, unsigned int flags)',
  cuMemFreeHost: 'int cuMemFreeHost(void *p)',
  cuMemGetInfo_v2: 'int cuMemGetInfo_v2(_Out_ size_t *free, _Out_ size_t *total)',
  cuMemcpyHtoDAsync_v2: 'int cuMemcpyHtoDAsync_v2(void *dst, const void *src, size_t bytes, void *stream)',
  cuMemcpyDtoHAsync_v2: 'int cuMemcpyDtoHAsync_v2(void *dst, void *src, size_t bytes, void *stream)',
  cuMemcpyDtoDAsync_v2: 'int cuMemcpyDtoDAsync_v2(void *dst, void *src, size_t bytes, void *stream)',
  cuMemsetD32Async: 'int cuMemsetD32Async(void *dst, unsigned int value, size_t count, void *stream)',
  cuModuleLoadData: 'int cuModuleLoadData(_Out_ void **module, const void *image)',
  cuModuleUnload: 'int cuModuleUnload(void *module)',
  cuModuleGetFunction: 'int cuModuleGetFunction(_Out_ void **fn, void *module, const char *name)',
  cuFuncSetAttribute: 'int cuFuncSetAttribute(void *fn, int attrib, int value)',
  cuLaunchKernel: 'int cuLaunchKernel(void *fn, unsigned int gx, unsigned int gy, unsigned int gz, unsigned int bx, unsigned int by, unsigned int bz, unsigned int smem, void *stream, void *params, void *extra)',
  cuStreamBeginCapture_v2: 'int cuStreamBeginCapture_v2(void *stream, int mode)',
  cuStreamEndCapture: 'int cuStreamEndCapture(void *stream, _Out_ void **graph)',
  cuGraphInstantiateWithFlags: 'int cuGraphInstantiateWithFlags(_Out_ void **exec, void *graph, unsigned long long flags)',
  cuGraphLaunch: 'int cuGraphLaunch(void *exec, void *stream)',
  cuGraphExecDestroy: 'int cuGraphExecDestroy(void *exec)',
  cuGraphDestroy: 'int cuGraphDestroy(void *graph)',
} as const;

/** CUDA 12+ only (Hopper's tensor copies): bound when present, so older drivers still load. */
const encodeTiledProto = 'int cuTensorMapEncodeTiled(void *tensorMap, int dataType, unsigned int rank, void *globalAddress, '
  + 'const uint64_t *globalDim, const uint64_t *globalStrides, const uint32_t *boxDim, const uint32_t *elementStrides, '
  + 'int interleave, int swizzle, int l2Promotion, int oobFill)';

/** cuEventElapsedTime became _v2 in CUDA 12.8; older drivers only have the first name. */
const elapsedNames = ['cuEventElapsedTime_v2', 'cuEventElapsedTime'];

/** CUDA 12+ (programmatic dependent launch, pdl.ts): bound when present. */
const launchExProto = 'int cuLaunchKernelEx(void *config, void *f, void *params, void *extra)';

type Api = { [K in keyof typeof prototypes]: Fn } & { cuEventElapsedTime: Fn; cuTensorMapEncodeTiled?: Fn; cuLaunchKernelEx?: Fn };

function unavailable(msg: string): FlashMlaError {
  return new FlashMlaError('backend_unavailable', `cuda: ${msg}`);
}

/** One loaded libcuda: the bound functions and check(). */
export class Driver {
  private constructor(readonly koffi: Koffi, readonly api: Api) {}

  private static loaded?: Promise<Driver>;

  /**
   * Load libcuda.so.1 and cuInit, once per process (backends share it, and with it the record of which context
   * is current); throws backend_unavailable (quickly) where there is no driver or GPU.
   */
  static load(): Promise<Driver> {
    const p = (Driver.loaded ??= Driver.open());
    p.catch(() => { if (Driver.loaded === p) Driver.loaded = undefined; });
    return p;
  }

  private static async open(): Promise<Driver> {
    let koffi: Koffi;
    try {
      const mod = (await import('koffi')) as unknown as Koffi & { default?: Koffi };
      koffi = mod.default ?? mod;
    } catch (e) {
      throw unavailable(`koffi (the FFI package) cannot be loaded: ${(e as Error).message}`);
    }
    let lib: ReturnType<Koffi['load']>;
    try {
      lib = koffi.load(process.platform === 'win32' ? 'nvcuda.dll' : 'libcuda.so.1');
    } catch (e) {
      throw unavailable(`no NVIDIA driver here (libcuda.so.1 not found: ${(e as Error).message.split('\n')[0]})`);
    }
    const api: Record<string, Fn> = {};
    try {
      for (const [name, proto] of Object.entries(prototypes)) api[name] = lib.func(proto) as Fn;
    } catch (e) {
      throw unavailable(`libcuda.so.1 lacks a function this backend needs (driver too old?): ${(e as Error).message}`);
    }
    for (const n of elapsedNames) {
      try { api.cuEventElapsedTime = lib.func(`int ${n}(_Out_ float *ms, void *start, void *end)`) as Fn; break; } catch { /* older name next */ }
    }
    if (!api.cuEventElapsedTime) throw unavailable('libcuda.so.1 has no cuEventElapsedTime');
    try { api.cuTensorMapEncodeTiled = lib.func(encodeTiledProto) as Fn; } catch { /* pre-12 driver: no TMA kernels */ }
    try { api.cuLaunchKernelEx = lib.func(launchExProto) as Fn; } catch { /* pre-12 driver: no PDL */ }
    const d = new Driver(koffi, api as Api);
    const rc = d.api.cuInit(0);
    if (rc !== 0) throw unavailable(`cuInit failed: ${d.errorName(rc)} (no usable GPU?)`);
    return d;
  }

  errorName(rc: number): string {
    const out: (string | null)[] = [null];
    return this.api.cuGetErrorName(rc, out) === 0 && out[0] ? out[0] : `CUDA error ${rc}`;
  }

  /**
   * Throw a typed error for a failed call: driver_error (or out_of_memory), message naming the call and the error.
   * A sticky error (a kernel fault) becomes 'device_lost' and is kept for the current context: every later call of
   * a backend on that context fails fast with it (stickyError), until the context is released.
   */
  check(rc: number, what: string): void {
    if (rc === 0) return;
    const name = this.errorName(rc);
    if (stickyCudaErrors.has(rc)) {
      const e = this.sticky.get(this.current) ?? new FlashMlaError('device_lost',
        `cuda: ${what}: ${name}: the CUDA context is unusable after this fault; every later call fails with this error. `
        + 'CUDA cannot be used again in this process: recover in a new process (a worker process or a restart).', what, 'CUDA_SUCCESS', name);
      this.sticky.set(this.current, e);
      throw e;
    }
    throw new FlashMlaError(rc === CUDA_ERROR_OUT_OF_MEMORY ? 'out_of_memory' : 'driver_error', `cuda: ${what}: ${name}`, what, 'CUDA_SUCCESS', name);
  }

  /** The sticky fault recorded for a context, if any. */
  stickyError(ctx: bigint): FlashMlaError | undefined { return this.sticky.get(ctx); }
  private readonly sticky = new Map<bigint, FlashMlaError>();
  /** Retains of each primary context by this process's backends (a fault is forgotten when the last one goes). */
  private readonly retains = new Map<bigint, number>();

  // ---------------------------------------------------------------- devices and contexts
  driverVersion(): string {
    const v = this.driverVersionNumber();
    return `${Math.floor(v / 1000)}.${(v % 1000) / 10}`;
  }
  /** cuDriverGetVersion's number: 1000 * major + 10 * minor (e.g. 13000). */
  driverVersionNumber(): number {
    const v = [0];
    this.check(this.api.cuDriverGetVersion(v), 'cuDriverGetVersion');
    return v[0];
  }
  deviceCount(): number {
    const n = [0];
    this.check(this.api.cuDeviceGetCount(n), 'cuDeviceGetCount');
    return n[0];
  }
  device(ordinal: number): number {
    const d = [0];
    this.check(this.api.cuDeviceGet(d, ordinal), `cuDeviceGet(${ordinal})`);
    return d[0];
  }
  deviceName(dev: number): string {
    const buf = new Uint8Array(256);
    this.check(this.api.cuDeviceGetName(buf, buf.length, dev), 'cuDeviceGetName');
    const end = buf.indexOf(0);
    return new TextDecoder().decode(buf.subarray(0, end < 0 ? buf.length : end));
  }
  attribute(dev: number, attr: Attr): number {
    const v = [0];
    this.check(this.api.cuDeviceGetAttribute(v, attr, dev), `cuDeviceGetAttribute(${attr})`);
    return v[0];
  }
  totalMem(dev: number): number {
    const v = [0];
    this.check(this.api.cuDeviceTotalMem_v2(v, dev), 'cuDeviceTotalMem');
    return Number(v[0]);
  }
  memInfo(): { free: number; total: number } {
    const f = [0], t = [0];
    this.check(this.api.cuMemGetInfo_v2(f, t), 'cuMemGetInfo');
    return { free: Number(f[0]), total: Number(t[0]) };
  }
  /** The device's primary context (shared with any runtime-API user in the process), made current. */
  retainPrimaryContext(dev: number): bigint {
    const ctx: (bigint | null)[] = [null];
    // After a kernel fault (a sticky error) the driver refuses every context of this process, a fresh one too:
    // CUDA work can only go on in a new process (measured on the H200 host: a reset primary context still answers
    // CUDA_ERROR_ILLEGAL_ADDRESS). The error then names the fault, as for the backends that saw it.
    const rc = this.api.cuDevicePrimaryCtxRetain(ctx, dev);
    this.check(rc, 'cuDevicePrimaryCtxRetain');
    this.retains.set(ctx[0]!, (this.retains.get(ctx[0]!) ?? 0) + 1);
    this.current = 0n; // a context made again after a release may reuse the old handle: always make it current
    this.setCurrent(ctx[0]!);
    return ctx[0]!;
  }
  releasePrimaryContext(dev: number, ctx?: bigint): void {
    if (ctx !== undefined) {
      const n = (this.retains.get(ctx) ?? 1) - 1;
      if (n <= 0) { this.retains.delete(ctx); this.sticky.delete(ctx); } else this.retains.set(ctx, n);
    }
    this.current = 0n;
    const rc = this.api.cuDevicePrimaryCtxRelease_v2(dev);
    if (rc !== 0) throw new FlashMlaError('driver_error', `cuda: cuDevicePrimaryCtxRelease: ${this.errorName(rc)}`);
  }
  private current = 0n;
  /** Make `ctx` current on this thread (a no-op when it already is: several backends may share the thread). */
  setCurrent(ctx: bigint): void {
    if (ctx === this.current) return;
    this.check(this.api.cuCtxSetCurrent(ctx), 'cuCtxSetCurrent');
    this.current = ctx;
  }

  // ---------------------------------------------------------------- streams and events
  /** A stream that does not synchronise with the legacy default stream. */
  createStream(): bigint {
    const s: (bigint | null)[] = [null];
    this.check(this.api.cuStreamCreate(s, CU_STREAM_NON_BLOCKING), 'cuStreamCreate');
    return s[0]!;
  }
  destroyStream(s: bigint): void { this.check(this.api.cuStreamDestroy_v2(s), 'cuStreamDestroy'); }
  synchronize(s: bigint): void { this.check(this.api.cuStreamSynchronize(s), 'cuStreamSynchronize'); }
  createEvent(): bigint {
    const e: (bigint | null)[] = [null];
    this.check(this.api.cuEventCreate(e, 0), 'cuEventCreate');
    return e[0]!;
  }
  destroyEvent(e: bigint): void { this.check(this.api.cuEventDestroy_v2(e), 'cuEventDestroy'); }
  record(e: bigint, s: bigint): void { this.check(this.api.cuEventRecord(e, s), 'cuEventRecord'); }
  /** true when all work before the event is done. */
  eventDone(e: bigint): boolean {
    const rc = this.api.cuEventQuery(e);
    if (rc === CUDA_ERROR_NOT_READY) return false;
    this.check(rc, 'cuEventQuery');
    return true;
  }
  eventSynchronize(e: bigint): void { this.check(this.api.cuEventSynchronize(e), 'cuEventSynchronize'); }
  elapsedMs(start: bigint, end: bigint): number {
    const ms = [0];
    this.check(this.api.cuEventElapsedTime(ms, start, end), 'cuEventElapsedTime');
    return ms[0];
  }

  // ---------------------------------------------------------------- memory
  /** Device memory; a failure names the size asked and the free memory (FlashMlaError 'out_of_memory'). */
  alloc(bytes: number): bigint {
    const p: (bigint | null)[] = [null];
    const rc = this.api.cuMemAlloc_v2(p, Math.max(1, bytes));
    if (rc === CUDA_ERROR_OUT_OF_MEMORY) {
      let free = 'free memory unknown';
      try { const m = this.memInfo(); free = `${fmtBytes(m.free)} free of ${fmtBytes(m.total)}`; } catch { /* keep unknown */ }
      throw outOfMemory('cuda: cuMemAlloc', bytes, `${free} (CUDA_ERROR_OUT_OF_MEMORY)`);
    }
    this.check(rc, `cuMemAlloc(${bytes} bytes)`);
    return p[0]!;
  }
  free(ptr: bigint): void { this.check(this.api.cuMemFree_v2(ptr), 'cuMemFree'); }
  /** Page-locked host memory: the DMA engine reads it directly, so copies from it are truly asynchronous. */
  hostAlloc(bytes: number): { ptr: bigint; bytes: ArrayBuffer } {
    const p: (bigint | null)[] = [null];
    const rc = this.api.cuMemHostAlloc(p, bytes, 0);
    if (rc === CUDA_ERROR_OUT_OF_MEMORY) throw outOfMemory('cuda: cuMemHostAlloc (pinned host memory)', bytes, 'CUDA_ERROR_OUT_OF_MEMORY');
    this.check(rc, `cuMemHostAlloc(${bytes} bytes)`);
    return { ptr: p[0]!, bytes: this.koffi.view(p[0]!, bytes) };
  }
  hostFree(ptr: bigint): void { this.check(this.api.cuMemFreeHost(ptr), 'cuMemFreeHost'); }
  /** Host -> device on `stream`; a pageable source is staged by the driver before this returns. */
  copyHtoD(dst: bigint, src: ArrayBufferView | bigint, bytes: number, stream: bigint): void {
    this.check(this.api.cuMemcpyHtoDAsync_v2(dst, src, bytes, stream), 'cuMemcpyHtoDAsync');
  }
  copyDtoH(dst: ArrayBufferView, src: bigint, bytes: number, stream: bigint): void {
    this.check(this.api.cuMemcpyDtoHAsync_v2(dst, src, bytes, stream), 'cuMemcpyDtoHAsync');
  }
  copyDtoD(dst: bigint, src: bigint, bytes: number, stream: bigint): void {
    this.check(this.api.cuMemcpyDtoDAsync_v2(dst, src, bytes, stream), 'cuMemcpyDtoDAsync');
  }
  /** Fill `words` 32-bit words at `dst` with `value` on `stream`. */
  memsetD32(dst: bigint, value: number, words: number, stream: bigint): void {
    this.check(this.api.cuMemsetD32Async(dst, value >>> 0, words, stream), 'cuMemsetD32Async');
  }

  // ---------------------------------------------------------------- modules and launches
  loadModule(image: Uint8Array, what: string): bigint {
    const m: (bigint | null)[] = [null];
    this.check(this.api.cuModuleLoadData(m, image), `cuModuleLoadData(${what})`);
    return m[0]!;
  }
  unloadModule(m: bigint): void { this.check(this.api.cuModuleUnload(m), 'cuModuleUnload'); }
  getFunction(m: bigint, name: string): bigint {
    const f: (bigint | null)[] = [null];
    this.check(this.api.cuModuleGetFunction(f, m, name), `cuModuleGetFunction(${name})`);
    return f[0]!;
  }
  setMaxDynamicSmem(f: bigint, bytes: number, name: string): void {
    this.check(this.api.cuFuncSetAttribute(f, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes), `cuFuncSetAttribute(${name}, ${bytes} B)`);
  }
  /** `params` points to an array of pointers, one per kernel parameter (ours: one, to the packed struct). */
  launch(f: bigint, grid: readonly number[], block: readonly number[], smem: number, stream: bigint, params: bigint, what: string): void {
    const rc = this.api.cuLaunchKernel(f, grid[0], grid[1], grid[2], block[0], block[1], block[2], smem, stream, params, null);
    if (rc !== 0) this.check(rc, `cuLaunchKernel(${what})`);
  }

  /**
   * Encode a tensor map into the 128 bytes at `map` (64-byte aligned native memory); undefined where the driver
   * has no cuTensorMapEncodeTiled. `args` come from tensor-map.ts's tiledMapArgs, which already checked them.
   */
  get encodeTiled(): ((map: bigint, args: TiledTensorMapArgs) => void) | undefined {
    const f = this.api.cuTensorMapEncodeTiled;
    if (!f) return undefined;
    return (map, a) => this.check(f(map, a.dataType, a.rank, a.base, a.globalDim, a.globalStrides, a.boxDim, a.elementStrides,
      a.interleave, a.swizzle, a.l2Promotion, a.oobFill), `cuTensorMapEncodeTiled(rank ${a.rank}, box ${Array.from(a.boxDim).join('x')})`);
  }

  // ---------------------------------------------------------------- graphs
  beginCapture(s: bigint): void { this.check(this.api.cuStreamBeginCapture_v2(s, CU_STREAM_CAPTURE_MODE_RELAXED), 'cuStreamBeginCapture'); }
  endCapture(s: bigint): bigint {
    const g: (bigint | null)[] = [null];
    this.check(this.api.cuStreamEndCapture(s, g), 'cuStreamEndCapture');
    return g[0]!;
  }
  instantiate(graph: bigint): bigint {
    const e: (bigint | null)[] = [null];
    this.check(this.api.cuGraphInstantiateWithFlags(e, graph, 0), 'cuGraphInstantiate');
    return e[0]!;
  }
  graphLaunch(exec: bigint, s: bigint): void { this.check(this.api.cuGraphLaunch(exec, s), 'cuGraphLaunch'); }
  destroyGraphExec(exec: bigint): void { this.check(this.api.cuGraphExecDestroy(exec), 'cuGraphExecDestroy'); }
  destroyGraph(graph: bigint): void { this.check(this.api.cuGraphDestroy(graph), 'cuGraphDestroy'); }

  /**
   * Native memory that does not move for a kernel's arguments: the packed params struct, then `maps` tensor maps
   * (tensor-map.ts); `argv` is the pointer array cuLaunchKernel takes. Free `ptr` and `argv` with koffi.free.
   */
  pinnedParams(bytes: number, maps = 0): KernelArgs {
    return kernelArgs(this, bytes, maps);
  }
}
