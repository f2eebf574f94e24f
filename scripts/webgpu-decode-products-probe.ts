// Issue #13: how fast can a 64-row WebGPU decode's products run (src/bench/webgpu-decode-products.ts), before a
// v7 kernel is written? Forms below; each should run in a process of its own (session 60: a sweep's later forms
// slow down). One JSON object with the device, the form and its result.
//   node build/scripts/webgpu-decode-products-probe.js --form I [--keys N] [--groups G (default: 256 rows a request)] [--requests R] [--out FILE]
import { writeFileSync } from 'node:fs';
import { measureDecodeProducts } from '../src/bench/webgpu-decode-products.js';
import { productForms } from './webgpu-decode-products-probe-forms.js';
import { createNodeWebGpuBackend } from '../src/backends/webgpu/node.js';

const arg = (name: string, dflt: string) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : dflt; };
const formIndex = Number(arg('--form', '0'));
const form = productForms[formIndex];
if (!form) throw new Error(`--form: 0..${productForms.length - 1}`);
const be = await createNodeWebGpuBackend({ powerPreference: 'high-performance' });
const shape = { requests: Number(arg('--requests', String(be.info.numSms))), groups: Number(arg('--groups', String(256 / (form.rows ?? 64)))), keys: Number(arg('--keys', '2048')) };
const report: Record<string, unknown> = { device: be.info.device, date: new Date().toISOString(), form: formIndex };
try {
  report.result = await measureDecodeProducts(be, form, shape);
} catch (e) {
  report.result = { ...form, shape, error: (e as Error).message.slice(0, 400) };
}
console.log(JSON.stringify(report));
const out = arg('--out', '');
if (out) writeFileSync(out, `${JSON.stringify(report, null, 1)}\n`);
be.dispose();
process.exit(0);
