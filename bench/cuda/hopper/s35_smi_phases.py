#!/usr/bin/env python3
"""Session 35: nvidia-smi samples (timestamp, SM clock, power, temperature; -lms 100) averaged over the phases between
a call's marks (MARKS: 'HH:MM:SS.mmm words' a line). Samples drawing over 250 W count as busy.

  python3 bench/cuda/hopper/s35_smi_phases.py SMI.csv MARKS
"""
import sys


def secs(t):
    h, m, s = t.strip().split(" ")[-1].split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


samples = []
for line in open(sys.argv[1]):
    p = [x.strip() for x in line.split(",")]
    try: samples.append((secs(p[0]), float(p[1].split()[0]), float(p[2].split()[0]), float(p[3])))
    except (ValueError, IndexError): pass
marks = [(secs(l.split(" ", 1)[0]), l.split(" ", 1)[1].strip()) for l in open(sys.argv[2]) if l.strip()]
t0 = samples[0][0] if samples else 0
for (a, na), (b, nb) in zip([(t0, "start")] + marks[:-1], marks):
    s = [x for x in samples if a <= x[0] < b]; busy = [x for x in s if x[2] > 250]
    mean = lambda v, i: sum(x[i] for x in v) / len(v) if v else float("nan")
    print(f"{na} -> {nb}: {len(s)} samples, busy {len(busy)}: {mean(busy, 1):.0f} MHz, {mean(busy, 2):.0f} W, {mean(s, 3):.0f} C"
          f" (all: {mean(s, 1):.0f} MHz, {mean(s, 2):.0f} W)")
