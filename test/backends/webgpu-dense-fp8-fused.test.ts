// WebGPU dense decode over a V3.2 FP8 cache read in place (denseFp8Path 'fused', session 48): the v5 subgroup-matrix
// kernel's fp8 form (kernels/decode-matrix5.ts `fp8`, fp8WordWgsl). On lavapipe the v5 kernel runs with emulated
// products (4 subgroups), on a device with subgroup matrices as it ships.
// - fp8Word on the device over every byte in every position and scales across the fast path's bounds: its integer
//   path equals the f32 path (the staged path's arithmetic) bit for bit, and the f32 path equals e4m3 x s rounded to bf16.
// - The WGSL: its own key, refused with f16 queries, tile16 and pair; the bf16 kernel's WGSL unchanged.
// - Random cases against the float64 reference with the sparse route made to throw, and fused against staged bit for bit
//   with bf16Direct off (with it on, a tile's direct / scaled choice follows each lane's columns, which differ: ~1 ulp
//   in a few outputs). Device index tensors, a cache over several bindings, calls at once.
// - fp8Direct (session 49, on by default with bf16Direct): fp8H on the device over every byte and every factor the kernel
//   uses (exact e4m3 x 2^d in f16, subnormals included, where the device keeps them: the kernel's own dnOk test), its
//   WGSL (one copy of the slow conversion, in loops of a runtime 16), and the random cases above run it (with its rare
//   loops on the tiles that fail its test); fp8Direct off is session 48's form.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { WebGpuBackend } from '../../src/backends/webgpu/backend.js';
import { type DecodeMatrix5Spec, decodeMatrix5Spec, fp8HalvesWgsl, fp8WordWgsl, matrix5Fp8DirectOn, matrix5Fp8Fits } from '../../src/backends/webgpu/kernels/decode-matrix5.js';
import { packWgsl } from '../../src/backends/webgpu/kernels/decode.js';
import type { DeviceCaps } from '../../src/backends/webgpu/program.js';
import { createNodeWebGpuBackend } from '../../src/backends/webgpu/node.js';
import { bitsF32, f32ToBf16, f32ToF16, fp8e4m3ToF32 } from '../../src/core/dtype.js';
import { FlashMlaError } from '../../src/core/errors.js';
import { fromArray } from '../../src/core/tensor.js';
import { tolerances } from '../support/compare.js';
import { runRandomDenseFp8 } from '../support/dense-fp8-random.js';
import { checkV5ThroughTint } from '../support/webgpu-matrix.js';
import { key5, m16, src5 } from '../support/matrix5-spec.js';

const dflt = { lazy: true, trim: true, bounded: true, packedMax: true, qOnce: true, freshO: true, bf16Direct: true } as const;

describe('webgpu matrix v5 fp8 (WGSL)', () => {
  test('its own key; refused with f16 queries, tile16 and pair; the bf16 WGSL untouched; the raw loads and the stores', () => {
    const caps = { maxComputeWorkgroupStorageSize: 49152, subgroupMatrixF16: m16 } as unknown as DeviceCaps;
    assert.match(key5({ ...dflt, fp8: 'v32' }), /\.fp8v32$/);
    assert.doesNotMatch(key5(dflt), /fp8/);
    assert.equal(decodeMatrix5Spec({ dtype: 'bf16', fp8: 'v32' }, caps, 1, false).fp8, 'v32');
    assert.equal(decodeMatrix5Spec({ dtype: 'bf16' }, caps, 1, false).fp8, undefined);
    for (const [p, o] of [[{ dtype: 'f16' }, {}], [{ dtype: 'bf16' }, { tile16: true }], [{ dtype: 'bf16' }, { pair: true }]] as const) {
      assert.equal(matrix5Fp8Fits(p.dtype, o), false);
      assert.throws(() => decodeMatrix5Spec({ ...p, fp8: 'v32' }, caps, 1, false, o), (e: unknown) => e instanceof FlashMlaError && e.code === 'invalid_argument');
    }
    const s = src5({ ...dflt, fp8: 'v32' }), b = src5(dflt);
    assert.doesNotMatch(b, /fp8Word|\* 41u/, 'the bf16 kernel: no fp8 code');
    assert.match(b, /\* 72u;/);
    assert.match(s, /keyRow\[t\] = \(\(local \* u\.pageBlockSize \+ u32\(key\) % u\.pageBlockSize\) \* u\.hKv \+ kvh\) \* 41u;/);
    // raw loads: four latent vec4 words 16 (lj + 8 r) bytes in, the scales, the RoPE word 64 + lj (33 + lj in the token)
    assert.match(s, /w0 = loadK\(ls, lr \+ lj \+ 0u\); w1 = loadK\(ls, lr \+ lj \+ 8u\); w2 = loadK\(ls, lr \+ lj \+ 16u\); w3 = loadK\(ls, lr \+ lj \+ 24u\); w4 = loadK\(ls, lr \+ 32u\); w8 = loadK\(ls, lr \+ 33u \+ lj\);/);
    assert.match(s, /w6 = fp8Word\(c3\.xy, sc\.w\); w7 = fp8Word\(c3\.zw, sc\.w\);/);
    // stores: latent word 2 r + h at 16 lj + 128 r + 8 h, RoPE's at 512 + 8 lj
    assert.match(s, /let o = lk \* 584u \+ lj \* 16u;/);
    assert.match(s, /Kt\[o \+ 396u\] = hb\.x;/, 'word 7 (r 3, h 1): 128 * 3 + 8 + 4');
    assert.match(s, /Kt\[o - lj \* 8u \+ 519u\] = hb\.w;/, 'RoPE word: column 512 + 8 lj + 7');
  });

  test('fp8Direct: on by default with bf16Direct, off on request or without it; its own key; fp8H and the rare loops, no fp8Word', () => {
    const caps = { maxComputeWorkgroupStorageSize: 49152, subgroupMatrixF16: m16 } as unknown as DeviceCaps;
    const on = decodeMatrix5Spec({ dtype: 'bf16', fp8: 'v32' }, caps, 1, false);
    assert.equal(on.fp8Direct, true);
    assert.equal(matrix5Fp8DirectOn(on), true);
    assert.equal(decodeMatrix5Spec({ dtype: 'bf16', fp8: 'v32' }, caps, 1, false, { fp8Direct: false }).fp8Direct, undefined);
    assert.equal(decodeMatrix5Spec({ dtype: 'bf16', fp8: 'v32' }, caps, 1, false, { bf16Direct: false }).fp8Direct, undefined);
    assert.equal(decodeMatrix5Spec({ dtype: 'bf16' }, caps, 1, false).fp8Direct, undefined, 'bf16 caches: no fp8 at all');
    assert.equal(matrix5Fp8DirectOn({ ...dflt, fp8Direct: true } as DecodeMatrix5Spec), false, 'fp8Direct needs fp8');
    assert.match(key5({ ...dflt, fp8: 'v32', fp8Direct: true }), /\.fp8v32d$/);
    const s = src5({ ...dflt, fp8: 'v32', fp8Direct: true }), old = src5({ ...dflt, fp8: 'v32' });
    assert.doesNotMatch(s, /= fp8Word\(/, 'no bf16 words between');
    assert.match(old, /= fp8Word\(/);
    assert.equal(s.match(/fp8H\(w\d\.[xyzw], m\)/g)?.length, 16, 'sixteen words a lane, each through fp8H once');
    assert.equal(s.match(/fp8Slow\(cw\[i >> 2u\]\[i & 3u\], scl\[i >> 2u\]\)/g)?.length, 2, 'the slow conversion twice: the maxima loop and the conversion loop');
    assert.equal(s.match(/for \(var i = 0u; i < n16; i\+\+\)/g)?.length, 2, 'both loops to a runtime 16');
    assert.match(s, /let n16 = \(u\.posInfBits >> 27u\) \+ 1u;/);
    assert.match(s, /let ek = expOf\(atomicLoad\(&kMax\[key\]\)\); \/\/ fp8Direct/, 'the key factors from kMax on every tile');
    assert.match(s, /atomicStore\(&kMax\[lk\], select\(127u, fe \+ 8u, fe != 0u\) << 23u\)/);
    assert.match(s, /Kt\[o \+ 399u\] = h3\.w;/, 'byte 15 of latent word 3: column 16 lj + 384 + 15');
  });

  test('the GPU WGSL of its forms passes Tint (matrix builtins stubbed)', async (t) => {
    await checkV5ThroughTint(t, [{ ...dflt, fp8: 'v32' }, { ...dflt, fp8: 'v32', qRowLanes: true, firstEarly: true }, { ...dflt, fp8: 'v32', bf16Direct: undefined }, { ...dflt, fp8: 'v32', segs: 3 },
      { ...dflt, fp8: 'v32', fp8Direct: true }, { ...dflt, fp8: 'v32', fp8Direct: true, qRowLanes: true, firstEarly: true }, { ...dflt, fp8: 'v32', fp8Direct: true, segs: 3 }] as Partial<DecodeMatrix5Spec>[]);
  });
});

/**
 * One dispatch of `code` over n lanes (64 a workgroup): binding 0 the uniform { posInfBits: 0x7f800000, n }, then the
 * `inputs` as read-only storage buffers, then one storage buffer of `outBytes` whose words come back.
 */
async function runLanes(dev: GPUDevice, code: string, n: number, inputs: ArrayBufferView[], outBytes: number): Promise<Uint32Array> {
  const mk = (size: number, usage: number) => dev.createBuffer({ size, usage });
  const uni = mk(16, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
  const ins = inputs.map((a) => mk(a.byteLength, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST));
  const outp = mk(outBytes, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC), read = mk(outBytes, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
  dev.queue.writeBuffer(uni, 0, Uint32Array.of(0x7f800000, n));
  inputs.forEach((a, i) => dev.queue.writeBuffer(ins[i], 0, a.buffer, a.byteOffset, a.byteLength));
  const pipeline = dev.createComputePipeline({ layout: 'auto', compute: { module: dev.createShaderModule({ code }), entryPoint: 'main' } });
  const bg = dev.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [uni, ...ins, outp].map((buffer, binding) => ({ binding, resource: { buffer } })) });
  const enc = dev.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bg);
  pass.dispatchWorkgroups(Math.ceil(n / 64));
  pass.end();
  enc.copyBufferToBuffer(outp, 0, read, 0, outBytes);
  dev.queue.submit([enc.finish()]);
  await read.mapAsync(GPUMapMode.READ);
  const got = new Uint32Array(read.getMappedRange().slice(0));
  read.unmap();
  for (const b of [uni, ...ins, outp, read]) b.destroy();
  return got;
}

/** e4m3 (byte b) times s in f32, rounded to bf16 as the kernels' toBf16 rounds (ties to even). */
function bf16Of(b: number, s: number): number {
  return f32ToBf16(Math.fround(fp8e4m3ToF32(b) * s));
}

describe('webgpu fp8Word and fp8H on the device', () => {
  let be: WebGpuBackend | undefined;
  before(async () => { try { be = await createNodeWebGpuBackend(); } catch { be = undefined; } });
  after(() => be?.dispose());

  test('every byte in every position, scales across the integer path\'s bounds: the integer path is the f32 path, which is e4m3 x s in bf16', async (t) => {
    if (!be) { if (process.env.CI) assert.fail('no WebGPU adapter in CI'); t.skip('no WebGPU adapter'); return; }
    const dev = be.device;
    // words: bytes (k, k + 1, k + 2, k + 3) and (k, 255 - k, k ^ 0x55, k ^ 0xaa) for every k: each byte in each position
    const words: number[] = [];
    for (let k = 0; k < 256; k++) words.push(((k + 3) & 255) << 24 | ((k + 2) & 255) << 16 | ((k + 1) & 255) << 8 | k, (k ^ 0xaa) << 24 | (k ^ 0x55) << 16 | (255 - k) << 8 | k);
    const pow2 = (e: number) => bitsF32(e << 23);
    const scales = [0, 1, 2, 3, 5, 6, 7, 8, 9, 60, 126, 127, 128, 200, 245, 246, 247, 250, 254].map(pow2);
    scales.push(1.37, 0.75 * 2 ** -20, 1.5 * 2 ** 40, -1, -(2 ** -10), 0, Infinity, NaN, bitsF32(0x00400000), bitsF32(0x7f7fffff));
    const n = words.length * scales.length;
    const input = new Uint32Array(2 * n), sc = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const w = Math.floor(i / scales.length);
      input[2 * i] = words[w] >>> 0;
      input[2 * i + 1] = words[(w + 1) % words.length] >>> 0;
      sc[i] = scales[i % scales.length];
    }
    const code = `struct P { posInfBits: u32, n: u32 }
@group(0) @binding(0) var<uniform> u: P;
@group(0) @binding(1) var<storage, read> inp: array<vec2<u32>>;
@group(0) @binding(2) var<storage, read> scl: array<f32>;
@group(0) @binding(3) var<storage, read_write> outp: array<vec4<u32>>;
${packWgsl('bf16')}
${fp8WordWgsl}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let i = g.x;
  if (i >= u.n) { return; }
  let h = inp[i];
  let s = scl[i];
  outp[2u * i] = fp8Word(h, s);
  let a = fp8Slow(h.x, s);
  let b = fp8Slow(h.y, s);
  outp[2u * i + 1u] = vec4<u32>(a, b);
}`;
    const got = await runLanes(dev, code, n, [input, sc], n * 32);
    let fast = 0, checked = 0;
    for (let i = 0; i < n; i++) {
      const f = got.subarray(8 * i, 8 * i + 4), sl = got.subarray(8 * i + 4, 8 * i + 8), s = sc[i];
      const bytes = [input[2 * i], input[2 * i + 1]].flatMap((w) => [w & 255, (w >>> 8) & 255, (w >>> 16) & 255, w >>> 24]);
      const fin = bytes.every((b) => (b & 0x7f) !== 0x7f) && Number.isFinite(s);
      if (fin) assert.deepEqual([...f], [...sl], `fp8Word vs the f32 path: bytes ${bytes.map((b) => b.toString(16))}, scale ${s}`);
      const sb = new Uint32Array(Float32Array.of(s).buffer)[0], e = sb >>> 23;
      if ((sb & 0x7fffff) === 0 && e >= 7 && e <= 246 && bytes.every((b) => (b & 0x78) !== 0 && (b & 0x7f) !== 0x7f)) fast++;
      for (let j = 0; j < 8; j++) {
        const want = bf16Of(bytes[j], s), v = Math.abs(fp8e4m3ToF32(bytes[j]) * s);
        // NaN payloads; subnormal products or scales (GPUs may flush them: the H100 takes 2^-127 as 0, as the staged path does)
        if (Number.isNaN(fp8e4m3ToF32(bytes[j]) * s) || (v !== 0 && v < 2 ** -126) || (s !== 0 && Math.abs(s) < 2 ** -126)) continue;
        const half = (sl[j >> 1] >>> (16 * (j & 1))) & 0xffff;
        assert.equal(half, want, `byte ${bytes[j].toString(16)} x ${s}: ${half.toString(16)} against ${want.toString(16)}`);
        checked++;
      }
    }
    assert.ok(fast > n / 5, `the integer path's inputs: ${fast} of ${n}`);
    assert.ok(checked > 6 * n, `values checked: ${checked}`);
  });

  test('fp8H (fp8Direct): every byte but NaN times every factor the kernel uses is e4m3 x 2^d in f16, exactly, where the device passes the kernel\'s dnOk test', async (t) => {
    if (!be) { if (process.env.CI) assert.fail('no WebGPU adapter in CI'); t.skip('no WebGPU adapter'); return; }
    if (!be.caps.f16) { t.skip('no shader-f16'); return; }
    const dev = be.device;
    // factor exponents e = d + 8 in [-7, 0] (the kernel's d in [-15, -8]) and past them both ways, and a zero factor
    const es = [-9, -8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 4, 8, 15];
    const bytes = Array.from({ length: 256 }, (_, b) => b).filter((b) => (b & 0x7f) !== 0x7f);
    const words: number[] = [];
    for (let i = 0; i < bytes.length; i += 4) words.push(bytes[i] | (bytes[(i + 1) % bytes.length] << 8) | (bytes[(i + 2) % bytes.length] << 16) | (bytes[(i + 3) % bytes.length] << 24));
    const mult = [...es.map((e) => (e + 15) << 10), 0]; // f16 bits of 2^e (e + 15 > 0 for every e here), then 0
    const n = words.length * mult.length;
    const code = `enable f16;
struct P { posInfBits: u32, n: u32 }
@group(0) @binding(0) var<uniform> u: P;
@group(0) @binding(1) var<storage, read> inp: array<vec2<u32>>;
@group(0) @binding(2) var<storage, read_write> outp: array<vec2<u32>>; // n results, then dnOk
${fp8HalvesWgsl}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let i = g.x;
  if (i == 0u) { outp[u.n] = vec2<u32>(select(0u, 1u, bitcast<u32>(bitcast<vec2<f16>>(((u.posInfBits >> 16u) & 0x80u) * 0x00010001u) * vec2<f16>(256.0h, 2.0h)) == 0x01001800u), 0u); }
  if (i >= u.n) { return; }
  let h = fp8H(inp[i].x, bitcast<vec2<f16>>(inp[i].y * 0x00010001u));
  outp[i] = vec2<u32>(bitcast<u32>(h.xy), bitcast<u32>(h.zw));
}`;
    const input = new Uint32Array(2 * n);
    for (let i = 0; i < n; i++) { input[2 * i] = words[Math.floor(i / mult.length)] >>> 0; input[2 * i + 1] = mult[i % mult.length]; }
    const got = await runLanes(dev, code, n, [input], n * 8 + 8);
    const dnOk = got[2 * n] === 1;
    t.diagnostic(`dnOk (f16 subnormals kept through a multiply) on this device: ${dnOk}`);
    let checked = 0, sub = 0;
    for (let i = 0; i < n; i++) {
      const w = input[2 * i], mb = input[2 * i + 1];
      const f = mb === 0 ? 0 : 2 ** ((mb >> 10) - 15 - 8); // the factor on the value: 2^(e - 8)
      for (let j = 0; j < 4; j++) {
        const b = (w >>> (8 * j)) & 255, v = fp8e4m3ToF32(b) * f;
        const half = (got[2 * i + (j >> 1)] >>> (16 * (j & 1))) & 0xffff;
        const exact = Number.isInteger(Math.abs(v) / 2 ** -24) && Math.abs(v) <= 65504; // (0 included)
        if (!exact) continue;
        const tiny = v !== 0 && Math.abs(v) < 2 ** -14;
        if ((tiny || (b & 0x78) === 0) && !dnOk) continue; // the kernel takes its loops on such a device
        if (tiny || ((b & 0x78) === 0 && (b & 7) !== 0)) sub++;
        assert.equal(half, f32ToF16(v), `byte ${b.toString(16)} x 2^${Math.log2(f)}: ${half.toString(16)} against ${f32ToF16(v).toString(16)}`);
        checked++;
      }
    }
    // every factor the kernel uses (e in [-7, 0]) keeps every byte exact
    assert.ok(checked >= bytes.length * (dnOk ? 9 : 5), `values checked: ${checked}`);
    if (dnOk) assert.ok(sub > 100, `subnormal bytes or results checked: ${sub}`);
  });
});

describe('webgpu dense FP8, fused: random cases vs the float64 reference and vs the staged path', () => {
  // v5 as it ships where the device has subgroup matrices; else with emulated products (lavapipe: 4 subgroups)
  let fused: WebGpuBackend | undefined, fusedNoDirect: WebGpuBackend | undefined, stagedNoDirect: WebGpuBackend | undefined, small: WebGpuBackend | undefined, auto: WebGpuBackend | undefined, autoS48: WebGpuBackend | undefined, why = '';
  before(async () => {
    try {
      const probe = await createNodeWebGpuBackend();
      const emulate = probe.decodePath.path !== 'matrix';
      probe.dispose();
      const matrix = emulate ? { emulate: true, subgroups: 4 as const } : {};
      const mk = (o: object) => createNodeWebGpuBackend({ decodePath: 'matrix', ...o });
      fused = await mk({ matrix, denseFp8Path: 'fused' });
      fusedNoDirect = await mk({ matrix: { ...matrix, bf16Direct: false }, denseFp8Path: 'fused' });
      stagedNoDirect = await mk({ matrix: { ...matrix, bf16Direct: false }, denseFp8Path: 'staged' });
      // 1 MiB bindings: a cache of more than 24 pages of 64 tokens spans several bindings
      small = await mk({ matrix, denseFp8Path: 'fused', maxBindingBytes: 1 << 20, numSms: 4 });
      auto = await mk({ matrix });
      autoS48 = await mk({ matrix: { ...matrix, fp8Direct: false } });
    } catch (e) { why = `no WebGPU adapter with shader-f16 (${(e as Error).message.split('\n')[0]})`; }
  });
  after(() => { for (const b of [fused, fusedNoDirect, stagedNoDirect, small, auto, autoS48]) b?.dispose(); });
  const need = (t: { skip: (m?: string) => void }) => {
    if (fused) return true;
    if (process.env.CI) assert.fail(why);
    t.skip(why);
    return false;
  };
  /** Refuse the sparse route on these backends (an own property over the method) while `fn` runs. */
  async function fusedOnly(bes: (WebGpuBackend | undefined)[], fn: () => Promise<void>): Promise<void> {
    for (const be of bes) (be as unknown as { decodeSparse: unknown }).decodeSparse = () => { throw new Error('the sparse route ran'); };
    try { await fn(); } finally { for (const be of bes) delete (be as unknown as { decodeSparse?: unknown }).decodeSparse; }
  }
  const v32 = { format: 'v32', dtype: 'bf16' } as const;

  test('the kernel named; MODEL1 and f16 queries are not its', (t) => {
    if (!need(t)) return;
    const call = {
      format: 'v32', dtype: 'bf16', dQk: 576, b: 1, sQ: 1, hQ: 16, pageBlockSize: 64, blockStride: 64 * 656, kCache: { byteOffset: 0, shape: [3, 64, 1, 656] }, q: { byteOffset: 0 },
      cacheSeqlens: fromArray('i32', [1], Int32Array.of(10)), blockTable: fromArray('i32', [1, 1], Int32Array.of(0)),
    };
    assert.equal(fused!.denseFp8Kernel(call as never), 'webgpu-fused-matrix');
    assert.equal(fused!.denseFp8Kernel({ ...call, format: 'model1', dQk: 512 } as never), undefined, 'MODEL1 under \'fused\': the sparse step');
    assert.equal(fused!.denseFp8Kernel({ ...call, dtype: 'f16' } as never), undefined);
    assert.equal(fused!.denseFp8Kernel({ ...call, blockStride: 64 * 656 + 16 } as never), undefined, 'padded pages');
    assert.equal(stagedNoDirect!.denseFp8Kernel(call as never), 'webgpu-staged-matrix');
    // 'auto': fused at any row count with fp8Direct (the default), session 48's form only up to 16 rows
    for (const hQ of [16, 17, 64, 128]) {
      assert.equal(auto!.denseFp8Kernel({ ...call, hQ } as never), 'webgpu-fused-matrix', `${hQ} rows, fp8Direct`);
      assert.equal(autoS48!.denseFp8Kernel({ ...call, hQ } as never), hQ <= 16 ? 'webgpu-fused-matrix' : 'webgpu-staged-matrix', `${hQ} rows, fp8Direct off`);
    }
    assert.match(String(auto!.info.details?.denseFp8Kernel), /straight to f16 \(fp8Direct\)/);
    assert.match(String(autoS48!.info.details?.denseFp8Kernel), /session 48's form \(matrix\.fp8Direct off\), up to 16 query rows/);
  });

  test('random cases of many shapes (odd heads, 64 / 128 heads, causal sQ up to 3, pages 1 / 2 / 16 / 64 / 256, odd and huge scales, big and tiny q)', async (t) => {
    if (!need(t)) return;
    await fusedOnly([fused], async () => {
      for (let seed = 7700; seed < 7706; seed++) await runRandomDenseFp8(seed, fused!, tolerances.webgpu, true, false, false, false, v32);
      for (let seed = 7706; seed < 7712; seed++) await runRandomDenseFp8(seed, fused!, tolerances.webgpu, false, true, seed % 2 === 0, false, v32);
      for (let seed = 7712; seed < 7716; seed++) await runRandomDenseFp8(seed, fused!, tolerances.webgpu, false, 'wide', false, false, v32);
    });
  });

  test('bf16Direct off: fused and staged bit for bit', async (t) => {
    if (!need(t)) return;
    await fusedOnly([fusedNoDirect, stagedNoDirect], async () => {
      for (let seed = 7720; seed < 7732; seed++) {
        const kind = seed % 3 === 0 ? 'wide' : seed % 3 === 1;
        let a: [Uint16Array, Float32Array] | undefined, b: [Uint16Array, Float32Array] | undefined;
        await runRandomDenseFp8(seed, fusedNoDirect!, tolerances.webgpu, false, kind, false, false, v32, (o, l) => { a = [o, l]; });
        await runRandomDenseFp8(seed, stagedNoDirect!, tolerances.webgpu, false, kind, false, false, v32, (o, l) => { b = [o, l]; });
        assert.deepEqual(Buffer.from(a![0].buffer), Buffer.from(b![0].buffer), `seed ${seed}: out`);
        assert.deepEqual(Buffer.from(a![1].buffer), Buffer.from(b![1].buffer), `seed ${seed}: lse`);
      }
    });
  });

  test('index tensors on the device, a cache over several bindings, calls at once; \'auto\' fused past 16 rows where staged declines', async (t) => {
    if (!need(t)) return;
    await fusedOnly([fused, small, auto], async () => {
      // 'auto': 32 rows with the block table and lengths on the device, which staged declines: fused, not the sparse step
      await runRandomDenseFp8(7747, auto!, tolerances.webgpu, false, false, false, true, { ...v32, b: 3, seqlens: [700, 65, 1], hQ: 16, sQ: 2, pageBlockSize: 64, numSms: 4 });
      for (let seed = 7740; seed < 7743; seed++) await runRandomDenseFp8(seed, fused!, tolerances.webgpu, false, seed === 7741, false, true, v32);
      await runRandomDenseFp8(7743, small!, tolerances.webgpu, false, false, false, false, { ...v32, b: 4, seqlens: [1500, 1, 900, 64], hQ: 16, sQ: 2, pageBlockSize: 64, numSms: 4 });
      await Promise.all([7744, 7745, 7746].map((seed) => runRandomDenseFp8(seed, fused!, tolerances.webgpu, seed === 7744, false, false, false, v32)));
    });
  });
});
