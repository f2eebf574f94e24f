// Node-only: find, verify (sha256 against dist/cpu/manifest.json) and load the native CPU kernel through koffi.
// Everything that can go wrong becomes a reason string for `flashmla info`, never a throw.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FlashMlaError } from '../../../core/errors.js';
import { type CpuKernel, forEachItem, itemFields } from '../item.js';
import type { CpuDecodeArgs } from '../kernel.js';

export const nativeLibName = `libflashmla_cpu-${process.platform}-${process.arch}.${process.platform === 'darwin' ? 'dylib' : 'so'}`;

/** dist/cpu of the package (src/backends/cpu/native and dist/backends/cpu/native both sit below its root). */
export function nativeLibDir(): string {
  if (process.env.FLASHMLA_CPU_LIB_DIR) return resolve(process.env.FLASHMLA_CPU_LIB_DIR);
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'package.json')) && dirname(d) !== d) d = dirname(d);
  return join(d, 'dist/cpu');
}

export type NativeLoad = { kernel: CpuKernel; reason?: undefined } | { kernel?: undefined; reason: string };

let cached: NativeLoad | undefined;

/** Load once per thread (each worker thread binds the library itself). */
export async function loadNativeKernel(): Promise<NativeLoad> {
  cached ??= await load().catch((e: unknown) => ({ reason: `cannot load: ${e instanceof Error ? e.message : String(e)}` }));
  return cached;
}

async function load(): Promise<NativeLoad> {
  if (process.arch !== 'x64') return { reason: `no native kernel for ${process.arch} (x86-64 only)` };
  const dir = nativeLibDir(), file = join(dir, nativeLibName);
  if (!existsSync(file)) return { reason: `${file} not built (npm run build, or node scripts/build-cpu.mjs)` };
  let manifest: { files?: Record<string, string> };
  try { manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')); } catch { return { reason: `${dir}/manifest.json missing or unreadable` }; }
  const want = manifest.files?.[nativeLibName];
  const got = createHash('sha256').update(readFileSync(file)).digest('hex');
  if (want !== got) return { reason: `${nativeLibName}: sha256 ${got.slice(0, 12)}... does not match manifest.json (${String(want).slice(0, 12)}...); rebuild` };
  const koffi = (await import('koffi')).default;
  const lib = koffi.load(file);
  const features = lib.func('int32_t flashmla_cpu_features(void)')() as number;
  const abi = lib.func('int32_t flashmla_cpu_abi(void)')() as number;
  if (abi !== itemFields.length * 1000 + 1) return { reason: `${nativeLibName} was built for another parameter layout (abi ${abi}); rebuild` };
  if (!(features & 1)) return { reason: 'this CPU lacks AVX2, FMA or F16C' };
  const fn = lib.func('int flashmla_cpu_decode_item(const int32_t *prm, float scale, const uint16_t *q, const uint16_t *kCache, '
    + 'const int32_t *blockTable, uint16_t *out, float *lse, float *oAccum, float *lseAccum)') as (...a: unknown[]) => number;
  const prm = new Int32Array(itemFields.length);
  const isa = ['AVX2+FMA', features & 2 ? 'AVX-512F present, unused' : '', features & 4 ? 'AVX512_BF16 present, unused' : ''].filter(Boolean).join('; ');
  return {
    kernel: {
      name: 'native',
      detail: `x86-64 ${isa} (${file})`,
      runDecodeUnit(a: CpuDecodeArgs, u: number): void {
        forEachItem(a, u, prm, (pr) => {
          const rc = fn(pr, a.p.softmaxScale, a.q, a.kCache, a.blockTable, a.out, a.lse, a.oAccum, a.lseAccum);
          if (rc !== 0) throw new FlashMlaError('out_of_memory', `native CPU kernel: scratch allocation failed (rc ${rc})`);
        });
      },
    },
  };
}
