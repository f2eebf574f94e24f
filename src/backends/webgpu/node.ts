// Node glue for the WebGPU backend: Dawn through the `webgpu` package. Kept apart so browser bundles never
// import it.
import { create, globals } from 'webgpu';
import { type WebGpuBackend, type WebGpuBackendOptions, checkWebGpuBackendOptions, denseFp8Paths, sparsePaths } from './backend.js';
import { type CreateWebGpuBackendOptions, createWebGpuBackend } from './index.js';
import { installDawnPoll } from './poll.js';
import { withDawnQuiet } from './quiet.js';
import { invalidArgument } from '../../core/errors.js';
import { scheduleKinds } from '../../core/scheduler.js';
import { ruleSwitchFromEnv } from '../../core/validate.js';
import { layerGemmKernels } from './kernels/layer.js';

/**
 * Dawn features asked for by default: `allow_unsafe_apis` exposes experimental features (subgroup matrices) and
 * `vulkan_enable_f16_on_nvidia` exposes shader-f16 on NVIDIA's Vulkan driver, where Dawn hides it otherwise. On
 * the H200 they unlock shader-f16 and float subgroup matrices; on lavapipe they change nothing the kernels use.
 */
export const unlockToggles = ['allow_unsafe_apis', 'vulkan_enable_f16_on_nvidia'] as const;

// Dawn must outlive every device it made: keep each instance for the whole process (one with the toggles above,
// the default, one without, and the same two without robustness, each made only when asked for).
const gpus = new Map<string, GPU>();

/**
 * FLASHMLA_DAWN_POLL: 'spin' leaves Dawn's polling as it is (a core at full load for every wait); a number is the
 * milliseconds a wait polls at full rate before its polls are spaced by 1 ms (default 10; poll.ts).
 */
export function dawnPollFromEnv(v: string | undefined): number | 'spin' {
  if (v === undefined || v === '') return 10;
  if (v === 'spin') return 'spin';
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw invalidArgument('FLASHMLA_DAWN_POLL', "'spin' or a number of milliseconds >= 0", v);
  return n;
}

function makeGpu(flags: string[], unlock: boolean, robust: boolean): GPU {
  Object.assign(globalThis, globals);
  const poll = dawnPollFromEnv(process.env.FLASHMLA_DAWN_POLL);
  if (poll !== 'spin') installDawnPoll(globals as unknown as Record<string, unknown>, poll);
  const enable: string[] = [...(unlock ? unlockToggles : []), ...(robust ? [] : ['disable_robustness'])];
  const rest: string[] = [];
  // FLASHMLA_DAWN_FLAGS: more Dawn options, space-separated (maintainers' probes, e.g.
  // 'enable-dawn-features=disable_robustness'); they join `flags`.
  const envFlags = (process.env.FLASHMLA_DAWN_FLAGS ?? '').split(/\s+/).filter(Boolean);
  for (const f of [...flags, ...envFlags]) {
    const m = /^enable-dawn-features=(.*)$/.exec(f);
    if (m) enable.push(...m[1].split(',').filter(Boolean));
    else rest.push(f);
  }
  return create(['disable-dawn-features=timestamp_quantization', ...(enable.length ? [`enable-dawn-features=${enable.join(',')}`] : []), ...rest]) as GPU;
}

/**
 * navigator.gpu for Node (Dawn). `flags` are Dawn options, e.g. 'enable-dawn-features=...' (they apply to the
 * instance made by the first call). `unlock` (default true, FLASHMLA_DAWN_UNLOCK=0 turns it off) adds
 * `unlockToggles`; false gives a separate instance without them.
 */
export function nodeGpu(flags: string[] = [], unlock = process.env.FLASHMLA_DAWN_UNLOCK !== '0', robust = true): GPU {
  const key = `${unlock}:${robust}`;
  let g = gpus.get(key);
  if (!g) gpus.set(key, (g = makeGpu(flags, unlock, robust)));
  return g;
}

export interface NodeWebGpuBackendOptions extends CreateWebGpuBackendOptions {
  /** Let Dawn's own start-up warnings through to stderr (default: FLASHMLA_DAWN_LOG=1). */
  dawnLog?: boolean;
  /**
   * Ask Dawn for `unlockToggles` (default true; FLASHMLA_DAWN_UNLOCK=0 changes the default): shader-f16 and float
   * subgroup matrices on NVIDIA. False runs on a Dawn instance without them.
   */
  unlockFeatures?: boolean;
  /**
   * Keep Dawn's robust buffer access (default true; FLASHMLA_WEBGPU_ROBUSTNESS=0 changes the default). False makes
   * the backend's own device with Dawn's `disable_robustness`: no index clamping in the shaders and no robust buffer
   * access in the driver, 10-24 % faster on the H200's matrix kernel. Only for inputs you trust: the argument checks
   * still read index tensors held on the host, but index tensors already on the device (block tables, sparse indices)
   * are not read back, and an out-of-range id in them then reads outside its buffer, as on the CUDA backend. Needs
   * the backend to make its device (no `gpu`, `adapter` or `device` option).
   */
  robustness?: boolean;
}

/** FLASHMLA_WEBGPU_LAYER_SPLITK's value as WebGpuBackendOptions.layerSplitK; a malformed one throws (a tuning run must not silently time the default). */
export function layerSplitKFromEnv(v: string | undefined): WebGpuBackendOptions['layerSplitK'] {
  return ruleSwitchFromEnv('FLASHMLA_WEBGPU_LAYER_SPLITK', v, ['targetGroups', 'minK', 'minChunk', 'maxSplits'] as const);
}

/** FLASHMLA_WEBGPU_LAYER_GEMM's value as WebGpuBackendOptions.layerGemm; another value throws (as the split-K knob's). */
export function layerGemmFromEnv(v: string | undefined): WebGpuBackendOptions['layerGemm'] {
  if (v === undefined || v === '') return undefined;
  const k = layerGemmKernels.find((x) => x === v);
  if (!k) throw invalidArgument('FLASHMLA_WEBGPU_LAYER_GEMM', layerGemmKernels.join(' or '), v);
  return k;
}

/** A WebGPU backend on Dawn. Dawn's start-up warnings stay out of stderr unless `dawnLog` asks for them. */
export async function createNodeWebGpuBackend(opts: NodeWebGpuBackendOptions = {}): Promise<WebGpuBackend> {
  const { dawnLog, unlockFeatures, robustness, ...rest } = opts;
  checkWebGpuBackendOptions(rest); // before Dawn is loaded or an adapter asked for (the environment's switches are whitelisted)
  const robust = robustness ?? process.env.FLASHMLA_WEBGPU_ROBUSTNESS !== '0';
  const own = !(rest.gpu || rest.device || rest.adapter); // the backend makes its device (robustness applies only then)
  if (robustness === false && !own) {
    throw invalidArgument('robustness', 'true (or unset) with a caller-provided gpu, adapter or device', 'false');
  }
  // FLASHMLA_WEBGPU_DECODE_PATH=matrix|f16|f32|auto: the decode kernel when the caller does not choose (benchmarks).
  const envPath = process.env.FLASHMLA_WEBGPU_DECODE_PATH as CreateWebGpuBackendOptions['decodePath'] | undefined;
  // FLASHMLA_WEBGPU_MATRIX_VSPLIT=1|2: the matrix kernel's split of dV over workgroups (kernels/decode-matrix.ts).
  const envVSplit = process.env.FLASHMLA_WEBGPU_MATRIX_VSPLIT === '2' ? 2 : process.env.FLASHMLA_WEBGPU_MATRIX_VSPLIT === '1' ? 1 : undefined;
  // FLASHMLA_WEBGPU_MATRIX_VERSION=3|4|5|6: the matrix kernel's version (default 5, kernels/decode-matrix5.ts; 6 opt-in).
  const envVersion = ({ 3: 3, 4: 4, 5: 5, 6: 6 } as const)[process.env.FLASHMLA_WEBGPU_MATRIX_VERSION as '3' | '4' | '5' | '6'];
  // FLASHMLA_WEBGPU_MATRIX_SUBGROUPS=4|8: v4's and v5's subgroups a workgroup.
  const envSubgroups = process.env.FLASHMLA_WEBGPU_MATRIX_SUBGROUPS === '8' ? 8 : process.env.FLASHMLA_WEBGPU_MATRIX_SUBGROUPS === '4' ? 4 : undefined;
  // FLASHMLA_WEBGPU_MATRIX_LAZY=1|0|side|scratch: v5's lazy rescale of O on, off, or in one of its forms
  // (kernels/decode-matrix5.ts `lazy`).
  const envLazy = ({ 1: true, 0: false, side: 'side', scratch: 'scratch' } as const)[process.env.FLASHMLA_WEBGPU_MATRIX_LAZY as '1' | '0' | 'side' | 'scratch'];
  // FLASHMLA_WEBGPU_MATRIX_TILE16=1: v5's tile16 candidate (kernels/decode-matrix5.ts `tile16`; opt-in).
  const envTile16 = process.env.FLASHMLA_WEBGPU_MATRIX_TILE16 === '1' ? true : undefined;
  // FLASHMLA_WEBGPU_MATRIX_PAIR=1: v5's pair candidate (kernels/decode-matrix5.ts `pair`; opt-in).
  const envPair = process.env.FLASHMLA_WEBGPU_MATRIX_PAIR === '1' ? true : undefined;
  // FLASHMLA_WEBGPU_MATRIX_LOOKAHEAD=1: v5's lookahead probe (kernels/decode-matrix5.ts `lookahead`; opt-in).
  const envAhead = process.env.FLASHMLA_WEBGPU_MATRIX_LOOKAHEAD === '1' ? true : undefined;
  // FLASHMLA_WEBGPU_MATRIX_BOUNDED=0|1: v5's bounded indices off (A/B) or on (kernels/decode-matrix5.ts `bounded`; on
  // by default where trim runs).
  const envBounded = ({ 1: true, 0: false } as const)[process.env.FLASHMLA_WEBGPU_MATRIX_BOUNDED as '1' | '0'];
  // FLASHMLA_WEBGPU_MATRIX_FINITE=1: v5's and the combine's finite-loop probe (kernels/finite-loops.ts; opt-in).
  const envFinite = process.env.FLASHMLA_WEBGPU_MATRIX_FINITE === '1' ? true : undefined;
  // FLASHMLA_WEBGPU_COMBINE=0|4|8: 0 the default combine on every launch (the opt-out of session 19's choice), 4 / 8 the
  // wide combine with that many lane groups on every launch (kernels/combine.ts chooseCombine; unset: chosen by the plan).
  const envCombine = ({ 0: 0, 4: 4, 8: 8 } as const)[process.env.FLASHMLA_WEBGPU_COMBINE as '0' | '4' | '8'];
  // FLASHMLA_WEBGPU_MATRIX_INFSAFE=0|1: v5's infinite-input fixes off (the default: v5's WGSL without them) or on
  // (opt-in, 6-7 % slower on the H200; kernels/decode-matrix5.ts `infSafe`).
  const envInfSafe = ({ 1: true, 0: false, seen: 'seen' } as const)[process.env.FLASHMLA_WEBGPU_MATRIX_INFSAFE as '1' | '0' | 'seen'];
  // FLASHMLA_WEBGPU_MATRIX_PACKED=0|1: v5's packedMax off or on (kernels/decode-matrix5.ts `packedMax`; session 24).
  const envPacked = ({ 1: true, 0: false } as const)[process.env.FLASHMLA_WEBGPU_MATRIX_PACKED as '1' | '0'];
  // FLASHMLA_WEBGPU_MATRIX_QONCE=0|1: v5's qOnce off or on (kernels/decode-matrix5.ts `qOnce`; session 24).
  const envQOnce = ({ 1: true, 0: false } as const)[process.env.FLASHMLA_WEBGPU_MATRIX_QONCE as '1' | '0'];
  // FLASHMLA_WEBGPU_COMBINE_COLS=auto|1|2|4|8: the wide combine's column slices chosen by the plan (auto,
  // kernels/combine.ts chooseCombineCols) or forced (1: a row whole; unset: combineSlicedDefault says which).
  const envCols = ({ auto: 'auto', 1: 1, 2: 2, 4: 4, 8: 8 } as const)[process.env.FLASHMLA_WEBGPU_COMBINE_COLS as 'auto' | '1' | '2' | '4' | '8'];
  // FLASHMLA_WEBGPU_MATRIX_QROWLANES=0|1|auto: v5's qRowLanes off, on, or by the plan (kernels/decode-matrix5.ts
  // matrix5QRowLanesFor; unset: matrix5QRowLanesAuto says which).
  const envQRow = ({ 1: true, 0: false, auto: 'auto' } as const)[process.env.FLASHMLA_WEBGPU_MATRIX_QROWLANES as '1' | '0' | 'auto'];
  // FLASHMLA_WEBGPU_MATRIX_FIRSTEARLY=0|1|auto: v5's firstEarly off, on, or by the plan (kernels/decode-matrix5.ts
  // matrix5FirstEarlyFor; unset: matrix5FirstEarlyAuto says which; session 26).
  const envEarly = ({ 1: true, 0: false, auto: 'auto' } as const)[process.env.FLASHMLA_WEBGPU_MATRIX_FIRSTEARLY as '1' | '0' | 'auto'];
  // FLASHMLA_WEBGPU_MATRIX_FRESHO=0|1: v5's freshO off or on (kernels/decode-matrix5.ts `freshO`; session 26).
  const envFresh = ({ 1: true, 0: false } as const)[process.env.FLASHMLA_WEBGPU_MATRIX_FRESHO as '1' | '0'];
  const envF16d = ({ 1: true, 0: false } as const)[process.env.FLASHMLA_WEBGPU_MATRIX_F16DIRECT as '1' | '0'];
  const envB16d = ({ 1: true, 0: false } as const)[process.env.FLASHMLA_WEBGPU_MATRIX_BF16DIRECT as '1' | '0'];
  const envF8d = ({ 1: true, 0: false } as const)[process.env.FLASHMLA_WEBGPU_MATRIX_FP8DIRECT as '1' | '0'];
  const matrix = rest.matrix ?? (envVSplit || envVersion || envSubgroups || envLazy !== undefined || envTile16 || envPair || envAhead || envBounded !== undefined || envFinite || envCombine !== undefined || envInfSafe !== undefined || envPacked !== undefined || envQOnce !== undefined || envCols !== undefined || envQRow !== undefined || envEarly !== undefined || envFresh !== undefined || envF16d !== undefined || envB16d !== undefined || envF8d !== undefined ? { vSplit: envVSplit, version: envVersion, subgroups: envSubgroups, lazy: envLazy, tile16: envTile16, pair: envPair, lookahead: envAhead, bounded: envBounded, finite: envFinite, combine: envCombine, infSafe: envInfSafe, packedMax: envPacked, qOnce: envQOnce, combineCols: envCols, qRowLanes: envQRow, firstEarly: envEarly, freshO: envFresh, f16Direct: envF16d, bf16Direct: envB16d, fp8Direct: envF8d } : undefined);
  // FLASHMLA_WEBGPU_LAYER_SPLITK=0|1|<field>=<n>,...: the layer gemm's split-K off, on (the default), or on
  // with these fields of its rule changed (kernels/layer.ts LayerSplitKRule, e.g. targetGroups=1024,minChunk=128).
  const envSplitK = layerSplitKFromEnv(process.env.FLASHMLA_WEBGPU_LAYER_SPLITK);
  // FLASHMLA_WEBGPU_LAYER_GEMM=tiled|classic: the layer gemm's main loop (WebGpuBackendOptions.layerGemm; A/B runs).
  const envGemm = layerGemmFromEnv(process.env.FLASHMLA_WEBGPU_LAYER_GEMM);
  // FLASHMLA_WEBGPU_SCHEDULE=<one of scheduleKinds>: the plan MlaDecoder makes for this backend (default 'auto', the
  // backend's own rule; flashmla: getMlaMetadata's plan; fill; core/scheduler.ts); another value is ignored, as before.
  const envSchedule = scheduleKinds.find((k) => k === process.env.FLASHMLA_WEBGPU_SCHEDULE);
  // FLASHMLA_WEBGPU_SPARSE_HEADS=1|2|4|8: the sparse kernel's heads a workgroup on every call (A/B; unset: chosen per call).
  const envHeads = ({ 1: 1, 2: 2, 4: 4, 8: 8 } as const)[process.env.FLASHMLA_WEBGPU_SPARSE_HEADS as '1' | '2' | '4' | '8'];
  // FLASHMLA_WEBGPU_SPARSE_PATH=auto|gather|direct: how a sparse step runs (WebGpuBackendOptions.sparsePath; unset: auto).
  const envSparsePath = sparsePaths.find((k) => k === process.env.FLASHMLA_WEBGPU_SPARSE_PATH);
  // FLASHMLA_WEBGPU_DENSE_FP8_PATH=auto|fused|staged|sparse: how a dense FP8 step runs (WebGpuBackendOptions.denseFp8Path).
  const envDenseFp8Path = denseFp8Paths.find((k) => k === process.env.FLASHMLA_WEBGPU_DENSE_FP8_PATH);
  const be = await withDawnQuiet(
    async () => createWebGpuBackend({ ...rest, matrix, layerSplitK: rest.layerSplitK ?? envSplitK, layerGemm: rest.layerGemm ?? envGemm, schedule: rest.schedule ?? envSchedule, sparseHeads: rest.sparseHeads ?? envHeads, sparsePath: rest.sparsePath ?? envSparsePath, denseFp8Path: rest.denseFp8Path ?? envDenseFp8Path, decodePath: rest.decodePath ?? envPath, gpu: rest.gpu ?? (own ? nodeGpu([], unlockFeatures, robust) : undefined) }),
    dawnLog ?? process.env.FLASHMLA_DAWN_LOG === '1',
  );
  if (own && be.info.details) be.info.details.robustness = robust;
  return be;
}
