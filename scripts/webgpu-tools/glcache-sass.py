#!/usr/bin/env python3
"""The NVIDIA driver's SASS of a WebGPU (Vulkan) pipeline, read from the driver's shader disk cache.

Session 13's cache-sass.py looked for ELF images in the VkPipelineCache data and found none: the NVIDIA driver keeps
its objects compressed there and in its disk cache. The disk cache (a folder given by __GL_SHADER_DISK_CACHE_PATH)
holds pairs FILE.toc / FILE.bin. The layout, as the public notes of therontarigo/nvcachetools (format.txt) describe
it (this is an independent reader of that description, not its code):
  .toc: a 32-byte header ("CDVN"), then 24-byte entries whose words 4 and 5 are the entry's offset in the .bin and
        its section size;
  .bin: at that offset a 36-byte header (magic 0x9846A19D; word 7 the section size again, word 8 the unpacked size),
        then section size - 4 packed bytes: zstd (frame magic 28 b5 2f fd), the driver's byte RLE, or raw.
An unpacked object that starts with "NVuc" (driver 580: "NVDANVVMNVuc", eight bytes before it) holds sections: word 2's low 16
bits count them, and from word 8 on each takes 8 words (type, length, offset, ...). Read on the H200 (driver 580): type 1 is
the code, which nvdisasm reads with `--binary SM90a`; type 3's first word is the register count (255 / 252 / 195 /
128 for v5, tile16, the f32 and the f16 kernels: the counts the driver's pipeline statistics gave in session 13).

  python3 glcache-sass.py CACHE_DIR OUT_DIR      (zstd from $ZSTD or PATH; nvdisasm from PATH)

For each object: OUT_DIR/objNN.nvuc, each section's bytes, and where nvdisasm reads a section as SASS, its text
(objNN.sK.sass) and one summary line: instructions, registers (the highest R index + 1), and the classes issue #13
asks about (barriers, global / shared / local memory, matrix loads and products, shuffles, conversions).
"""
import os, re, struct, subprocess, sys

ZSTD = os.environ.get('ZSTD', 'zstd')


def run(cmd, data=None):
    try:
        return subprocess.run(cmd, input=data, capture_output=True)
    except FileNotFoundError:
        return subprocess.CompletedProcess(cmd, 127, b'', f'{cmd[0]}: not found'.encode())


def unrle(src, want):
    """The driver's byte RLE: a control byte (two type bits, six length bits) then literal bytes (type 0), one byte
    repeated (type 1), 0xff (type 2) or 0x00 (type 3)."""
    out = bytearray()
    i = 0
    while i < len(src):
        c = src[i]; i += 1
        n, t = c & 0x3F, c >> 6
        if n == 0:
            return None
        if t == 0:
            out += src[i:i + n]; i += n
        elif t == 1:
            out += bytes([src[i]]) * n; i += 1
        else:
            out += (b'\xff' if t == 2 else b'\x00') * n
    return bytes(out) if len(out) == want else None


def unpack(packed, want):
    if packed[:4] == b'\x28\xb5\x2f\xfd':
        r = run([ZSTD, '-d', '-c', '-q'], packed)
        return ('zstd', r.stdout) if r.returncode == 0 and len(r.stdout) == want else ('zstd-failed', None)
    if len(packed) == want:
        return 'raw', packed
    if packed[:5] == b'\x05NVuc':
        u = unrle(packed, want)
        return ('rle', u) if u else ('rle-failed', None)
    u = unrle(packed, want)
    return ('rle?', u) if u else ('unknown', None)


def objects(cache_dir):
    """Every unpacked object of every .toc / .bin pair under cache_dir, and zstd frames in any other file (a
    VkPipelineCache dump)."""
    for root, _, files in os.walk(cache_dir):
        for f in sorted(files):
            p = os.path.join(root, f)
            if f.endswith('.toc') and os.path.exists(p[:-4] + '.bin'):
                toc, bin_ = open(p, 'rb').read(), open(p[:-4] + '.bin', 'rb').read()
                if toc[:4] != b'CDVN' or (len(toc) - 32) % 24:
                    print(f'{p}: not a cache table ({len(toc)} B, head {toc[:4]!r})')
                    continue
                for e in range((len(toc) - 32) // 24):
                    off, size = struct.unpack_from('<II', toc, 32 + 24 * e + 16)
                    hdr = struct.unpack_from('<9I', bin_, off)
                    if hdr[0] != 0x9846A19D or hdr[7] != size:
                        print(f'{p} entry {e}: unexpected header {hdr[0]:#x} size {hdr[7]} / {size}')
                        continue
                    how, obj = unpack(bin_[off + 36: off + 36 + size - 4], hdr[8])
                    yield f'{p}#{e}', how, obj
            elif not f.endswith('.bin'):
                data = open(p, 'rb').read()
                for m in re.finditer(rb'\x28\xb5\x2f\xfd', data):
                    r = run([ZSTD, '-d', '-c', '-q'], data[m.start():])
                    if r.stdout:
                        yield f'{p}@{m.start()}', 'zstd-scan', r.stdout


CLASSES = [('HMMA', r'^HMMA'), ('LDSM', r'^LDSM'), ('LDS', r'^LDS(\.|$)'), ('STS', r'^STS'), ('LDG', r'^LDG'), ('STG', r'^STG'),
           ('LDL', r'^LDL'), ('STL', r'^STL'), ('BAR', r'^BAR'), ('ATOMS', r'^ATOMS'), ('SHFL', r'^SHFL'), ('MUFU', r'^MUFU'),
           ('F2F', r'^F2F(\.|$)'), ('F2FP', r'^F2FP'), ('I2F', r'^I2F'), ('BRA', r'^BRA'), ('DEPBAR', r'^DEPBAR'),
           ('LDC', r'^LDC'), ('ULDC', r'^ULDC'), ('MOVM', r'^MOVM'), ('PRMT', r'^PRMT'), ('BSSY', r'^BSSY'), ('WARPSYNC', r'^WARPSYNC'),
           ('VOTE', r'^VOTE'), ('MEMBAR', r'^MEMBAR'), ('FFMA', r'^FFMA'), ('IMAD', r'^IMAD'), ('ISETP', r'^ISETP')]


def summarise(sass):
    ops, regs = [], -1
    for line in sass.split('\n'):
        m = re.match(r'\s*/\*[0-9a-f]{4,}\*/\s+(@!?U?P\w+\s+)?([A-Z][A-Z0-9_.]*)(.*?);', line)
        if not m:
            continue
        ops.append(m.group(2))
        for r in re.findall(r'\bR(\d+)\b', m.group(3)):
            regs = max(regs, int(r))
    counts = {k: sum(1 for o in ops if re.match(p, o)) for k, p in CLASSES}
    return len(ops), regs + 1, counts


def main(cache_dir, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    n = 0
    for where, how, obj in objects(cache_dir):
        tag = f'obj{n:02d}'; n += 1
        if obj is None:
            print(f'{tag} {where}: {how}, not unpacked')
            continue
        at = obj.find(b'NVuc', 0, 16)  # driver 580 prefixes 'NVDA' 'NVVM'
        body = obj[at:] if at >= 0 else obj
        open(os.path.join(out_dir, f'{tag}.nvuc'), 'wb').write(body)
        if body[:4] != b'NVuc':
            print(f'{tag} {where}: {how}, {len(obj)} B, not NVuc (head {obj[:16].hex()})')
            continue
        nsec = struct.unpack_from('<I', body, 8)[0] & 0xFFFF
        table = [struct.unpack_from('<III', body, 32 + 32 * s) for s in range(nsec)]
        regs = [struct.unpack_from('<I', body, off)[0] for typ, length, off in table if typ == 3 and length >= 4]
        print(f'{tag} {where}: {how}, {len(body)} B NVuc, {nsec} sections, registers (section 3) {regs}')
        whole = run(['nvdisasm', os.path.join(out_dir, f'{tag}.nvuc')])
        if whole.returncode == 0 and whole.stdout.strip():
            open(os.path.join(out_dir, f'{tag}.sass'), 'wb').write(whole.stdout)
        for s, (typ, length, off) in enumerate(table):
            if typ != 1 or off + length > len(body) or length == 0:  # type 1: the code
                continue
            sec = os.path.join(out_dir, f'{tag}.s{s}_{typ:04x}.bin')
            open(sec, 'wb').write(body[off:off + length])
            for arch in ('SM90a', 'SM90'):
                r = run(['nvdisasm', '--binary', arch, sec])
                if r.returncode == 0 and r.stdout.count(b'\n') > 16:
                    text = r.stdout.decode(errors='replace')
                    open(f'{sec[:-4]}.sass', 'w').write(text)
                    count, regs, cl = summarise(text)
                    print(f'  section {s} type {typ:#06x} {length} B ({arch}): {count} instructions, R0..R{regs - 1} used; '
                          + ' '.join(f'{k} {v}' for k, v in cl.items() if v))
                    break
            else:
                print(f'  section {s} type {typ:#06x} {length} B: not SASS to nvdisasm ({(r.stderr or b"").decode(errors="replace").strip()[:120]})')
    print(f'{n} object(s) under {cache_dir}')


if __name__ == '__main__':
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
