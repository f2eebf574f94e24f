// The flashmla command line: demo (npm start), bench, plan, info.
import { FlashMlaError } from '../core/errors.js';
import { UsageError } from './args.js';
import { bench, benchHelp } from './bench.js';
import { demo, demoHelp } from './demo.js';
import { info, infoHelp } from './info.js';
import { plan, planHelp } from './plan.js';

const commands: Record<string, { run: (argv: string[]) => Promise<void>; help: string; summary: string }> = {
  demo: { run: demo, help: demoHelp, summary: 'decode a DeepSeek-V3-shaped batch through the paged KV cache, check it, report speed' },
  bench: { run: bench, help: benchHelp, summary: 'time a grid of configurations, write JSON + SVG (vs FlashMLA when given its results)' },
  plan: { run: plan, help: planHelp, summary: 'KV-cache bytes per token and capacity (MHA, GQA, MLA; bf16, FP8, any bit width)' },
  info: { run: info, help: infoHelp, summary: 'list the backends found here and why the others are unavailable' },
};

export const mainHelp = `Usage: flashmla <command> [options]

FlashMLA (DeepSeek's Multi-head Latent Attention decode) in TypeScript, on CUDA, WebGPU or the CPU.

Commands:
${Object.entries(commands).map(([n, c]) => `  ${n.padEnd(6)} ${c.summary}`).join('\n')}

Run "flashmla <command> --help" for a command's options.`;

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
      console.log(rest[0] && commands[rest[0]] ? commands[rest[0]].help : mainHelp);
      return 0;
    }
    const c = commands[cmd];
    if (!c) throw new UsageError(`unknown command '${cmd}' (commands: ${Object.keys(commands).join(', ')})`);
    await c.run(rest);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`flashmla${e.command ? ` ${e.command}` : cmd && commands[cmd] ? ` ${cmd}` : ''}: ${e.message} (see --help)`);
      return 2;
    }
    const msg = e instanceof FlashMlaError ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e);
    console.error(`flashmla: error: ${msg.split('\n')[0]}`);
    if (process.env.FLASHMLA_DEBUG && e instanceof Error) console.error(e.stack);
    return 1;
  }
}
