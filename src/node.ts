// flashmla-ts/node: backend discovery for Node. Each backend module is imported only when asked for, so a
// machine without koffi / libcuda / Dawn still gets the CPU, and the reasons the others were skipped.
import { FlashMlaError } from './core/errors.js';
import { isSoftwareAdapter } from './core/software-adapter.js';
import type { Backend, BackendInfo } from './core/problem.js';
import type { DeviceKind } from './core/tensor.js';

export * from './index.js';

export type BackendKind = DeviceKind;

/** How each backend is reached: a module of this package and the factory it exports. */
const factories: Readonly<Record<BackendKind, { module: string; factory: string }>> = {
  cuda: { module: './backends/cuda/index.js', factory: 'createCudaBackend' },
  webgpu: { module: './backends/webgpu/node.js', factory: 'createNodeWebGpuBackend' },
  cpu: { module: './backends/cpu/index.js', factory: 'createCpuBackend' },
};

/** Fastest first. */
export const backendOrder: readonly BackendKind[] = ['cuda', 'webgpu', 'cpu'];

export interface BackendOptions {
  /** Options passed to the factory of each kind (e.g. { cpu: { workers: 2 } }). */
  options?: Partial<Record<BackendKind, Record<string, unknown>>>;
}

/**
 * Start a backend of one kind. Throws FlashMlaError('backend_unavailable') saying why when the module cannot be
 * loaded (not built, a dependency missing) or the factory finds no device.
 */
export async function createBackend(kind: BackendKind, opts: BackendOptions = {}): Promise<Backend> {
  const f = factories[kind];
  if (!f) throw new FlashMlaError('invalid_argument', `backend: expected one of ${backendOrder.join(', ')}, got ${String(kind)}`, 'backend');
  let mod: Record<string, unknown>;
  try {
    // A computed specifier: these modules are optional, so neither the type checker nor a bundler may require them.
    const spec = f.module;
    mod = (await import(spec)) as Record<string, unknown>;
  } catch (e) {
    const missingSelf = (e as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' && firstLine(e).includes(f.module.slice(2).replace(/\.js$/, ''));
    throw new FlashMlaError('backend_unavailable', missingSelf ? `${kind}: not in this build (${f.module} not found)` : `${kind}: cannot load ${f.module}: ${firstLine(e)}`);
  }
  const create = mod[f.factory];
  if (typeof create !== 'function') throw new FlashMlaError('backend_unavailable', `${kind}: ${f.module} has no ${f.factory}()`);
  try {
    return (await (create as (o?: unknown) => Promise<Backend>)(opts.options?.[kind])) as Backend;
  } catch (e) {
    // Every reason starts with the kind's own name, whatever the factory wrote ("WebGPU: ..." included).
    const why = firstLine(e).replace(new RegExp(`^${kind}:\\s*`, 'i'), '');
    throw new FlashMlaError('backend_unavailable', `${kind}: ${why}`);
  }
}

export interface BestBackendOptions extends BackendOptions {
  /** Try this kind first, then the others fastest first. */
  prefer?: BackendKind;
}

/** Why each kind tried before the chosen one was skipped (also filled in by createBestBackend's result). */
export interface Skipped { kind: BackendKind; reason: string }

/**
 * The fastest backend that starts here: CUDA, then WebGPU, then the CPU (or `prefer` first). The kinds skipped
 * and why are attached as `skipped`.
 */
export async function createBestBackend(opts: BestBackendOptions = {}): Promise<Backend & { skipped: Skipped[] }> {
  const order = opts.prefer ? [opts.prefer, ...backendOrder.filter((k) => k !== opts.prefer)] : [...backendOrder];
  const skipped: Skipped[] = [];
  for (const kind of order) {
    try {
      const b = await createBackend(kind, opts);
      if (kind === 'webgpu' && opts.prefer !== 'webgpu' && isSoftwareAdapter(b.info)) {
        // Lavapipe / SwiftShader emulate a GPU on the CPU: slower than the CPU backend, so not "best".
        b.dispose();
        skipped.push({ kind, reason: `webgpu: ${b.info.device} is a software adapter (ask for it with prefer: 'webgpu')` });
        continue;
      }
      return Object.assign(b, { skipped });
    } catch (e) {
      if (!(e instanceof FlashMlaError) || e.code !== 'backend_unavailable') throw e;
      skipped.push({ kind, reason: e.message });
    }
  }
  throw new FlashMlaError('backend_unavailable', `no backend could start: ${skipped.map((s) => s.reason).join('; ')}`);
}

export type BackendReport =
  | { kind: BackendKind; available: true; info: BackendInfo }
  | { kind: BackendKind; available: false; reason: string };

/** Start each backend in turn to report its device (or why it is unavailable), then dispose it. */
export async function listBackends(opts: BackendOptions = {}): Promise<BackendReport[]> {
  const out: BackendReport[] = [];
  for (const kind of backendOrder) {
    try {
      const b = await createBackend(kind, opts);
      out.push({ kind, available: true, info: b.info });
      b.dispose();
    } catch (e) {
      out.push({ kind, available: false, reason: e instanceof Error ? e.message : String(e) });
    }
  }
  return out;
}

export { isSoftwareAdapter };

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0];
}
