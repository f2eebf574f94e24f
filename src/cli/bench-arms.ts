// The options of `flashmla bench` that time each config several ways (src/bench/arms.ts): --variants (CUDA
// kernel variants, or the per-bucket winners of a variant study), --num-sms (SM counts to plan for),
// --tunings and --mul-add (WebGPU). They become RunOptions.arms for the harness, plus fields of the result.
import type { CudaBackend } from '../backends/cuda/index.js';
import { chooseDecodeVariant, variantTag } from '../backends/cuda/kernels/launch.js';
import type { WebGpuBackend } from '../backends/webgpu/backend.js';
import {
  type Tuning, bucketOf, fittingVariants, mulAddArms, mulAddProbeConfigs, mulAddVerdict, rowsOf, variantArm, variantByTag,
  variantStudyConfigs, webGpuArms, winnersByBucket,
} from '../bench/arms.js';
import type { Backend } from '../core/problem.js';
import { UsageError, choiceArg, intListArg } from './args.js';
import { type BenchArm, type BenchConfig, type RunOptions, runConfigs } from './harness.js';

export const armHelp = `  --variants LIST      CUDA: time each config with every listed kernel variant (tags as in kernel names, e.g.
                       m32_n64_s2_w8_q16), 'auto' (the library's choice), 'splitkv' (the mma.sync kernel the
                       library picks where no Hopper kernel takes the shape) or 'all' (every variant that fits);
                       rows get arms [{label, ms}] and ms of 'auto', else of the fastest. 'winners': first a
                       variant study (every variant on one config per row bucket, b=128), then each config with
                       its bucket's winner (result: variant_study, winners)
  --num-sms LIST       plan each config for each SM count (e.g. 132,264; the numSms study); rows get arms and
                       ms of the fastest. Big batches (b >= 64) of > 32 rows get only the first unless --num-sms-all
  --num-sms-all        every SM count on every config
  --tunings JSON       WebGPU: decode tunings to force, each crossed with --num-sms (e.g. '[{},{"rowsPerTile":16}]')
  --mul-add NAME       WebGPU: the decode kernel's multiply-adds: fma, mad, or auto (time both on two configs
                       first and keep the faster; result: decode_mul_add, decode_mul_add_probe_ms)`;

export const armOptions = {
  variants: { type: 'string' }, 'num-sms': { type: 'string' }, 'num-sms-all': { type: 'boolean' }, tunings: { type: 'string' }, 'mul-add': { type: 'string' },
} as const;

export type ArmValues = { [K in keyof typeof armOptions]?: string | boolean };

/** The arm options as given, checked without a backend (argument errors come before any device work). */
export interface ArmRequest {
  variants?: string[];
  numSms?: number[];
  numSmsAll: boolean;
  tunings?: Tuning[];
  mulAdd?: 'fma' | 'mad' | 'auto';
}

export function parseArmOptions(v: ArmValues): ArmRequest {
  const list = (name: string, x: unknown) => {
    const items = String(x).split(',').map((s) => s.trim());
    if (items.some((s) => s === '')) throw new UsageError(`--${name}: expected a comma-separated list, got '${String(x)}'`);
    return items;
  };
  const r: ArmRequest = { numSmsAll: v['num-sms-all'] === true };
  if (v.variants !== undefined) {
    r.variants = list('variants', v.variants);
    for (const t of r.variants) {
      if (!['auto', 'all', 'winners', 'splitkv'].includes(t) && !variantByTag(t)) throw new UsageError(`--variants: unknown variant '${t}' (expected auto, splitkv, all, winners or a tag such as m32_n64_s2_w8_q16)`);
    }
    if (r.variants.includes('winners') && r.variants.length > 1) throw new UsageError(`--variants winners: give it alone, got '${String(v.variants)}'`);
  }
  if (v['num-sms'] !== undefined) r.numSms = intListArg('num-sms', String(v['num-sms']), [], 1, 65536);
  if (v.tunings !== undefined) {
    let t: unknown;
    try { t = JSON.parse(String(v.tunings)); } catch { throw new UsageError(`--tunings: invalid JSON '${String(v.tunings)}'`); }
    if (!Array.isArray(t) || t.length === 0 || t.some((x) => typeof x !== 'object' || x === null || Array.isArray(x))) {
      throw new UsageError(`--tunings: expected a non-empty JSON array of objects, got '${String(v.tunings)}'`);
    }
    r.tunings = t as Tuning[];
  }
  if (v['mul-add'] !== undefined) r.mulAdd = choiceArg<'fma' | 'mad' | 'auto'>('mul-add', v['mul-add'], ['fma', 'mad', 'auto'], 'fma');
  if (r.variants && (r.numSms || r.tunings || r.mulAdd)) throw new UsageError('--variants (CUDA) and --num-sms / --tunings / --mul-add: give one kind of arm');
  return r;
}

/** Does the request ask for anything the harness does not do by default? */
export const wantsArms = (r: ArmRequest): boolean => !!(r.variants || r.numSms || r.tunings || r.mulAdd);

/** Check the request against the backend, run any study it needs first, and give the harness its arms. */
export async function prepareArms(
  backend: Backend, r: ArmRequest, base: Pick<RunOptions, 'warmup' | 'reps' | 'rotateBytes' | 'warmMs' | 'onProgress'>, quick: boolean,
): Promise<{ arms?: RunOptions['arms']; extra: Record<string, unknown> }> {
  const extra: Record<string, unknown> = {};
  const need = (kind: string, what: string) => {
    if (backend.kind !== kind) throw new UsageError(`${what} needs --backend ${kind} (running on ${backend.kind})`);
  };
  if (r.variants) {
    need('cuda', '--variants');
    const cuda = backend as CudaBackend;
    const fitting = fittingVariants(cuda.info.details!.maxSharedMemoryPerBlock as number);
    if (r.variants[0] === 'winners') {
      const study = await runConfigs(backend, variantStudyConfigs, {
        ...base, warmup: 5, reps: 40, check: 0, arms: () => fitting.map((v) => variantArm(cuda, v)),
      });
      const winners = winnersByBucket(study);
      extra.variant_study = study;
      extra.winners = Object.fromEntries([...winners].map(([bucket, w]) => [`rows<=${bucket}`, w.tag]));
      base.onProgress?.(`variant winners: ${[...winners].map(([b, w]) => `rows<=${b} ${w.tag}`).join(', ')}`);
      return { arms: (c) => [variantArm(cuda, variantByTag(winners.get(bucketOf(rowsOf(c)))?.tag ?? ''))], extra };
    }
    const wanted = new Set(r.variants.flatMap((t) => (t === 'all' ? ['auto', ...fitting.map(variantTag)] : [t])));
    const maxSmem = cuda.info.details!.maxSharedMemoryPerBlock as number;
    const armsFor = (c: BenchConfig): BenchArm[] => [...wanted].flatMap((t) => {
      if (t === 'auto') return [variantArm(cuda, undefined)];
      // The mma.sync kernel the library picks for these rows where no Hopper kernel takes them.
      if (t === 'splitkv') {
        const v = chooseDecodeVariant(rowsOf(c), maxSmem);
        return v ? [{ ...variantArm(cuda, v), label: 'splitkv' }] : [];
      }
      const v = fitting.find((f) => variantTag(f) === t);
      return v ? [variantArm(cuda, v)] : []; // a variant whose shared memory does not fit this device is skipped
    });
    if (!wanted.has('auto') && !wanted.has('splitkv') && !fitting.some((f) => wanted.has(variantTag(f)))) {
      throw new UsageError(`--variants: none of '${r.variants.join(',')}' fits this device's shared memory`);
    }
    return { arms: armsFor, extra };
  }
  let wb: WebGpuBackend | undefined;
  if (r.tunings || r.mulAdd) {
    need('webgpu', r.tunings ? '--tunings' : '--mul-add');
    wb = backend as WebGpuBackend;
  }
  if (wb && r.mulAdd) {
    if (r.mulAdd === 'auto') {
      const probe = await runConfigs(backend, mulAddProbeConfigs(quick), { ...base, check: 0, arms: () => mulAddArms(wb) });
      const verdict = mulAddVerdict(probe);
      wb.mulAdd = verdict.mad;
      extra.decode_mul_add_probe_ms = verdict.ms;
    } else wb.mulAdd = r.mulAdd === 'mad';
    extra.decode_mul_add = wb.mulAdd ? 'a * b + c' : 'fma()';
  }
  if (r.numSms || r.tunings) {
    const numSms = r.numSms ?? [backend.info.numSms ?? 132];
    const tunings = r.tunings ?? [{}];
    const target = wb ?? { decodeTuning: {} };
    return { arms: (c: BenchConfig): BenchArm[] => webGpuArms(target, c, numSms, tunings, r.numSmsAll), extra };
  }
  return { extra };
}
