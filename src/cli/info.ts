// `flashmla info`: which backends start here, on what device, and why the others do not.
import { availableParallelism, cpus, totalmem } from 'node:os';
import { listBackends } from '../node.js';
import { parse } from './args.js';
import { bytes } from './ui.js';

export const infoHelp = `Usage: flashmla info [--json]

List the backends (CUDA, WebGPU, CPU): the device each one finds, or why it cannot start here.

Options:
  --json       print the report as JSON
  -h, --help   show this help`;

export async function info(argv: string[]): Promise<void> {
  const { values, help } = parse('info', argv, { json: { type: 'boolean' } });
  if (help) { console.log(infoHelp); return; }
  const report = await listBackends();
  if (values.json) { console.log(JSON.stringify(report, null, 1)); return; }
  console.log(`flashmla-ts on Node ${process.version}, ${process.platform}-${process.arch}; ${availableParallelism()} CPU threads (${cpus()[0]?.model ?? 'unknown CPU'}), ${bytes(totalmem())} memory`);
  for (const r of report) {
    if (r.available) {
      const d = r.info.details ? `  ${JSON.stringify(r.info.details)}` : '';
      console.log(`  ${r.kind.padEnd(7)} available: ${r.info.device} (plans for ${r.info.numSms} SM parts, split-KV plan '${r.info.schedule ?? 'flashmla'}')${d}`);
      if (r.kind === 'webgpu' && r.info.details?.decodePathWhy) console.log(`          decode kernel: ${String(r.info.details.decodePathWhy)}`);
      if ((r.kind === 'webgpu' || r.kind === 'cuda') && r.info.details?.sparseKernel) console.log(`          sparse decode: ${String(r.info.details.sparseKernel)}`);
      if (r.kind === 'cpu' && r.info.details?.kernel) {
        const k = r.info.details;
        console.log(`          kernel: ${k.kernel} (${k.kernelDetail}), chosen by ${k.chosenBy}${Array.isArray(k.skipped) ? `; skipped ${k.skipped.join('; ')}` : ''}`);
        if (k.sparseKernel) console.log(`          sparse decode: ${String(k.sparseKernel)}`);
      }
      if (r.info.details?.denseFp8Kernel) console.log(`          dense decode over FP8 caches: ${String(r.info.details.denseFp8Kernel)}`);
    } else {
      console.log(`  ${r.kind.padEnd(7)} unavailable: ${r.reason}`);
    }
  }
}
