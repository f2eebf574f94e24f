// The one place the browser-safe entry wires a backend into core: host tensors run on the in-thread CPU backend
// unless the caller names another (core/api.ts imports no backend; see docs/architecture.md).
import { InlineCpuBackend } from './backends/cpu/inline.js';
import { setDefaultHostBackend } from './core/api.js';

setDefaultHostBackend(() => new InlineCpuBackend());
