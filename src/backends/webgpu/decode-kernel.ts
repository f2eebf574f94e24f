// Which decode kernel and specialisation a decode plan runs on this backend, worked out once per plan (the CUDA
// backend's ShapeKernels plays the same part): the path (kernels/path.ts), the spec and its pipeline key, and the
// dispatch. Everything is read from the plan (core/plan.ts) and the backend's settings; a launch with the same
// plan and settings reuses the answer instead of re-deriving it.
import type { HalfDType } from '../../core/dtype.js';
import type { DecodePlan } from '../../core/plan.js';
import type { DeviceCaps, Dispatch, Program } from './program.js';
import { type DecodeTuning, chooseDecodeSpec, queryRowsPerKvHead } from './kernels/decode-spec.js';
import { decodeDispatch, decodeProgram } from './kernels/decode.js';
import { decodeF16Dispatch, decodeF16Program } from './kernels/decode-f16.js';
import { decodeMatrixDispatch, decodeMatrixProgram, decodeMatrixSpec } from './kernels/decode-matrix.js';
import { decodeMatrix4Dispatch, decodeMatrix4Program, decodeMatrix4Spec } from './kernels/decode-matrix4.js';
import type { CombineCols, CombineKnob } from './kernels/combine.js';
import { type Matrix5Choice, decodeMatrix5Dispatch, decodeMatrix5Program, decodeMatrix5Spec, matrix5FirstEarlyFor, matrix5QRowLanesFor } from './kernels/decode-matrix5.js';
import { decodeMatrix6Dispatch, decodeMatrix6Program, decodeMatrix6Spec } from './kernels/decode-matrix6.js';
import { type DecodePathChoice, decodeKernelFor } from './kernels/path.js';

/**
 * The matrix kernel's knobs, as WebGpuBackendOptions `matrix` takes them (its `emulate` travels in the path choice).
 * Fields that do not apply to the chosen version are ignored; the v5 fields are kernels/decode-matrix5.ts's Matrix5Choice.
 */
export interface MatrixKnobs extends Matrix5Choice {
  /** v3's workgroups per 16-row tile (default: 1 where the workgroup memory allows). */
  vSplit?: 1 | 2;
  /**
   * The matrix kernel's version: 5 (default: the key tile converted once, kernels/decode-matrix5.ts), 4 (four or eight
   * subgroups converting 32-column chunks, kernels/decode-matrix4.ts) or 3 (one subgroup, kernels/decode-matrix.ts);
   * 6 (opt-in: 32 rows a workgroup, kernels/decode-matrix6.ts).
   */
  version?: 3 | 4 | 5 | 6;
  /**
   * The split-KV combine (every decode path's, not the matrix kernel's own; kernels/combine.ts chooseCombine): unset,
   * the wide combine (8 groups) where some request has >= 8 splits and the default one elsewhere, the combine pass left
   * out where no request is split (session 19); 0 the default combine on every launch, as before session 19 (opt-out);
   * 4 or 8 the wide combine with that many lane groups on every launch.
   */
  combine?: CombineKnob;
  /**
   * The wide combine's column slices (session 25; kernels/combine.ts chooseCombineCols): 'auto' (unset: the default,
   * combineSlicedDefault), chosen so that the combine has at least as many workgroups as the plan has SM parts (b = 1
   * h_q = 16: 8 slices); 1 a row whole (session 24's combine); 2 / 4 / 8 forced. Applies only where the wide combine runs.
   */
  combineCols?: CombineCols | 'auto';
}

/** The backend settings a kernel choice depends on besides the plan (each may be reassigned between launches). */
export interface DecodeKernelSettings {
  caps: DeviceCaps;
  path: DecodePathChoice;
  mulAdd: boolean;
  /** Compared by identity: assign a new object to change it (WebGpuBackend.decodeTuning). */
  tuning: DecodeTuning;
  /** The matrix kernel's knobs (WebGpuBackendOptions `matrix`, less `emulate`, which the path carries). */
  matrix?: MatrixKnobs;
  /** The cache is V3.2 FP8, read in place (the fused dense FP8 path): v5 only (DecodeMatrix5Spec.fp8). */
  fp8?: 'v32';
}

/** A resolved decode kernel: the program and spec to compile, its bind-group label, and the dispatch. */
export interface DecodeKernel {
  program: Program<unknown>;
  spec: unknown;
  /** Program name + pipeline key: names the pipeline's bind groups. */
  label: string;
  dispatch: Dispatch;
}

export function resolveDecodeKernel(plan: DecodePlan, dtype: HalfDType, cacheBindings: number, s: DecodeKernelSettings): DecodeKernel {
  const rows = queryRowsPerKvHead(plan);
  const shape = { numSmParts: plan.numSmParts, hKv: plan.hKv, sQ: plan.sQ, nGroups: plan.hQ / plan.hKv };
  const kernel = decodeKernelFor(s.path, rows);
  const m = s.matrix ?? {};
  const make = <S>(program: Program<S>, spec: S, dispatch: Dispatch): DecodeKernel =>
    ({ program: program as Program<unknown>, spec, label: program.name + program.key(spec), dispatch });
  if (s.fp8 && !(kernel === 'matrix' && (m.version ?? 5) === 5)) throw new Error(`resolveDecodeKernel: an FP8 cache read in place runs on v5 only, not ${kernel} v${m.version ?? 5}`);
  if (kernel === 'matrix' && m.version === 6) {
    return make(decodeMatrix6Program, decodeMatrix6Spec({ dtype }, s.caps, cacheBindings, s.path.emulate === true), decodeMatrix6Dispatch(shape));
  }
  if (kernel === 'matrix' && (m.version ?? 5) === 5) {
    const spec = decodeMatrix5Spec({ dtype, ...(s.fp8 ? { fp8: s.fp8 } : {}) }, s.caps, cacheBindings, s.path.emulate === true, { ...m, qRowLanes: matrix5QRowLanesFor(m.qRowLanes, plan.keysPerSplit), firstEarly: matrix5FirstEarlyFor(m.firstEarly, plan.keysPerSplit), infSafe: m.infSafe ?? (plan.underFloor ? 'seen' : undefined) });
    return make(decodeMatrix5Program, spec, decodeMatrix5Dispatch(shape));
  }
  if (kernel === 'matrix' && m.version !== 3) {
    const spec = decodeMatrix4Spec({ dtype }, s.caps, cacheBindings, s.path.emulate === true, m.subgroups);
    return make(decodeMatrix4Program, spec, decodeMatrix4Dispatch(shape));
  }
  if (kernel === 'matrix') {
    const spec = decodeMatrixSpec({ dtype }, s.caps, cacheBindings, s.path.emulate === true, m.vSplit);
    return make(decodeMatrixProgram, spec, decodeMatrixDispatch(shape, spec));
  }
  if (kernel === 'f16') return make(decodeF16Program, { dtype, segs: cacheBindings }, decodeF16Dispatch(shape));
  const spec = chooseDecodeSpec(plan, dtype, s.caps, cacheBindings, s.mulAdd, s.tuning);
  return make(decodeProgram, spec, decodeDispatch(plan, spec));
}

interface Cached { dtype: HalfDType; cacheBindings: number; path: DecodePathChoice; mulAdd: boolean; tuning: DecodeTuning; fp8?: 'v32'; kernel: DecodeKernel }

/** resolveDecodeKernel, remembered per plan object while the dtype, bindings and settings stay the same. */
export class DecodeKernelCache {
  private readonly byPlan = new WeakMap<DecodePlan, Cached>();

  get(plan: DecodePlan, dtype: HalfDType, cacheBindings: number, s: DecodeKernelSettings): DecodeKernel {
    const c = this.byPlan.get(plan);
    if (c && c.dtype === dtype && c.cacheBindings === cacheBindings && c.path === s.path && c.mulAdd === s.mulAdd && c.tuning === s.tuning && c.fp8 === s.fp8) return c.kernel;
    const kernel = resolveDecodeKernel(plan, dtype, cacheBindings, s);
    this.byPlan.set(plan, { dtype, cacheBindings, path: s.path, mulAdd: s.mulAdd, tuning: s.tuning, ...(s.fp8 ? { fp8: s.fp8 } : {}), kernel });
    return kernel;
  }
}
