// Runtime piece of the CUDA backend: the kernel cache. Function handles by name (with their dynamic shared memory
// limit raised once), and ShapeKernels: the decode and combine launches of one problem shape, resolved, with every
// scalar of the parameter block packed. A decode per layer reuses them while the shape repeats; a new shape (or a
// forced variant) resolves and packs again.
import { FlashMlaError } from '../../core/errors.js';
import type { MlaProblem } from '../../core/problem.js';
import type { DecodePlan } from '../../core/plan.js';
import type { Driver } from './driver.js';
import {
  type DecodeVariant, type Launch, chooseDecodeVariant, combineEntry, combinePick, combineQ32Covers, combineQ32Fits, combineQ32Launch, combineQ32TakesPieces, combineQuarterLaunch, combineQuarterTakes, combineWarpsLaunch, combineWaves, combineRows, checkDecodeVariant, sm90Launch, sm90QMap, sm90QMapFits, sm90WideLaunch, sm90WideTakes, decodeKernelName, decodeLaunch, naiveLaunch,
} from './kernels/launch.js';
import { compilePacker, mlaParamsLayout } from './params.js';
import type { TensorMapSlot } from './tensor-map.js';

/** One kernel launch, resolved: function handle, grid, block, dynamic shared memory. */
export interface KernelLaunch {
  fn: bigint; gx: number; gy: number; gz: number; threads: number; smem: number; what: string;
  /** The kernel reads the cache through a tensor map, its second parameter (the Hopper kernels; launch.ts sm90CacheMap). */
  cacheMap?: boolean;
  /**
   * The kernel waits (kernels/pdl.cuh pdlWait) before it touches anything an earlier kernel wrote or reads, so it may
   * be launched as a programmatic dependent of the kernel before it (pdl.ts): combine.cu and decode_sm90.cu.
   */
  pdl?: boolean;
  /**
   * The kernel also reads q through a tensor map, its third parameter, of boxes of this many rows (decode_sm90.cu's
   * library entries since session 19; 64: decode_sm90_wide.cu's in a kVarBQTma build: launch.ts sm90QMap). Where the call's map cannot be encoded, the caller
   * launches ShapeKernels.decodeLd instead.
   */
  qMap?: 16 | 32 | 64;
}

/** The kernels a decode of one problem shape launches, resolved; reused while the shape repeats (the parameter block holds its scalars). */
export interface ShapeKernels extends Pick<MlaProblem, 'b' | 'sQ' | 'totalQ' | 'hQ' | 'hKv' | 'dtype' | 'pageBlockSize' | 'maxBlocksPerSeq'
  | 'numSmParts' | 'causal' | 'varlen' | 'softmaxScale' | 'lseStrideB' | 'lseStrideH' | 'lseStrideT'> {
  /** Whether 17-32 rows run on the wide kernel (launch.ts sm90WideTakes; it may depend on the step's plan). */
  wide17: boolean;
  lseBytes: number;
  accumBytes: number;
  /** Undefined where a grid would be empty (never for a validated problem: b, hKv and rows are >= 1). */
  decode?: KernelLaunch;
  /**
   * The narrow Hopper kernel's entry without q's map (decode_sm90.cu's _ld entries: Q^T by the consumers' copies), where
   * `decode` takes one (decode.qMap): launched when the call's map is refused. Also `decode` itself where the shape
   * leaves no map to make (fewer query rows in q than the box).
   */
  decodeLd?: KernelLaunch;
  combine?: KernelLaunch;
  /**
   * Where combine is mla_combine: its twins through mla_combine_t128 (the same grid) and mla_combine_warps (its own
   * grid), and the waves combine's grid makes; launch.ts combineEntry picks one per step by its pieces.
   */
  combineLong?: KernelLaunch;
  combineShort?: KernelLaunch;
  combineWaves?: number;
  /** Where the merge may be combineWarps (combine itself, or combineShort): its twin mla_combine_quarter, which index.ts
      decode launches instead for a step whose largest request is in more than 4 pieces (launch.ts combineQuarterTakes);
      only where the backend has it on and its grid is one wave (at most two CTAs an SM). */
  combineQuarter?: KernelLaunch;
  /** combineQuarter also in place of the CTA merge (mla_combine) for requests in 5+ pieces (KernelCacheHost.combineQuarterCta). */
  quarterForCta?: boolean;
  /**
   * mla_combine_q32 (one warp a quarter row, 32 pieces a lane in flight): with KernelCacheHost.combineQ32 'rule' where the
   * shape's merge is mla_combine and its grid fits (launch.ts combineQ32Fits; mergeFor checks the step's pieces, combineQ32TakesPieces); with 'all'
   * wherever there is a merge (q32All).
   */
  combineQ32?: KernelLaunch;
  q32All?: boolean;
}

/** What the cache needs from the backend that owns it. */
export interface KernelCacheHost {
  readonly drv: Driver;
  readonly maxSmem: number;
  readonly numSms: number;
  /** CudaBackendOptions.kernel. */
  readonly kernel?: 'splitkv' | 'naive' | 'sm90';
  readonly decodeModule: bigint;
  readonly combineModule: bigint;
  readonly naiveModule: bigint;
  /** decode_sm90.fatbin where it was loaded. */
  readonly sm90Module?: bigint;
  /** decode_sm90_wide.fatbin where it was loaded (sm_90 GPUs, kernel 'sm90'). */
  readonly sm90WideModule?: bigint;
  /**
   * Whether decode_sm90_wide.fatbin is a build whose entries take q's map, with _ld twins (decode_sm90_wide.cu kVarBQTma |
   * kVarBQAll, shipped since session 21). A build without them (before session 21, or a candidate without the bits) is
   * run with FLASHMLA_CUDA_SM90W_QMAP=0, so its _ld entries are not looked up (a failed cuModuleGetFunction is an API
   * error that compute-sanitizer reports; the launch itself is right either way).
   */
  readonly sm90WideQMap?: boolean;
  /**
   * A measurement override of launch.ts sm90WideTakes: decode_sm90_wide.cu from this many rows a KV head, whatever the
   * batch (FLASHMLA_CUDA_SM90W_FROM=n; session 36 timed n = 17).
   */
  readonly sm90WideFrom?: number;
  /**
   * launch.ts sm90WideTakes' short-item rule: 17-32 rows of small batches also run on decode_sm90_wide.cu where the
   * step's DecodePlan.keysPerSplit is at most this many keys (the backend passes sm90WideShortKeys, or
   * FLASHMLA_CUDA_SM90W_KPS=n; =0 or absent here: the batch rule alone).
   */
  readonly sm90WideMaxKeys?: number;
  /** A measurement override of the short-item rule's least rows (FLASHMLA_CUDA_SM90W_SHORT_FROM=n; default 17). */
  readonly sm90WideShortFrom?: number;
  /** Merges of requests in 5+ pieces by mla_combine_quarter where they would run mla_combine_warps (launch.ts combineQuarterTakes). */
  readonly combineQuarter?: boolean;
  /** With combineQuarter, also where the step's merge would be the CTA merge (FLASHMLA_CUDA_COMBINE_QUARTER=cta; measurement). */
  readonly combineQuarterCta?: boolean;
  /**
   * mla_combine_q32: 'rule' (the default, launch.ts combineQ32Takes) in place of the CTA merge for steps of many rows and
   * 5-32 pieces; 'all' for every step whose largest request is in 5-64 pieces (FLASHMLA_CUDA_COMBINE_Q32=1, measurement);
   * off (undefined / false; FLASHMLA_CUDA_COMBINE_Q32=0).
   */
  readonly combineQ32?: 'rule' | 'all' | false;
  /** The decode parameter block (MlaParams) the scalars are packed into. */
  readonly paramsView: DataView;
  /** Called after the parameter block was repacked (the packer overwrote the accumulator pointers too). */
  repacked(): void;
}

export class KernelCache {
  private readonly fns = new Map<string, bigint>();
  private readonly pack = compilePacker(mlaParamsLayout);
  private readonly pv: Record<string, bigint | number> = {};
  private shape?: ShapeKernels;
  private forcedVariant?: DecodeVariant;

  constructor(private readonly h: KernelCacheHost) {}

  setDecodeVariant(v: DecodeVariant | undefined): void {
    if (v) checkDecodeVariant(v);
    this.forcedVariant = v;
    this.shape = undefined;
  }

  /**
   * The kernel launches for p's shape: the previous ones while the shape repeats, else resolved and the scalars
   * packed. Workspace sizes come from the step's DecodePlan.
   */
  shapeKernels(p: MlaProblem, dp: DecodePlan): ShapeKernels {
    const k = this.shape;
    const wide17 = this.wideTakes(p, dp.keysPerSplit);
    if (k && k.wide17 === wide17 && k.b === p.b && k.sQ === p.sQ && k.totalQ === p.totalQ && k.hQ === p.hQ && k.hKv === p.hKv && k.dtype === p.dtype
      && k.pageBlockSize === p.pageBlockSize && k.maxBlocksPerSeq === p.maxBlocksPerSeq && k.numSmParts === p.numSmParts
      && k.causal === p.causal && k.varlen === p.varlen && k.softmaxScale === p.softmaxScale && k.lseStrideB === p.lseStrideB
      && k.lseStrideH === p.lseStrideH && k.lseStrideT === p.lseStrideT) return k;
    const v = this.pv;
    v.b = p.b; v.sQ = p.sQ; v.hQ = p.hQ; v.hKv = p.hKv; v.nGroups = p.nGroups; v.rows = p.sQ * p.nGroups;
    v.pageBlockSize = p.pageBlockSize; v.maxBlocksPerSeq = p.maxBlocksPerSeq; v.numSmParts = p.numSmParts;
    v.causal = p.causal ? 1 : 0; v.lseStrideB = p.lseStrideB; v.lseStrideH = p.lseStrideH; v.lseStrideT = p.lseStrideT;
    v.scaleLog2 = p.softmaxScale * Math.LOG2E;
    v.combineRows = combineRows(p, this.h.numSms);
    // Pointers are written per call; these zeros only keep the packer's input complete. The packer overwrites the
    // accumulator pointers too, so IndexStaging.placeIndices must write them again (repacked() tells it).
    for (const f of mlaParamsLayout.fields) if (f.type === 'ptr') v[f.name] = 0n;
    this.pack(this.h.paramsView, v);
    this.h.repacked();
    const lseBytes = dp.workspace.oAccum * 4; // oAccum starts 256-byte aligned: read as float4, written as float2
    const dt = p.dtype;
    const launchOf = (fn: bigint, ln: Launch, what: string): KernelLaunch | undefined =>
      ln.grid[0] === 0 || ln.grid[1] === 0 || ln.grid[2] === 0 ? undefined
        : { fn, gx: ln.grid[0], gy: ln.grid[1], gz: ln.grid[2], threads: ln.block[0], smem: ln.smem, what };
    let decode: KernelLaunch | undefined, decodeLd: KernelLaunch | undefined, combine: KernelLaunch | undefined;
    // combine.cu's one-warp-a-row combine for large batches (launch.ts combinePick), and where the shape takes the
    // CTA-a-row-group combine its twins, picked per step (index.ts decode, launch.ts combineEntry). A/B runs:
    // FLASHMLA_CUDA_COMBINE=cta the CTA-a-row-group combine everywhere, =warps the one-warp-a-row combine everywhere,
    // =lib combinePick's choice without the twins (the library before session 23).
    const combineEnv = process.env.FLASHMLA_CUDA_COMBINE;
    const cp = combineEnv === 'warps' ? { name: 'mla_combine_warps', launch: combineWarpsLaunch(p) } : combinePick(p, v.combineRows as number, combineEnv !== 'cta');
    const hopper = this.hopperLaunch(p, wide17);
    if (this.h.kernel === 'naive') {
      decode = launchOf(this.fn(this.h.naiveModule, `mla_naive_${dt}`, 0), naiveLaunch(p), 'naive');
    } else if (hopper) {
      decode = launchOf(this.fn(hopper.module, hopper.name, hopper.smem), hopper, hopper.name);
      if (decode) { decode.cacheMap = true; decode.pdl = hopper.module === this.h.sm90Module; }
      // The narrow kernel of a build whose library entries take q's map (they come with _ld entries; an older
      // decode_sm90.fatbin has none and its entries take no map: the extra argv entry is ignored). The wide kernel the
      // same way (a kVarBQTma build of decode_sm90_wide.fatbin has _ld entries; the shipped one has none).
      const ld = decode && hopper.ldName !== undefined ? this.ldFn(hopper.module, hopper.ldName, hopper.smem) : undefined;
      if (decode && ld !== undefined) {
        decodeLd = { ...decode, fn: ld, what: hopper.ldName! };
        if (sm90QMapFits(p, hopper.nr!)) decode.qMap = hopper.nr; else decode = decodeLd;
      }
      combine = launchOf(this.fn(this.h.combineModule, `${cp.name}_${dt}`, 0), cp.launch, cp.name);
    } else {
      const variant = this.variantFor(p);
      const dl = decodeLaunch(p, variant);
      decode = launchOf(this.fn(this.h.decodeModule, decodeKernelName(dt, variant), dl.smem), dl, 'decode');
      combine = launchOf(this.fn(this.h.combineModule, `${cp.name}_${dt}`, 0), cp.launch, cp.name);
    }
    if (combine) combine.pdl = true;
    const twins = combine && cp.name === 'mla_combine' && !combineEnv;
    const combineLong = twins ? { ...combine!, fn: this.fn(this.h.combineModule, `mla_combine_t128_${dt}`, 0), what: 'mla_combine_t128' } : undefined;
    const combineShort = twins ? launchOf(this.fn(this.h.combineModule, `mla_combine_warps_${dt}`, 0), combineWarpsLaunch(p), 'mla_combine_warps') : undefined;
    if (combineShort) combineShort.pdl = true;
    // (only where its grid is one wave: two CTAs an SM; session 38's call 7 measured a 384-CTA quarter merge at 1.05-1.08x)
    const ql = combineQuarterLaunch(p);
    const combineQuarter = this.h.combineQuarter && combine && (cp.name === 'mla_combine_warps' || combineShort) && ql.grid[0] * ql.grid[1] <= 2 * this.h.numSms
      ? launchOf(this.fn(this.h.combineModule, `mla_combine_quarter_${dt}`, 0), ql, 'mla_combine_quarter') : undefined;
    if (combineQuarter) combineQuarter.pdl = true;
    const q32l = combineQ32Launch(p), q32All = this.h.combineQ32 === 'all';
    const q32On = combine && p.sQ * p.hQ <= 65535 && (q32All || (this.h.combineQ32 === 'rule' && twins && combineQ32Fits(q32l.grid[0] * q32l.grid[1], this.h.numSms)));
    const combineQ32 = q32On ? launchOf(this.fn(this.h.combineModule, `mla_combine_q32_${dt}`, 0), q32l, 'mla_combine_q32') : undefined;
    if (combineQ32) combineQ32.pdl = true;
    this.shape = {
      wide17, b: p.b, sQ: p.sQ, totalQ: p.totalQ, hQ: p.hQ, hKv: p.hKv, dtype: p.dtype, pageBlockSize: p.pageBlockSize,
      maxBlocksPerSeq: p.maxBlocksPerSeq, numSmParts: p.numSmParts, causal: p.causal, varlen: p.varlen,
      softmaxScale: p.softmaxScale, lseStrideB: p.lseStrideB, lseStrideH: p.lseStrideH, lseStrideT: p.lseStrideT,
      lseBytes, accumBytes: dp.workspace.accumFloats * 4, decode, decodeLd, combine, combineLong, combineShort, combineQuarter,
      ...(combineQuarter && this.h.combineQuarterCta ? { quarterForCta: true } : {}),
      ...(combineQ32 ? { combineQ32, ...(q32All ? { q32All } : {}) } : {}),
      ...(twins ? { combineWaves: combineWaves(cp.launch, this.h.numSms) } : {}),
    };
    return this.shape;
  }

  /** sm90WideTakes for this backend: its measurement overrides, and the step's keysPerSplit where the plan has it. */
  private wideTakes(p: MlaProblem, keysPerSplit: number | undefined): boolean {
    const m = this.h.sm90WideMaxKeys;
    return sm90WideTakes(p, this.h.sm90WideFrom, m !== undefined ? { maxKeys: m, keysPerSplit, minRows: this.h.sm90WideShortFrom } : undefined);
  }

  /**
   * The decode kernel p's shape gets; `keysPerSplit` is the step's plan's where its lengths are on the host (17-32 rows of
   * small batches depend on it: launch.ts sm90WideTakes).
   */
  decodeKernel(p: MlaProblem, keysPerSplit?: number): string {
    if (this.h.kernel === 'naive') return `mla_naive_${p.dtype}`;
    const h = this.hopperLaunch(p, this.wideTakes(p, keysPerSplit));
    if (!h) return decodeKernelName(p.dtype, this.variantFor(p));
    return h.ldName !== undefined && p.totalQ * p.hQ < h.nr! && this.ldFn(h.module, h.ldName, h.smem) !== undefined ? h.ldName : h.name;
  }

  private readonly ldFns = new Map<string, bigint | undefined>();
  /** An _ld entry's function, or undefined where the module has none (a build before q's map: cuModuleGetFunction refuses). */
  private ldFn(module: bigint, name: string, smem: number): bigint | undefined {
    if (!this.ldFns.has(name)) {
      let f: bigint | undefined;
      try { f = this.fn(module, name, smem); } catch (e) { if (!(e instanceof FlashMlaError) || e.code !== 'driver_error') throw e; }
      this.ldFns.set(name, f);
    }
    return this.ldFns.get(name);
  }

  /**
   * The Hopper kernel that takes p's shape (decode_sm90.cu up to 32 rows, decode_sm90_wide.cu from 64 and, where
   * launch.ts sm90WideTakes says so, from 17) where its module is loaded and no mma.sync variant is forced.
   */
  private hopperLaunch(p: MlaProblem, wide17: boolean): (Launch & { name: string; module: bigint; ldName?: string; nr?: 16 | 32 | 64 }) | undefined {
    if (this.h.kernel === 'naive' || this.forcedVariant) return undefined;
    // 17-32 rows: the wide kernel first where sm90WideTakes says so (both kernels take the same pages, heads, lengths).
    const wideFirst = this.h.sm90WideModule !== undefined && wide17 ? sm90WideLaunch(p, 1) : undefined;
    const narrow = this.h.sm90Module !== undefined && !wideFirst ? sm90Launch(p) : undefined;
    if (narrow) return { ...narrow, module: this.h.sm90Module! };
    const wide = wideFirst ?? (this.h.sm90WideModule !== undefined ? sm90WideLaunch(p) : undefined);
    if (!wide) return undefined;
    if (this.h.sm90WideQMap) return { ...wide, module: this.h.sm90WideModule! };
    const { ldName: _ld, nr: _nr, ...plain } = wide; // the shipped build: no map, no _ld twins to look up
    return { ...plain, module: this.h.sm90WideModule! };
  }

  private variantFor(p: MlaProblem): DecodeVariant {
    if (this.forcedVariant) return this.forcedVariant;
    const v = chooseDecodeVariant(p.sQ * p.nGroups, this.h.maxSmem);
    if (!v) throw new FlashMlaError('backend_unavailable', `cuda: no decode variant fits ${this.h.maxSmem} bytes of shared memory a block`);
    return v;
  }

  /** A kernel of a module, with its dynamic shared memory limit raised to smem where it exceeds 48 KiB (cached by name). */
  fn(module: bigint, name: string, smem: number): bigint {
    let f = this.fns.get(name);
    if (f === undefined) {
      f = this.h.drv.getFunction(module, name);
      if (smem > 48 * 1024) this.h.drv.setMaxDynamicSmem(f, smem, name);
      this.fns.set(name, f);
    }
    return f;
  }
}

/**
 * q's tensor map for the narrow Hopper kernel (launch.ts sm90QMap) in its slot of the decode's argument block, encoded
 * again only when q moves or its shape changes (a layer loop with one q buffer encodes once). `ready` is false where
 * the map cannot be made: fewer query rows than the box, or tensor-map.ts's checks or the driver refused it; the
 * caller then launches ShapeKernels.decodeLd (the same kernel without the map). A fault is not a refusal: it throws.
 */
export class QMapSlot {
  private last?: { base: bigint; rows: number; nr: 16 | 32 | 64; dtype: MlaProblem['dtype']; ok: boolean };
  constructor(private readonly slot: TensorMapSlot) {}

  ready(p: Pick<MlaProblem, 'dtype' | 'totalQ' | 'hQ'>, q: bigint, nr: 16 | 32 | 64): boolean {
    const m = this.last, rows = p.totalQ * p.hQ;
    if (m && m.base === q && m.rows === rows && m.nr === nr && m.dtype === p.dtype) return m.ok;
    this.last = undefined;
    let ok = false;
    const spec = sm90QMap(p, q, nr);
    if (spec) {
      try {
        this.slot.set(spec);
        ok = true;
      } catch (e) {
        if (!(e instanceof FlashMlaError) || (e.code !== 'invalid_argument' && e.code !== 'driver_error')) throw e;
      }
    }
    this.last = { base: q, rows, nr, dtype: p.dtype, ok };
    return ok;
  }
}

/**
 * The merge a step launches: the shape's, or one of its twins by the step's pieces (launch.ts combineEntry):
 * mla_combine_t128 for a request in more than 104 pieces, one warp a row for few pieces over more than one wave of CTAs;
 * and where that is one warp a row and a request is in more than 4 pieces, one warp a quarter row where the backend has
 * it on (combineQuarterTakes: every piece in one round trip).
 */
export function mergeFor(sk: ShapeKernels, maxSplits: number | undefined): KernelLaunch | undefined {
  if (sk.combineQ32 && sk.q32All && combineQ32Covers(maxSplits)) return sk.combineQ32;
  const entry = sk.combineLong ? combineEntry('mla_combine', maxSplits, sk.combineWaves) : 'mla_combine';
  const c = (entry === 'mla_combine_t128' ? sk.combineLong : entry === 'mla_combine_warps' ? sk.combineShort : undefined) ?? sk.combine;
  // (session 41: the CTA merge of a step of many rows whose requests are in 5-32 pieces: one warp a quarter row, one trip)
  if (sk.combineQ32 && c === sk.combine && c?.what === 'mla_combine' && combineQ32TakesPieces(maxSplits)) return sk.combineQ32;
  const quarter = c?.what === 'mla_combine_warps' || (c?.what === 'mla_combine' && sk.quarterForCta);
  return quarter && sk.combineQuarter && combineQuarterTakes(maxSplits) ? sk.combineQuarter : c;
}
