// bench/cuda/hopper/ncu_sass_segments.py (session 34): ncu's SASS source page read by segments of equal execution count.
// A small page in ncu's CSV shape (a kernel-name line, the header, one row a SASS line; gzipped too) with a hot loop,
// a cold straight-line stretch, a never-executed block between two cold blocks: the segments must split exactly where
// the execution count changes, sum their samples and no_instructions, name their instruction kinds, and the per-class
// and per-range stall sums must add up.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';

const tool = join(import.meta.dirname, '..', '..', 'bench', 'cuda', 'hopper', 'ncu_sass_segments.py');
const hasPython = spawnSync('python3', ['--version']).status === 0;

/** Lines: [source, executed, samples, no_inst, barrier]. */
function page(lines: [string, number, number, number, number][]): string {
  const hdr = ['Address', 'Source', '# Samples', 'Instructions Executed', 'stall_barrier', 'stall_no_inst', 'stall_barrier (Not Issued)'];
  const q = (v: string | number) => `"${v}"`;
  const rows = lines.map(([src, ex, s, ni, b], i) => [`0x${(16 * i).toString(16)}`, `      ${src}`, s, ex, b, ni, 0].map(q).join(','));
  return [`"Kernel Name","k",`, hdr.map(q).join(','), ...rows].join('\n') + '\n';
}

test('ncu_sass_segments.py: segments by execution count, their samples, kinds and the stall sums', { skip: hasPython ? false : 'no python3' }, () => {
  const lines: [string, number, number, number, number][] = [
    ['LDC R1, c[0x0][0x28]', 1584, 5, 4, 0],
    ['HGMMA.64x32x16.F32.BF16 R24, gdesc[UR4], RZ', 8192, 30, 0, 1],
    ['SYNCS.PHASECHK.TRANS64.TRYWAIT P0, [UR8], R3', 8192, 40, 0, 2],
    ['@P0 BRA 0x40', 8192, 2, 0, 0],
    ['SHFL.IDX PT, R5, R4, R2, 0x1f', 1024, 3, 1, 0],
    ['STG.E.U16 desc[UR6][R8.64], R9', 1024, 4, 2, 0],
    ['STG.E desc[UR6][R10.64], R11', 0, 0, 0, 0],
    ['STG.E desc[UR6][R12.64], R13', 0, 0, 0, 0],
    ['MUFU.RCP R14, R15', 1024, 6, 5, 3],
    ['EXIT', 1584, 1, 0, 0],
  ];
  const dir = mkdtempSync(join(tmpdir(), 'flashmla-sass-'));
  try {
    writeFileSync(join(dir, 'p.csv'), page(lines));
    writeFileSync(join(dir, 'p.csv.gz'), gzipSync(page(lines)));
    const run = (f: string) => execFileSync('python3', [tool, join(dir, f), '--min-samples', '0', '--min-lines', '1', '--warm', '4096', '--range', '4-8'], { encoding: 'utf8' });
    const out = run('p.csv');
    assert.equal(run('p.csv.gz'), out);
    const segs = out.split('\n').filter((l) => /^\s*\d+-\s*\d+ /.test(l)).map((l) => l.trim().replace(/\s+/g, ' '));
    assert.deepEqual(segs.map((l) => l.split(' n=')[0]), ['0- 0', '1- 3', '4- 5', '6- 7', '8- 8', '9- 9'], out);
    const seg = (first: number) => segs.find((l) => l.startsWith(`${first}-`))!;
    assert.match(seg(1), /n= 3 exec= 8192 samples= 72 noinst= 0 /);
    assert.match(seg(1), /HGMMA\.64x32x16\.F32\.BF16:1/);
    assert.match(seg(1), /BRA:1/);
    assert.match(seg(4), /n= 2 exec= 1024 samples= 7 noinst= 3 /);
    assert.match(seg(4), /SHFL\.IDX:1 STG\.E\.U16:1/);
    assert.match(seg(6), /n= 2 exec= 0 samples= 0 noinst= 0 STG\.E:2/);
    assert.match(out, /^all: no_inst 12, barrier 6$/m);
    assert.match(out, /^ {2}hot: 3 lines, 72 samples: barrier 3, no_inst 0$/m); // >= 30 % of the most executed line
    assert.match(out, /^ {2}cold: 5 lines, 19 samples: no_inst 12, barrier 3$/m);
    assert.match(out, /^ {2}never: 2 lines, 0 samples/m);
    assert.match(out, /^lines 4-8: no_inst 8, barrier 3$/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
