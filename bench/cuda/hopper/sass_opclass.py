#!/usr/bin/env python3
"""Rough SASS instruction counts of kernels without cuobjdump/nvdisasm (this machine has neither): sm_90 code is
16 bytes an instruction and the low 9 bits of its first word name the operation (read off nvcc 13's output of small
kernels: FADD 0x021, FMUL 0x020, FFMA 0x023, MUFU 0x108, FSETP 0x00b, NOP 0x118; the form bits above them are
masked). Good for the difference between two builds of one source, not a disassembly.

  python3 bench/cuda/hopper/sass_opclass.py BINARY_OR_FATBIN_OR_CUBIN [name-substring ...]

Prints, for each .text.<kernel> of the sm_90 cubins (those whose name contains a substring, if any are given):
instructions (NOPs excluded) and the FSETP / FMUL / FFMA / FADD / MUFU counts.
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
