// Where the CUDA backend finds its kernels and how it loads them: dist/cuda's fatbins, each checked against the
// sha256 in manifest.json (scripts/build-kernels.mjs writes both), so a stale or damaged build is refused.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FlashMlaError } from '../../core/errors.js';

const here = dirname(fileURLToPath(import.meta.url));

/** dist/cuda next to the compiled module (dist/backends/cuda/index.js), or <package root>/dist/cuda from src/ or elsewhere. */
export function findKernelDir(explicit?: string): string | undefined {
  const tried = [explicit, process.env.FLASHMLA_CUDA_KERNELS].filter((d): d is string => !!d);
  for (let d = here, i = 0; i < 8; i++, d = dirname(d)) tried.push(join(d, 'cuda'), join(d, 'dist', 'cuda'));
  return tried.find((d) => existsSync(join(d, 'manifest.json')));
}

export interface Manifest {
  nvcc: string;
  files: Record<string, string>;
  /** Threads of dense_fp8_sm90.cu's 16-row entry in an A/B folder (bench/cuda/dense-fp8/ab.sh writes it: 512 for a
      three-consumer build, bit 2199023255552, else 384); absent: the shipped build's (dense-fp8-sm90-launch.ts). */
  denseFp8Sm90Threads16?: number;
  /** dense_fp8_sm90.cu's dispatch threshold in an A/B folder of a build with bit 4398046511104 (ab.sh writes it): tiles
      an SM part from which a 16-row launch takes the n16w3 entry; null in a folder of a build without that entry (ab.sh
      writes it); absent: the shipped build's (dense-fp8-sm90-launch.ts, 48 since session 18). */
  denseFp8Sm90W3Tiles?: number | null;
}

export function loadImage(dir: string, manifest: Manifest, file: string): Uint8Array {
  const path = join(dir, file);
  if (!existsSync(path)) throw new FlashMlaError('backend_unavailable', `cuda: ${path} is missing; rebuild the kernels (npm run build with nvcc)`);
  const bytes = readFileSync(path);
  const sum = createHash('sha256').update(bytes).digest('hex');
  if (manifest.files[file] !== sum) {
    throw new FlashMlaError('backend_unavailable', `cuda: ${path} does not match the checksum in manifest.json (stale or damaged build); rebuild the kernels`);
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
