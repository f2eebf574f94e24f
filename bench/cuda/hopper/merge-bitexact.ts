// The case loop of the merge bit-identity tools (combine-quarter-bitexact.ts, session 38; combine-q32-bitexact.ts,
// session 41): two CUDA backends of the same kernel folder that differ only in which merge they pick; each case's host
// inputs uploaded to both with the same poisoned outputs, `out` and `lse` compared bit for bit (NaN by bits too). Case i
// runs with 132, 66, 16 and 8 SM parts by turns and the 'auto' plan, or FlashMLA's for every third. Prints a line a case
// (its merge on each backend, `identical` or the first differing element) and last `bitexact: N of M identical (LABEL);
// NEW ran in K`; returns the exit status: 0 only when every case is identical and the new merge ran in some.
import type { CudaBackend } from '../../../src/backends/cuda/index.js';
import { MlaDecoder } from '../../../src/core/api.js';
import { fromArray } from '../../../src/core/tensor.js';
import type { ScheduleKind } from '../../../src/core/scheduler.js';
import { type CaseSpec, makeCase } from '../../../test/support/random.js';

/** A small-batch case of the merge tools: one KV head, pages of 64, causal. */
export const mergeCase = (name: string, seqlens: number[], hQ: number, sQ: number, dtype: 'bf16' | 'f16' = 'bf16'): CaseSpec =>
  ({ name, dtype, hQ, hKv: 1, pageBlockSize: 64, seqlens, sQ, causal: true });

/** Session 38's fixed cases (combine-quarter-bitexact.ts): requests split in 5-24 pieces at 16, 32 and 64+ rows, both dtypes, corner lengths. */
export const quarterMergeCases: CaseSpec[] = [
  mergeCase('b10 s_k3000 h16', Array(10).fill(3000), 16, 1),
  mergeCase('b9 s_k1536 h16', Array(9).fill(1536), 16, 1),
  mergeCase('b8 s_k1536 h16 f16', Array(8).fill(1536), 16, 1, 'f16'),
  mergeCase('b16 s_k1024 h16', Array(16).fill(1024), 16, 1),
  mergeCase('b12 s_k1500 h32', Array(12).fill(1500), 32, 1),
  mergeCase('b6 s_k5000 h16 s_q2', Array(6).fill(5000), 16, 2),
  mergeCase('b8 s_k4096 h64', Array(8).fill(4096), 64, 1),
  mergeCase('b4 s_k8192 h128 s_q2', Array(4).fill(8192), 128, 2),
  mergeCase('uneven h16 s_q4', [4641, 45118, 1730, 1696], 16, 4),
  mergeCase('corners h5 s_q3', [0, 1, 63, 64, 65, 0, 1290, 3000], 5, 3),
  mergeCase('corners h17 s_q1 f16', [6500, 0, 1, 64, 63, 2000], 17, 1, 'f16'),
];

/** The first element where two runs' outputs differ by bits (`out` as 16-bit words, `lse` by its f32 bits, so NaNs too), or ''. */
export function bitDifference(x: { out: Uint16Array; lse: Float32Array }, y: { out: Uint16Array; lse: Float32Array }): string {
  for (let e = 0; e < x.out.length; e++) if (x.out[e] !== y.out[e]) return `out[${e}] ${x.out[e].toString(16)} / ${y.out[e].toString(16)}`;
  const xb = new Uint32Array(x.lse.buffer, x.lse.byteOffset, x.lse.length), yb = new Uint32Array(y.lse.buffer, y.lse.byteOffset, y.lse.length);
  for (let e = 0; e < xb.length; e++) if (xb[e] !== yb[e]) return `lse[${e}] ${x.lse[e]} / ${y.lse[e]}`;
  return '';
}

export async function mergeBitexact(o: { specs: CaseSpec[]; seed: number; backends: [CudaBackend, CudaBackend]; newMerge: string; label: string }): Promise<number> {
  let same = 0, ran = 0;
  try {
    for (let i = 0; i < o.specs.length; i++) {
      const c = makeCase(o.specs[i], o.seed + i);
      const numSms = [132, 66, 16, 8][i % 4], schedule: ScheduleKind = i % 3 === 2 ? 'flashmla' : 'auto';
      const r: { out: Uint16Array; lse: Float32Array; merge?: string }[] = [];
      for (const be of o.backends) {
        const dec = new MlaDecoder(be, { hQ: c.hQ, hKv: c.hKv, dtype: c.dtype, causal: c.causal, numSms, schedule });
        dec.plan(c.cacheSeqlens, fromArray('i32', [c.b, c.maxBlocksPerSeq], c.blockTable), { sQ: c.sQ });
        const q = be.upload(fromArray(c.dtype, c.qShape, c.q)), k = be.upload(fromArray(c.dtype, [c.numBlocks, c.pageBlockSize, c.hKv, 576], c.kCache));
        const out = be.upload(fromArray(c.dtype, c.outShape, new Uint16Array(c.outShape.reduce((a, x) => a * x, 1)).fill(0x7fc1)));
        const lse = be.upload(fromArray('f32', c.lseShape, new Float32Array(c.lseShape.reduce((a, x) => a * x, 1)).fill(NaN)));
        await dec.run(q, k, { out, lse });
        await be.synchronize();
        r.push({ out: (await be.download(out)).host() as Uint16Array, lse: (await be.download(lse)).host() as Float32Array, merge: dec.mergeName() });
        for (const t of [q, k, out, lse]) be.free(t);
      }
      const diff = bitDifference(r[0], r[1]);
      if (!diff) same++;
      if (r[1].merge === o.newMerge) ran++;
      console.log(`case ${i}: ${o.specs[i].name} b=${c.b} h_q=${c.hQ} s_q=${c.sQ} ${c.dtype} parts<=${numSms} ${schedule} ${r[0].merge ?? '-'} / ${r[1].merge ?? '-'}: ${diff || 'identical'}`);
    }
  } finally {
    for (const be of o.backends) be.dispose();
  }
  console.log(`bitexact: ${same} of ${o.specs.length} identical (${o.label}); ${o.newMerge} ran in ${ran}`);
  return same === o.specs.length && ran > 0 ? 0 : 1;
}
