#!/usr/bin/env node
// Build the native CPU kernel: src/backends/cpu/native/*.c with gcc or clang into
// dist/cpu/libflashmla_cpu-<platform>-<arch>.<so|dylib>, warnings as errors, and record its sha256 in
// dist/cpu/manifest.json, which the loader checks before it loads the library.
//   x64: decode_avx2.c with -mavx2 -mfma -mf16c, decode_avx512.c twice with AVX-512 flags;
//   arm64 (Linux): decode_neon.c twice, plain Advanced SIMD (-march=armv8-a) and with BFDOT (-march=armv8.2-a+bf16);
//   features.c without ISA flags in both, so the feature check runs on any CPU of the architecture.
// On x64 Linux it also cross-builds libflashmla_cpu-linux-arm64.so when an AArch64 cross compiler is there (CC_ARM64,
// else aarch64-linux-gnu-gcc), so a package packed there carries both; without one it says so and goes on. On other architectures,
// or without a C compiler, it says so and exits 0: the CPU backend then runs the WebAssembly or scalar kernel and
// `flashmla info` says why.
//
//   node scripts/build-cpu.mjs [--out <dir>]       (CC picks the compiler; default cc, then gcc, then clang)
//   node scripts/build-cpu.mjs --if-missing        (npm start's prestart: in a clone that has not run `npm run build`,
//                                                   build this machine's library alone, ~4 s, so the demo runs the
//                                                   native kernel; silent when a library is already there)
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const nativeSrc = join(root, 'src/backends/cpu/native');
const libFile = (platform, arch) => `libflashmla_cpu-${platform}-${arch}.${platform === 'darwin' ? 'dylib' : 'so'}`;
export const libName = libFile(process.platform, process.arch);
const common = ['-std=c11', '-O3', '-fPIC', '-Wall', '-Wextra', '-Werror', '-fno-math-errno'];
const avx512 = ['-mavx512f', '-mavx512bw', '-mavx512vl', '-mavx512dq', '-mfma', '-mf16c'];
/**
 * Per architecture, per object: its source and the flags that select its instruction set (the vector units are
 * built twice), and the objects that are optional: a compiler that does not know their flags (gcc < 10, clang < 9
 * for AVX512_BF16; gcc < 10, clang < 11 for +bf16) builds the library without them, says so, and the loader then
 * offers only the ISAs whose entry points exist.
 */
export const archUnits = {
  x64: {
    units: {
      'decode_avx2.o': ['decode_avx2.c', '-mavx2', '-mfma', '-mf16c'],
      'decode_avx512.o': ['decode_avx512.c', ...avx512],
      'decode_avx512bf16.o': ['decode_avx512.c', ...avx512, '-mavx512bf16', '-DBF16_DOT=1'],
      'features.o': ['features.c'],
    },
    optional: ['decode_avx512.o', 'decode_avx512bf16.o'],
  },
  arm64: {
    units: {
      'decode_neon.o': ['decode_neon.c', '-march=armv8-a'],
      'decode_neonbf16.o': ['decode_neon.c', '-march=armv8.2-a+bf16', '-DBF16_DOT=1'],
      'features.o': ['features.c'],
    },
    optional: ['decode_neonbf16.o'],
  },
};
export const units = archUnits[process.arch]?.units ?? {};

/** Whether the compiler accepts these flags at all (on an empty translation unit). */
function acceptsFlags(cc, flags) {
  return spawnSync(cc, [...flags, '-x', 'c', '-c', '-o', '/dev/null', '-'], { input: '', encoding: 'utf8' }).status === 0;
}

function findCc(candidates) {
  for (const c of candidates) {
    if (!c) continue;
    const r = spawnSync(c, ['--version'], { encoding: 'utf8' });
    if (r.status === 0) return { cc: c, version: r.stdout.split('\n')[0].trim() };
  }
  return undefined;
}

/** One library for `arch` with compiler `found`: { ok, failed?, message, file?, sha256?, record? }. */
function buildLib(found, arch, platform, outDir) {
  const { units: table, optional } = archUnits[arch];
  const name = libFile(platform, arch);
  const objs = [], skipped = [];
  for (const [obj, [src, ...isa]] of Object.entries(table)) {
    if (optional.includes(obj) && !acceptsFlags(found.cc, isa)) { skipped.push(`${obj} (${found.cc} rejects ${isa.join(' ')})`); continue; }
    const path = join(outDir, `${arch}-${obj}`);
    const r = spawnSync(found.cc, [...common, ...isa, '-c', join(nativeSrc, src), '-o', path], { encoding: 'utf8' });
    if (r.status !== 0) {
      for (const o of objs) rmSync(o, { force: true });
      return { ok: false, failed: true, message: `${found.cc} ${src} (${arch}) failed:\n${r.stderr}` };
    }
    objs.push(path);
  }
  const lib = join(outDir, name);
  const link = spawnSync(found.cc, ['-shared', '-o', lib, ...objs, '-lm'], { encoding: 'utf8' });
  for (const o of objs) rmSync(o, { force: true });
  if (link.status !== 0) return { ok: false, failed: true, message: `link (${arch}) failed:\n${link.stderr}` };
  const sha256 = createHash('sha256').update(readFileSync(lib)).digest('hex');
  return {
    ok: true, name, lib, sha256, record: { cc: found.version, units: table, ...(skipped.length ? { skipped } : {}) },
    message: `${name} (${found.version})${skipped.length ? `; without ${skipped.join(', ')}` : ''}`,
  };
}

/**
 * Build into outDir; returns { ok, message, lib?, arm64? } (arm64: the cross-built library's path, on x64). Never
 * throws for a missing compiler or platform; `failed` is set when a compiler that is there rejects the code.
 * `cross: false` skips the arm64 cross build (tests that only load this machine's library).
 */
export function buildCpu(outDir = join(root, 'dist/cpu'), { cross = true } = {}) {
  const arch = process.arch;
  if (!archUnits[arch] || (arch === 'arm64' && process.platform !== 'linux')) {
    return { ok: false, message: `no native CPU kernel for ${process.platform} ${arch} yet (x64, and arm64 Linux)` };
  }
  const found = findCc([process.env.CC, 'cc', 'gcc', 'clang']);
  if (!found) return { ok: false, message: 'no C compiler (set CC); the CPU backend will use WebAssembly or scalar JS' };
  mkdirSync(outDir, { recursive: true });
  const host = buildLib(found, arch, process.platform, outDir);
  if (!host.ok) return host;
  const builds = { [host.name]: host.record }, files = { [host.name]: host.sha256 };
  const notes = [`${host.message} -> ${outDir}`];
  let arm64;
  if (cross && arch === 'x64' && process.platform === 'linux') {
    // The cross build: the same sources for Linux on AArch64, so a package packed here runs natively there too.
    // CC_ARM64, when set, is the only candidate (so a wrong one is reported, not quietly replaced).
    const cross = findCc(process.env.CC_ARM64 ? [process.env.CC_ARM64] : ['aarch64-linux-gnu-gcc']);
    if (!cross) {
      notes.push(`no arm64 library: ${process.env.CC_ARM64 ? `CC_ARM64=${process.env.CC_ARM64} does not run` : 'no AArch64 cross compiler'}`
        + ' (set CC_ARM64, or apt-get install gcc-aarch64-linux-gnu)');
    }
    else {
      const b = buildLib(cross, 'arm64', 'linux', outDir);
      if (!b.ok) return b;
      builds[b.name] = b.record;
      files[b.name] = b.sha256;
      arm64 = b.lib;
      notes.push(`${b.message} (cross)`);
    }
  }
  const manifest = { flags: common, builds, files };
  writeFileSync(join(outDir, 'manifest.json'), JSON.stringify(manifest, null, 1) + '\n');
  return { ok: true, lib: host.lib, arm64, message: notes.join('; ') };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const i = args.indexOf('--out');
  const outDir = i >= 0 ? resolve(args[i + 1]) : join(root, 'dist/cpu');
  if (args.includes('--if-missing')) {
    // Only where nothing is built for this machine; a failure here must not stop the demo (it falls back to the
    // WebAssembly kernel and `flashmla info` says why), so it is reported and the exit status stays 0.
    if (!archUnits[process.arch] || existsSync(join(outDir, libName))) process.exit(0);
    const r = buildCpu(outDir, { cross: false });
    console.log(r.ok ? `build-cpu: built the native CPU kernel, ${r.message}` : `build-cpu: no native CPU kernel: ${r.message.split('\n')[0]}`);
    process.exit(0);
  }
  const r = buildCpu(outDir);
  console.log(`build-cpu: ${r.message}`);
  if (r.failed) process.exit(1);
}
