#!/usr/bin/env python3
"""Where a kernel's warps wait, per warp role and per 64 x 64 tile, from ncu's warp-state samples (PC sampling) of
two or more kernels side by side: the raw page (ncu -i R --page raw --csv) and the source page with SASS
(ncu -i R --page source --csv --print-source sass), as session 13's call A wrote them (NAME.raw.csv.gz,
NAME.sass.csv.gz in one folder).

  python3 ncu_stall_gap.py DIR ftz fm [lib] [--tiles 32768] [--top 25]
      [--regions fm=654-3543:wgX,3544-6442:wgY] [--consumers ftz=8,fm=8]

Roles. The wide kernel (mla_decode_sm90w_*) is split at its USETMAXREG instructions: the code after the first
TRY_ALLOC is one consumer warpgroup's copy of the loop, after the second the other's (the copy holding
`BAR.SYNC 0x2` is warpgroup 0, which waits on barrier 2), after DEALLOC the producer; the out-of-line retry stubs
after the last EXIT go to the role of the address their final BRA returns to. Other kernels (FlashMLA) take
--regions (row ranges of the source page, 0 = first instruction); rows outside every range are "common".

Categories of a sample (a warp's state at that PC; ncu's per-line columns, plus warpgroup_arrive = "# Samples" minus
the listed reasons, which the source page does not name):
  issue       selected
  mbar        long_scoreboard on BRA / SYNCS / NANOSLEEP lines (mbarrier try_wait spin loops: data not yet landed,
              or, for the producer, ring slot not yet free)
  wgmma       barrier on WARPGROUP.DEPBAR lines (wgmma wait_group) + warpgroup_arrive anywhere
  namedbar    barrier on any other line (bar.sync between warpgroups; with BAR.SYNC.DEFER_BLOCKING the sample
              sits on the first instruction after the barrier that has to wait, often an LDS)
  lsb_other   long_scoreboard elsewhere (global loads, fences, R2UR of loaded values)
  short       short_scoreboard + mio_throttle + lg_throttle + math_pipe_throttle
  dep         wait (fixed-latency dependency) + branch_resolving + drain
  sched       not_selected + dispatch + no_instructions + imc_miss + misc
Cycles a tile for a role = its share of the role's samples x elapsed SM cycles / tiles a CTA (one CTA an SM; each
consumer warp lives the whole kernel). Measured: the samples and counters; inferred: the conversion to cycles
(assumes the sampler picks warps uniformly; the consumer share of all samples printed as a check).
"""
import argparse, collections, csv, gzip, re, sys

REASONS = ["barrier", "branch_resolving", "dispatch", "drain", "imc", "lg", "long_sb", "math", "membar", "mio", "misc",
           "no_inst", "not_selected", "selected", "short_sb", "sleep", "tex", "wait"]
CATS = ["issue", "mbar", "wgmma", "namedbar", "lsb_other", "short", "dep", "sched"]


def opener(path):
    return gzip.open(path, "rt", errors="replace") if path.endswith(".gz") else open(path, errors="replace")


def load_raw(path):
    rows = list(csv.reader(opener(path)))
    out = {}
    for k, v in zip(rows[0], rows[2]):
        try:
            out[k] = float(v.replace(",", ""))
        except ValueError:
            out[k] = v
    return out


def load_sass(path):
    rows = list(csv.reader(opener(path)))
    hdr, name = None, ""
    lines = []
    for row in rows:
        if not row:
            continue
        if row[0] == "Kernel Name":
            if name:
                break  # first kernel only
            name = row[1]; continue
        if row[0] == "Address":
            hdr = {h: i for i, h in enumerate(row)}; continue
        src = row[hdr["Source"]].strip()
        m = re.match(r"^(@!?U?P[T\d]+\s+)?([\w.]+)", src)
        e = {"n": len(lines), "addr": int(row[hdr["Address"]], 16), "src": src, "op": m.group(2) if m else src,
             "samples": int(row[hdr["# Samples"]] or 0), "exec": int(row[hdr["Instructions Executed"]] or 0)}
        listed = 0
        for r in REASONS:
            v = int(row[hdr["stall_" + r]] or 0) if ("stall_" + r) in hdr else 0
            e[r] = v; listed += v
        e["gmma"] = e["samples"] - listed  # warpgroup_arrive: not a column of the source page
        lines.append(e)
    return name, lines


def categorize(e):
    c = collections.Counter()
    base = e["op"].split(".")[0]
    c["issue"] += e["selected"]
    if base in ("BRA", "SYNCS", "NANOSLEEP"):
        c["mbar"] += e["long_sb"]
    else:
        c["lsb_other"] += e["long_sb"]
    if base == "WARPGROUP" and "DEPBAR" in e["op"]:
        c["wgmma"] += e["barrier"]
    else:
        c["namedbar"] += e["barrier"]
    c["wgmma"] += e["gmma"]
    c["short"] += e["short_sb"] + e["mio"] + e["lg"] + e["math"]
    c["dep"] += e["wait"] + e["branch_resolving"] + e["drain"]
    c["sched"] += e["not_selected"] + e["dispatch"] + e["no_inst"] + e["imc"] + e["misc"] + e["sleep"] + e["tex"] + e["membar"]
    return c


def roles_wide(lines):
    role, tags, seen_alloc, last_exit = "common", [], 0, None
    for e in lines:
        if "USETMAXREG" in e["op"] or "USETMAXREG" in e["src"]:
            if "DEALLOC" in e["src"]:
                role = "producer"
            else:
                seen_alloc += 1
                role = "copy%d" % seen_alloc
        tags.append(role)
        if e["op"] == "EXIT":
            last_exit = e["n"]
    # which copy is warpgroup 0: the one that waits on barrier 2
    wg0 = next((tags[e["n"]] for e in lines if "BAR.SYNC" in e["src"] and re.search(r"BAR\.SYNC\S* 0x2,", e["src"])), "copy2")
    ren = {wg0: "wg0", ("copy1" if wg0 == "copy2" else "copy2"): "wg1"}
    tags = [ren.get(t, t) for t in tags]
    return stubs(lines, tags, last_exit)


def stubs(lines, tags, last_exit):
    if last_exit is None:
        return tags
    by_addr = {e["addr"]: e["n"] for e in lines}
    start = last_exit + 1
    for e in lines[last_exit + 1:]:
        m = re.match(r"^BRA\s+(0x[0-9a-f]+)", e["src"])  # an unconditional BRA closes a stub
        if m:
            tgt = by_addr.get(int(m.group(1), 16))
            if tgt is not None and tgt <= last_exit:
                for i in range(start, e["n"] + 1):
                    tags[i] = tags[tgt]
            start = e["n"] + 1
    return tags


def roles_ranges(lines, spec):
    tags = ["common"] * len(lines)
    for part in spec.split(","):
        rng, lab = part.split(":")
        a, b = (int(x) for x in rng.split("-"))
        for i in range(a, min(b, len(lines) - 1) + 1):
            tags[i] = lab
    last_exit = max((e["n"] for e in lines if e["op"] == "EXIT"), default=None)
    return stubs(lines, tags, last_exit)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("names", nargs="+")
    ap.add_argument("--tiles", type=float, default=32768, help="64 x 64 tiles of the launch (b 128 s_k 8192 128 rows: 32768)")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--regions", action="append", default=["fm=654-3543:wgX,3544-6442:wgY"],
                    help="NAME=a-b:label,... for kernels that are not the wide kernel")
    ap.add_argument("--consumers", default="ftz=wg0+wg1,lib=wg0+wg1,pa=wg0+wg1,fm=wgX+wgY+common")
    a = ap.parse_args()
    regions = dict(r.split("=", 1) for r in a.regions)
    consumers = {k: v.split("+") for k, v in (x.split("=") for x in a.consumers.split(","))}
    K = {}
    for nm in a.names:
        raw = load_raw(f"{a.dir}/{nm}.raw.csv.gz")
        kname, lines = load_sass(f"{a.dir}/{nm}.sass.csv.gz")
        tags = roles_wide(lines) if kname.startswith("mla_decode_sm90w") else roles_ranges(lines, regions.get(nm, "0-0:common"))
        ctas = raw["launch__grid_size"]
        tiles_cta = a.tiles / ctas
        cyc = raw["sm__cycles_elapsed.avg"]
        K[nm] = dict(raw=raw, lines=lines, tags=tags, tiles_cta=tiles_cta, cyc=cyc)

    # 1. counters
    print("# counters (ncu raw page, one launch in a sustained run)")
    rowsdef = [
        ("duration us", lambda r: r["gpu__time_duration.sum"]),
        ("SM cycles (avg)", lambda r: r["sm__cycles_elapsed.avg"]),
        ("SM clock MHz", lambda r: r["sm__cycles_elapsed.avg"] / r["gpu__time_duration.sum"]),
        ("SM cycles a tile (a CTA)", lambda r: r["sm__cycles_elapsed.avg"] / (a.tiles / r["launch__grid_size"])),
        ("warp insts a tile", lambda r: r["inst_executed"] / a.tiles),
        ("issue active % (smsp issued / cycles)", lambda r: 100 * r["smsp__inst_issued.avg"] / r["sm__cycles_elapsed.avg"]),
        ("IPC (SM)", lambda r: 4 * r["smsp__inst_issued.avg"] / r["sm__cycles_elapsed.avg"]),
        ("warps a CTA (theoretical)", lambda r: r["sm__maximum_warps_avg_per_active_cycle"]),
        ("registers a thread", lambda r: r["launch__registers_per_thread"]),
        ("thread efficiency % (threads / 32 a warp inst)", lambda r: 100 * r["thread_inst_executed"] / (32 * r["inst_executed"])),
        ("branch insts a tile", lambda r: r["smsp__inst_executed_op_branch.sum"] / a.tiles),
        ("smem wavefronts a tile", lambda r: r["memory_l1_wavefronts_shared"] / a.tiles),
        ("smem wavefronts ideal a tile", lambda r: r["memory_l1_wavefronts_shared_ideal"] / a.tiles),
        ("smem conflicts n-way (derived)", lambda r: r["derived__memory_l1_conflicts_shared_nway"]),
        ("global L2 sectors a tile (LSU, not TMA)", lambda r: r["memory_l2_theoretical_sectors_global"] / a.tiles),
        ("L1 tag requests global a tile", lambda r: r["memory_l1_tag_requests_global"] / a.tiles),
        ("lts active % of elapsed", lambda r: 100 * r["lts__cycles_active.avg"] / r["lts__cycles_elapsed.avg"]),
        ("l1tex active % of elapsed", lambda r: 100 * r["l1tex__cycles_active.avg"] / r["l1tex__cycles_elapsed.avg"]),
        ("pc samples", lambda r: r["smsp__pcsamp_sample_count"]),
    ]
    print("counter | " + " | ".join(a.names))
    for lab, fn in rowsdef:
        vals = []
        for nm in a.names:
            try:
                vals.append("%.4g" % fn(K[nm]["raw"]))
            except (KeyError, TypeError, ZeroDivisionError):
                vals.append("-")
        print(f"cnt {lab} | " + " | ".join(vals))

    # 2. whole-kernel sample shares by reason
    print("\n# warp-state samples, whole kernel (% of samples; raw page smsp__pcsamp_warps_issue_stalled_*)")
    reasons = ["long_scoreboard", "barrier", "wait", "warpgroup_arrive", "selected", "no_instructions", "dispatch_stall",
               "not_selected", "short_scoreboard", "mio_throttle", "branch_resolving", "lg_throttle", "math_pipe_throttle",
               "membar", "drain", "sleeping", "imc_miss"]
    print("reason | " + " | ".join(a.names))
    for rs in reasons:
        vals = []
        for nm in a.names:
            r = K[nm]["raw"]
            vals.append("%.1f" % (100 * r.get("smsp__pcsamp_warps_issue_stalled_" + rs, 0) / r["smsp__pcsamp_sample_count"]))
        print(f"rsn {rs} | " + " | ".join(vals))

    # 3. per role and category
    print("\n# per role: samples, % of all, and cycles a tile a warp by category (consumer roles: share x SM cycles a tile)")
    agg = {}
    for nm in a.names:
        k = K[nm]
        tot = sum(e["samples"] for e in k["lines"])
        byrole = collections.defaultdict(collections.Counter)
        for e, t in zip(k["lines"], k["tags"]):
            byrole[t]["samples"] += e["samples"]
            byrole[t].update(categorize(e))
        cons = collections.Counter()
        for t in consumers.get(nm, []):
            cons.update(byrole.get(t, collections.Counter()))
        byrole["CONSUMERS"] = cons
        agg[nm] = byrole
        cyc_tile = k["cyc"] / k["tiles_cta"]
        for role in sorted(byrole, key=lambda x: -byrole[x]["samples"]):
            c = byrole[role]
            if c["samples"] == 0:
                continue
            per = {cat: c[cat] / c["samples"] * cyc_tile for cat in CATS}
            print(f"role {nm} {role:10s} samples {c['samples']:6d} ({100 * c['samples'] / tot:5.1f} %) | " +
                  " ".join(f"{cat} {per[cat]:6.0f}" for cat in CATS) + f" | sum {sum(per.values()):.0f}")
    if len(a.names) >= 2:
        x, y = a.names[0], a.names[1]
        cx, cy = K[x]["cyc"] / K[x]["tiles_cta"], K[y]["cyc"] / K[y]["tiles_cta"]
        print(f"\n# consumer warps, cycles a tile: {x} - {y} (total {cx:.0f} - {cy:.0f} = {cx - cy:+.0f})")
        for cat in CATS:
            vx = agg[x]["CONSUMERS"][cat] / agg[x]["CONSUMERS"]["samples"] * cx
            vy = agg[y]["CONSUMERS"][cat] / agg[y]["CONSUMERS"]["samples"] * cy
            print(f"gap {cat:10s} {x} {vx:6.0f} {y} {vy:6.0f} diff {vx - vy:+6.0f}")

    # 4. top lines
    for nm in a.names:
        k = K[nm]
        tot = sum(e["samples"] for e in k["lines"])
        cyc_tile = k["cyc"] / k["tiles_cta"]
        print(f"\n# top {a.top} lines of {nm} by samples (row, role, samples, % of all, exec a tile, SASS, top reasons)")
        for e in sorted(k["lines"], key=lambda e: -e["samples"])[: a.top]:
            top = sorted(((e[r], r) for r in REASONS + ["gmma"] if e[r]), reverse=True)[:3]
            print(f"top {nm} {e['n']:5d} {k['tags'][e['n']]:8s} {e['samples']:6d} {100 * e['samples'] / tot:5.1f}% "
                  f"x{e['exec'] / a.tiles:6.2f} {e['src'][:64]:64s} " + " ".join(f"{r}={v}" for v, r in top))


if __name__ == "__main__":
    main()
