#!/usr/bin/env node
// WebGPU decode benchmark over FlashMLA's grid, with the card's ceilings measured by WGSL kernels in the same
// process. Runs the tsc output ($WEBGPU_BUILD, default scratch/webgpu-build; scripts/gpu-host-run.sh webgpu-bench
// passes build/), so it needs no tsx.
//   node scripts/webgpu-bench.mjs [--configs FILE.json] [--flashmla FLASHMLA.json] [--out RESULT.json]
//                                 [--numSms 132,264] [--reps 30] [--quick] [--mulAdd auto|fma|mad] [--rotateBytes 1e8] [--warmMs 300]
// FLOP and bytes: src/bench/formulas.ts; the median: src/bench/stats.ts.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { execSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const build = resolve(root, process.env.WEBGPU_BUILD ?? 'scratch/webgpu-build');
const { createNodeWebGpuBackend, nodeGpu } = await import(`${build}/src/backends/webgpu/node.js`);
const { getMlaMetadata } = await import(`${build}/src/core/api.js`);
const { validateDecode } = await import(`${build}/src/core/validate.js`);
const { referenceDecode } = await import(`${build}/src/core/reference.js`);
const { fromArray, Tensor } = await import(`${build}/src/core/tensor.js`);
const { bf16ToF32 } = await import(`${build}/src/core/dtype.js`);

const args = process.argv.slice(2);
const opt = (name, def) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : def; };
const quick = args.includes('--quick');
const reps = Number(opt('reps', quick ? 5 : 30));
const numSmsList = opt('numSms', '132,264').split(',').map(Number);
const rotateBytes = Number(opt('rotateBytes', 100e6));
const warmMs = Number(opt('warmMs', quick ? 0 : 300));
const defaultGrid = [];
for (const s_k of [1024, 4096, 8192]) for (const h_q of [16, 32, 64, 128]) for (const s_q of [1, 2]) defaultGrid.push({ b: 128, s_k, h_q, s_q });
defaultGrid.push({ b: 1, s_k: 32768, h_q: 16, s_q: 1 });
let configs = opt('configs') ? JSON.parse(readFileSync(opt('configs'), 'utf8')) : defaultGrid;
if (quick) configs = configs.slice(0, 3);

// --dawn 'enable-dawn-features=disable_robustness' etc.: Dawn toggles for the whole process (probes only).
const dawnFlags = opt('dawn', '').split(' ').filter(Boolean);
nodeGpu(dawnFlags);
const sweepAll = args.includes('--sweepAll');
const backend = await createNodeWebGpuBackend({ numSms: numSmsList[0] });
const device = backend.device;
const { median } = await import(`${build}/src/bench/stats.js`);
const { decodeBytes, decodeFlop } = await import(`${build}/src/bench/formulas.js`);

function pipeline(code, label) {
  return device.createComputePipeline({ label, layout: 'auto', compute: { module: device.createShaderModule({ label, code }), entryPoint: 'main' } });
}

// ---------------------------------------------------------------- ceilings (src/bench/webgpu-ceilings.ts)
const { measureCeilings, roofline } = await import(`${build}/src/bench/webgpu-ceilings.js`);
const ceilings = () => measureCeilings(backend, { iterations: quick ? 2 : 1024 });

// ---------------------------------------------------------------- inputs filled on the GPU (hash of the index)
const fill = pipeline(`struct U { seed: u32, n: u32, p0: u32, p1: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read_write> o: array<u32>;
fn h(x0: u32) -> u32 { var x = x0; x ^= x >> 16u; x *= 0x7feb352du; x ^= x >> 15u; x *= 0x846ca68bu; x ^= x >> 16u; return x; }
fn bf(x: u32) -> u32 { let f = (f32(x & 0xffffu) / 65536.0 - 0.5) * 3.4; return bitcast<u32>(f) >> 16u; }
@compute @workgroup_size(256) fn main(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>) {
  let stride = n.x * 256u;
  for (var i = g.x; i < u.n; i += stride) { let r = h(i * 2654435761u + u.seed); o[i] = bf(r) | (bf(r >> 16u) << 16u); }
}`, 'bench.fill');
function fillRandom(t, seed) {
  for (const c of t.data.chunks) {
    const uni = device.createBuffer({ size: 16, usage: 0x40 | 0x8 });
    const words = Math.floor(c.byteLength / 4);
    device.queue.writeBuffer(uni, 0, new Uint32Array([seed, words, 0, 0]));
    let off = 0;
    while (off < words) { // one binding at a time
      const n = Math.min(words - off, Math.floor(backend.caps.maxStorageBufferBindingSize / 4 / 64) * 64);
      const u2 = device.createBuffer({ size: 16, usage: 0x40 | 0x8 });
      device.queue.writeBuffer(u2, 0, new Uint32Array([seed + off, n, 0, 0]));
      const bg = device.createBindGroup({ layout: fill.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: u2 } }, { binding: 1, resource: { buffer: c.buffer, offset: off * 4, size: n * 4 } }] });
      const e = device.createCommandEncoder(); const p = e.beginComputePass(); p.setPipeline(fill); p.setBindGroup(0, bg); p.dispatchWorkgroups(4096); p.end();
      device.queue.submit([e.finish()]);
      off += n;
    }
    uni.destroy();
  }
}

function rng(seed) { let s = seed >>> 0; return () => { s = (s + 0x6d2b79f5) >>> 0; let t = s; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; }; }

// ---------------------------------------------------------------- one config
async function runConfig(c, numSms) {
  const b = c.b, sQ = c.s_q, hQ = c.h_q, hKv = c.h_kv ?? 1, page = 64;
  const seqlens = Int32Array.from(c.seqlens ?? Array(b).fill(c.s_k));
  const maxBlocks = Math.ceil(Math.max(...seqlens) / page);
  const numBlocks = b * maxBlocks;
  const r = rng(7);
  const perm = Array.from({ length: numBlocks }, (_, i) => i);
  for (let i = perm.length - 1; i > 0; i--) { const j = Math.floor(r() * (i + 1)); [perm[i], perm[j]] = [perm[j], perm[i]]; }
  const blockTable = fromArray('i32', [b, maxBlocks], Int32Array.from(perm));
  const q = backend.empty('bf16', [b, sQ, hQ, 576]);
  // Rotate over copies of the cache (>= 2, >= rotateBytes in all) so the 50 MB L2 never holds the next
  // repetition's keys: each repetition reads a cache the previous one did not touch.
  const cacheBytes = numBlocks * page * hKv * 576 * 2;
  const copies = Math.max(2, Math.ceil(rotateBytes / cacheBytes));
  const kCaches = Array.from({ length: copies }, (_, i) => { const k = backend.empty('bf16', [numBlocks, page, hKv, 576]); fillRandom(k, 99 + 7919 * i); return k; });
  const kCache = kCaches[0];
  fillRandom(q, 1234);
  const out = backend.empty('bf16', [b, sQ, hQ, 512]);
  const lse = backend.empty('f32', [b, hQ, sQ]);
  const results = [];
  for (const ns of numSms) {
    const md = getMlaMetadata(seqlens, (sQ * hQ) / hKv, hKv, { numSms: ns });
    const cs = fromArray('i32', [b], seqlens);
    const problem = validateDecode({ q, kCache, blockTable, cacheSeqlens: cs, headDimV: 512, tileSchedulerMetadata: md.tileSchedulerMetadata, numSplits: md.numSplits });
    const launches = kCaches.map((k) => ({ problem, q, kCache: k, blockTable, cacheSeqlens: cs, tileSchedulerMetadata: md.tileSchedulerMetadata, numSplits: md.numSplits, out, lse,
      host: { cacheSeqlens: seqlens, tileSchedulerMetadata: md.tileSchedulerMetadata.host(), numSplits: md.numSplits.host() } }));
    const launch = launches[0];
    // Warm up by time, not by count: after the CPU spot check of the previous config the GPU has idled for
    // seconds, and 5 warm-up launches of a 1 ms kernel do not bring its clocks back (round 2 saw 2x outliers).
    const w0 = performance.now();
    for (let n = 0; performance.now() - w0 < warmMs; n++) {
      for (let i = 0; i < 4; i++) backend.decode(launches[(4 * n + i) % copies]);
      await backend.synchronize();
    }
    const times = await backend.timeMs((rep) => backend.decode(launches[(rep + 1) % copies]), { warmup: 5, reps });
    backend.decode(launch); // leave kCaches[0]'s result in out for the spot check
    results.push({ numSms: ns, numSmParts: problem.numSmParts, ms: median(times) });
  }
  // Spot check: batch 0 against the float64 reference when that is cheap enough.
  let check;
  if (seqlens[0] * hQ * sQ <= 1024 * 128 * 2) {
    const qh = (await backend.download(q)).host().subarray(0, sQ * hQ * 576);
    const oh = (await backend.download(out)).host().subarray(0, sQ * hQ * 512);
    const lh = (await backend.download(lse)).host().subarray(0, sQ * hQ);
    const pages = Math.ceil(seqlens[0] / page);
    const kc = new Uint16Array(pages * page * hKv * 576);
    const kAll = await backend.download(kCache);
    const kh = kAll.host();
    for (let j = 0; j < pages; j++) { const blk = perm[j]; kc.set(kh.subarray(blk * page * hKv * 576, (blk + 1) * page * hKv * 576), j * page * hKv * 576); }
    const ref = referenceDecode({ q: qh, kCache: kc, blockTable: Int32Array.from({ length: pages }, (_, i) => i), cacheSeqlens: Int32Array.of(seqlens[0]), dtype: 'bf16', b: 1, sQ, hQ, hKv, pageBlockSize: page, maxBlocksPerSeq: pages });
    let dot = 0, xx = 0, yy = 0, lerr = 0;
    for (let i = 0; i < oh.length; i++) { const x = bf16ToF32(oh[i]), y = ref.out[i]; dot += x * y; xx += x * x; yy += y * y; }
    for (let i = 0; i < lh.length; i++) lerr = Math.max(lerr, Math.abs(lh[i] - ref.lse[i]));
    check = { batch0_cos_diff: 1 - (2 * dot) / (xx + yy), batch0_max_lse_err: lerr };
  }
  for (const t of [q, ...kCaches, out, lse]) backend.free(t);
  await backend.synchronize();
  const total = seqlens.reduce((a, x) => a + x, 0);
  const flop = decodeFlop({ b, sQ, hQ, hKv, totalSeqlen: total });
  const bytes = decodeBytes({ b, sQ, hQ, hKv, totalSeqlen: total });
  const best = results.reduce((a, x) => (x.ms < a.ms ? x : a));
  return { b, s_k: c.s_k, h_q: hQ, h_kv: hKv, s_q: sQ, ms: best.ms, numSms: best.numSms, sweep: results, flop, bytes, rotation: { copies, bytes: copies * cacheBytes }, ...check };
}

const ceil = await ceilings();
console.log(JSON.stringify({ device: backend.info.device, ...ceil }));
// The decode kernel's multiply-add spelling (see WebGpuBackendOptions.mulAdd): timed both ways on two small
// configs unless --mulAdd fma|mad says which.
const madOpt = opt('mulAdd', 'auto');
const formProbe = {};
if (madOpt === 'auto') {
  for (const mulAdd of [false, true]) {
    backend.mulAdd = mulAdd;
    let ms = 0;
    for (const c of [{ b: quick ? 4 : 128, s_k: 1024, h_q: 16, s_q: 1 }, { b: quick ? 2 : 128, s_k: 1024, h_q: 64, s_q: 2 }]) ms += (await runConfig(c, [numSmsList[0]])).ms;
    formProbe[mulAdd ? 'mad' : 'fma'] = ms;
  }
  backend.mulAdd = formProbe.mad < formProbe.fma;
} else backend.mulAdd = madOpt === 'mad';
console.log(`decode multiply-adds: ${backend.mulAdd ? 'a * b + c' : 'fma()'}`, JSON.stringify(formProbe));
let flash;
const fpath = opt('flashmla');
if (fpath && existsSync(fpath)) flash = JSON.parse(readFileSync(fpath, 'utf8'));
// --tunings '[{"rowsPerTile":16,"qkColumnsPerStage":32,"pvKeysPerStage":8,"prefetchStages":2}, ...]': time every config under each forced decode tuning too.
const tunings = JSON.parse(opt('tunings', '[{}]'));
const rows = [];
for (const c of configs) {
  if (tunings.length > 1 || Object.keys(tunings[0]).length) {
    const tuned = [];
    for (const tu of tunings) {
      backend.decodeTuning = tu;
      const r = await runConfig(c, numSmsList);
      tuned.push({ tuning: tu, sweep: r.sweep });
      console.log(`  tuning ${JSON.stringify(tu)}: ${r.sweep.map((x) => `${x.numSms}: ${(x.ms * 1e3).toFixed(1)} us`).join(', ')}`);
    }
    backend.decodeTuning = {};
    c.tuned = tuned;
  }
  // A 64-row tile holds a whole SM (its O tile is half the register file): more parts than SMs only adds splits.
  const r = await runConfig(c, !sweepAll && c.b >= 64 && (c.h_q * c.s_q) / (c.h_kv ?? 1) > 32 ? [numSmsList[0]] : numSmsList);
  const fm = flash?.rows.find((x) => x.b === r.b && x.s_k === r.s_k && x.h_q === r.h_q && x.s_q === r.s_q && (x.h_kv ?? 1) === r.h_kv)?.flashmla;

  const row = {
    b: r.b, s_k: r.s_k, h_q: r.h_q, h_kv: r.h_kv, s_q: r.s_q, ms: r.ms, GBps: r.bytes / r.ms / 1e6, TFLOPS: r.flop / r.ms / 1e9,
    flashmla_ms: fm?.ms ?? null, ratio_vs_flashmla: fm ? fm.ms / r.ms : null,
    ...roofline(ceil, r.flop, r.bytes, r.ms),
    numSms: r.numSms, sweep: r.sweep, tuned: c.tuned, rotation: r.rotation, batch0_cos_diff: r.batch0_cos_diff, batch0_max_lse_err: r.batch0_max_lse_err,
  };
  rows.push(row);
  console.log(`b=${row.b} s_k=${row.s_k} h_q=${row.h_q} s_q=${row.s_q}: ${(row.ms * 1e3).toFixed(1)} us ${row.GBps.toFixed(0)} GB/s ${row.TFLOPS.toFixed(2)} TF `
    + `${row.bound} roofline ${(row.roofline_fraction * 100).toFixed(1)}%` + (fm ? ` FlashMLA ${(fm.ms * 1e3).toFixed(1)} us ratio ${row.ratio_vs_flashmla.toFixed(3)}` : '')
    + (row.batch0_cos_diff !== undefined ? ` check cos ${row.batch0_cos_diff.toExponential(2)} lse ${row.batch0_max_lse_err.toExponential(2)}` : '') + ` numSms ${row.numSms}`);
}
let commit = 'unknown';
try { commit = execSync('git rev-parse HEAD', { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim(); } catch { /* the GPU host's copy has no .git */ }
const result = {
  backend: 'webgpu', card: flash?.device ?? backend.info.device, adapter: backend.info.device, commit: process.env.FLASHMLA_COMMIT ?? commit,
  date: new Date().toISOString().slice(0, 10), dawn_flags: dawnFlags, ceilings: ceil, decode_mul_add: backend.mulAdd ? 'a * b + c' : 'fma()', decode_mul_add_probe_ms: formProbe, flashmla_ceilings: flash?.ceilings, caps: backend.caps, rows,
};
const outPath = opt('out');
if (outPath) writeFileSync(outPath, JSON.stringify(result, null, 1));
backend.dispose();
