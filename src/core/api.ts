// The public API, mirroring FlashMLA in camelCase: getMlaMetadata + flashMlaWithKvcache, and MlaDecoder, which
// plans once per decode step and runs every layer with no allocation and no re-validation of values.
import { flashMlaWithFp8Kvcache } from './dense-fp8.js';
import type { HalfDType } from './dtype.js';
import { FlashMlaError, invalidArgument } from './errors.js';
import type { Backend, DecodeCall, MlaProblem } from './problem.js';
import { dQk, dV, defaultNumSms, metadataFields } from './constants.js';
import { type DecodePlan, planDecode, planFits } from './plan.js';
import { type ScheduleKind, cutsUnderFloor, numSmPartsFor, planSchedule } from './scheduler.js';
import { type DeviceStorage, Tensor, fromArray, isHostTensor } from './tensor.js';
import { type DecodeInputs, checkOutputs, checkPositiveInt, checkSchedule, checkSeqlens, hostI32, validateDecode } from './validate.js';

export { defaultNumSms } from './constants.js';

export interface MlaMetadata {
  /** [numSmParts, 8] i32 on the host. */
  tileSchedulerMetadata: Tensor<Int32Array>;
  /** [b + 1] i32 on the host. */
  numSplits: Tensor<Int32Array>;
}

export interface MetadataOptions {
  /** Processors to plan for (FlashMLA: the device's SM count). Default: backend.info.numSms, else 132. */
  numSms?: number;
  backend?: Backend;
  /**
   * Which plan (core/scheduler.ts): 'flashmla' (the default: FlashMLA's get_mla_metadata, whatever the backend),
   * 'fill' (session 19: the payload floor lowered to one overhead and one block, what a WebGPU backend created with
   * `schedule: 'fill'` plans for itself in MlaDecoder; the same plan as FlashMLA's wherever the total work gives every
   * part 5 blocks or more) or 'auto' (session 23: 'fill' where it was measured faster on the H200,
   * FlashMLA's elsewhere, core/scheduler.ts autoSchedule, by the backend's rule (BackendInfo.autoRule; CUDA's where
   * none is given); what the CUDA backend plans for itself on sm_90).
   */
  schedule?: ScheduleKind;
}

/**
 * Plan the split-KV schedule for one decode step. `numHeadsPerHeadK` is sQ * hQ / hKv, `numHeadsK` is hKv.
 * With the same numSms the result equals FlashMLA's get_mla_metadata (fields 0..4; fields 5..7 are 0).
 */
export function getMlaMetadata(
  cacheSeqlens: Tensor | Int32Array,
  numHeadsPerHeadK: number,
  numHeadsK: number,
  opts: MetadataOptions = {},
): MlaMetadata {
  if (!(cacheSeqlens instanceof Int32Array) && !(cacheSeqlens instanceof Tensor)) {
    throw invalidArgument('cacheSeqlens', 'an Int32Array or an i32 tensor [b]', Object.prototype.toString.call(cacheSeqlens));
  }
  if (cacheSeqlens instanceof Tensor && cacheSeqlens.dtype !== 'i32') throw invalidArgument('cacheSeqlens', 'dtype i32', cacheSeqlens.dtype);
  const seqlens = hostI32(cacheSeqlens);
  if (!seqlens) throw invalidArgument('cacheSeqlens', 'a host Int32Array or host i32 tensor', `a ${(cacheSeqlens as Tensor).device} tensor`);
  if (!(cacheSeqlens instanceof Int32Array) && cacheSeqlens.shape.length !== 1) {
    throw invalidArgument('cacheSeqlens', 'rank 1 [b]', `rank ${cacheSeqlens.shape.length}`);
  }
  if (seqlens.length < 1) throw invalidArgument('cacheSeqlens', 'at least one sequence', '0');
  checkSeqlens('cacheSeqlens', seqlens);
  checkPositiveInt('numHeadsPerHeadK', numHeadsPerHeadK);
  checkPositiveInt('numHeadsK', numHeadsK);
  const numSms = opts.numSms ?? opts.backend?.info.numSms ?? defaultNumSms;
  checkPositiveInt('numSms', numSms, 65536); // it sizes the metadata: [numSmParts, 8]
  const kind = opts.schedule ?? 'flashmla';
  checkSchedule(kind);
  const s = planSchedule(seqlens, numSmPartsFor(numSms, numHeadsPerHeadK, numHeadsK), kind, numHeadsPerHeadK, opts.backend?.info.autoRule);
  return {
    tileSchedulerMetadata: fromArray('i32', [s.numSmParts, metadataFields], s.tileSchedulerMetadata),
    numSplits: fromArray('i32', [seqlens.length + 1], s.numSplits),
  };
}

export interface DecodeOptions {
  /** Default 1/sqrt(576). */
  softmaxScale?: number;
  /** Causal mask for sQ > 1: query j sees keys 0 .. seqlen - sQ + j. Default true (FlashMLA decode). */
  causal?: boolean;
  /** Per-request query lengths as offsets [b + 1] i32; q is then [totalQ, hQ, 576]. */
  qIndptr?: Tensor;
  /** Where to run; default: the backend owning q (host tensors: the in-thread CPU backend). */
  backend?: Backend;
  /** Preallocated outputs on the backend's device (reused across calls). */
  out?: Tensor;
  lse?: Tensor;
}

// Core imports no backend: the package entries (src/index.ts, src/node.ts) register the in-thread CPU backend
// as the factory for host tensors; an application may register its own.
let hostBackend: Backend | undefined;
let hostBackendFactory: (() => Backend) | undefined;
/** The backend that host tensors run on when none is named (the entries register the in-thread CPU backend). */
export function setDefaultHostBackend(b: Backend | (() => Backend)): void {
  if (typeof b === 'function') { hostBackendFactory = b; hostBackend = undefined; } else hostBackend = b;
}

export function backendOf(t: Tensor): Backend {
  if (isHostTensor(t)) {
    hostBackend ??= hostBackendFactory?.();
    if (!hostBackend) {
      throw new FlashMlaError('backend_unavailable', 'host tensors need a backend: pass opts.backend, or import the package entry (flashmla-ts), which registers the in-thread CPU backend', 'backend');
    }
    return hostBackend;
  }
  const owner = (t.data as DeviceStorage).owner as Backend | undefined;
  if (!owner) throw invalidArgument('q', 'a tensor made by a backend', 'a device tensor without an owner');
  return owner;
}

/**
 * MLA decode with a paged latent KV cache: FlashMLA's flash_mla_with_kvcache.
 *   q [b, sQ, hQ, 576], kCache [numBlocks, pageBlockSize, hKv, 576] (V = first 512 columns),
 *   blockTable [b, maxBlocksPerSeq] i32, cacheSeqlens [b] i32, metadata from getMlaMetadata.
 * Returns out [b, sQ, hQ, 512] (q's dtype) and lse [b, hQ, sQ] f32 (natural log; +Infinity for a row with no keys).
 */
export async function flashMlaWithKvcache(
  q: Tensor,
  kCache: Tensor,
  blockTable: Tensor,
  cacheSeqlens: Tensor,
  headDimV: number,
  tileSchedulerMetadata: Tensor,
  numSplits: Tensor,
  opts: DecodeOptions = {},
): Promise<{ out: Tensor; lse: Tensor }> {
  // An FP8 cache (FlashMLA's V3.2 / MODEL1 bytes) runs through the sparse kernels: see dense-fp8.ts.
  if (kCache.dtype === 'fp8_e4m3') return flashMlaWithFp8Kvcache(q, kCache, blockTable, cacheSeqlens, headDimV, tileSchedulerMetadata, numSplits, opts);
  const inputs: DecodeInputs = {
    q, kCache, blockTable, cacheSeqlens, headDimV, tileSchedulerMetadata, numSplits,
    softmaxScale: opts.softmaxScale, causal: opts.causal, qIndptr: opts.qIndptr,
  };
  const problem = validateDecode(inputs);
  const backend = opts.backend ?? backendOf(q);
  if (q.device !== backend.kind) throw invalidArgument('q', `a tensor on ${backend.kind} (the backend's device)`, q.device);
  const out = opts.out ?? backend.empty(problem.dtype, outShape(problem));
  const lse = opts.lse ?? backend.empty('f32', lseShape(problem));
  checkOutputs(problem, out, lse, backend.kind);
  await backend.decode(callOf(problem, inputs, out, lse));
  return { out, lse };
}

export function outShape(p: MlaProblem): number[] {
  return p.varlen ? [p.totalQ, p.hQ, p.dV] : [p.b, p.sQ, p.hQ, p.dV];
}
export function lseShape(p: MlaProblem): number[] {
  return p.varlen ? [p.totalQ, p.hQ] : [p.b, p.hQ, p.sQ];
}

function callOf(problem: MlaProblem, a: DecodeInputs, out: Tensor, lse: Tensor): DecodeCall {
  const seqlens = hostI32(a.cacheSeqlens), meta = hostI32(a.tileSchedulerMetadata), ns = hostI32(a.numSplits);
  const host = seqlens && meta && ns ? { cacheSeqlens: seqlens, tileSchedulerMetadata: meta, numSplits: ns, qIndptr: hostI32(a.qIndptr) } : undefined;
  return {
    problem, q: a.q, kCache: a.kCache, blockTable: a.blockTable, cacheSeqlens: a.cacheSeqlens, qIndptr: a.qIndptr,
    tileSchedulerMetadata: a.tileSchedulerMetadata, numSplits: a.numSplits, out, lse, host, plan: planDecode(problem, host?.numSplits, host?.cacheSeqlens),
  };
}

export interface DecoderConfig {
  hQ: number;
  hKv?: number;
  dtype?: HalfDType;
  softmaxScale?: number;
  causal?: boolean;
  /** Default: backend.info.numSms. */
  numSms?: number;
  /**
   * The split-KV plan of each step (getMlaMetadata's `schedule`). Default: backend.info.schedule ('auto' on the
   * CUDA backend on sm_90, 'flashmla' elsewhere unless the backend was created with another `schedule` or
   * FLASHMLA_CUDA_SCHEDULE / FLASHMLA_WEBGPU_SCHEDULE name one).
   */
  schedule?: ScheduleKind;
}

/** One decode step's plan: what it was planned for, and its device-side index tensors. */
export interface StepPlan {
  b: number;
  sQ: number;
  cacheSeqlens: Int32Array;
  qIndptr?: Int32Array;
  numSmParts: number;
  /** The split-KV plan it runs (DecoderConfig.schedule). */
  schedule: ScheduleKind;
}

/**
 * Decode a batch through many layers. plan() once per step (metadata, index uploads, output buffers);
 * run() once per layer: shape checks only, no allocation, one kernel launch sequence.
 */
export class MlaDecoder {
  readonly hQ: number;
  readonly hKv: number;
  private planned?: {
    plan: StepPlan;
    /** Built once here, reused by every run() of the step. */
    decode: DecodePlan;
    blockTable: Tensor; cacheSeqlens: Tensor; qIndptr?: Tensor; meta: Tensor; numSplits: Tensor;
    /** The same words in the workspace layout, where the backend reads them in place (BackendInfo.readsIndexWords). */
    indexWords?: Tensor;
    host: NonNullable<DecodeCall['host']>;
    problem?: MlaProblem;
    outs: { out: Tensor; lse: Tensor }[];
    next: number;
  };

  constructor(readonly backend: Backend, readonly config: DecoderConfig) {
    checkPositiveInt('hQ', config.hQ);
    this.hQ = config.hQ;
    this.hKv = config.hKv ?? 1;
    checkPositiveInt('hKv', this.hKv);
    if (this.hQ % this.hKv !== 0) throw invalidArgument('hQ', `a multiple of hKv = ${this.hKv}`, String(this.hQ));
  }

  /**
   * Plan one decode step. blockTable is [b, maxBlocksPerSeq] (host). With `qIndptr`, requests have their own
   * query lengths; otherwise every request has sQ queries. `outputs` output pairs are kept and handed out in
   * turn by run() (e.g. one per layer, or 2 to double-buffer).
   */
  plan(cacheSeqlens: Int32Array, blockTable: Tensor<Int32Array>, opts: { sQ?: number; qIndptr?: Int32Array; outputs?: number } = {}): StepPlan {
    const b = cacheSeqlens.length;
    checkSeqlens('cacheSeqlens', cacheSeqlens);
    let sQ = opts.sQ ?? 1;
    if (opts.qIndptr) {
      sQ = 1;
      for (let i = 0; i < b; i++) sQ = Math.max(sQ, opts.qIndptr[i + 1] - opts.qIndptr[i]);
    }
    checkPositiveInt('sQ', sQ);
    const schedule = this.config.schedule ?? this.backend.info.schedule ?? 'flashmla';
    const md = getMlaMetadata(cacheSeqlens, (sQ * this.hQ) / this.hKv, this.hKv, { numSms: this.config.numSms, backend: this.backend, schedule });
    const seq = fromArray('i32', [b], Int32Array.from(cacheSeqlens));
    const indptr = opts.qIndptr ? fromArray('i32', [b + 1], Int32Array.from(opts.qIndptr)) : undefined;
    const host = {
      cacheSeqlens: seq.host(), tileSchedulerMetadata: md.tileSchedulerMetadata.host(), numSplits: md.numSplits.host(), qIndptr: indptr?.host(),
    };
    const dev = <T extends Tensor>(t: T): Tensor => this.backend.upload(t as Tensor<Int32Array>);
    this.release();
    const plan: StepPlan = { b, sQ, cacheSeqlens: host.cacheSeqlens, qIndptr: host.qIndptr, numSmParts: md.tileSchedulerMetadata.shape[0], schedule };
    const decode = planDecode({
      b, sQ, hQ: this.hQ, hKv: this.hKv, numSmParts: plan.numSmParts, maxBlocksPerSeq: blockTable.shape[1] ?? 0, varlen: host.qIndptr !== undefined,
    }, host.numSplits, host.cacheSeqlens, cutsUnderFloor(host.cacheSeqlens, plan.numSmParts, schedule, (sQ * this.hQ) / this.hKv, this.backend.info.autoRule));
    let index: Pick<NonNullable<MlaDecoder['planned']>, 'blockTable' | 'cacheSeqlens' | 'qIndptr' | 'meta' | 'numSplits' | 'indexWords'>;
    if (this.backend.info.readsIndexWords) {
      // One upload: the words in the workspace layout, and the separate tensors as views of them (no second copy).
      const words = dev(packIndexWords(decode, blockTable, host)), ws = decode.workspace;
      const view = (shape: number[], at: number) => new Tensor('i32', shape, words.data, words.offset + at);
      index = {
        indexWords: words, blockTable: view([b, decode.maxBlocksPerSeq], ws.blockTable), cacheSeqlens: view([b], ws.cacheSeqlens),
        qIndptr: indptr && view([b + 1], ws.qIndptr), meta: view([...md.tileSchedulerMetadata.shape], ws.tileSchedulerMetadata),
        numSplits: view([b + 1], ws.numSplits),
      };
    } else {
      index = {
        blockTable: dev(blockTable), cacheSeqlens: dev(seq), qIndptr: indptr && dev(indptr), meta: dev(md.tileSchedulerMetadata), numSplits: dev(md.numSplits),
      };
    }
    this.planned = { plan, host, decode, ...index, outs: [], next: 0 };
    const outputs = opts.outputs ?? 1;
    checkPositiveInt('outputs', outputs, 1024);
    // Values are validated by the first run() of the step (it needs kCache's size); later runs check shapes only.
    const totalQ = host.qIndptr ? host.qIndptr[b] : b * sQ;
    const dtype = this.config.dtype ?? 'bf16';
    for (let i = 0; i < outputs; i++) {
      const oShape = host.qIndptr ? [totalQ, this.hQ, dV] : [b, sQ, this.hQ, dV];
      const lShape = host.qIndptr ? [totalQ, this.hQ] : [b, this.hQ, sQ];
      this.planned.outs.push({ out: this.backend.empty(dtype, oShape), lse: this.backend.empty('f32', lShape) });
    }
    this.blockTableHost = blockTable;
    this.backend.reserve?.(decode);
    return plan;
  }

  private blockTableHost?: Tensor<Int32Array>;

  /** The decode kernel this step runs (the backend's name for it), known after the step's first run(). */
  kernelName(): string | undefined {
    const p = this.planned?.problem;
    return p && this.backend.decodeKernel?.(p, this.planned?.decode);
  }

  /** The merge kernel this step runs (the backend's name; undefined where none runs or the backend does not say). */
  mergeName(): string | undefined {
    const p = this.planned?.problem, d = this.planned?.decode;
    return p && d ? this.backend.mergeKernel?.(p, d) : undefined;
  }

  /**
   * Decode one layer: q [b, sQ, hQ, 576] (or [totalQ, hQ, 576]) and that layer's kCache, on the backend's device. An FP8
   * cache (fp8_e4m3, e.g. a KvCacheManager with `format`) takes q [b, sQ, hQ, 576 or 512] and validates each call.
   */
  async run(q: Tensor, kCache: Tensor, outputs?: { out: Tensor; lse: Tensor }): Promise<{ out: Tensor; lse: Tensor }> {
    const p = this.planned;
    if (!p) throw new FlashMlaError('invalid_argument', 'MlaDecoder.run: call plan() first for this decode step', 'plan');
    // The outputs were allocated for the planned shape and dtype: check q against them before any validation.
    const dtype = this.config.dtype ?? 'bf16';
    if (q.dtype !== dtype) throw invalidArgument('q', `dtype ${dtype} (the decoder's dtype)`, q.dtype);
    if (kCache.dtype === 'fp8_e4m3') return this.runFp8(p, q, kCache, outputs);
    checkSameShape('q', q, p.host.qIndptr ? [p.host.qIndptr[p.plan.b], this.hQ, dQk] : [p.plan.b, p.plan.sQ, this.hQ, dQk]);
    if (!p.problem || p.problem.numBlocks !== kCache.shape[0] || p.problem.dtype !== q.dtype) {
      // First layer of the step (or a cache of another size): full validation against the host copies.
      p.problem = validateDecode({
        q, kCache, blockTable: this.blockTableHost!, cacheSeqlens: fromArray('i32', [p.plan.b], p.host.cacheSeqlens),
        headDimV: dV, tileSchedulerMetadata: fromArray('i32', [p.plan.numSmParts, metadataFields], p.host.tileSchedulerMetadata),
        numSplits: fromArray('i32', [p.plan.b + 1], p.host.numSplits), softmaxScale: this.config.softmaxScale,
        causal: this.config.causal, qIndptr: p.host.qIndptr && fromArray('i32', [p.plan.b + 1], p.host.qIndptr),
      });
    } else {
      checkSameShape('kCache', kCache, [p.problem.numBlocks, p.problem.pageBlockSize, this.hKv, dQk]);
      if (kCache.dtype !== q.dtype) throw invalidArgument('kCache', `dtype ${q.dtype}`, kCache.dtype);
    }
    if (q.device !== this.backend.kind || kCache.device !== this.backend.kind) {
      throw invalidArgument('q/kCache', `tensors on ${this.backend.kind}`, `${q.device}/${kCache.device}`);
    }
    const o = outputs ?? p.outs[p.next++ % p.outs.length];
    if (outputs) checkOutputs(p.problem, o.out, o.lse, this.backend.kind);
    if (!planFits(p.decode, p.problem)) throw new FlashMlaError('invalid_argument', 'MlaDecoder.run: the validated problem differs from the planned shape', 'plan');
    await this.backend.decode({
      problem: p.problem, q, kCache, blockTable: p.blockTable, cacheSeqlens: p.cacheSeqlens, qIndptr: p.qIndptr,
      tileSchedulerMetadata: p.meta, numSplits: p.numSplits, out: o.out, lse: o.lse, host: p.host, plan: p.decode,
      ...(p.indexWords ? { indexWords: p.indexWords } : {}),
    });
    return o;
  }

  /**
   * run() over an FP8 cache (FlashMLA's V3.2 or MODEL1 bytes; q's last dimension 576 or 512): the step's plan and host
   * index values through flashMlaWithFp8Kvcache, which validates the call and runs the backend's block-table path
   * (the CPU's paged FP8 kernels, WebGPU's staged pages, CUDA's FP8 kernels) or the sparse route.
   */
  private async runFp8(p: NonNullable<MlaDecoder['planned']>, q: Tensor, kCache: Tensor, outputs?: { out: Tensor; lse: Tensor }): Promise<{ out: Tensor; lse: Tensor }> {
    if (p.host.qIndptr) throw invalidArgument('qIndptr', 'none with an FP8 cache (per-request query lengths need a 16-bit cache)', 'a step planned with qIndptr');
    if (this.hKv !== 1) throw invalidArgument('hKv', '1 with an FP8 cache (one latent head, as in FlashMLA)', String(this.hKv));
    const o = outputs ?? p.outs[p.next++ % p.outs.length];
    const { b, numSmParts } = p.plan;
    return flashMlaWithFp8Kvcache(q, kCache, this.blockTableHost!, fromArray('i32', [b], p.host.cacheSeqlens), dV,
      fromArray('i32', [numSmParts, metadataFields], p.host.tileSchedulerMetadata), fromArray('i32', [b + 1], p.host.numSplits),
      { backend: this.backend, out: o.out, lse: o.lse, softmaxScale: this.config.softmaxScale, causal: this.config.causal });
  }

  private release(): void {
    const p = this.planned;
    if (!p || this.backend.kind === 'cpu') return;
    // With index words the separate tensors are views of them: their one storage is freed once.
    const index = p.indexWords ? [p.indexWords] : [p.blockTable, p.cacheSeqlens, p.qIndptr, p.meta, p.numSplits];
    for (const t of index) if (t) this.backend.free(t);
    for (const o of p.outs) { this.backend.free(o.out); this.backend.free(o.lse); }
  }

  dispose(): void {
    this.release();
    this.planned = undefined;
  }
}

function checkSameShape(name: string, t: Tensor, shape: number[]): void {
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw invalidArgument(name, `shape [${shape.join(', ')}] (as planned)`, `[${t.shape.join(', ')}]`);
  }
}

/**
 * A step's index words in its plan's workspace layout (core/plan.ts planDecode): the block table [b, maxBlocksPerSeq],
 * the cache lengths, qIndptr (varlen), the scheduler metadata and numSplits, each at its workspace offset.
 */
function packIndexWords(plan: DecodePlan, blockTable: Tensor<Int32Array>, host: NonNullable<DecodeCall['host']>): Tensor<Int32Array> {
  const w = plan.workspace, words = new Int32Array(w.indexWords);
  words.set(blockTable.host().subarray(0, plan.b * plan.maxBlocksPerSeq), w.blockTable);
  words.set(host.cacheSeqlens.subarray(0, plan.b), w.cacheSeqlens);
  if (plan.varlen && host.qIndptr) words.set(host.qIndptr.subarray(0, plan.b + 1), w.qIndptr);
  words.set(host.tileSchedulerMetadata, w.tileSchedulerMetadata);
  words.set(host.numSplits.subarray(0, plan.b + 1), w.numSplits);
  return fromArray('i32', [w.indexWords], words);
}

