// The KV-cache planner: bytes per token from the published shapes, capacity arithmetic, the DeepSeek-V2 paper's
// 93.3%, and the flashmla plan command.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { flashmlaCli } from '../support/cli.js';
import { FlashMlaError } from '../../src/core/errors.js';
import {
  type AttentionShape, bytesPerTokenPerLayer, compareKvCache, deepseekV2Claim, namedShapes, parseBytes, parseCacheFormat, planKvCache, shapeByName,
} from '../../src/core/memory-plan.js';


describe('KV-cache planner', () => {
  it('counts bytes per token per layer for MHA, GQA and MLA', () => {
    // 67B: 8 KV heads x (128 K + 128 V) x 2 B
    assert.equal(bytesPerTokenPerLayer(shapeByName('deepseek-67b'), 'bf16'), 4096);
    assert.equal(bytesPerTokenPerLayer(shapeByName('deepseek-7b'), 'bf16'), 32 * 256 * 2);
    assert.equal(bytesPerTokenPerLayer(shapeByName('deepseek-v3'), 'bf16'), 1152);
    assert.equal(bytesPerTokenPerLayer(shapeByName('deepseek-v3'), 'fp8'), 576);
    assert.equal(bytesPerTokenPerLayer(shapeByName('deepseek-v3'), { bits: 6 }), 432);
    assert.equal(bytesPerTokenPerLayer(shapeByName('deepseek-v3.2'), 'fp8-v32'), 656);
    assert.equal(bytesPerTokenPerLayer(shapeByName('deepseek-v4'), 'fp8-v4'), 584);
    assert.equal(planKvCache(shapeByName('deepseek-v3')).bytesPerToken, 70272);
    assert.equal(planKvCache(shapeByName('deepseek-v2-lite')).bytesPerToken, 27 * 1152);
    const gqa: AttentionShape = { name: 'g', kind: 'gqa', layers: 2, qHeads: 8, kvHeads: 2, headDim: 64, vHeadDim: 32, defaultFormat: 'f16', source: 't' };
    assert.equal(planKvCache(gqa).bytesPerToken, 2 * 2 * (64 + 32) * 2);
  });

  it('computes capacity in whole pages, tokens and sequences', () => {
    const s = shapeByName('deepseek-v3');
    const p = planKvCache(s, { budgetBytes: 80 * 2 ** 30, contextLength: 4000, pageBlockSize: 64 });
    const pages = Math.floor((80 * 2 ** 30) / (64 * 70272));
    assert.equal(p.capacityTokens, pages * 64);
    assert.equal(p.bytesPerSequence, 63 * 64 * 70272); // 4000 tokens take 63 pages
    assert.equal(p.capacitySequences, Math.floor(pages / 63));
    const one = planKvCache(s, { budgetBytes: 64 * 70272 - 1, contextLength: 1 });
    assert.equal(one.capacityTokens, 0);
    assert.equal(one.capacitySequences, 0);
    assert.equal(planKvCache(s, { budgetBytes: 64 * 70272, contextLength: 1, pageBlockSize: 1 }).capacitySequences, 64);
    assert.equal(planKvCache(s, { layers: 1 }).bytesPerToken, 1152);
  });

  it('reproduces the DeepSeek-V2 paper\'s 93.3% from its assumptions and no more', () => {
    const steps = deepseekV2Claim();
    assert.equal(steps[0].baseBytesPerToken, 95 * 8 * 128 * 2 * 2);
    assert.equal(steps[0].v2BytesPerToken, 576 * 60 * 6 / 8);
    assert.equal((steps[0].reduction * 100).toFixed(1), '93.3');
    assert.equal((steps[1].reduction * 100).toFixed(1), '82.2'); // both bf16
    for (const s of steps) assert.ok(Math.abs(s.capacityRatio - 1 / (1 - s.reduction)) < 1e-9);
    const c = compareKvCache(shapeByName('deepseek-v2'), shapeByName('deepseek-67b'), { formatA: { bits: 6 } });
    assert.ok(Math.abs(c.reduction - steps[0].reduction) < 1e-12);
  });

  it('rejects formats and shapes that do not fit, naming the argument', () => {
    const bad = (f: () => unknown, arg: RegExp) => assert.throws(f, (e: unknown) => e instanceof FlashMlaError && arg.test(e.argument ?? ''));
    bad(() => bytesPerTokenPerLayer(shapeByName('deepseek-67b'), 'fp8-v32'), /^format$/);
    bad(() => bytesPerTokenPerLayer(shapeByName('deepseek-v3'), 'fp8-v4'), /^format$/);
    bad(() => shapeByName('llama'), /^model$/);
    bad(() => parseCacheFormat('fp7'), /^format$/);
    bad(() => planKvCache({ ...namedShapes['deepseek-67b'], kvHeads: 7 }), /qHeads/);
    bad(() => planKvCache(namedShapes['deepseek-v3'], { contextLength: 0 }), /^contextLength$/);
    bad(() => parseBytes('lots'), /^memory$/);
    assert.deepEqual(parseCacheFormat('6bit'), { bits: 6 });
    assert.deepEqual(parseCacheFormat('4.5'), { bits: 4.5 });
    assert.equal(parseBytes('80GiB'), 80 * 2 ** 30);
    assert.equal(parseBytes('141GB'), 141e9);
    assert.equal(parseBytes('4096'), 4096);
  });

  it('flashmla plan --model deepseek-v2 --compare deepseek-67b prints the reproduction, not the 5.76x', () => {
    const r = flashmlaCli(['plan', '--model', 'deepseek-v2', '--compare', 'deepseek-67b']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /the paper: V2 cache at ~6 bits\/element, 67B at bf16\s+25920\s+389120\s+93\.3%\s+15\.01x/);
    assert.match(r.stdout, /5\.76x generation throughput is a serving measurement/);
    assert.doesNotMatch(r.stdout, /throughput (is|of) 5\.76/);
    const j = flashmlaCli(['plan', '--model', 'custom', '--kind', 'gqa', '--heads', '32', '--kv-heads', '8', '--layers', '32', '--format', '4bit', '--memory', '1GiB', '--json']);
    assert.equal(j.code, 0, j.stderr);
    const plan = JSON.parse(j.stdout).plan;
    assert.equal(plan.bytesPerToken, 32 * 8 * 256 / 2);
    assert.equal(plan.capacityTokens, 2 ** 30 / 32768);
    const bad = flashmlaCli(['plan', '--model', 'deepseek-67b', '--format', 'fp8-v32']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^flashmla plan: --format: /);
  });
});
