#!/usr/bin/env python3
"""Session 11 round 2 (h2): the summary of run_s11_h2r2.sh's logs (gap_<shape>.log from harness_gap, fm.log from
flashmla_gap.py --prof). One row a shape (times in µs, back to back, second-half medians), then the verdict lines:

  ours:  decode / combine / gap between launches = call; the decode alone back to back; the trace of the last
         launch: kernel span, CTA clock (MHz, clock64 / global timer), items and key tiles a CTA, the phases
         (pro: start -> first Q in shared memory; q: a later item's Q load; wait: wg0's item end -> both warpgroups
         done; tile: µs a key tile in the loop; tail: last item end -> CTA end; lost: span - the CTA's own duration)
  FM:    its call back to back (decode + combine between two events) and, from torch.profiler, its kernels' own times

  python3 bench/cuda/hopper/s11_h2r2_summary.py [--measure | --candidate] OUTDIR b,s_k,h_q,s_q [...]
(--measure: the table and verdicts without the candidate; --candidate: the candidate's lines only.)
"""
import os
import re
import sys


def num(pat, text, default=None):
    m = re.search(pat, text)
    return float(m.group(1)) if m else default


def fmt(v, w=6, p=1):
    return ("%*.*f" % (w, p, v)) if isinstance(v, (int, float)) else "%*s" % (w, "-")


def ours(outdir, shape):
    path = os.path.join(outdir, "gap_%s.log" % shape)
    if not os.path.exists(path):
        return None
    t = open(path).read()
    r = {}
    b2b = re.search(r"b2b n=\d+ first10_decode_us=\S+ decode_us=(\S+) combine_us=(\S+) gap_us=(\S+) per_launch_us=(\S+)", t)
    if b2b:
        r["dec"], r["comb"], r["gap"], r["call"] = map(float, b2b.groups())
    r["dec_alone"] = num(r"b2b-nocombine decode_us=(\S+)", t)
    for tag, key in (("b2b-last", ""), ("b2b-nocombine-last", "_alone")):
        line = next((l for l in t.splitlines() if l.startswith("trace ") and (" %s: ctas=" % tag) in l), "")
        ph = next((l for l in t.splitlines() if l.startswith("trace ") and (" %s: phases_us" % tag) in l), "")
        r["span" + key] = num(r"span_us=(\S+)", line)
        r["mhz" + key] = num(r"cta_mhz min/med/max=\S+?/(\S+?)/", line)
        if key == "":
            cta = re.search(r"cta_us min/med/max=(\S+?)/(\S+?)/(\S+)", line)
            if cta:
                r["cta_min"], r["cta_med"], r["cta_max"] = map(float, cta.groups())
            for k in ("pro", "wait", "q", "tile", "item", "tail", "lost"):
                r[k] = num(r"\b%s=(\S+)" % k, ph)
            r["items"] = num(r"items=(\S+)", ph)
            r["tiles"] = num(r"tiles=(\S+)", ph)
            r["fixed"] = num(r"fixed_us=\S+=(\S+)", ph)
    return r


def fm(outdir, shape_arg):
    path = os.path.join(outdir, "fm.log")
    if not os.path.exists(path):
        return {}
    b, s_k, h_q, s_q = shape_arg.split(",")
    shape = "b=%s,s_k=%s,h_q=%s,s_q=%s" % (b, s_k, h_q, s_q)
    t = open(path).read()
    r = {"call": num(re.escape(shape) + r" flashmla b2b n=\d+ first10_call_us=\S+ call_us=(\S+)", t)}
    kern = re.findall(r"^fmprof " + re.escape(shape) + r" kernel=(\S+) us=(\S+) n=(\d+)", t, re.M)
    for name, us, n in kern:
        low = name.lower()
        if "combine" in low:
            r["comb"] = float(us)
        elif "mla" in low or "flash" in low or "fwd" in low:
            r["dec"] = max(r.get("dec", 0.0), float(us))
    r["kernels"] = ", ".join("%s %s" % (n[:28], u) for n, u, _ in kern[:3])
    return r


def main():
    part = "all"
    args = sys.argv[1:]
    if args and args[0] in ("--measure", "--candidate"):
        part, args = args[0][2:], args[1:]
    outdir, shapes = args[0], args[1:]
    if part == "candidate":
        candidate(outdir)
        ship()
        return
    rows = []
    print("shape (b,s_k,h_q,s_q)  rows | ours: decode combine  gap   call alone | span  MHz MHz_alone items tiles |"
          "  pro    q  wait  tile  tail  lost fixed | FM: call decode comb | FM/ours call  decode")
    for sh in shapes:
        o, f = ours(outdir, sh), fm(outdir, sh)
        if o is None:
            print("%-22s missing" % sh)
            continue
        b, s_k, h_q, s_q = map(int, sh.split(","))
        rows.append((sh, b, s_k, h_q * s_q, o, f))
        ratio = f["call"] / o["call"] if f.get("call") and o.get("call") else None
        dratio = f["dec"] / o["dec"] if f.get("dec") and o.get("dec") else None
        print("%-22s %4d | %s %s %s %s %s | %s %s %s %s %s | %s %s %s %s %s %s %s | %s %s %s | %s %s" % (
            sh, h_q * s_q, fmt(o.get("dec")), fmt(o.get("comb")), fmt(o.get("gap"), 5, 2), fmt(o.get("call")), fmt(o.get("dec_alone")),
            fmt(o.get("span")), fmt(o.get("mhz"), 5, 0), fmt(o.get("mhz_alone"), 5, 0), fmt(o.get("items"), 3, 0), fmt(o.get("tiles"), 4, 0),
            fmt(o.get("pro"), 5, 2), fmt(o.get("q"), 5, 2), fmt(o.get("wait"), 5, 2), fmt(o.get("tile"), 5, 3), fmt(o.get("tail"), 5, 2),
            fmt(o.get("lost"), 5, 1), fmt(o.get("fixed"), 5, 1), fmt(f.get("call")), fmt(f.get("dec")), fmt(f.get("comb")),
            fmt(ratio, 5, 3), fmt(dratio, 5, 3)))
    for sh, b, s_k, rws, o, f in rows:
        if f.get("kernels"):
            print("fm kernels %s: %s" % (sh, f["kernels"]))
    # Verdicts.
    for sh, b, s_k, rws, o, f in rows:
        if o.get("comb") and o["comb"] > 0.5 and o.get("call"):
            print("h2r2 split %s: ours decode %.1f + combine %.1f + gap %.2f = %.1f (combine %.1f %%); FM %s (decode %s, combine %s)" % (
                sh, o["dec"], o["comb"], o["gap"], o["call"], 100 * o["comb"] / o["call"], fmt(f.get("call"), 0), fmt(f.get("dec"), 0), fmt(f.get("comb"), 0)))
    for sh, b, s_k, rws, o, f in rows:
        if o.get("mhz"):
            print("h2r2 clock %s: decode at %.0f MHz back to back with the call's combine, %s MHz decode alone (s11 call 1 at 8192/128: "
                  "1729 with the CTA combine between, 1541 alone); decode %.1f us of which the kernel's span %.1f" % (
                      sh, o["mhz"], fmt(o.get("mhz_alone"), 0, 0), o["dec"], o["span"] or 0))
    # s_k 1024 against s_k 4096 (same rows, no split at either on b = 128): the decode as fixed + tiles x per-tile,
    # ours from the trace (fixed_us, tile) and from the two decode times, FM from its two decode (or call) times.
    for rws in sorted({r[3] for r in rows}):
        a = next((r for r in rows if r[3] == rws and r[2] == 1024), None)
        c = next((r for r in rows if r[3] == rws and r[2] == 4096), None)
        if not a or not c or not a[4].get("tiles") or not c[4].get("tiles"):
            continue
        ta, tc = a[4]["tiles"], c[4]["tiles"]
        if tc == ta:
            continue
        oa, oc = a[4]["dec"], c[4]["dec"]
        ob = (oc - oa) / (tc - ta)
        of = oa - ta * ob
        fa = a[5].get("dec") or a[5].get("call")
        fc = c[5].get("dec") or c[5].get("call")
        src = "decode" if a[5].get("dec") else "call"
        if fa and fc:
            fb = (fc - fa) / (tc - ta)
            ff = fa - ta * fb
            gap = oa - fa
            print("h2r2 s_k1024 rows=%d: ours %.1f = %.1f fixed + %.0f tiles x %.3f; FM (%s) %.1f = %.1f fixed + %.0f x %.3f -> of the %.1f us "
                  "gap %.1f is fixed (%.0f %%), %.1f per-tile; trace: fixed_us %.1f (pro %.2f, q %.2f x %.0f, wait %.2f, tail %.2f), lost %.1f, "
                  "launch (event - span) %.1f" % (
                      rws, oa, of, ta, ob, src, fa, ff, ta, fb, gap, of - ff, 100 * (of - ff) / gap if gap else 0, ta * (ob - fb),
                      a[4].get("fixed") or 0, a[4].get("pro") or 0, a[4].get("q") or 0, (a[4].get("items") or 1) - 1, a[4].get("wait") or 0,
                      a[4].get("tail") or 0, a[4].get("lost") or 0, oa - (a[4].get("span") or oa)))
    if part == "all":
        candidate(outdir)
        ship()


def ship():
    print("h2r2 ship rule: nothing ships from this slot (the library's kernels are byte-identical); the candidate's rule "
          "above only decides whether the next session makes kVarQEarly a library bit")


def candidate(outdir):
    """kVarQEarly (qe+w) against the library (lib+w): check, the A/B (harness ab: 'ab SHAPE rows=N | lib+w X us 1.000 |
    qe+w Y us R', R = lib / qe, > 1 when qe is faster) and its trace phases at s_k 1024 beside libtr+w's."""
    chk = open(os.path.join(outdir, "check.txt")).read() if os.path.exists(os.path.join(outdir, "check.txt")) else ""
    m = re.search(r"(\d+) cases, (\d+) failed", chk)
    cases, fails = (int(m.group(1)), int(m.group(2))) if m else (0, -1)
    ab = open(os.path.join(outdir, "ab.txt")).read() if os.path.exists(os.path.join(outdir, "ab.txt")) else ""
    res = {}
    for line in ab.splitlines():
        mm = re.match(r"ab b=\d+,s_k=(\d+),h_q=(\d+),s_q=(\d+) rows=(\d+) \| \S+ (\S+) us \S+ \| \S+ (\S+) us (\S+)", line)
        if mm:
            s_k, rows = int(mm.group(1)), int(mm.group(4))
            res[(s_k, rows)] = (float(mm.group(5)), float(mm.group(6)), float(mm.group(7)))
    for (s_k, rows), (a, b, r) in sorted(res.items()):
        print("h2r2 qe A/B s_k=%d rows=%d: lib+w %.1f us, qe+w %.1f us, lib/qe %.3f" % (s_k, rows, a, b, r))
    for f in sorted(os.listdir(outdir)):
        if f.startswith("gapqe_"):
            t = open(os.path.join(outdir, f)).read()
            ph = next((l for l in t.splitlines() if " b2b-last: phases_us" in l), "")
            dec = num(r"b2b n=\d+ first10_decode_us=\S+ decode_us=(\S+)", t)
            print("h2r2 qe trace %s: decode %s us;%s" % (f[6:-4], fmt(dec, 0), ph.split("phases_us", 1)[1] if ph else " no trace"))
    short = [res.get((1024, 128)), res.get((1024, 256))]
    longr = [res.get((8192, 128)), res.get((8192, 256))]
    if fails != 0 or cases < 4:
        verdict = "FAIL (check: %d cases, %s failed)" % (cases, fails if fails >= 0 else "no result")
    elif None in short or None in longr:
        verdict = "FAIL (A/B rows missing: %s)" % sorted(res)
    else:
        ok = all(x[2] >= 1.015 for x in short) and all(x[2] >= 0.99 for x in longr)
        verdict = "%s (s_k 1024: %.3f / %.3f >= 1.015; s_k 8192: %.3f / %.3f >= 0.99; check %d cases 0 failed)" % (
            "PASS" if ok else "FAIL", short[0][2], short[1][2], longr[0][2], longr[1][2], cases)
    print("h2r2 qe rule: " + verdict)


main()
