// The constants module is the one home of the model constants and the metadata layout: the generated CUDA header
// and the WGSL declarations must carry the same values, and the scheduler must write the fields where Meta says.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Meta, constantsHeader, dQk, dV, metadataFields, metadataWgsl } from '../../src/core/constants.js';
import { planSchedule } from '../../src/core/scheduler.js';

test('params.h carries constantsHeader() and every Meta field', () => {
  const header = readFileSync(new URL('../../src/backends/cuda/kernels/params.h', import.meta.url), 'utf8');
  assert.ok(header.includes(constantsHeader()), 'params.h lacks the constants block: regenerate it (npm run build)');
  assert.match(header, new RegExp(`constexpr int kDQk = ${dQk};`));
  assert.match(header, new RegExp(`constexpr int kDV = ${dV};`));
  for (const [k, v] of Object.entries(Meta)) assert.match(header, new RegExp(`constexpr int kMeta${k} = ${v};`));
});

test('metadataWgsl declares every field once with its index', () => {
  const wgsl = metadataWgsl();
  assert.match(wgsl, new RegExp(`const META_FIELDS: u32 = ${metadataFields}u;`));
  for (const [k, v] of [['BEGIN_IDX', Meta.BeginIdx], ['BEGIN_SEQLEN', Meta.BeginSeqlen], ['END_IDX', Meta.EndIdx], ['END_SEQLEN', Meta.EndSeqlen], ['BEGIN_NSPLIT_IDX', Meta.BeginNSplitIdx]] as const) {
    assert.match(wgsl, new RegExp(`const META_${k}: u32 = ${v}u;`));
  }
  assert.equal(wgsl.split('\n').length, 1 + Object.keys(Meta).length);
});

test('the scheduler writes the fields where Meta says (random batches)', () => {
  let s = 12345;
  const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (let trial = 0; trial < 50; trial++) {
    const b = 1 + Math.floor(rnd() * 9), parts = 1 + Math.floor(rnd() * 12);
    const seqlens = Int32Array.from({ length: b }, () => Math.floor(rnd() * 3000));
    const { tileSchedulerMetadata: m } = planSchedule(seqlens, parts);
    assert.equal(m.length, parts * metadataFields);
    // Every key of every sequence is covered once: walk the parts in order.
    const covered = new Float64Array(b);
    for (let p = 0; p < parts; p++) {
      const r = p * metadataFields;
      for (let i = m[r + Meta.BeginIdx]; i <= m[r + Meta.EndIdx]; i++) {
        const k0 = i === m[r + Meta.BeginIdx] ? m[r + Meta.BeginSeqlen] : 0;
        const k1 = i === m[r + Meta.EndIdx] ? m[r + Meta.EndSeqlen] : seqlens[i];
        assert.ok(k1 >= k0, `part ${p} sequence ${i}: [${k0}, ${k1})`);
        covered[i] += k1 - k0;
      }
      for (let f = 5; f < metadataFields; f++) assert.equal(m[r + f], 0);
    }
    assert.deepEqual(Array.from(covered), Array.from(seqlens));
  }
});
