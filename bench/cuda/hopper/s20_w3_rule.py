#!/usr/bin/env python3
"""Session 20 (w3) ship rule for the tree maxima, softmax B's second lazy vote and P_A's late arrive in decode_sm90_wide.cu (written in
docs/notes/cuda-hopper-decode.md, "Session 20 (w3)", before any run). s20_w1_rule.py's decide() with w3's parameters:
reads <out>/check.txt and <out>/ab.txt of s14_h1_slot.sh (run by s20_w3_slot.sh), the slot's SASS lines and
sass_opclass.py --text's lines; prints per entry its rows, then last "SHIP <entry> ..." or "KEEP lib ...".

  python3 bench/cuda/hopper/s20_w3_rule.py S14_OUT_DIR SASS_TXT TEXT_TXT        (or --self-test)

r = entry time / lib time (lib = lb since session 20's call H); gw = geomean of r over 256 rows s_k 8192 / 4096 and 128
rows s_k 8192. Valid (else "KEEP lib (void: ...)"): aa's .text = lib's, aa has all four rows, |gw(aa) - 1| <= 0.004 and
every aa row within 0.006. A candidate (lx, pf, lt, lc) passes when its check ran >= 6 random cases (f16 among them)
with 0 failed and rc 0; Q_SCALE 4 of lx (all three changes) against lib on one seed: >= 3 cases, 0 failed, worst rel <=
max(1.5 x lib's, 3e-3); memcheck (pf its own, lt / lc / lx lx's) 0 errors; SASS HGMMA = lib's, no LDL / STL; gw <= 0.995,
every wide row <= 1.002, 64-row <= 1.010. SHIP the first that passes (lx, pf, lt, lc) unless a later one passes with gw
lower by more than 0.004; else KEEP lib.
"""
import importlib.util, os, sys

here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("w1rule", os.path.join(here, "s20_w1_rule.py"))
w1 = importlib.util.module_from_spec(spec)
spec.loader.exec_module(w1)

CANDS = ("lx", "pf", "lt", "lc")
W3 = dict(cands=CANDS, gate={e: 0.995 for e in CANDS}, printed=(), tag="s20w3", q4="lx", mem=lambda e: "pf" if e == "pf" else "lx", noq4=(),
          f16=lambda e: True,
          bits={"lt": "VAR kLibVar (x932760350), VARB 269221952 (kLibVarB | kVarBTreeMax)",
                "lc": "VAR kLibVar (x932760350), VARB 537657408 (kLibVarB | kVarBLazyC)",
                "pf": "VAR kLibVar (x932760350), VARB 135004224 (kLibVarB | kVarBArriveLate)",
                "lx": "VAR kLibVar (x932760350), VARB 940310592 (kLibVarB | kVarBTreeMax | kVarBLazyC | kVarBArriveLate)"},
          fail="gw <= 0.995 over the three 128 / 256-row rows, each <= 1.002, 64-row <= 1.010, checks clean")


def decide(chk, ab, sass_txt, text_txt, out=print):
    return w1.decide(chk, ab, sass_txt, text_txt, out, W3)


def self_test():
    names = ("aa",) + CANDS
    chk = "".join("check %s+w: 8 cases, 0 failed, worst rel 2.1e-03; f16 ok: 2; rc=0 \n" % e for e in names)
    chk += "checkq4 lx+w: 4 cases, 0 failed, worst rel 1.7e-03; rc=0\ncheckq4 lib+w: 4 cases, 0 failed, worst rel 1.7e-03; rc=0\n"
    chk += "".join("memcheck %s+w: check (%s+w): 2 cases run, 0 failed, worst rel 2.1e-03 ========= ERROR SUMMARY: 0 errors  rc=0\n" % (k, k) for k in ("pf", "lx"))
    sass = "".join("sass mla_decode_sm90w_bf16%s: HGMMA 92 LDL 0 STL 0 lines 9000\n" % ("_g" + e if e else "") for e in ("",) + names)
    text = "text mla_decode_sm90w_bf16  sha256 e191d1cce6607089  109696 bytes  168 registers   6831 instructions  HGMMA span 4488\n" \
           "text mla_decode_sm90w_bf16_gaa  sha256 e191d1cce6607089  109696 bytes  168 registers   6831 instructions  HGMMA span 4488\n"
    ab = lambda rs, ctl=None: w1.h1.ab_text(names, rs, ctl)
    q = lambda *a, **k: None
    assert decide(chk, ab({}), sass, text, q) is None
    assert decide(chk, ab({"lx": 0.990, "pf": 0.992, "lt": 0.998, "lc": 0.998}), sass, text, q) == "lx"
    assert decide(chk, ab({"lx": 0.993, "pf": 0.988, "lt": 0.998}), sass, text, q) == "pf"
    assert decide(chk, ab({"lx": 0.996, "pf": 0.994, "lt": 0.993}), sass, text, q) == "pf"
    assert decide(chk, ab({"lx": 0.996, "pf": 0.997, "lt": 0.996, "lc": 0.993}), sass, text, q) == "lc"
    assert decide(chk, ab({"lx": 0.996, "pf": 0.996, "lt": 0.996, "lc": 0.996}), sass, text, q) is None
    assert decide(chk, ab({"lx": 0.985}, {"lx": 1.02}), sass, text, q) is None
    assert decide(chk, ab({"lx": 0.985, "aa": 1.006}), sass, text, q) is None
    assert decide(chk.replace("lx+w: 8 cases, 0 failed", "lx+w: 8 cases, 1 failed"), ab({"lx": 0.985, "pf": 0.99}), sass, text, q) == "pf"
    assert decide(chk.replace("checkq4 lx+w: 4 cases, 0 failed, worst rel 1.7e-03", "checkq4 lx+w: 4 cases, 0 failed, worst rel 9.7e-03"), ab({"lx": 0.985, "pf": 0.99}), sass, text, q) is None
    assert decide(chk.replace("memcheck lx+w: check (lx+w): 2 cases run, 0 failed, worst rel 2.1e-03 ========= ERROR SUMMARY: 0 errors",
                              "memcheck lx+w: check (lx+w): 2 cases run, 0 failed, worst rel 2.1e-03 ========= ERROR SUMMARY: 3 errors"), ab({"lx": 0.985, "lt": 0.99, "pf": 0.99}), sass, text, q) == "pf"
    assert decide(chk.replace("f16 ok: 2", "f16 ok: 0"), ab({"lx": 0.985}), sass, text, q) is None
    assert decide(chk, ab({"lx": 0.985}), sass.replace("_glx: HGMMA 92 LDL 0", "_glx: HGMMA 92 LDL 4"), text, q) is None
    assert decide(chk, ab({"lx": 0.985}), sass, text.replace("gaa  sha256 e191", "gaa  sha256 ee73"), q) is None
    assert decide(chk, "", sass, text, q) is None
    print("self-test ok")


if __name__ == "__main__":
    w1.cli(decide, self_test)
