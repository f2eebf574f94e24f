// Node glue for the WebGPU backend: Dawn through the `webgpu` package. Kept apart so browser bundles never
// import it.
import { create, globals } from 'webgpu';
import type { WebGpuBackend } from './backend.js';
import { type CreateWebGpuBackendOptions, createWebGpuBackend } from './index.js';

// Dawn must outlive every device it made: keep the instance for the whole process.
let gpu: GPU | undefined;

/** navigator.gpu for Node (Dawn). `flags` are Dawn options, e.g. 'enable-dawn-features=...'. */
export function nodeGpu(flags: string[] = []): GPU {
  if (!gpu) {
    Object.assign(globalThis, globals);
    gpu = create(['disable-dawn-features=timestamp_quantization', ...flags]) as GPU;
  }
  return gpu;
}

export async function createNodeWebGpuBackend(opts: CreateWebGpuBackendOptions = {}): Promise<WebGpuBackend> {
  return createWebGpuBackend({ ...opts, gpu: opts.gpu ?? (opts.device || opts.adapter ? undefined : nodeGpu()) });
}
