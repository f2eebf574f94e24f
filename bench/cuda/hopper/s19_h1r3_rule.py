#!/usr/bin/env python3
"""Session 19 round 3 (h1) ship rule for om / sg / s5 (decode_sm90_wide.cu's VARB kVarBOwnMax, + kVarBStag, +
kVarBStag5 on the shipped x932758302), written in docs/notes/cuda-hopper-decode.md, "Session 19 round 3 (h1)", before
any run. Reads <out>/check.txt and <out>/ab.txt of s14_h1_slot.sh (run by s19_h1r3_slot.sh with S14_ENTRIES="om sg s5")
and the SASS lines s19_h1r3_slot.sh wrote; prints per entry its A/B rows and summary, then the rule line last.

  python3 bench/cuda/hopper/s19_h1r3_rule.py S14_OUT_DIR SASS_TXT        (or --self-test)

r = entry time / lib time (abb prints lib / entry; r is its inverse: < 1, the entry is faster). An entry is eligible if
its float64 check ran >= 20 cases with 0 failures (f16 among them) and exit 0, its Q_SCALE 4 twin >= 5 cases with 0
failures and exit 0, its memcheck 0 errors and exit 0, its bf16 and f16 SASS (where cuobjdump ran) have lib's HGMMA
count and no LDL / STL, and all seven A/B rows came. SHIP the eligible entry with the lowest 256-row geomean among those
with: 256-row geomean of r (two rows) <= 0.980, no 128-row r (four rows) > 1.005, the 64-row control r <= 1.010.
Else KEEP lib.
"""
import math, re, sys

ENTRIES = ("om", "sg", "s5")
BITS = {"om": "kVarBOwnMax (VARB 4)", "sg": "kVarBOwnMax | kVarBStag (VARB 12)", "s5": "kVarBOwnMax | kVarBStag5 (VARB 20)"}


def gmean(v):
    return math.exp(sum(math.log(x) for x in v) / len(v)) if v else 0.0


def decide(chk, ab, sass_txt, out=print):
    sass = {m.group(1): (int(m.group(2)), int(m.group(3)), int(m.group(4)), int(m.group(5)))
            for m in re.finditer(r"sass (\S+): HGMMA (\d+) LDL (\d+) STL (\d+) lines (\d+)", sass_txt)}
    lib_s = sass.get("mla_decode_sm90w_bf16")
    best = None
    summary = []
    for e in ENTRIES:
        rows = []
        for l in ab.splitlines():
            m = re.search(r"s_k=(\d+),h_q=(\d+),s_q=(\d+) rows=(\d+)", l)
            x = re.search(r"\| %s\+w ([\d.]+) us ([\d.]+)" % e, l)
            lib = re.search(r"\| lib\+w ([\d.]+) us", l)
            if not (m and x and lib) or float(x.group(2)) <= 0:
                continue
            r = 1.0 / float(x.group(2))
            rows.append((int(m.group(4)), r))
            out("s19h1r3 A/B %s rows %s s_k %s h_q %s s_q %s: lib %s us, %s %s us, %s/lib %.4f" % (e, m.group(4), m.group(1), m.group(2), m.group(3), lib.group(1), e, x.group(1), e, r))
        c = re.search(r"check %s\+w: (\d+) cases, (\d+) failed, worst rel ([0-9.e+-]+); f16 ok: (\d+);.*?rc=(\d+)" % e, chk)
        ok = bool(c and int(c.group(1)) >= 20 and int(c.group(2)) == 0 and int(c.group(4)) >= 1 and int(c.group(5)) == 0)
        q4 = re.search(r"checkq4 %s\+w: (\d+) cases, (\d+) failed, worst rel ([0-9.e+-]+);.*?rc=(\d+)" % e, chk)
        ok = ok and bool(q4 and int(q4.group(1)) >= 5 and int(q4.group(2)) == 0 and int(q4.group(4)) == 0)
        mem = re.search(r"memcheck %s\+w: .*ERROR SUMMARY: 0 errors.*rc=0" % e, chk) is not None
        sb, sf = sass.get("mla_decode_sm90w_bf16_g" + e), sass.get("mla_decode_sm90w_f16_g" + e)
        if lib_s and sb and sf and min(lib_s[3], sb[3], sf[3]) > 10:
            sass_ok = all(s[0] == lib_s[0] and s[0] > 0 and s[1] == 0 and s[2] == 0 for s in (sb, sf))
            stxt = "HGMMA %d / %d (lib %d) LDL %d STL %d" % (sb[0], sf[0], lib_s[0], sb[1] + sf[1], sb[2] + sf[2])
        else:
            sass_ok, stxt = True, "not read (cuobjdump missing: offline counts stand)"
        w256 = [r for n, r in rows if n == 256]
        w128 = [r for n, r in rows if n == 128]
        ctl = [r for n, r in rows if n == 64]
        g256, g128 = gmean(w256), gmean(w128)
        complete = len(w256) == 2 and len(w128) == 4 and len(ctl) == 1
        why = []
        if not ok: why.append("check / Q_SCALE 4 not clean")
        if not mem: why.append("memcheck not clean")
        if not sass_ok: why.append("SASS: " + stxt)
        if not complete: why.append("A/B incomplete (%d of 7 rows)" % len(rows))
        else:
            if g256 > 0.980: why.append("256-row geomean %.4f > 0.980" % g256)
            if max(w128) > 1.005: why.append("a 128-row row %.4f > 1.005" % max(w128))
            if ctl[0] > 1.010: why.append("64-row %.4f > 1.010" % ctl[0])
        out("s19h1r3 %s: check %s (%s), memcheck %s, sass %s (%s); 256-row geomean %s/lib %.4f (%s), 128-row geomean %.4f max %s, 64-row %s; %s"
            % (e, ok, c.group(0) if c else "missing", mem, sass_ok, stxt, e, g256, " ".join("%.4f" % r for r in w256), g128,
               "%.4f" % max(w128) if w128 else "-", "%.4f" % ctl[0] if ctl else "-", "passes" if not why else "; ".join(why)))
        summary.append("%s %.4f/%.4f" % (e, g256, g128))
        if not why and (best is None or g256 < best[1]):
            best = (e, g256, max(w128), ctl[0])
    if best is None:
        out("KEEP lib (no entry passes; 256/128-row geomeans %s)" % ", ".join(summary))
        return None
    e, g, m128, c64 = best
    out("SHIP %s (%s on x932758302: 256-row geomean %s/lib %.4f, 128-row max %.4f, 64-row %.4f; checks clean; library: kLibVarB = %s, fatbin .devstage/s19-h1/r3/lib_%s/; all: %s)"
        % (e, BITS[e], e, g, m128, c64, BITS[e].split("VARB ")[1].rstrip(")"), e, ", ".join(summary)))
    return e


def self_test():
    chk = "".join("check %s+w: 24 cases, 0 failed, worst rel 2.1e-03; f16 ok: 5; rc=0 \n"
                  "checkq4 %s+w: 6 cases, 0 failed, worst rel 2.5e-03; rc=0\n"
                  "memcheck %s+w: ========= ERROR SUMMARY: 0 errors check: 2 cases run, 0 failed  rc=0\n" % (e, e, e) for e in ENTRIES)
    sass = "sass mla_decode_sm90w_bf16: HGMMA 92 LDL 0 STL 0 lines 9000\n" + "".join(
        "sass mla_decode_sm90w_%s_g%s: HGMMA 92 LDL 0 STL 0 lines 9000\n" % (t, e) for e in ENTRIES for t in ("bf16", "f16"))
    def ab(rs):  # rs: entry -> (r256, r128, r64)
        s = ""
        for sk in (8192, 4096):
            for hq, sq, n in ((128, 2, 256), (128, 1, 128), (64, 2, 128)):
                s += "abb b=128,s_k=%d,h_q=%d,s_q=%d rows=%d burst=10 rounds=8 | lib+w 1000.0 us 1.000" % (sk, hq, sq, n)
                for e, (a, b, c) in rs.items():
                    r = a if n == 256 else b
                    s += " | %s+w %.1f us %.3f" % (e, 1000 * r, 1 / r)
                s += "\n"
        s += "abb b=128,s_k=8192,h_q=64,s_q=1 rows=64 burst=10 rounds=8 | lib+w 300.0 us 1.000"
        for e, (a, b, c) in rs.items():
            s += " | %s+w %.1f us %.3f" % (e, 300 * c, 1 / c)
        return s + "\n"
    q = lambda *a, **k: None
    assert decide(chk, ab({"om": (1.0, 1.0, 1.0), "sg": (0.97, 1.0, 1.0), "s5": (0.95, 1.0, 1.0)}), sass, q) == "s5"
    assert decide(chk, ab({"om": (1.0, 1.0, 1.0), "sg": (0.97, 1.0, 1.0), "s5": (0.95, 1.01, 1.0)}), sass, q) == "sg"
    assert decide(chk, ab({"om": (0.99, 1.0, 1.0), "sg": (0.985, 1.0, 1.0), "s5": (0.95, 1.0, 1.02)}), sass, q) is None
    assert decide(chk.replace("s5+w: 24 cases, 0 failed", "s5+w: 24 cases, 1 failed"), ab({"om": (1.0, 1.0, 1.0), "sg": (1.0, 1.0, 1.0), "s5": (0.95, 1.0, 1.0)}), sass, q) is None
    assert decide(chk, ab({"om": (1.0, 1.0, 1.0), "sg": (1.0, 1.0, 1.0), "s5": (0.95, 1.0, 1.0)}), sass.replace("f16_gs5: HGMMA 92 LDL 0", "f16_gs5: HGMMA 92 LDL 4"), q) is None
    assert decide(chk, "", sass, q) is None
    print("self-test ok")


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        self_test()
        sys.exit(0)
    d = sys.argv[1]
    rd = lambda p: open(p).read() if __import__("os").path.exists(p) else ""
    decide(rd(d + "/check.txt"), rd(d + "/ab.txt"), rd(sys.argv[2]) if len(sys.argv) > 2 else "")
