#!/usr/bin/env python3
"""The NVIDIA driver's binary of a Vulkan compute pipeline, from the pipeline cache data vkstats writes (its third
argument), disassembled: every ELF image found in FILE.cache is carved to FILE.N.cubin, then `cuobjdump -res-usage`
(registers, shared and local memory: spills) and `cuobjdump -sass` (FILE.N.sass) run on it, and a summary line counts
the instructions that matter for issue #13 (barriers, global loads and the waits on them, shared loads and stores,
local memory: spills, matrix products).
  python3 cache-sass.py FILE.cache ..."""
import re, struct, subprocess, sys

def elf_size(data, o):
    """The bytes of the ELF64 image at o: the furthest end of its section headers, program headers and sections (a
    cubin puts its program headers after its section headers, so the section table alone cuts it short)."""
    phoff, shoff = struct.unpack_from('<QQ', data, o + 0x20)
    phentsize, phnum, shentsize, shnum = struct.unpack_from('<HHHH', data, o + 0x36)
    end = max(shoff + shentsize * shnum, phoff + phentsize * phnum)
    for i in range(shnum):
        sh = o + shoff + i * shentsize
        typ, = struct.unpack_from('<I', data, sh + 4)
        off, size = struct.unpack_from('<QQ', data, sh + 0x18)
        if typ != 8:  # SHT_NOBITS takes no bytes
            end = max(end, off + size)
    for i in range(phnum):
        ph = o + phoff + i * phentsize
        off, = struct.unpack_from('<Q', data, ph + 8)
        filesz, = struct.unpack_from('<Q', data, ph + 0x20)
        end = max(end, off + filesz)
    return end


def run(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True)
    except FileNotFoundError:
        return subprocess.CompletedProcess(cmd, 127, '', f'{cmd[0]}: not found (PATH)')


for path in sys.argv[1:]:
    data = open(path, 'rb').read()
    offs = [m.start() for m in re.finditer(rb'\x7fELF\x02\x01', data)]
    print(f'{path}: {len(data)} B, {len(offs)} ELF image(s); head {data[:48].hex()}')
    for n, o in enumerate(offs):
        try:
            img = data[o:o + elf_size(data, o)]
        except struct.error:
            img = data[o:]
        cub = f'{path}.{n}.cubin'
        open(cub, 'wb').write(img)
        for tool in (['cuobjdump', '-res-usage', cub],):
            r = run(tool)
            print('  ' + (r.stdout + r.stderr).strip().replace('\n', '\n  ')[:1500])
        r = run(['cuobjdump', '-sass', cub])
        sass = r.stdout if r.stdout.strip() else ''
        if not sass:
            r = run(['nvdisasm', '-c', cub])
            sass = r.stdout
        open(f'{cub}.sass', 'w').write(sass + r.stderr)
        ins = [l for l in sass.split('\n') if re.match(r'\s*/\*[0-9a-f]{4,}\*/', l)]
        def count(pat):
            return sum(1 for l in ins if re.search(pat, l))
        pats = [('BAR', 'BAR[.]'), ('LDG', 'LDG'), ('LDS', 'LDS'), ('LDSM', 'LDSM'), ('STS', 'STS'), ('LDL', 'LDL'), ('STL', 'STL'), ('HMMA', 'HMMA'),
                ('ATOMS', 'ATOMS'), ('DEPBAR', 'DEPBAR'), ('MEMBAR', 'MEMBAR'), ('ERRBAR', 'ERRBAR'), ('CCTL', 'CCTL'), ('BSSY', 'BSSY'), ('WARPSYNC', 'WARPSYNC')]
        print('  sass %d instructions: %s' % (len(ins), ' '.join('%s %d' % (k, count(v)) for k, v in pats)))
