#!/usr/bin/env python3
"""Session 20 (w1) ship rule for the softmax with fewer instructions in decode_sm90_wide.cu (written in
docs/notes/cuda-hopper-decode.md, "Session 20 (w1)", before any run). Reads <out>/check.txt and <out>/ab.txt of
s14_h1_slot.sh (run by s20_w1_slot.sh), the slot's SASS lines and sass_opclass.py --text's lines; prints per entry its
rows, then last "SHIP <entry> ..." or "KEEP lib ...".

  python3 bench/cuda/hopper/s20_w1_rule.py S14_OUT_DIR SASS_TXT TEXT_TXT        (or --self-test)

r = entry time / lib time (abb prints lib / entry; r is its inverse, below 1: the entry is faster). Rows (b 128): 256
rows s_k 8192 / 4096 (h_q 128 s_q 2), 128 rows (h_q 128 s_q 1, s_k 8192), the 64-row control (h_q 64 s_q 1, s_k 8192).
gw = geomean of r over the three wide rows (256 / 8192, 256 / 4096, 128 / 8192).
Valid (else "KEEP lib (void: ...)"): aa's .text sha256 = lib's (where --text ran); all four rows came for lib and aa;
the A/A guard |gw(aa) - 1| <= 0.004 and every aa row within 0.006 of 1.
A candidate (fg, fs, o2, gm: in that order of preference; om is printed, never shipped) passes when:
  - its check ran >= 6 random cases (f16 among them: f16 ok >= 1) with 0 failed and rc 0;
  - Q_SCALE 4 (fg and lib, on one seed; not o2, whose roundings are om's): >= 3 cases, 0 failed, rc 0, worst rel <=
    max(1.5 x lib's, 3e-3);
  - memcheck: o2's own; fg's for fs / fg / gm (their code is fg's less one part): 0 errors, rc 0;
  - its SASS (cuobjdump, where it ran): HGMMA = lib's, no LDL / STL;
  - gw <= G (fs / fg / gm: 0.995, the same products with fewer instructions; o2: 0.990, a new order), every wide
    row <= 1.002, and the 64-row control <= 1.010.
SHIP the first that passes, unless a later one passes with gw lower by more than 0.004 (then that one). Else KEEP lib.
Library bits of each: fs = kLibVar | kVarFoldScale (x932760350, VARB 0); fg = x932760350 with VARB kVarBGuardMax (64);
gm = x932758302 with VARB 64; o2 = x932758302 with VARB 132 (kVarBOwnMax | kVarBOwnMax2).
"""
import importlib.util, os, re, sys

here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("h1rule", os.path.join(here, "s20_h1_rule.py"))
h1 = importlib.util.module_from_spec(spec)
spec.loader.exec_module(h1)
gmean, rows_of = h1.gmean, h1.rows_of

ROWS = h1.ROWS  # (256, 8192), (256, 4096), (128, 8192), (64, 8192)
WIDE = ROWS[:3]
CANDS = ("fg", "fs", "o2", "gm")
GATE = {"fg": 0.995, "fs": 0.995, "gm": 0.995, "o2": 0.990}
BITS = {"fs": "VAR x932760350 (kLibVar | kVarFoldScale), VARB 0", "fg": "VAR x932760350 (kLibVar | kVarFoldScale), VARB 64 (kVarBGuardMax)",
        "gm": "VAR x932758302 (kLibVar), VARB 64 (kVarBGuardMax)", "o2": "VAR x932758302 (kLibVar), VARB 132 (kVarBOwnMax | kVarBOwnMax2)"}


def chk_of(chk, tag):
    m = re.search(re.escape(tag) + r": (\d+) cases, (\d+) failed, worst rel ([0-9.e+-]+)(?:; f16 ok: (\d+))?.*?rc=(\d+)", chk)
    return (int(m.group(1)), int(m.group(2)), float(m.group(3)), int(m.group(4) or 0), int(m.group(5))) if m else None


# The rule's parameters (session 20 w2's s20_w2_rule.py passes its own): candidates in order of preference, their gates
# and library bits, the entries printed but never shipped, the line tag, the Q_SCALE 4 entry, the memcheck entry of
# each candidate, and whether a candidate's check needs f16 cases.
W1 = dict(cands=CANDS, gate=GATE, bits=BITS, printed=("om",), tag="s20w1", q4="fg", mem=lambda e: "o2" if e == "o2" else "fg",
          noq4=("o2",), f16=lambda e: e != "gm", fail="gw <= 0.995 (o2: 0.990) over the three 128 / 256-row rows, each <= 1.002, 64-row <= 1.010, checks clean")


def decide(chk, ab, sass_txt, text_txt, out=print, cfg=W1):
    CANDS, GATE, BITS, tag = cfg["cands"], cfg["gate"], cfg["bits"], cfg["tag"]
    R = rows_of(ab)
    sass, text = h1.sass_text_of(sass_txt, text_txt)
    lib_t = text.get("mla_decode_sm90w_bf16")
    for e in ("aa",) + CANDS + cfg["printed"]:
        r = R.get(e, {})
        t = text.get("mla_decode_sm90w_bf16_g" + e)
        out("%s %-3s %s | gw %.4f%s" % (tag, e, " ".join("%d/%d %.4f" % (n, k // 1024, r[(n, k)]) if (n, k) in r else "%d/%d -" % (n, k // 1024) for n, k in ROWS),
                                          gmean([r[x] for x in WIDE if x in r]),
                                          " | %d instructions, %d bytes, span %d" % (t[2], t[1], t[3]) if t else ""))
    if lib_t:
        out("%s lib | %d instructions, %d bytes, span %d, .text %s" % (tag, lib_t[2], lib_t[1], lib_t[3], lib_t[0]))
    why = []
    aa_t = text.get("mla_decode_sm90w_bf16_gaa")
    if lib_t and aa_t and aa_t[0] != lib_t[0]:
        why.append("aa's .text differs from lib's")
    a = R.get("aa", {})
    if any(x not in a for x in ROWS):
        why.append("aa's A/B incomplete")
    elif abs(gmean([a[x] for x in WIDE]) - 1) > 0.004 or max(abs(a[x] - 1) for x in ROWS) > 0.006:
        why.append("A/A guard: aa %s" % " ".join("%.4f" % a[x] for x in ROWS))
    if why:
        out("KEEP lib (void: %s)" % "; ".join(why))
        return None
    q4, q4l = chk_of(chk, "checkq4 %s+w" % cfg["q4"]), chk_of(chk, "checkq4 lib+w")
    q4ok = bool(q4 and q4l and q4[0] >= 3 and q4[1] == 0 and q4[4] == 0 and q4[2] <= max(1.5 * q4l[2], 3e-3))
    mem = {k: re.search(r"memcheck %s\+w: .*ERROR SUMMARY: 0 errors.*rc=0" % k, chk) is not None for k in set(map(cfg["mem"], CANDS))}
    ls = sass.get("mla_decode_sm90w_bf16")
    passed = []
    for e in CANDS:
        c = chk_of(chk, "check %s+w" % e)
        s = sass.get("mla_decode_sm90w_bf16_g" + e)
        sass_ok = not (s and ls and ls[0] > 0 and (s[0] != ls[0] or s[1] or s[2]))
        m = mem[cfg["mem"](e)]
        clean = bool(c and c[0] >= 6 and c[1] == 0 and c[4] == 0 and c[3] >= (1 if cfg["f16"](e) else 0)) and (q4ok or e in cfg["noq4"]) and m and sass_ok
        r = R.get(e, {})
        full = all(x in r for x in ROWS)
        gw = gmean([r[x] for x in WIDE]) if full else 0.0
        ok = clean and full and gw <= GATE[e] and max(r[x] for x in WIDE) <= 1.002 and r[ROWS[3]] <= 1.010
        out("%s %s: checks clean %s (check %s, q4 %s / lib %s, memcheck %s, sass %s), gw %.4f, worst wide %s, 64-row %s -> %s" % (
            tag, e, clean, c, q4, q4l, m, s, gw, "%.4f" % max(r[x] for x in WIDE) if full else "-", "%.4f" % r[ROWS[3]] if full else "-",
            "passes" if ok else "fails"))
        if ok:
            passed.append((e, gw))
    if not passed:
        out("KEEP lib (no candidate passes: %s)" % cfg["fail"])
        return None
    best = passed[0]
    for e, gw in passed[1:]:
        if gw < best[1] - 0.004:
            best = (e, gw)
    r = R[best[0]]
    out("SHIP %s (gw %.4f: %s; library: %s; the lead's final call checks the library build)" % (
        best[0], best[1], " ".join("%d/%d %.4f" % (n, k // 1024, r[(n, k)]) for n, k in ROWS), BITS[best[0]]))
    return best[0]


def self_test():
    names = ("aa",) + CANDS + ("om",)
    chk = "".join("check %s+w: 8 cases, 0 failed, worst rel 2.1e-03; f16 ok: 2; rc=0 \n" % e for e in names)
    chk += "checkq4 fg+w: 4 cases, 0 failed, worst rel 1.7e-03; rc=0\ncheckq4 lib+w: 4 cases, 0 failed, worst rel 1.7e-03; rc=0\n"
    chk += "".join("memcheck %s+w: check (%s+w): 2 cases run, 0 failed, worst rel 2.1e-03 ========= ERROR SUMMARY: 0 errors  rc=0\n" % (k, k) for k in ("fg", "o2"))
    sass = "".join("sass mla_decode_sm90w_bf16%s: HGMMA 92 LDL 0 STL 0 lines 9000\n" % ("_g" + e if e else "") for e in ("",) + names)
    text = "text mla_decode_sm90w_bf16  sha256 ee73bf4e1df65a6a  111104 bytes  168 registers   6923 instructions  HGMMA span 4608\n" \
           "text mla_decode_sm90w_bf16_gaa  sha256 ee73bf4e1df65a6a  111104 bytes  168 registers   6923 instructions  HGMMA span 4608\n"

    ab = lambda rs, ctl=None: h1.ab_text(names, rs, ctl)
    q = lambda *a, **k: None
    assert decide(chk, ab({}), sass, text, q) is None
    assert decide(chk, ab({"fs": 0.985, "fg": 0.984, "gm": 0.999}), sass, text, q) == "fg"
    assert decide(chk, ab({"fs": 0.980, "fg": 0.991, "gm": 0.999}), sass, text, q) == "fs"
    assert decide(chk, ab({"fs": 0.980, "fg": 0.983}), sass, text, q) == "fg"
    assert decide(chk, ab({"fs": 0.996, "fg": 0.996}), sass, text, q) is None
    assert decide(chk, ab({"fs": 0.994, "fg": 0.996}), sass, text, q) == "fs"
    assert decide(chk, ab({"o2": 0.992}), sass, text, q) is None
    assert decide(chk, ab({"fg": 0.985}, {"fg": 1.02}), sass, text, q) is None
    assert decide(chk, ab({"fg": 0.985, "aa": 1.006}), sass, text, q) is None
    assert decide(chk.replace("fg+w: 8 cases, 0 failed", "fg+w: 8 cases, 1 failed"), ab({"fg": 0.985}), sass, text, q) is None
    assert decide(chk.replace("fg+w: 8 cases, 0 failed", "fg+w: 8 cases, 1 failed"), ab({"fg": 0.985, "fs": 0.986}), sass, text, q) == "fs"
    assert decide(chk.replace("ERROR SUMMARY: 0 errors", "ERROR SUMMARY: 2 errors"), ab({"fg": 0.985, "fs": 0.986}), sass, text, q) is None
    assert decide(chk.replace("ERROR SUMMARY: 0 errors", "ERROR SUMMARY: 2 errors", 1), ab({"fg": 0.985, "o2": 0.986}), sass, text, q) == "o2"
    assert decide(chk, ab({"fg": 0.990, "o2": 0.980}), sass, text, q) == "o2"
    assert decide(chk, ab({"fg": 0.990, "o2": 0.988}), sass, text, q) == "fg"
    assert decide(chk, ab({"om": 0.95}), sass, text, q) is None
    assert decide(chk.replace("checkq4 fg+w: 4 cases, 0 failed, worst rel 1.7e-03", "checkq4 fg+w: 4 cases, 0 failed, worst rel 9.7e-03"), ab({"fg": 0.985}), sass, text, q) is None
    assert decide(chk, ab({"fg": 0.985}), sass.replace("_gfg: HGMMA 92 LDL 0", "_gfg: HGMMA 92 LDL 4"), text, q) is None
    assert decide(chk, ab({"fg": 0.985}), sass, text.replace("gaa  sha256 ee73", "gaa  sha256 ff73"), q) is None
    assert decide(chk, "", sass, text, q) is None
    print("self-test ok")


def cli(decide, self_test, argv=None):
    """The rules' command line (s20_w1 / w2 / w3_rule.py): --self-test, or OUT_DIR [SASS_TXT [TEXT_TXT]]."""
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--self-test"]:
        self_test()
        return
    rd = lambda p: open(p).read() if os.path.exists(p) else ""
    d = argv[0]
    decide(rd(d + "/check.txt"), rd(d + "/ab.txt"), rd(argv[1]) if len(argv) > 1 else "", rd(argv[2]) if len(argv) > 2 else "")


if __name__ == "__main__":
    cli(decide, self_test)
