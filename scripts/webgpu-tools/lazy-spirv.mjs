#!/usr/bin/env node
// The SPIR-V that Dawn (Tint) hands the Vulkan driver for v5 and its lazy forms (8 subgroups, bf16, one cache binding),
// for diffing off-line where lazy computes wrong results on the GPU (docs/notes/webgpu-matrix-kernel.md, "Session 10,
// round 2"). Needs a device with subgroup matrices (the H200); runs the compiled tree ($FLASHMLA_DIST, default build/src).
//   node scripts/webgpu-tools/lazy-spirv.mjs OUTDIR [v5,lazy,every,scratch]
// Writes OUTDIR/<variant>.wgsl and OUTDIR/<variant>.spvasm (Dawn's dump_shaders text). Each variant runs in a child
// process: Dawn prints the dump to stdout. Session 18: `trim` (lazy + trim, session 17's default) and `bnd` (+ bounded,
// the default since session 18, that lets Tint's range analysis drop robustness's clamps), and after each dump the
// counts of what Dawn's robustness adds (UMin clamps, the saturating adds IAddCarry and selects of a predicated
// matrix load, matrix loads, the infinite-loop guards' OpAll); `fin` (+ finite, session 18 round 2's probe:
// kernels/finite-loops.ts).
// FLASHMLA_SPIRV_EMULATE=1 dumps the emulated kernel (4 subgroups) instead: a device without subgroup matrices
// (lavapipe, off-line) then shows the scalar clamps, not the matrix loads'.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const self = fileURLToPath(import.meta.url);
const [outDir, list = 'v5,lazy,every,scratch', role] = process.argv.slice(2);
const dist = resolve(dirname(self), '..', '..', process.env.FLASHMLA_DIST ?? 'build/src');
const specOf = { v5: {}, lazy: { lazy: true }, every: { lazy: true, every: true }, scratch: { lazy: 'scratch' }, side: { lazy: 'side' }, trim: { lazy: true, trim: true }, bnd: { lazy: true, trim: true, bounded: true }, fin: { lazy: true, trim: true, bounded: true, finite: true } };
const emulate = process.env.FLASHMLA_SPIRV_EMULATE === '1';

if (role === 'child') {
  const { createNodeWebGpuBackend, nodeGpu } = await import(pathToFileURL(`${dist}/backends/webgpu/node.js`).href);
  const { decodeMatrix5Program } = await import(pathToFileURL(`${dist}/backends/webgpu/kernels/decode-matrix5.js`).href);
  nodeGpu(['enable-dawn-features=dump_shaders']);
  const be = await createNodeWebGpuBackend({});
  const config = be.caps.subgroupMatrixF16 ?? (emulate ? { m: 16, n: 16, k: 16, result: 'f32' } : undefined);
  if (!config) { console.log('ERROR no subgroup matrices on this device'); process.exit(0); }
  const code = decodeMatrix5Program.source({ dtype: 'bf16', segs: 1, config, emulate, subgroups: emulate ? 4 : 8, ...specOf[list] });
  writeFileSync(resolve(outDir, `${list}.wgsl`), code);
  const device = be.device;
  device.pushErrorScope('validation');
  device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code }), entryPoint: 'main' } });
  const err = await device.popErrorScope();
  if (err) console.log(`ERROR ${err.message}`);
  process.exit(0);
}

mkdirSync(outDir, { recursive: true });
for (const name of list.split(',')) {
  if (!specOf[name]) throw new Error(`lazy-spirv: unknown variant ${name}`);
  let text;
  try {
    text = execFileSync(process.execPath, [self, outDir, name, 'child'], { encoding: 'utf8', maxBuffer: 1 << 28 });
  } catch (e) {
    text = `${e.stdout ?? ''}${e.stderr ?? ''}`;
  }
  const at = text.indexOf('/* Dumped SPIRV disassembly */');
  if (at < 0) { console.log(`${name}: no SPIR-V dumped\n${text.slice(-800)}`); process.exitCode = 1; continue; }
  let asm = text.slice(at + '/* Dumped SPIRV disassembly */'.length);
  asm = asm.slice(0, asm.lastIndexOf('OpFunctionEnd') + 'OpFunctionEnd'.length);
  writeFileSync(resolve(outDir, `${name}.spvasm`), `${asm}\n`);
  const count = (re) => (asm.match(re) ?? []).length;
  const counts = `lines ${asm.split('\n').length} UMin ${count(/ UMin /g)} IAddCarry ${count(/OpIAddCarry/g)} OpSelect ${count(/OpSelect /g)} matrix-loads ${count(/OpCooperativeMatrixLoadKHR/g)} loop-guards ${count(/OpAll /g)}`;
  console.log(`${name}: ${asm.length} characters of SPIR-V; ${counts}${text.includes('ERROR ') ? ` (${text.slice(text.indexOf('ERROR ')).split('\n')[0]})` : ''}`);
}
