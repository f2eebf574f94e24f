// `flashmla bench --backend cpu`: numpy's (OpenBLAS) f32 figures for the same products and the machine's copy
// bandwidth, measured by bench/cpu-numpy.py in the same run, and each row's place against them.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchConfig, BenchRow } from './harness.js';

export interface NumpyYardstick {
  python: string;
  numpy: string;
  blas: string;
  reps: number;
  /** np.copyto over 256 MB: (read + write bytes) / time. */
  copy_GBps: number;
  /** A 2048^3 f32 matmul. */
  gemm_GFLOPs: number;
  configs: (BenchConfig & { ms: number; GFLOPs: number })[];
}

/** Run the numpy script with the first python that imports numpy; undefined (and why) when none does. */
export function measureNumpy(repoRoot: string, configs: readonly BenchConfig[], python?: string): NumpyYardstick | string {
  const script = join(repoRoot, 'bench/cpu-numpy.py');
  if (!existsSync(script)) return `${script} missing`;
  const plain = configs.filter((c) => c.s_k !== undefined && !c.varlen).map((c) => ({ b: c.b, s_k: c.s_k, h_q: c.h_q, s_q: c.s_q ?? 1 }));
  const reasons: string[] = [];
  for (const py of python ? [python] : ['python3', '/usr/bin/python3']) {
    try {
      const text = execFileSync(py, [script, JSON.stringify(plain)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 });
      return { python: py, ...JSON.parse(text.trim().split('\n').pop()!) };
    } catch (e) {
      reasons.push(`${py}: ${String((e as { stderr?: string }).stderr ?? e).trim().split('\n').pop()}`);
    }
  }
  return `no python with numpy (${reasons.join('; ')})`;
}

/** Per row: numpy's GFLOP/s on the same products, ours / numpy, and the roofline (copy bandwidth, numpy GEMM). */
export function annotateCpuRows(rows: BenchRow[], y: NumpyYardstick): void {
  for (const r of rows) {
    const m = y.configs.find((c) => c.b === r.b && c.s_k === r.s_k && c.h_q === r.h_q && (c.s_q ?? 1) === r.s_q);
    const gflops = r.TFLOPS * 1e3;
    if (m) Object.assign(r, { numpy_GFLOPs: m.GFLOPs, ratio_vs_numpy: gflops / m.GFLOPs });
    const memMs = r.GBps * r.ms / y.copy_GBps, flopMs = gflops * r.ms / y.gemm_GFLOPs; // each ceiling's time
    r.bound = memMs > flopMs ? 'memory' : 'f32';
    r.roofline_fraction = Math.max(memMs, flopMs) / r.ms;
  }
}
