#!/usr/bin/env python3
"""Where sparse_sm90.cu's warps wait, by warp role and by mbarrier, from an ncu source page export
(ncu -i R.ncu-rep --page source --csv --print-source sass > R.sass.csv; one kernel profiled).

    python3 bench/cuda/hopper/sparse_sm90_stalls.py R.sass.csv [--top N]

Roles: the SASS is cut at each USETMAXREG (setmaxnreg): the rows before the first one are `pre`, each segment is named
by its instruction and register count (`wg dealloc 160`, `wg alloc 200`), and the DEALLOC with the fewest registers is
the `producer`. Out-of-line retry blocks of try_wait loops (placed by ptxas after the code that jumps to them)
go to the role of the address their closing BRA jumps back to.
Classes of stall samples a role: `mbarrier <operand>` (samples on a SYNCS...TRYWAIT row and on the branch of its loop,
keyed by the barrier's address operand, e.g. [R27+URZ+0x36ac0]: one key a barrier array), `load wait (long_sb)` (rows
whose samples are mostly long-scoreboard: waits on global loads, LDG, or other long-latency results), `short_sb`,
`wait`, `barrier`, `other`. The producer of the pair entries waits on one mbarrier only (`empty`, a stage's hand-back),
so its `mbarrier` share is the time it waits for the consumers and its `load wait` share the time it waits for the
gathered bytes (issue #14, docs/notes/cuda-sparse-decode.md, "Session 12").
Caveat (session 12, call 2): ncu gives the out-of-line retry blocks of the try_wait loops no samples even when they run
most of a wait (220 k executions, 0 samples), so the `mbarrier` shares are floors; the summary lists each wait loop's
first tries and retry executions, the share of waits that retried and the tries a retried wait took.
"""
import argparse
import collections
import csv
import re

ap = argparse.ArgumentParser()
ap.add_argument('csv')
ap.add_argument('--kernel', type=int, default=0)
ap.add_argument('--top', type=int, default=0)
a = ap.parse_args()

kernels, hdr = [], None
for row in csv.reader(open(a.csv)):
    if not row:
        continue
    if row[0] == 'Kernel Name':
        kernels.append([]); hdr = None; continue
    if row[0] == 'Address':
        hdr = row; continue
    if hdr is not None:
        if not kernels:
            kernels.append([])
        kernels[-1].append(dict(zip(hdr, row)))
rows = kernels[a.kernel]
num = lambda r, k: int(float(r.get(k) or 0))
SAMPLES = 'Warp Stall Sampling (All Samples)'
src = [r['Source'].strip() for r in rows]
addr = []
for r in rows:
    try:
        addr.append(int(r['Address'], 16))
    except ValueError:
        addr.append(None)
at = {x: i for i, x in enumerate(addr) if x is not None}

# 1. roles by setmaxnreg segments: each named by its instruction and register count; the DEALLOC with the fewest
# registers is the producer (sparse_sm90.cu: producer 144, warpgroup 1 160 by DEALLOC, warpgroup 0 200 by ALLOC)
role, seg, segs = [], 'pre', []
for s in src:
    m = re.search(r'USETMAXREG\.(\w+)\S*\s+(?:\w+,\s*)?(0x[0-9a-f]+|\d+)', s)
    if m:
        seg = f'{"dealloc" if "DEALLOC" in m.group(1) else "alloc"} {int(m.group(2), 0)}'
        segs.append(seg)
    role.append(seg)
deallocs = sorted((int(x.split()[1]), x) for x in segs if x.startswith('dealloc'))
names = {x: f'wg {x}' for x in segs}
if deallocs:
    names[deallocs[0][1]] = 'producer'
role = [names.get(r, r) for r in role]
nalloc = 0

# 2. retry blocks: a TRYWAIT loop ptxas moved out of line ends with an unconditional BRA back into its caller's code
def target(s):
    m = re.search(r'BRA\s+(?:`?\(?\.?L?_?x?_?)?(0x[0-9a-f]+)', s)
    return int(m.group(1), 16) if m else None


for i, s in enumerate(src):
    if re.match(r'SYNCS\.PHASECHK', s) is None:
        continue
    # the block: this TRYWAIT, its conditional branch(es), up to an unconditional BRA within 4 rows
    for j in range(i + 1, min(i + 5, len(src))):
        if re.match(r'BRA\s', src[j]):
            t = target(src[j])
            if t is not None and t in at and role[at[t]] != role[i]:  # out of line: the block belongs to its caller
                for k in range(i, j + 1):
                    role[k] = role[at[t]]
            break

# 3. classes: barrier waits keyed by the TRYWAIT operand (its loop branch rows take the same key)
key = [None] * len(rows)
for i, s in enumerate(src):
    m = re.match(r'SYNCS\.PHASECHK\S*\s+\S+\s+(\[[^\]]+\])', s)
    if m:
        key[i] = m.group(1)
        for j in range(i + 1, min(i + 4, len(src))):
            if re.match(r'@!?U?P\w+\s+BRA', src[j]) or re.match(r'BRA\s', src[j]):
                key[j] = m.group(1)
            else:
                break

per = collections.defaultdict(collections.Counter)
tot = collections.Counter()
inst = collections.Counter()
reasons = collections.defaultdict(collections.Counter)
for i, r in enumerate(rows):
    n = num(r, SAMPLES)
    rl = role[i]
    tot[rl] += n
    inst[rl] += num(r, 'Instructions Executed')
    for k, v in r.items():
        if k.startswith('stall_') and '(Not Issued)' not in k and v and v not in ('0', '0.0'):
            try:
                reasons[rl][k] += int(float(v))
            except ValueError:
                pass
    if not n:
        continue
    if key[i]:
        c = f'mbarrier {key[i]}'
    elif num(r, 'stall_long_sb') > n / 2:
        c = 'load wait (long_sb)'
    elif num(r, 'stall_short_sb') > n / 2:
        c = 'short_sb'
    elif num(r, 'stall_wait') > n / 2:
        c = 'wait'
    elif num(r, 'stall_barrier') > n / 2:
        c = 'barrier'
    else:
        c = 'other'
    per[rl][c] += n

T = sum(tot.values())
print(f'{len(rows)} SASS rows, {T} samples, {sum(inst.values()) / 1e6:.2f} M warp instructions')
for rl in ['pre', 'producer'] + [names[x] for x in segs if names[x] != 'producer']:
    if rl not in tot:
        continue
    n = tot[rl]
    print(f'{rl:14s} samples {n:7d} ({100 * n / max(T, 1):4.1f} %), inst {inst[rl] / 1e6:6.2f} M | '
          + ', '.join(f'{c} {100 * v / max(n, 1):.1f} %' for c, v in per[rl].most_common(7)))
    print(f'{"":14s} reasons: ' + ', '.join(f'{k[6:]} {100 * v / max(n, 1):.0f} %' for k, v in reasons[rl].most_common(6)))
    if rl == 'producer':
        mb = sum(v for c, v in per[rl].items() if c.startswith('mbarrier'))
        lw = per[rl]['load wait (long_sb)']
        print(f'{"":14s} PRODUCER: empty waits {100 * mb / max(n, 1):.1f} % vs load waits {100 * lw / max(n, 1):.1f} % '
              f'vs issuing/other {100 * (n - mb - lw) / max(n, 1):.1f} % of its samples')
print('try_wait loops (first try at the inline TRYWAIT, retries in the out-of-line block):')
first = collections.defaultdict(int)
for i, s in enumerate(src):
    if re.match(r'SYNCS\.PHASECHK', s):
        inline = i < len(src) - 1 and not any(re.match(r'BRA\s', src[j]) for j in range(i + 1, min(i + 4, len(src))))
        e = num(rows[i], 'Instructions Executed')
        k = (role[i], key[i])
        if inline:
            first[k] += e
        else:
            close = next((j for j in range(i + 1, min(i + 5, len(src))) if re.match(r'BRA\s', src[j])), None)
            left = num(rows[close], 'Instructions Executed') if close is not None else 0
            f = first.get(k, 0)
            print(f'  {k[0]:14s} {k[1]}: {f} waits, {e} retries; {left} waits retried ({100 * left / max(f, 1):.0f} %), '
                  f'{e / max(left, 1):.1f} tries each')
if a.top:
    order = sorted(range(len(rows)), key=lambda i: -num(rows[i], SAMPLES))[: a.top]
    for i in sorted(order):
        n = num(rows[i], SAMPLES)
        rs = sorted(((k[6:], int(float(v))) for k, v in rows[i].items() if k.startswith('stall_') and '(Not' not in k and v and v not in ('0', '0.0')), key=lambda x: -x[1])[:3]
        print(f'  {i:5d} {role[i]:8s} {100 * n / max(T, 1):5.2f}%  {src[i][:70]:70s} {" ".join(f"{k} {v}" for k, v in rs)}')
