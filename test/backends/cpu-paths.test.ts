// The CPU kernel rungs other than the scalar reference (test/backends/cpu.test.ts covers that one): every golden case and
// a random matrix against the float64 reference, in-thread and on worker threads; the rung chooser; the native
// library's load checks. Outputs are NaN-poisoned before every run; unused cache pages hold NaN.
//
// Native: with CI=true the library `npm run build` put in dist/cpu must load (the shipped artifact is what is
// tested). Elsewhere the test builds the C sources into a temporary folder when a C compiler is there (a second
// or two), and otherwise skips the native cases, saying why.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createCpuBackend } from '../../src/backends/cpu/index.js';
import { InlineCpuBackend } from '../../src/backends/cpu/inline.js';
import { itemFields } from '../../src/backends/cpu/item.js';
import { nativeLibName } from '../../src/backends/cpu/native/loader.js';
import { chooseCpuKernel } from '../../src/backends/cpu/paths.js';
import { flashMlaWithKvcache } from '../../src/index.js';
import { FlashMlaError } from '../../src/core/errors.js';
import type { Backend } from '../../src/core/problem.js';
import { assertOutputsClose, tolerances } from '../support/compare.js';
import { cpuRungs } from '../support/cpu-rungs.js';
import { goldenCaseNames, loadGolden, runGolden } from '../support/golden.js';
import { caseMatrix, caseReference, makeCase, runCase } from '../support/random.js';

/** f32 arithmetic: looser than the scalar rung's float64 table, far tighter than cuda's (see compare.ts). */
const tol = tolerances.cpuF32;
const randomCases = 32;
const matrixSeed = 20251129;
const root = new URL('../..', import.meta.url).pathname;

const { vector: rungs, nativeSkip } = await cpuRungs();

const backends = new Map<string, Backend>();
before(async () => {
  for (const [name, kernel] of rungs) {
    backends.set(`${name} inline`, new InlineCpuBackend(kernel));
    backends.set(`${name} workers`, await createCpuBackend({ workers: 2, kernel: kernel.name }));
  }
});
after(() => { for (const b of backends.values()) b.dispose(); });

test('params.h and item.ts list the same fields in the same order', () => {
  const h = readFileSync(join(root, 'src/backends/cpu/native/params.h'), 'utf8');
  const names = [...h.matchAll(/^\s+PRM_([A-Z_]+),/gm)].map((m) => m[1].replace(/_/g, '').toLowerCase());
  assert.deepEqual(names, itemFields.map((f) => f.toLowerCase()));
});

describe('native library checks', { skip: nativeSkip }, () => {
  test('a library whose sha256 does not match its manifest is refused, with the reason', () => {
    const dir = mkdtempSync(join(tmpdir(), 'flashmla-cpu-bad-'));
    try {
      const from = process.env.FLASHMLA_CPU_LIB_DIR ?? join(root, 'dist/cpu');
      copyFileSync(join(from, nativeLibName), join(dir, nativeLibName));
      const m = JSON.parse(readFileSync(join(from, 'manifest.json'), 'utf8'));
      m.files[nativeLibName] = '0'.repeat(64);
      writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
      // A fresh process: the loader caches its answer per thread.
      const code = `import('${join(root, 'src/backends/cpu/paths.ts')}').then(async (m) => { const r = await m.chooseCpuKernel('auto'); console.log(JSON.stringify({ name: r.kernel.name, skipped: r.skipped })); })`;
      const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', code], { env: { ...process.env, FLASHMLA_CPU_LIB_DIR: dir, FLASHMLA_CPU_KERNEL: '' }, encoding: 'utf8', cwd: root });
      assert.equal(r.status, 0, r.stderr);
      const got = JSON.parse(r.stdout.trim().split('\n').pop()!);
      assert.notEqual(got.name, 'native');
      assert.match(got.skipped.join('\n'), /native: .*sha256 .* does not match manifest/);
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });

  test('the worker backend reports the kernel it runs and why', async () => {
    const b = backends.get('native workers')!;
    assert.match(b.info.device, /native kernel/);
    assert.equal(b.info.details?.kernel, 'native');
    assert.match(String(b.info.details?.kernelDetail), /AVX2\+FMA/);
  });
});

test('module.ts is what scripts/build-wasm.mjs assembles from decode-wat.mjs today', async () => {
  // @ts-expect-error: a plain .mjs build script without types
  const { wasmModuleSource, moduleTs } = await import('../../scripts/build-wasm.mjs');
  assert.equal(readFileSync(moduleTs, 'utf8'), await wasmModuleSource(), 'stale: run node scripts/build-wasm.mjs');
});

describe('choosing a rung', () => {
  test('scalar forced by option and by FLASHMLA_CPU_KERNEL; a bad name is an invalid_argument naming the source', async () => {
    assert.equal((await chooseCpuKernel('scalar')).kernel.name, 'scalar');
    const saved = process.env.FLASHMLA_CPU_KERNEL;
    try {
      process.env.FLASHMLA_CPU_KERNEL = 'scalar';
      const p = await chooseCpuKernel();
      assert.equal(p.kernel.name, 'scalar');
      assert.equal(p.by, 'FLASHMLA_CPU_KERNEL');
      process.env.FLASHMLA_CPU_KERNEL = 'avx9';
      await assert.rejects(chooseCpuKernel(), (e: FlashMlaError) => e.code === 'invalid_argument' && e.argument === 'FLASHMLA_CPU_KERNEL');
    } finally {
      if (saved === undefined) delete process.env.FLASHMLA_CPU_KERNEL; else process.env.FLASHMLA_CPU_KERNEL = saved;
    }
    await assert.rejects(chooseCpuKernel('gpu' as never), (e: FlashMlaError) => e.code === 'invalid_argument' && e.argument === 'kernel');
    const b = await createCpuBackend({ workers: 1, kernel: 'scalar' });
    try { assert.equal(b.info.details?.kernel, 'scalar'); } finally { b.dispose(); }
  });

  test('auto takes the first rung that loads and says why it skipped the others', async () => {
    const p = await chooseCpuKernel('auto');
    assert.equal(p.kernel.name, rungs[0][0]);
    if (rungs[0][0] === 'wasm') assert.ok(p.skipped.length > 0 && p.skipped[0].startsWith('native: '), p.skipped.join('; '));
  });
});

describe('golden cases on every vector rung', { skip: rungs.length ? undefined : 'no vector rung loads here' }, () => {
  for (const name of goldenCaseNames()) {
    test(name, async () => {
      const g = loadGolden(name), p = g.params;
      const layout = { b: p.batch, sQ: p.s_q, hQ: p.h_q };
      for (const [bname, backend] of backends) {
        const { out: o, lse: l } = await runGolden(g, backend);
        assertOutputsClose(o, l, { out: g.refOut, lse: g.refLse }, p.dtype, layout, tol, `${name} on ${bname}`);
        for (let k = 0; k < g.lse.length; k++) assert.equal(l[k] === Infinity, g.lse[k] === Infinity, `+inf positions match FlashMLA at lse[${k}] on ${bname}`);
      }
    });
  }
});

describe(`random matrix: ${randomCases} cases on every vector rung, in-thread and on workers`, { skip: rungs.length ? undefined : 'no vector rung loads here' }, () => {
  caseMatrix(randomCases, matrixSeed).forEach((spec, i) => {
    test(spec.name, async () => {
      const c = makeCase(spec, matrixSeed + i);
      const ref = caseReference(c);
      const numSms = [8, 132, 3][i % 3];
      const bits = new Map<string, Uint16Array>();
      for (const [bname, backend] of backends) {
        const got = await runCase(c, backend, flashMlaWithKvcache, { numSms });
        assertOutputsClose(got.out, got.lse, ref, c.dtype, c, tol, `${spec.name} on ${bname} (numSms ${numSms})`);
        bits.set(bname, got.out);
      }
      // Threads only change who runs a unit: the same rung gives the same bits in-thread and on workers.
      for (const [name] of rungs) assert.deepEqual(bits.get(`${name} workers`), bits.get(`${name} inline`), `${name}: inline and workers agree bit for bit`);
    });
  });

  test('a larger case (b=4, seqlens up to 4096, hQ 128, hKv 1): long tiles, row chunks, splits', async () => {
    const c = makeCase({ name: 'large', dtype: 'bf16', hQ: 128, hKv: 1, pageBlockSize: 64, seqlens: [1500, 700, 1100, 17], sQ: 1, causal: true }, 3);
    for (const [bname, backend] of backends) {
      const got = await runCase(c, backend, flashMlaWithKvcache);
      assertOutputsClose(got.out, got.lse, caseReference(c), c.dtype, c, tol, `large on ${bname}`);
    }
  });
});
