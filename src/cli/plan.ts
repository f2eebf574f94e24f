// `flashmla plan`: KV-cache bytes per token and capacity for a model, and comparisons between models
// (with the DeepSeek-V2 paper's 93.3% reproduced from its stated assumptions).
import {
  type AttentionKind, type AttentionShape, type CacheFormat, type CachePlan, compareKvCache, deepseekV2Claim, namedShapes,
  parseBytes, parseCacheFormat, planKvCache, shapeByName,
} from '../core/memory-plan.js';
import { FlashMlaError } from '../core/errors.js';
import { UsageError, choiceArg, intArg, parse, stringArg } from './args.js';
import { bytes, table } from './ui.js';

export const planHelp = `Usage: flashmla plan [options]

KV-cache memory: bytes per token (per layer and for all layers) for MHA, GQA and MLA caches at bf16, FP8 (FlashMLA's
656 B V3.2 and 584 B V4 tokens) or any bit width, and how many tokens and sequences fit a memory budget.

Options:
  --model NAME         ${Object.keys(namedShapes).join(', ')}
                       or "custom" with the shape options below (default deepseek-v3)
  --format F           bf16, f16, fp8, fp8-v32, fp8-v4 or a bit width such as 6bit (default: the model's)
  --compare NAME       a second model: reduction and cache-capacity ratio
  --compare-format F   the second model's format (default: its own)
  --memory SIZE        memory for the cache, e.g. 80GiB or 141GB (default 80GiB)
  --context N          tokens per sequence (default 4096)
  --page N             tokens per cache page (default 64)
  --layers N           override the layer count
  custom shape: --kind mha|gqa|mla --heads N --kv-heads N --head-dim N --v-head-dim N --kv-lora N --rope N
  --json               print the plan as JSON
  -h, --help           show this help`;

export async function plan(argv: string[]): Promise<void> {
  const { values: v, help } = parse('plan', argv, {
    model: { type: 'string' }, format: { type: 'string' }, compare: { type: 'string' }, 'compare-format': { type: 'string' },
    memory: { type: 'string' }, context: { type: 'string' }, page: { type: 'string' }, layers: { type: 'string' },
    kind: { type: 'string' }, heads: { type: 'string' }, 'kv-heads': { type: 'string' }, 'head-dim': { type: 'string' },
    'v-head-dim': { type: 'string' }, 'kv-lora': { type: 'string' }, rope: { type: 'string' }, json: { type: 'boolean' },
  });
  if (help) { console.log(planHelp); return; }
  const usage = <T>(f: () => T): T => {
    try { return f(); } catch (e) {
      if (e instanceof FlashMlaError && e.code === 'invalid_argument') throw new UsageError(`--${e.argument}: ${e.message.replace(/^[^:]*: /, '')}`, 'plan');
      throw e;
    }
  };
  const shape = shapeFrom(v, usage);
  const fmt = (x: string | boolean | undefined): CacheFormat | undefined => (x === undefined ? undefined : usage(() => parseCacheFormat(String(x))));
  const format = fmt(v.format);
  const memory = usage(() => parseBytes(stringArg(v.memory) ?? '80GiB'));
  const context = intArg('context', v.context, 4096, 1, 1 << 30);
  const page = intArg('page', v.page, 64, 1, 1 << 20);
  const opts = { budgetBytes: memory, contextLength: context, pageBlockSize: page };
  const main = usage(() => planKvCache(shape, { ...opts, format }));

  if (v.compare === undefined) {
    if (v.json) { console.log(JSON.stringify({ plan: main, source: shape.source }, null, 1)); return; }
    printPlans([main], memory, context);
    console.log(`\nsource: ${shape.source}`);
    for (const n of shape.notes ?? []) console.log(`note: ${n}`);
    return;
  }
  const other = usage(() => shapeByName(String(v.compare)));
  const c = usage(() => compareKvCache(shape, other, { ...opts, formatA: format, formatB: fmt(v['compare-format']) }));
  const claim = isV2vs67b(shape, other) ? deepseekV2Claim() : undefined;
  if (v.json) { console.log(JSON.stringify({ comparison: c, deepseekV2Claim: claim }, null, 1)); return; }
  printPlans([c.a, c.b], memory, context);
  console.log(`\n${c.a.model} (${c.a.format}) vs ${c.b.model} (${c.b.format}): ${pct(c.reduction)} smaller cache per token; `
    + `${c.capacityRatio.toFixed(2)}x the tokens in the same memory (cache-capacity ratio).`);
  if (claim) {
    console.log(`\nThe DeepSeek-V2 paper's "KV cache reduced by 93.3%" compares V2's cache at the ~6 bits per element its`);
    console.log('deployment quantized it to with DeepSeek 67B\'s bf16 cache (95 layers x 8 KV heads x 128 x K,V x 2 B).');
    console.log('Changing one assumption at a time:');
    const rows = [['assumption', 'V2 B/token', '67B B/token', 'reduction', 'capacity']];
    for (const s of claim) rows.push([s.assumption, fmtB(s.v2BytesPerToken), fmtB(s.baseBytesPerToken), pct(s.reduction), `${s.capacityRatio.toFixed(2)}x`]);
    console.log(table(rows).replace(/^/gm, '  '));
    console.log('\nThe paper\'s 5.76x generation throughput is a serving measurement (8 H800 GPUs, FP8 weights, its batch');
    console.log('sizes and kernels); it cannot be derived from cache sizes. What the cache sizes give is the capacity ratio');
    console.log(`above: ${claim[0].capacityRatio.toFixed(2)}x the tokens under the paper's assumptions, ${claim[1].capacityRatio.toFixed(2)}x with both caches at bf16.`);
  }
  for (const n of [...(shape.notes ?? []), ...(other.notes ?? [])]) console.log(`note: ${n}`);
}

function isV2vs67b(a: AttentionShape, b: AttentionShape): boolean {
  return a === namedShapes['deepseek-v2'] && b === namedShapes['deepseek-67b'];
}

function shapeFrom(v: Record<string, string | boolean | undefined>, usage: <T>(f: () => T) => T): AttentionShape {
  const name = String(v.model ?? 'deepseek-v3');
  const custom = ['kind', 'heads', 'kv-heads', 'head-dim', 'v-head-dim', 'kv-lora', 'rope'].filter((k) => v[k] !== undefined);
  let s: AttentionShape;
  if (name === 'custom') {
    const kind = choiceArg<AttentionKind>('kind', v.kind, ['mha', 'gqa', 'mla'], 'mla');
    const heads = intArg('heads', v.heads, 128);
    s = kind === 'mla'
      ? { name: 'custom MLA', kind, layers: 1, qHeads: heads, kvHeads: 1, headDim: 0, kvLoraRank: intArg('kv-lora', v['kv-lora'], 512), ropeDim: intArg('rope', v.rope, 64, 0), defaultFormat: 'bf16', source: 'command line' }
      : {
        name: `custom ${kind.toUpperCase()}`, kind, layers: 1, qHeads: heads, kvHeads: kind === 'mha' ? heads : intArg('kv-heads', v['kv-heads'], 8),
        headDim: intArg('head-dim', v['head-dim'], 128), vHeadDim: v['v-head-dim'] === undefined ? undefined : intArg('v-head-dim', v['v-head-dim'], 128),
        defaultFormat: 'bf16', source: 'command line',
      };
    if (v.layers === undefined) throw new UsageError('--layers: required with --model custom', 'plan');
  } else {
    if (custom.length) throw new UsageError(`--${custom[0]}: only with --model custom`, 'plan');
    s = usage(() => shapeByName(name));
  }
  if (v.layers !== undefined) s = { ...s, layers: intArg('layers', v.layers, 1) };
  return s;
}

function printPlans(plans: CachePlan[], memory: number, context: number): void {
  const rows = [['model', 'cache', 'format', 'layers', 'elem/token/layer', 'B/token/layer', 'B/token', `tokens in ${bytes(memory)}`, `seqs of ${context}`]];
  for (const p of plans) {
    rows.push([p.model, p.kind.toUpperCase(), p.format, String(p.layers), String(p.elementsPerTokenPerLayer), fmtB(p.bytesPerTokenPerLayer),
      `${fmtB(p.bytesPerToken)} (${bytes(p.bytesPerToken)})`, String(p.capacityTokens), String(p.capacitySequences)]);
  }
  console.log(table(rows));
  console.log(`(capacity in whole pages of ${plans[0].pageBlockSize} tokens; one sequence of ${context} tokens takes ${plans.map((p) => bytes(p.bytesPerSequence!)).join(' / ')})`);
}

const fmtB = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(1));
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
