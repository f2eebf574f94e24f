// Re-draw the SVG of a saved bench result, optionally merging a bench_flashmla.py result first (for results
// timed before FlashMLA's numbers were at hand). The harness itself lives in src/cli/harness.ts so that the
// built package's `flashmla bench` has it.
//   node --import tsx bench/chart.ts RESULT.json [--flashmla FLASHMLA.json] [--out CHART.svg]
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { renderChart } from '../src/cli/chart.js';
import { type BenchResult, mergeFlashMla } from '../src/cli/harness.js';

const { values, positionals } = parseArgs({ options: { flashmla: { type: 'string' }, out: { type: 'string' } }, allowPositionals: true });
if (positionals.length !== 1) {
  console.error('usage: node --import tsx bench/chart.ts RESULT.json [--flashmla FLASHMLA.json] [--out CHART.svg]');
  process.exit(2);
}
const file = positionals[0];
const result = JSON.parse(readFileSync(file, 'utf8')) as BenchResult;
if (values.flashmla) {
  const n = mergeFlashMla(result, JSON.parse(readFileSync(values.flashmla, 'utf8')), values.flashmla);
  writeFileSync(file, JSON.stringify(result, null, 1) + '\n');
  console.log(`matched ${n} of ${result.rows.length} rows; updated ${file}`);
}
const svg = values.out ?? file.replace(/\.json$/i, '') + '.svg';
writeFileSync(svg, renderChart(result));
console.log(`wrote ${svg}`);
