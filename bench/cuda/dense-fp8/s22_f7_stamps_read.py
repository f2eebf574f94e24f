#!/usr/bin/env python3
"""Reads n32s's wait stamps (dense_fp8_sm90.cu built with -DMLA_DFP8_VS_STAMP=1, session 22 helper f7) out of the JSON
that s20_f2_stamps.js writes (--json): per part its `raw` row = [smid, globaltimer at entry (ns, relative), at the end,
words 3 .. 11 (word 3 is 0, so these are the words themselves), word 14 (the part's tiles), word 15 (O0 entry-to-end
cycles)]. Words: 4 S0 cycles in its tiles, 5 S0 page waits, 6 S0 maxima waits (11 + s), 7 S0 P^T buffer waits (9 + s),
8 S0 S phase, 9 O0 cycles in its tiles, 10 O0 P^T waits (7 + pb), 11 producer empty-slot waits.

  python3 s22_f7_stamps_read.py STAMPS.json [SHAPE (8192x32x1)]
  python3 s22_f7_stamps_read.py --self-test

Prints per-tile medians over the parts (us) and a `where:` line: the S warpgroup's tile (two tiles of the SM) split into
its S phase, its three waits and the rest (softmax, P^T stores), the O warpgroup's tile into its P^T wait and its work.
Reading (docs/notes/cuda-dense-fp8.md "Session 22 (f7)", written before any run): call B's probes put a warpgroup's S
step alone at ~2.0-2.5 us a tile (MO: 2.53 with the softmax). An S phase of ~3.3 us or more with waits under ~15 % of the
S tile means the S phase itself is slowed by the O warpgroups running beside it (the shared-resource reading of
s22_f7_model.py): no change of n32s's barriers can help. A wait at 9 + s (P^T back) over ~25 % means the O side is the
pace; at 11 + s the shared maxima; at the pages the ring / DRAM.
"""
import json, statistics as st, sys


def summarize(rows):
    per = []
    for r in rows:
        sm, g0, g1 = r[0], r[1], r[2]
        w = {3 + k: r[3 + k] for k in range(9)}
        tiles, c15 = r[12], r[13]
        ns = max(1, g1 - g0)
        ghz = c15 / ns if c15 > 0 else float('nan')
        if not (0.5 < ghz < 3.0) or tiles <= 1:
            continue
        us = lambda c, n: c / ghz / 1e3 / max(1, n)
        ts = (tiles + 1) // 2
        s = {k: us(w[k] & 0xFFFFFFFF, ts) for k in (4, 5, 6, 7, 8)}
        o = {k: us(w[k] & 0xFFFFFFFF, tiles) for k in (9, 10)}
        per.append({'ghz': ghz, 'tiles': tiles, 'span': ns / 1e3, 'S_tile': s[4], 'S_page': s[5], 'S_max': s[6], 'S_pbuf': s[7],
                    'S_phase': s[8], 'S_rest': s[4] - s[5] - s[6] - s[7] - s[8], 'O_tile': o[9], 'O_pwait': o[10],
                    'O_work': o[9] - o[10], 'prod_wait': us(w[11] & 0xFFFFFFFF, tiles), 'sm_tile': ns / 1e3 / tiles})
    return per


def report(per):
    out = []
    if not per:
        return ["where: no stamped parts (the lse words were overwritten or the build had no stamps)"]
    med = {k: st.median(p[k] for p in per) for k in per[0]}
    out.append("# stamped parts %d, clock %.3f GHz, tiles a part %d, part span %.1f us, %.3f us a tile an SM" %
               (len(per), med['ghz'], med['tiles'], med['span'], med['sm_tile']))
    out.append("# S0 a tile: %.3f = S phase %.3f + page wait %.3f + maxima wait (11+s) %.3f + P^T buffer wait (9+s) %.3f + rest %.3f" %
               (med['S_tile'], med['S_phase'], med['S_page'], med['S_max'], med['S_pbuf'], med['S_rest']))
    out.append("# O0 a tile: %.3f = P^T wait (7+pb) %.3f + work %.3f; producer's empty-slot wait %.3f a tile" %
               (med['O_tile'], med['O_pwait'], med['O_work'], med['prod_wait']))
    waits = {'the pages (ring / DRAM)': med['S_page'], 'the maxima (11 + s)': med['S_max'], 'P^T back from the O side (9 + s)': med['S_pbuf']}
    big = max(waits, key=waits.get)
    frac = waits[big] / max(1e-9, med['S_tile'])
    if sum(waits.values()) < 0.15 * med['S_tile'] and med['S_phase'] >= 3.3:
        out.append("where: CONTENTION: the S phase takes %.2f us (alone ~2.0-2.5) and S waits %.0f %% of its tile: the O warpgroups "
                   "slow it (the shared reading); barriers are not the pace" % (med['S_phase'], 100 * sum(waits.values()) / med['S_tile']))
    elif frac >= 0.15:
        out.append("where: WAIT: the S warpgroup waits %.0f %% of its tile for %s" % (100 * frac, big))
    else:
        out.append("where: MIXED: S phase %.2f us, waits %.0f %% (largest: %s)" % (med['S_phase'], 100 * sum(waits.values()) / med['S_tile'], big))
    return out


def self_test():
    def row(S_phase, page, mx, pb, rest, O_wait, O_work, tiles=128, ghz=1.755):
        c = lambda u, n: int(u * 1e3 * ghz * n)
        ts = tiles // 2
        S_tile = S_phase + page + mx + pb + rest
        span_ns = int((S_tile * ts + 5) * 1e3)
        w = [0, c(S_tile, ts), c(page, ts), c(mx, ts), c(pb, ts), c(S_phase, ts), c(O_wait + O_work, tiles), c(O_wait, tiles), c(0.1, tiles)]
        return [7, 0, span_ns] + w + [tiles, int(span_ns * ghz)]
    a = report(summarize([row(3.6, 0.1, 0.05, 0.1, 0.25, 1.0, 1.0)] * 3))
    assert a[-1].startswith("where: CONTENTION"), a
    b = report(summarize([row(2.2, 0.1, 0.05, 1.5, 0.25, 0.2, 1.9)] * 3))
    assert b[-1].startswith("where: WAIT") and "9 + s" in b[-1], b
    c = report(summarize([row(2.2, 1.4, 0.05, 0.1, 0.25, 1.0, 1.0)] * 3))
    assert c[-1].startswith("where: WAIT") and "pages" in c[-1], c
    assert report([])[-1].startswith("where: no stamped")
    print("s22_f7_stamps_read self-test: 4 cases ok")


def main():
    if sys.argv[1:2] == ['--self-test']:
        return self_test()
    shape = sys.argv[2] if len(sys.argv) > 2 else '8192x32x1'
    rows = []
    try:
        d = json.load(open(sys.argv[1]))
        for s in d.get('shapes', []):
            if isinstance(s, dict) and s.get('shape') == shape:
                rows = s.get('raw', []) or []
    except Exception as e:
        print(f"where: no stamps read ({e})")
        return
    for l in report(summarize(rows)):
        print(l)


if __name__ == '__main__':
    main()
