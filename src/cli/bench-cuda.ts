// `flashmla bench --mode host | graphs`: the CUDA-only routines of src/bench/cuda-routines.ts, as JSON.
//   host    the host time of one decode call (flashMlaWithKvcache with host / device index tensors, MlaDecoder.run,
//           validation, backend.decode) and of the bare driver calls, b=1 seqlen 256 hQ=16
//   graphs  a 61-layer decode step run directly vs replayed as one CUDA graph (b = 1, 8, 128)
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { CudaBackend } from '../backends/cuda/index.js';
import { cudaPagePool, graphSaving, hostOverhead } from '../bench/cuda-routines.js';
import { UsageError, parse, stringArg } from './args.js';
import { openBackend } from './backend.js';
import { gitCommit } from './bench.js';

export const benchCudaHelp = `Usage: flashmla bench --mode host|graphs [--out FILE]

CUDA only. host: the host time of one decode call and its parts (median of 4000 calls after 1000).
graphs: a 61-layer decode step run directly vs replayed as one CUDA graph.
  --out FILE   result JSON (default ./flashmla-bench-cuda-<mode>-<date>.json)`;

export async function benchCuda(mode: 'host' | 'graphs', argv: string[]): Promise<void> {
  const { values: v, help } = parse('bench', argv, { out: { type: 'string' }, backend: { type: 'string' }, quiet: { type: 'boolean', short: 'q' } });
  if (help) { console.log(benchCudaHelp); return; }
  if (v.backend !== undefined && v.backend !== 'cuda') throw new UsageError(`--mode ${mode} runs on CUDA only (got --backend ${String(v.backend)})`);
  const { backend } = await openBackend('cuda');
  const cuda = backend as CudaBackend;
  try {
    const pool = cudaPagePool(cuda, 4096); // 302 MB: room for the largest graph step (b=128, 16 pages each)
    const date = new Date().toISOString();
    const result = mode === 'host'
      ? { routine: 'host', card: cuda.info.device, commit: gitCommit(), date, host: await hostOverhead(cuda, pool) }
      : { routine: 'graphs', card: cuda.info.device, commit: gitCommit(), date, graph: await graphSaving(cuda, pool) };
    cuda.free(pool);
    const out = resolve(stringArg(v.out) ?? `flashmla-bench-cuda-${mode}-${date.replace(/[:.]/g, '-')}.json`);
    writeFileSync(out, JSON.stringify(result, null, 1) + '\n');
    console.log(`wrote ${out}`);
  } finally {
    backend.dispose();
  }
}
