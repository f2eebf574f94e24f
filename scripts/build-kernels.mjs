#!/usr/bin/env node
// Build the CUDA kernels: regenerate src/backends/cuda/kernels/params.h from the TypeScript description, then
// compile each kernels/*.cu with nvcc into dist/cuda/<name>.fatbin (sm_80, sm_86, sm_89, sm_90a machine code and
// compute_80 PTX for newer GPUs), warnings as errors, and record sha256 checksums in dist/cuda/manifest.json.
// Without nvcc it says so and exits 0: the package still works, the CUDA backend reports itself unavailable.
//
//   node scripts/build-kernels.mjs [--launch <launch.js>] [--out <dir>] [--check]
//     --launch  the compiled kernels/launch.js (default dist/backends/cuda/kernels/launch.js, built by tsc first)
//     --out     output folder (default dist/cuda)
//     --check   fail if params.h in the tree differs from what the description generates (CI), instead of updating it
//     --gencode G  build for G only (e.g. arch=compute_90a,code=sm_90a), a smaller dist/cuda for one card; sources
//                  whose gencodeOnly list lacks G are skipped (the backend then runs without them)
//     --define D   pass -DD to nvcc (repeatable): maintainer builds only, e.g. MLA_RACECHECK_STRICT, the
//                  verification build of docs/notes/sanitizers.md; the manifest records the defines
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const kernelsDir = join(root, 'src/backends/cuda/kernels');
const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const launchJs = resolve(root, opt('--launch', 'dist/backends/cuda/kernels/launch.js'));
const outDir = resolve(root, opt('--out', 'dist/cuda'));
const check = args.includes('--check');
const only = opt('--gencode', '');
const defines = args.flatMap((a, i) => (a === '--define' && args[i + 1] ? [`-D${args[i + 1]}`] : []));

/** The architectures we ship machine code for, and the PTX that newer GPUs compile at load. */
export const gencode = [
  'arch=compute_80,code=sm_80',
  'arch=compute_86,code=sm_86',
  'arch=compute_89,code=sm_89',
  'arch=compute_90a,code=sm_90a',
  'arch=compute_80,code=compute_80',
];
/** Sources built for one architecture only (their instructions exist nowhere else): file -> gencode list. */
export const gencodeOnly = {
  'decode_sm90.cu': ['arch=compute_90a,code=sm_90a'], // wgmma, TMA tensor copies, setmaxnreg, mbarrier tx counts
  'decode_sm90_wide.cu': ['arch=compute_90a,code=sm_90a'], // wgmma, TMA tensor copies, setmaxnreg
  'sparse_sm90.cu': ['arch=compute_90a,code=sm_90a'], // wgmma, mbarriers, setmaxnreg
  'dense_fp8_sm90.cu': ['arch=compute_90a,code=sm_90a'], // wgmma, bulk copies, mbarrier tx counts, setmaxnreg
};
const flags = ['-std=c++17', '-O3', '--Werror', 'all-warnings', '-Xptxas', '-warn-spills', '--threads', '0'];

function findNvcc() {
  const candidates = [process.env.NVCC, 'nvcc', process.env.CUDA_HOME && join(process.env.CUDA_HOME, 'bin/nvcc'), '/usr/local/cuda/bin/nvcc'];
  for (const c of candidates) {
    if (!c) continue;
    const r = spawnSync(c, ['--version'], { encoding: 'utf8' });
    if (r.status === 0) return { nvcc: c, version: (r.stdout.match(/release [\d.]+, V[\d.]+/) ?? [r.stdout.trim().split('\n').pop()])[0] };
  }
  return undefined;
}

async function main() {
  // 1. params.h from params.ts / launch.ts (compiled by tsc): written once, read by nvcc and by the packer.
  if (!existsSync(launchJs)) {
    console.error(`build-kernels: ${launchJs} is missing; run tsc first (npm run build does)`);
    process.exit(1);
  }
  const { kernelsHeader } = await import(pathToFileURL(launchJs).href);
  const header = kernelsHeader();
  const headerPath = join(kernelsDir, 'params.h');
  const current = existsSync(headerPath) ? readFileSync(headerPath, 'utf8') : '';
  if (current !== header) {
    if (check) {
      console.error('build-kernels: src/backends/cuda/kernels/params.h is stale; run the build to regenerate it');
      process.exit(1);
    }
    writeFileSync(headerPath, header);
    console.log('build-kernels: regenerated kernels/params.h');
  }

  // 2. nvcc, if there is one.
  const found = findNvcc();
  if (!found) {
    console.log('build-kernels: nvcc not found (set NVCC or CUDA_HOME); skipped CUDA kernels, the CUDA backend will report itself unavailable');
    return;
  }
  mkdirSync(outDir, { recursive: true });
  const targets = (src) => (only ? (gencodeOnly[src] ?? [only]).filter((g) => g === only) : (gencodeOnly[src] ?? gencode));
  const sources = readdirSync(kernelsDir).filter((f) => f.endsWith('.cu') && targets(f).length > 0).sort();
  const results = await Promise.all(sources.map((src) => compile(found.nvcc, src, targets(src))));
  const failed = results.filter((r) => !r.ok);
  for (const r of results) if (r.log.trim()) console.log(`--- ${r.src}\n${r.log.trim()}`);
  if (failed.length) {
    console.error(`build-kernels: ${failed.map((r) => r.src).join(', ')} failed (warnings are errors)`);
    process.exit(1);
  }
  const files = {};
  for (const r of results) files[r.out] = createHash('sha256').update(readFileSync(join(outDir, r.out))).digest('hex');
  const manifest = { nvcc: found.version, gencode: only ? [only] : gencode, flags: [...flags, ...defines], files };
  writeFileSync(join(outDir, 'manifest.json'), JSON.stringify(manifest, null, 1) + '\n');
  console.log(`build-kernels: ${Object.keys(files).join(', ')} -> ${outDir} (${found.version})`);
}

function compile(nvcc, src, targets) {
  const out = src.replace(/\.cu$/, '.fatbin');
  const argv = [...flags, ...defines, ...targets.flatMap((g) => ['-gencode', g]), '-fatbin', '-o', join(outDir, out), join(kernelsDir, src)];
  return new Promise((res) => {
    const p = spawn(nvcc, argv, { cwd: kernelsDir });
    let log = '';
    p.stdout.on('data', (d) => { log += d; });
    p.stderr.on('data', (d) => { log += d; });
    p.on('close', (code) => res({ src, out, ok: code === 0, log }));
  });
}

main().catch((e) => { console.error(e); process.exit(1); });
