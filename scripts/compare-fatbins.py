#!/usr/bin/env python3
"""Compare the machine code of two CUDA kernel builds, without cuobjdump (which this repository's CI lacks).

    python3 scripts/compare-fatbins.py BEFORE AFTER

BEFORE and AFTER are two fatbins or two folders of them (dist/cuda of two builds: `node scripts/build-kernels.mjs
--out DIR`). A fatbin holds one entry a target: an ELF cubin per sm_XX, and the PTX (zstd-compressed by nvcc 13;
the `zstd` command decompresses it). Entries are matched by kind and architecture. An ELF's kernel code is its
.text.<kernel> sections: equal sections mean equal SASS even where other bytes differ. In PTX, the hash nvcc puts
in anonymous-namespace names (it depends on the source path) is masked. Exit status 0 when all code is the same.
"""
import os
import re
import struct
import subprocess
import sys

FATBIN_MAGIC = 0xBA55ED50
ZSTD_MAGIC = b'\x28\xb5\x2f\xfd'


def entries(path):
    """{'elf_sm90': bytes, 'ptx_sm80': bytes, ...} of one fatbin (PTX decompressed)."""
    data = open(path, 'rb').read()
    magic, _version, header, size = struct.unpack_from('<IHHQ', data, 0)
    if magic != FATBIN_MAGIC:
        raise SystemExit(f'{path}: not a fatbin (magic {magic:#x})')
    out, at, end = {}, header, header + size
    while at < end:
        kind, _, entry_header, payload_size = struct.unpack_from('<HHIQ', data, at)
        compressed_size = struct.unpack_from('<I', data, at + 16)[0]
        arch = struct.unpack_from('<I', data, at + 28)[0]
        payload = data[at + entry_header: at + entry_header + payload_size]
        if payload[:4] == ZSTD_MAGIC:
            payload = subprocess.run(['zstd', '-dc'], input=payload[:compressed_size], capture_output=True, check=True).stdout
        name = {1: 'ptx', 2: 'elf'}.get(kind, f'kind{kind}')
        out[f'{name}_sm{arch}'] = payload
        at += entry_header + payload_size
    return out


def elf_sections(elf):
    """{section name: bytes} of a 64-bit little-endian ELF (NOBITS sections empty)."""
    shoff = struct.unpack_from('<Q', elf, 0x28)[0]
    entsize, count, names_index = struct.unpack_from('<HHH', elf, 0x3A)
    headers = [struct.unpack_from('<IIQQQQIIQQ', elf, shoff + i * entsize) for i in range(count)]
    names_at = headers[names_index][4]

    def name(offset):
        start = names_at + offset
        return elf[start:elf.index(b'\0', start)].decode()
    return {name(h[0]): (b'' if h[1] == 8 else elf[h[4]:h[4] + h[5]]) for h in headers}


def compare(a_path, b_path):
    """Print one line an entry; True when every entry's code is the same."""
    a, b = entries(a_path), entries(b_path)
    same = True
    print(f'{os.path.basename(a_path)}:')
    for key in sorted(set(a) | set(b)):
        x, y = a.get(key), b.get(key)
        if x is None or y is None:
            print(f'  {key}: only in {"AFTER" if x is None else "BEFORE"}')
            same = False
        elif x == y:
            print(f'  {key}: identical ({len(x)} bytes)')
        elif key.startswith('elf'):
            sx, sy = elf_sections(x), elf_sections(y)
            code = sorted(s for s in set(sx) | set(sy) if s.startswith('.text.'))
            differ = [s for s in code if sx.get(s) != sy.get(s)]
            print(f'  {key}: bytes differ; kernel code: {len(code) - len(differ)} of {len(code)} .text sections identical')
            for s in differ[:10]:
                print(f'    differs: {s}')
            same = same and not differ
        else:
            mask = lambda t: re.sub(rb'(_INTERNAL_|__N__)[0-9a-f]{8}', rb'\1________', t)
            if mask(x) == mask(y):
                print(f'  {key}: identical but for anonymous-namespace hashes ({len(x)} bytes)')
            else:
                print(f'  {key}: differs')
                same = False
    return same


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    before, after = sys.argv[1:]
    if os.path.isdir(before):
        names = sorted(f for f in os.listdir(before) if f.endswith('.fatbin'))
        missing = [f for f in names if not os.path.exists(os.path.join(after, f))]
        if missing:
            raise SystemExit(f'not in {after}: {", ".join(missing)}')
        pairs = [(os.path.join(before, f), os.path.join(after, f)) for f in names]
    else:
        pairs = [(before, after)]
    results = [compare(x, y) for x, y in pairs]
    print('SAME CODE' if all(results) else 'CODE DIFFERS')
    sys.exit(0 if all(results) else 1)


if __name__ == '__main__':
    main()
