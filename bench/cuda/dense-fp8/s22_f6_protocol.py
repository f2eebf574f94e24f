#!/usr/bin/env python3
"""A model of dense_fp8_sm90.cu's V-split entry n32s (bit 144115188075855872, session 22 helper f6): its synchronization
as each role runs it (DenseFp8Split::runS / runO, the producer lane, the screening warps), one step of a role at a time in
random orders, warpgroups as units. Checks that no order deadlocks, that every named barrier's arrivals and waits balance
(nothing pending at exit), and the hand-offs' data: a P^T buffer is written only after both O warpgroups read its last
tile, the O warpgroups read tile t's P^T and flags, tile t's S warpgroup reads tile t - 1's maxima, the (l, m) buffers
are read before they are written again, a raw slot is refilled only after all 12 warps released it.

  python3 bench/cuda/dense-fp8/s22_f6_protocol.py [trials (2000)]

Named barriers (bar.sync / bar.arrive, counts in threads; a warpgroup = 128): a generation completes when its count has
arrived; bar.sync blocks its warpgroup until then. mbarriers with phases as PTX's parity waits. Written before any run.
"""
import random, sys

RS = 4


class Deadlock(Exception):
    pass


def roles(items, rng):
    """Generators of (op, ...) for S0, S1, O0, O1, the producer and the screening; items: tiles of each item."""
    def S(s):
        n0, ip, used = 0, 0, False
        for T in items:
            yield ('nbsync', 6, 256)  # Q^T filled (both S)
            for it in range(s, T, 2):
                n = n0 + it
                yield ('mbwait', ('full', n % RS), (n // RS) & 1)
                yield ('mbwait', ('ck', n % RS), (n // RS) & 1)
                yield ('check', 'page', n % RS, n)
                yield ('mbarrive', ('empty', n % RS), 4)
                if it > 0:
                    yield ('nbsync', 11 + s, 256)
                    yield ('read', 'msh', (it - 1) & 1, (n0, it - 1))
                yield ('write', 'msh', it & 1, (n0, it))
                if it + 1 < T:
                    yield ('nbarrive', 11 + (1 - s), 256)
                if used:
                    yield ('nbsync', 9 + s, 384)
                used = True
                yield ('write', 'P', s, (n0, it))
                yield ('nbarrive', 7 + s, 384)
            yield ('write', 'LM', (ip, s), (n0, s))
            yield ('nbsync', 5, 512)
            n0 += T
            ip ^= 1
        if used:
            yield ('nbsync', 9 + s, 384)

    def O(oj):
        n0, ip = 0, 0
        for T in items:
            for it in range(T):
                n = n0 + it
                pb = it & 1
                yield ('nbsync', 7 + pb, 384)
                yield ('mbwait', ('full', n % RS), (n // RS) & 1)
                yield ('mbwait', ('ck', n % RS), (n // RS) & 1)
                yield ('read', 'P', pb, (n0, it))
                yield ('check', 'page', n % RS, n)
                yield ('mbarrive', ('empty', n % RS), 4)
                yield ('nbarrive', 9 + pb, 384)
            yield ('nbsync', 5, 512)
            yield ('read', 'LM', (ip, 0), (n0, 0))
            yield ('read', 'LM', (ip, 1), (n0, 1))
            n0 += T
            ip ^= 1

    def producer():
        n = 0
        for T in items:
            for t in range(T):
                yield ('mbwait', ('empty', n % RS), ((n // RS) & 1) ^ 1)
                yield ('copy', n % RS, n)
                n += 1

    def screen():
        n = 0
        for T in items:
            for t in range(T):
                yield ('mbwait', ('full', n % RS), (n // RS) & 1)
                yield ('check', 'page', n % RS, n)
                yield ('mbarrive', ('ck', n % RS), 3)
                n += 1

    return {'S0': S(0), 'S1': S(1), 'O0': O(0), 'O1': O(1), 'P': producer(), 'C': screen()}


def run(items, rng):
    mb = {}  # name -> [phase, pending arrivals, count]
    for s in range(RS):
        mb[('full', s)] = [0, 0, 1]
        mb[('empty', s)] = [0, 0, 12]
        mb[('ck', s)] = [0, 0, 3]
    nb = {}  # id -> [arrived threads, count, generation]
    waiting = {}  # role -> (id, generation)
    page = {}  # slot -> tile index that landed there
    data = {}  # (what, key) -> tag last written
    readers = {}  # ('P', s) -> set of O warpgroups that read the current tag
    gens = roles(items, rng)
    cur = {r: next(g, None) for r, g in gens.items()}
    def mb_arrive(name, k):
        b = mb[name]
        b[1] += k
        assert b[1] <= b[2], f"{name}: {b[1]} arrivals of {b[2]}"
        if b[1] == b[2]:
            b[0] += 1
            b[1] = 0
    def nb_arrive(i, k, cnt):
        b = nb.setdefault(i, [0, cnt, 0])
        assert b[1] == cnt, f"barrier {i}: count {cnt} where {b[1]}"
        b[0] += k
        assert b[0] <= cnt
        if b[0] == cnt:
            b[0] = 0
            b[2] += 1
    while True:
        runnable = []
        for r, op in cur.items():
            if op is None:
                continue
            if r in waiting:
                i, g = waiting[r]
                if nb[i][2] > g:
                    runnable.append(r)
                continue
            if op[0] == 'mbwait':
                if (mb[op[1]][0] & 1) == op[2]:
                    continue
            runnable.append(r)
        if not runnable:
            if all(op is None for op in cur.values()):
                break
            raise Deadlock(f"items {items}: stuck at {[(r, op) for r, op in cur.items() if op is not None]}")
        r = rng.choice(runnable)
        op = cur[r]
        if r in waiting:
            del waiting[r]
            cur[r] = next(gens[r], None)
            continue
        k = op[0]
        if k == 'nbsync':
            b = nb.setdefault(op[1], [0, op[2], 0])
            g = b[2]
            nb_arrive(op[1], 128, op[2])
            waiting[r] = (op[1], g)
            continue
        if k == 'nbarrive':
            nb_arrive(op[1], 128, op[2])
        elif k == 'mbarrive':
            mb_arrive(op[1], op[2])
        elif k == 'copy':
            page[op[1]] = op[2]
            mb_arrive(('full', op[1]), 1)
        elif k == 'check':
            assert page.get(op[2]) == op[3], f"{r}: slot {op[2]} holds tile {page.get(op[2])}, wants {op[3]}"
        elif k == 'write':
            key = (op[1], op[2])
            if op[1] == 'P' and key in data:  # the previous tile's P^T read by both O warpgroups
                assert readers.get(key) == {'O0', 'O1'}, f"{r} overwrites P^T {op[2]} ({data[key]}) read by {readers.get(key)}"
            if op[1] == 'LM' and key in data:
                assert readers.get(key) == {'O0', 'O1'}, f"{r} overwrites (l, m) {op[2]} read by {readers.get(key)}"
            data[key] = op[3]
            readers[key] = set()
        elif k == 'read':
            key = (op[1], op[2])
            assert data.get(key) == op[3], f"{r} reads {key}: {data.get(key)}, wants {op[3]}"
            if op[1] in ('P', 'LM'):
                readers[key].add(r)
        cur[r] = next(gens[r], None)
    pend = {i: b for i, b in nb.items() if b[0] != 0}
    assert not pend, f"named barriers with arrivals pending at exit: {pend}"


def main():
    trials = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    rng = random.Random(2212)
    for t in range(trials):
        items = [rng.choice([0, 1, 1, 2, 3, 4, 5, 7, 8, 16, 17]) for _ in range(rng.randint(0, 5))]
        run(items, rng)
    print(f"s22_f6_protocol: {trials} random orders over random items: no deadlock, barriers balanced, hand-offs in order")


if __name__ == '__main__':
    main()
