// Node-only: which CPU kernel runs, and why. The ladder is native (C with AVX2+FMA, loaded through koffi) ->
// scalar JavaScript (kernel.ts, the reference rung). `kernel` in createCpuBackend() or FLASHMLA_CPU_KERNEL forces
// a rung; a forced rung that cannot load is an error, never a silent fallback.
import { FlashMlaError, invalidArgument } from '../../core/errors.js';
import { type CpuKernel, type CpuKernelName, scalarKernel } from './item.js';
import { loadNativeKernel } from './native/loader.js';

export type CpuKernelChoice = CpuKernelName | 'auto';
export const cpuKernelChoices: readonly CpuKernelChoice[] = ['auto', 'native', 'scalar'];

export interface CpuKernelPick {
  kernel: CpuKernel;
  /** One line per rung above the chosen one: why it was not taken. */
  skipped: string[];
  /** How the choice was made: "auto", "option" or "FLASHMLA_CPU_KERNEL". */
  by: string;
}

/** Load the named rung (used by worker threads after the main thread chose). */
export async function cpuKernelByName(name: CpuKernelName): Promise<CpuKernel> {
  if (name === 'scalar') return scalarKernel;
  if (name === 'native') {
    const r = await loadNativeKernel();
    if (r.kernel) return r.kernel;
    throw new FlashMlaError('backend_unavailable', `CPU kernel 'native' cannot run here: ${r.reason}`);
  }
  throw new FlashMlaError('backend_unavailable', `CPU kernel '${name}' is not part of this build`);
}

/** Pick the CPU kernel: `request`, else FLASHMLA_CPU_KERNEL, else the first rung that loads. */
export async function chooseCpuKernel(request?: CpuKernelChoice): Promise<CpuKernelPick> {
  const env = process.env.FLASHMLA_CPU_KERNEL || undefined;
  const want = request ?? (env as CpuKernelChoice | undefined) ?? 'auto';
  const by = request ? 'option' : env ? 'FLASHMLA_CPU_KERNEL' : 'auto';
  if (!cpuKernelChoices.includes(want)) throw invalidArgument(by === 'option' ? 'kernel' : 'FLASHMLA_CPU_KERNEL', cpuKernelChoices.join(' | '), JSON.stringify(want));
  if (want !== 'auto') return { kernel: await cpuKernelByName(want), skipped: [], by };
  const skipped: string[] = [];
  const native = await loadNativeKernel();
  if (native.kernel) return { kernel: native.kernel, skipped, by };
  skipped.push(`native: ${native.reason}`);
  return { kernel: scalarKernel, skipped, by };
}
