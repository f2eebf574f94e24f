// Choosing the backend a command runs on.
import type { Backend } from '../core/problem.js';
import { type BackendKind, type Skipped, createBackend, createBestBackend } from '../node.js';

export const backendChoices = ['best', 'cuda', 'webgpu', 'cpu'] as const;
export type BackendChoice = (typeof backendChoices)[number];

export async function openBackend(choice: BackendChoice, workers?: number, cpuKernel?: string, cpuIsa?: string): Promise<{ backend: Backend; skipped: Skipped[] }> {
  const options = workers || cpuKernel || cpuIsa ? { cpu: { workers, kernel: cpuKernel, isa: cpuIsa } } : undefined;
  if (choice === 'best') {
    const backend = await createBestBackend({ options });
    return { backend, skipped: backend.skipped };
  }
  return { backend: await createBackend(choice as BackendKind, { options }), skipped: [] };
}
