// The arm64 native CPU kernel (decode_neon.c: neon and neonbf16) on this x86-64 machine: scripts/build-cpu.mjs
// cross-builds libflashmla_cpu-linux-arm64.so with aarch64-linux-gnu-gcc, test/native/neon-decode.c (built with the
// same compiler) runs it against a float64 reference under qemu-aarch64, once as a CPU with FEAT_BF16 (`-cpu max`:
// the dispatch must pick neonbf16, and both units run) and once as one without (`-cpu cortex-a72`: neon). Needs the
// Debian packages gcc-aarch64-linux-gnu and qemu-user; without them it skips saying so, and fails under CI (.ci/run
// installs both). qemu's timings say nothing about the speed of real arm64 cores and none are taken here.
// The token-sparse entries (flashmla_cpu_sparse_item_neon / _neonbf16) are cross-checked: test/native/sparse-cross.c,
// built for both machines, runs the same seeded cases through them under qemu and through the x86-64 AVX2 entry
// (which cpu-sparse-native.test.ts holds to the float64 reference) here, and the outputs must agree (sparseAgree);
// its FP8 cases run once more through the dense entries (dense decode over FP8 pages by block table).
// The loader's arm64 path (koffi, the ISA choice and its reasons) is checked on this machine with process.arch set
// to 'arm64' and a stub library built for x86-64 that has the arm64 entry points and reports chosen hwcap bits.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isasFor, nativeIsaChoices } from '../../src/backends/cpu/native/loader.js';

/** One case of test/native/sparse-cross.c: its name and the float counts of out, lse, oAccum, lseAccum. */
interface CrossCase { name: string; sizes: number[] }

function parseCases(stdout: string): CrossCase[] {
  return [...stdout.matchAll(/^case (\d+) (\d+) (\d+) (\d+) (.*)$/gm)].map((m) => ({ name: m[5], sizes: m.slice(1, 5).map(Number) }));
}

/** The spacing of floats with `mant` fraction bits at |x| (bf16 7, f32 23), normal range only. */
const ulpOf = (x: number, mant: number) => 2 ** (Math.floor(Math.log2(Math.max(Math.abs(x), 2 ** -126))) - mant);

/**
 * got against ref (both sparse-cross.c output): NaN and +-inf positions equal; any other value x within, of its
 * array: out (bf16 values) 2 bf16 ulps of |x| plus 1/16 bf16 ulp of its row's largest |value| (rows of DV = 512);
 * oAccum (f32) 16 f32 ulps plus 2^-20 of the row's largest; lse and lseAccum (f32) 2^-20 max(1, |x|). Room for the
 * summation orders of 4-lane NEON, 8-lane AVX2 and BFDOT's round to odd (measured: at most 0.45 of each), small
 * enough that bf16-truncated keys in the Q K^T of one tile fail (a pack_bf16_tile that calls every tile exact: oAccum
 * at 160 times its bound). Returns the failures (at most 8), each naming the case, the array, the index, both values.
 */
function sparseAgree(cases: CrossCase[], ref: Float32Array, got: Float32Array): string[] {
  const bad: string[] = [];
  if (ref.length !== got.length) return [`lengths differ: ${ref.length} vs ${got.length}`];
  const arrays = ['out', 'lse', 'oAccum', 'lseAccum'];
  let at = 0;
  for (const c of cases) {
    c.sizes.forEach((n, a) => {
      const row = a % 2 === 0 ? 512 : n;
      for (let r0 = 0; r0 < n; r0 += row) {
        let big = 0;
        for (let k = r0; k < r0 + row; k++) if (Number.isFinite(ref[at + k])) big = Math.max(big, Math.abs(ref[at + k]));
        for (let k = r0; k < r0 + row; k++) {
          const x = ref[at + k], y = got[at + k];
          const m = Math.max(Math.abs(x), Math.abs(y));
          const tol = a === 0 ? 2 * ulpOf(m, 7) + ulpOf(big, 7) / 16 : a === 2 ? 16 * ulpOf(m, 23) + big * 2 ** -20 : 2 ** -20 * Math.max(1, m);
          const ok = Number.isFinite(x) ? Math.abs(x - y) <= tol : Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y));
          if (!ok && bad.length < 8) bad.push(`[${c.name}] ${arrays[a]}[${k}]: x86-64 ${x}, arm64 ${y}`);
        }
      }
      at += n;
    });
  }
  return bad;
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const ci = Boolean(process.env.CI) && process.env.CI !== 'false';
const crossCc = process.env.CC_ARM64 || 'aarch64-linux-gnu-gcc';
const qemu = process.env.QEMU_AARCH64 || 'qemu-aarch64';
const sysroot = process.env.QEMU_LD_PREFIX || '/usr/aarch64-linux-gnu';

const readF32 = (path: string) => new Float32Array(Uint8Array.from(readFileSync(path)).buffer);
const runs = (cmd: string, args: string[]) => spawnSync(cmd, args, { encoding: 'utf8' }).status === 0;

/** Why the qemu suite cannot run here (undefined when it can). */
function missing(): string | undefined {
  if (process.arch !== 'x64' || process.platform !== 'linux') return `cross build + qemu runs on x86-64 Linux (this is ${process.platform} ${process.arch})`;
  if (!runs(crossCc, ['--version'])) return `no ${crossCc} (apt-get install gcc-aarch64-linux-gnu, or set CC_ARM64)`;
  if (!runs(qemu, ['--version'])) return `no ${qemu} (apt-get install qemu-user, or set QEMU_AARCH64)`;
  if (!existsSync(join(sysroot, 'lib/ld-linux-aarch64.so.1'))) return `no AArch64 C library in ${sysroot} (apt-get install gcc-aarch64-linux-gnu)`;
  return undefined;
}
const skipReason = missing();
if (skipReason) console.log(`# arm64 NEON kernel under qemu skipped: ${skipReason}${ci ? ' (CI: failing instead)' : ''}`);

describe('arm64 ISA choice (features.c bits: 0 Advanced SIMD, 1 FEAT_BF16)', () => {
  test('neonbf16 needs both bits, neon the first; the x86-64 ISAs never apply on arm64', () => {
    assert.deepEqual(isasFor(3, 'arm64'), ['neonbf16', 'neon']);
    assert.deepEqual(isasFor(1, 'arm64'), ['neon']);
    assert.deepEqual(isasFor(2, 'arm64'), []);
    assert.deepEqual(isasFor(-1, 'arm64'), ['neonbf16', 'neon']);
    assert.deepEqual(isasFor(15, 'x64'), ['avx512bf16', 'avx512', 'avx2']);
    assert.deepEqual(isasFor(3, 'riscv64'), []);
    for (const isa of ['neon', 'neonbf16'] as const) assert.ok(nativeIsaChoices.includes(isa));
  });
});

describe('arm64 NEON kernel, cross-built and run under qemu-aarch64', { skip: ci ? undefined : skipReason }, () => {
  let dir = '', lib = '', harness = '', cross = '', crossX64 = '';
  let crossCases: CrossCase[] = [];
  let crossRef = new Float32Array(0);
  before(() => {
    if (skipReason) throw new Error(`CI must run the arm64 NEON suite: ${skipReason}`);
    dir = mkdtempSync(join(tmpdir(), 'flashmla-neon-'));
    // @ts-expect-error: a plain .mjs build script without types
    return import('../../scripts/build-cpu.mjs').then(({ buildCpu }) => {
      const r = buildCpu(dir) as { ok: boolean; failed?: boolean; message: string; arm64?: string };
      assert.ok(r.ok && r.arm64, `build-cpu did not cross-build the arm64 library: ${r.message}`);
      lib = r.arm64;
      harness = join(dir, 'neon-decode');
      const cc = spawnSync(crossCc, ['-O2', '-std=gnu11', '-Wall', '-Wextra', '-Werror', `-I${join(root, 'src/backends/cpu/native')}`,
        join(root, 'test/native/neon-decode.c'), '-o', harness, '-lm'], { encoding: 'utf8' });
      assert.equal(cc.status, 0, `${crossCc} test/native/neon-decode.c:\n${cc.stderr}`);
      // sparse-cross.c for both machines; the x86-64 AVX2 entry's outputs are the reference of the sparse tests.
      cross = join(dir, 'sparse-cross');
      crossX64 = join(dir, 'sparse-cross-x64');
      const flags = ['-O2', '-std=gnu11', '-Wall', '-Wextra', '-Werror', `-I${join(root, 'src/backends/cpu/native')}`, join(root, 'test/native/sparse-cross.c')];
      for (const [compiler, exe] of [[crossCc, cross], ['gcc', crossX64]]) {
        const r = spawnSync(compiler, [...flags, '-o', exe, '-lm'], { encoding: 'utf8' });
        assert.equal(r.status, 0, `${compiler} test/native/sparse-cross.c:\n${r.stderr}`);
      }
      const x = spawnSync(crossX64, [join(dir, 'libflashmla_cpu-linux-x64.so'), join(dir, 'x64'), 'flashmla_cpu_sparse_item'], { encoding: 'utf8' });
      assert.equal(x.status, 0, `sparse-cross on x86-64:\n${x.stdout}${x.stderr}`);
      crossCases = parseCases(x.stdout);
      assert.ok(crossCases.length >= 9, x.stdout);
      crossRef = readF32(join(dir, 'x64.flashmla_cpu_sparse_item.bin'));
    });
  });
  after(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  /** The harness under qemu as `cpu`; asserts it passed and returns its output. */
  function harnessOn(cpu: string, expectBest: string): string {
    const r = spawnSync(qemu, ['-L', sysroot, '-cpu', cpu, harness, lib, '--expect-best', expectBest], { encoding: 'utf8', timeout: 300_000 });
    const out = `${r.stdout}${r.stderr}`;
    assert.equal(r.status, 0, `qemu-aarch64 -cpu ${cpu} (status ${r.status}, signal ${r.signal}):\n${out}`);
    assert.match(out, /^OK$/m);
    return out;
  }

  /** sparse-cross.c under qemu as `cpu` through each entry; asserts every one agrees with the x86-64 reference. */
  function sparseOn(cpu: string, entries: string[]): void {
    const r = spawnSync(qemu, ['-L', sysroot, '-cpu', cpu, cross, lib, join(dir, cpu), ...entries], { encoding: 'utf8', timeout: 300_000 });
    assert.equal(r.status, 0, `qemu-aarch64 -cpu ${cpu} sparse-cross (status ${r.status}, signal ${r.signal}):\n${r.stdout}${r.stderr}`);
    assert.deepEqual(parseCases(r.stdout), crossCases);
    for (const e of entries) {
      const bad = sparseAgree(crossCases, crossRef, readF32(join(dir, `${cpu}.${e}.bin`)));
      assert.deepEqual(bad, [], `${e} (qemu -cpu ${cpu}) against flashmla_cpu_sparse_item (x86-64):\n${bad.join('\n')}`);
    }
  }

  test('the x64 build also makes libflashmla_cpu-linux-arm64.so, an AArch64 ELF with its sha256 in manifest.json', () => {
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { files: Record<string, string>; builds: Record<string, unknown> };
    const bytes = readFileSync(lib);
    assert.equal(manifest.files['libflashmla_cpu-linux-arm64.so'], createHash('sha256').update(bytes).digest('hex'));
    assert.ok(manifest.files['libflashmla_cpu-linux-x64.so']);
    assert.equal(bytes.readUInt16LE(18), 183, 'e_machine EM_AARCH64');
    const nm = spawnSync(crossCc.replace(/gcc$/, 'nm'), ['-D', '--defined-only', lib], { encoding: 'utf8' });
    if (nm.status === 0) {
      for (const sym of ['flashmla_cpu_decode_item_neon', 'flashmla_cpu_decode_item_neonbf16', 'flashmla_cpu_sparse_item_neon',
        'flashmla_cpu_sparse_item_neonbf16', 'flashmla_cpu_features', 'flashmla_cpu_abi']) {
        assert.match(nm.stdout, new RegExp(`\\b${sym}\\b`));
      }
    }
  });

  test('a CPU with FEAT_BF16 (-cpu max): the dispatch picks neonbf16; neonbf16 and neon match the float64 reference', () => {
    const out = harnessOn('max', 'neonbf16');
    assert.match(out, /BF16 yes\); best: neonbf16/);
    assert.match(out, /items x 2 ISA\(s\) \(neonbf16, neon\): 0 failures/);
  });

  test('a CPU without it (-cpu cortex-a72): the dispatch picks neon, which matches the reference', () => {
    const out = harnessOn('cortex-a72', 'neon');
    assert.match(out, /Advanced SIMD yes, BF16 no\); best: neon$/m);
    assert.match(out, /items x 1 ISA\(s\) \(neon\): 0 failures/);
  });

  test('token-sparse and dense FP8, -cpu max: neonbf16 and neon agree with the x86-64 AVX2 entries (bf16, f16, V3.2 and MODEL1 FP8 caches)', () => {
    sparseOn('max', ['flashmla_cpu_sparse_item_neonbf16', 'flashmla_cpu_sparse_item_neon']);
  });

  test('token-sparse and dense FP8, -cpu cortex-a72: neon agrees with the x86-64 AVX2 entries', () => {
    sparseOn('cortex-a72', ['flashmla_cpu_sparse_item_neon']);
  });
});

describe('the build without an arm64 cross compiler', { skip: process.arch === 'x64' && process.platform === 'linux' && runs('gcc', ['--version']) ? undefined : 'needs gcc on x86-64 Linux' }, () => {
  test('says so, exits 0 and writes the x64 library alone', () => {
    const out = mkdtempSync(join(tmpdir(), 'flashmla-nocross-'));
    try {
      const r = spawnSync(process.execPath, [join(root, 'scripts/build-cpu.mjs'), '--out', out],
        { env: { ...process.env, CC_ARM64: join(out, 'no-such-gcc') }, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /no arm64 library: CC_ARM64=.* does not run/);
      const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { files: Record<string, string> };
      assert.deepEqual(Object.keys(manifest.files), ['libflashmla_cpu-linux-x64.so']);
    } finally { rmSync(out, { recursive: true, force: true }); }
  });
});

const gccX64 = process.arch === 'x64' && process.platform === 'linux' && runs('gcc', ['--version']);
describe('the loader on arm64 (process.arch set to arm64, a stub library with the arm64 entry points)', { skip: gccX64 ? undefined : 'needs gcc on x86-64 Linux' }, () => {
  let dir = '';
  /** A stub libflashmla_cpu-linux-arm64.so (for this machine) in its own folder with its manifest; bf16: with the neonbf16 entry. */
  function stub(name: string, bf16: boolean): string {
    const d = join(dir, name);
    const src = join(dir, `${name}.c`);
    writeFileSync(src, `#include <stdint.h>
#include <stdlib.h>
#include "params.h"
int32_t flashmla_cpu_features(void) { const char *f = getenv("STUB_HWCAP_BITS"); return f ? atoi(f) : 0; }
int32_t flashmla_cpu_abi(void) { return FLASHMLA_CPU_ABI; }
int flashmla_cpu_decode_item_neon(void) { return 0; }
${bf16 ? 'int flashmla_cpu_decode_item_neonbf16(void) { return 0; }' : ''}
`);
    spawnSync('mkdir', ['-p', d]);
    const lib = join(d, 'libflashmla_cpu-linux-arm64.so');
    const cc = spawnSync('gcc', ['-shared', '-fPIC', `-I${join(root, 'src/backends/cpu/native')}`, src, '-o', lib], { encoding: 'utf8' });
    assert.equal(cc.status, 0, cc.stderr);
    const sha = createHash('sha256').update(readFileSync(lib)).digest('hex');
    writeFileSync(join(d, 'manifest.json'), JSON.stringify({ files: { 'libflashmla_cpu-linux-arm64.so': sha } }));
    return d;
  }
  /** chooseCpuKernel('native', isa) for each isa in a fresh process that believes it runs on arm64: isa and detail, or the error. */
  function choose(libDir: string, bits: number, isas: string[], env: Record<string, string> = {}): (string | { isa: string; detail: string })[] {
    // koffi finds its own native module by process.arch: loaded first, as this machine's.
    const code = `await import('koffi'); Object.defineProperty(process, 'arch', { value: 'arm64' });
      const m = await import('${join(root, 'src/backends/cpu/paths.ts')}');
      const out = [];
      for (const isa of ${JSON.stringify(isas)}) out.push(await m.chooseCpuKernel('native', isa).then((p) => ({ isa: p.kernel.isa, detail: p.kernel.detail }), (e) => e.message));
      console.log(JSON.stringify(out));`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      env: { ...process.env, FLASHMLA_CPU_LIB_DIR: libDir, FLASHMLA_CPU_ISA: '', FLASHMLA_CPU_FEATURE_MASK: '', STUB_HWCAP_BITS: String(bits), ...env },
      encoding: 'utf8', cwd: root,
    });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout.trim().split('\n').pop()!);
  }
  before(() => { dir = mkdtempSync(join(tmpdir(), 'flashmla-arm64-stub-')); });
  after(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  test('auto picks neonbf16 with FEAT_BF16, neon without; forcing works; x86-64 ISAs and missing features are reasons', () => {
    const full = stub('full', true);
    const [auto, neon, avx2] = choose(full, 3, ['auto', 'neon', 'avx2']);
    assert.deepEqual(typeof auto === 'object' && auto.isa, 'neonbf16');
    assert.match(typeof auto === 'object' ? auto.detail : auto, /^arm64 NEON \+ BF16 \(BFDOT .*chosen: the best this CPU has/);
    assert.match(typeof neon === 'object' ? neon.detail : neon, /^arm64 NEON \(4-lane f32 FMA\), forced by option isa: 'neon'; neonbf16 available/);
    assert.match(String(avx2), /ISA avx2 forced .* but this is arm64 \(its ISAs: neonbf16, neon\)/);
    const [a72, forced] = choose(full, 1, ['auto', 'neonbf16']);
    assert.match(typeof a72 === 'object' ? a72.detail : a72, /^arm64 NEON \(4-lane f32 FMA\), chosen: this CPU lacks FEAT_BF16/);
    assert.match(String(forced), /ISA neonbf16 forced .* but this CPU lacks Advanced SIMD and FEAT_BF16 \(it has: neon\)/);
    const [masked] = choose(full, 3, ['auto'], { FLASHMLA_CPU_FEATURE_MASK: '1' });
    assert.match(typeof masked === 'object' ? masked.detail : masked, /NEON \(4-lane.*lacks FEAT_BF16.*FLASHMLA_CPU_FEATURE_MASK=1/);
    assert.match(String(choose(full, 0, ['auto'])[0]), /this CPU lacks Advanced SIMD/);
  });

  test('a library without the neonbf16 entry (an old compiler) offers neon', () => {
    const [auto, forced] = choose(stub('old', false), 3, ['auto', 'neonbf16']);
    assert.match(typeof auto === 'object' ? auto.detail : auto, /^arm64 NEON \(4-lane.*chosen: the library lacks neonbf16/);
    assert.match(String(forced), /has no flashmla_cpu_decode_item_neonbf16/);
  });
});
