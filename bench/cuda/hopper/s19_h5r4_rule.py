#!/usr/bin/env python3
"""Session 19 h5 round 4's ship rule (docs/notes/cuda-hopper-decode.md, "Session 19 h5 round 4"), written before any run.

Reads the slot's log.txt. SHIP x11 (the kNVarQTma decode: next, its library path) when all of:
  1. the x11 check ran 12 cases with 0 failed;
  2. one at a time, x11/lib <= 0.98 at b=1 s_k 32768, <= 0.99 at b=1 s_k 8192, <= 1.01 at b=128 s_k 1024 h16;
  3. back to back, x11/lib <= 1.01 at each of the three;
  4. at b=1 s_k 32768, x11 was under lib one at a time in at least 4 of the 5 rounds (not one lucky median).
Otherwise KEEP lib. The entry-chain probe decides nothing here (it is read in the note).
Last line printed: SHIP x11 (...) or KEEP lib (...). `--self-test` checks the rule on made-up logs.
"""
import re
import sys

CFGS = [("1", "32768", 0.98), ("1", "8192", 0.99), ("128", "1024", 1.01)]
QT = re.compile(r"^qtma b=(\d+) s_k=(\d+) h_q=16 s_q=1 rounds=\d+ \| lib back to back ([\d.]+) one at a time ([\d.]+) \| x11 back to back ([\d.]+) "
                r"one at a time ([\d.]+) \| x11/lib back to back ([\d.]+) one at a time ([\d.]+)")
ROUNDS = re.compile(r"^  rounds \(back to back lib/x11, one at a time lib/x11\):(.*)$")


def decide(text):
    if not re.search(r"check x11 rc=0: check \([^)]*\): 12 cases run, 0 failed", text):
        return "KEEP lib (the x11 check did not pass 12 cases with 0 failed)"
    got, rounds = {}, {}
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = QT.match(line)
        if not m:
            continue
        key = (m.group(1), m.group(2))
        got[key] = (float(m.group(7)), float(m.group(8)))
        if i + 1 < len(lines):
            r = ROUNDS.match(lines[i + 1])
            if r:
                rounds[key] = [tuple(float(x) for x in re.split(r"[/,]", tok)) for tok in r.group(1).split()]
    miss = [b + "x" + s for b, s, _ in CFGS if (b, s) not in got]
    if miss:
        return "KEEP lib (timing missing: %s)" % ", ".join(miss)
    desc = "; ".join("b=%s s_k %s one %.4f b2b %.4f" % (b, s, got[(b, s)][1], got[(b, s)][0]) for b, s, _ in CFGS)
    bad = [b + "x" + s for b, s, lim in CFGS if got[(b, s)][1] > lim or got[(b, s)][0] > 1.01]
    if bad:
        return "KEEP lib (over the rule at %s: %s)" % (", ".join(bad), desc)
    rs = rounds.get(("1", "32768"), [])
    wins = sum(1 for r in rs if len(r) == 4 and r[3] < r[2])
    if wins < 4:
        return "KEEP lib (b=1 s_k 32768: x11 under lib one at a time in %d of %d rounds: %s)" % (wins, len(rs), desc)
    return "SHIP x11 (%s; b=1 s_k 32768 won %d of %d rounds)" % (desc, wins, len(rs))


def self_test():
    def log(r32=(0.99, 0.97), r8=(0.99, 0.97), r128=(1.0, 1.0), check=True, wins=5):
        out = ["[+1s] check x11 rc=0: check (x11): 12 cases run, %d failed, worst rel 2.0e-03" % (0 if check else 1)]
        for (b, s), (bb, one) in ((("1", "32768"), r32), (("1", "8192"), r8), (("128", "1024"), r128)):
            out.append("qtma b=%s s_k=%s h_q=16 s_q=1 rounds=5 | lib back to back 25.00 one at a time 30.00 | x11 back to back 24.50 one at a time "
                       "29.10 | x11/lib back to back %.4f one at a time %.4f" % (b, s, bb, one))
            out.append("  rounds (back to back lib/x11, one at a time lib/x11): " + " ".join(
                "25.00/24.50,30.00/%.2f" % (29.0 if i < wins else 31.0) for i in range(5)))
        return "\n".join(out)
    assert decide(log()).startswith("SHIP x11"), decide(log())
    assert decide(log(check=False)).startswith("KEEP lib (the x11 check")
    assert decide(log(r32=(0.99, 0.985))).startswith("KEEP lib (over the rule at 1x32768")
    assert decide(log(r128=(1.0, 1.02))).startswith("KEEP lib (over the rule at 128x1024")
    assert decide(log(r8=(1.02, 0.97))).startswith("KEEP lib (over the rule at 1x8192")
    assert decide(log(wins=3)).startswith("KEEP lib (b=1 s_k 32768: x11 under lib one at a time in 3 of 5")
    assert decide(log().replace("qtma b=1 s_k=8192", "qtma b=1 s_k=9")).startswith("KEEP lib (timing missing: 1x8192")
    print("self-test ok")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--self-test":
        self_test()
    else:
        print(decide(open(sys.argv[1]).read()))
