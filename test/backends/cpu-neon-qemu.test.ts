// The arm64 native CPU kernel (decode_neon.c: neon and neonbf16) on this x86-64 machine: scripts/build-cpu.mjs
// cross-builds libflashmla_cpu-linux-arm64.so with aarch64-linux-gnu-gcc, test/native/neon-decode.c (built with the
// same compiler) runs it against a float64 reference under qemu-aarch64, once as a CPU with FEAT_BF16 (`-cpu max`:
// the dispatch must pick neonbf16, and both units run) and once as one without (`-cpu cortex-a72`: neon). Needs the
// Debian packages gcc-aarch64-linux-gnu and qemu-user; without them it skips saying so, and fails under CI (.ci/run
// installs both). qemu's timings say nothing about the speed of real arm64 cores and none are taken here.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isasFor, nativeIsaChoices } from '../../src/backends/cpu/native/loader.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const ci = Boolean(process.env.CI) && process.env.CI !== 'false';
const crossCc = process.env.CC_ARM64 || 'aarch64-linux-gnu-gcc';
const qemu = process.env.QEMU_AARCH64 || 'qemu-aarch64';
const sysroot = process.env.QEMU_LD_PREFIX || '/usr/aarch64-linux-gnu';

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
  let dir = '', lib = '', harness = '';
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

  test('the x64 build also makes libflashmla_cpu-linux-arm64.so, an AArch64 ELF with its sha256 in manifest.json', () => {
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { files: Record<string, string>; builds: Record<string, unknown> };
    const bytes = readFileSync(lib);
    assert.equal(manifest.files['libflashmla_cpu-linux-arm64.so'], createHash('sha256').update(bytes).digest('hex'));
    assert.ok(manifest.files['libflashmla_cpu-linux-x64.so']);
    assert.equal(bytes.readUInt16LE(18), 183, 'e_machine EM_AARCH64');
    const nm = spawnSync(crossCc.replace(/gcc$/, 'nm'), ['-D', '--defined-only', lib], { encoding: 'utf8' });
    if (nm.status === 0) {
      for (const sym of ['flashmla_cpu_decode_item_neon', 'flashmla_cpu_decode_item_neonbf16', 'flashmla_cpu_features', 'flashmla_cpu_abi']) {
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
