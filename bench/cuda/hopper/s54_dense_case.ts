// Session 54: one case of the GPU dense fuzz on CUDA, run alone on fresh backends under several settings, to find why
// seed 7275089's case 122 gave NaN on the H100 (session 53). Per setting: the rows that differ from the float64
// reference, NaN and never-written elements (out poisoned with a sentinel before the call), and the same case with the
// length it was built with. The GPU host runs the tsc build:
//   node build/bench/cuda/hopper/s54_dense_case.js [SEED] [CASE] [NUMSMS]
import { type CudaBackendOptions, createCudaBackend } from '../../../src/backends/cuda/index.js';
import { bf16ToF32, f16ToF32 } from '../../../src/core/dtype.js';
import { Tensor } from '../../../src/core/tensor.js';
import { type Args, callDense, denseFuzzCase, referenceOf, replan } from '../../../test/support/fuzz-dense.js';

const seed = Number(process.argv[2] ?? 7275089), caseNo = Number(process.argv[3] ?? 122);
const sentinel = 0x4242; // 48.5 in bf16, 3.13 in f16: an element still holding it was not written

function report(what: string, a: Args, out: Uint16Array, lse: Float32Array): void {
  const ref = referenceOf(a), dec = a.q.dtype === 'bf16' ? bf16ToF32 : f16ToF32;
  const rows = out.length / 512, bad: string[] = [];
  let nan = 0, unwritten = 0, worst = 0;
  for (let r = 0; r < rows; r++) {
    let rowNan = 0, rowUnw = 0, rowErr = 0;
    for (let c = 0; c < 512; c++) {
      const x = out[r * 512 + c], v = dec(x), e = Math.abs(v - ref.out[r * 512 + c]);
      if (Number.isNaN(v)) rowNan++;
      if (x === sentinel) rowUnw++;
      if (!(e <= rowErr)) rowErr = Number.isNaN(e) ? Infinity : e;
    }
    nan += rowNan; unwritten += rowUnw; worst = Math.max(worst, rowErr);
    if (rowNan || rowUnw || rowErr > 0.02) bad.push(`row ${r}: ${rowNan} NaN, ${rowUnw} unwritten, max err ${rowErr.toExponential(2)}, lse ${lse[r]} (ref ${ref.lse[r]})`);
  }
  console.log(`${what}: ${rows} rows, ${nan} NaN, ${unwritten} unwritten, worst ${worst.toExponential(2)}${bad.length ? '\n    ' + bad.slice(0, 8).join('\n    ') : ''}`);
}

async function run(what: string, opts: CudaBackendOptions, edit?: (a: Args) => void): Promise<void> {
  const be = await createCudaBackend(opts);
  try {
    const { a, steps } = denseFuzzCase(seed, 'cuda', caseNo, be.info.numSms, false, 'gpu');
    edit?.(a);
    if (what === 'default') console.log(`case ${caseNo}: ${steps.join('; ')}; q [${a.q.shape}] cache [${a.kCache.shape}] seqlens [${a.cacheSeqlens.data as Int32Array}] causal ${String(a.causal)} numSplits [${a.numSplits.data as Int32Array}] meta ${a.meta.shape}`);
    const r1 = await callDense(be, a);
    report(`${what}`, a, r1.out, r1.lse);
    const shape = a.qIndptr ? [a.q.shape[0], a.q.shape[1], 512] : [a.q.shape[0], a.q.shape[1], a.q.shape[2], 512];
    const poison = be.upload(new Tensor(a.dtype, shape, new Uint16Array(shape.reduce((x, y) => x * y, 1)).fill(sentinel)));
    try {
      const r2 = await callDense(be, a, { out: poison });
      report(`${what}, out poisoned`, a, r2.out, r2.lse);
      const r3 = await callDense(be, a);
      report(`${what}, again`, a, r3.out, r3.lse);
    } finally { be.free(poison); }
  } catch (e) {
    console.log(`${what}: ${(e as Error).message}`);
  } finally { be.dispose(); }
}

await run('default', {});
await run('kernel naive', { kernel: 'naive' });
await run('schedule flashmla', { schedule: 'flashmla' });
await run('pdl off', { pdl: false });
await run('seqlen + 1 (as built), replanned', {}, (a) => { (a.cacheSeqlens.data as Int32Array)[0] += 1; replan(a); });
await run('seqlen - 1, replanned', {}, (a) => { (a.cacheSeqlens.data as Int32Array)[0] -= 1; replan(a); });

// The case after cases `from`..case-1 on the same backend (the fuzz's order; their typed errors ignored): whether what
// an earlier call left behind (staged index words, kernel cache, workspace) matters.
for (const from of [0, 61, 92, 107, 115, 119, 121, caseNo]) {
  const be = await createCudaBackend({});
  try {
    for (let i = from; i < caseNo; i++) {
      try { await callDense(be, denseFuzzCase(seed, 'cuda', i, be.info.numSms, false, 'gpu').a); } catch { /* a typed error */ }
    }
    const { a } = denseFuzzCase(seed, 'cuda', caseNo, be.info.numSms, false, 'gpu');
    const r = await callDense(be, a);
    report(`after cases ${from}..${caseNo - 1} on one backend`, a, r.out, r.lse);
  } catch (e) {
    console.log(`after cases ${from}..: ${(e as Error).message}`);
  } finally { be.dispose(); }
}
