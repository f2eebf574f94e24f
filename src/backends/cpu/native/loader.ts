// Node-only: find, verify (sha256 against dist/cpu/manifest.json) and load the native CPU kernel through koffi.
// Everything that can go wrong becomes a reason string for `flashmla info`, never a throw.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FlashMlaError } from '../../../core/errors.js';
import { type CpuKernel, forEachItem, itemFields, packCombine } from '../item.js';
import type { CpuDecodeArgs } from '../kernel.js';
import { type CpuSparseArgs, forEachSparseItem, sparseItemFields } from '../sparse.js';

export const nativeLibName = `libflashmla_cpu-${process.platform}-${process.arch}.${process.platform === 'darwin' ? 'dylib' : 'so'}`;

/** dist/cpu of the package (src/backends/cpu/native and dist/backends/cpu/native both sit below its root). */
export function nativeLibDir(): string {
  if (process.env.FLASHMLA_CPU_LIB_DIR) return resolve(process.env.FLASHMLA_CPU_LIB_DIR);
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'package.json')) && dirname(d) !== d) d = dirname(d);
  return join(d, 'dist/cpu');
}

/** Every native instruction set, per architecture best first: x86-64 (cpuid), then arm64 Linux (hwcaps). */
export const allNativeIsas = ['avx512bf16', 'avx512', 'avx2', 'neonbf16', 'neon'] as const;
export type NativeIsa = (typeof allNativeIsas)[number];
export type NativeIsaChoice = NativeIsa | 'auto';
export const nativeIsaChoices: readonly NativeIsaChoice[] = ['auto', ...allNativeIsas];

/** The architectures with a native kernel: how `detail` names them, their ISAs best first, what the least needs. */
const archIsas: Record<string, { name: string; isas: readonly NativeIsa[]; baseline: string }> = {
  x64: { name: 'x86-64', isas: ['avx512bf16', 'avx512', 'avx2'], baseline: 'AVX2, FMA or F16C' },
  arm64: { name: 'arm64', isas: ['neonbf16', 'neon'], baseline: 'Advanced SIMD' },
};

/** The instruction sets the library of this architecture has a kernel for, best first (none elsewhere). */
export const nativeIsas: readonly NativeIsa[] = archIsas[process.arch]?.isas ?? [];

/**
 * Per ISA: the features.c bits it needs (their meaning depends on the architecture: features.c), its entry points
 * (dense decode, sparse decode: a library whose unit has no sparse entry runs sparse calls on the scalar kernel), how
 * `detail` names it, what a CPU lacking it lacks, and what the next better ISA of its architecture needs beyond it.
 */
const isaTable: Record<NativeIsa, { bits: number; entry: string; sparseEntry: string; label: string; needs: string; better: string }> = {
  avx512bf16: {
    bits: 1 | 2 | 4 | 8, entry: 'flashmla_cpu_decode_item_avx512bf16', sparseEntry: 'flashmla_cpu_sparse_item_avx512bf16',
    label: 'AVX-512 + AVX512_BF16 (vdpbf16ps for bf16 Q·Kᵀ, f32 P·V)', needs: 'AVX-512F/BW/VL/DQ and AVX512_BF16', better: '',
  },
  avx512: {
    bits: 1 | 2 | 8, entry: 'flashmla_cpu_decode_item_avx512', sparseEntry: 'flashmla_cpu_sparse_item_avx512',
    label: 'AVX-512 (16-lane f32 FMA)', needs: 'AVX-512F/BW/VL/DQ', better: 'AVX512_BF16',
  },
  avx2: { bits: 1, entry: 'flashmla_cpu_decode_item', sparseEntry: 'flashmla_cpu_sparse_item', label: 'AVX2+FMA', needs: 'AVX2, FMA and F16C', better: 'AVX-512F/BW/VL/DQ' },
  neonbf16: {
    bits: 1 | 2, entry: 'flashmla_cpu_decode_item_neonbf16', sparseEntry: 'flashmla_cpu_sparse_item_neonbf16',
    label: 'NEON + BF16 (BFDOT for bf16 Q·Kᵀ, f32 P·V)', needs: 'Advanced SIMD and FEAT_BF16', better: '',
  },
  neon: {
    bits: 1, entry: 'flashmla_cpu_decode_item_neon', sparseEntry: 'flashmla_cpu_sparse_item_neon',
    label: 'NEON (4-lane f32 FMA)', needs: 'Advanced SIMD', better: 'FEAT_BF16 (BFDOT)',
  },
};

/** What flashmla_cpu_abi() must return (params.h FLASHMLA_CPU_ABI). */
export const nativeAbi = itemFields.length * 1000 + 3;

/** The ISAs a CPU of `arch` with these features.c bits can run, best first. */
export function isasFor(features: number, arch: string = process.arch): NativeIsa[] {
  return (archIsas[arch]?.isas ?? []).filter((i) => (features & isaTable[i].bits) === isaTable[i].bits);
}

export type NativeLoad = { kernel: CpuKernel; reason?: undefined } | { kernel?: undefined; reason: string };

type Lib = { lib: { func(decl: string): (...a: unknown[]) => unknown }; features: number; file: string };
let library: Promise<Lib | string> | undefined;
const kernels = new Map<string, NativeLoad>();

/**
 * Load once per thread (each worker thread binds the library itself) and per ISA request. `isa` 'auto' takes the
 * best ISA the CPU has; a named one the CPU lacks is a reason, never an illegal instruction. `by` says in `detail`
 * who asked for a named ISA (the main thread's choice is passed to workers as a name).
 */
export async function loadNativeKernel(isa: NativeIsaChoice = 'auto', by = 'option'): Promise<NativeLoad> {
  const mask = featureMask();
  const key = `${isa} ${by} ${mask}`;
  let k = kernels.get(key);
  if (!k) {
    library ??= openLibrary().catch((e: unknown) => `cannot load: ${e instanceof Error ? e.message : String(e)}`);
    const l = await library;
    k = typeof l === 'string' ? { reason: l } : bindKernel({ ...l, features: l.features & mask }, isa, by);
    const masked = mask === -1 ? '' : ` (FLASHMLA_CPU_FEATURE_MASK=${process.env.FLASHMLA_CPU_FEATURE_MASK})`;
    if (masked && k.reason !== undefined) k = { reason: k.reason + masked };
    if (masked && k.kernel) k.kernel.detail += masked;
    kernels.set(key, k);
  }
  return k;
}

/**
 * FLASHMLA_CPU_FEATURE_MASK (an integer, e.g. 1 = AVX2 only on x86-64, plain NEON on arm64) is ANDed with what
 * features.c reports: it can hide instruction sets the CPU has (to test the fallbacks and refusals, or to see what a
 * CI machine without AVX-512 would run), never add one.
 */
function featureMask(): number {
  const m = process.env.FLASHMLA_CPU_FEATURE_MASK;
  return m === undefined || m === '' || !Number.isInteger(Number(m)) ? -1 : Number(m) | 0;
}

async function openLibrary(): Promise<Lib | string> {
  if (!archIsas[process.arch] || (process.arch === 'arm64' && process.platform !== 'linux')) {
    return `no native kernel for ${process.platform} ${process.arch} (x86-64, and arm64 Linux)`;
  }
  const dir = nativeLibDir(), file = join(dir, nativeLibName);
  if (!existsSync(file)) return `${file} not built (npm run build, or node scripts/build-cpu.mjs)`;
  let manifest: { files?: Record<string, string> };
  try { manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')); } catch { return `${dir}/manifest.json missing or unreadable`; }
  const want = manifest.files?.[nativeLibName];
  const got = createHash('sha256').update(readFileSync(file)).digest('hex');
  if (want !== got) return `${nativeLibName}: sha256 ${got.slice(0, 12)}... does not match manifest.json (${String(want).slice(0, 12)}...); rebuild`;
  const koffi = (await import('koffi')).default;
  const lib = koffi.load(file);
  const features = lib.func('int32_t flashmla_cpu_features(void)')() as number;
  const abi = lib.func('int32_t flashmla_cpu_abi(void)')() as number;
  if (abi !== nativeAbi) return `${nativeLibName} was built for another parameter layout (abi ${abi}); rebuild`;
  return { lib, features, file };
}

function bindKernel({ lib, features, file }: Lib, request: NativeIsaChoice, by: string): NativeLoad {
  const arch = archIsas[process.arch];
  const have = isasFor(features);
  if (!have.length) return { reason: `this CPU lacks ${arch.baseline}` };
  const bind = (isa: NativeIsa): ((...a: unknown[]) => number) | string => {
    try {
      return lib.func(`int ${isaTable[isa].entry}(const int32_t *prm, float scale, const uint16_t *q, const void *kCache, `
        + 'const int32_t *blockTable, uint16_t *out, float *lse, float *oAccum, float *lseAccum)') as (...a: unknown[]) => number;
    } catch (e) {
      return `${nativeLibName} has no ${isaTable[isa].entry} (built without it? see manifest.json "skipped"; ${e instanceof Error ? e.message : String(e)})`;
    }
  };
  let isa: NativeIsa, why: string, fn: ((...a: unknown[]) => number) | string;
  if (request === 'auto') {
    // The best ISA the CPU has whose entry point the library holds (a compiler without AVX-512 flags leaves them out).
    const absent: NativeIsa[] = [];
    isa = have[0];
    fn = bind(isa);
    while (typeof fn === 'string' && absent.length + 1 < have.length) {
      absent.push(isa);
      isa = have[absent.length];
      fn = bind(isa);
    }
    why = absent.length ? `chosen: the library lacks ${absent.join(', ')}`
      : isaTable[isa].better ? `chosen: this CPU lacks ${isaTable[isa].better}` : 'chosen: the best this CPU has';
  } else {
    if (!allNativeIsas.includes(request)) return { reason: `no native ISA '${String(request)}' (${nativeIsaChoices.join(' | ')})` };
    if (!arch.isas.includes(request)) return { reason: `ISA ${request} forced (${by}) but this is ${arch.name} (its ISAs: ${arch.isas.join(', ')})` };
    if (!have.includes(request)) return { reason: `ISA ${request} forced (${by}) but this CPU lacks ${isaTable[request].needs} (it has: ${have.join(', ')})` };
    isa = request;
    why = `forced by ${by}${have[0] !== isa ? `; ${have[0]} available` : ''}`;
    fn = bind(isa);
  }
  if (typeof fn === 'string') return { reason: fn };
  const entry = fn;
  const prm = new Int32Array(itemFields.length);
  // An entry a unit may leave out: undefined when the library has none.
  const optional = (decl: string): ((...a: unknown[]) => number) | undefined => {
    try { return lib.func(decl) as (...a: unknown[]) => number; } catch { return undefined; }
  };
  // A unit built without SPARSE_ENTRY (decode_common.h) has no sparse entry: its sparse calls run the scalar kernel.
  const sparseFn = optional(`int ${isaTable[isa].sparseEntry}(const int32_t *prm, float scale, const uint16_t *q, const void *kCache, `
    + 'const void *extraKCache, const int32_t *indices, const int32_t *extraIndices, const float *attnSink, uint16_t *out, float *lse, '
    + 'float *oAccum, float *lseAccum)');
  const sprm = new Int32Array(sparseItemFields.length);
  // The split combine (decode_common.h COMBINE_ENTRY, named as the unit's dense entry); a library without it leaves
  // the combine to kernel.ts's JavaScript.
  const combine = optional(`int ${isaTable[isa].entry.replace('decode_item', 'combine_item')}(const int32_t *prm, const float *oAccum, `
    + 'const float *lseAccum, uint16_t *out, float *lse)');
  const cprm = new Int32Array(itemFields.length);
  return {
    kernel: {
      name: 'native',
      isa,
      detail: `${arch.name} ${isaTable[isa].label}, ${why}${sparseFn ? '' : `; no ${isaTable[isa].sparseEntry}: sparse decode runs the scalar kernel`} (${file})`,
      runDecodeUnit(a: CpuDecodeArgs, u: number): void {
        forEachItem(a, u, prm, (pr) => {
          const rc = entry(pr, a.p.softmaxScale, a.q, a.kCache, a.blockTable, a.out, a.lse, a.oAccum, a.lseAccum);
          if (rc === -1) throw new FlashMlaError('out_of_memory', `native CPU kernel: scratch allocation failed (rc ${rc})`);
          if (rc !== 0) throw new FlashMlaError('driver_error', `native CPU kernel: refused the item (rc ${rc})`);
        });
      },
      // The dense entry reads FP8 caches where the unit has the sparse entry (decode_common.h's FP8 loader comes with it).
      denseFp8: !!sparseFn,
      runCombineUnit: combine && ((a: CpuDecodeArgs, i: number): void => {
        if (a.numSplits[i + 1] - a.numSplits[i] <= 1) return;
        packCombine(a, i, cprm);
        const rc = combine(cprm, a.oAccum, a.lseAccum, a.out, a.lse);
        if (rc !== 0) throw new FlashMlaError('out_of_memory', `native CPU combine: scratch allocation failed (rc ${rc})`);
      }),
      runSparseUnit: sparseFn && ((a: CpuSparseArgs, part: number): void => {
        forEachSparseItem(a, part, sprm, (pr) => {
          const rc = sparseFn(pr, a.p.softmaxScale, a.q, a.kCache, a.extraKCache ?? null, a.indices, a.extraIndices ?? null, a.attnSink ?? null,
            a.out, a.lse, a.oAccum, a.lseAccum);
          if (rc === -1) throw new FlashMlaError('out_of_memory', `native CPU sparse kernel: scratch allocation failed (rc ${rc})`);
          if (rc !== 0) throw new FlashMlaError('driver_error', `native CPU sparse kernel: refused the item (rc ${rc})`);
        });
      }),
    },
  };
}
