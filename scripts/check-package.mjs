#!/usr/bin/env node
// The published package as a user gets it: packs this repository (npm pack, after `npm run build`), installs the
// tarball into an empty folder from the npm registry, and then, with plain `node` (no tsx, no TypeScript):
// runs the flashmla command (help, info, a CPU demo, a CPU bench that must write into the working folder),
// imports every subpath export, and decodes one small batch through the public API against the float64
// reference. Fails on the first thing that is wrong. CI runs it after the tests (npm run test:package).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
if (!existsSync(join(root, 'dist/cli/main.js'))) {
  console.error('check-package: dist/ is missing: run npm run build first');
  process.exit(2);
}
const work = mkdtempSync(join(tmpdir(), 'flashmla-package-'));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
let failures = 0;
function check(what, ok, detail = '') {
  console.log(`${ok ? 'ok' : 'FAILED'}  ${what}${detail && !ok ? `\n        ${detail.trim().split('\n').join('\n        ')}` : ''}`);
  if (!ok) failures++;
}
function run(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 300_000, env: { ...process.env, FLASHMLA_CLI_SOURCE: '' } });
  return { code: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}`, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

try {
  const packed = JSON.parse(execFileSync(npm, ['pack', '--json', '--pack-destination', work], { cwd: root, encoding: 'utf8' }))[0];
  const files = packed.files.map((f) => f.path);
  check(`npm pack: ${packed.filename}, ${files.length} files, ${(packed.size / 1e6).toFixed(1)} MB`, files.includes('dist/index.js'));
  check('the tarball holds no TypeScript sources, tests or fixtures', !files.some((f) => /^(src|test|scripts|bench)\//.test(f)), files.filter((f) => /^(src|test)\//.test(f)).slice(0, 5).join('\n'));
  check('the tarball holds LICENSE and CHANGELOG.md', files.includes('LICENSE') && files.includes('CHANGELOG.md'));
  // Every native CPU library the build made (on x86-64 with the cross compiler: the arm64 one too) travels with it.
  const cpuManifest = join(root, 'dist/cpu/manifest.json');
  const cpuLibs = existsSync(cpuManifest) ? Object.keys(JSON.parse(readFileSync(cpuManifest, 'utf8')).files ?? {}).map((f) => `dist/cpu/${f}`) : [];
  check(`the tarball holds the native CPU libraries of dist/cpu/manifest.json (${cpuLibs.map((f) => f.split('/').pop()).join(', ') || 'none built'})`,
    cpuLibs.every((f) => files.includes(f)), cpuLibs.filter((f) => !files.includes(f)).join('\n'));

  const app = join(work, 'app');
  execFileSync('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  const inst = run(npm, ['install', '--no-audit', '--no-fund', join(work, packed.filename)], app);
  check('npm install of the tarball into an empty folder', inst.code === 0, inst.out);
  check('tsx is not installed with it (a dev dependency)', !existsSync(join(app, 'node_modules/tsx')));

  const bin = join(app, 'node_modules/.bin/flashmla');
  const help = run(process.execPath, [bin, '--help'], app);
  check('flashmla --help', help.code === 0 && /Usage: flashmla <command>/.test(help.stdout), help.out);
  const info = run(process.execPath, [bin, 'info'], app);
  check('flashmla info', info.code === 0 && /cpu\s+available/.test(info.stdout), info.out);
  check('flashmla info prints none of Dawn\'s own warnings', !/artificially reduced|Couldn't load Vulkan/.test(info.stderr), info.stderr);
  const demo = run(process.execPath, [bin, 'demo', '--backend', 'cpu', '--batch', '1', '--seqlen', '256', '--heads', '16', '--reps', '1', '--check', '2', '-q'], app);
  check('flashmla demo on the CPU', demo.code === 0 && /correct|match|ok/i.test(demo.stdout), demo.out);
  writeFileSync(join(app, 'tiny.json'), JSON.stringify([{ b: 1, s_k: 128, h_q: 16, s_q: 1 }]));
  const bench = run(process.execPath, [bin, 'bench', '--backend', 'cpu', '--configs', 'tiny.json', '--reps', '1', '--warmup', '0', '--check', '1', '-q'], app);
  const written = readdirSync(app).filter((f) => /^flashmla-bench-cpu-custom-.*\.json$/.test(f));
  check('flashmla bench writes its JSON into the working folder', bench.code === 0 && written.length === 1, bench.out);
  check('flashmla bench writes nothing into the package', !existsSync(join(app, 'node_modules/flashmla-ts/bench')));
  if (written.length === 1) {
    const result = JSON.parse(readFileSync(join(app, written[0]), 'utf8'));
    check('bench JSON records the package version as its commit', result.commit === `flashmla-ts@${pkg.version}`, `commit: ${result.commit}`);
  }

  // Every subpath export loads under plain node and has its factory.
  const expect = { '.': 'flashMlaWithKvcache', './cpu': 'createCpuBackend', './cuda': 'createCudaBackend', './webgpu': 'createWebGpuBackend', './webgpu/node': 'createNodeWebGpuBackend', './node': 'createBestBackend' };
  for (const sub of Object.keys(pkg.exports).filter((k) => k !== './package.json')) {
    const spec = sub === '.' ? pkg.name : `${pkg.name}/${sub.slice(2)}`;
    const name = expect[sub];
    const r = run(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(spec)}); if (typeof m[${JSON.stringify(name ?? '')}] !== 'function') throw new Error('no ${name}');`], app);
    check(`import '${spec}'${name ? ` has ${name}()` : ''}`, r.code === 0 && name !== undefined, r.out || `no expectation for ${sub}: add it to scripts/check-package.mjs`);
  }

  // One decode through the public API on the worker backend, against the float64 reference.
  writeFileSync(join(app, 'decode.mjs'), `
import { fromArray, getMlaMetadata, flashMlaWithKvcache, referenceDecode, f32ToBf16, bf16ToF32 } from 'flashmla-ts';
import { createCpuBackend } from 'flashmla-ts/cpu';
const b = 2, hQ = 16, page = 64, seqlens = [70, 129], maxBlocks = 3, numBlocks = 6;
let s = 7; const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
const q = Uint16Array.from({ length: b * hQ * 576 }, () => f32ToBf16(rnd()));
const k = Uint16Array.from({ length: numBlocks * page * 576 }, () => f32ToBf16(rnd()));
const table = Int32Array.from([5, 1, 0, 3, 2, 4]);
const backend = await createCpuBackend({ workers: 2 });
const md = getMlaMetadata(Int32Array.from(seqlens), hQ, 1);
const { out, lse } = await flashMlaWithKvcache(fromArray('bf16', [b, 1, hQ, 576], q), backend.upload(fromArray('bf16', [numBlocks, page, 1, 576], k)),
  fromArray('i32', [b, maxBlocks], table), fromArray('i32', [b], Int32Array.from(seqlens)), 512, md.tileSchedulerMetadata, md.numSplits, { backend });
const ref = referenceDecode({ q, kCache: k, blockTable: table, cacheSeqlens: Int32Array.from(seqlens), dtype: 'bf16', b, sQ: 1, hQ, hKv: 1, pageBlockSize: page, maxBlocksPerSeq: maxBlocks });
const o = (await backend.download(out)).host();
let err = 0; for (let i = 0; i < o.length; i++) err = Math.max(err, Math.abs(bf16ToF32(o[i]) - ref.out[i]));
backend.dispose();
if (!(err < 2e-2)) throw new Error('max error ' + err);
console.log('decode ok, max error', err.toExponential(2));
`);
  const dec = run(process.execPath, ['decode.mjs'], app);
  check('a decode through the public API with plain node matches the float64 reference', dec.code === 0, dec.out);
} finally {
  rmSync(work, { recursive: true, force: true });
}
console.log(failures ? `check-package: ${failures} check(s) failed` : 'check-package: all checks passed');
process.exitCode = failures ? 1 : 0;
