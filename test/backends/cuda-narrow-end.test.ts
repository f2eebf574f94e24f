// The <= 32-row Hopper kernel's item end (decode_sm90.cu, kNVarCEnd, session 34; docs/notes/cuda-hopper-decode.md): the
// library's two-warpgroup entries store their rows with short straight-line code, each row's scale and destination
// worked out by one lane and shuffled, each warpgroup's half of the slices selected before the row loop, the unsplit and
// split stores in two loops. Where nvcc is on the machine (CI has it) the kernel is compiled to PTX and the entries' shape
// is checked: per thread NR / 4 rows, 2 shuffles a row in each of the two loops, 8 two-byte stores a row of the unsplit
// loop (the warpgroup's 4 slices, two columns each), where the one-warpgroup entries (the previous loop, kept for the
// harness) have one loop with both paths and all 8 slices. Output bits are compared between builds on the GPU host
// (bench/cuda/hopper/dense-sm90-bitexact.ts), the speed there too (results/gpu-host/bench/hopper/s34/).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const kernels = fileURLToPath(new URL('../../src/backends/cuda/kernels/', import.meta.url));
const nvcc = ['nvcc', '/usr/local/cuda/bin/nvcc'].find((c) => spawnSync(c, ['--version']).status === 0);

test('the library entries take kNVarCEnd (bit 1024) with the bits shipped before it', () => {
  const src = readFileSync(join(kernels, 'decode_sm90.cu'), 'utf8');
  const lib = Number(/#define MLA_SM90_LIB_VAR (\d+)/.exec(src)?.[1]);
  assert.equal(Number(/constexpr int kNVarCEnd = 1 << (\d+);/.exec(src)?.[1]), 10);
  assert.equal(lib, 1 | 2 | 8 | 64 | 1024, 'QEarly | SplitOut | QTma | Lazy | CEnd');
});

test('PTX: the <= 32-row library entries store a row as straight-line code; the one-warpgroup entries keep the old loop', { skip: nvcc ? false : 'no nvcc here', timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'flashmla-nend-'));
  try {
    const out = join(dir, 'd.ptx');
    const r = spawnSync(nvcc!, ['-std=c++17', '-ptx', '-arch=compute_90a', '-o', out, join(kernels, 'decode_sm90.cu')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr.slice(0, 800));
    const entries = new Map<string, string>();
    for (const part of readFileSync(out, 'utf8').split(/\n\.visible \.entry /).slice(1)) entries.set(part.slice(0, part.indexOf('(')), part);
    const count = (name: string, re: RegExp) => {
      const body = entries.get(name);
      assert.ok(body, `${name} in the PTX`);
      return body.match(re)?.length ?? 0;
    };
    for (const nr of [16, 32]) {
      for (const entry of [`mla_decode_sm90_bf16_n${nr}`, `mla_decode_sm90_ld_f16_n${nr}`]) {
        // a thread's NR / 4 rows, two shuffles (scale, row index) a row in each loop; the role test's one shuffle
        assert.equal(count(entry, /shfl\.sync\.idx/g), nr + 1, `${entry}: row shuffles`);
        assert.equal(count(entry, /st\.global\.u16/g), 2 * nr, `${entry}: 2-byte stores (4 slices x 2 a row)`);
      }
      assert.equal(count(`mla_decode_sm90_1wg_bf16_n${nr}`, /shfl\.sync\.idx/g), 1);
      assert.equal(count(`mla_decode_sm90_1wg_bf16_n${nr}`, /st\.global\.u16/g), 4 * nr, 'the previous loop: 8 slices x 2 a row');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
