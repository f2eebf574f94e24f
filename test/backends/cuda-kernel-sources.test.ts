// The .cu kernels read the scheduler metadata and the model dims through the constants params.h generates from
// src/core (kMeta*, kSparseMeta*, kDQk, kDV), never as raw numbers, so a layout change in TypeScript reaches
// them. Source checks only: the compiled code of the substitution was compared with scripts/compare-fatbins.py.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { test } from 'node:test';
import { SparseMeta, sparseBlockSizeTopk } from '../../src/core/sparse-scheduler.js';

const dir = new URL('../../src/backends/cuda/kernels/', import.meta.url);
const read = (f: string) => readFileSync(new URL(f, dir), 'utf8');
/** The source without comments (line and block), so a number in prose does not count. */
const code = (src: string) => src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
const kernels = readdirSync(dir).filter((f) => f.endsWith('.cu') || f.endsWith('.cuh'));

test('no kernel indexes tileSchedulerMetadata by a raw number', () => {
  assert.ok(kernels.length >= 7, `kernel sources found: ${kernels.join(', ')}`);
  for (const f of kernels) {
    const src = code(read(f));
    const lines = src.split('\n');
    lines.forEach((line, i) => {
      assert.doesNotMatch(line, /\bmeta\s*\[\s*\d/, `${f}:${i + 1}: metadata field by number: ${line.trim()}`);
      assert.doesNotMatch(line, /tileSchedulerMetadata\s*\+[^;]*\*\s*\d/, `${f}:${i + 1}: metadata row stride by number: ${line.trim()}`);
    });
  }
});

test('the dense kernels name the model dims (kDQk, kDV) instead of 576 / 512', () => {
  for (const f of ['decode.cu', 'decode_sm90.cu', 'decode_sm90_wide.cu', 'combine.cu', 'naive.cu', 'common.cuh']) {
    code(read(f)).split('\n').forEach((line, i) => {
      assert.doesNotMatch(line, /\b(576|512)\b/, `${f}:${i + 1}: ${line.trim()}`);
    });
  }
});

test('params.h carries the sparse metadata layout of core/sparse-scheduler.ts', () => {
  const header = read('params.h');
  const fields: [string, number][] = [
    ['BeginReqIdx', SparseMeta.BeginReqIdx], ['EndReqIdx', SparseMeta.EndReqIdx], ['BeginBlockIdx', SparseMeta.BeginBlockIdx],
    ['EndBlockIdx', SparseMeta.EndBlockIdx], ['BeginSplitIdx', SparseMeta.BeginSplitIdx],
  ];
  for (const [k, v] of fields) assert.match(header, new RegExp(`constexpr int kSparseMeta${k} = ${v};`));
  assert.match(header, new RegExp(`constexpr int kSparseBlockTopk = ${sparseBlockSizeTopk};`));
});
