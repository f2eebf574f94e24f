#!/usr/bin/env python3
"""Session 19 (h1): kVarBNoProd's tile order, emulated on the CPU (decode_sm90_wide.cu without its producer warpgroup).
The producer walked every live item's key tiles in order (global tile u into stage u & 1); kVarBNoProd has thread 0 of the
CTA issue tiles 0 and 1 (rowsAfter(beginIdx - 1)), and each release of tile u (the pair's A at item index t, B at t + 1)
refill the same stage with the row of item index t + 2 / t + 3, past the item's end the first two tiles of the items
after it (rowsAfter(batch)). This checks, over random item lists (dead items, items without tiles, odd tile counts), that
every consumed tile u was issued with the producer's row and nothing is issued past the last tile.

  python3 bench/cuda/hopper/s19_h1_tiles_emulate.py      (prints "ok")
"""
import random
def run(items):
    # items: list of (live, nTiles); rows: item i tile j -> (i, j)
    prod = [(i, j) for i, (live, n) in enumerate(items) if live for j in range(n)]
    def rowsAfter(after):
        r = []
        for nb in range(after + 1, len(items)):
            live, n = items[nb]
            if not live: continue
            for j in range(n):
                if len(r) < 2: r.append((nb, j))
        return (r + [None, None])[:2]
    issued = {}
    r0, r1 = rowsAfter(-1)
    if r0: issued[0] = r0
    if r1: issued[1] = r1
    u = 0
    for b, (live, n) in enumerate(items):
        if not live: continue
        nr0, nr1 = rowsAfter(b)
        t = 0
        while t < n:
            hasB = t + 1 < n
            rowOf = lambda tt: (b, tt) if tt < n else (nr0 if tt == n else nr1)
            nxA = rowOf(t + 2); nxB = rowOf(t + 3) if hasB else None
            # consumed tiles: u (A) and u+1 (B); they must be what was issued there
            assert issued.get(u) == prod[u], (u, issued.get(u), prod[u])
            if nxA is not None: issued[u + 2] = nxA
            if hasB:
                assert issued.get(u + 1) == prod[u + 1]
                if nxB is not None: issued[u + 3] = nxB
            u += 2 if hasB else 1
            t += 2
    assert u == len(prod)
    assert all(k < len(prod) for k in issued), (issued, len(prod))
for it in range(20000):
    k = random.randint(0, 6)
    items = [(random.random() < 0.8, random.choice([0, 1, 1, 2, 3, 4, 5, 7])) for _ in range(k)]
    run(items)
print("ok")
