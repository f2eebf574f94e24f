// The gemm probe's forms by set (`--set N` of scripts/webgpu-matrix-gemm-probe.ts; scripts/webgpu-drift-probe.ts
// takes its gemm form from set 2). Side-effect free, so both scripts import it.
import type { GemmSpec } from '../src/bench/webgpu-matrix-gemm.js';

const g = (subgroupsM: number, subgroupsN: number, lefts: number, rights: number, kStep: number, pad: number, stages: 1 | 2): GemmSpec => ({ subgroupsM, subgroupsN, lefts, rights, kStep, pad, stages });
const b1 = (subgroupsM: number, subgroupsN: number, lefts: number, rights: number, kStep: number, pad: number): GemmSpec => ({ ...g(subgroupsM, subgroupsN, lefts, rights, kStep, pad, 2), oneBuffer: true });
const direct = (subgroupsM: number, subgroupsN: number, lefts: number, rights: number, kStep: number): GemmSpec => ({ ...g(subgroupsM, subgroupsN, lefts, rights, kStep, 0, 1), source: 'storage' });
// --set 1: session 59's first sweep (staged forms). --set 2: the best staged form first and last (an order check),
// the suspicious 4 x 2 subgroups form right after it, and the storage forms (no staging).
export const gemmSets: Record<string, GemmSpec[]> = {
  1: [
    g(2, 4, 4, 2, 32, 8, 2), g(2, 4, 4, 2, 32, 0, 2), g(2, 4, 4, 2, 16, 8, 2), g(2, 4, 4, 2, 32, 8, 1),
    g(2, 2, 4, 4, 32, 8, 2), g(4, 2, 2, 4, 32, 8, 2), g(2, 2, 2, 2, 32, 8, 2), g(2, 4, 2, 2, 32, 8, 2),
    g(1, 4, 4, 2, 32, 8, 2), g(4, 2, 4, 2, 16, 8, 2), g(2, 2, 4, 2, 32, 8, 2),
  ],
  2: [
    g(2, 4, 4, 2, 32, 8, 2), g(4, 2, 2, 4, 32, 8, 2), g(4, 2, 4, 2, 32, 8, 2),
    { ...g(2, 4, 4, 2, 32, 8, 2), oneBuffer: true }, { ...g(2, 4, 4, 2, 64, 8, 2), oneBuffer: true }, { ...g(2, 4, 4, 2, 64, 0, 2), oneBuffer: true },
    direct(2, 4, 4, 2, 32), direct(2, 4, 2, 2, 32), direct(4, 2, 4, 2, 32), direct(2, 2, 4, 4, 16), direct(2, 4, 4, 2, 16),
    g(2, 4, 4, 2, 32, 8, 2),
  ],
  // --set 3 (session 60, each form run alone: a sweep's process slows down): around set 2's form 4 (one buffer, kStep
  // 64, 131 TFLOPS alone), the tile split, the pad, 4 subgroups, a 64 x 128 and a 256 x 128 tile.
  3: [
    b1(2, 4, 4, 2, 64, 8), b1(4, 2, 2, 4, 64, 8), b1(2, 4, 4, 2, 64, 16), b1(2, 2, 4, 4, 64, 8),
    b1(2, 4, 2, 2, 64, 8), b1(4, 2, 4, 2, 32, 8), b1(2, 4, 4, 2, 32, 16),
  ],
  // --set 4 (prepared in session 60, run in session 61): two slabs of register prefetch against the best one-slab form.
  4: [
    b1(2, 4, 4, 2, 64, 8), { ...b1(2, 4, 4, 2, 32, 8), prefetch: 2 }, { ...b1(4, 2, 2, 4, 32, 8), prefetch: 2 }, { ...b1(2, 4, 4, 2, 64, 8), prefetch: 2 },
    // forms 4-5 (session 61): a 16-row tile, the shape of a 16-row decode's products (16 x 256 as QK's keys, 16 x 512
    // as PV's O): the most a WGSL product of 16 rows against operands staged in workgroup memory reaches.
    b1(1, 8, 1, 2, 64, 8), b1(1, 8, 1, 4, 32, 8),
  ],
  // --set 5 (session 61, first timed by hand on the H200 after set 4, docs/notes/webgpu-matrix-gemm.md "Session 61"):
  // 16 products a subgroup (a 128 x 256 or 256 x 128 tile: 160-164 TFLOPS against set 4's 133), kStep 16 / 32, and the
  // best 64-row tiles. Form 0 is the reference of sets 3 and 4.
  5: [
    b1(2, 4, 4, 2, 64, 8), b1(2, 4, 4, 4, 32, 8), b1(4, 2, 2, 8, 32, 8), b1(4, 2, 4, 4, 32, 8), b1(2, 4, 8, 2, 32, 8),
    b1(2, 4, 4, 4, 16, 8), b1(2, 2, 4, 4, 32, 8), b1(1, 8, 4, 2, 64, 8), b1(2, 4, 2, 4, 64, 8),
  ],
  // --set 6 (session 61, timed by hand as set 5): 16-row tiles with the matrices loaded straight from storage.
  6: [direct(1, 8, 1, 2, 32), direct(1, 8, 1, 4, 32), direct(1, 8, 1, 2, 64), direct(1, 4, 1, 4, 32), direct(1, 8, 1, 1, 64), direct(1, 4, 1, 2, 64)],
};
