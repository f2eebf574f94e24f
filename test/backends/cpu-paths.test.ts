// The CPU kernel rungs other than the scalar reference (test/backends/cpu.test.ts covers that one): every golden case and
// a random matrix against the float64 reference, in-thread and on worker threads, on each native ISA this CPU has
// (avx512bf16, avx512, avx2: "native <isa>" rungs) and WebAssembly; odd shapes on each native ISA; the rung and ISA
// choosers; the native library's load checks. Outputs are NaN-poisoned before every run; unused cache pages hold NaN.
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
import { type NativeIsa, nativeAbi, nativeIsas, nativeLibName } from '../../src/backends/cpu/native/loader.js';
import { sparseItemFields } from '../../src/backends/cpu/sparse.js';
import { chooseCpuKernel } from '../../src/backends/cpu/paths.js';
import { flashMlaWithKvcache } from '../../src/index.js';
import { FlashMlaError } from '../../src/core/errors.js';
import type { Backend } from '../../src/core/problem.js';
import { assertOutputsClose, tolerances } from '../support/compare.js';
import { cpuRungs } from '../support/cpu-rungs.js';
import { goldenCaseNames, loadGolden, runGolden } from '../support/golden.js';
import { type CaseSpec, caseMatrix, caseReference, makeCase, runCase } from '../support/random.js';

/** f32 arithmetic: looser than the scalar rung's float64 table, far tighter than cuda's (see compare.ts). */
const tol = tolerances.cpuF32;
const randomCases = 32;
const matrixSeed = 20251129;
const root = new URL('../..', import.meta.url).pathname;

const { vector: rungs, nativeSkip, isaSkip } = await cpuRungs();

const backends = new Map<string, Backend>();
before(async () => {
  for (const [name, kernel] of rungs) {
    backends.set(`${name} inline`, new InlineCpuBackend(kernel));
    backends.set(`${name} workers`, await createCpuBackend({ workers: 2, kernel: kernel.name, isa: kernel.isa }));
  }
});
after(() => { for (const b of backends.values()) b.dispose(); });

test('params.h and item.ts list the same fields in the same order', () => {
  const h = readFileSync(join(root, 'src/backends/cpu/native/params.h'), 'utf8');
  const names = [...h.matchAll(/^\s+PRM_([A-Z_]+),/gm)].map((m) => m[1].replace(/_/g, '').toLowerCase());
  assert.deepEqual(names, itemFields.map((f) => f.toLowerCase()));
});

test('params.h and sparse.ts list the same sparse item fields in the same order; the loader expects params.h\'s ABI number', () => {
  const h = readFileSync(join(root, 'src/backends/cpu/native/params.h'), 'utf8');
  const names = [...h.matchAll(/^\s+SPRM_([A-Z_]+),/gm)].map((m) => m[1].replace(/_/g, '').toLowerCase());
  assert.deepEqual(names, sparseItemFields.map((f) => f.toLowerCase()));
  const abi = /#define FLASHMLA_CPU_ABI \(PRM_COUNT \* 1000 \+ (\d+)\)/.exec(h);
  assert.ok(abi, 'FLASHMLA_CPU_ABI in params.h');
  assert.equal(nativeAbi, itemFields.length * 1000 + Number(abi[1]));
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

  const gcc = spawnSync('gcc', ['--version']).status === 0;
  test('a library built without the AVX512_BF16 unit (an old compiler) offers the other ISAs', { skip: gcc ? undefined : 'no gcc here' }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flashmla-cpu-oldcc-'));
    try {
      // A compiler that does not know -mavx512bf16, as gcc < 10 did.
      const cc = join(dir, 'cc.sh');
      writeFileSync(cc, '#!/bin/sh\nfor a in "$@"; do [ "$a" = "-mavx512bf16" ] && { echo "unrecognized command-line option" >&2; exit 1; }; done\nexec gcc "$@"\n', { mode: 0o755 });
      const code = `const { buildCpu } = await import('${join(root, 'scripts/build-cpu.mjs')}'); const b = buildCpu('${dir}');
        const m = await import('${join(root, 'src/backends/cpu/paths.ts')}'); const p = await m.chooseCpuKernel('native');
        const forced = await m.chooseCpuKernel('native', 'avx512bf16').then(() => 'ran', (e) => e.message);
        console.log(JSON.stringify({ built: b.message, isa: p.kernel.isa, detail: p.kernel.detail, forced }));`;
      const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { env: { ...process.env, CC: cc, FLASHMLA_CPU_LIB_DIR: dir, FLASHMLA_CPU_ISA: '' }, encoding: 'utf8', cwd: root });
      assert.equal(r.status, 0, r.stderr);
      const got = JSON.parse(r.stdout.trim().split('\n').pop()!);
      assert.match(got.built, /without decode_avx512bf16\.o/);
      if (isaSkip.avx512bf16) { // the CPU lacks it anyway: the choice is as with the full library
        assert.match(got.forced, /cannot run here/);
        assert.equal(got.isa, nativeIsas.find((i) => !isaSkip[i]));
      } else {
        assert.match(got.forced, /has no flashmla_cpu_decode_item_avx512bf16/);
        assert.equal(got.isa, 'avx512');
        assert.match(got.detail, /chosen: the library lacks avx512bf16/);
      }
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });

  test('npm start\'s prestart builds the library only where none is there, and never fails the demo', { skip: gcc ? undefined : 'no gcc here' }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'flashmla-cpu-prestart-'));
    const run = (env: Record<string, string> = {}) => spawnSync(process.execPath, [join(root, 'scripts/build-cpu.mjs'), '--if-missing', '--out', dir],
      { env: { ...process.env, ...env }, encoding: 'utf8', cwd: root });
    try {
      // A compiler that rejects the code: reported in one line, exit status 0, nothing built.
      const bad = join(dir, 'bad-cc.sh');
      writeFileSync(bad, '#!/bin/sh\n[ "$1" = --version ] && { echo bad-cc 1.0; exit 0; }\necho "error: rejected" >&2; exit 1\n', { mode: 0o755 });
      const failed = run({ CC: bad });
      assert.equal(failed.status, 0, failed.stderr);
      assert.match(failed.stdout, /^build-cpu: no native CPU kernel: \S*bad-cc\.sh \S+\.c \(\w+\) failed:$/m);
      assert.equal(spawnSync('ls', [dir], { encoding: 'utf8' }).stdout.includes(nativeLibName), false);
      // Nothing built: it builds this machine's library (no cross build) with a manifest the loader accepts.
      const first = run({ CC: 'gcc' });
      assert.equal(first.status, 0, first.stderr);
      assert.match(first.stdout, /^build-cpu: built the native CPU kernel, /m);
      const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { files: Record<string, string> };
      assert.deepEqual(Object.keys(manifest.files), [nativeLibName]);
      const built = readFileSync(join(dir, nativeLibName));
      // Already there: silent, and the library is left as it was.
      const second = run({ CC: bad });
      assert.equal(second.status, 0, second.stderr);
      assert.equal(second.stdout, '');
      assert.deepEqual(readFileSync(join(dir, nativeLibName)), built);
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });

  test('the worker backend reports the kernel and ISA it runs and why', async () => {
    const labels: Record<NativeIsa, RegExp> = {
      avx512bf16: /AVX-512 \+ AVX512_BF16/, avx512: /AVX-512 \(16-lane/, avx2: /AVX2\+FMA/, neonbf16: /NEON \+ BF16/, neon: /NEON \(4-lane/,
    };
    for (const isa of nativeIsas.filter((i) => !isaSkip[i])) {
      const b = backends.get(`native ${isa} workers`)!;
      assert.match(b.info.device, /native kernel/);
      assert.equal(b.info.details?.kernel, 'native');
      assert.equal(b.info.details?.isa, isa);
      assert.match(String(b.info.details?.kernelDetail), labels[isa]);
      assert.match(String(b.info.details?.kernelDetail), /forced by option isa: /);
    }
  });
});

describe('choosing the native ISA', { skip: nativeSkip }, () => {
  /** Run f with environment variables set (undefined: unset), restoring them after. */
  async function withEnv<T>(vars: Record<string, string | undefined>, f: () => Promise<T>): Promise<T> {
    const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
    const set = (v: Record<string, string | undefined>) => { for (const [k, x] of Object.entries(v)) if (x === undefined) delete process.env[k]; else process.env[k] = x; };
    set(vars);
    try { return await f(); } finally { set(saved); }
  }
  const best = nativeIsas.find((i) => !isaSkip[i])!;

  test('auto takes the best ISA the CPU has and says so', async () => {
    const p = await withEnv({ FLASHMLA_CPU_ISA: undefined, FLASHMLA_CPU_KERNEL: undefined }, () => chooseCpuKernel('native'));
    assert.equal(p.kernel.isa, best);
    assert.match(p.kernel.detail, best === 'avx512bf16' ? /chosen: the best this CPU has/ : /chosen: this CPU lacks /);
  });

  test('FLASHMLA_CPU_ISA and the isa option force one; a bad name is an invalid_argument naming its source', async () => {
    const p = await withEnv({ FLASHMLA_CPU_ISA: 'avx2' }, () => chooseCpuKernel('auto'));
    assert.equal(p.kernel.isa, 'avx2');
    assert.match(p.kernel.detail, /AVX2\+FMA, forced by FLASHMLA_CPU_ISA=avx2/);
    assert.equal((await chooseCpuKernel('native', 'avx2')).kernel.isa, 'avx2');
    await withEnv({ FLASHMLA_CPU_ISA: 'sse2' }, () => assert.rejects(chooseCpuKernel('native'),
      (e: FlashMlaError) => e.code === 'invalid_argument' && e.argument === 'FLASHMLA_CPU_ISA'));
    await assert.rejects(chooseCpuKernel('native', 'avx1024' as never), (e: FlashMlaError) => e.code === 'invalid_argument' && e.argument === 'isa');
    // Another architecture's ISA is a valid name, refused with the reason (this suite runs where the x86-64 library loads).
    await assert.rejects(chooseCpuKernel('native', 'neon'), (e: FlashMlaError) => e.code === 'backend_unavailable'
      && /ISA neon forced \(option isa: 'neon'\) but this is x86-64 \(its ISAs: avx512bf16, avx512, avx2\)/.test(e.message));
    // The ISA only matters where the native rung is considered.
    assert.equal((await withEnv({ FLASHMLA_CPU_ISA: 'sse2' }, () => chooseCpuKernel('wasm'))).kernel.name, 'wasm');
  });

  test('an ISA the CPU lacks (hidden by FLASHMLA_CPU_FEATURE_MASK) is refused with the reason, never run', async () => {
    await withEnv({ FLASHMLA_CPU_FEATURE_MASK: '1', FLASHMLA_CPU_ISA: undefined }, async () => {
      for (const isa of ['avx512', 'avx512bf16'] as const) {
        await assert.rejects(chooseCpuKernel('native', isa), (e: FlashMlaError) => e.code === 'backend_unavailable'
          && /ISA avx512\S* forced .* but this CPU lacks AVX-512F\/BW\/VL\/DQ.*\(it has: avx2\).*FLASHMLA_CPU_FEATURE_MASK=1/.test(e.message));
        // Named under kernel 'auto' too: a comparison run must not quietly measure another kernel.
        await assert.rejects(chooseCpuKernel('auto', isa), (e: FlashMlaError) => e.code === 'backend_unavailable');
        await assert.rejects(createCpuBackend({ workers: 1, kernel: 'native', isa }), (e: FlashMlaError) => e.code === 'backend_unavailable');
      }
      const p = await chooseCpuKernel('auto');
      assert.equal(p.kernel.isa, 'avx2');
      assert.match(p.kernel.detail, /AVX2\+FMA, chosen: this CPU lacks AVX-512F\/BW\/VL\/DQ/);
    });
    await withEnv({ FLASHMLA_CPU_FEATURE_MASK: String(1 | 2 | 8), FLASHMLA_CPU_ISA: undefined }, async () => {
      if (isaSkip.avx512) return; // this CPU has no AVX-512 to keep
      assert.match((await chooseCpuKernel('native')).kernel.detail, /AVX-512 \(16-lane f32 FMA\), chosen: this CPU lacks .*AVX512_BF16/);
      await assert.rejects(chooseCpuKernel('native', 'avx512bf16'), /lacks AVX-512F\/BW\/VL\/DQ and AVX512_BF16/);
    });
    await withEnv({ FLASHMLA_CPU_FEATURE_MASK: '0' }, () => assert.rejects(chooseCpuKernel('native'), /this CPU lacks AVX2, FMA or F16C/));
  });
});

/**
 * Odd shapes for the ISA-specific loops: partial 4-row and 4-key blocks (odd hQ, groups of 5, 130 rows = row chunks of
 * 48 with a remainder of 34), tiles of 0/1/63/64/65 keys and long sequences, causal sQ > 1 with rows that see
 * nothing, hKv > 1, f16 and bf16; each run unsplit (numSms 1) and split (numSms 132).
 */
const oddShapes: CaseSpec[] = [
  { name: 'bf16 hQ 3: seqlens 0/1/63/64/65/1500', dtype: 'bf16', hQ: 3, hKv: 1, pageBlockSize: 64, seqlens: [0, 1, 63, 64, 65, 1500], sQ: 1, causal: false },
  { name: 'f16 hQ 3: seqlens 0/1/63/64/65/1500', dtype: 'f16', hQ: 3, hKv: 1, pageBlockSize: 64, seqlens: [0, 1, 63, 64, 65, 1500], sQ: 1, causal: false },
  { name: 'bf16 hQ 10 hKv 2, causal sQ 3, page 16', dtype: 'bf16', hQ: 10, hKv: 2, pageBlockSize: 16, seqlens: [65, 129, 2, 700], sQ: 3, causal: true },
  { name: 'f16 hQ 10 hKv 2, causal sQ 2', dtype: 'f16', hQ: 10, hKv: 2, pageBlockSize: 64, seqlens: [63, 1, 130], sQ: 2, causal: true },
  { name: 'bf16 hQ 7 hKv 7, causal sQ 4 (rows that see no key)', dtype: 'bf16', hQ: 7, hKv: 7, pageBlockSize: 64, seqlens: [64, 1, 3], sQ: 4, causal: true },
  { name: 'bf16 hQ 130 (row chunks), seqlens 2049/63', dtype: 'bf16', hQ: 130, hKv: 1, pageBlockSize: 64, seqlens: [2049, 63], sQ: 1, causal: false },
  { name: 'f16 hQ 65, causal sQ 2, seqlens 1000/64', dtype: 'f16', hQ: 65, hKv: 1, pageBlockSize: 32, seqlens: [1000, 64], sQ: 2, causal: true },
];

for (const isa of nativeIsas) {
  describe(`odd shapes on native ${isa}, unsplit and split, against the float64 reference`, { skip: isaSkip[isa] }, () => {
    oddShapes.forEach((spec, i) => {
      test(spec.name, async () => {
        const c = makeCase(spec, 4300 + i), ref = caseReference(c);
        const be = backends.get(`native ${isa} inline`)!;
        for (const numSms of [1, 132]) {
          const got = await runCase(c, be, flashMlaWithKvcache, { numSms });
          assertOutputsClose(got.out, got.lse, ref, c.dtype, c, tol, `${spec.name} on native ${isa} (numSms ${numSms})`);
        }
      });
    });
  });
}

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
    assert.equal(p.kernel.name, rungs[0][1].name);
    assert.equal(p.kernel.isa, rungs[0][1].isa, 'the native rung with the best ISA');
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

describe('the native split combine (decode_common.h combine_item) against the JavaScript one, bit for bit', { skip: nativeSkip }, () => {
  for (const [name, kernel] of rungs.filter(([n]) => n.startsWith('native'))) {
    test(`${name}: bf16 and f16, varlen and uniform, partials of lse -inf / NaN / +inf with inf and NaN values, rows no partial saw`, async () => {
      const { runCombineUnit } = await import('../../src/backends/cpu/kernel.js');
      const { combineUnitOf } = await import('../../src/backends/cpu/item.js');
      const native = combineUnitOf(kernel);
      assert.notEqual(native, runCombineUnit, `${name} binds a native combine`);
      const { Rng } = await import('../support/random.js');
      const seen = { finite: 0, nan: 0, noKey: 0, nanValues: 0 };
      for (let seed = 0; seed < 24; seed++) {
        const rng = new Rng(9000 + seed);
        const dtype = seed % 3 === 2 ? 'f16' as const : 'bf16' as const;
        const b = rng.int(1, 4), hQ = rng.pick([1, 3, 16, 33]), varlen = seed % 4 === 1, causal = seed % 5 !== 0;
        const qLens = Array.from({ length: b }, () => (varlen ? rng.int(0, 3) : 2));
        const sQ = Math.max(1, ...qLens);
        const qIndptr = varlen ? Int32Array.from([0, ...qLens.map((_, i) => qLens.slice(0, i + 1).reduce((x, y) => x + y, 0))]) : undefined;
        const splitsOf = Array.from({ length: b }, () => rng.pick([1, 2, 3, 7]));
        const numSplits = Int32Array.from([0, ...splitsOf.map((_, i) => splitsOf.slice(0, i + 1).reduce((x, y) => x + y, 0))]);
        const seqlens = Int32Array.from({ length: b }, () => rng.pick([0, 1, 5, 300]));
        const totalQ = qIndptr ? qIndptr[b] : b * sQ, rowsPer = sQ * hQ, slots = numSplits[b];
        const lseAccum = Float32Array.from({ length: slots * rowsPer }, () => {
          const u = rng.float();
          return u < 0.15 ? -Infinity : u < 0.18 ? NaN : u < 0.2 ? Infinity : rng.normal() * 20;
        });
        // Some rows have every partial at -inf (no finite score anywhere): the sees-keys rule decides out and lse.
        for (let s = 0; s < slots; s++) if (rng.float() < 0.3) lseAccum[s * rowsPer] = -Infinity;
        const oAccum = Float32Array.from({ length: slots * rowsPer * 512 }, () => { const u = rng.float(); return u < 0.001 ? Infinity : u < 0.002 ? NaN : rng.normal(); });
        const lseStrides = varlen ? { lseStrideB: 0, lseStrideH: 1, lseStrideT: hQ } : { lseStrideB: (hQ - 1) * sQ, lseStrideH: sQ, lseStrideT: 1 };
        const p = { b, sQ, totalQ, hQ, hKv: 1, nGroups: hQ, dQk: 576, dV: 512, pageBlockSize: 64, numBlocks: 1, maxBlocksPerSeq: 1, dtype, kvDtype: dtype,
          softmaxScale: 0.04, causal, varlen, numSmParts: 4, ...lseStrides };
        const args = (out: Uint16Array, lse: Float32Array) => ({ p, q: new Uint16Array(0), kCache: new Uint16Array(0), blockTable: new Int32Array(0), seqlens, qIndptr, meta: new Int32Array(0), numSplits, out, lse, oAccum, lseAccum });
        const js = args(new Uint16Array(totalQ * hQ * 512).fill(0x1234), new Float32Array(totalQ * hQ).fill(-7));
        const nat = args(new Uint16Array(totalQ * hQ * 512).fill(0x1234), new Float32Array(totalQ * hQ).fill(-7));
        for (let i = 0; i < b; i++) { runCombineUnit(js, i); native(nat, i); }
        // Bit for bit, but a NaN's sign and payload (x86's arithmetic NaN is negative, V8's stored one positive).
        const isNan = dtype === 'bf16' ? (h: number) => (h & 0x7fff) > 0x7f80 : (h: number) => (h & 0x7fff) > 0x7c00;
        const bad = [...js.out.keys()].filter((k) => (isNan(js.out[k]) ? !isNan(nat.out[k]) : nat.out[k] !== js.out[k]));
        assert.deepEqual(bad.slice(0, 4).map((k) => [k, js.out[k], nat.out[k]]), [], `seed ${seed} (${dtype}, b ${b}, hQ ${hQ}, varlen ${varlen}): out [index, JS, native]`);
        const badLse = [...js.lse.keys()].filter((k) => !Object.is(js.lse[k], nat.lse[k]));
        assert.deepEqual(badLse.slice(0, 4).map((k) => [k, js.lse[k], nat.lse[k]]), [], `seed ${seed}: lse [index, JS, native]`);
        for (const x of js.lse) seen[Number.isNaN(x) ? 'nan' : x === Infinity ? 'noKey' : 'finite']++;
        for (let ro = 0; ro < totalQ * hQ; ro++) { // out row ro: query ro / hQ, head ro % hQ; its lse element
          const t = Math.floor(ro / hQ), h = ro % hQ, li = varlen ? ro : (Math.floor(t / sQ) * hQ + h) * sQ + (t % sQ);
          if (Number.isFinite(js.lse[li]) && js.out.subarray(ro * 512, ro * 512 + 512).some(isNan)) seen.nanValues++;
        }
      }
      // The cases reach every kind of row: finite, NaN (a NaN partial, or keys all scored -inf), no key at all, and
      // finite lse with NaN values (inf x 0 or a NaN value in a partial).
      for (const [k, n] of Object.entries(seen)) assert.ok(n > 0, `no ${k} row among the cases: ${JSON.stringify(seen)}`);
    });
  }
});
