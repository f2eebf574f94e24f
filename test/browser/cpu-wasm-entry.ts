// Bundled by test/long/cpu-wasm-browser.test.ts for headless Chromium: the WebAssembly CPU rung in the in-thread
// backend on random cases against the float64 reference, plus a timing of b=4 s_k=4096 hQ=16 / 128.
import { InlineCpuBackend } from '../../src/backends/cpu/inline.js';
import { createWasmKernel } from '../../src/backends/cpu/wasm/kernel.js';
import { flashMlaWithKvcache } from '../../src/index.js';
import { compareOutputs, tolerances } from '../support/compare.js';
import { caseMatrix, caseMetadata, caseReference, caseTensors, makeCase, runCase } from '../support/random.js';

async function main(): Promise<unknown> {
  const k = createWasmKernel();
  if (typeof k === 'string') return { error: k };
  const be = new InlineCpuBackend(k);
  const failures: string[] = [];
  const specs = caseMatrix(12, 777);
  for (let i = 0; i < specs.length; i++) {
    const c = makeCase(specs[i], 777 + i);
    const got = await runCase(c, be, flashMlaWithKvcache, { numSms: [8, 132, 3][i % 3] });
    const r = compareOutputs(got.out, got.lse, caseReference(c), c.dtype, c, tolerances.cpuF32);
    if (!r.ok) failures.push(`${specs[i].name}: ${r.message}`);
  }
  const timings: { hQ: number; ms: number; GFLOPs: number }[] = [];
  for (const hQ of [16, 128]) {
    const c = makeCase({ name: 't', dtype: 'bf16', hQ, hKv: 1, pageBlockSize: 64, seqlens: [4096, 4096, 4096, 4096], sQ: 1, causal: true }, 1);
    const t = caseTensors(c), md = caseMetadata(c, 8);
    const out = be.empty('bf16', c.outShape), lse = be.empty('f32', c.lseShape);
    const ts: number[] = [];
    for (let rep = 0; rep < 4; rep++) {
      const t0 = performance.now();
      await flashMlaWithKvcache(t.q, t.kCache, t.blockTable, t.cacheSeqlens, 512, md.tileSchedulerMetadata, md.numSplits, { causal: true, backend: be, out, lse });
      ts.push(performance.now() - t0);
    }
    ts.sort((a, b) => a - b);
    const ms = ts[1];
    timings.push({ hQ, ms, GFLOPs: (2 * 4 * 4096 * hQ * 1088) / ms / 1e6 });
  }
  return { kernel: k.detail, cases: specs.length, failures, timings };
}

(window as unknown as { cpuWasmResult?: unknown }).cpuWasmResult = undefined;
main().then(
  (r) => { (window as unknown as { cpuWasmResult: unknown }).cpuWasmResult = r; },
  (e) => { (window as unknown as { cpuWasmResult: unknown }).cpuWasmResult = { error: String(e?.stack ?? e) }; },
);
