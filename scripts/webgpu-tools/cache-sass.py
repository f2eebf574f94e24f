#!/usr/bin/env python3
"""The NVIDIA driver's binary of a Vulkan compute pipeline, from the pipeline cache data vkstats writes (its third
argument), disassembled: every ELF image found in FILE.cache is carved to FILE.N.cubin, then `cuobjdump -res-usage`
(registers, shared and local memory: spills) and `cuobjdump -sass` (FILE.N.sass) run on it, and a summary line counts
the instructions that matter for issue #13 (barriers, global loads and the waits on them, shared loads and stores,
local memory: spills, matrix products).
  python3 cache-sass.py FILE.cache ..."""
import re, struct, subprocess, sys

for path in sys.argv[1:]:
    data = open(path, 'rb').read()
    offs = [m.start() for m in re.finditer(rb'\x7fELF\x02\x01', data)]
    print(f'{path}: {len(data)} B, {len(offs)} ELF image(s); head {data[:48].hex()}')
    for n, o in enumerate(offs):
        try:
            shoff, = struct.unpack_from('<Q', data, o + 0x28)
            shentsize, shnum = struct.unpack_from('<HH', data, o + 0x3a)
            end = o + shoff + shentsize * shnum
            img = data[o:end]
        except struct.error:
            img = data[o:]
        cub = f'{path}.{n}.cubin'
        open(cub, 'wb').write(img)
        for tool in (['cuobjdump', '-res-usage', cub],):
            r = subprocess.run(tool, capture_output=True, text=True)
            print('  ' + (r.stdout + r.stderr).strip().replace('\n', '\n  ')[:1500])
        r = subprocess.run(['cuobjdump', '-sass', cub], capture_output=True, text=True)
        sass = r.stdout if r.stdout.strip() else ''
        if not sass:
            r = subprocess.run(['nvdisasm', '-c', cub], capture_output=True, text=True)
            sass = r.stdout
        open(f'{cub}.sass', 'w').write(sass + r.stderr)
        ins = [l for l in sass.split('\n') if re.match(r'\s*/\*[0-9a-f]{4,}\*/', l)]
        def count(pat):
            return sum(1 for l in ins if re.search(pat, l))
        pats = [('BAR', 'BAR[.]'), ('LDG', 'LDG'), ('LDS', 'LDS'), ('STS', 'STS'), ('LDL', 'LDL'), ('STL', 'STL'), ('HMMA', 'HMMA'),
                ('ATOMS', 'ATOMS'), ('DEPBAR', 'DEPBAR'), ('MEMBAR', 'MEMBAR'), ('ERRBAR', 'ERRBAR'), ('CCTL', 'CCTL'), ('BSSY', 'BSSY'), ('WARPSYNC', 'WARPSYNC')]
        print('  sass %d instructions: %s' % (len(ins), ' '.join('%s %d' % (k, count(v)) for k, v in pats)))
