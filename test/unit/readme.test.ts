// The README's sparse-decode example runs as written: its code block is taken from README.md, given inputs, run on the
// host backend (host tensors, as the example passes them) and held to the float64 reference, so a renamed export, a
// changed signature or a comment that no longer says what the call does fails here.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { f32ToBf16 } from '../../src/core/dtype.js';
import { referenceSparseDecode } from '../../src/core/reference-sparse.js';
import type { Tensor } from '../../src/core/tensor.js';
import { compareOutputs, tolerances } from '../support/compare.js';
import { Rng } from '../support/random.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tsBlocks = (md: string) => [...md.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);

test('README: the sparse-decode example runs and matches the float64 reference', async () => {
  const blocks = tsBlocks(readFileSync(join(root, 'README.md'), 'utf8')).filter((s) => s.includes('flashMlaSparseWithKvcache('));
  assert.equal(blocks.length, 1, 'the README has one sparse-decode example');
  const ex = blocks[0];
  assert.match(ex, /from 'flashmla-ts';/);

  // Inputs: two requests, two query positions, 3 heads (no multiple of 64: the library takes any count), four pages of
  // 64 tokens; indices with -1 entries and repeats, lengths that cut the lists, a sink per head.
  const rng = new Rng(2027);
  const numBlocks = 4, b = 2, sQ = 2, hQ = 3, topk = 100, n = numBlocks * 64;
  const tokens = new Uint16Array(n * 576).map(() => f32ToBf16(0.5 * rng.normal()));
  const qBits = new Uint16Array(b * sQ * hQ * 576).map(() => f32ToBf16(rng.normal()));
  const idx = new Int32Array(b * sQ * topk).map(() => (rng.float() < 0.1 ? -1 : rng.int(0, n - 1)));
  const lens = Int32Array.of(topk, 37);
  const sinks = Float32Array.from({ length: hQ }, () => rng.normal());

  const dir = mkdtempSync(join(tmpdir(), 'flashmla-readme-'));
  try {
    const file = join(dir, 'sparse-example.mts');
    const src = `const { numBlocks, tokens, b, sQ, hQ, topk, qBits, idx, lens, sinks } = (globalThis as any).__flashmlaReadme;\n`
      + ex.replace(`from 'flashmla-ts';`, `from ${JSON.stringify(pathToFileURL(join(root, 'src/index.ts')).href)};`)
      + 'export { out, lse, kCache };\n';
    writeFileSync(file, src);
    (globalThis as Record<string, unknown>).__flashmlaReadme = { numBlocks, tokens, b, sQ, hQ, topk, qBits, idx, lens, sinks };
    const mod = (await import(pathToFileURL(file).href)) as { out: Tensor<Uint16Array>; lse: Tensor<Float32Array>; kCache: Tensor<Uint8Array> };
    assert.deepEqual(mod.out.shape, [b, sQ, hQ, 512]);
    assert.deepEqual(mod.lse.shape, [b, hQ, sQ]);
    assert.deepEqual(mod.kCache.shape, [numBlocks, 64, 1, 656]);
    const ref = referenceSparseDecode({
      q: qBits, dtype: 'bf16', b, sQ, hQ, dQk: 576, cache: { kind: 'v32', data: mod.kCache.data, pageBlockSize: 64 },
      indices: idx, topk, topkLength: lens, attnSink: sinks,
    });
    const rep = compareOutputs(mod.out.data, mod.lse.data, ref, 'bf16', { b, sQ, hQ }, tolerances.cpuF32);
    assert.ok(rep.ok, rep.message);
  } finally {
    delete (globalThis as Record<string, unknown>).__flashmlaReadme;
    rmSync(dir, { recursive: true, force: true });
  }
});
