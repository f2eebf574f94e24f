// The browser page: change the decode's inputs, see getMlaMetadata's split-KV plan drawn, run the decode on WebGPU
// and on the in-page CPU backend, check both against the float64 reference, time them, and sweep over sequence
// length. Imports only browser-safe modules (the core, the in-thread CPU backend and the WebGPU backend) through
// the same entry points a bundler resolves for 'flashmla-ts' and 'flashmla-ts/webgpu'.
import { createWebGpuBackend, type WebGpuBackend } from '../../src/backends/webgpu/index.js';
import type { DecodeSpec } from '../../src/backends/webgpu/kernels/decode.js';
import {
  type Backend, type HalfDType, InlineCpuBackend, type Tensor, dequantizeToken, f32ToBf16, f32ToHalf, flashMlaWithKvcache, fp8CacheTensor, fromArray,
  getMlaMetadata, halfToF32, numSmPartsFor, quantizeCache, referenceDecode, uploadFp8Cache,
} from '../../src/index.js';
import { formatIn, formatMs, formatSI, formatSig } from './format.js';
import { type CacheFormat, type Distribution, type Shape, decodeCost, drawSeqlens, parseSeqlens, presets, rng, scaleShape, softwareBudget } from './inputs.js';
import { planModel, planSvg } from './plan.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

// ------------------------------------------------------------------ devices
interface Gpu {
  backend: Backend & WebGpuBackend;
  adapter: GPUAdapter;
  name: string;
  software: boolean;
  decodeSpec?: DecodeSpec;
  decodeKey?: string;
  /** Whether the last run staged FP8 pages (dense_fp8_stage) before its decode. */
  staged?: boolean;
  /** Whether the last run read an FP8 cache in place (the subgroup-matrix kernel's fp8 form). */
  fused?: boolean;
  /** The fused read takes the bytes straight to f16 (DecodeMatrix5Spec.fp8Direct, session 49). */
  fp8Direct?: boolean;
}

interface DeviceState { gpu?: Gpu; reason?: string; cpu: Backend }

async function setupGpu(): Promise<{ gpu?: Gpu; reason?: string }> {
  if (params.get('webgpu') === 'off') return { reason: 'WebGPU is turned off by ?webgpu=off' };
  const nav = (navigator as Navigator & { gpu?: GPU }).gpu;
  if (!nav) return { reason: 'this browser exposes no navigator.gpu (WebGPU is disabled or unsupported here)' };
  let adapter: GPUAdapter | null = null;
  try { adapter = await nav.requestAdapter(); } catch (e) { return { reason: `requestAdapter() failed: ${(e as Error).message}` }; }
  if (!adapter) return { reason: 'navigator.gpu.requestAdapter() found no adapter' };
  try {
    // ?unroll=1|2|4|6 forces the decode kernel's loop unrolling (a benchmark knob; default: the backend's choice).
    const unroll = Number(params.get('unroll'));
    const backend = await createWebGpuBackend({ adapter, decodeTuning: [1, 2, 4, 6].includes(unroll) ? { stagesPerIteration: unroll } : undefined });
    const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
    const name = backend.info.device;
    const gpu: Gpu = { backend, adapter, name, software: Boolean(info?.isFallbackAdapter) || /swiftshader|llvmpipe|lavapipe|software/i.test(name) };
    // Record which decode specialisation the backend compiles and runs (its pipeline key says the kernel path).
    const pm = backend.programs;
    const get = pm.get.bind(pm);
    pm.get = ((program, spec) => {
      if (program.name === 'mla_decode') { gpu.decodeSpec = spec as DecodeSpec; gpu.decodeKey = program.key(spec); }
      if (program.name === 'dense_fp8_stage') gpu.staged = true;
      if ((spec as { fp8?: string } | undefined)?.fp8) { gpu.fused = true; gpu.fp8Direct = (spec as { fp8Direct?: boolean }).fp8Direct === true; }
      return get(program, spec);
    }) as typeof pm.get;
    return { gpu };
  } catch (e) {
    return { reason: `the WebGPU device could not be created: ${(e as Error).message}` };
  }
}

function renderDevice(d: DeviceState): void {
  const status = $('device-status');
  const list = $('features');
  if (!d.gpu) {
    status.className = 'note banner';
    status.innerHTML = `<b>No WebGPU here:</b> ${esc(d.reason ?? '')}. Everything below runs on the <b>in-page CPU backend</b> alone (flashmla-ts's own kernel in JavaScript, on this thread).`;
    list.innerHTML = '';
    return;
  }
  const g = d.gpu, f = g.backend.device.features, af = g.adapter.features, caps = g.backend.caps;
  status.className = '';
  status.innerHTML = `WebGPU adapter: <b>${esc(g.name)}</b>${g.software ? ' — a <b>software</b> adapter (the GPU is emulated on the CPU, so figures are small and large shapes are scaled down)' : ''}.`;
  const item = (ok: boolean, text: string) => `<li class="${ok ? 'yes' : 'no'}">${text}</li>`;
  const path = String(g.backend.info.details?.decodePath ?? 'f32');
  list.innerHTML = [
    item(f.has('shader-f16'), `<code>shader-f16</code> — ${path === 'matrix' ? 'the subgroup-matrix kernel multiplies f16 operands' : 'requested when present: the subgroup-matrix kernel needs it, and an opt-in f16-arithmetic kernel (decodePath \'f16\'); the default f32 kernel unpacks 16-bit values and computes in f32'}`),
    item(f.has('subgroups'), `<code>subgroups</code> — ${f.has('subgroups') ? `smallest subgroup ${caps.subgroupMinSize}; the decode kernel reduces rows by subgroup shuffles when a row's lanes fit in one subgroup, else through workgroup memory (the kernel path says which ran)` : 'rows are reduced through workgroup memory'}`),
    item(af.has('chromium-experimental-subgroup-matrix' as GPUFeatureName), `<code>subgroup matrices</code> (chromium-experimental-subgroup-matrix) — ${path === 'matrix' ? '<b>in use</b>: Q·Kᵀ and P·V run on the tensor cores (the subgroup-matrix kernel)' : 'with f16 configurations the decode runs its subgroup-matrix (tensor-core) kernel; not used here'}`),
    item(f.has('timestamp-query'), `<code>timestamp-query</code> — ${f.has('timestamp-query') ? 'times come from GPU timestamps' : 'times come from the wall clock around a finished run'}`),
  ].join('');
}

function renderKernelPath(d: DeviceState): void {
  const g = d.gpu, el = $('kernel-path');
  const staged = g?.fused ? `the V3.2 FP8 cache read in place (each key's bytes turned into ${g.fp8Direct ? 'f16 as its tile starts, times a factor from its scales' : 'bf16 as its tile starts'}) by `
    : g?.staged ? 'the FP8 pages first decoded once into bf16 pages (<code>dense_fp8_stage</code>), then ' : '';
  if (g && !g.decodeSpec && g.backend.info.details?.decodePath === 'matrix') {
    el.innerHTML = `Kernel path: ${staged}the subgroup-matrix decode kernel — ${esc(String(g.backend.info.details.decodePathWhy ?? ''))}.`;
    return;
  }
  if (!g?.decodeSpec) { el.textContent = g ? 'Kernel path: shown after the first run.' : ''; return; }
  const s = g.decodeSpec;
  el.innerHTML = `Kernel path that ran: ${staged}<code>mla_decode ${esc(g.decodeKey ?? '')}</code> — ${s.dtype}, ${s.rowsPerTile}-row query tiles, ` +
    `${s.qkColumnsPerStage}-column QK stages, ${s.pvKeysPerStage}-key PV stages, ${s.prefetchStages} stage${s.prefetchStages > 1 ? 's' : ''} loaded ahead, ` +
    `row reductions ${s.subgroups ? 'by subgroup shuffles' : 'through workgroup memory'}, cache in ${s.cacheBindings} binding${s.cacheBindings > 1 ? 's' : ''}; ` +
    `then <code>mla_combine ${s.dtype}</code> merges the split sequences.`;
}

// ------------------------------------------------------------------ inputs
interface Inputs { shape: Shape; numSms: number; reps: number; scale: boolean }

function readInputs(): { inputs?: Inputs; error?: string } {
  const parsed = parseSeqlens(($('seqlens') as HTMLTextAreaElement).value);
  if (parsed.error) return { error: `Sequence lengths: ${parsed.error}.` };
  const num = (id: string) => Number(($(id) as HTMLInputElement).value);
  const numSms = num('sms'), reps = num('reps');
  if (!Number.isInteger(numSms) || numSms < 1 || numSms > 1024) return { error: 'SMs: a whole number in [1, 1024].' };
  if (!Number.isInteger(reps) || reps < 1 || reps > 50) return { error: 'Timed repetitions: a whole number in [1, 50].' };
  const cache = ($('cache') as HTMLSelectElement).value as CacheFormat, dtype = ($('dtype') as HTMLSelectElement).value as HalfDType;
  if (cache === 'v32' && dtype !== 'bf16') return { error: 'An FP8 cache is decoded here with bf16 queries (its dequantized values are exact in bf16): choose dtype bf16.' };
  return {
    inputs: {
      shape: { seqlens: parsed.seqlens!, hQ: num('hq'), sQ: num('sq'), pageBlockSize: num('page'), dtype, cache },
      numSms, reps, scale: ($('scale') as HTMLInputElement).checked,
    },
  };
}

function setSelect(id: string, v: string | number): void {
  const el = $(id) as HTMLSelectElement;
  if (!Array.from(el.options).some((o) => o.value === String(v))) el.add(new Option(String(v), String(v)));
  el.value = String(v);
}

function applyShape(s: Shape): void {
  ($('seqlens') as HTMLTextAreaElement).value = s.seqlens.join(', ');
  setSelect('hq', s.hQ);
  setSelect('sq', s.sQ);
  setSelect('page', s.pageBlockSize);
  setSelect('dtype', s.dtype);
  if (s.cache) setSelect('cache', s.cache);
}

// ------------------------------------------------------------------ the plan
let planParts: ReturnType<typeof planModel>['parts'] = [];
let lastPlan: { model: ReturnType<typeof planModel>; seq: Int32Array } | undefined;
/** SVG user units = CSS pixels: drawings are made for the width they get, so text stays readable on a phone. */
const widthOf = (id: string) => Math.max(320, Math.min(1100, Math.floor($(id).clientWidth || 800)));
function drawPlan(): void {
  if (lastPlan) $('plan').innerHTML = planSvg(lastPlan.model, lastPlan.seq, widthOf('plan-wrap'));
}
interface PlanState { numParts: number; splitPoints: number; splitSeqs: number; balance: number; numSms: number; seqlens: number[]; hQ: number; sQ: number }

function renderPlan(inp: Inputs): PlanState {
  const { seqlens, hQ, sQ } = inp.shape;
  const seq = Int32Array.from(seqlens);
  const md = getMlaMetadata(seq, sQ * hQ, 1, { numSms: inp.numSms });
  const meta = md.tileSchedulerMetadata.host(), ns = md.numSplits.host();
  const model = planModel(meta, ns, seq);
  const keys = seqlens.reduce((a, v) => a + v, 0);
  $('plan-stats').innerHTML = [
    [`${model.parts.length}`, `SM parts (${inp.numSms} SMs ÷ ⌈s_q·h_q / 64⌉ = ${numSmPartsFor(inp.numSms, sQ * hQ, 1)})`],
    [`${seqlens.length}`, `sequences, ${keys.toLocaleString('en-US')} keys`],
    [`${model.splitPoints}`, `split points (${model.split.length} sequence${model.split.length === 1 ? '' : 's'} split)`],
    [`${formatSig(model.balance)}×`, `balance: longest part ${model.maxCost} blocks vs mean ${formatSig(model.meanCost)}`],
  ].map(([v, l]) => `<div class="stat"><b>${v}</b><span>${l}</span></div>`).join('');
  lastPlan = { model, seq };
  drawPlan();
  planParts = model.parts;
  return { numParts: model.parts.length, splitPoints: model.splitPoints, splitSeqs: model.split.length, balance: model.balance, numSms: inp.numSms, seqlens, hQ, sQ };
}


function setupTooltip(): void {
  const wrap = $('plan-wrap'), tip = $('tooltip');
  let active: Element | null = null;
  const show = (e: PointerEvent) => {
    const g = (e.target as Element).closest?.('g.part');
    if (!g) { hide(); return; }
    if (active !== g) { active?.classList.remove('active'); g.classList.add('active'); active = g; }
    const p = planParts[Number(g.getAttribute('data-part'))];
    if (!p) return;
    const f = p.fields;
    const pieces = p.items.map((w) => `  seq ${w.batch}: keys ${w.kBegin}–${w.kEnd}${w.noSplit ? '' : ` (split, piece ${w.piece})`}`);
    tip.textContent = [
      `SM part ${p.part}`,
      `begin_idx          ${f.beginIdx}`, `begin_seqlen       ${f.beginSeqlen}`,
      `end_idx            ${f.endIdx}`, `end_seqlen         ${f.endSeqlen}`,
      `begin_n_split_idx  ${f.beginNSplitIdx}`,
      `work: ${p.cost} blocks (incl. ${p.items.length} × 5 overhead)`,
      ...(pieces.length > 8 ? [...pieces.slice(0, 8), `  … ${pieces.length - 8} more`] : pieces),
    ].join('\n');
    tip.style.display = 'block';
    const r = wrap.getBoundingClientRect();
    const x = e.clientX - r.left + wrap.scrollLeft, y = e.clientY - r.top;
    const w = tip.offsetWidth;
    tip.style.left = `${Math.max(0, Math.min(x + 14, wrap.scrollLeft + r.width - w - 4))}px`;
    tip.style.top = `${y + 16}px`;
  };
  const hide = () => { tip.style.display = 'none'; active?.classList.remove('active'); active = null; };
  wrap.addEventListener('pointermove', show);
  wrap.addEventListener('pointerdown', show);
  wrap.addEventListener('pointerleave', hide);
}

// ------------------------------------------------------------------ one decode, checked and timed
interface HostInputs {
  shape: Shape; q: Uint16Array;
  /** The cache's values in q's dtype (an FP8 cache: its dequantized values, exact in bf16), what the reference reads. */
  kCache: Uint16Array;
  /** An FP8 cache's bytes (FlashMLA's V3.2 layout), what the backends read. */
  fp8?: Uint8Array;
  blockTable: Int32Array; numBlocks: number; maxBlocks: number;
}

/** Random q and cache (seeded), pages shuffled, keys past each seqlen and the spare page NaN: hostile by default. */
function buildInputs(shape: Shape, seed = 42): HostInputs {
  const { seqlens, hQ, sQ, pageBlockSize: page, dtype } = shape;
  const b = seqlens.length, d = 576, r = rng(seed), toHalf = f32ToHalf(dtype);
  const pagesOf = seqlens.map((s) => Math.ceil(s / page));
  const maxBlocks = Math.max(1, ...pagesOf);
  const numBlocks = pagesOf.reduce((a, x) => a + x, 0) + 1;
  const perm = Array.from({ length: numBlocks }, (_, i) => i);
  for (let i = numBlocks - 1; i > 0; i--) { const j = Math.floor(r() * (i + 1)); [perm[i], perm[j]] = [perm[j], perm[i]]; }
  const blockTable = new Int32Array(b * maxBlocks).fill(-1);
  let next = 0;
  for (let i = 0; i < b; i++) for (let j = 0; j < pagesOf[i]; j++) blockTable[i * maxBlocks + j] = perm[next++];
  // A pool of random halves read at a shifting stride: fast to fill even for a large cache, with no two pages alike.
  const pool = new Uint16Array(1 << 16);
  for (let i = 0; i < pool.length; i++) pool[i] = toHalf((r() - 0.5) * 3.4);
  const kCache = new Uint16Array(numBlocks * page * d);
  for (let row = 0, n = numBlocks * page; row < n; row++) {
    const off = (row * 7919) & 0xffff, base = row * d;
    for (let c = 0; c < d; c++) kCache[base + c] = pool[(off + c * 3) & 0xffff];
  }
  const nan = dtype === 'bf16' ? 0x7fc0 : 0x7e00;
  kCache.fill(nan, perm[numBlocks - 1] * page * d, (perm[numBlocks - 1] + 1) * page * d);
  for (let i = 0; i < b; i++) {
    if (seqlens[i] % page === 0) continue;
    const last = blockTable[i * maxBlocks + pagesOf[i] - 1];
    kCache.fill(nan, (last * page + (seqlens[i] % page)) * d, (last + 1) * page * d);
  }
  const q = new Uint16Array(b * sQ * hQ * d);
  for (let i = 0; i < q.length; i++) q[i] = toHalf((r() - 0.5) * 3.4);
  if (shape.cache !== 'v32') return { shape, q, kCache, blockTable, numBlocks, maxBlocks };
  // FP8: the tokens quantized as FlashMLA's quantizer does (NaN ones to NaN bytes), and their dequantized values as
  // bf16 (exact: e4m3 times a power of two) for the reference.
  const fp8 = quantizeCache('v32', kCache, page, numBlocks);
  const tok = new Float32Array(d);
  for (let t = 0; t < numBlocks * page; t++) {
    dequantizeToken('v32', fp8, page, Math.floor(t / page), t % page, tok);
    for (let c = 0; c < d; c++) kCache[t * d + c] = f32ToBf16(tok[c]);
  }
  return { shape, q, kCache, fp8, blockTable, numBlocks, maxBlocks };
}

interface Check { pass: boolean; cosDiff: number; maxLseErr: number; nanFree: boolean; emptyOk: boolean; sample: number[]; splitChecked: number[]; reason?: string }

/** Sequences to check in float64: the cheapest split sequence, an empty one, then others in order, within a budget. */
function chooseSample(seqlens: number[], split: Set<number>, hQ: number, sQ: number, budget = 96 * 1024): number[] {
  const cost = (i: number) => seqlens[i] * hQ * sQ;
  const chosen: number[] = [];
  let used = 0;
  const take = (i: number) => { if (!chosen.includes(i) && used + cost(i) <= budget) { chosen.push(i); used += cost(i); } };
  const splits = [...split].sort((x, y) => cost(x) - cost(y));
  if (splits.length) take(splits[0]);
  const empty = seqlens.findIndex((s) => s === 0);
  if (empty >= 0) take(empty);
  for (let i = 0; i < seqlens.length && chosen.length < 8; i++) take(i);
  if (!chosen.length) chosen.push(seqlens.indexOf(Math.min(...seqlens)));
  return chosen.sort((x, y) => x - y);
}

function check(h: HostInputs, out: Uint16Array, lse: Float32Array, numSplits: Int32Array): Check {
  const { seqlens, hQ, sQ, pageBlockSize: page, dtype } = h.shape;
  const d = 576, dV = 512, b = seqlens.length;
  const split = new Set<number>();
  for (let i = 0; i < b; i++) if (numSplits[i + 1] - numSplits[i] > 1) split.add(i);
  const sample = chooseSample(seqlens, split, hQ, sQ);
  // A compact copy of the sampled sequences: their q rows and their pages only.
  const pages = sample.map((i) => Math.ceil(seqlens[i] / page));
  const maxB = Math.max(1, ...pages);
  const kc = new Uint16Array(Math.max(1, pages.reduce((a, x) => a + x, 0)) * page * d);
  const bt = new Int32Array(sample.length * maxB).fill(-1);
  const qs = new Uint16Array(sample.length * sQ * hQ * d);
  let np = 0;
  sample.forEach((i, k) => {
    for (let j = 0; j < pages[k]; j++) {
      const src = h.blockTable[i * h.maxBlocks + j];
      kc.set(h.kCache.subarray(src * page * d, (src + 1) * page * d), np * page * d);
      bt[k * maxB + j] = np++;
    }
    qs.set(h.q.subarray(i * sQ * hQ * d, (i + 1) * sQ * hQ * d), k * sQ * hQ * d);
  });
  const ref = referenceDecode({
    q: qs, kCache: kc, blockTable: bt, cacheSeqlens: Int32Array.from(sample.map((i) => seqlens[i])), dtype,
    b: sample.length, sQ, hQ, hKv: 1, pageBlockSize: page, maxBlocksPerSeq: maxB,
  });
  const toF = halfToF32(dtype);
  let dot = 0, xx = 0, yy = 0, maxLseErr = 0, emptyOk = true, nanFree = true;
  const rowEl = sQ * hQ * dV;
  sample.forEach((i, k) => {
    for (let e = 0; e < rowEl; e++) {
      const x = toF(out[i * rowEl + e]), y = ref.out[k * rowEl + e];
      if (Number.isNaN(x)) nanFree = false;
      dot += x * y; xx += x * x; yy += y * y;
    }
    for (let e = 0; e < hQ * sQ; e++) {
      const got = lse[i * hQ * sQ + e], want = ref.lse[k * hQ * sQ + e];
      if (want === Infinity) { if (got !== Infinity) emptyOk = false; continue; }
      if (!Number.isFinite(got)) nanFree = false;
      else maxLseErr = Math.max(maxLseErr, Math.abs(got - want));
    }
  });
  // Over the whole batch: no NaN anywhere (the cache holds NaN past every seqlen), empty rows zero with lse = +inf.
  for (let i = 0; i < out.length; i++) if (Number.isNaN(toF(out[i]))) { nanFree = false; break; }
  for (let i = 0; i < b; i++) {
    if (seqlens[i] !== 0) continue;
    for (let e = 0; e < rowEl; e++) if ((out[i * rowEl + e] & 0x7fff) !== 0) emptyOk = false;
    for (let e = 0; e < hQ * sQ; e++) if (lse[i * hQ * sQ + e] !== Infinity) emptyOk = false;
  }
  const cosDiff = xx + yy > 0 ? 1 - (2 * dot) / (xx + yy) : 0;
  const pass = nanFree && emptyOk && cosDiff < 1e-5 && maxLseErr < 1e-3;
  const reason = pass ? undefined : !nanFree ? 'NaN in the output' : !emptyOk ? 'an empty sequence did not give zeros and lse = +∞' : cosDiff >= 1e-5 ? 'cosine difference over 1e-5' : 'lse error over 1e-3';
  return { pass, cosDiff, maxLseErr, nanFree, emptyOk, sample, splitChecked: sample.filter((i) => split.has(i)), reason };
}

interface Timing { ms: number; min: number; max: number; reps: number; GBps: number; TFLOPS: number; timer: string }
interface BackendRun { backend: 'webgpu' | 'cpu'; device: string; check?: Check; timing?: Timing; skipped?: string; error?: string }

/** 2 → "2nd", 32 → "32nd", 16 → "16th". */
const ordinal = (n: number) => `${n}${n % 100 >= 11 && n % 100 <= 13 ? 'th' : ['th', 'st', 'nd', 'rd'][n % 10] ?? 'th'}`;
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

/** One decode on `backend`, checked when `doCheck` (that run is then the warm-up), then `reps` timed runs. */
async function runOn(kind: 'webgpu' | 'cpu', backend: Backend, h: HostInputs, numSms: number, reps: number, doCheck: boolean, warmup = doCheck ? 0 : 1): Promise<BackendRun> {
  const { seqlens, hQ, sQ, pageBlockSize: page, dtype } = h.shape;
  const b = seqlens.length;
  const seq = fromArray('i32', [b], Int32Array.from(seqlens));
  const bt = fromArray('i32', [b, h.maxBlocks], h.blockTable);
  const md = getMlaMetadata(seq, sQ * hQ, 1, { numSms });
  const tensors: Tensor[] = [];
  const up = (t: Tensor<Uint16Array>) => { const u = backend.upload(t); if (u !== t) tensors.push(u); return u; };
  const qT = up(fromArray(dtype, [b, sQ, hQ, 576], h.q));
  let kT: Tensor;
  if (h.fp8) {
    kT = uploadFp8Cache(backend, fp8CacheTensor('v32', h.numBlocks, page, h.fp8));
    if (kind === 'webgpu') tensors.push(kT);
  } else {
    kT = up(fromArray(dtype, [h.numBlocks, page, 1, 576], h.kCache));
  }
  try {
    const { out, lse } = await flashMlaWithKvcache(qT, kT, bt, seq, 512, md.tileSchedulerMetadata, md.numSplits, { backend });
    tensors.push(out, lse);
    let c: Check | undefined;
    if (doCheck) {
      const o = (await backend.download(out)).host() as Uint16Array;
      const l = (await backend.download(lse)).host() as Float32Array;
      c = check(h, o, l, md.numSplits.host());
    }
    const times = await backend.timeMs(
      () => flashMlaWithKvcache(qT, kT, bt, seq, 512, md.tileSchedulerMetadata, md.numSplits, { backend, out, lse }).then(() => {}),
      { warmup, reps },
    );
    const ms = median(times);
    const cost = decodeCost(seqlens, hQ, sQ, h.shape.cache);
    const timer = kind === 'cpu' ? 'wall clock' : (backend as WebGpuBackend).caps.timestamps ? 'GPU timestamp queries' : 'wall clock';
    return {
      backend: kind, device: backend.info.device, check: c,
      timing: { ms, min: Math.min(...times), max: Math.max(...times), reps, GBps: cost.bytes / ms / 1e6, TFLOPS: cost.flop / ms / 1e9, timer },
    };
  } finally {
    for (const t of tensors) if (kind === 'webgpu') backend.free(t);
  }
}

// ------------------------------------------------------------------ rendering results
const cpuBudget = 4 * softwareBudget;
const gpuMaxKeys = 1 << 19;

function resultCard(r: BackendRun, runShape: Shape): string {
  const title = r.backend === 'webgpu' ? `WebGPU <span class="muted">${esc(r.device)}</span>` : 'CPU <span class="muted">in-page, this thread</span>';
  const badge = r.error ? '<span class="badge fail">ERROR</span>'
    : r.skipped ? '<span class="badge skip">SKIPPED</span>'
    : r.check ? `<span class="badge ${r.check.pass ? 'pass' : 'fail'}" data-check="${r.check.pass ? 'pass' : 'fail'}">${r.check.pass ? '✓ PASS' : '✗ FAIL'}</span>` : '';
  const rows: [string, string][] = [];
  if (r.error) rows.push(['error', esc(r.error)]);
  if (r.skipped) rows.push(['skipped', esc(r.skipped)]);
  if (runShape.cache === 'v32') rows.push(['cache', `FP8, DeepSeek-V3.2 bytes (656 B a key; ${r.backend === 'webgpu' ? 'pages decoded once into bf16 pages, then the dense kernel' : 'pages dequantized in the dense kernel\'s tile loop'})`]);
  const t = r.timing;
  if (t) {
    rows.push([`time (median of ${t.reps})`, `<b class="fig">${formatMs(t.ms)}</b> <span class="muted">(min ${formatMs(t.min)}, max ${formatMs(t.max)}; ${t.timer})</span>`]);
    rows.push(['memory throughput', `<b class="fig">${formatIn(t.GBps, 'GB/s')}</b> <span class="muted">= ${formatSI(t.GBps * 1e9, 'B/s')}</span>`]);
    rows.push(['compute', `<b class="fig">${formatIn(t.TFLOPS, 'TFLOPS')}</b> <span class="muted">= ${formatSI(t.TFLOPS * 1e12, 'FLOP/s')}</span>`]);
  }
  const c = r.check;
  if (c) {
    rows.push(['cosine difference', `<span class="fig">${formatSig(c.cosDiff)}</span> <span class="muted">(limit 1 × 10⁻⁵)</span>`]);
    rows.push(['max |lse error|', `<span class="fig">${formatSig(c.maxLseErr)}</span> <span class="muted">(limit 1 × 10⁻³)</span>`]);
    const extra = [c.splitChecked.length ? `split: ${c.splitChecked.join(', ')}` : '', runShape.seqlens.some((s) => s === 0) ? `empty rows ${c.emptyOk ? 'zero, lse +∞' : 'WRONG'}` : ''].filter(Boolean).join('; ');
    rows.push(['checked against float64', `sequences ${c.sample.join(', ')} of ${runShape.seqlens.length}${extra ? ` (${extra})` : ''}; no NaN: ${c.nanFree ? 'yes' : 'NO'}`]);
    if (c.reason) rows.push(['failure', esc(c.reason)]);
  }
  return `<div class="card" data-backend="${r.backend}"><h3><span>${title}</span>${badge}</h3><table class="kv">${rows.map(([k, v]) => `<tr><td>${k}</td><td>${v}</td></tr>`).join('')}</table></div>`;
}

const series = { webgpu: { colour: '#245fd0', label: 'WebGPU' }, cpu: { colour: '#d2691e', label: 'CPU (in-page)' } };

/** Throughput bars as HTML: they reflow at any width. */
function barsHtml(runs: BackendRun[]): string {
  const timed = runs.filter((r) => r.timing);
  if (!timed.length) return '';
  const max = Math.max(...timed.map((r) => r.timing!.GBps));
  return `<div class="bars"><p class="muted">Memory throughput of this shape (higher is better)</p>${timed.map((r) => {
    const pct = Math.max(0.5, (100 * r.timing!.GBps) / max);
    return `<div class="bar-row"><span class="bar-label">${series[r.backend].label}</span><span class="bar-track"><span class="bar" style="width:${pct.toFixed(1)}%;background:${series[r.backend].colour}"></span></span>` +
      `<span class="bar-value">${formatIn(r.timing!.GBps, 'GB/s')} · ${formatIn(r.timing!.TFLOPS, 'TFLOPS')} · ${formatMs(r.timing!.ms)}</span></div>`;
  }).join('')}</div>`;
}

// ------------------------------------------------------------------ the sweep
interface SweepPoint { len: number; webgpu?: Timing; cpu?: Timing; wallMs?: { webgpu: number; cpu: number } }
let lastSweep: { points: SweepPoint[]; b: number; hQ: number } | undefined;
function drawSweep(): void {
  if (lastSweep) $('sweep-chart').innerHTML = sweepSvg(lastSweep.points, lastSweep.b, lastSweep.hQ, widthOf('sweep-chart'));
}

function sweepSvg(points: SweepPoint[], b: number, hQ: number, width: number): string {
  const w = Math.min(width, 760), h = w < 500 ? 240 : 280, l = 58, r = 24, t = 20, btm = 44;
  const vals = points.flatMap((p) => [p.webgpu?.GBps, p.cpu?.GBps]).filter((v): v is number => v !== undefined && v > 0);
  if (!vals.length) return '';
  // A log axis padded around the data, ticked at 1-2-5 steps of each decade.
  const lo = Math.log10(Math.min(...vals)) - 0.12, hi = Math.max(Math.log10(Math.max(...vals)) + 0.12, lo + 0.5);
  const xs = points.map((p) => Math.log2(p.len));
  const x0 = Math.min(...xs), x1 = Math.max(...xs) === x0 ? x0 + 1 : Math.max(...xs);
  const X = (len: number) => l + ((Math.log2(len) - x0) / (x1 - x0)) * (w - l - r);
  const Y = (v: number) => t + (1 - (Math.log10(v) - lo) / (hi - lo)) * (h - t - btm);
  const grid: string[] = [];
  const ticks: number[] = [];
  for (let e = Math.floor(lo); e <= Math.ceil(hi); e++) for (const m of [1, 2, 5]) { const v = m * 10 ** e; if (Math.log10(v) >= lo && Math.log10(v) <= hi) ticks.push(v); }
  const shown = ticks.length > 7 ? ticks.filter((v) => Math.abs(Math.log10(v) - Math.round(Math.log10(v))) < 1e-9) : ticks;
  for (const v of shown) {
    grid.push(`<line x1="${l}" x2="${w - r}" y1="${Y(v)}" y2="${Y(v)}" stroke="#e3e6ea"/><text x="${l - 6}" y="${Y(v) + 4}" text-anchor="end" class="axis">${formatSig(v, 1)}</text>`);
  }
  for (const p of points) grid.push(`<text x="${X(p.len)}" y="${h - btm + 16}" text-anchor="middle" class="axis">${p.len}</text>`);
  grid.push(`<text x="${(l + w - r) / 2}" y="${h - 8}" text-anchor="middle" class="axis">keys per sequence (b = ${b}, h_q = ${hQ}; log scale)</text>`);
  grid.push(`<text x="12" y="${(t + h - btm) / 2}" transform="rotate(-90 12 ${(t + h - btm) / 2})" text-anchor="middle" class="axis">GB/s (log scale)</text>`);
  const lines = (['webgpu', 'cpu'] as const).map((k) => {
    const pts = points.filter((p) => p[k]);
    if (!pts.length) return '';
    const path = pts.map((p, i) => `${i ? 'L' : 'M'}${X(p.len)} ${Y(p[k]!.GBps)}`).join(' ');
    const dots = pts.map((p) => `<circle class="pt" data-series="${k}" cx="${X(p.len)}" cy="${Y(p[k]!.GBps)}" r="4" fill="${series[k].colour}"><title>${series[k].label}, ${p.len} keys: ${formatIn(p[k]!.GBps, 'GB/s')}, ${formatIn(p[k]!.TFLOPS, 'TFLOPS')}, ${formatMs(p[k]!.ms)}</title></circle>` +
      `<text x="${X(p.len)}" y="${Y(p[k]!.GBps) - 8}" text-anchor="middle" font-size="10" fill="${series[k].colour}">${formatSig(p[k]!.GBps)}</text>`).join('');
    return `<path d="${path}" fill="none" stroke="${series[k].colour}" stroke-width="2"/>${dots}`;
  }).join('');
  return `<svg class="chart" viewBox="0 0 ${w} ${h}" role="img" aria-label="throughput over sequence length">${grid.join('')}${lines}</svg>` +
    `<div class="legend">${(['webgpu', 'cpu'] as const).filter((k) => points.some((p) => p[k])).map((k) => `<span><span class="swatch" style="background:${series[k].colour}"></span>${series[k].label}</span>`).join('')}</div>`;
}

// ------------------------------------------------------------------ wiring
interface PageState {
  ready: boolean; busy: boolean; device?: { webgpu: boolean; adapter?: string; reason?: string; software?: boolean; kernel?: string };
  plan?: PlanState; run?: { shape: Shape; scaled?: string; runs: BackendRun[]; phases: Record<string, number> }; sweep?: SweepPoint[]; error?: string; runs: number; sweeps: number;
}
const state: PageState = { ready: false, busy: false, runs: 0, sweeps: 0 };
(window as unknown as { flashmlaPage: PageState }).flashmlaPage = state;

async function main(): Promise<void> {
  const cpu = new InlineCpuBackend();
  const g = await setupGpu();
  const dev: DeviceState = { ...g, cpu };
  renderDevice(dev);
  renderKernelPath(dev);
  state.device = { webgpu: Boolean(g.gpu), adapter: g.gpu?.name, reason: g.reason, software: g.gpu?.software };
  const software = !g.gpu || g.gpu.software;

  // Presets and defaults.
  const sel = $('preset') as HTMLSelectElement;
  sel.add(new Option('Custom (typed or drawn)', 'custom'));
  for (const p of presets) sel.add(new Option(p.label, p.id));
  ($('sms') as HTMLInputElement).value = String(Number(params.get('sms')) || (g.gpu ? g.gpu.backend.info.numSms : cpu.info.numSms));
  if (params.get('reps')) ($('reps') as HTMLInputElement).value = params.get('reps')!;
  if (!software) { ($('reps') as HTMLInputElement).value = params.get('reps') ?? '10'; ($('sweep-lens') as HTMLInputElement).value = '256, 1024, 4096, 16384'; ($('sweep-b') as HTMLInputElement).value = '64'; }
  const choosePreset = (id: string) => {
    const p = presets.find((x) => x.id === id);
    const note = $('preset-note');
    if (!p) { note.hidden = true; return; }
    applyShape(p.full);
    note.hidden = false;
    note.textContent = p.note;
  };
  sel.value = params.get('preset') ?? 'small';
  choosePreset(sel.value);
  if (params.get('seqlens')) { ($('seqlens') as HTMLTextAreaElement).value = params.get('seqlens')!; sel.value = 'custom'; }
  for (const k of ['hq', 'sq', 'page', 'dtype', 'cache'] as const) { const v = params.get(k); if (v) setSelect(k, v); }

  const replan = () => {
    const { inputs, error } = readInputs();
    $('input-error').textContent = error ?? '';
    if (!inputs) return undefined;
    try {
      state.plan = renderPlan(inputs);
    } catch (e) {
      $('input-error').textContent = (e as Error).message;
      return undefined;
    }
    return inputs;
  };
  sel.addEventListener('change', () => { choosePreset(sel.value); replan(); });
  $('inputs').addEventListener('submit', (e) => e.preventDefault());
  $('inputs').addEventListener('input', (e) => {
    const id = (e.target as HTMLElement).id;
    if (id === 'preset' || id.startsWith('draw') || id === 'reps' || id === 'scale') return;
    if (id === 'seqlens' || id === 'hq' || id === 'sq' || id === 'page' || id === 'dtype' || id === 'cache') { if (sel.value !== 'custom') { sel.value = 'custom'; $('preset-note').hidden = true; } }
    replan();
  });
  $('draw').addEventListener('click', () => {
    const b = Number(($('draw-b') as HTMLInputElement).value), mean = Number(($('draw-mean') as HTMLInputElement).value);
    if (!Number.isInteger(b) || b < 1 || b > 4096 || !(mean >= 1)) { $('input-error').textContent = 'Draw: b in [1, 4096] and a mean length ≥ 1.'; return; }
    const dist = ($('draw-dist') as HTMLSelectElement).value as Distribution;
    ($('seqlens') as HTMLTextAreaElement).value = drawSeqlens(b, mean, dist, Math.floor(Math.random() * 1e9)).join(', ');
    sel.value = 'custom';
    $('preset-note').hidden = true;
    replan();
  });
  setupTooltip();

  const buttons = [$('run'), $('sweep'), $('draw')] as HTMLButtonElement[];
  const busy = (on: boolean) => { state.busy = on; for (const b of buttons) b.disabled = on; };
  // Let the status line paint before a long synchronous step (a hidden tab gets no animation frames: time out).
  const frame = () => new Promise<void>((ok) => { requestAnimationFrame(() => setTimeout(ok, 0)); setTimeout(ok, 50); });

  const run = async () => {
    const inputs = replan();
    if (!inputs || state.busy) return;
    busy(true);
    const status = $('status'), note = $('run-note');
    status.className = 'muted';
    try {
      // What actually runs: the shape as typed, or a scaled-down copy that this device finishes in seconds.
      const budget = software ? softwareBudget : 1 << 27, maxKeys = software ? 1 << 16 : gpuMaxKeys;
      let shape = inputs.shape, scaled: string | undefined;
      const keys = shape.seqlens.reduce((a, v) => a + v, 0);
      if (inputs.scale) {
        const s = scaleShape(shape, budget, maxKeys);
        if (s.headDiv > 1 || s.batchDiv > 1 || s.lenDiv > 1) {
          shape = s.shape;
          scaled = `Scaled down for ${software ? 'a software adapter / the CPU' : 'this page'}: ` +
            [s.batchDiv > 1 ? `every ${ordinal(s.batchDiv)} sequence (b = ${shape.seqlens.length})` : '', s.lenDiv > 1 ? `lengths ÷ ${s.lenDiv}` : '', s.headDiv > 1 ? `h_q ÷ ${s.headDiv} (= ${shape.hQ})` : ''].filter(Boolean).join(', ') +
            `. The run uses seqlens [${shape.seqlens.length > 12 ? `${shape.seqlens.slice(0, 12).join(', ')}, …` : shape.seqlens.join(', ')}] and its own plan; the drawing above is the shape as typed.`;
        }
      } else if (keys > gpuMaxKeys) {
        throw new Error(`${keys.toLocaleString('en-US')} keys is more cache than this page allocates (${gpuMaxKeys.toLocaleString('en-US')}); tick "run a scaled-down copy"`);
      }
      note.hidden = !scaled;
      note.textContent = scaled ?? '';
      status.textContent = 'building inputs…';
      await frame();
      const phases: Record<string, number> = {};
      let tp = performance.now();
      const phase = (k: string) => { const now = performance.now(); phases[k] = Math.round(now - tp); tp = now; };
      const h = buildInputs(shape);
      phase('inputs');
      const runs: BackendRun[] = [];
      const cost = shape.seqlens.reduce((a, v) => a + v, 0) * shape.hQ * shape.sQ;
      if (dev.gpu) {
        status.textContent = 'running on WebGPU…';
        await frame();
        dev.gpu.staged = false;
        dev.gpu.fused = false;
        try { runs.push(await runOn('webgpu', dev.gpu.backend, h, inputs.numSms, inputs.reps, true)); } catch (e) { runs.push({ backend: 'webgpu', device: dev.gpu.name, error: (e as Error).message }); }
        renderKernelPath(dev);
        state.device!.kernel = dev.gpu.decodeKey;
        phase('webgpu');
      }
      if (cost <= cpuBudget) {
        status.textContent = 'running on the CPU…';
        await frame();
        try { runs.push(await runOn('cpu', cpu, h, inputs.numSms, Math.min(inputs.reps, 3), true)); } catch (e) { runs.push({ backend: 'cpu', device: cpu.info.device, error: (e as Error).message }); }
        phase('cpu');
      } else {
        runs.push({ backend: 'cpu', device: cpu.info.device, skipped: `${formatSig(cost)} key·head products is too slow for the in-page CPU (limit ${formatSig(cpuBudget)}); tick "scaled-down" to compare` });
      }
      $('results').innerHTML = runs.map((r) => resultCard(r, shape)).join('');
      $('bars').innerHTML = barsHtml(runs);
      const checked = runs.filter((r) => r.check);
      const ok = checked.length > 0 && checked.every((r) => r.check!.pass) && runs.every((r) => !r.error);
      status.className = ok ? 'ok' : 'bad';
      status.textContent = ok ? `✓ correct: ${checked.map((r) => series[r.backend].label).join(' and ')} match the float64 reference` : '✗ a check failed (see below)';
      state.run = { shape, scaled, runs, phases };
      state.runs++;
    } catch (e) {
      status.className = 'bad';
      status.textContent = `failed: ${(e as Error).message}`;
      state.error = (e as Error).message;
      state.runs++;
    } finally {
      busy(false);
    }
  };

  const sweep = async () => {
    const inputs = replan();
    if (!inputs || state.busy) return;
    const lens = parseSeqlens(($('sweep-lens') as HTMLInputElement).value);
    const b = Number(($('sweep-b') as HTMLInputElement).value);
    const st = $('sweep-status');
    if (lens.error || !lens.seqlens!.every((v) => v > 0) || !Number.isInteger(b) || b < 1) { st.textContent = 'lengths: positive whole numbers; batch ≥ 1'; return; }
    busy(true);
    const points: SweepPoint[] = [];
    const skipped: number[] = [];
    // On a software adapter, fewer heads rather than fewer lengths: one h_q of 16 for the whole sweep (each new
    // h_q is a new pipeline, which a software adapter takes tens of seconds to compile).
    const sweepHq = inputs.scale && software ? Math.min(16, inputs.shape.hQ) : inputs.shape.hQ;
    try {
      for (const len of [...lens.seqlens!].sort((x, y) => x - y)) {
        st.textContent = `${len} keys…`;
        await frame();
        const shape: Shape = { ...inputs.shape, hQ: sweepHq, seqlens: Array.from({ length: b }, () => len) };
        const keys = b * len, cost = keys * shape.hQ * shape.sQ;
        if (keys > gpuMaxKeys || (inputs.scale && software && cost > 4 * softwareBudget)) { skipped.push(len); continue; }
        const h = buildInputs(shape, len);
        const p: SweepPoint = { len };
        const reps = Math.min(inputs.reps, 5);
        const t0 = performance.now();
        if (dev.gpu) p.webgpu = (await runOn('webgpu', dev.gpu.backend, h, inputs.numSms, reps, false)).timing;
        const t1 = performance.now();
        if (cost <= cpuBudget) p.cpu = (await runOn('cpu', cpu, h, inputs.numSms, Math.min(reps, 3), false, 0)).timing;
        p.wallMs = { webgpu: Math.round(t1 - t0), cpu: Math.round(performance.now() - t1) };
        points.push(p);
        lastSweep = { points, b, hQ: shape.hQ };
        drawSweep();
      }
      st.textContent = [`done: ${points.length} lengths`, sweepHq !== inputs.shape.hQ ? `h_q = ${sweepHq} (scaled down from ${inputs.shape.hQ} for a software adapter)` : '',
        points.some((p) => !p.cpu) ? 'CPU only where its cost is small' : '', skipped.length ? `skipped ${skipped.join(', ')} (too large here)` : ''].filter(Boolean).join('; ');
      state.sweep = points;
    } catch (e) {
      st.textContent = `failed: ${(e as Error).message}`;
      state.error = (e as Error).message;
    } finally {
      state.sweeps++;
      busy(false);
    }
  };
  let resizeQueued = false;
  window.addEventListener('resize', () => {
    if (resizeQueued) return;
    resizeQueued = true;
    requestAnimationFrame(() => { resizeQueued = false; drawPlan(); drawSweep(); });
  });
  $('run').addEventListener('click', () => void run());
  $('sweep').addEventListener('click', () => void sweep());

  replan();
  state.ready = true;
  if (params.get('autorun') !== '0') await run();
}

main().catch((e: unknown) => {
  const msg = e instanceof Error ? e.message : String(e);
  state.error = msg;
  const s = $('status');
  s.textContent = `failed: ${msg}`;
  s.className = 'bad';
});
