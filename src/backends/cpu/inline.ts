// The CPU backend on the calling thread: browser-safe, used by default for host tensors. The Node backend in
// ./index.ts runs the same kernel on worker threads.
import { type DType, type HostArray, hostArrayFor } from '../../core/dtype.js';
import { FlashMlaError } from '../../core/errors.js';
import type { Backend, BackendInfo, DecodeCall, MatmulCall, TimeOptions } from '../../core/problem.js';
import { gemm } from '../../core/mla/gemm.js';
import { checkMatmul, checkWrite } from '../../core/validate.js';
import { Tensor, numelOf } from '../../core/tensor.js';
import type { DecodePlan } from '../../core/plan.js';
import { type CpuKernel, combineUnitOf, denseFp8KernelName, denseUnitOf, scalarKernel, sparseKernelName, sparseUnitOf } from './item.js';
import { type CpuDecodeArgs, CpuScratch, hostView, reserveAccum, runDecode } from './kernel.js';
import { cpuDenseFp8Args } from './dense-fp8.js';
import type { DenseFp8Call } from '../../core/dense-fp8.js';
import type { SparseCall } from '../../core/sparse.js';
import { CpuSparseScratch, cpuSparseArgs, runSparseCombineUnit } from './sparse.js';

/**
 * Host views of a launch plus grow-only accumulators (`alloc` makes them: plain or shared memory; it throws
 * FlashMlaError('out_of_memory') for a size the host cannot give, and the old accumulators stay).
 */
export function cpuArgs(
  l: DecodeCall,
  accum: { o: Float32Array; lse: Float32Array },
  alloc: (dtype: 'f32', n: number, what: string) => HostArray = hostArrayFor,
): CpuDecodeArgs {
  const host = l.host;
  reserveAccum(l.plan, accum, alloc);
  return {
    p: l.problem,
    q: hostView('q', l.q) as Uint16Array,
    kCache: hostView('kCache', l.kCache) as Uint16Array,
    blockTable: hostView('blockTable', l.blockTable) as Int32Array,
    seqlens: host?.cacheSeqlens ?? (hostView('cacheSeqlens', l.cacheSeqlens) as Int32Array),
    qIndptr: host?.qIndptr ?? (hostView('qIndptr', l.qIndptr) as Int32Array | undefined),
    meta: host?.tileSchedulerMetadata ?? (hostView('tileSchedulerMetadata', l.tileSchedulerMetadata) as Int32Array),
    numSplits: host?.numSplits ?? (hostView('numSplits', l.numSplits) as Int32Array),
    out: hostView('out', l.out) as Uint16Array,
    lse: hostView('lse', l.lse) as Float32Array,
    oAccum: accum.o,
    lseAccum: accum.lse,
  };
}

/** Wall-clock timing shared by the CPU backends (no device clock to read). */
export async function wallClockTimes(run: (rep: number) => void | Promise<void>, opts: { warmup: number; reps: number }): Promise<number[]> {
  for (let i = 0; i < opts.warmup; i++) await run(i);
  const times: number[] = [];
  for (let i = 0; i < opts.reps; i++) {
    const t0 = performance.now();
    await run(i);
    times.push(performance.now() - t0);
  }
  return times;
}

export class InlineCpuBackend implements Backend {
  readonly kind = 'cpu' as const;
  readonly info: BackendInfo;
  /** `kernel`: the rung to run (default the scalar JavaScript kernel; Node code can pass a loaded native one). */
  constructor(private readonly kernel: CpuKernel = scalarKernel) {
    this.info = {
      kind: 'cpu', device: `CPU (calling thread, ${kernel.name} kernel)`, numSms: 8,
      details: { kernel: kernel.name, sparseKernel: sparseKernelName(kernel), denseFp8Kernel: denseFp8KernelName(kernel) },
    };
  }
  private readonly scratch = new CpuScratch();
  private readonly accum: { o: Float32Array; lse: Float32Array } = { o: new Float32Array(0), lse: new Float32Array(0) };
  private disposed = false;

  // Calls run to completion on the calling thread, so overlapping calls cannot share the scratch mid-call.
  empty(dtype: DType, shape: readonly number[]): Tensor {
    this.live();
    return new Tensor(dtype, shape, hostArrayFor(dtype, numelOf(shape), `CPU empty(${dtype}, [${shape.join(', ')}])`));
  }
  upload(t: Tensor<HostArray>): Tensor { this.live(); return t; }
  write(dst: Tensor, src: Tensor<HostArray>, dstOffset = 0): void {
    this.live();
    writeHost(dst, src, dstOffset);
  }
  async download(t: Tensor): Promise<Tensor<HostArray>> { this.live(); return t as Tensor<HostArray>; }
  decode(l: DecodeCall): void { this.live(); runDecode(cpuArgs(l, this.accum), this.scratch, this.kernel.runDecodeUnit, combineUnitOf(this.kernel)); }
  reserve(plan: DecodePlan): void { this.live(); reserveAccum(plan, this.accum); }
  decodeKernel(): string { return `cpu-${String(this.info.details?.kernel)}`; }
  matmul(l: MatmulCall): void {
    this.live();
    checkMatmul(l, 'cpu');
    gemm({ ...l, x: l.x.host() as Float32Array, w: l.w.host() as Float32Array, y: l.y.host() as Float32Array });
  }
  /** Dense decode over an FP8 cache, read by block table (./dense-fp8.ts); always taken (host tensors). */
  decodeDenseFp8(l: DenseFp8Call): boolean {
    this.live();
    const { args } = cpuDenseFp8Args(l, this.accum, hostArrayFor);
    runDecode(args, this.scratch, denseUnitOf(this.kernel, args.p), combineUnitOf(this.kernel));
    return true;
  }
  denseFp8Kernel(): string { return denseFp8KernelName(this.kernel); }
  private sparseScratch?: CpuSparseScratch;
  decodeSparse(l: SparseCall): void {
    this.live();
    const a = cpuSparseArgs(l, this.accum), unit = sparseUnitOf(this.kernel, a), scratch = (this.sparseScratch ??= new CpuSparseScratch());
    for (let u = 0; u < a.p.numSmParts; u++) unit(a, u, scratch);
    for (let i = 0; i < a.p.b; i++) runSparseCombineUnit(a, i);
  }
  async synchronize(): Promise<void> { this.live(); }
  timeMs(run: (rep: number) => void | Promise<void>, opts: TimeOptions): Promise<number[]> {
    this.live();
    return wallClockTimes(run, opts);
  }
  /** Host memory is the garbage collector's; free() is a no-op (also after dispose(), so clean-up order is free). */
  free(): void {}
  dispose(): void {
    this.disposed = true;
    this.accum.o = this.accum.lse = new Float32Array(0);
  }
  private live(): void {
    if (this.disposed) throw new FlashMlaError('disposed', 'CPU backend (calling thread) used after dispose()');
  }
}

export function writeHost(dst: Tensor, src: Tensor<HostArray>, dstOffset: number): void {
  checkWrite(dst, src, dstOffset);
  (dst.host() as HostArray).set(src.host() as never, dstOffset);
}
