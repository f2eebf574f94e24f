// The CPU kernel rungs a test can run here: the native library (built into a temporary folder when a C compiler is
// there, or with CI=true the one `npm run build` put in dist/cpu, which must load) once per instruction set this CPU
// has (AVX-512 with AVX512_BF16, AVX-512, AVX2: each ISA's kernel is its own code), then WebAssembly SIMD (every
// Node >= 20), then scalar JavaScript. Shared by test/backends/cpu-paths.test.ts and cpu-inf.test.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import type { CpuKernel } from '../../src/backends/cpu/item.js';
import { type NativeIsa, nativeIsas } from '../../src/backends/cpu/native/loader.js';
import { chooseCpuKernel } from '../../src/backends/cpu/paths.js';

const ci = process.env.CI === 'true';

/** Make the native library available; returns why not when it cannot be. */
async function prepareNative(): Promise<string | undefined> {
  if (ci || process.env.FLASHMLA_CPU_LIB_DIR) return undefined; // use what the build produced
  const dir = mkdtempSync(join(tmpdir(), 'flashmla-cpu-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  // @ts-expect-error: a plain .mjs build script without types
  const { buildCpu } = await import('../../scripts/build-cpu.mjs');
  const r = buildCpu(dir, { cross: false }) as { ok: boolean; failed?: boolean; message: string };
  if (r.failed) throw new Error(r.message);
  if (!r.ok) return r.message;
  process.env.FLASHMLA_CPU_LIB_DIR = dir; // read by the loader here and in worker threads (they copy process.env)
  return undefined;
}

export interface CpuRungs {
  /** The vector rungs that load here, native first (one per ISA: "native avx2"...): [name, its kernel]. */
  vector: [string, CpuKernel][];
  /** Why the native rung does not run here (undefined when it does). */
  nativeSkip?: string;
  /** Per native ISA: why it does not run here (undefined when it does), for a test's `skip`. */
  isaSkip: Record<NativeIsa, string | undefined>;
}

let found: Promise<CpuRungs> | undefined;

/** Find the vector rungs once per test file (a failing native build, or a native load failure on CI, throws). */
export function cpuRungs(): Promise<CpuRungs> {
  found ??= (async () => {
    const skip = await prepareNative();
    const pick = skip ? undefined : await chooseCpuKernel('native').catch((e: Error) => e);
    if (pick instanceof Error && ci) throw pick;
    const nativeSkip = skip ?? (pick instanceof Error ? pick.message : undefined);
    if (nativeSkip) console.log(`# native CPU kernel skipped: ${nativeSkip}`);
    const vector: [string, CpuKernel][] = [];
    const isaSkip = {} as Record<NativeIsa, string | undefined>;
    for (const isa of nativeIsas) {
      const k = nativeSkip ? nativeSkip : await chooseCpuKernel('native', isa).then((p) => p.kernel, (e: Error) => e.message);
      if (typeof k === 'string') {
        isaSkip[isa] = k;
        if (!nativeSkip) console.log(`# native CPU kernel, ISA ${isa} skipped: ${k}`);
      } else vector.push([`native ${isa}`, k]);
    }
    vector.push(['wasm', (await chooseCpuKernel('wasm')).kernel]);
    return { vector, nativeSkip, isaSkip };
  })();
  return found;
}
