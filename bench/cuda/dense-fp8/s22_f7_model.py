#!/usr/bin/env python3
"""A timing model of the 32-row dense FP8 tile (session 22, helper f7): the shipped n32 (two warpgroups alternating whole
tiles) and the V-split n32s (S warpgroups 0 / 1 alternating tiles, O warpgroups 2 / 3 on every tile) with the
dependencies of s22_f6_protocol.py (n32s's barriers as the kernel has them), timed: which dependency sets the tile?

  python3 bench/cuda/dense-fp8/s22_f7_model.py [--tiles 124]

Each compute step is a task with a latency floor L (its duration alone on the SM, us) and a demand W (SM-us of one shared
resource: issue slots, a pipe, shared-memory bandwidth; which one is not modelled); active tasks run at their own pace
1 / L until their demands sum past the SM's capacity (1), then all slow by the same factor (a fluid processor share,
0.002 us steps). Dependencies (n32s): a tile's S step waits for its page; tile it's softmax waits for tile it - 1's
maxima (the shared running maximum, barrier 11 + s); its P^T write waits until both O warpgroups finished tile it - 2 (two
P^T buffers, barrier 9 + s); an O warpgroup's tile waits for its P^T (7 + pb) and its own previous tile; a raw slot is
refilled after the S step and both O warpgroups' V loads (12 releases); a page lands R us after its copy is issued and
no sooner than D us after the previous page (the DRAM floor, 1.36 us a tile an SM at 8192x32x1).

Durations from call B's probes of n32 (8192x32x1, F = 6 us, 128 tiles a part): a warpgroup's period without DRAM 3.79
us; S side alone (MO) 2.53, O side alone (MS) 1.46 (a warpgroup's tile, two warpgroups side by side). Two readings fit
n32 alike and differ on n32s; the model prints both:
  latency: the steps are chains of their own (W small): n32's tile = (L_S + L_O) / 2;
  shared:  the S and O steps draw on one SM resource (W_S ~ 1.2, W_O ~ 0.7 SM-us a tile): n32's tile = W_S + W_O.
Call B measured n32s at ~2.05 us a tile (268.3 us at 8192x32x1) against n32's 2.0 (261.6).
"""
import sys

DT = 0.002


class Sim:
    def __init__(self, cap=1.0):
        self.t, self.tasks, self.cap = 0.0, [], cap

    def run_until(self, cond):
        while not cond():
            act = [k for k in self.tasks if k['left'] > 0]
            if not act:
                raise RuntimeError('stuck')
            dem = sum(k['W'] / k['L'] for k in act)
            f = 1.0 if dem <= self.cap else self.cap / dem
            for k in act:
                k['left'] -= DT * f / k['L']
                if k['left'] <= 0:
                    k['end'] = self.t + DT
            self.t += DT


def simulate(kind, p, tiles=124):
    """Event-driven roles as Python generators over a fluid clock; returns us a tile in the steady part."""
    RS, R, D = p['RS'], p['R'], p['D']
    sim = Sim()
    ev = {}  # (what, ...) -> time it happened
    rel, landed = {}, {}  # tile -> releases of its slot; tile -> time its page lands
    need = 12 if kind == 'n32s' else 1

    def land(n):  # page n: copied once tile n - RS freed the slot, R us later, D us after page n - 1 at the soonest
        if n in landed:
            return landed[n]
        if n < RS:
            landed[n] = R + n * D
            return landed[n]
        if ('free', n - RS) not in ev:
            return None
        prev = land(n - 1)
        if prev is None:
            return None
        landed[n] = max(ev[('free', n - RS)] + R, prev + D)
        return landed[n]

    def release(n, k):
        rel[n] = rel.get(n, 0) + k
        if rel[n] >= need:
            ev[('free', n)] = sim.t

    def task(L, W):
        k = {'L': max(L, DT), 'W': W, 'left': 1.0}
        sim.tasks.append(k)
        return k

    if kind == 'n32':
        def wg(w):
            for it in range(w, tiles, 2):
                yield ('page', it)
                yield ('task', task(p['L_S'], p['W_S']))
                yield ('task', task(p['L_O'], p['W_O']))
                release(it, 1)
        roles = [wg(0), wg(1)]
    else:
        def S(s):
            for it in range(s, tiles, 2):
                yield ('page', it)
                yield ('task', task(p['L_Sph'], p['W_Sph']))  # the S phase; its reads of the page done
                release(it, 4)
                yield ('task', task(p['L_v'], p['W_v']))  # scale, mask, the vote
                if it > 0 and p.get('shared_max', True):
                    yield ('ev', ('max', it - 1))
                ev[('max', it)] = sim.t
                if it >= p['PB'] and p.get('pbuf', True):
                    yield ('ev', ('O', 0, it - p['PB']))
                    yield ('ev', ('O', 1, it - p['PB']))
                yield ('task', task(p['L_c'], p['W_c']))  # exponentials, P^T stores
                ev[('P', it)] = sim.t

        def O(j):
            for it in range(tiles):
                yield ('ev', ('P', it))
                yield ('task', task(p['L_o'] * p['load'], p['W_o'] * p['load']))  # up to the last V loads
                release(it, 4)
                yield ('task', task(p['L_o'] * (1 - p['load']), p['W_o'] * (1 - p['load'])))
                ev[('O', j, it)] = sim.t
        roles = [S(0), S(1), O(0), O(1)]
    state = [[g, None] for g in roles]

    def ready(op):
        if op is None:
            return True
        if op[0] == 'task':
            return op[1]['left'] <= 0
        if op[0] == 'ev':
            return op[1] in ev
        t = land(op[1])
        return t is not None and t <= sim.t + 1e-12

    while True:
        moved = True
        while moved:
            moved = False
            for st in state:
                if st[0] is not None and ready(st[1]):
                    try:
                        st[1] = next(st[0])
                    except StopIteration:
                        st[0] = None
                    moved = True
        if all(st[0] is None for st in state):
            break
        sim.t0 = sim.t
        while not any(st[0] is not None and ready(st[1]) for st in state):
            act = [k for k in sim.tasks if k['left'] > 0]
            if not act:  # only page waits: jump to the next landing
                nxt = [land(st[1][1]) for st in state if st[0] is not None and st[1][0] == 'page']
                nxt = [x for x in nxt if x is not None]
                if not nxt:
                    raise RuntimeError(f'{kind}: stuck at {[st[1] for st in state]}')
                sim.t = max(sim.t, min(nxt))
                continue
            dem = sum(k['W'] / k['L'] for k in act)
            f = 1.0 if dem <= sim.cap else sim.cap / dem
            for k in act:
                k['left'] -= DT * f / k['L']
            sim.t += DT
            sim.tasks = [k for k in sim.tasks if k['left'] > 0 or any(st[1] is not None and st[1][0] == 'task' and st[1][1] is k for st in state)]
    return sim.t / tiles


def main():
    tiles = int(sys.argv[sys.argv.index('--tiles') + 1]) if '--tiles' in sys.argv else 124
    base = dict(RS=4, R=1.2, D=1.36, PB=2, load=0.75)
    # n32: a warpgroup's tile = S step + O step; the probes: S alone 2.53, O alone 1.46 a warpgroup tile
    for name, q in [('latency', dict(L_S=2.45, W_S=0.25, L_O=1.40, W_O=0.2)),
                    ('shared', dict(L_S=2.45, W_S=1.22, L_O=1.40, W_O=0.70))]:
        p = dict(base, **q)
        t32 = simulate('n32', p, tiles)
        # n32s: the S step split as S phase / vote / P^T (0.80 / 0.05 / 0.15 of L_S, W_S); the O step at half width:
        # ~0.55 of n32's O step (the loads and scales are not halved, the hand-off added)
        sp = dict(p, L_Sph=0.80 * q['L_S'], W_Sph=0.80 * q['W_S'], L_v=0.05 * q['L_S'], W_v=0.05 * q['W_S'],
                  L_c=0.15 * q['L_S'], W_c=0.15 * q['W_S'], L_o=0.55 * q['L_O'], W_o=2 * 0.55 * q['W_O'] / 2)
        rows = [('n32s as built', {}), ('  no shared maxima (11 + s)', dict(shared_max=False)),
                ('  P^T buffers unbounded (9 + s)', dict(pbuf=False)), ('  ring 8 pages', dict(RS=8)),
                ('  DRAM latency 2.4 us', dict(R=2.4)), ('  O steps 0.5x', dict(L_o=0.5 * sp['L_o'], W_o=0.5 * sp['W_o'])),
                ('  no DRAM (R 0, D 0)', dict(R=0.0, D=0.0)), ('  no DRAM, no shared maxima', dict(R=0.0, D=0.0, shared_max=False)),
                ('  no DRAM, P^T unbounded', dict(R=0.0, D=0.0, pbuf=False)), ('  no DRAM, ring 3 pages', dict(R=0.0, D=0.0, RS=3))]
        print(f"{name}: n32 {t32:.3f} us a tile")
        for label, over in rows:
            print(f"  {label:34s} {simulate('n32s', dict(sp, **over), tiles):.3f} us a tile")


if __name__ == '__main__':
    main()
