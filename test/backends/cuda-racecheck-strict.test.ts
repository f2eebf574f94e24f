// The racecheck verification build (docs/notes/sanitizers.md): `MLA_RACECHECK_STRICT` turns every named-barrier arrive
// of the Hopper kernels into a sync and sparse_sm90.cu's stage hand-back into one per warp; scripts/build-kernels.mjs
// passes `--define` to nvcc and records it. Where nvcc is on the machine (CI has it) the helper header is compiled to
// PTX both ways, so the define is seen to change the instruction, not only the source text.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const kernels = fileURLToPath(new URL('../../src/backends/cuda/kernels/', import.meta.url));
const nvcc = ['nvcc', '/usr/local/cuda/bin/nvcc'].find((c) => spawnSync(c, ['--version']).status === 0);

test('MLA_RACECHECK_STRICT: namedArrive is a barrier.sync under the define, a barrier.arrive without it', { skip: nvcc ? false : 'no nvcc here' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'flashmla-strict-'));
  try {
    const src = join(dir, 'k.cu');
    writeFileSync(src, `#include <cuda_bf16.h>\n#include <cuda_fp16.h>\n#include "${join(kernels, 'hopper_ops.cuh')}"\n__global__ void k(int* p) { mla::hop::namedArrive(3, 256); p[threadIdx.x] = 1; }\n`);
    const ptx = (defines: string[]) => {
      const out = join(dir, `k${defines.length}.ptx`);
      const r = spawnSync(nvcc!, ['-std=c++17', '-ptx', '-arch=compute_90a', ...defines, '-o', out, src], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr.slice(0, 600));
      return readFileSync(out, 'utf8');
    };
    const shipped = ptx([]), strict = ptx(['-DMLA_RACECHECK_STRICT']);
    // (the id and count are "r" operands: registers in the PTX)
    assert.match(shipped, /\tbarrier\.arrive %r\d+, %r\d+;/);
    assert.doesNotMatch(shipped, /\tbarrier\.sync /);
    assert.match(strict, /\tbarrier\.sync %r\d+, %r\d+;/);
    assert.doesNotMatch(strict, /barrier\.arrive/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('MLA_RACECHECK_STRICT: sparse_sm90.cu hands stages back per warp, decode_sm90.cu evens its warpgroups\' barrier passes; build-kernels passes and records --define', () => {
  const sparse = readFileSync(join(kernels, 'sparse_sm90.cu'), 'utf8');
  assert.match(sparse, /#ifdef MLA_RACECHECK_STRICT\nconstexpr bool kWarpRelease = true;[^\n]*\n#else\nconstexpr bool kWarpRelease = MLA_SPARSE_SM90_MODE & 4096;\n#endif/);
  // decode_sm90.cu: the warpgroups' passes of their own barriers counted and evened before each merge, under the define only
  const narrow = readFileSync(join(kernels, 'decode_sm90.cu'), 'utf8');
  assert.equal(narrow.match(/#ifdef MLA_RACECHECK_STRICT/g)?.length, 2);
  assert.match(narrow, /auto groupSync = \[&\]\(int w\) \{ \+\+gsN; ::mla::sm90::groupSync\(w\); \};/);
  assert.match(narrow, /while \(gsN < other\) groupSync\(wg\);/);
  const build = readFileSync(fileURLToPath(new URL('../../scripts/build-kernels.mjs', import.meta.url)), 'utf8');
  assert.match(build, /a === '--define' && args\[i \+ 1\] \? \[`-D\$\{args\[i \+ 1\]\}`\]/);
  assert.match(build, /const argv = \[\.\.\.flags, \.\.\.defines,/);
  assert.match(build, /flags: \[\.\.\.flags, \.\.\.defines\]/);
});
