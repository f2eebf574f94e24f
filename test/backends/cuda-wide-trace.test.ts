// The wide Hopper kernel's measurement builds (docs/notes/cuda-hopper-decode.md, session 30): with MLA_SM90W_TRACE and
// MLA_SM90W_LIB_TRACE the library's entries carry the per-item stamps that bench/cuda/hopper/s30_trace.ts reads back
// through the driver (cuModuleGetGlobal of the mangled `mla::sm90w::mlaSm90wTrace`, kTraceWords words a CTA). Where
// nvcc is on the machine (CI has it) the kernel is compiled to PTX that way, so the tool's symbol name and stride are
// checked against what the compiler emits, and the session's measured variant bits (kVarBStLds, kVarBQPf) are seen to
// build; the default build is compared byte for byte on the GPU host (scripts/compare-fatbins.py).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const kernels = fileURLToPath(new URL('../../src/backends/cuda/kernels/', import.meta.url));
const tool = readFileSync(fileURLToPath(new URL('../../bench/cuda/hopper/s30_trace.ts', import.meta.url)), 'utf8');
const nvcc = ['nvcc', '/usr/local/cuda/bin/nvcc'].find((c) => spawnSync(c, ['--version']).status === 0);

test('s30_trace.ts reads the symbol and stride the kernel source declares', () => {
  const src = readFileSync(join(kernels, 'decode_sm90_wide.cu'), 'utf8');
  const words = Number(/constexpr int kTraceWords = (\d+);/.exec(src)?.[1]);
  const ctas = Number(/constexpr int kTraceCtas = (\d+);/.exec(src)?.[1]);
  assert.equal(Number(/const kTraceWords = (\d+);/.exec(tool)?.[1]), words);
  assert.ok(ctas >= 132, 'a trace covers one CTA an SM of the H200 at least');
  assert.match(tool, /'_ZN3mla5sm90w13mlaSm90wTraceE'/);
  assert.match(src, /#if defined\(MLA_SM90W_TRACE\) && defined\(MLA_SM90W_LIB_TRACE\)\nconstexpr int kLibVarE = kLibVar \| kVarTrace;\n#else\nconstexpr int kLibVarE = kLibVar;\n#endif/);
});

test('MLA_SM90W_TRACE + MLA_SM90W_LIB_TRACE: the trace array the tool reads; the session-30 variant bits build', { skip: nvcc ? false : 'no nvcc here', timeout: 180_000 }, () => {
  const src = readFileSync(join(kernels, 'decode_sm90_wide.cu'), 'utf8');
  const words = Number(/constexpr int kTraceWords = (\d+);/.exec(src)?.[1]);
  const ctas = Number(/constexpr int kTraceCtas = (\d+);/.exec(src)?.[1]);
  const dir = mkdtempSync(join(tmpdir(), 'flashmla-wtrace-'));
  try {
    const ptx = (defines: string[]) => {
      const out = join(dir, `k${defines.length}.ptx`);
      const r = spawnSync(nvcc!, ['-std=c++17', '-ptx', '-arch=compute_90a', ...defines, '-o', out, join(kernels, 'decode_sm90_wide.cu')], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr.slice(0, 800));
      return readFileSync(out, 'utf8');
    };
    const tr = ptx(['-DMLA_SM90W_TRACE', '-DMLA_SM90W_LIB_TRACE']);
    assert.match(tr, new RegExp(`\\.global \\.align 8 \\.b8 _ZN3mla5sm90w13mlaSm90wTraceE\\[${ctas * words * 8}\\];`));
    assert.match(tr, /\.entry mla_decode_sm90w_bf16\(/);
    // kVarBStLds | kVarBQPf on the library's bits (call 5's E2): its warp stores and Q's tensor prefetches are in the entry
    const e2 = ptx(['-DMLA_SM90W_LIB_VARB=74186848']);
    assert.match(e2, /cp\.async\.bulk\.prefetch\.tensor\.2d\.L2\.global\.tile/);
    assert.match(e2, /st\.global\.v4\.b32/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
