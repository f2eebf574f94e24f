#!/usr/bin/env python3
"""Session 19 round 2 (h1): read the wide kernel's per-pair timeline (harness_gap's `tl` mode: decode_sm90_wide.cu's
kVarBTimeline stamps, thread 0 of each consumer warpgroup, SM %clock) and say where the tensor pipe idles.

  python3 bench/cuda/hopper/s19_h1r2_tl.py TAG FILE [FILE ...]     (FILE: tl.bin.<rep>; pure Python, no numpy)

Per pair (the CTA's pairs 40..71, those with a tile B, not an item's first pair: Q's load is in it), on warpgroup 0's
pair top T (event 0): the six wgmma groups of the library's pair order, each in flight from its start to the end of
the wait that retires it:
  SA  (wg0) S_A' from its first box landed (1) to its wait (4)          1152 tensor cycles at 256 rows a CTA
  SB  (wg1) S_B' likewise                                                1152
  PAL (wg0) P_A V_A[L] from its issue end (6) to its wait (7)            512
  PBR (wg1) P_B V_B[R] from (6) to wait_group 1 (10)                     512
  PAR (wg1) P_A' V_A[R] from (8) to wait_group 0 (11)                    512
  PBL (wg0) P_B V_B[L] from (10) to its wait (11)                        512
L = T(next pair) - T. The union U of the in-flight intervals inside [T, T + L) is the time some group is issued and
not yet seen done; L - U is time with no group in flight (the pipe certainly idle), filed under the group whose start
ends it (gap_a: before PAL, softmax A; gap_b: before PBR; gap_c: before PAR; gap_d: before PBL; gap_s: the pair's
edge, before an S walk's first box: this pair's S_A' / S_B' or the next pair's, or the window's end). U - 4352 is in-flight time beyond the nominal tensor work (queue-free fill / drain latency, S walks waiting
for boxes, or groups slower than nominal). Prints medians / means over pairs and the reading of the note's rule.
"""
import struct, sys
from statistics import median

NOM = {"SA": 1152, "SB": 1152, "PAL": 512, "PBR": 512, "PAR": 512, "PBL": 512}
WORK = sum(NOM.values())  # 4352 a pair (256 rows of a CTA: 64 x 64 x 576 and 64 x 256 x 64, 2048 FMA a cycle)


def s32(x):
    x &= 0xFFFFFFFF
    return x - (1 << 32) if x & 0x80000000 else x


def load(fn):
    d = open(fn, "rb").read()
    ctas, npairs, nev, skip = struct.unpack_from("<4i", d, 0)
    w = struct.unpack_from("<%dI" % (ctas * 2 * (npairs + 1) * nev), d, 16)
    rows = {}
    for c in range(ctas):
        for g in range(2):
            for r in range(npairs):
                o = ((c * 2 + g) * (npairs + 1) + r) * nev
                rows[(c, g, r)] = w[o:o + nev]
    return ctas, npairs, rows


def union(iv, lo, hi):
    """Length of the union of intervals clipped to [lo, hi), and the gaps (start, end) left in it."""
    iv = sorted((max(a, lo), min(b, hi)) for a, b in iv if min(b, hi) > max(a, lo))
    tot, cur, gaps, at = 0, None, [], lo
    for a, b in iv:
        if a > at:
            gaps.append((at, a))
        at = max(at, b)
        if cur is None or a > cur[1]:
            if cur:
                tot += cur[1] - cur[0]
            cur = [a, b]
        else:
            cur[1] = max(cur[1], b)
    if cur:
        tot += cur[1] - cur[0]
    if at < hi:
        gaps.append((at, hi))
    return tot, gaps


def pct(v, f):
    v = sorted(v)
    return v[min(len(v) - 1, int(f * len(v)))] if v else float("nan")


def main():
    tag, files = sys.argv[1], sys.argv[2:]
    pairs = []  # dicts of event times relative to T, per pair
    for fn in files:
        ctas, npairs, rows = load(fn)
        for c in range(ctas):
            for r in range(npairs - 1):
                a0, a1 = rows[(c, 0, r)], rows[(c, 1, r)]
                n0, n1 = rows[(c, 0, r + 1)], rows[(c, 1, r + 1)]
                meta = a0[15]
                t, nt, hasb = meta & 0xFFFF, (meta >> 16) & 0x7FFF, meta >> 31
                if not hasb or t == 0 or a0[0] == 0 or n0[0] == 0 or a1[15] != meta:
                    continue
                if (n0[15] & 0xFFFF) != t + 2:  # the next pair is not this item's (the gap would hold storeRows)
                    continue
                need0, need1 = (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12), (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)
                if any(a0[e] == 0 for e in need0) or any(a1[e] == 0 for e in need1) or n0[1] == 0 or n1[1] == 0:
                    continue
                T = a0[0]
                ev = {("w0", e): s32(a0[e] - T) for e in need0}
                ev.update({("w1", e): s32(a1[e] - T) for e in need1})
                L = s32(n0[0] - T)
                if L <= 0 or L > 60000:
                    continue
                nxt = {"SA'": (s32(n0[1] - T), s32(n0[4] - T)), "SB'": (s32(n1[1] - T), s32(n1[4] - T))}
                pairs.append((ev, L, nxt))
    if not pairs:
        print("tl %s: no complete pairs" % tag)
        print("tl %s reading: none (no data)" % tag)
        return
    E = lambda ev, g, e: ev[(g, e)]
    groups = {  # name: (start, done, pre-wait stamp)
        "SA": lambda ev: (E(ev, "w0", 1), E(ev, "w0", 4), E(ev, "w0", 3)),
        "SB": lambda ev: (E(ev, "w1", 1), E(ev, "w1", 4), E(ev, "w1", 3)),
        "PAL": lambda ev: (E(ev, "w0", 6), E(ev, "w0", 7), E(ev, "w0", 6)),
        "PBR": lambda ev: (E(ev, "w1", 6), E(ev, "w1", 10), E(ev, "w1", 9)),
        "PAR": lambda ev: (E(ev, "w1", 8), E(ev, "w1", 11), E(ev, "w1", 10)),
        "PBL": lambda ev: (E(ev, "w0", 10), E(ev, "w0", 11), E(ev, "w0", 10)),
    }
    Ls = [p[1] for p in pairs]
    Lm = median(Ls)
    print("tl %s: pairs %d; pair L median %.0f (p10 %.0f, p90 %.0f) SM cycles = %.0f a tile; nominal tensor work %d a pair (%.1f %% of L)"
          % (tag, len(pairs), Lm, pct(Ls, 0.1), pct(Ls, 0.9), Lm / 2, WORK, 100.0 * WORK / Lm))
    names = {
        0: "pair top", 1: "S first box landed", 2: "S last box landed", 3: "S issued", 4: "S done", 5: "barrier 1 (issue-past)",
    }
    n0 = dict(names); n0.update({6: "P_A V_A[L] issued", 7: "P_A V_A[L] done", 8: "barrier 3 (issue-past)", 12: "stage B vis waits",
                        9: "barrier 2 (issue-past)", 10: "P_B V_B[L] issued", 11: "P_B V_B[L] done"})
    n1 = dict(names); n1.update({6: "P_B V_B[R] issued", 7: "published, bar 3 arrived", 12: "stage A V[R] vis waits", 8: "P_A' V_A[R] issued",
                        9: "bar 2 arrived", 10: "wait_group 1 (P_B V_B[R])", 11: "wait_group 0 (P_A' V_A[R])"})
    for g, nm in (("w0", n0), ("w1", n1)):
        order = sorted(nm, key=lambda e: median([p[0][(g, e)] for p in pairs]))
        print("tl %s: %s " % (tag, "wg0" if g == "w0" else "wg1") + "; ".join("%s %.0f" % (nm[e], median([p[0][(g, e)] for p in pairs])) for e in order))
    # per group: start, done, in flight, blocked wait, alone (no other group of the pair in flight over it)
    alone = {k: [] for k in groups}
    for k, f in groups.items():
        st = [f(p[0])[0] for p in pairs]; dn = [f(p[0])[1] for p in pairs]; pw = [f(p[0])[1] - f(p[0])[2] for p in pairs]
        for ev, L, nxt in pairs:
            a, b, _ = f(ev)
            others = [g(ev)[:2] for kk, g in groups.items() if kk != k] + list(nxt.values())
            if all(ob <= a or oa >= b for oa, ob in others):
                alone[k].append(b - a)
        fl = [d - s for s, d in zip(st, dn)]
        print("tl %s: group %-3s start %5.0f done %5.0f in flight %5.0f (nominal %4d; p10 %.0f p90 %.0f) its wait blocked %4.0f; alone in the pipe: %d pairs, in flight %s"
              % (tag, k, median(st), median(dn), median(fl), NOM[k], pct(fl, 0.1), pct(fl, 0.9), median(pw), len(alone[k]),
                 "%.0f" % median(alone[k]) if alone[k] else "-"))
    # the union and the idle gaps, filed by the group whose start ends them
    cls = {"gap_a(before P_A V_A[L])": [], "gap_b(before P_B V_B[R])": [], "gap_c(before P_A' V_A[R])": [], "gap_d(before P_B V_B[L])": [],
           "gap_s(before next S)": [], "gap_other": []}
    starts = lambda ev, nxt: [("gap_a(before P_A V_A[L])", ev[("w0", 6)]), ("gap_b(before P_B V_B[R])", ev[("w1", 6)]), ("gap_c(before P_A' V_A[R])", ev[("w1", 8)]),
                              ("gap_d(before P_B V_B[L])", ev[("w0", 10)]), ("gap_s(before next S)", min(nxt["SA'"][0], nxt["SB'"][0])),
                              ("gap_s(before next S)", ev[("w0", 1)]), ("gap_s(before next S)", ev[("w1", 1)])]
    U, I, chain = [], [], []
    for ev, L, nxt in pairs:
        iv = [f(ev)[:2] for f in groups.values()] + list(nxt.values())
        u, gaps = union(iv, 0, L)
        U.append(u); I.append(L - u)
        acc = {k: 0 for k in cls}
        st = starts(ev, nxt)
        for ga, gb in gaps:
            best = "gap_s(before next S)" if gb >= L else None  # the window's end: the idle runs on to the next pair's S
            for k, s0 in st:
                if abs(s0 - gb) <= 2:
                    best = k
            acc[best or "gap_other"] += gb - ga
        for k in cls:
            cls[k].append(acc[k])
        # the P V chain PBR -> PAR -> PBL where the queue never emptied: its span against 3 x 512
        pbr, par, pbl = groups["PBR"](ev), groups["PAR"](ev), groups["PBL"](ev)
        if par[0] < pbr[1] and pbl[0] < par[1]:
            chain.append(pbl[1] - pbr[0])
    mean = lambda v: sum(v) / len(v)
    Um, Im = mean(U), mean(I)
    X = mean(Ls) - WORK
    print("tl %s: means a pair: L %.0f = work %d + idle %.0f; in flight U %.0f, none in flight L-U %.0f (%.0f %% of the idle), in flight beyond the work U-%d %.0f (%.0f %%)"
          % (tag, mean(Ls), WORK, X, Um, Im, 100 * Im / X if X else 0, WORK, Um - WORK, 100 * (Um - WORK) / X if X else 0))
    print("tl %s: none-in-flight by class (mean a pair): " % tag + "; ".join("%s %.0f" % (k, mean(v)) for k, v in cls.items()))
    walk = [p[0][("w0", 2)] - p[0][("w0", 1)] for p in pairs] + [p[0][("w1", 2)] - p[0][("w1", 1)] for p in pairs]
    sBox = [p[0][("w1", 1)] - p[0][("w0", 1)] for p in pairs]
    tail = [p[0][("w0", 4)] - p[0][("w0", 2)] for p in pairs] + [p[0][("w1", 4)] - p[0][("w1", 2)] for p in pairs]
    print("tl %s: S walks: first -> last box landed median %.0f (p90 %.0f; the walk's 9 boxes at the pipe's pace, both S sharing it: ~2048); last box -> S done %.0f; S_B' first box - S_A' first box %.0f"
          % (tag, median(walk), pct(walk, 0.9), median(tail), median(sBox)))
    print("tl %s: P V chain P_B V_B[R] issue -> P_B V_B[L] done with the queue never empty: %d pairs, median %s (3 x 512 = 1536)"
          % (tag, len(chain), "%.0f" % median(chain) if chain else "-"))
    # the reading (docs/notes/cuda-hopper-decode.md, session 19 round 2, written before any run)
    walkX = max(0.0, median(walk) - 2048)
    big = max((k for k in cls if k != "gap_other"), key=lambda k: mean(cls[k]))
    if X > 0 and Im >= 0.5 * X:
        rd = "R1 empty pipe between groups (L-U %.0f >= half the idle %.0f); largest: %s %.0f" % (Im, X, big, mean(cls[big]))
    elif X > 0 and walkX >= 0.3 * X:
        rd = "R2 the S walks wait for boxes (walk %.0f, %.0f over 2048 >= 0.3 x idle %.0f)" % (median(walk), walkX, X)
    else:
        rd = "R3 in flight but slower than nominal (U-%d %.0f of idle %.0f; L-U %.0f)" % (WORK, Um - WORK, X, Im)
    print("tl %s reading: %s" % (tag, rd))


if __name__ == "__main__":
    main()
