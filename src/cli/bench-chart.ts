// `flashmla bench --mode chart --result RESULT.json [--flashmla FLASHMLA.json] [--out CHART.svg]`: re-draw the SVG of a
// saved bench result, merging a bench_flashmla.py result into it first when given (for results timed before
// FlashMLA's numbers were at hand). The merge and the chart are the ones `flashmla bench` uses.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError, parse, stringArg } from './args.js';
import { readJson } from './bench.js';
import { renderChart } from './chart.js';
import { type BenchResult, mergeFlashMla } from './harness.js';

export const benchChartHelp = `Usage: flashmla bench --mode chart --result RESULT.json [--flashmla FLASHMLA.json] [--out CHART.svg]

Re-draw the SVG chart of a saved \`flashmla bench\` result.
  --flashmla FILE  merge a bench_flashmla.py result into RESULT.json first (rows matched by b, h_q, s_q, h_kv and
                   sum(seqlens)) and rewrite RESULT.json
  --out FILE       the SVG (default: RESULT.svg beside the JSON)`;

export async function benchChart(argv: string[]): Promise<void> {
  const { values: v, help } = parse('bench', argv, { result: { type: 'string' }, flashmla: { type: 'string' }, out: { type: 'string' } });
  if (help) { console.log(benchChartHelp); return; }
  const file = stringArg(v.result);
  if (!file) throw new UsageError('--mode chart: --result RESULT.json is required');
  const result = readJson(file, 'result') as BenchResult;
  if (!result || !Array.isArray(result.rows) || typeof result.backend !== 'string') throw new UsageError(`${file}: not a flashmla bench result (no "rows" array or "backend")`);
  const fm = stringArg(v.flashmla);
  if (fm) {
    const n = mergeFlashMla(result, readJson(fm, '--flashmla'), fm);
    writeFileSync(file, JSON.stringify(result, null, 1) + '\n');
    console.log(`matched ${n} of ${result.rows.length} rows in ${fm}; updated ${file}`);
  }
  const svg = resolve(stringArg(v.out) ?? file.replace(/\.json$/i, '') + '.svg');
  writeFileSync(svg, renderChart(result));
  console.log(`wrote ${svg}`);
}
