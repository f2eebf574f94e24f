#!/usr/bin/env python3
"""Rough SASS instruction counts of kernels without cuobjdump/nvdisasm (this machine has neither): sm_90 code is
16 bytes an instruction and the low 9 bits of its first word name the operation (read off nvcc 13's output of small
kernels: FADD 0x021, FMUL 0x020, FFMA 0x023, MUFU 0x108, FSETP 0x00b, NOP 0x118; the form bits above them are
masked). Good for the difference between two builds of one source, not a disassembly.

  python3 bench/cuda/hopper/sass_opclass.py BINARY_OR_FATBIN_OR_CUBIN [name-substring ...]

Prints, for each .text.<kernel> of the sm_90 cubins (those whose name contains a substring, if any are given):
instructions (NOPs excluded) and the FSETP / FMUL / FFMA / FADD / MUFU counts.

  python3 bench/cuda/hopper/sass_opclass.py --text FILE [name-substring ...]

Per kernel the sha256 of its .text, bytes, registers, instructions and HGMMA span (session 19 h1 round 4: the harness's
lib entry against the shipped library's, and A/A twins: two names, one code).

  python3 bench/cuda/hopper/sass_opclass.py --gaps FILE KERNEL [LO HI]

The HGMMA span's stretches between HGMMA runs (>= 20 instructions) by opcode class (session 20 w2: softmax A / B's
census); LO HI: the opcode sequence of span[LO:HI].

  python3 bench/cuda/hopper/sass_opclass.py --loops FILE KERNEL [LO HI]

The kernel's loops that hold st.async (STAS, 0x1bd): each backward BRA's span (instruction indices, NOPs counted),
innermost last; with LO HI the span's instructions (NOPs out) by class (session 21 s3: the MODEL1 pair producer's tile
loop against FlashMLA's). A BRA's byte offset from the next instruction: the signed bits 34.. of the first word times
1024 plus bits 16..23 times 4 (read off a one-loop kernel; s20-s1 counted the same way).

  python3 bench/cuda/hopper/sass_opclass.py --waits FILE KERNEL

For each loop of --loops that holds a gather (a run of >= 8 LDG, 0x181, at most 3 apart): the scoreboard the run sets
(the control bits of the second word: write barrier bits 46..48, wait mask bits 52..57) and every instruction between
the run and the loop's back edge that waits on it, with the LDGs issued after the run (session 22 s7: a wait there,
before the next index load, serializes that load behind the gather; read off sm_90 code by the Volta+ control layout).

  python3 bench/cuda/hopper/sass_opclass.py --bbs FILE KERNEL LO HI
  python3 bench/cuda/hopper/sass_opclass.py --path FILE KERNEL LO-HI[,LO-HI...]

Basic blocks of span [LO, HI] (size, branch target and guard, classes), and the opcode classes summed over chosen ranges:
a steady path read off the --bbs listing (session 21 w4: the wide kernel's pair loop against FlashMLA's, by role).

  python3 bench/cuda/hopper/sass_opclass.py --pair FILE_A KERNEL_A FILE_B KERNEL_B

Two kernels side by side (e.g. a library entry against a variant of it, from two builds or one; session 19 h5r2 used
it on the decode entry against branch s19-fused's fused entry): registers (.nv.info
REGCOUNT), instructions, the named memory / sync ops below, the HGMMA span (first to last HGMMA: the tile loop's
core), and the opcode differences B - A over the whole kernel and over the span, with difflib's similarity of the
opcode sequences. Names beyond OPS were read off small sm_90a kernels (nvcc 13.0: __threadfence, atomicAdd with and
without its result, ld.acquire.gpu, __syncthreads, __nanosleep); HGMMA is 0x1f0 by count (68 in the two-warpgroup
decode = 36 Q K^T k-steps of 16 over 576 + 32 V^T P^T). The integer opcodes (0x010 IADD3, 0x011 LEA, 0x024 IMAD,
0x002 MOV, 0x082 UMOV, 0x036 VIADD) follow the usual sm_7x-9x encoding and are printed as numbers.
"""
import importlib.util, os, struct, sys

here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("cf", os.path.join(here, "..", "..", "..", "scripts", "compare-fatbins.py"))
cf = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cf)
OPS = {0x00B: "FSETP", 0x020: "FMUL", 0x023: "FFMA", 0x021: "FADD", 0x108: "MUFU"}
NOP = 0x118


def cubins(path):
    data = open(path, "rb").read()
    if data[:4] == b"\x7fELF" and struct.unpack_from("<H", data, 0x12)[0] == 190:  # EM_CUDA: a cubin
        return [data]
    blobs = []
    if data[:4] == b"\x7fELF":  # a host executable: its .nv_fatbin section holds fatbins back to back
        secs = cf.elf_sections(data)
        data = secs.get(".nv_fatbin", b"")
    at = 0
    while at + 16 <= len(data):
        magic, _v, header, size = struct.unpack_from("<IHHQ", data, at)
        if magic != cf.FATBIN_MAGIC:
            at += 8
            continue
        tmp = "/tmp/sass_opclass_%d.fatbin" % os.getpid()
        open(tmp, "wb").write(data[at:at + header + size])
        for k, v in cf.entries(tmp).items():
            if k.startswith("elf_sm90"):
                blobs.append(v)
        os.unlink(tmp)
        at += header + size
    return blobs


MEM = {0x192: "MEMBAR", 0x1A8: "ATOMG", 0x18E: "RED", 0x181: "LDG", 0x186: "STG", 0x11D: "BAR", 0x15D: "NANOSLEEP",
       0x14D: "EXIT", 0x1F0: "HGMMA"}


def regcounts(elf):
    """{kernel: registers} from .nv.info's EIATTR_REGCOUNT (0x2f: symbol index, count) and .symtab."""
    shoff = struct.unpack_from("<Q", elf, 0x28)[0]
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", elf, 0x3A)
    sh = [struct.unpack_from("<IIQQQQIIQQ", elf, shoff + i * shentsize) for i in range(shnum)]
    cstr = lambda sec, off: elf[sec[4] + off:elf.index(b"\0", sec[4] + off)].decode()
    syms, info = [], b""
    for s in sh:
        if s[1] == 2:  # SHT_SYMTAB
            syms = [cstr(sh[s[6]], struct.unpack_from("<I", elf, s[4] + i * 24)[0]) for i in range(s[5] // 24)]
        if cstr(sh[shstrndx], s[0]) == ".nv.info":
            info = elf[s[4]:s[4] + s[5]]
    regs, at = {}, 0
    while at + 4 <= len(info):
        fmt, attr, size = struct.unpack_from("<BBH", info, at)
        if fmt != 4:  # EIFMT_SVAL carries a payload; the others are 4 bytes
            at += 4
            continue
        if attr == 0x2F:
            sym, n = struct.unpack_from("<II", info, at + 4)
            regs[syms[sym]] = n
        at += 4 + size
    return regs


def kernel(path, name):
    for elf in cubins(path):
        code = cf.elf_sections(elf).get(".text." + name)
        if code is not None:
            ops = [struct.unpack_from("<Q", code, i)[0] & 0x1FF for i in range(0, len(code) - 15, 16)]
            return [op for op in ops if op != NOP], regcounts(elf).get(name)
    sys.exit("no kernel %s in %s" % (name, path))


def pair(fa, ka, fb, kb):
    import collections, difflib
    (a, ra), (b, rb) = kernel(fa, ka), kernel(fb, kb)
    span = lambda o: o[o.index(0x1F0):len(o) - o[::-1].index(0x1F0)] if 0x1F0 in o else []  # [] without HGMMA

    def diff(x, y):
        cx, cy = collections.Counter(x), collections.Counter(y)
        return " ".join("%03x %+d" % (k, cy[k] - cx[k]) for k in sorted(set(cx) | set(cy)) if cy[k] != cx[k])

    for o, k, r in ((a, ka, ra), (b, kb, rb)):
        c = collections.Counter(o)
        print("pair %-34s %s registers, %d instructions, HGMMA span %d | " % (k, r, len(o), len(span(o)))
              + " ".join("%s %d" % (n, c[op]) for op, n in MEM.items()))
    sim = lambda x, y: difflib.SequenceMatcher(None, x, y, autojunk=False).ratio()
    print("pair whole kernel B - A (similarity %.3f): %s" % (sim(a, b), diff(a, b) or "none"))
    print("pair HGMMA span B - A (similarity %.3f): %s" % (sim(span(a), span(b)), diff(span(a), span(b)) or "none"))


def text(path, want):
    """Per kernel: sha256 of its .text (the instruction bytes alone: the same code under two names or in two builds
    prints the same hash), bytes, registers, instructions (NOPs excluded) and the HGMMA span."""
    import hashlib
    for elf in cubins(path):
        regs = regcounts(elf)
        for name, code in sorted(cf.elf_sections(elf).items()):
            k = name[6:]
            if not name.startswith(".text.") or (want and not any(w in k for w in want)):
                continue
            ops = [op for op in (struct.unpack_from("<Q", code, i)[0] & 0x1FF for i in range(0, len(code) - 15, 16)) if op != NOP]
            span = len(ops) - ops.index(0x1F0) - ops[::-1].index(0x1F0) if 0x1F0 in ops else 0
            print("text %-40s sha256 %s  %6d bytes  %s registers  %5d instructions  HGMMA span %d"
                  % (k, hashlib.sha256(code).hexdigest()[:16], len(code), regs.get(k), len(ops), span))


# Session 20 (w2): more opcode classes (read off small sm_90a kernels, nvcc 13.0), for --gaps.
CLS = {0x1F0: "HGMMA", 0x108: "MUFU", 0x023: "FFMA", 0x020: "FMUL", 0x021: "FADD", 0x009: "FMNMX", 0x189: "SHFL", 0x03E: "F2FP",
       0x016: "PRMT", 0x008: "FSEL", 0x00B: "FSETP", 0x00C: "ISETP", 0x01C: "PLOP3", 0x006: "VOTE", 0x007: "SEL", 0x147: "BRA",
       0x11D: "BAR", 0x184: "LDS", 0x188: "STS", 0x192: "MEMBAR", 0x010: "IADD3", 0x011: "LEA", 0x024: "IMAD", 0x002: "MOV",
       0x036: "VIADD", 0x012: "LOP3", 0x019: "SHF"}


def gaps(path, name, lo=None, hi=None):
    """The HGMMA span cut at its HGMMA runs: per stretch between two runs (>= 20 instructions) its start (index in the
    span), length and opcode classes (session 20 w2's census of softmax A / B); with lo / hi the opcode sequence of
    span[lo:hi] too."""
    import collections
    ops, _ = kernel(path, name)
    i0 = ops.index(0x1F0)
    span = ops[i0:len(ops) - ops[::-1].index(0x1F0)]
    at = 0
    while at < len(span):
        end = at
        while end < len(span) and (span[end] == 0x1F0) == (span[at] == 0x1F0):
            end += 1
        if span[at] != 0x1F0 and end - at >= 20:
            c = collections.Counter(span[at:end])
            print("gap @%d len %d: %s | other %d" % (at, end - at, " ".join("%s %d" % (CLS[k], c[k]) for k in CLS if c[k]),
                                                    sum(v for k, v in c.items() if k not in CLS)))
        at = end
    if lo is not None:
        print(" ".join(CLS.get(o, "%03x" % o) for o in span[lo:hi]))


# Session 21 (s3): classes of a producer loop (--loops); opcodes named by compiling one-instruction kernels (s20-s1's list).
LOOP_CLS = [("conversion", {0x03E: "F2FP", 0x030: "HADD2.F32", 0x032: "HMUL2.BF16", 0x035: "HMUL2.BF16'"}),
            ("integer / address", {0x024: "IMAD", 0x025: "IMAD.WIDE", 0x027: "IMAD.HI", 0x010: "IADD3", 0x011: "LEA", 0x036: "VIADD",
                                   0x012: "LOP3", 0x019: "SHF", 0x016: "PRMT", 0x106: "I2F", 0x108: "MUFU", 0x105: "F2I"}),
            ("control", {0x00C: "ISETP", 0x147: "BRA", 0x145: "BSSY", 0x141: "BSYNC", 0x007: "SEL", 0x005: "0x005", 0x01C: "PLOP3", 0x006: "VOTE"}),
            ("moves", {0x002: "MOV", 0x082: "UMOV"}), ("shared stores", {0x188: "STS", 0x1BD: "STAS"}),
            ("loads", {0x181: "LDG", 0x182: "LDC", 0x184: "LDS"})]


def loops(path, name, lo=None, hi=None):
    words = [a for a, _ in words_of(path, name)]
    ops = [w & 0x1FF for w in words]
    stas = [i for i, o in enumerate(ops) if o == 0x1BD]
    print("loops %s: %d instructions with NOPs, %d STAS" % (name, len(ops), len(stas)))
    for i, w in enumerate(words):
        if ops[i] != 0x147:
            continue
        up = w >> 34
        up -= (1 << 30) if up >> 29 else 0
        t = i + 1 + ((up << 10) | (((w >> 16) & 0xFF) << 2)) // 16
        n = sum(1 for x in stas if t <= x <= i)
        if t <= i and n:
            print("loop %d..%d: %d instructions, %d STAS" % (t, i, i - t + 1, n))
    if lo is not None:
        import collections
        c = collections.Counter(o for o in ops[lo:hi + 1] if o != NOP)
        print("span %d..%d: %d instructions (NOPs out)" % (lo, hi, sum(c.values())))
        seen = set()
        for g, names in LOOP_CLS:
            seen |= set(names)
            print("  %-17s %4d: %s" % (g, sum(c[o] for o in names), " ".join("%s %d" % (n, c[o]) for o, n in names.items() if c[o])))
        rest = {o: v for o, v in c.items() if o not in seen}
        print("  %-17s %4d: %s" % ("rest", sum(rest.values()), " ".join("%03x %d" % kv for kv in sorted(rest.items(), key=lambda kv: -kv[1]))))


def waits(path, name):
    pairs = words_of(path, name)
    ops = [a & 0x1FF for a, _ in pairs]
    wb = [(b >> 46) & 7 for _, b in pairs]
    wm = [(b >> 52) & 0x3F for _, b in pairs]
    for i, (w, _) in enumerate(pairs):
        if ops[i] != 0x147:
            continue
        up = w >> 34
        up -= (1 << 30) if up >> 29 else 0
        t = i + 1 + ((up << 10) | (((w >> 16) & 0xFF) << 2)) // 16
        if not (t <= i and any(ops[x] == 0x1BD for x in range(t, i + 1))):
            continue
        j = t
        while j <= i:
            if ops[j] != 0x181:
                j += 1
                continue
            k = j
            while k + 1 <= i and any(ops[x] == 0x181 for x in range(k + 1, min(k + 4, i + 1))):
                k = next(x for x in range(k + 1, min(k + 4, i + 1)) if ops[x] == 0x181)
            n = sum(1 for x in range(j, k + 1) if ops[x] == 0x181)
            if n >= 8:
                sb = wb[j]
                after = [x for x in range(k + 1, i + 1) if wm[x] >> sb & 1]
                later = [x for x in range(k + 1, i + 1) if ops[x] == 0x181]
                print("loop %d..%d (%d): gather %d..%d (%d LDG, scoreboard %d); waits on it before the back edge: %s; LDGs after it: %s"
                      % (t, i, i - t + 1, j, k, n, sb, " ".join("%d(%03x)" % (x, ops[x]) for x in after) or "none",
                         " ".join("%d(sb %d)" % (x, wb[x]) for x in later) or "none"))
            j = k + 1


# Session 21 (w4): a kernel's basic blocks (--bbs) and opcode classes over chosen instruction ranges (--path: a steady
# path read off the --bbs listing, e.g. one warpgroup's pair loop with the branches it takes in the steady state).
# Indices count NOPs, as --loops prints them. A branch's guard: bits 12..15 of the first word (predicate 7 = always,
# bit 3 = negated); a predicate-writing compare's destination: bits 17..19 of the second word.
PATH_CLS = [("HGMMA", {0x1F0}), ("FFMA/FMUL/FADD", {0x023, 0x020, 0x021}), ("MUFU", {0x108}), ("FMNMX", {0x009}), ("SHFL", {0x189}),
            ("conversion", {0x03E, 0x016}), ("FSETP/FSEL", {0x00B, 0x008}), ("shared ld/st", {0x184, 0x188, 0x044, 0x1BD}),
            ("BAR/MEMBAR/fence", {0x11D, 0x192, 0x1C6}), ("mbarrier/wgmma sync", {0x1A7, 0x1C5, 0x148, 0x0CA}),
            ("uniform", {0x090, 0x082, 0x092, 0x097, 0x099, 0x08C, 0x0A4, 0x091, 0x086, 0x087, 0x02F, 0x1B4, 0x0B9}),
            ("address/integer", {0x010, 0x011, 0x024, 0x025, 0x027, 0x036, 0x012, 0x019, 0x002, 0x013, 0x106, 0x105}),
            ("predicate/branch/vote", {0x00C, 0x01C, 0x006, 0x007, 0x147, 0x145, 0x141})]


def words_of(path, name):
    for elf in cubins(path):
        code = cf.elf_sections(elf).get(".text." + name)
        if code is not None:
            return [struct.unpack_from("<QQ", code, i) for i in range(0, len(code) - 15, 16)]
    sys.exit("no kernel %s in %s" % (name, path))


def bra_target(i, w):
    up = w >> 34
    up -= (1 << 30) if up >> 29 else 0
    return i + 1 + ((up << 10) | (((w >> 16) & 0xFF) << 2)) // 16


def bbs(path, name, lo, hi):
    import collections
    ws = words_of(path, name)
    ops = [w & 0x1FF for w, _ in ws]
    starts = {lo, hi + 1}
    for i in range(lo, hi + 1):
        if ops[i] == 0x147:
            starts |= {i + 1, bra_target(i, ws[i][0])}
    starts = sorted(x for x in starts if lo <= x <= hi + 1)
    for a, b in zip(starts, starts[1:]):
        c = collections.Counter(CLS.get(o, "%03x" % o) for o in ops[a:b] if o != NOP)
        br = ""
        if ops[b - 1] == 0x147:
            g = (ws[b - 1][0] >> 12) & 0xF
            br = " -> %d%s" % (bra_target(b - 1, ws[b - 1][0]), "" if g == 7 else " if %sP%d" % ("!" if g & 8 else "", g & 7))
        print("bb %d..%d (%d)%s: %s" % (a, b - 1, sum(c.values()), br, " ".join("%s %d" % kv for kv in c.most_common())))


def path_classes(path, name, ranges):
    import collections
    ops = [w & 0x1FF for w, _ in words_of(path, name)]
    c = collections.Counter(o for a, b in ranges for o in ops[a:b + 1] if o != NOP)
    seen, row = set(), []
    for g, s in PATH_CLS:
        row.append((g, sum(c[o] for o in s)))
        seen |= s
    rest = {o: v for o, v in c.items() if o not in seen}
    row += [("other", sum(rest.values())), ("total", sum(c.values()))]
    print("path %s %s: " % (name[:40], ",".join("%d-%d" % r for r in ranges)) + " | ".join("%s %d" % kv for kv in row)
          + ("  (other: %s)" % " ".join("%03x %d" % kv for kv in sorted(rest.items(), key=lambda kv: -kv[1])) if rest else ""))


if sys.argv[1:2] == ["--bbs"]:
    if len(sys.argv) != 6:
        sys.exit("usage: sass_opclass.py --bbs FILE KERNEL LO HI")
    bbs(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    sys.exit(0)
if sys.argv[1:2] == ["--path"]:
    if len(sys.argv) != 5:
        sys.exit("usage: sass_opclass.py --path FILE KERNEL LO-HI[,LO-HI...]")
    path_classes(sys.argv[2], sys.argv[3], [tuple(map(int, r.split("-"))) for r in sys.argv[4].split(",")])
    sys.exit(0)


if sys.argv[1:2] == ["--loops"]:
    if len(sys.argv) not in (4, 6):
        sys.exit("usage: sass_opclass.py --loops FILE KERNEL [LO HI]")
    loops(sys.argv[2], sys.argv[3], *map(int, sys.argv[4:6]))
    sys.exit(0)
if sys.argv[1:2] == ["--waits"]:
    if len(sys.argv) != 4:
        sys.exit("usage: sass_opclass.py --waits FILE KERNEL")
    waits(sys.argv[2], sys.argv[3])
    sys.exit(0)
if sys.argv[1:2] == ["--gaps"]:
    if len(sys.argv) not in (4, 6):
        sys.exit("usage: sass_opclass.py --gaps FILE KERNEL [LO HI]")
    gaps(sys.argv[2], sys.argv[3], *map(int, sys.argv[4:6]))
    sys.exit(0)
if sys.argv[1:2] == ["--text"]:
    if len(sys.argv) < 3:
        sys.exit("usage: sass_opclass.py --text FILE [name-substring ...]")
    text(sys.argv[2], sys.argv[3:])
    sys.exit(0)
if sys.argv[1:2] == ["--pair"]:
    if len(sys.argv) != 6:
        sys.exit("usage: sass_opclass.py --pair FILE_A KERNEL_A FILE_B KERNEL_B")
    pair(*sys.argv[2:6])
    sys.exit(0)
want = sys.argv[2:]
for elf in cubins(sys.argv[1]):
    for name, code in sorted(cf.elf_sections(elf).items()):
        if not name.startswith(".text.") or (want and not any(w in name for w in want)):
            continue
        n, c = 0, {v: 0 for v in OPS.values()}
        for i in range(0, len(code) - 15, 16):
            op = struct.unpack_from("<Q", code, i)[0] & 0x1FF
            if op == NOP:
                continue
            n += 1
            if op in OPS:
                c[OPS[op]] += 1
        print("opclass %-48s %6d instructions  " % (name[6:], n) + "  ".join("%s %d" % kv for kv in c.items()))
