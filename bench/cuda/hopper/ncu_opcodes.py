#!/usr/bin/env python3
"""Executed warp instructions by SASS opcode, per unit of work, for several kernels side by side, from ncu source
page exports (ncu -i R.ncu-rep --page source --csv --print-source sass > R.sass.csv[.gz]; SourceCounters collected).

  python3 ncu_opcodes.py --per 32768 lib=lib.sass.csv fm=fm.sass.csv [ftz=ftz.sass.csv ...] [--top 30]

--per divides the counts (session 12: 32,768 tiles of 64 rows x 64 keys at b 128 / s_k 8192 / 128 rows, both
kernels). Each instruction's "Instructions Executed" is credited to its opcode (the mnemonic before the first dot,
predicate guard dropped) and to its full form (mnemonic with modifiers; "@" before it when predicated, since a
predicated-off instruction still issues). Rows are ordered by how far the first kernel is from the second; a column
per kernel, then first - second. Lines starting "opc" (base opcode) and "opf" (full form); "opc_total" first.
"""
import argparse, collections, csv, gzip, re, sys

ap = argparse.ArgumentParser()
ap.add_argument("--per", type=float, default=1.0)
ap.add_argument("--top", type=int, default=30)
ap.add_argument("kernels", nargs="+", help="name=path (.csv or .csv.gz); the first two are compared")
a = ap.parse_args()


def load(path):
    f = gzip.open(path, "rt", errors="replace") if path.endswith(".gz") else open(path, errors="replace")
    base, full, hdr, kernels = collections.Counter(), collections.Counter(), None, 0
    for row in csv.reader(f):
        if not row:
            continue
        if row[0] == "Kernel Name":
            kernels += 1; hdr = None; continue
        if row[0] == "Address":
            hdr = row; continue
        if hdr is None or kernels > 1:
            continue  # the first kernel of the report only
        r = dict(zip(hdr, row))
        try:
            e = float((r.get("Instructions Executed") or "0").replace(",", ""))
        except ValueError:
            continue
        src = (r.get("Source") or "").strip()
        m = re.match(r"^(@!?U?P[T\d]+\s+)?(\S+)", src)
        if not m:
            continue
        mn = m.group(2)
        base[mn.split(".")[0]] += e
        full[("@" if m.group(1) else "") + mn] += e
    return base, full


names, data = [], []
for kv in a.kernels:
    n, p = kv.split("=", 1)
    try:
        data.append(load(p)); names.append(n)
    except OSError as err:
        print("opc %s: unreadable (%s)" % (n, err)); data.append((collections.Counter(), collections.Counter())); names.append(n)
if len(names) < 2:
    sys.exit(0)
tot = [sum(d[0].values()) / a.per for d in data]
print("opc_total " + "  ".join("%s %.0f" % (n, t) for n, t in zip(names, tot)) + "  (%s - %s %+.0f a unit)" % (names[0], names[1], tot[0] - tot[1]))
for kind, idx in (("opc", 0), ("opf", 1)):
    keys = set().union(*[d[idx].keys() for d in data])
    rows = sorted(keys, key=lambda k: -abs(data[0][idx][k] - data[1][idx][k]))[: a.top]
    print("%s %-28s" % (kind, "opcode") + "".join("%10s" % n for n in names) + "%12s" % ("%s-%s" % (names[0], names[1])))
    for k in rows:
        v = [d[idx][k] / a.per for d in data]
        print("%s %-28s" % (kind, k[:28]) + "".join("%10.1f" % x for x in v) + "%+12.1f" % (v[0] - v[1]))
