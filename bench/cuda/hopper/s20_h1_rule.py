#!/usr/bin/env python3
"""Session 20 (h1) reading rule for the code-size probe of decode_sm90_wide.cu (written in docs/notes/cuda-hopper-decode.md,
"Session 20 (h1)", before any run). Reads <out>/check.txt and <out>/ab.txt of s14_h1_slot.sh (run by s20_h1_slot.sh),
the SASS lines and sass_opclass.py --text's lines the slot wrote; prints per entry its rows, the size-matched ratios of
np and om, the reading, and last "KEEP lib (size probe: ...)": the probe ships nothing.

  python3 bench/cuda/hopper/s20_h1_rule.py S14_OUT_DIR SASS_TXT TEXT_TXT        (or --self-test)

r = entry time / lib time (abb prints lib / entry; r is its inverse, above 1: the entry is slower). g256 = geomean of r
over the two 256-row rows (b 128, s_k 8192 / 4096, h_q 128 s_q 2); r128 = the 128-row row (h_q 128 s_q 1, s_k 8192);
r64 = the control (s_k 8192 h_q 64 s_q 1).
Valid: aa's .text sha256 equals lib's (where --text ran); every pad entry's check >= 3 cases, 0 failed, rc 0; their SASS
(where cuobjdump ran) HGMMA = lib's, no LDL / STL; all four rows came for lib, aa and the pads; the A/A guard
|g256(aa) - 1| <= 0.005 and |r128(aa) - 1| <= 0.007. Pad effect q(X) = g256(X), or g256(X) / g256(pz) where the
control pz is above 1.010 (then the re-schedule itself costs, and it is divided out).
Readings (first that holds):
  B-image   max(q(pi1), q(pi2)) >= 1.030: the bytes in the hot loop's address range cost, executed or not; with
            max(q(po1), q(po2)) >= 1.030 too, the whole image ("B-image-whole"), else the loop's range ("B-image-loop").
  B-fetch   q(px) >= 1.030 and max(q(pi1), q(pi2)) <= 1.010: the bytes fetched every pair cost, the image alone not.
  A         every q (pi1 pi2 po1 po2 px) <= 1.010: the size costs nothing measurable; np / om / s5 / pe2 / tl's +5 %
            are their own.
  partial   otherwise: the largest q says how much of the +5 % the size can hold.
Always printed: np / pnp and om / pi2, om / px (each idea against a lib of its own size), per row and g256.
"""
import math, re, sys

PADS = ("pz", "pi1", "pi2", "po1", "po2", "px", "pnp")
ROWS = ((256, 8192), (256, 4096), (128, 8192), (64, 8192))


def gmean(v):
    return math.exp(sum(math.log(x) for x in v) / len(v)) if v else 0.0


def rows_of(ab):
    """entry -> {(rows, s_k): r}, r = entry / lib."""
    out = {}
    for l in ab.splitlines():
        m = re.search(r"s_k=(\d+),h_q=\d+,s_q=\d+ rows=(\d+)", l)
        if not m:
            continue
        for name, _us, x in re.findall(r"\| (\S+)\+w ([\d.]+) us ([\d.]+)", l):
            if float(x) > 0:
                out.setdefault(name, {})[(int(m.group(2)), int(m.group(1)))] = 1.0 / float(x)
    return out


def decide(chk, ab, sass_txt, text_txt, out=print):
    R = rows_of(ab)
    sass = {m.group(1): (int(m.group(2)), int(m.group(3)), int(m.group(4)))
            for m in re.finditer(r"sass (\S+): HGMMA (\d+) LDL (\d+) STL (\d+)", sass_txt)}
    text = {m.group(1): (m.group(2), int(m.group(3)), int(m.group(4)), int(m.group(5)))
            for m in re.finditer(r"text (\S+)\s+sha256 (\w+)\s+(\d+) bytes\s+\d+ registers\s+(\d+) instructions\s+HGMMA span (\d+)", text_txt)}
    lib_t = text.get("mla_decode_sm90w_bf16")
    why = []
    for e in ("aa",) + PADS + ("np", "om"):
        r = R.get(e, {})
        t = text.get("mla_decode_sm90w_bf16_g" + e)
        out("s20h1 %-4s %s | g256 %.4f%s" % (e, " ".join("%d/%d %.4f" % (n, k // 1024, r[(n, k)]) if (n, k) in r else "%d/%d -" % (n, k // 1024) for n, k in ROWS),
                                             gmean([r[x] for x in ROWS[:2] if x in r]),
                                             " | %d instructions, %d bytes, span %d" % (t[2], t[1], t[3]) if t else ""))
    if lib_t:
        out("s20h1 lib  | %d instructions, %d bytes, span %d, .text %s" % (lib_t[2], lib_t[1], lib_t[3], lib_t[0]))
    aa_t = text.get("mla_decode_sm90w_bf16_gaa")
    if lib_t and aa_t and aa_t[0] != lib_t[0]:
        why.append("aa's .text differs from lib's")
    for e in ("aa",) + PADS:
        c = re.search(r"check %s\+w: (\d+) cases, (\d+) failed, worst rel ([0-9.e+-]+);.*?rc=(\d+)" % e, chk)
        if not (c and int(c.group(1)) >= 3 and int(c.group(2)) == 0 and int(c.group(4)) == 0):
            why.append("%s's check not clean (%s)" % (e, c.group(0) if c else "missing"))
        s, ls = sass.get("mla_decode_sm90w_bf16_g" + e), sass.get("mla_decode_sm90w_bf16")
        if s and ls and ls[0] > 0 and (s[0] != ls[0] or s[1] or s[2]):
            why.append("%s's SASS: HGMMA %d (lib %d) LDL %d STL %d" % (e, s[0], ls[0], s[1], s[2]))
        if any(x not in R.get(e, {}) for x in ROWS):
            why.append("%s's A/B incomplete" % e)
    if not why:
        a = R["aa"]
        g_aa = gmean([a[x] for x in ROWS[:2]])
        if abs(g_aa - 1) > 0.005 or abs(a[(128, 8192)] - 1) > 0.007:
            why.append("A/A guard: aa g256 %.4f, 128-row %.4f" % (g_aa, a[(128, 8192)]))
    for num, den in (("np", "pnp"), ("om", "pi2"), ("om", "px")):
        a, b = R.get(num, {}), R.get(den, {})
        both = [x for x in ROWS if x in a and x in b]
        if both:
            out("s20h1 size-matched %s/%s: %s | g256 %.4f (against lib: %s %.4f, %s %.4f)" % (
                num, den, " ".join("%d/%d %.4f" % (n, k // 1024, a[(n, k)] / b[(n, k)]) for n, k in both),
                gmean([a[x] / b[x] for x in ROWS[:2] if x in both]), num, gmean([a[x] for x in ROWS[:2] if x in a]),
                den, gmean([b[x] for x in ROWS[:2] if x in b])))
    if why:
        out("KEEP lib (size probe void: %s)" % "; ".join(why))
        return "void"
    g = {e: gmean([R[e][x] for x in ROWS[:2]]) for e in PADS}
    base = g["pz"] if g["pz"] > 1.010 else 1.0
    q = {e: g[e] / base for e in PADS}
    qs = " ".join("%s %.4f" % (e, q[e]) for e in ("pi1", "pi2", "po1", "po2", "px", "pnp"))
    ctl = "pz %.4f%s" % (g["pz"], " (divided out)" if base != 1.0 else "")
    if max(q["pi1"], q["pi2"]) >= 1.030:
        v = "B-image-whole" if max(q["po1"], q["po2"]) >= 1.030 else "B-image-loop"
    elif q["px"] >= 1.030 and max(q["pi1"], q["pi2"]) <= 1.010:
        v = "B-fetch"
    elif max(q[e] for e in ("pi1", "pi2", "po1", "po2", "px")) <= 1.010:
        v = "A"
    else:
        v = "partial"
    out("KEEP lib (size probe: %s; 256-row q %s; %s)" % (v, qs, ctl))
    return v


def self_test():
    names = ("aa",) + PADS + ("np", "om")
    chk = "".join("check %s+w: 4 cases, 0 failed, worst rel 2.1e-03; f16 ok: 0; rc=0 \n" % e for e in names)
    sass = "".join("sass mla_decode_sm90w_bf16%s: HGMMA 92 LDL 0 STL 0 DFMA 0 lines 9000\n" % ("_g" + e if e else "") for e in ("",) + ("aa",) + PADS)
    text = "text mla_decode_sm90w_bf16  sha256 ee73bf4e1df65a6a  111104 bytes  168 registers   6923 instructions  HGMMA span 4608\n" \
           "text mla_decode_sm90w_bf16_gaa  sha256 ee73bf4e1df65a6a  111104 bytes  168 registers   6923 instructions  HGMMA span 4608\n"

    def ab(rs):  # entry -> r at every row
        s = ""
        for n, k in ROWS:
            hq, sq = {256: (128, 2), 128: (128, 1), 64: (64, 1)}[n]
            s += "abb b=128,s_k=%d,h_q=%d,s_q=%d rows=%d burst=10 rounds=8 | lib+w 1000.0 us 1.000" % (k, hq, sq, n)
            for e in names:
                r = rs.get(e, 1.0)
                s += " | %s+w %.1f us %.4f" % (e, 1000 * r, 1 / r)
            s += "\n"
        return s
    q = lambda *a, **k: None
    assert decide(chk, ab({}), sass, text, q) == "A"
    assert decide(chk, ab({"pi2": 1.05, "np": 1.056, "om": 1.05}), sass, text, q) == "B-image-loop"
    assert decide(chk, ab({"pi2": 1.05, "po2": 1.04}), sass, text, q) == "B-image-whole"
    assert decide(chk, ab({"px": 1.05}), sass, text, q) == "B-fetch"
    assert decide(chk, ab({"px": 1.02}), sass, text, q) == "partial"
    assert decide(chk, ab({"pz": 1.02, "pi2": 1.03, "pi1": 1.02, "po1": 1.02, "po2": 1.02, "px": 1.02, "pnp": 1.02}), sass, text, q) == "A"
    assert decide(chk, ab({"aa": 1.01}), sass, text, q) == "void"
    assert decide(chk.replace("pi2+w: 4 cases, 0 failed", "pi2+w: 4 cases, 1 failed"), ab({}), sass, text, q) == "void"
    assert decide(chk, ab({}), sass, text.replace("gaa  sha256 ee73", "gaa  sha256 ff73"), q) == "void"
    assert decide(chk, "", sass, text, q) == "void"
    print("self-test ok")


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        self_test()
        sys.exit(0)
    rd = lambda p: open(p).read() if __import__("os").path.exists(p) else ""
    d = sys.argv[1]
    decide(rd(d + "/check.txt"), rd(d + "/ab.txt"), rd(sys.argv[2]) if len(sys.argv) > 2 else "", rd(sys.argv[3]) if len(sys.argv) > 3 else "")
