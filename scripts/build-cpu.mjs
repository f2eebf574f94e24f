#!/usr/bin/env node
// Build the native CPU kernel: src/backends/cpu/native/*.c with gcc or clang into
// dist/cpu/libflashmla_cpu-<platform>-<arch>.<so|dylib> (decode_avx2.c with -mavx2 -mfma -mf16c, decode_avx512.c twice
// with AVX-512 flags, features.c without, so the feature check runs on any x86-64), warnings as errors, and record its sha256 in dist/cpu/manifest.json,
// which the loader checks before it loads the library. On other architectures, or without a C compiler, it says
// so and exits 0: the CPU backend then runs the WebAssembly or scalar kernel and `flashmla info` says why.
//
//   node scripts/build-cpu.mjs [--out <dir>]       (CC picks the compiler; default cc, then gcc, then clang)
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const nativeSrc = join(root, 'src/backends/cpu/native');
export const libName = `libflashmla_cpu-${process.platform}-${process.arch}.${process.platform === 'darwin' ? 'dylib' : 'so'}`;
const common = ['-std=c11', '-O3', '-fPIC', '-Wall', '-Wextra', '-Werror', '-fno-math-errno'];
const avx512 = ['-mavx512f', '-mavx512bw', '-mavx512vl', '-mavx512dq', '-mfma', '-mf16c'];
/**
 * Per object: its source and the flags that select its instruction set (decode_avx512.c is built twice). The
 * AVX-512 objects are optional: a compiler that does not know their -m flags (gcc < 10, clang < 9 for AVX512_BF16)
 * builds the library without them, says so, and the loader then offers only the ISAs whose entry points exist.
 */
export const units = {
  'decode_avx2.o': ['decode_avx2.c', '-mavx2', '-mfma', '-mf16c'],
  'decode_avx512.o': ['decode_avx512.c', ...avx512],
  'decode_avx512bf16.o': ['decode_avx512.c', ...avx512, '-mavx512bf16', '-DBF16_DOT=1'],
  'features.o': ['features.c'],
};
const optional = new Set(['decode_avx512.o', 'decode_avx512bf16.o']);

/** Whether the compiler accepts these flags at all (on an empty translation unit). */
function acceptsFlags(cc, flags) {
  return spawnSync(cc, [...flags, '-x', 'c', '-c', '-o', '/dev/null', '-'], { input: '', encoding: 'utf8' }).status === 0;
}

function findCc() {
  for (const c of [process.env.CC, 'cc', 'gcc', 'clang']) {
    if (!c) continue;
    const r = spawnSync(c, ['--version'], { encoding: 'utf8' });
    if (r.status === 0) return { cc: c, version: r.stdout.split('\n')[0].trim() };
  }
  return undefined;
}

/** Build into outDir; returns { ok, message, lib? }. Never throws for a missing compiler or platform. */
export function buildCpu(outDir = join(root, 'dist/cpu')) {
  if (process.arch !== 'x64') return { ok: false, message: `no native CPU kernel for ${process.arch} yet (x64 only)` };
  const found = findCc();
  if (!found) return { ok: false, message: 'no C compiler (set CC); the CPU backend will use WebAssembly or scalar JS' };
  mkdirSync(outDir, { recursive: true });
  const objs = [], skipped = [];
  for (const [name, [src, ...isa]] of Object.entries(units)) {
    if (optional.has(name) && !acceptsFlags(found.cc, isa)) { skipped.push(`${name} (${found.cc} rejects ${isa.join(' ')})`); continue; }
    const obj = join(outDir, name);
    const r = spawnSync(found.cc, [...common, ...isa, '-c', join(nativeSrc, src), '-o', obj], { encoding: 'utf8' });
    if (r.status !== 0) return { ok: false, failed: true, message: `${found.cc} ${src} failed:\n${r.stderr}` };
    objs.push(obj);
  }
  const lib = join(outDir, libName);
  const link = spawnSync(found.cc, ['-shared', '-o', lib, ...objs, '-lm'], { encoding: 'utf8' });
  for (const o of objs) rmSync(o, { force: true });
  if (link.status !== 0) return { ok: false, failed: true, message: `link failed:\n${link.stderr}` };
  const sha256 = createHash('sha256').update(readFileSync(lib)).digest('hex');
  const manifest = { cc: found.version, flags: common, units, ...(skipped.length ? { skipped } : {}), files: { [libName]: sha256 } };
  writeFileSync(join(outDir, 'manifest.json'), JSON.stringify(manifest, null, 1) + '\n');
  return { ok: true, lib, message: `${libName} -> ${outDir} (${found.version})${skipped.length ? `; without ${skipped.join(', ')}` : ''}` };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const i = args.indexOf('--out');
  const r = buildCpu(i >= 0 ? resolve(args[i + 1]) : undefined);
  console.log(`build-cpu: ${r.message}`);
  if (r.failed) process.exit(1);
}
