// Node-only: which CPU kernel runs, and why. The ladder is native (C, loaded through koffi: AVX-512 with
// AVX512_BF16, AVX-512, or AVX2+FMA, the best the CPU has) -> WebAssembly SIMD (wasm/kernel.ts, browser-safe) ->
// scalar JavaScript (kernel.ts, the reference rung). `kernel` in createCpuBackend() or FLASHMLA_CPU_KERNEL forces
// a rung, `isa` or FLASHMLA_CPU_ISA the native kernel's instruction set; a forced rung or ISA that cannot run is an
// error, never a silent fallback.
import { FlashMlaError, invalidArgument } from '../../core/errors.js';
import { type CpuKernel, type CpuKernelName, scalarKernel } from './item.js';
import { type NativeIsa, type NativeIsaChoice, loadNativeKernel, nativeIsaChoices } from './native/loader.js';
import { createWasmKernel } from './wasm/kernel.js';

export type CpuKernelChoice = CpuKernelName | 'auto';
export type { NativeIsa, NativeIsaChoice };
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

/** Load the named rung, the native one with `isa` (worker threads: the main thread's choice). */
export async function cpuKernelByName(name: CpuKernelName, isa: NativeIsaChoice = 'auto', by = 'option'): Promise<CpuKernel> {
  if (name === 'scalar') return scalarKernel;
  if (name === 'native') {
    const r = await loadNativeKernel(isa, by);
    if (r.kernel) return r.kernel;
    throw new FlashMlaError('backend_unavailable', `CPU kernel 'native'${isa === 'auto' ? '' : ` with ISA ${isa}`} cannot run here: ${r.reason}`);
  }
  if (name === 'wasm') {
    const k = wasmKernel();
    if (typeof k !== 'string') return k;
    throw new FlashMlaError('backend_unavailable', `CPU kernel 'wasm' cannot run here: ${k}`);
  }
  throw new FlashMlaError('backend_unavailable', `CPU kernel '${name}' is not part of this build`);
}

/** The native ISA asked for: `request`, else FLASHMLA_CPU_ISA, else 'auto'; and who asked. */
function isaRequest(request?: NativeIsaChoice): { isa: NativeIsaChoice; by: string } {
  const env = process.env.FLASHMLA_CPU_ISA || undefined;
  const isa = request ?? (env as NativeIsaChoice | undefined) ?? 'auto';
  const by = request ? `option isa: '${request}'` : env ? `FLASHMLA_CPU_ISA=${env}` : 'auto';
  if (!nativeIsaChoices.includes(isa)) throw invalidArgument(request ? 'isa' : 'FLASHMLA_CPU_ISA', nativeIsaChoices.join(' | '), JSON.stringify(isa));
  return { isa, by };
}

/**
 * Pick the CPU kernel: `request`, else FLASHMLA_CPU_KERNEL, else the first rung that loads; the native rung with
 * `isa`, else FLASHMLA_CPU_ISA, else the best ISA the CPU has. A named ISA the CPU lacks throws (also under 'auto':
 * a comparison run must not quietly measure another kernel); it matters only where the native rung is considered.
 */
export async function chooseCpuKernel(request?: CpuKernelChoice, isaChoice?: NativeIsaChoice): Promise<CpuKernelPick> {
  const env = process.env.FLASHMLA_CPU_KERNEL || undefined;
  const want = request ?? (env as CpuKernelChoice | undefined) ?? 'auto';
  const by = want === 'auto' ? 'auto' : request ? 'option' : 'FLASHMLA_CPU_KERNEL';
  if (!cpuKernelChoices.includes(want)) throw invalidArgument(by === 'option' ? 'kernel' : 'FLASHMLA_CPU_KERNEL', cpuKernelChoices.join(' | '), JSON.stringify(want));
  const isa = want === 'auto' || want === 'native' ? isaRequest(isaChoice) : { isa: 'auto' as const, by: 'auto' };
  if (want !== 'auto') return { kernel: await cpuKernelByName(want, isa.isa, isa.by), skipped: [], by };
  const skipped: string[] = [];
  const native = await loadNativeKernel(isa.isa, isa.by);
  if (native.kernel) return { kernel: native.kernel, skipped, by };
  if (isa.isa !== 'auto') throw new FlashMlaError('backend_unavailable', `CPU kernel 'native' with ISA ${isa.isa} (${isa.by}) cannot run here: ${native.reason}`);
  skipped.push(`native: ${native.reason}`);
  const w = wasmKernel();
  if (typeof w !== 'string') return { kernel: w, skipped, by };
  skipped.push(`wasm: ${w}`);
  return { kernel: scalarKernel, skipped, by };
}
