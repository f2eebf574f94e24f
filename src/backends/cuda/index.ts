// The CUDA backend: libcuda through koffi (./driver.ts), kernels from the fatbins scripts/build-kernels.mjs puts
// in dist/cuda. Node only (flashmla-ts/cuda). createCudaBackend() throws FlashMlaError('backend_unavailable')
// when there is no driver, no GPU or no built kernel, so backend discovery falls back to the next kind.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type DType, type HostArray, dtypeBytes, hostArrayFor } from '../../core/dtype.js';
import { FlashMlaError, invalidArgument } from '../../core/errors.js';
import type { Backend, BackendInfo, DecodeLaunch, MlaProblem } from '../../core/problem.js';
import { type DeviceStorage, Tensor } from '../../core/tensor.js';
import { Attr, Driver } from './driver.js';
import {
  type DecodeVariant, type Launch, accumElems, chooseDecodeVariant, combineLaunch, combineRows, decodeVariants, sameVariant, decodeKernelName, decodeLaunch, naiveLaunch,
} from './kernels/launch.js';
import { compilePacker, mlaParamsLayout } from './params.js';

export { Driver } from './driver.js';
export * from './kernels/launch.js';
export * from './params.js';

export interface CudaBackendOptions {
  /** Device ordinal (default 0). */
  device?: number;
  /** Folder with the built fatbins and manifest.json (default: dist/cuda of this package). */
  kernelDir?: string;
  /**
   * 'splitkv' (default): the tensor-core split-KV kernel + combine, following the scheduler's metadata.
   * 'naive': the f32 reference kernel (one CTA per query row, metadata unused): for cross-checks only.
   */
  kernel?: 'splitkv' | 'naive';
  /** Force a decode variant (tests and tuning); default: chosen per problem by kernels/launch.ts. */
  variant?: DecodeVariant;
}

/** A captured sequence of launches (e.g. every layer of one decode step), replayed with one cuGraphLaunch. */
export interface CudaGraph {
  /** Queue one replay on the backend's stream. */
  launch(): void;
  dispose(): void;
}

export interface CudaBackend extends Backend {
  readonly kind: 'cuda';
  /** The stream every operation of this backend is queued on (a CUstream). */
  readonly stream: bigint;
  /**
   * Capture the launches `fn` queues (decodes whose index tensors are on the device, e.g. MlaDecoder.run per
   * layer) into a graph. `fn` runs once uncaptured first (unless warmup is false) so workspaces have grown.
   */
  captureGraph(fn: () => void | Promise<void>, opts?: { warmup?: boolean }): Promise<CudaGraph>;
  /** Force a decode variant from now on (tuning, tests); undefined restores the per-problem choice. */
  setDecodeVariant(v: DecodeVariant | undefined): void;
  [Symbol.dispose](): void;
}

const here = dirname(fileURLToPath(import.meta.url));

/** dist/cuda next to the compiled module (dist/backends/cuda/index.js), or <package root>/dist/cuda from src/ or elsewhere. */
export function findKernelDir(explicit?: string): string | undefined {
  const tried = [explicit, process.env.FLASHMLA_CUDA_KERNELS].filter((d): d is string => !!d);
  for (let d = here, i = 0; i < 8; i++, d = dirname(d)) tried.push(join(d, 'cuda'), join(d, 'dist', 'cuda'));
  return tried.find((d) => existsSync(join(d, 'manifest.json')));
}

interface Manifest { nvcc: string; files: Record<string, string> }

function loadImage(dir: string, manifest: Manifest, file: string): Uint8Array {
  const path = join(dir, file);
  if (!existsSync(path)) throw new FlashMlaError('backend_unavailable', `cuda: ${path} is missing; rebuild the kernels (npm run build with nvcc)`);
  const bytes = readFileSync(path);
  const sum = createHash('sha256').update(bytes).digest('hex');
  if (manifest.files[file] !== sum) {
    throw new FlashMlaError('backend_unavailable', `cuda: ${path} does not match the checksum in manifest.json (stale or damaged build); rebuild the kernels`);
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export async function createCudaBackend(opts: CudaBackendOptions = {}): Promise<CudaBackend> {
  const drv = await Driver.load();
  const count = drv.deviceCount();
  if (count < 1) throw new FlashMlaError('backend_unavailable', 'cuda: the driver sees no GPU');
  const ordinal = opts.device ?? 0;
  if (!Number.isInteger(ordinal) || ordinal < 0 || ordinal >= count) throw invalidArgument('device', `an ordinal in 0..${count - 1}`, String(ordinal));
  const kernelDir = findKernelDir(opts.kernelDir);
  if (!kernelDir) {
    throw new FlashMlaError('backend_unavailable', 'cuda: no built kernels (dist/cuda/manifest.json not found); run `npm run build` where nvcc is installed');
  }
  return new CudaBackendImpl(drv, ordinal, kernelDir, opts);
}

/** Host index data staged for one decode: a ring of pinned slots, each reusable once its copy has run. */
interface StageSlot { ptr: bigint; bytes: number; i32: Int32Array; done: bigint; used: boolean }
const stageSlots = 64; // enough that issuing never waits for the GPU to finish reading an old slot

class CudaBackendImpl implements CudaBackend {
  readonly kind = 'cuda' as const;
  readonly info: BackendInfo;
  readonly stream: bigint;
  private readonly dev: number;
  private readonly ctx: bigint;
  private readonly maxSmem: number;
  private readonly modules: bigint[] = [];
  private readonly fns = new Map<string, bigint>();
  private readonly live = new Set<bigint>();
  private readonly params: { ptr: bigint; view: DataView; argv: bigint };
  private readonly pack = compilePacker(mlaParamsLayout);
  private readonly pv: Record<string, bigint | number> = {};
  private readonly variantCache = new Map<string, DecodeVariant>();
  private readonly decodeModule: bigint;
  private readonly combineModule: bigint;
  private readonly naiveModule: bigint;
  private readonly events: bigint[] = [];
  /** Device workspace: index copies, then lseAccum, then oAccum (grow-only). */
  private ws = { ptr: 0n, bytes: 0 };
  private stage: StageSlot[] = [];
  private stageNext = 0;
  private capturing = false;
  private forcedVariant?: DecodeVariant;
  private disposed = false;

  constructor(private readonly drv: Driver, ordinal: number, kernelDir: string, private readonly opts: CudaBackendOptions) {
    this.dev = drv.device(ordinal);
    this.ctx = drv.retainPrimaryContext(this.dev);
    this.stream = drv.createStream();
    const name = drv.deviceName(this.dev);
    const cc = `${drv.attribute(this.dev, Attr.ComputeCapabilityMajor)}.${drv.attribute(this.dev, Attr.ComputeCapabilityMinor)}`;
    const numSms = drv.attribute(this.dev, Attr.MultiprocessorCount);
    this.maxSmem = drv.attribute(this.dev, Attr.MaxSharedMemoryPerBlockOptin);
    const manifest = JSON.parse(readFileSync(join(kernelDir, 'manifest.json'), 'utf8')) as Manifest;
    const load = (file: string) => {
      try {
        const m = drv.loadModule(loadImage(kernelDir, manifest, file), file);
        this.modules.push(m);
        return m;
      } catch (e) {
        if (e instanceof FlashMlaError && e.code === 'driver_error') {
          throw new FlashMlaError('backend_unavailable', `cuda: ${file} has no code for this GPU (compute capability ${cc}): ${e.message}`);
        }
        throw e;
      }
    };
    this.decodeModule = load('decode.fatbin');
    this.combineModule = load('combine.fatbin');
    this.naiveModule = load('naive.fatbin');
    this.params = drv.pinnedParams(mlaParamsLayout.size);
    if (opts.variant) this.setDecodeVariant(opts.variant);
    this.info = {
      kind: 'cuda',
      device: name,
      numSms,
      details: {
        name, cc, memoryBytes: drv.totalMem(this.dev), driverVersion: drv.driverVersion(), numSms,
        l2Bytes: drv.attribute(this.dev, Attr.L2CacheSize), maxSharedMemoryPerBlock: this.maxSmem,
        kernels: { dir: kernelDir, nvcc: manifest.nvcc },
      },
    };
  }

  // ---------------------------------------------------------------- tensors
  empty(dtype: DType, shape: readonly number[]): Tensor {
    this.alive();
    const n = shape.reduce((a, b) => a * b, 1);
    const byteLength = n * dtypeBytes[dtype];
    const ptr = this.drv.alloc(byteLength);
    this.live.add(ptr);
    const storage: DeviceStorage = { device: 'cuda', byteLength, ptr, owner: this };
    return new Tensor(dtype, shape, storage);
  }

  upload(t: Tensor<HostArray>): Tensor {
    const d = this.empty(t.dtype, t.shape);
    this.write(d, t);
    return d;
  }

  write(dst: Tensor, src: Tensor<HostArray>, dstOffset = 0): void {
    this.alive();
    if (dst.dtype !== src.dtype) throw invalidArgument('src', `dtype ${dst.dtype}`, src.dtype);
    if (!Number.isInteger(dstOffset) || dstOffset < 0 || dstOffset + src.numel > dst.numel) {
      throw invalidArgument('dstOffset', `0..${dst.numel - src.numel}`, String(dstOffset));
    }
    if (src.numel === 0) return;
    const eb = dtypeBytes[dst.dtype];
    this.drv.copyHtoD(this.ptrOf(dst) + BigInt(dstOffset * eb), src.host(), src.numel * eb, this.stream);
  }

  async download(t: Tensor): Promise<Tensor<HostArray>> {
    this.alive();
    const host = hostArrayFor(t.dtype, t.numel);
    if (t.numel > 0) this.drv.copyDtoH(host, this.ptrOf(t), t.byteLength, this.stream);
    this.drv.synchronize(this.stream);
    return new Tensor(t.dtype, t.shape, host);
  }

  free(t: Tensor): void {
    const s = t.data as DeviceStorage;
    if (s.owner !== this || s.ptr === undefined) throw invalidArgument('tensor', 'a tensor allocated by this CUDA backend', 'another tensor');
    if (!this.live.delete(s.ptr)) return; // already freed (or a view of a freed allocation)
    this.drv.free(s.ptr);
  }

  private ptrOf(t: Tensor): bigint {
    const s = t.data as DeviceStorage;
    if (s.ptr === undefined || s.owner !== this) throw invalidArgument('tensor', 'a tensor on this CUDA backend', `a ${t.device} tensor`);
    return t.offset === 0 ? s.ptr : s.ptr + BigInt(t.byteOffset);
  }

  // ---------------------------------------------------------------- decode
  decode(l: DecodeLaunch): void {
    this.alive();
    const p = l.problem;
    const v = this.pv;
    v.q = this.ptrOf(l.q);
    v.kCache = this.ptrOf(l.kCache);
    v.out = this.ptrOf(l.out);
    v.lse = this.ptrOf(l.lse);
    if (((v.q as bigint) | (v.kCache as bigint) | (v.out as bigint)) & 15n) {
      throw invalidArgument('q/kCache/out', 'device addresses aligned to 16 bytes (the kernels copy 16-byte vectors)', 'an unaligned view');
    }
    const acc = accumElems(p);
    const lseBytes = Math.ceil(acc.lse / 64) * 256; // oAccum is read as float4 / written as float2: keep it 256-byte aligned
    const indexBytes = this.placeIndices(l, lseBytes + acc.o * 4);
    v.lseAccum = this.ws.ptr + BigInt(indexBytes);
    v.oAccum = this.ws.ptr + BigInt(indexBytes + lseBytes);
    v.b = p.b; v.sQ = p.sQ; v.hQ = p.hQ; v.hKv = p.hKv; v.nGroups = p.nGroups; v.rows = p.sQ * p.nGroups;
    v.pageBlockSize = p.pageBlockSize; v.maxBlocksPerSeq = p.maxBlocksPerSeq; v.numSmParts = p.numSmParts;
    v.causal = p.causal ? 1 : 0; v.lseStrideB = p.lseStrideB; v.lseStrideH = p.lseStrideH; v.lseStrideT = p.lseStrideT;
    v.scaleLog2 = p.softmaxScale * Math.LOG2E;
    v.combineRows = combineRows(p, this.info.numSms);
    this.pack(this.params.view, v);

    const dt = p.dtype;
    if (this.opts.kernel === 'naive') {
      this.run(this.fn(this.naiveModule, `mla_naive_${dt}`, 0), naiveLaunch(p), 'naive');
      return;
    }
    const variant = this.variantFor(p);
    const dl = decodeLaunch(p, variant);
    this.run(this.fn(this.decodeModule, decodeKernelName(dt, variant), dl.smem), dl, 'decode');
    // Every request in one piece (numSplits[b] == b): the decode kernel wrote everything, no combine needed.
    const ns = l.host?.numSplits;
    if (!ns || ns[p.b] !== p.b) this.run(this.fn(this.combineModule, `mla_combine_${dt}`, 0), combineLaunch(p, v.combineRows as number), 'combine');
  }

  setDecodeVariant(v: DecodeVariant | undefined): void {
    if (v && !decodeVariants.some((x) => sameVariant(x, v))) {
      throw invalidArgument('variant', 'one of decodeVariants', JSON.stringify(v));
    }
    this.forcedVariant = v;
  }

  private run(f: bigint, ln: Launch, what: string): void {
    if (ln.grid[0] === 0 || ln.grid[1] === 0 || ln.grid[2] === 0) return;
    this.drv.launch(f, ln.grid, ln.block, ln.smem, this.stream, this.params.argv, what);
  }

  private variantFor(p: MlaProblem): DecodeVariant {
    if (this.forcedVariant) return this.forcedVariant;
    const rows = p.sQ * p.nGroups;
    const key = String(rows);
    let v = this.variantCache.get(key);
    if (!v) {
      v = chooseDecodeVariant(rows, this.maxSmem);
      if (!v) throw new FlashMlaError('backend_unavailable', `cuda: no decode variant fits ${this.maxSmem} bytes of shared memory a block`);
      this.variantCache.set(key, v);
    }
    return v;
  }

  private fn(module: bigint, name: string, smem: number): bigint {
    let f = this.fns.get(name);
    if (f === undefined) {
      f = this.drv.getFunction(module, name);
      if (smem > 48 * 1024) this.drv.setMaxDynamicSmem(f, smem, name);
      this.fns.set(name, f);
    }
    return f;
  }

  /**
   * Point the parameter block at the index tensors: device tensors as they are; host ones packed into one pinned
   * slot and copied, in one transfer, to the front of the workspace. Grows the workspace to hold them plus
   * `accumBytes` (the only allocation, and only until the largest problem has been seen). Returns the bytes
   * the indices take at the front.
   */
  private placeIndices(l: DecodeLaunch, accumBytes: number): number {
    const v = this.pv;
    const items: [string, Tensor | undefined][] = [
      ['blockTable', l.blockTable], ['cacheSeqlens', l.cacheSeqlens], ['qIndptr', l.qIndptr],
      ['tileSchedulerMetadata', l.tileSchedulerMetadata], ['numSplits', l.numSplits],
    ];
    let words = 0;
    for (const [, t] of items) if (t && t.device === 'cpu') words += (t.numel + 3) & ~3; // 16-byte aligned pieces
    words = (words + 63) & ~63; // the accumulators after them stay 256-byte aligned
    const indexBytes = words * 4;
    this.ensureWorkspace(indexBytes + accumBytes);
    if (words > 0 && this.capturing) {
      throw invalidArgument('index tensors', 'device tensors while capturing a graph (MlaDecoder.plan uploads them)', 'host tensors');
    }
    const slot = words > 0 ? this.stageSlot(indexBytes) : undefined;
    let at = 0;
    for (const [name, t] of items) {
      if (!t) { v[name] = 0n; continue; }
      if (t.device !== 'cpu') { v[name] = this.ptrOf(t); continue; }
      slot!.i32.set(t.host() as Int32Array, at);
      v[name] = this.ws.ptr + BigInt(at * 4);
      at += (t.numel + 3) & ~3;
    }
    if (slot) {
      this.drv.copyHtoD(this.ws.ptr, slot.ptr, indexBytes, this.stream);
      this.drv.record(slot.done, this.stream);
      slot.used = true;
    }
    return indexBytes;
  }

  private ensureWorkspace(bytes: number): void {
    if (bytes <= this.ws.bytes) return;
    const grown = Math.max(bytes, Math.ceil(this.ws.bytes * 1.25)), old = this.ws.ptr;
    if (old) {
      this.drv.synchronize(this.stream); // queued kernels may still read the old one
      this.drv.free(old);
    }
    this.ws = { ptr: this.drv.alloc(grown), bytes: grown };
  }

  private stageSlot(bytes: number): StageSlot {
    let s = this.stage[this.stageNext];
    if (!s || s.bytes < bytes) {
      this.drv.synchronize(this.stream); // no copy may still read the slots we replace
      for (const old of this.stage) { this.drv.hostFree(old.ptr); this.drv.destroyEvent(old.done); }
      const size = Math.max(bytes, 4096) * 2;
      this.stage = Array.from({ length: stageSlots }, () => {
        const h = this.drv.hostAlloc(size);
        return { ptr: h.ptr, bytes: size, i32: new Int32Array(h.bytes), done: this.drv.createEvent(), used: false };
      });
      this.stageNext = 0;
      s = this.stage[0];
    }
    this.stageNext = (this.stageNext + 1) % stageSlots;
    if (s.used && !this.drv.eventDone(s.done)) this.drv.eventSynchronize(s.done);
    return s;
  }

  // ---------------------------------------------------------------- timing, graphs, lifetime
  async synchronize(): Promise<void> {
    this.alive();
    this.drv.synchronize(this.stream);
  }

  async timeMs(run: (rep: number) => void | Promise<void>, opts: { warmup: number; reps: number }): Promise<number[]> {
    this.alive();
    for (let i = 0; i < opts.warmup; i++) await run(i);
    while (this.events.length < 2 * opts.reps) this.events.push(this.drv.createEvent());
    for (let r = 0; r < opts.reps; r++) {
      this.drv.record(this.events[2 * r], this.stream);
      await run(r);
      this.drv.record(this.events[2 * r + 1], this.stream);
    }
    this.drv.eventSynchronize(this.events[2 * opts.reps - 1]);
    const times: number[] = [];
    for (let r = 0; r < opts.reps; r++) times.push(this.drv.elapsedMs(this.events[2 * r], this.events[2 * r + 1]));
    return times;
  }

  async captureGraph(fn: () => void | Promise<void>, opts: { warmup?: boolean } = {}): Promise<CudaGraph> {
    this.alive();
    if (opts.warmup ?? true) await fn();
    this.drv.synchronize(this.stream);
    this.drv.beginCapture(this.stream);
    this.capturing = true;
    try {
      await fn();
    } catch (e) {
      this.capturing = false;
      try { this.drv.destroyGraph(this.drv.endCapture(this.stream)); } catch { /* the capture may already be invalid */ }
      throw e;
    }
    this.capturing = false;
    const graph = this.drv.endCapture(this.stream);
    let exec: bigint;
    try {
      exec = this.drv.instantiate(graph);
    } catch (e) {
      this.drv.destroyGraph(graph);
      throw e;
    }
    const drv = this.drv, stream = this.stream;
    let gone = false;
    return {
      launch: () => {
        if (gone) throw new FlashMlaError('disposed', 'cuda graph: used after dispose()');
        drv.graphLaunch(exec, stream);
      },
      dispose: () => {
        if (gone) return;
        gone = true;
        drv.destroyGraphExec(exec);
        drv.destroyGraph(graph);
      },
    };
  }

  dispose(): void {
    if (this.disposed) return;
    try { this.drv.synchronize(this.stream); } catch { /* a failed kernel must not stop the clean-up */ }
    this.disposed = true;
    for (const p of this.live) this.drv.free(p);
    this.live.clear();
    if (this.ws.ptr) this.drv.free(this.ws.ptr);
    for (const s of this.stage) { this.drv.hostFree(s.ptr); this.drv.destroyEvent(s.done); }
    for (const e of this.events) this.drv.destroyEvent(e);
    for (const m of this.modules) this.drv.unloadModule(m);
    this.drv.koffi.free(this.params.ptr);
    this.drv.koffi.free(this.params.argv);
    this.drv.destroyStream(this.stream);
    this.drv.releasePrimaryContext(this.dev);
  }

  [Symbol.dispose](): void { this.dispose(); }

  private alive(): void {
    if (this.disposed) throw new FlashMlaError('disposed', 'cuda backend: used after dispose()');
    this.drv.setCurrent(this.ctx);
  }
}
