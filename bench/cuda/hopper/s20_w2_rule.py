#!/usr/bin/env python3
"""Session 20 (w2) ship rule for the lazy reference maximum in decode_sm90_wide.cu's softmax (written in
docs/notes/cuda-hopper-decode.md, "Session 20 (w2)", before any run). s20_w1_rule.py's decide() with w2's parameters:
reads <out>/check.txt and <out>/ab.txt of s14_h1_slot.sh (run by s20_w2_slot.sh), the slot's SASS lines and
sass_opclass.py --text's lines; prints per entry its rows, then last "SHIP <entry> ..." or "KEEP lib ...".

  python3 bench/cuda/hopper/s20_w2_rule.py S14_OUT_DIR SASS_TXT TEXT_TXT        (or --self-test)

r = entry time / lib time (lib = fg since session 20's call G); gw = geomean of r over 256 rows s_k 8192 / 4096 and 128
rows s_k 8192. Valid (else "KEEP lib (void: ...)"): aa's .text = lib's, aa has all four rows, |gw(aa) - 1| <= 0.004 and
every aa row within 0.006. A candidate (lb, then la) passes when its check ran >= 6 random cases (f16 among them) with 0
failed and rc 0; Q_SCALE 4 of lb (la's softmax A is lb's code) against lib on one seed: >= 3 cases, 0 failed, worst rel
<= max(1.5 x lib's, 3e-3); memcheck of its own entry 0 errors; SASS HGMMA = lib's, no LDL / STL; gw <= 0.995, every
wide row <= 1.002, 64-row <= 1.010. SHIP the first that passes (lb, la) unless la passes with gw lower by more than
0.004; else KEEP lib.
"""
import importlib.util, os, sys

here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("w1rule", os.path.join(here, "s20_w1_rule.py"))
w1 = importlib.util.module_from_spec(spec)
spec.loader.exec_module(w1)

CANDS = ("lb", "la")
W2 = dict(cands=CANDS, gate={"lb": 0.995, "la": 0.995}, printed=(), tag="s20w2", q4="lb", mem=lambda e: e, noq4=(), f16=lambda e: True,
          bits={"la": "VAR kLibVar (x932760350), VARB 262208 (kVarBGuardMax | kVarBLazyA)",
                "lb": "VAR kLibVar (x932760350), VARB 786496 (kVarBGuardMax | kVarBLazyA | kVarBLazyB)"},
          fail="gw <= 0.995 over the three 128 / 256-row rows, each <= 1.002, 64-row <= 1.010, checks clean")


def decide(chk, ab, sass_txt, text_txt, out=print):
    return w1.decide(chk, ab, sass_txt, text_txt, out, W2)


def self_test():
    names = ("aa",) + CANDS
    chk = "".join("check %s+w: 8 cases, 0 failed, worst rel 2.1e-03; f16 ok: 2; rc=0 \n" % e for e in names)
    chk += "checkq4 lb+w: 4 cases, 0 failed, worst rel 1.7e-03; rc=0\ncheckq4 lib+w: 4 cases, 0 failed, worst rel 1.7e-03; rc=0\n"
    chk += "".join("memcheck %s+w: check (%s+w): 2 cases run, 0 failed, worst rel 2.1e-03 ========= ERROR SUMMARY: 0 errors  rc=0\n" % (k, k) for k in CANDS)
    sass = "".join("sass mla_decode_sm90w_bf16%s: HGMMA 92 LDL 0 STL 0 lines 9000\n" % ("_g" + e if e else "") for e in ("",) + names)
    text = "text mla_decode_sm90w_bf16  sha256 da01af8a48e192fc  109056 bytes  168 registers   6790 instructions  HGMMA span 4475\n" \
           "text mla_decode_sm90w_bf16_gaa  sha256 da01af8a48e192fc  109056 bytes  168 registers   6790 instructions  HGMMA span 4475\n"
    ab = lambda rs, ctl=None: w1.h1.ab_text(names, rs, ctl)
    q = lambda *a, **k: None
    assert decide(chk, ab({}), sass, text, q) is None
    assert decide(chk, ab({"la": 0.990, "lb": 0.985}), sass, text, q) == "lb"
    assert decide(chk, ab({"la": 0.985, "lb": 0.988}), sass, text, q) == "lb"
    assert decide(chk, ab({"la": 0.980, "lb": 0.988}), sass, text, q) == "la"
    assert decide(chk, ab({"la": 0.990, "lb": 0.996}), sass, text, q) == "la"
    assert decide(chk, ab({"la": 0.996, "lb": 0.996}), sass, text, q) is None
    assert decide(chk, ab({"lb": 0.985}, {"lb": 1.02}), sass, text, q) is None
    assert decide(chk, ab({"lb": 0.985, "aa": 1.006}), sass, text, q) is None
    assert decide(chk.replace("lb+w: 8 cases, 0 failed", "lb+w: 8 cases, 1 failed"), ab({"lb": 0.985, "la": 0.99}), sass, text, q) == "la"
    assert decide(chk.replace("checkq4 lb+w: 4 cases, 0 failed, worst rel 1.7e-03", "checkq4 lb+w: 4 cases, 0 failed, worst rel 9.7e-03"), ab({"lb": 0.985, "la": 0.99}), sass, text, q) is None
    assert decide(chk.replace("memcheck lb+w: check (lb+w): 2 cases run, 0 failed, worst rel 2.1e-03 ========= ERROR SUMMARY: 0 errors",
                              "memcheck lb+w: check (lb+w): 2 cases run, 0 failed, worst rel 2.1e-03 ========= ERROR SUMMARY: 3 errors"), ab({"lb": 0.985, "la": 0.99}), sass, text, q) == "la"
    assert decide(chk.replace("f16 ok: 2", "f16 ok: 0"), ab({"lb": 0.985}), sass, text, q) is None
    assert decide(chk, ab({"lb": 0.985}), sass.replace("_glb: HGMMA 92 LDL 0", "_glb: HGMMA 92 LDL 4"), text, q) is None
    assert decide(chk, ab({"lb": 0.985}), sass, text.replace("gaa  sha256 da01", "gaa  sha256 ee73"), q) is None
    assert decide(chk, "", sass, text, q) is None
    print("self-test ok")


if __name__ == "__main__":
    w1.cli(decide, self_test)
