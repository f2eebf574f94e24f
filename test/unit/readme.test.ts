// The README's decode examples run as written: each code block is taken from README.md, given inputs, run on the host
// backend (host tensors, as the examples pass them) and held to the float64 reference, so a renamed export, a changed
// signature or a comment that no longer says what the call does fails here.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { f32ToBf16 } from '../../src/core/dtype.js';
import { referenceDecode } from '../../src/core/reference.js';
import { referenceSparseDecode } from '../../src/core/reference-sparse.js';
import type { Tensor } from '../../src/core/tensor.js';
import { compareOutputs, tolerances } from '../support/compare.js';
import { Rng } from '../support/random.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tsBlocks = (md: string) => [...md.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);

/** The README's one ts block that contains `marker`, its import of 'flashmla-ts' pointed at the source, run as a module with
    `inputs` as its free variables and `exports` exported; returns those exports. */
async function runExample(marker: string, inputs: Record<string, unknown>, exports: string[]): Promise<Record<string, unknown>> {
  const blocks = tsBlocks(readFileSync(join(root, 'README.md'), 'utf8')).filter((s) => s.includes(marker));
  assert.equal(blocks.length, 1, `the README has one example with ${marker}`);
  assert.match(blocks[0], /from 'flashmla-ts';/);
  const dir = mkdtempSync(join(tmpdir(), 'flashmla-readme-'));
  try {
    const file = join(dir, 'example.mts');
    writeFileSync(file, `const { ${Object.keys(inputs).join(', ')} } = (globalThis as any).__flashmlaReadme;\n`
      + blocks[0].replace(`from 'flashmla-ts';`, `from ${JSON.stringify(pathToFileURL(join(root, 'src/index.ts')).href)};`)
      + `export { ${exports.join(', ')} };\n`);
    (globalThis as Record<string, unknown>).__flashmlaReadme = inputs;
    return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } finally {
    delete (globalThis as Record<string, unknown>).__flashmlaReadme;
    rmSync(dir, { recursive: true, force: true });
  }
}

test('README: the dense-decode example runs and matches the float64 reference', async () => {
  // Three requests (lengths 0, 65 and 300: an empty row, a page and one more key, a long one) over shuffled pages.
  const rng = new Rng(2028);
  const b = 3, numBlocks = 9, maxBlocksPerSeq = 5;
  const cacheSeqlens = Int32Array.of(0, 65, 300);
  const pages = Array.from({ length: numBlocks }, (_, i) => i).sort(() => rng.float() - 0.5);
  const blockTable = Int32Array.from({ length: b * maxBlocksPerSeq }, (_, i) => pages[i % numBlocks]);
  const kCache = new Uint16Array(numBlocks * 64 * 576).map(() => f32ToBf16(rng.normal()));
  const q = new Uint16Array(b * 16 * 576).map(() => f32ToBf16(rng.normal()));
  const m = await runExample('getMlaMetadata(seqT', { b, numBlocks, maxBlocksPerSeq, q, kCache, blockTable, cacheSeqlens }, ['out', 'lse']);
  const out = m.out as Tensor<Uint16Array>, lse = m.lse as Tensor<Float32Array>;
  assert.deepEqual(out.shape, [b, 1, 16, 512]);
  assert.deepEqual(lse.shape, [b, 16, 1]);
  const ref = referenceDecode({ q, kCache, blockTable, cacheSeqlens, dtype: 'bf16', b, sQ: 1, hQ: 16, hKv: 1, pageBlockSize: 64, maxBlocksPerSeq, causal: true });
  const rep = compareOutputs(out.data, lse.data, ref, 'bf16', { b, sQ: 1, hQ: 16 }, tolerances.cpuF32);
  assert.ok(rep.ok, rep.message);
  assert.equal(lse.data[0], Infinity, 'the empty request: lse +Infinity');
});

test('README: the sparse-decode example runs and matches the float64 reference', async () => {
  // Inputs: two requests, two query positions, 3 heads (no multiple of 64: the library takes any count), four pages of
  // 64 tokens; indices with -1 entries and repeats, lengths that cut the lists, a sink per head.
  const rng = new Rng(2027);
  const numBlocks = 4, b = 2, sQ = 2, hQ = 3, topk = 100, n = numBlocks * 64;
  const tokens = new Uint16Array(n * 576).map(() => f32ToBf16(0.5 * rng.normal()));
  const qBits = new Uint16Array(b * sQ * hQ * 576).map(() => f32ToBf16(rng.normal()));
  const idx = new Int32Array(b * sQ * topk).map(() => (rng.float() < 0.1 ? -1 : rng.int(0, n - 1)));
  const lens = Int32Array.of(topk, 37);
  const sinks = Float32Array.from({ length: hQ }, () => rng.normal());

  const mod = (await runExample('flashMlaSparseWithKvcache(', { numBlocks, tokens, b, sQ, hQ, topk, qBits, idx, lens, sinks }, ['out', 'lse', 'kCache'])) as {
    out: Tensor<Uint16Array>; lse: Tensor<Float32Array>; kCache: Tensor<Uint8Array>;
  };
  assert.deepEqual(mod.out.shape, [b, sQ, hQ, 512]);
  assert.deepEqual(mod.lse.shape, [b, hQ, sQ]);
  assert.deepEqual(mod.kCache.shape, [numBlocks, 64, 1, 656]);
  const ref = referenceSparseDecode({
    q: qBits, dtype: 'bf16', b, sQ, hQ, dQk: 576, cache: { kind: 'v32', data: mod.kCache.data, pageBlockSize: 64 },
    indices: idx, topk, topkLength: lens, attnSink: sinks,
  });
  const rep = compareOutputs(mod.out.data, mod.lse.data, ref, 'bf16', { b, sQ, hQ }, tolerances.cpuF32);
  assert.ok(rep.ok, rep.message);
});
