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

test('MLA_RACECHECK_STRICT: sparse_sm90.cu hands stages back per warp; build-kernels passes and records --define', () => {
  const sparse = readFileSync(join(kernels, 'sparse_sm90.cu'), 'utf8');
  assert.match(sparse, /#ifdef MLA_RACECHECK_STRICT\nconstexpr bool kWarpRelease = true;[^\n]*\n#else\nconstexpr bool kWarpRelease = MLA_SPARSE_SM90_MODE & 4096;\n#endif/);
  const build = readFileSync(fileURLToPath(new URL('../../scripts/build-kernels.mjs', import.meta.url)), 'utf8');
  assert.match(build, /a === '--define' && args\[i \+ 1\] \? \[`-D\$\{args\[i \+ 1\]\}`\]/);
  assert.match(build, /const argv = \[\.\.\.flags, \.\.\.defines,/);
  assert.match(build, /flags: \[\.\.\.flags, \.\.\.defines\]/);
});

// decode_sm90.cu and dense_fp8_sm90.cu, compiled to PTX (sm_90a, ~4 s each) with and without the define: the
// verification build evens the consumer warpgroups' barrier passes with votes (bar.red.popc) before each merge, the
// shipped build has no such vote, and both builds define the same kernels. (Dense FP8's every-lane slot hand-back in
// the verification build is a count in a register operand, not checked here; the GPU host's racecheck-verify step
// checks what both changes are for.)
test('MLA_RACECHECK_STRICT: the <= 32-row and dense FP8 kernels even their barrier passes by votes, only under the define', { skip: nvcc ? false : 'no nvcc here' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'flashmla-strict-'));
  try {
    const ptx = (src: string, defines: string[]) => {
      const out = join(dir, `${src}${defines.length}.ptx`);
      const r = spawnSync(nvcc!, ['-std=c++17', '-O3', '-ptx', '-arch=compute_90a', ...defines, '-o', out, join(kernels, src)], { encoding: 'utf8', cwd: kernels });
      assert.equal(r.status, 0, r.stderr.slice(0, 600));
      return readFileSync(out, 'utf8');
    };
    const entries = (t: string) => [...t.matchAll(/^\.visible \.entry (\w+)\(/gm)].map((m) => m[1]).sort();
    for (const src of ['decode_sm90.cu', 'dense_fp8_sm90.cu']) {
      const shipped = ptx(src, []), strict = ptx(src, ['-DMLA_RACECHECK_STRICT']);
      assert.ok(entries(shipped).length > 0, src);
      assert.deepEqual(entries(strict), entries(shipped), src);
      assert.doesNotMatch(shipped, /bar\.red\.popc/, src);
      assert.match(strict, /bar\.red\.popc\.u32/, src);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('decode_sm90.cu: the lazy vote\'s exact path syncs on a per-warpgroup mbarrier, so named-barrier passes agree (session 30)', () => {
  const src = readFileSync(join(kernels, 'decode_sm90.cu'), 'utf8');
  // two mbarriers of 128 arrivals past Q's, one per consumer warpgroup, in the layout's 32 bytes after the ring's barriers
  assert.match(src, /if constexpr \(CW == 2\) \{ mbarInit\(fullBar \+ 16 \* S \+ 8, 128\); mbarInit\(fullBar \+ 16 \* S \+ 16, 128\); \}/);
  assert.match(src, /const uint32_t exBar = fullBar \+ 16 \* S \+ 8 \+ 8 \* wg;/);
  assert.match(src, /static constexpr int SMEM = BAR_OFF \+ 16 \* SLOTS \+ 32 \+ 1024;/);
  // the failed vote: the maxima into red, then the warpgroup meets on exBar (not groupSync: a named-barrier pass)
  const exact = src.slice(src.indexOf('if (!groupAll(wg, fits)) {'), src.indexOf('mRow[i][b] = mNew;'));
  assert.match(exact, /red\[warp \* NR \+ 8 \* i \+ 2 \* tq \+ b\] = x;\s*\}\s*mbarArrive\(exBar\);[^\n]*\n\s*mbarWait\(exBar, exPh\);\s*exPh \^= 1;/);
  assert.doesNotMatch(exact, /groupSync\(wg\)/);
  // the item end's evening of an odd tile count stays (each tile: the vote and P^T's sync, two passes)
  assert.match(src, /if \(CW == 2 && wg == 1 && \(itm\.nTiles & 1\)\) \{ groupSync\(wg\); groupSync\(wg\); \}/);
  // racecheck_probe.cu's mode 17: mode 16's unequal syncs on mbarriers
  const probe = readFileSync(fileURLToPath(new URL('../../bench/cuda/hopper/racecheck_probe.cu', import.meta.url)), 'utf8');
  assert.match(probe, /case 17: k<17><<<132, 384>>>\(d\); break;/);
});

test('dense_fp8_sm90.cu: the exact path syncs on a per-warpgroup mbarrier, short warpgroups pass for their missing tile, every lane hands a slot back (session 31)', () => {
  const src = readFileSync(join(kernels, 'dense_fp8_sm90.cu'), 'utf8');
  // one mbarrier of 128 arrivals per consumer warpgroup (two or three), in the layout past the score factor
  assert.match(src, /for \(int w = 0; w < NC; \+\+w\) mbarInit\(base \+ L::EX_OFF \+ 8 \* w, 128\);/);
  assert.match(src, /const uint32_t exBar = base \+ L::EX_OFF \+ 8 \* wg;/);
  assert.match(src, /static constexpr int SMEM = EX_OFF \+ 8 \* NCW \+ 1024;/);
  // the failed lazy vote: the four warps' maxima into red, then the warpgroup meets on exBar, not on its named barrier
  const exact = src.slice(src.indexOf('if (groupAny(wg, grow)) {'), src.indexOf('} else {', src.indexOf('if (groupAny(wg, grow)) {')));
  assert.match(exact, /publishMax\(i, b, [^\n]*\n\s*mbarArrive\(exBar\);[^\n]*\n\s*mbarWait\(exBar, exPh\);\s*exPh \^= 1;/);
  assert.doesNotMatch(exact, /groupSync\(wg\)/);
  // a warpgroup that ran fewer of the item's tiles than warpgroup 0 passes its barrier kTilePasses times for the missing one
  assert.match(src, /constexpr int kTilePasses = \(MLA_DFP8_PROBE & 2\) \? 1 : MLA_DFP8_SCAN \? 2 : 3;/);
  assert.match(src, /for \(int k = kc, k0 = \(itm\.nTiles \+ NC - 1\) \/ NC; k < k0; \+\+k\)\n#pragma unroll\n\s*for \(int q = 0; q < kTilePasses; \+\+q\) groupSync\(wg\);/);
  // every lane arrives on a raw slot's empty barrier (and the screening warps on the check barrier); lane 0 only under a
  // measurement switch
  assert.match(src, /#ifdef MLA_DFP8_LANE0_RELEASE\n[^\n]*kEmptyArrivals = 4, kCheckArrivals = 3;[\s\S]*?#else\n[^\n]*kEmptyArrivals = 128, kCheckArrivals = 96;\n__device__ __forceinline__ void releaseSlot\(uint32_t bar, int\) \{ mbarArrive\(bar\); \}\n#endif/);
});
