// The CPU split combine, native (decode_common.h combine_item) against JavaScript (kernel.ts runCombineUnit), on
// whole decodes: the in-thread backend over the native rung, once with the rung's combine and once with it removed (so
// kernel.ts's runs), alternating, three rounds, the best of four calls each; bf16 caches, 16 SM parts.
//   node --import tsx bench/cpu/combine-ab.ts [--json out.json]
import { cpus } from 'node:os';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { InlineCpuBackend } from '../../src/backends/cpu/inline.js';
import type { CpuKernel } from '../../src/backends/cpu/item.js';
import { chooseCpuKernel } from '../../src/backends/cpu/paths.js';
import { flashMlaWithKvcache, getMlaMetadata } from '../../src/core/api.js';
import { f32ToBf16 } from '../../src/core/dtype.js';
import { fromArray } from '../../src/core/tensor.js';
import { gitCommit } from '../../src/cli/bench.js';

const { values: v } = parseArgs({ options: { json: { type: 'string' } } });
const pick = await chooseCpuKernel('native', 'auto');
const native: CpuKernel = pick.kernel, js: CpuKernel = { ...native, runCombineUnit: undefined };
if (native.name !== 'native' || !native.runCombineUnit) throw new Error(`no native combine here (${native.detail})`);
let x = 7;
const rand = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 8) / 2 ** 24 - 0.5;
const rows = [];
for (const [b, sK, hQ, sQ] of [[4, 4096, 16, 1], [1, 32768, 16, 1], [4, 2048, 128, 1], [1, 16384, 128, 2]]) {
  const pages = Math.ceil(sK / 64);
  const q = fromArray('bf16', [b, sQ, hQ, 576], Uint16Array.from({ length: b * sQ * hQ * 576 }, () => f32ToBf16(rand() * 2)));
  const kc = fromArray('bf16', [b * pages, 64, 1, 576], Uint16Array.from({ length: b * pages * 64 * 576 }, () => f32ToBf16(rand() * 0.5)));
  const bt = fromArray('i32', [b, pages], Int32Array.from({ length: b * pages }, (_, i) => i)), lens = fromArray('i32', [b], new Int32Array(b).fill(sK));
  const md = getMlaMetadata(lens, sQ * hQ, 1, { numSms: 16 });
  const best: Record<string, number> = { js: Infinity, native: Infinity };
  for (let round = 0; round < 3; round++) {
    for (const [name, kernel] of [['js', js], ['native', native]] as const) {
      const be = new InlineCpuBackend(kernel);
      for (let r = 0; r < 4; r++) {
        const t0 = performance.now();
        await flashMlaWithKvcache(q, kc, bt, lens, 512, md.tileSchedulerMetadata, md.numSplits, { backend: be });
        best[name] = Math.min(best[name], performance.now() - t0);
      }
    }
  }
  const row = { b, s_k: sK, h_q: hQ, s_q: sQ, partials: md.numSplits.host()[b], js_combine_ms: best.js, native_combine_ms: best.native, speedup: best.js / best.native };
  rows.push(row);
  console.log(`b=${b} s_k=${sK} h_q=${hQ} s_q=${sQ} (${row.partials} partials): JavaScript combine ${best.js.toFixed(2)} ms, native ${best.native.toFixed(2)} ms (${row.speedup.toFixed(3)}x)`);
}
const result = { bench: 'cpu-combine-ab', card: `${cpus()[0]?.model ?? 'cpu'}, ${cpus().length} cores`, kernel: native.detail, commit: gitCommit(), date: new Date().toISOString(), rows };
if (v.json) writeFileSync(v.json, `${JSON.stringify(result, null, 1)}\n`);
