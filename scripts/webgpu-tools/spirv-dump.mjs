#!/usr/bin/env node
// The SPIR-V that Dawn gives the Vulkan driver for decode specialisations, for the driver's own statistics
// (vkstats.c). Runs the tsc output (WEBGPU_BUILD, default scratch/webgpu-build).
//   node scripts/webgpu-tools/spirv-dump.mjs OUTDIR '[{"rowsPerTile":64,"qkColumnsPerStage":16,"pvKeysPerStage":4}, ...]'
// Writes OUTDIR/<name>.spvasm (Dawn's dump_shaders text) and OUTDIR/<name>.spv (assembled by spirv-as: $SPIRV_AS
// or PATH; Debian package spirv-tools). Each spec runs in a child process: Dawn prints the dump to stdout.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);
const [outDir, specsJson, role] = process.argv.slice(2);
const defaults = { dtype: 'bf16', qkColumnsPerStage: 16, pvKeysPerStage: 4, prefetchStages: 2, stagesPerIteration: 2, cacheBindings: 1, subgroups: true, mulAdd: false };

if (role === 'child') {
  const build = resolve(dirname(self), '..', '..', process.env.WEBGPU_BUILD ?? 'scratch/webgpu-build');
  const { createNodeWebGpuBackend, nodeGpu } = await import(`${build}/src/backends/webgpu/node.js`);
  const { decodeProgram } = await import(`${build}/src/backends/webgpu/kernels/decode.js`);
  nodeGpu(['enable-dawn-features=dump_shaders']);
  const device = (await createNodeWebGpuBackend({})).device;
  device.pushErrorScope('validation');
  const code = decodeProgram.source({ ...defaults, ...JSON.parse(specsJson) });
  device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code }), entryPoint: 'main' } });
  const err = await device.popErrorScope();
  if (err) console.log(`ERROR ${err.message}`);
  process.exit(0);
}

mkdirSync(outDir, { recursive: true });
for (const spec of JSON.parse(specsJson)) {
  const name = Object.entries(spec).map(([k, v]) => `${k}${v}`).join('.');
  let text;
  try {
    text = execFileSync(process.execPath, [self, outDir, JSON.stringify(spec), 'child'], { encoding: 'utf8', maxBuffer: 1 << 28 });
  } catch (e) {
    text = `${e.stdout ?? ''}${e.stderr ?? ''}`;
  }
  const at = text.indexOf('/* Dumped SPIRV disassembly */');
  if (at < 0) { console.log(`${name}: no SPIR-V dumped\n${text.slice(-1500)}`); process.exitCode = 1; continue; }
  let asm = text.slice(at + '/* Dumped SPIRV disassembly */'.length);
  asm = asm.slice(0, asm.lastIndexOf('OpFunctionEnd') + 'OpFunctionEnd'.length);
  // spirv-tools 2023.1 (Debian 12) does not know the maximal-reconvergence mode; it does not change the code.
  asm = `${asm.split('\n').filter((l) => !/maximal_reconvergence|MaximallyReconverges/.test(l)).join('\n')}\n`;
  writeFileSync(`${outDir}/${name}.spvasm`, asm);
  execFileSync(process.env.SPIRV_AS ?? 'spirv-as', ['--target-env', 'vulkan1.3', '-o', `${outDir}/${name}.spv`, `${outDir}/${name}.spvasm`]);
  console.log(`${name}: ${outDir}/${name}.spv`);
}
