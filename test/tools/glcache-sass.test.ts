// scripts/webgpu-tools/glcache-sass.py (session 24): the NVIDIA driver's shader disk cache read back. Built here from
// the layout its header documents: a .toc / .bin pair with an NVuc object stored raw and one RLE-packed (and one zstd
// frame where a zstd binary is on PATH), each with a register section (type 3) and a code section (type 1). Checked:
// every object is found and unpacked, the register count is read, the code section is written out (nvdisasm, absent
// here, is named as missing), and a table whose sizes disagree is refused.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const tool = join(import.meta.dirname, '..', '..', 'scripts', 'webgpu-tools', 'glcache-sass.py');
const hasPython = spawnSync('python3', ['--version']).status === 0;
const hasZstd = spawnSync('zstd', ['--version']).status === 0;

/** An NVuc object as driver 580 writes it ('NVDA' 'NVVM' first): a register section (255) and a code section. */
function nvuc(code: Uint8Array, regs: number): Uint8Array {
  const head = new Uint8Array(32 + 2 * 32);
  const dv = new DataView(head.buffer);
  head.set(new TextEncoder().encode('NVuc'));
  dv.setUint32(8, 2, true);
  const regsAt = head.length, codeAt = regsAt + 8;
  const sec = (i: number, type: number, len: number, off: number) => { dv.setUint32(32 + 32 * i, type, true); dv.setUint32(36 + 32 * i, len, true); dv.setUint32(40 + 32 * i, off, true); };
  sec(0, 3, 8, regsAt);
  sec(1, 1, code.length, codeAt);
  const body = new Uint8Array(codeAt + code.length);
  body.set(head);
  new DataView(body.buffer).setUint32(regsAt, regs, true);
  body.set(code, codeAt);
  return new Uint8Array([...new TextEncoder().encode('NVDANVVM'), ...body]);
}

/** The driver's byte RLE of data: literal runs only (control byte = length, type 0). */
function rle(data: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < data.length; i += 63) { const n = Math.min(63, data.length - i); out.push(n, ...data.subarray(i, i + n)); }
  return new Uint8Array(out);
}

function cacheFiles(dir: string, entries: { packed: Uint8Array; unpacked: number; size?: number }[]): void {
  const bin: number[] = [...new TextEncoder().encode('CDVN'), ...new Array(28).fill(0)];
  const toc: number[] = [...new TextEncoder().encode('CDVN'), ...new Array(28).fill(0)];
  for (const e of entries) {
    const off = bin.length, size = e.size ?? e.packed.length + 4;
    const hdr = new DataView(new ArrayBuffer(36));
    hdr.setUint32(0, 0x9846a19d, true); hdr.setUint32(28, size, true); hdr.setUint32(32, e.unpacked, true);
    bin.push(...new Uint8Array(hdr.buffer), ...e.packed);
    const ent = new DataView(new ArrayBuffer(24));
    ent.setUint32(16, off, true); ent.setUint32(20, e.packed.length + 4, true);
    toc.push(...new Uint8Array(ent.buffer));
  }
  writeFileSync(join(dir, 'x.toc'), new Uint8Array(toc));
  writeFileSync(join(dir, 'x.bin'), new Uint8Array(bin));
}

test('glcache-sass.py reads the objects of a shader disk cache', { skip: hasPython ? false : 'no python3' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'glcache-'));
  const code = new Uint8Array(96).map((_, i) => (i * 37) & 255);
  const raw = nvuc(code, 255), packed = nvuc(code, 238);
  const entries = [{ packed: raw, unpacked: raw.length }, { packed: rle(packed), unpacked: packed.length }, { packed: raw, unpacked: raw.length, size: 7 }];
  if (hasZstd) {
    const z = execFileSync('zstd', ['-c', '-q'], { input: nvuc(code, 128) });
    entries.push({ packed: new Uint8Array(z), unpacked: nvuc(code, 128).length });
  }
  cacheFiles(dir, entries);
  const out = join(dir, 'out');
  const text = execFileSync('python3', [tool, dir, out], { encoding: 'utf8', env: { ...process.env, PATH: `/nonexistent:${process.env.PATH}`.replace(/[^:]*cuda[^:]*:?/g, '') } });
  assert.match(text, /obj00 .*x\.toc#0: raw, \d+ B NVuc, 2 sections, registers \(section 3\) \[255\]/);
  assert.match(text, /obj01 .*x\.toc#1: rle\?, \d+ B NVuc, 2 sections, registers \(section 3\) \[238\]/);
  assert.match(text, /x\.toc entry 2: unexpected header 0x9846a19d size 7/);
  if (hasZstd) assert.match(text, /obj02 .*x\.toc#3: zstd, \d+ B NVuc, 2 sections, registers \(section 3\) \[128\]/);
  assert.deepEqual(new Uint8Array(readFileSync(join(out, 'obj00.s1_0001.bin'))), code);
  assert.deepEqual(new Uint8Array(readFileSync(join(out, 'obj01.s1_0001.bin'))), code);
  assert.ok(readdirSync(out).includes('obj00.nvuc'));
});
