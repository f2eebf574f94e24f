#!/usr/bin/env python3
"""Session 19 (h1) ship rule for kVarBNoProd (the wide dense kernel without its producer warpgroup), written in
docs/notes/cuda-hopper-decode.md, "Session 19 (h1)", before any run. Reads <out>/check.txt and <out>/ab.txt of
s14_h1_slot.sh (run by s19_h1_slot.sh with S14_ENTRIES=np) and the SASS lines s19_h1_slot.sh wrote; prints one line per
A/B row, then the rule line last.

  python3 bench/cuda/hopper/s19_h1_rule.py S14_OUT_DIR SASS_TXT        (or --self-test)

r = np time / lib time (abb prints lib / np; r is its inverse: < 1, np is faster). SHIP np if: the float64 check ran >= 20
cases with 0 failures (f16 among them) and exit 0, its Q_SCALE 4 twin too (>= 5 cases, 0 failures); memcheck 0 errors; the SASS (where cuobjdump ran) shows np's bf16
entry with as many HGMMA as lib's and no LDL / STL; all seven A/B rows are there; the geomean of r over the two 256-row
rows <= 0.970; no 128-row row (four) has r > 1.010; the 64-row control r <= 1.010. Else KEEP lib.
"""
import math, os, re, sys


def decide(chk, ab, out=print):
    rows = []  # (rows, s_k, r)
    for l in ab.splitlines():
        m = re.search(r"s_k=(\d+),h_q=(\d+),s_q=(\d+) rows=(\d+)", l)
        x = re.search(r"\| np\+w ([\d.]+) us ([\d.]+)", l)
        lib = re.search(r"\| lib\+w ([\d.]+) us", l)
        if not (m and x and lib) or float(x.group(2)) <= 0:
            continue
        r = 1.0 / float(x.group(2))
        rows.append((int(m.group(4)), int(m.group(1)), r))
        out("s19h1 A/B rows %s s_k %s h_q %s s_q %s: lib %s us, np %s us, np/lib %.4f" % (m.group(4), m.group(1), m.group(2), m.group(3), lib.group(1), x.group(1), r))
    c = re.search(r"check np\+w: (\d+) cases, (\d+) failed, worst rel ([0-9.e+-]+); f16 ok: (\d+);.*?rc=(\d+)", chk)
    check_ok = bool(c and int(c.group(1)) >= 20 and int(c.group(2)) == 0 and int(c.group(4)) >= 1 and int(c.group(5)) == 0)
    q4 = re.search(r"checkq4 np\+w: (\d+) cases, (\d+) failed, worst rel ([0-9.e+-]+);.*?rc=(\d+)", chk)
    check_ok = check_ok and bool(q4 and int(q4.group(1)) >= 5 and int(q4.group(2)) == 0 and int(q4.group(4)) == 0)
    mem_ok = re.search(r"memcheck np\+w: .*ERROR SUMMARY: 0 errors.*rc=0", chk) is not None
    sass = {m.group(1): (int(m.group(2)), int(m.group(3)), int(m.group(4)), int(m.group(7)))
            for m in re.finditer(r"sass (\S+): HGMMA (\d+) LDL (\d+) STL (\d+) UTMALDG (\d+) WARPGROUP.DEPBAR (\d+) lines (\d+)", chk)}
    lib_s, np_s = sass.get("mla_decode_sm90w_bf16"), sass.get("mla_decode_sm90w_bf16_gnp")
    if lib_s and np_s and lib_s[3] > 10 and np_s[3] > 10:
        sass_ok, sass_txt = np_s[0] == lib_s[0] and np_s[0] > 0 and np_s[1] == 0 and np_s[2] == 0, "HGMMA %d (lib %d) LDL %d STL %d" % (np_s[0], lib_s[0], np_s[1], np_s[2])
    else:
        sass_ok, sass_txt = True, "not read (cuobjdump missing: offline counts stand)"
    w256 = [r for n, sk, r in rows if n == 256]
    w128 = [r for n, sk, r in rows if n == 128]
    ctl = [r for n, sk, r in rows if n == 64]
    gm = math.exp(sum(math.log(r) for r in w256) / len(w256)) if w256 else 0.0
    gm128 = math.exp(sum(math.log(r) for r in w128) / len(w128)) if w128 else 0.0
    complete = len(w256) == 2 and len(w128) == 4 and len(ctl) == 1
    out("s19h1 np: check %s (%s), memcheck %s, sass %s (%s); 256-row geomean np/lib %.4f (%s), 128-row geomean %.4f max %s, 64-row %s; rows %d of 7"
        % (check_ok, c.group(0) if c else "missing", mem_ok, sass_ok, sass_txt, gm, " ".join("%.4f" % r for r in w256), gm128,
           "%.4f" % max(w128) if w128 else "-", "%.4f" % ctl[0] if ctl else "-", len(rows)))
    why = []
    if not check_ok: why.append("float64 check not clean")
    if not mem_ok: why.append("memcheck not clean")
    if not sass_ok: why.append("SASS: " + sass_txt)
    if not complete: why.append("A/B incomplete (%d of 7 rows)" % len(rows))
    else:
        if gm > 0.970: why.append("256-row geomean np/lib %.4f > 0.970" % gm)
        if max(w128) > 1.010: why.append("a 128-row row at %.4f > 1.010" % max(w128))
        if ctl[0] > 1.010: why.append("64-row control %.4f > 1.010" % ctl[0])
    if why:
        out("KEEP lib (np: %s; 256-row geomean np/lib %.4f, 128-row geomean %.4f)" % ("; ".join(why), gm, gm128))
        return False
    out("SHIP np (kVarBNoProd: 256-row geomean np/lib %.4f, 128-row max %.4f, 64-row %.4f; checks clean; the library's launch needs 256 threads and the VARB entries)"
        % (gm, max(w128), ctl[0]))
    return True


def self_test():
    chk = ("check np+w: 24 cases, 0 failed, worst rel 2.1e-03; f16 ok: 5; rc=0 \n"
           "checkq4 np+w: 6 cases, 0 failed, worst rel 2.5e-03; rc=0\n"
           "checkq4 lib+w: 6 cases, 0 failed, worst rel 2.5e-03; rc=0\n"
           "memcheck np+w: ========= ERROR SUMMARY: 0 errors check (np+w): 2 cases run, 0 failed  rc=0\n"
           "sass mla_decode_sm90w_bf16: HGMMA 92 LDL 0 STL 0 UTMALDG 1 WARPGROUP.DEPBAR 30 lines 9000\n"
           "sass mla_decode_sm90w_bf16_gnp: HGMMA 92 LDL 0 STL 0 UTMALDG 40 WARPGROUP.DEPBAR 30 lines 9000\n")
    def ab(r256, r128, r64):
        s, i = "", 0
        for sk in (8192, 4096):
            for hq, sq, n in ((128, 2, 256), (128, 1, 128), (64, 2, 128)):
                r = r256 if n == 256 else r128
                s += "abb b=128,s_k=%d,h_q=%d,s_q=%d rows=%d burst=10 rounds=8 | lib+w 1000.0 us 1.000 | np+w %.1f us %.3f\n" % (sk, hq, sq, n, 1000 * r, 1 / r)
        s += "abb b=128,s_k=8192,h_q=64,s_q=1 rows=64 burst=10 rounds=8 | lib+w 300.0 us 1.000 | np+w %.1f us %.3f\n" % (300 * r64, 1 / r64)
        return s
    q = lambda *a: None
    assert decide(chk, ab(0.95, 1.0, 1.0), q) is True
    assert decide(chk, ab(0.98, 1.0, 1.0), q) is False
    assert decide(chk, ab(0.95, 1.02, 1.0), q) is False
    assert decide(chk, ab(0.95, 1.0, 1.02), q) is False
    assert decide(chk.replace("0 failed", "1 failed"), ab(0.95, 1.0, 1.0), q) is False
    assert decide(chk.replace("ERROR SUMMARY: 0", "ERROR SUMMARY: 3"), ab(0.95, 1.0, 1.0), q) is False
    assert decide(chk.replace("checkq4 np+w: 6 cases, 0 failed", "checkq4 np+w: 6 cases, 2 failed"), ab(0.95, 1.0, 1.0), q) is False
    assert decide(chk.replace("_gnp: HGMMA 92", "_gnp: HGMMA 91"), ab(0.95, 1.0, 1.0), q) is False
    assert decide(chk, ab(0.95, 1.0, 1.0).split("\n", 1)[1], q) is False
    assert decide(chk, "", q) is False
    print("self-test ok")


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        self_test()
        sys.exit(0)
    rd = lambda f: open(f).read() if os.path.exists(f) else ""
    decide(rd(os.path.join(sys.argv[1], "check.txt")) + rd(sys.argv[2] if len(sys.argv) > 2 else ""), rd(os.path.join(sys.argv[1], "ab.txt")))
