#!/usr/bin/env python3
"""Session 28: compute-sanitizer racecheck logs -> their reports by class.

A class is (kernel, the two access kinds, unordered) for the default report ("Race reported between ..."), and
(kernel, hazard type) for --racecheck-report all / hazard ("Potential RAW hazard detected ..." with the two threads);
per class the report count and the code offsets. Usage:
  python3 bench/cuda/hopper/s28_race_classes.py rc-*.txt
Self-test: python3 bench/cuda/hopper/s28_race_classes.py --self-test
"""
import re
import sys
from collections import defaultdict

HEAD = re.compile(r'Race reported between (\w+) access at (?:0x[0-9a-f]+ in )?([A-Za-z_][\w:<>, ]*?)\+(0x[0-9a-f]+)')
AND = re.compile(r'^=+\s+and (\w+) access at (?:0x[0-9a-f]+ in )?([A-Za-z_][\w:<>, ]*?)\+(0x[0-9a-f]+)')
HAZARD = re.compile(r'Potential (RAW|WAR|WAW) hazard detected at __shared__ (0x[0-9a-f]+) in block (\([0-9,]+\))')
THREAD = re.compile(r'^=+\s+(Read|Write) Thread \((\d+),\d+,\d+\) at (?:0x[0-9a-f]+ in )?(.+?)\+(0x[0-9a-f]+)\s*$')
SUMMARY = re.compile(r'RACECHECK SUMMARY: (\d+) hazards? displayed \((\d+) errors?, (\d+) warnings?\)')


def classes(text):
    """{(kernel, kinds): [offsets]} and the summary (displayed, errors, warnings) or None."""
    out = defaultdict(list)
    head = None
    hz, th = None, []
    for line in text.splitlines():
        h = HAZARD.search(line)
        if h:
            hz, th = h.group(1), []
            continue
        tm = THREAD.search(line)
        if tm and hz:
            th.append(tm.groups())
            if len(th) == 2:
                out[(th[0][2], hz)].append(f'{th[0][3]}~{th[1][3]} (threads {th[0][1]} -> {th[1][1]})')
                hz = None
            continue
        m = HEAD.search(line)
        if m:
            head = m.groups()
            continue
        a = AND.search(line)
        if a and head:
            kinds = '/'.join(sorted([head[0], a.group(1)]))
            out[(head[1], kinds)].append(f'{head[2]}~{a.group(3)}')
            head = None
            continue
        if not line.startswith('=========     '):
            head = None
    s = SUMMARY.search(text)
    return out, (tuple(int(x) for x in s.groups()) if s else None)


def report(path, text):
    cl, s = classes(text)
    summ = f'{s[0]} displayed ({s[1]} errors, {s[2]} warnings)' if s else 'no summary'
    lines = [f'{path}: {summ}; {sum(len(v) for v in cl.values())} reports in {len(cl)} classes']
    for (k, kinds), offs in sorted(cl.items()):
        uniq = sorted(set(offs))
        lines.append(f'  {k} {kinds}: {len(offs)} reports, {len(uniq)} offset pairs: {" ".join(uniq[:8])}{" ..." if len(uniq) > 8 else ""}')
    return '\n'.join(lines)


def self_test():
    t = """========= Error: Race reported between Write access at mla_decode_sm90w_bf16+0x7170
=========     and Read access at mla_decode_sm90w_bf16+0x11100 [128 hazards]
=========
========= Warning: Race reported between Read access at 0x1230 in mla_sparse_sm90_v32_bf16_sp+0x2300
=========     and Write access at 0x99 in mla_sparse_sm90_v32_bf16_sp+0x11d90 [4 hazards]
========= RACECHECK SUMMARY: 2 hazards displayed (1 error, 1 warning)
"""
    cl, s = classes(t)
    assert s == (2, 1, 1), s
    assert cl[('mla_decode_sm90w_bf16', 'Read/Write')] == ['0x7170~0x11100'], cl
    assert cl[('mla_sparse_sm90_v32_bf16_sp', 'Read/Write')] == ['0x2300~0x11d90'], cl
    assert classes('========= RACECHECK SUMMARY: 0 hazards displayed (0 errors, 0 warnings)')[1] == (0, 0, 0)
    h = """========= Error: Potential RAW hazard detected at __shared__ 0x560 in block (1,0,7) :
=========     Write Thread (160,0,0) at mla_decode_sm90w_bf16+0x7180
=========     Read Thread (32,0,0) at mla_decode_sm90w_bf16+0x11100
=========     Current Value : 0
"""
    cl, _ = classes(h)
    assert cl[('mla_decode_sm90w_bf16', 'RAW')] == ['0x7180~0x11100 (threads 160 -> 32)'], cl
    print('self-test ok')


if __name__ == '__main__':
    if sys.argv[1:] == ['--self-test']:
        self_test()
    else:
        for p in sys.argv[1:]:
            print(report(p, open(p, errors='replace').read()))
