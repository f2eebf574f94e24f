#!/usr/bin/env python3
"""Session 28: SASS around code offsets (racecheck's report sites), with the nearest synchronising instructions.

  cuobjdump -sass -fun NAME X.fatbin > k.sass; python3 bench/cuda/hopper/s28_sass_windows.py k.sass 0x7180 0x11100 ...
For each offset: the instructions from 12 before to 4 after it, then the last 6 synchronising instructions (BAR,
SYNCS, MEMBAR, WARPSYNC, BSYNC, ...) before it and the next 4 after it, with their offsets.
"""
import re
import sys

LINE = re.compile(r'/\*([0-9a-f]{4,})\*/\s+(.*?)\s*;?\s*(/\*.*\*/)?\s*$')
SYNC = re.compile(r'\b(BAR|SYNCS|MEMBAR|WARPSYNC|BSYNC|NANOSLEEP|ERRBAR|CCTL|FENCE)\b')


def main(path, offs):
    ins = []
    for line in open(path, errors='replace'):
        m = LINE.search(line)
        if m and m.group(2):
            ins.append((int(m.group(1), 16), m.group(2).strip()))
    idx = {a: i for i, (a, _) in enumerate(ins)}
    for o in offs:
        a = int(o, 16)
        i = idx.get(a)
        if i is None:
            print(f'{o}: not found ({len(ins)} instructions read)')
            continue
        print(f'== {o}')
        for j in range(max(0, i - 12), min(len(ins), i + 5)):
            print(f'  {"->" if j == i else "  "} {ins[j][0]:05x}  {ins[j][1]}')
        syncs = [(x, s) for x, s in ins[:i] if SYNC.search(s)][-6:]
        print('  last syncs before it: ' + ' | '.join(f'{x:05x} {s}' for x, s in syncs))
        after = [(x, s) for x, s in ins[i + 1:] if SYNC.search(s)][:4]
        print('  next syncs after it: ' + ' | '.join(f'{x:05x} {s}' for x, s in after))


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2:])
