// flashmla-ts: browser-safe root entry. Node-only backends live under the subpaths flashmla-ts/cpu (worker
// threads), flashmla-ts/cuda (koffi) and flashmla-ts/node (backend discovery); flashmla-ts/webgpu works anywhere.
export * from './core/dtype.js';
export * from './core/errors.js';
export * from './core/tensor.js';
export * from './core/problem.js';
export * from './core/scheduler.js';
export * from './core/reference.js';
export * from './core/validate.js';
export * from './core/api.js';
export { InlineCpuBackend } from './backends/cpu/inline.js';
import './host-backend.js';
export { createWasmKernel, wasmSupport } from './backends/cpu/wasm/kernel.js';
export type { CpuKernel, CpuKernelName } from './backends/cpu/item.js';

export * from './core/kvcache.js';
export * from './core/memory-plan.js';
export * from './core/mla/index.js';
export * from './core/fp8.js';
export * from './core/sparse-scheduler.js';
export * from './core/sparse.js';
export * from './core/sparse-api.js';
export * from './core/reference-sparse.js';
export * from './core/dense-fp8.js';
