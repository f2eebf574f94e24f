#!/usr/bin/env node
// The Vulkan driver's statistics (register count, binary size, ...) of the decode pipelines the WebGPU backend runs
// on this device: the f32 kernel at 16 and 64 rows a tile, the f16 kernel and the matrix kernel (v4 with 4 and 8
// subgroups, and any later version that exports decodeMatrix5Program). Each pipeline is built by Dawn in a child
// process with dump_shaders on; its SPIR-V text is assembled by spirv-as ($SPIRV_AS or PATH) and handed to
// vkstats ($VKSTATS, built from vkstats.c) which prints the driver's figures. Runs the tsc output ($FLASHMLA_DIST,
// default build/src).
//   node scripts/webgpu-tools/pipeline-stats.mjs OUTDIR [NAME ...]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { assembleRaw } from './spirv-raw.mjs';

const self = fileURLToPath(import.meta.url);
const dist = resolve(dirname(self), '..', '..', process.env.FLASHMLA_DIST ?? 'build/src');
const imp = (p) => import(pathToFileURL(`${dist}/${p}`).href);

/** name -> async (caps) => WGSL */
async function sources() {
  const { decodeProgram } = await imp('backends/webgpu/kernels/decode.js');
  const { chooseDecodeSpec } = await imp('backends/webgpu/kernels/decode-spec.js');
  const { decodeF16Program } = await imp('backends/webgpu/kernels/decode-f16.js');
  const { decodeMatrix4Program, decodeMatrix4Spec } = await imp('backends/webgpu/kernels/decode-matrix4.js');
  const m5 = existsSync(`${dist}/backends/webgpu/kernels/decode-matrix5.js`) ? await imp('backends/webgpu/kernels/decode-matrix5.js') : undefined;
  const list = {
    'f32-rows16': (caps) => decodeProgram.source(chooseDecodeSpec({ sQ: 1, hQ: 16, hKv: 1 }, 'bf16', caps, 1)),
    'f32-rows64': (caps) => decodeProgram.source(chooseDecodeSpec({ sQ: 1, hQ: 128, hKv: 1 }, 'bf16', caps, 1)),
    f16: () => decodeF16Program.source({ dtype: 'bf16', segs: 1 }),
    'matrix4-sg4': (caps) => decodeMatrix4Program.source(decodeMatrix4Spec({ dtype: 'bf16' }, caps, 1, false, 4)),
    'matrix4-sg8': (caps) => decodeMatrix4Program.source(decodeMatrix4Spec({ dtype: 'bf16' }, caps, 1, false, 8)),
  };
  if (m5) for (const [n, spec] of Object.entries(m5.statsSpecs ?? {})) list[`matrix5-${n}`] = (caps) => m5.decodeMatrix5Program.source(m5.decodeMatrix5Spec({ dtype: 'bf16' }, caps, 1, false, { subgroups: spec }));
  // v5's probes and candidates (8 subgroups; fields on top of the default spec, lazy)
  if (m5) for (const [n, probe] of Object.entries(m5.statsProbes ?? {})) list[`matrix5-${n}`] = (caps) => m5.decodeMatrix5Program.source({ ...m5.decodeMatrix5Spec({ dtype: 'bf16' }, caps, 1, false, { subgroups: 8 }), ...probe });
  return list;
}

const [outDir, role, only] = process.argv.slice(2);
if (role === 'child') {
  const { createNodeWebGpuBackend, nodeGpu } = await imp('backends/webgpu/node.js');
  nodeGpu(['enable-dawn-features=dump_shaders,allow_unsafe_apis,vulkan_enable_f16_on_nvidia']);
  const backend = await createNodeWebGpuBackend({});
  const device = backend.device;
  const code = (await sources())[only](backend.caps);
  device.pushErrorScope('validation');
  device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code }), entryPoint: 'main' } });
  const err = await device.popErrorScope();
  if (err) console.log(`ERROR ${err.message}`);
  // CHILD_WAIT_MS: time for the driver to write its shader disk cache before the process ends (glcache-sass.py reads it)
  await new Promise((r) => setTimeout(r, Number(process.env.CHILD_WAIT_MS ?? 0)));
  process.exit(0);
}

mkdirSync(outDir, { recursive: true });
const names = process.argv.slice(3).length ? process.argv.slice(3) : Object.keys(await sources());
for (const name of names) {
  let text;
  try {
    text = execFileSync(process.execPath, [self, outDir, 'child', name], { encoding: 'utf8', maxBuffer: 1 << 28 });
  } catch (e) {
    text = `${e.stdout ?? ''}${e.stderr ?? ''}`;
  }
  const at = text.lastIndexOf('/* Dumped SPIRV disassembly */');
  if (at < 0) { console.log(`${name}: no SPIR-V dumped\n${text.slice(-1500)}`); process.exitCode = 1; continue; }
  let asm = text.slice(at + '/* Dumped SPIRV disassembly */'.length);
  asm = asm.slice(0, asm.lastIndexOf('OpFunctionEnd') + 'OpFunctionEnd'.length);
  asm = `${asm.split('\n').filter((l) => !/maximal_reconvergence|MaximallyReconverges/.test(l)).join('\n')}\n`;
  writeFileSync(`${outDir}/${name}.spvasm`, asm);
  try {
    const counts = assembleRaw(asm, `${outDir}/${name}.raw.spvasm`, `${outDir}/${name}.spv`);
    if (counts.capability) console.log(`${name}: assembled, cooperative-matrix instructions ${JSON.stringify(counts)}`);
    if (process.env.ASSEMBLE_ONLY) continue;
    // With the pipeline cache and internal representations first; on a failure (session 12: an exit with nothing on
    // stderr), again as session 8 ran it (statistics only), saying how the first run ended.
    let stats;
    try {
      stats = execFileSync(process.env.VKSTATS ?? 'vkstats', [`${outDir}/${name}.spv`, 'dawn_entry_point', `${outDir}/${name}.cache`], { encoding: 'utf8' });
    } catch (e) {
      console.log(`${name}: vkstats with the cache failed: status ${e.status} signal ${e.signal} stdout ${String(e.stdout ?? '').slice(-300)} stderr ${String(e.stderr ?? '').slice(-300)}`);
      stats = execFileSync(process.env.VKSTATS ?? 'vkstats', [`${outDir}/${name}.spv`], { encoding: 'utf8' });
    }
    console.log(`${name}: ${stats.split('\n').filter((l) => /=/.test(l)).map((l) => l.replace(/\s*\(.*\)$/, '')).join('; ')}`);
    for (const l of stats.split('\n').filter((x) => /^(cache|internal|extensions|pipeline)/.test(x))) console.log(`  ${l}`);
  } catch (e) {
    console.log(`${name}: stats failed: status ${e.status} signal ${e.signal} ${String(e.stdout ?? '').slice(-300)} ${String(e.stderr || e.message).slice(0, 600)}`);
  }
}
