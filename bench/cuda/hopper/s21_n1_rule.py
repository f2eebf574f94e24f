#!/usr/bin/env python3
"""Session 21 (n1): the ship rule of the lazy reference maximum in decode_sm90.cu (kNVarLazy; the library candidate
-DMLA_SM90_LIB_VAR=75), written in docs/notes/cuda-hopper-decode.md, "Session 21 (n1)", before any run. Reads the log
of s21_n1_slot.sh; prints the rows and the verdicts, last "SHIP x75 (...)" or "KEEP x11 (...)".

  python3 bench/cuda/hopper/s21_n1_rule.py LOG        (or --self-test)

r = x75's back-to-back time / x11's (x11 = the shipped library's code) in the interleaved abq.
Valid (else "KEEP x11 (void: ...)"): the .text of x11 / xaa / x75 is the library builds' (hashes below); all eleven abq
rows with the three entries; the A/A guard: |geomean of xaa's r over the eleven rows - 1| <= 0.004, every b = 128 row of
xaa within 0.006 and the b = 1 / uneven rows within 0.010.
Checks (else "KEEP x11 (checks: ...)"): x75's random check >= 16 cases, 0 failed, rc 0, f16, causal and split cases
among them, worst rel <= max(1.5 x x11's on the same seed, 3e-3); CHECK_SHORT >= 8 cases, 0 failed, rc 0, at least one
row without a key; Q_SCALE 4 >= 6 cases, 0 failed, rc 0, worst rel <= max(1.5 x x11's, 3e-3); memcheck and synccheck of
x75: at least one case run, "0 errors".
Speed: g32 = geomean of r over the six b = 128 32-row rows <= 0.990; every row <= 1.010; every 16-row row (b = 128
s_k 1024 / 4096 / 8192 and b = 1 s_k 32768) <= 1.005. All of it: SHIP x75 (MLA_SM90_LIB_VAR 11 -> 75). Else KEEP x11.
"""
import math
import re
import os
import sys
# The per-row bound of the A/A guard at b = 128 (the lead's third run, session 21: N1_AA_ROW=0.010; default 0.006).
AA_ROW = float(os.environ.get("N1_AA_ROW", "0.006"))

TEXT = {
    "x11": {"bf16_n16": "018e281d5003ede2", "bf16_n32": "95a259d7181a2f24", "f16_n16": "8acc5ac78ec7d0b4", "f16_n32": "989681513dfa481c"},
    "x75": {"bf16_n16": "4a56bf882152c992", "bf16_n32": "1e6dc61bce1d53a7", "f16_n16": "1f35ef2533d65cd0", "f16_n32": "8b9391e73814e71d"},
}
TEXT["xaa"] = TEXT["x11"]
# (b, s_k, h_q, s_q) -> the prediction's centre (time ratio x75 / x11), written before any run
ROWS = {
    ("128", "8192", "32", "1"): 0.965, ("128", "8192", "16", "2"): 0.965, ("128", "8192", "16", "1"): 1.000,
    ("128", "4096", "32", "1"): 0.970, ("128", "4096", "16", "2"): 0.970, ("128", "4096", "16", "1"): 0.995,
    ("128", "1024", "32", "1"): 0.980, ("128", "1024", "16", "2"): 0.980, ("128", "1024", "16", "1"): 0.990,
    ("1", "32768", "16", "1"): 0.990, ("4", "4641:45118:1730:1696", "16", "2"): 0.980,
}
ROWS32 = [k for k in ROWS if k[0] == "128" and int(k[2]) * int(k[3]) == 32]
ROWS16 = [k for k in ROWS if int(k[2]) * int(k[3]) == 16]
ABQ = re.compile(r"^abq b=(\d+) s_k=([\d:]+) h_q=(\d+) s_q=(\d+) rows=\d+ rounds=\d+((?: \| \w+ [\d.]+ us [\d.]+ GB/s r [\d.]+ single [\d.]+ r [\d.]+)+)")
ARM = re.compile(r"\| (\w+) ([\d.]+) us [\d.]+ GB/s r ([\d.]+) single ([\d.]+) r ([\d.]+)")
CHK = re.compile(r"^(\w+): check \([^)]*\): (\d+) cases run, (\d+) failed, worst rel ([\d.e+-]+) \| "
                 r"f16 (\d+), causal (\d+), split (\d+), rows without a key (\d+) \|(.*)$")


def geo(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


def parse(text):
    abq, chk, txt = {}, {}, {}
    for line in text.splitlines():
        m = ABQ.match(line)
        if m:
            abq[m.group(1, 2, 3, 4)] = {a: float(r) for a, _t, r, _s, _rs in ARM.findall(m.group(5))}
            continue
        m = CHK.match(line)
        if m:
            rest = m.group(9)
            chk[m.group(1)] = dict(n=int(m.group(2)), fail=int(m.group(3)), worst=float(m.group(4)), f16=int(m.group(5)),
                                   causal=int(m.group(6)), split=int(m.group(7)), empty=int(m.group(8)), rc0="rc=0" in rest,
                                   errors0="ERROR SUMMARY: 0 errors" in rest)
            continue
        m = re.match(r"^text mla_decode_sm90_(x11|x75|xaa)_(\w+_n\d+) ([0-9a-f]{16})$", line)
        if m:
            txt[(m.group(1), m.group(2))] = m.group(3)
    return abq, chk, txt


def decide(text, out=print):
    abq, chk, txt = parse(text)
    for k in ROWS:
        if k in abq:
            a = abq[k]
            out("s21n1 b=%s s_k=%s h_q=%s s_q=%s: x75 %.4f (predicted %.3f) xaa %.4f" % (k + (a.get("x75", 0), ROWS[k], a.get("xaa", 0))))
    bad = ["%s %s %s" % (e, v, txt.get((e, v), "missing")) for e in TEXT for v in TEXT[e] if txt.get((e, v)) != TEXT[e][v]]
    if bad:
        return "KEEP x11 (void: machine code not the library builds': %s)" % ", ".join(bad)
    miss = ["b=%s s_k=%s h_q=%s s_q=%s" % k for k in ROWS if k not in abq or not all(e in abq[k] for e in ("x11", "x75", "xaa"))]
    if miss:
        return "KEEP x11 (void: abq rows missing: %s)" % "; ".join(miss)
    gaa = geo([abq[k]["xaa"] for k in ROWS])
    aaBad = [k for k in ROWS if abs(abq[k]["xaa"] - 1) > (AA_ROW if k[0] == "128" else 0.010)]
    if abs(gaa - 1) > 0.004 or aaBad:
        return "KEEP x11 (void: A/A guard, xaa geomean %.4f, rows off: %s)" % (gaa, "; ".join("%s/%s/%sx%s %.4f" % (k + (abq[k]["xaa"],)) for k in aaBad))
    c = {k: chk.get(k) for k in ("check_x75", "check_x11", "short_x75", "q4_x75", "q4_x11", "memcheck_x75", "synccheck_x75")}
    why = []
    if not c["check_x75"] or c["check_x75"]["n"] < 16 or c["check_x75"]["fail"] or not c["check_x75"]["rc0"] or \
            min(c["check_x75"][f] for f in ("f16", "causal", "split")) < 1:
        why.append("random check %s" % c["check_x75"])
    elif c["check_x75"]["worst"] > max(1.5 * (c["check_x11"] or {}).get("worst", 0), 3e-3):
        why.append("worst rel %.3e against x11's %s" % (c["check_x75"]["worst"], (c["check_x11"] or {}).get("worst")))
    if not c["short_x75"] or c["short_x75"]["n"] < 8 or c["short_x75"]["fail"] or not c["short_x75"]["rc0"] or c["short_x75"]["empty"] < 1:
        why.append("short check %s (x11: %s)" % (c["short_x75"], chk.get("short_x11")))
    if not c["q4_x75"] or c["q4_x75"]["n"] < 6 or c["q4_x75"]["fail"] or not c["q4_x75"]["rc0"] or \
            c["q4_x75"]["worst"] > max(1.5 * (c["q4_x11"] or {}).get("worst", 0), 3e-3):
        why.append("Q_SCALE 4 check %s (x11: %s)" % (c["q4_x75"], c["q4_x11"]))
    for s in ("memcheck_x75", "synccheck_x75"):
        if not c[s] or c[s]["n"] < 1 or not c[s]["errors0"]:
            why.append("%s %s" % (s, c[s]))
    if why:
        return "KEEP x11 (checks: %s)" % "; ".join(why)
    r = {k: abq[k]["x75"] for k in ROWS}
    g32 = geo([r[k] for k in ROWS32])
    desc = "g32 %.4f, 32-row rows %s, 16-row rows %s, uneven %.4f, xaa geomean %.4f" % (
        g32, " ".join("%.4f" % r[k] for k in ROWS32), " ".join("%.4f" % r[k] for k in ROWS16), r[("4", "4641:45118:1730:1696", "16", "2")], gaa)
    over = ["%s/%s/%sx%s %.4f" % (k + (r[k],)) for k in ROWS if r[k] > 1.010 or (k in ROWS16 and r[k] > 1.005)]
    if g32 > 0.990 or over:
        return "KEEP x11 (speed: %s%s; the rule: g32 <= 0.990, every row <= 1.010, 16-row rows <= 1.005)" % (desc, "; over: " + ", ".join(over) if over else "")
    return "SHIP x75 (MLA_SM90_LIB_VAR 11 -> 75; checks clean; %s)" % desc


def self_test():
    def log(r75, raa=None, chk=None, txt=None):
        lines = []
        for k in ROWS:
            if k in (r75 or {}) or r75 is None:
                x = (r75 or {}).get(k, 0.98)
                a = (raa or {}).get(k, 1.001)
                lines.append("abq b=%s s_k=%s h_q=%s s_q=%s rows=32 rounds=10 | x11 300.00 us 4000 GB/s r 1.0000 single 310.00 r 1.0000 | "
                             "x75 %.2f us 4100 GB/s r %.4f single 305.00 r 0.9800 | xaa %.2f us 4000 GB/s r %.4f single 310.00 r 1.0000" % (k + (300 * x, x, 300 * a, a)))
        c = chk or {}
        for name, n, w, emp in (("check_x75", 24, 2.1e-3, 0), ("check_x11", 24, 2.0e-3, 0), ("short_x75", 16, 2.0e-3, 5), ("short_x11", 16, 2.0e-3, 5),
                                ("q4_x75", 12, 2.5e-3, 0), ("q4_x11", 12, 2.4e-3, 0), ("memcheck_x75", 3, 2.0e-3, 1), ("synccheck_x75", 2, 2.0e-3, 1)):
            n, fail, w = c.get(name, (n, 0, w))
            san = "========= ERROR SUMMARY: 0 errors" if "check_x75" in name and name != "check_x75" else ""
            lines.append("%s: check (x75): %d cases run, %d failed, worst rel %.3e | f16 3, causal 5, split 4, rows without a key %d | %s rc=0 " % (name, n, fail, w, emp, san))
        for e in TEXT:
            for v in TEXT[e]:
                lines.append("text mla_decode_sm90_%s_%s %s" % (e, v, (txt or {}).get((e, v), TEXT[e][v])))
        return "\n".join(lines)
    q = lambda *a, **k: None
    k8 = ("128", "8192", "32", "1")
    k16 = ("128", "8192", "16", "1")
    assert decide(log(None), q).startswith("SHIP x75"), decide(log(None), q)
    assert decide(log({k: 0.995 for k in ROWS}), q).startswith("KEEP x11 (speed")
    assert decide(log({**{k: 0.98 for k in ROWS}, k16: 1.006}), q).startswith("KEEP x11 (speed")
    assert decide(log({**{k: 0.98 for k in ROWS}, k8: 1.011}), q).startswith("KEEP x11 (speed")
    assert decide(log(None, raa={k8: 1.007}), q).startswith("KEEP x11 (void: A/A")
    assert decide(log(None, raa={("1", "32768", "16", "1"): 1.009}), q).startswith("SHIP x75")
    assert decide(log(None, chk={"check_x75": (24, 1, 2e-3)}), q).startswith("KEEP x11 (checks")
    assert decide(log(None, chk={"check_x75": (24, 0, 5e-3)}), q).startswith("KEEP x11 (checks")
    assert decide(log(None, chk={"q4_x75": (12, 0, 3.5e-3)}), q).startswith("SHIP x75")
    assert decide(log(None, chk={"q4_x75": (12, 0, 4.0e-3), "q4_x11": (12, 0, 2.0e-3)}), q).startswith("KEEP x11 (checks")
    assert decide(log(None, chk={"short_x75": (4, 0, 2e-3)}), q).startswith("KEEP x11 (checks")
    assert decide(log(None, txt={("x75", "f16_n32"): "0" * 16}), q).startswith("KEEP x11 (void: machine")
    assert decide(log({}), q).startswith("KEEP x11 (void: abq rows missing")
    assert decide(log(None).replace("ERROR SUMMARY: 0 errors", "ERROR SUMMARY: 2 errors", 1), q).startswith("KEEP x11 (checks")
    assert decide("", q).startswith("KEEP x11 (void")
    print("self-test ok")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--self-test":
        self_test()
    else:
        print(decide(open(sys.argv[1]).read()))
