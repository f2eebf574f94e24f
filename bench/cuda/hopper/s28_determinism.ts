// Session 28 (docs/notes/sanitizers.md): bit-for-bit repeatability of the Hopper kernels where racecheck reports
// hazards it does not explain. Each case runs N times on the same inputs (fresh poisoned outputs each time) and every
// run's out and lse bytes are compared with the first run's; the first run is also checked against the float64
// reference. A race that reads a stale or half-written shared value would show as a run that differs.
//   node build/bench/cuda/hopper/s28_determinism.js [N=200]     (GPU host, after tsc; FLASHMLA_CUDA_KERNELS as usual)
import { flashMlaWithKvcache } from '../../../src/index.js';
import { createCudaBackend } from '../../../src/backends/cuda/index.js';
import type { ScheduleKind } from '../../../src/core/scheduler.js';
import { compareOutputs, tolerances } from '../../../test/support/compare.js';
import { caseReference, makeCase, runCase } from '../../../test/support/random.js';

const n = Number(process.argv[2] ?? 200);
const cuda = await createCudaBackend();
const specs: { name: string; hQ: number; sQ: number; seqlens: number[] }[] = [
  { name: 'n32 b2 s_k1024 h32 (racecheck: item-end merge)', hQ: 32, sQ: 1, seqlens: [1024, 1024] },
  { name: 'n32 b5 s_k1024 h16 s_q2', hQ: 16, sQ: 2, seqlens: [1024, 1024, 1024, 1024, 1024] },
  { name: 'n32 b3 uneven h32', hQ: 32, sQ: 1, seqlens: [700, 3000, 65] },
  { name: 'n16 b4 s_k2048 h16 (racecheck clean: control)', hQ: 16, sQ: 1, seqlens: [2048, 2048, 2048, 2048] },
  { name: 'wide 256 rows b2 s_k1024 h128 s_q2 (racecheck: c / m_B)', hQ: 128, sQ: 2, seqlens: [1024, 1024] },
  { name: 'wide 64 rows b1 s_k8192 h64', hQ: 64, sQ: 1, seqlens: [8192] },
  { name: 'wide 128 rows b3 uneven h64 s_q2', hQ: 64, sQ: 2, seqlens: [130, 4000, 1500] },
];
let bad = 0;
for (const s of specs) {
  for (const schedule of ['auto', 'flashmla'] as ScheduleKind[]) {
    const c = makeCase({ name: s.name, dtype: 'bf16', hQ: s.hQ, hKv: 1, pageBlockSize: 64, seqlens: s.seqlens, sQ: s.sQ, causal: s.sQ > 1 }, 28);
    const first = await runCase(c, cuda, flashMlaWithKvcache, { schedule });
    const check = compareOutputs(first.out, first.lse, caseReference(c), c.dtype, { b: c.b, sQ: c.sQ, hQ: c.hQ }, tolerances.cuda);
    let differ = 0, firstDiff = -1;
    const t0 = performance.now();
    for (let i = 1; i < n; i++) {
      const r = await runCase(c, cuda, flashMlaWithKvcache, { schedule });
      let same = r.out.length === first.out.length;
      for (let j = 0; same && j < r.out.length; j++) same = r.out[j] === first.out[j];
      for (let j = 0; same && j < r.lse.length; j++) same = Object.is(r.lse[j], first.lse[j]) || r.lse[j] === first.lse[j];
      if (!same) { differ++; if (firstDiff < 0) firstDiff = i; }
    }
    if (differ || !check.ok) bad++;
    console.log(`${s.name} [${schedule}]: ${check.ok ? 'ok' : 'FAILS'} vs reference (${check.message.slice(0, 60)}); ${n - 1} repeats, ${differ} differ${differ ? ` (first at ${firstDiff})` : ''}; ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
}
console.log(bad ? `DETERMINISM: ${bad} case(s) differ or fail` : 'DETERMINISM: every repeat bit-identical, every first run within tolerance');
cuda.dispose();
