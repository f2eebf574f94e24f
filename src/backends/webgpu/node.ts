// Node glue for the WebGPU backend: Dawn through the `webgpu` package. Kept apart so browser bundles never
// import it.
import { create, globals } from 'webgpu';
import type { WebGpuBackend } from './backend.js';
import { type CreateWebGpuBackendOptions, createWebGpuBackend } from './index.js';
import { withDawnQuiet } from './quiet.js';

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

export interface NodeWebGpuBackendOptions extends CreateWebGpuBackendOptions {
  /** Let Dawn's own start-up warnings through to stderr (default: FLASHMLA_DAWN_LOG=1). */
  dawnLog?: boolean;
}

/** A WebGPU backend on Dawn. Dawn's start-up warnings stay out of stderr unless `dawnLog` asks for them. */
export async function createNodeWebGpuBackend(opts: NodeWebGpuBackendOptions = {}): Promise<WebGpuBackend> {
  const { dawnLog, ...rest } = opts;
  return withDawnQuiet(
    async () => createWebGpuBackend({ ...rest, gpu: rest.gpu ?? (rest.device || rest.adapter ? undefined : nodeGpu()) }),
    dawnLog ?? process.env.FLASHMLA_DAWN_LOG === '1',
  );
}
