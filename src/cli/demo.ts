// `flashmla demo` (npm start): a DeepSeek-V3-shaped decode step end to end. Fill the paged latent KV cache
// through KvCacheManager, decode with hQ = 128 (V3's heads) and 16 (a tensor-parallel shard) on the best
// backend here, spot-check against the float64 reference, report throughput by FlashMLA's formulas and what
// the latent cache saves over a multi-head cache.
import { MlaDecoder } from '../core/api.js';
import { KvCacheManager } from '../core/kvcache.js';
import { fromArray } from '../core/tensor.js';
import { choiceArg, intArg, intListArg, parse } from './args.js';
import { type BackendChoice, backendChoices, openBackend } from './backend.js';
import { checkPasses, checkSample } from './check.js';
import { demoModelConfig, modelRun } from './demo-model.js';
import { bytesOf, flopOf } from './harness.js';
import { fillNormal, uniform } from './random.js';
import { bytes, fmt, progress, table } from './ui.js';

export const demoHelp = `Usage: flashmla demo [options]

Decode one DeepSeek-V3-shaped batch (d 576, dv 512) through the paged latent KV cache on the best backend
here, check sampled rows against the float64 reference and report GB/s, TFLOPS and the cache's size.

Options:
  --batch N       sequences (default 4)
  --seqlen N      longest context; lengths are drawn from N/4..N (default 4096)
  --heads LIST    query head counts to decode, comma-separated (default 128,16: V3, and V3 over 8 GPUs)
  --page N        tokens per cache page, 1..256 (default 64)
  --backend NAME  best (default), cuda, webgpu or cpu
  --workers N     CPU worker threads (default: all cores)
  --reps N        timed repetitions per head count (default 3)
  --check N       rows checked against the reference per head count (default 6; 0 skips)
  --seed N        random seed (default 1)
  --layers N      model run: MLA layers (hidden 1024, 16 heads, V3's dims) decoding tokens (default 4; 0 skips)
  --prompt N      model run: prompt tokens per sequence, prefilled through every layer (default 32)
  --tokens N      model run: tokens decoded per sequence (default 8)
  --model-batch N model run: sequences decoded together (default 1)
  -q, --quiet     no progress lines
  -h, --help      show this help`;

/** DeepSeek's attention shapes: the latent cache holds kv_lora_rank + qk_rope_head_dim values per token per layer. */
const models = [
  { name: 'DeepSeek-V2', layers: 60, heads: 128, kvLora: 512, rope: 64, dHead: 128 },
  { name: 'DeepSeek-V3', layers: 61, heads: 128, kvLora: 512, rope: 64, dHead: 128 },
];

export function cacheComparison(): string {
  const lines = [
    'KV cache per token (bf16, all layers). MLA caches the latent and the RoPE key: (512 + 64) values per layer.',
    'MHA caches K and V for every head: 2 * heads * 128 values per layer (the DeepSeek-V2 paper\'s convention,',
    'd_h = 128; counting the 64 decoupled RoPE dims in K, 128 * (192 + 128) per layer, the saving is 71x).',
  ];
  const rows = [['model', 'layers', 'heads', 'MLA B/token', 'MHA B/token', 'MHA/MLA', 'MLA 128K ctx', 'MHA 128K ctx']];
  for (const m of models) {
    const mla = (m.kvLora + m.rope) * m.layers * 2, mha = 2 * m.heads * m.dHead * m.layers * 2;
    rows.push([m.name, String(m.layers), String(m.heads), `${mla} (${bytes(mla)})`, `${mha} (${bytes(mha)})`, `${(mha / mla).toFixed(1)}x`, bytes(mla * 131072), bytes(mha * 131072)]);
  }
  return [...lines, table(rows)].join('\n');
}

export async function demo(argv: string[]): Promise<void> {
  const { values: v, help } = parse('demo', argv, {
    batch: { type: 'string' }, seqlen: { type: 'string' }, heads: { type: 'string' }, page: { type: 'string' },
    backend: { type: 'string' }, workers: { type: 'string' }, reps: { type: 'string' }, check: { type: 'string' },
    seed: { type: 'string' }, quiet: { type: 'boolean', short: 'q' },
    layers: { type: 'string' }, prompt: { type: 'string' }, tokens: { type: 'string' }, 'model-batch': { type: 'string' },
  });
  if (help) { console.log(demoHelp); return; }
  const b = intArg('batch', v.batch, 4, 1, 4096);
  const maxLen = intArg('seqlen', v.seqlen, 4096, 1, 1 << 20);
  const heads = intListArg('heads', v.heads, [128, 16], 1, 1024);
  const page = intArg('page', v.page, 64, 1, 256);
  const backendName = choiceArg<BackendChoice>('backend', v.backend, backendChoices, 'best');
  const workers = v.workers === undefined ? undefined : intArg('workers', v.workers, 1, 1, 256);
  const reps = intArg('reps', v.reps, 3, 1, 1000);
  const samples = intArg('check', v.check, 6, 0, 1000);
  const seed = intArg('seed', v.seed, 1, 0, 2 ** 31);
  const nLayers = intArg('layers', v.layers, 4, 0, 256);
  const prompt = intArg('prompt', v.prompt, 32, 1, 1 << 16);
  const modelBatch = intArg('model-batch', v['model-batch'], 1, 1, 4096);
  const tokens = intArg('tokens', v.tokens, 8, 1, 1 << 16);
  const p = progress(v.quiet === true);
  const t0 = performance.now();

  p.update(`starting the ${backendName} backend`);
  const { backend, skipped } = await openBackend(backendName, workers);
  const manager = (() => {
    const u = uniform(seed);
    const lens = Array.from({ length: b }, () => Math.max(1, Math.round(maxLen * (0.25 + 0.75 * u()))));
    // Room for every context plus one decode step's token per sequence.
    const numBlocks = lens.reduce((a, s) => a + Math.ceil((s + 1) / page), 0);
    return { lens, kv: new KvCacheManager({ backend, numBlocks, pageBlockSize: page, hKv: 1, dtype: 'bf16' }) };
  })();
  const { kv, lens } = manager;
  let failed = false;
  try {
    console.log(`backend: ${backend.kind} (${backend.info.device})`);
    for (const s of skipped) console.log(`  skipped ${s.reason}`);
    // Prefill: append each context in chunks, as a serving loop would after a prefill pass.
    const ids = lens.map(() => kv.addSequence());
    const total = lens.reduce((a, s) => a + s, 0);
    let done = 0;
    const chunk = 1024;
    for (const [i, id] of ids.entries()) {
      for (let t = 0; t < lens[i]; t += chunk) {
        const n = Math.min(chunk, lens[i] - t);
        kv.append(id, fillNormal('bf16', seed * 1000 + i, new Uint16Array(n * 576), t * 576));
        done += n;
        p.update(`filling the KV cache: ${done}/${total} tokens`);
      }
    }
    const st = kv.stats();
    p.done();
    console.log(`KV cache: ${b} sequences, ${total} tokens (lengths ${lens.join(', ')}), ${st.pagesUsed}/${st.numBlocks} pages of ${page} tokens, ${st.bytesPerToken} B per token per layer (${bytes(st.poolBytes)} pool)`);

    const rows = [['h_q', 'ms', 'GB/s', 'GFLOP/s', 'TFLOPS', 'cos diff vs float64', 'lse err']];
    const step = kv.batch(ids);
    const cacheHost = (await backend.download(kv.kCache)).host() as Uint16Array;
    for (const hQ of heads) {
      const dec = new MlaDecoder(backend, { hQ, hKv: 1, dtype: 'bf16' });
      try {
        dec.plan(step.cacheSeqlens, step.blockTable);
        const qHost = fillNormal('bf16', seed * 7 + hQ, new Uint16Array(b * hQ * 576));
        const q = backend.upload(fromArray('bf16', [b, 1, hQ, 576], qHost));
        p.update(`decoding h_q=${hQ}: 1 warm-up + ${reps} timed`);
        const times = await backend.timeMs(async () => { await dec.run(q, kv.kCache); }, { warmup: 1, reps });
        const ms = times.sort((x, y) => x - y)[times.length >> 1];
        const cfg = { b, h_q: hQ, s_q: 1, h_kv: 1 };
        const gbps = bytesOf(cfg, total) / ms / 1e6, tflops = flopOf(cfg, total) / ms / 1e9;
        let cos = '-', lseErr = '-';
        if (samples > 0) {
          p.update(`decoding h_q=${hQ}: checking ${samples} rows against the float64 reference`);
          const r = await dec.run(q, kv.kCache);
          await backend.synchronize();
          const res = checkSample({
            b, sQ: 1, hQ, hKv: 1, dtype: 'bf16', seqlens: step.cacheSeqlens, q: qHost,
            out: (await backend.download(r.out)).host() as Uint16Array, lse: (await backend.download(r.lse)).host() as Float32Array,
            keysOf: (i) => gatherKeys(cacheHost, kv.pages(ids[i]), lens[i], page),
          }, samples, seed);
          cos = `${res.cosDiff.toExponential(2)} (${res.rows} rows)${checkPasses(res) ? '' : ' FAILED'}`;
          lseErr = res.maxLseError.toExponential(1);
          failed ||= !checkPasses(res);
        }
        rows.push([String(hQ), fmt(ms), fmt(gbps), fmt(tflops * 1e3), tflops.toExponential(2), cos, lseErr]);
        p.done(`h_q=${hQ}: ${fmt(ms)} ms, ${fmt(gbps)} GB/s, ${fmt(tflops * 1e3)} GFLOP/s`);
        backend.free(q);
      } finally {
        dec.dispose();
      }
    }
    console.log(`\nDecode, b=${b}, s_q=1, h_kv=1, bf16, on ${backend.info.device} (median of ${reps}):`);
    console.log('  bytes = 2*(sum(seqlens)*h_kv*576 + b*s_q*h_q*(576+512)), FLOP = 2*s_q*sum(seqlens)*h_q*(576+512)');
    console.log(table(rows).replace(/^/gm, '  '));

    // One generation step: every sequence gains a token; pages are taken only where a page fills up.
    const before = kv.stats().pagesUsed;
    for (const [i, id] of ids.entries()) kv.append(id, fillNormal('bf16', seed * 1000 + i, new Uint16Array(576), lens[i] * 576));
    const next = kv.batch(ids);
    const dec = new MlaDecoder(backend, { hQ: heads[heads.length - 1], hKv: 1, dtype: 'bf16' });
    dec.plan(next.cacheSeqlens, next.blockTable);
    const q = backend.upload(fromArray('bf16', [b, 1, dec.hQ, 576], fillNormal('bf16', seed + 99, new Uint16Array(b * dec.hQ * 576))));
    const tStep = performance.now();
    await dec.run(q, kv.kCache);
    await backend.synchronize();
    console.log(`\nNext step: appended 1 token per sequence (pages ${before} -> ${kv.stats().pagesUsed}), seqlens ${Array.from(next.cacheSeqlens).join(', ')}, decoded h_q=${dec.hQ} in ${fmt(performance.now() - tStep)} ms`);
    dec.dispose();
    backend.free(q);

    if (nLayers > 0) {
      const r = await modelRun(backend, { layers: nLayers, batch: modelBatch, prompt, tokens, seed, check: samples > 0, progress: (m) => p.update(m) });
      p.done();
      const c = demoModelConfig;
      console.log(`\nModel run: ${r.layers} MLA layers (hidden ${c.hiddenSize}, ${c.numHeads} heads, q_lora_rank ${c.qLoraRank}, kv_lora_rank 512 + rope 64, YaRN), random weights, bf16 latent caches:`);
      console.log(`  prefill ${r.batch} x ${r.prompt} tokens: ${fmt(r.prefillMs)} ms; decode ${r.tokens} tokens: ${fmt(r.stepMs)} ms a step (median), `
        + `${fmt(r.tokensPerSec)} tokens/s over ${r.batch} sequences, ${Number.isFinite(r.kernelShare) ? `${(r.kernelShare * 100).toFixed(0)}% of it in the attention kernel` : 'the whole layer step on the device'}`);
      if (r.checked) {
        const ok = r.cosDiff < 2e-5;
        failed ||= !ok;
        console.log(`  layer 0 prefill (${r.checked} tokens) vs the float64 non-absorbed formula: cos diff ${r.cosDiff.toExponential(2)}${ok ? '' : ' FAILED'}`);
      }
    }

    console.log(`\n${cacheComparison()}`);
    console.log(`This batch's ${total} tokens: MLA ${bytes(total * 1152 * 61)} in all 61 V3 layers vs MHA ${bytes(total * 65536 * 61)}.`);
    console.log(`\ndone in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    if (failed) {
      process.exitCode = 1;
      console.error('flashmla: error: the decode did not match the float64 reference');
    }
  } finally {
    kv.dispose();
    backend.dispose();
  }
}

/** Keys of one sequence in order, [seqlen, 576], from a host copy of the pool. */
function gatherKeys(cache: Uint16Array, pages: number[], seqlen: number, page: number): Uint16Array {
  const keys = new Uint16Array(seqlen * 576);
  for (let t = 0; t < seqlen; t++) {
    const row = (pages[Math.floor(t / page)] * page + (t % page)) * 576;
    keys.set(cache.subarray(row, row + 576), t * 576);
  }
  return keys;
}
