// The CPU kernel rungs a test can run here: the native library (built into a temporary folder when a C compiler is
// there, or with CI=true the one `npm run build` put in dist/cpu, which must load), then WebAssembly SIMD (every
// Node >= 20), then scalar JavaScript. Shared by test/backends/cpu-paths.test.ts and cpu-inf.test.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import type { CpuKernel } from '../../src/backends/cpu/item.js';
import { chooseCpuKernel } from '../../src/backends/cpu/paths.js';

const ci = process.env.CI === 'true';

/** Make the native library available; returns why not when it cannot be. */
async function prepareNative(): Promise<string | undefined> {
  if (ci || process.env.FLASHMLA_CPU_LIB_DIR) return undefined; // use what the build produced
  const dir = mkdtempSync(join(tmpdir(), 'flashmla-cpu-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  // @ts-expect-error: a plain .mjs build script without types
  const { buildCpu } = await import('../../scripts/build-cpu.mjs');
  const r = buildCpu(dir) as { ok: boolean; failed?: boolean; message: string };
  if (r.failed) throw new Error(r.message);
  if (!r.ok) return r.message;
  process.env.FLASHMLA_CPU_LIB_DIR = dir; // read by the loader here and in worker threads (they copy process.env)
  return undefined;
}

export interface CpuRungs {
  /** The vector rungs that load here, native first: [name, its kernel]. */
  vector: [string, CpuKernel][];
  /** Why the native rung does not run here (undefined when it does). */
  nativeSkip?: string;
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
    if (pick && !(pick instanceof Error)) vector.push(['native', pick.kernel]);
    vector.push(['wasm', (await chooseCpuKernel('wasm')).kernel]);
    return { vector, nativeSkip };
  })();
  return found;
}
