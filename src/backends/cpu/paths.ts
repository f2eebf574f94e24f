// Node-only: which CPU kernel runs, and why. The ladder is native (C with AVX2+FMA, loaded through koffi) ->
// WebAssembly SIMD (wasm/kernel.ts, browser-safe) -> scalar JavaScript (kernel.ts, the reference rung). `kernel` in createCpuBackend() or FLASHMLA_CPU_KERNEL forces
// a rung; a forced rung that cannot load is an error, never a silent fallback.
import { FlashMlaError, invalidArgument } from '../../core/errors.js';
import { type CpuKernel, type CpuKernelName, scalarKernel } from './item.js';
import { loadNativeKernel } from './native/loader.js';
import { createWasmKernel } from './wasm/kernel.js';

export type CpuKernelChoice = CpuKernelName | 'auto';
export const cpuKernelChoices: readonly CpuKernelChoice[] = ['auto', 'native', 'wasm', 'scalar'];

let wasm: CpuKernel | string | undefined;
/** The WebAssembly rung of this thread (instantiated once), or why it cannot run. */
function wasmKernel(): CpuKernel | string {
  if (wasm === undefined) {
    try { wasm = createWasmKernel(); } catch (e) { wasm = `cannot instantiate: ${e instanceof Error ? e.message : String(e)}`; }
  }
  return wasm;
}

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
  if (name === 'wasm') {
    const k = wasmKernel();
    if (typeof k !== 'string') return k;
    throw new FlashMlaError('backend_unavailable', `CPU kernel 'wasm' cannot run here: ${k}`);
  }
  throw new FlashMlaError('backend_unavailable', `CPU kernel '${name}' is not part of this build`);
}

/** Pick the CPU kernel: `request`, else FLASHMLA_CPU_KERNEL, else the first rung that loads. */
export async function chooseCpuKernel(request?: CpuKernelChoice): Promise<CpuKernelPick> {
  const env = process.env.FLASHMLA_CPU_KERNEL || undefined;
  const want = request ?? (env as CpuKernelChoice | undefined) ?? 'auto';
  const by = want === 'auto' ? 'auto' : request ? 'option' : 'FLASHMLA_CPU_KERNEL';
  if (!cpuKernelChoices.includes(want)) throw invalidArgument(by === 'option' ? 'kernel' : 'FLASHMLA_CPU_KERNEL', cpuKernelChoices.join(' | '), JSON.stringify(want));
  if (want !== 'auto') return { kernel: await cpuKernelByName(want), skipped: [], by };
  const skipped: string[] = [];
  const native = await loadNativeKernel();
  if (native.kernel) return { kernel: native.kernel, skipped, by };
  skipped.push(`native: ${native.reason}`);
  const w = wasmKernel();
  if (typeof w !== 'string') return { kernel: w, skipped, by };
  skipped.push(`wasm: ${w}`);
  return { kernel: scalarKernel, skipped, by };
}
