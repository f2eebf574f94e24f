// The arms of `flashmla bench` (src/bench/arms.ts, src/cli/bench-arms.ts): argument checks, the variant winners,
// the numSms rule, the multiply-add verdict, and the harness timing each arm with its set-up applied (CPU backend).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { chooseDecodeVariant, decodeSmem, decodeVariants, variantTag } from '../../src/backends/cuda/kernels/launch.js';
import { InlineCpuBackend } from '../../src/backends/cpu/inline.js';
import {
  bucketOf, fittingVariants, mulAddArms, mulAddVerdict, numSmsFor, variantArm, variantByTag, webGpuArms, winnersByBucket,
} from '../../src/bench/arms.js';
import { parseArmOptions, prepareArms, wantsArms } from '../../src/cli/bench-arms.js';
import { type BenchArm, type BenchRow, primaryArm, runConfigs } from '../../src/cli/harness.js';
import type { WebGpuBackend } from '../../src/backends/webgpu/backend.js';
import { createNodeWebGpuBackend } from '../../src/backends/webgpu/node.js';
import { median } from '../../src/bench/stats.js';
import type { Tensor } from '../../src/core/tensor.js';

const row = (h_q: number, s_q: number, arms: [string, number][], b = 128): BenchRow => ({
  b, s_k: 4096, h_q, h_kv: 1, s_q, page_block_size: 64, total_seqlen: b * 4096, ms: 0, GBps: 0, TFLOPS: 0, copies: 1, rotated_bytes: 0,
  arms: arms.map(([label, ms]) => ({ label, ms, num_sm_parts: 1 })),
});

describe('bench arms: options', () => {
  test('parses lists, tunings and the multiply-add choice', () => {
    const tag = variantTag(decodeVariants[3]);
    assert.deepEqual(parseArmOptions({ variants: `auto,${tag}` }).variants, ['auto', tag]);
    assert.deepEqual(parseArmOptions({ 'num-sms': '132,264', 'num-sms-all': true }), { numSms: [132, 264], numSmsAll: true });
    assert.deepEqual(parseArmOptions({ tunings: '[{},{"mT":16}]', 'mul-add': 'auto' }).tunings, [{}, { mT: 16 }]);
    assert.equal(wantsArms(parseArmOptions({})), false);
    assert.equal(wantsArms(parseArmOptions({ 'mul-add': 'mad' })), true);
  });
  const bad: [string, Record<string, string | boolean>, RegExp][] = [
    ['an unknown variant', { variants: 'auto,m99_n1' }, /--variants: unknown variant 'm99_n1'/],
    ['winners with others', { variants: 'winners,auto' }, /--variants winners: give it alone/],
    ['an empty list item', { variants: 'auto,' }, /--variants: expected a comma-separated list/],
    ['a zero SM count', { 'num-sms': '132,0' }, /--num-sms: expected an integer in 1\.\.65536, got '0'/],
    ['tunings that are not JSON', { tunings: '[{mT:16}]' }, /--tunings: invalid JSON/],
    ['tunings that are not objects', { tunings: '[16]' }, /--tunings: expected a non-empty JSON array of objects/],
    ['a bad multiply-add', { 'mul-add': 'fmac' }, /--mul-add: expected one of fma, mad, auto/],
    ['variants with SM counts', { variants: 'auto', 'num-sms': '132' }, /give one kind of arm/],
    ['variants with a multiply-add', { variants: 'all', 'mul-add': 'mad' }, /give one kind of arm/],
  ];
  for (const [what, v, msg] of bad) test(`rejects ${what}`, () => assert.throws(() => parseArmOptions(v), msg));

  test('CUDA and WebGPU arms refuse another backend before any timing', async () => {
    const cpu = new InlineCpuBackend();
    const base = { warmup: 0, reps: 1 };
    await assert.rejects(prepareArms(cpu, parseArmOptions({ variants: 'auto' }), base, true), /--variants needs --backend cuda \(running on cpu\)/);
    await assert.rejects(prepareArms(cpu, parseArmOptions({ tunings: '[{}]' }), base, true), /--tunings needs --backend webgpu/);
    await assert.rejects(prepareArms(cpu, parseArmOptions({ 'mul-add': 'auto' }), base, true), /--mul-add needs --backend webgpu/);
  });
});

describe('bench arms: CUDA variants', () => {
  test("'splitkv' times the mma.sync variant the library picks for each config's rows, beside 'auto'", async () => {
    const calls: unknown[] = [];
    const smem = 232448;
    const cuda = { kind: 'cuda', info: { details: { maxSharedMemoryPerBlock: smem } }, setDecodeVariant: (v: unknown) => { calls.push(v); } };
    const { arms } = await prepareArms(cuda as never, parseArmOptions({ variants: 'auto,splitkv' }), { warmup: 0, reps: 1 }, true);
    for (const [h_q, s_q] of [[16, 1], [128, 2]]) {
      const list = arms!({ b: 128, s_k: 4096, h_q, s_q }, 0);
      assert.deepEqual(list.map((a) => a.label), ['auto', 'splitkv']);
      calls.length = 0;
      list[1].enter!(); list[1].exit!();
      assert.deepEqual(calls, [chooseDecodeVariant(h_q * s_q, smem), undefined]);
    }
  });

  test('variant tags round-trip; fitting filters by shared memory', () => {
    for (const v of decodeVariants) assert.equal(variantByTag(variantTag(v)), v);
    assert.equal(variantByTag('m1_n1_s1_w1'), undefined);
    const small = Math.min(...decodeVariants.map(decodeSmem));
    assert.deepEqual(fittingVariants(small).map(decodeSmem), decodeVariants.filter((v) => decodeSmem(v) === small).map(decodeSmem));
    assert.equal(fittingVariants(1 << 30).length, decodeVariants.length);
  });

  test('a variant arm forces its variant and restores the automatic choice', () => {
    const calls: unknown[] = [];
    const cuda = { setDecodeVariant: (v: unknown) => { calls.push(v); } };
    const arm = variantArm(cuda, decodeVariants[1]);
    assert.equal(arm.label, variantTag(decodeVariants[1]));
    arm.enter!(); arm.exit!();
    assert.deepEqual(calls, [decodeVariants[1], undefined]);
    assert.equal(variantArm(cuda, undefined).label, 'auto');
  });

  test('winners: the fastest variant per row bucket among the b = 128 rows', () => {
    assert.deepEqual([1, 16, 17, 32, 64, 65, 256, 999].map(bucketOf), [16, 16, 32, 32, 64, 128, 256, 256]);
    const w = winnersByBucket([
      row(16, 1, [['auto', 0.1], ['m16_a', 3], ['m32_b', 2]]),
      row(16, 2, [['m16_a', 5], ['m32_b', 6]]),
      row(64, 2, [['m64_c', 9], ['m64_d', 8]]), // 128 rows
      row(16, 1, [['m16_a', 0.001]], 1), // b = 1 does not vote
    ]);
    assert.deepEqual(Object.fromEntries([...w].map(([k, x]) => [k, x.tag])), { 16: 'm32_b', 32: 'm16_a', 128: 'm64_d' });
  });

  test('a row reports auto when timed, else its fastest arm', () => {
    assert.equal(primaryArm([{ label: 'x', ms: 1 }, { label: 'auto', ms: 2 }]).label, 'auto');
    assert.equal(primaryArm([{ label: 'x', ms: 3 }, { label: 'y', ms: 2 }, { label: 'z', ms: 2.5 }]).label, 'y');
  });
});

describe('bench arms: WebGPU', () => {
  test('big batches of many rows plan for the first SM count only, unless all', () => {
    assert.deepEqual(numSmsFor({ b: 128, s_k: 1024, h_q: 64, s_q: 1 }, [132, 264], false), [132]);
    assert.deepEqual(numSmsFor({ b: 128, s_k: 1024, h_q: 64, s_q: 1 }, [132, 264], true), [132, 264]);
    assert.deepEqual(numSmsFor({ b: 128, s_k: 1024, h_q: 32, s_q: 1 }, [132, 264], false), [132, 264]);
    assert.deepEqual(numSmsFor({ b: 1, s_k: 32768, h_q: 128, s_q: 2 }, [132, 264], false), [132, 264]);
  });

  test('tunings cross SM counts and are set only while their arm runs', () => {
    const wb = { decodeTuning: {} as Record<string, number> };
    const arms = webGpuArms(wb, { b: 2, s_k: 64, h_q: 16, s_q: 1 }, [8, 16], [{}, { rowsPerTile: 16 }], false);
    assert.deepEqual(arms.map((a) => [a.label, a.numSms]), [['numSms=8', 8], ['numSms=16', 16], ['numSms=8 {"rowsPerTile":16}', 8], ['numSms=16 {"rowsPerTile":16}', 16]]);
    assert.equal(arms[0].enter, undefined);
    arms[2].enter!();
    assert.deepEqual(wb.decodeTuning, { rowsPerTile: 16 });
    arms[2].exit!();
    assert.deepEqual(wb.decodeTuning, {});
  });

  test('the multiply-add probe sums each spelling and restores the setting', () => {
    const wb = { mulAdd: true };
    const [fma, mad] = mulAddArms(wb);
    fma.enter!(); assert.equal(wb.mulAdd, false); fma.exit!(); assert.equal(wb.mulAdd, true);
    mad.enter!(); assert.equal(wb.mulAdd, true);
    const v = mulAddVerdict([row(16, 1, [['fma', 1], ['mad', 2]]), row(64, 2, [['fma', 3], ['mad', 1.5]])]);
    assert.deepEqual(v, { ms: { fma: 4, mad: 3.5 }, mad: true });
    assert.equal(mulAddVerdict([row(16, 1, [['fma', 1], ['mad', 2]])]).mad, false);
  });
});

test('the harness times every arm inside its set-up and checks the reported arm against the reference', async () => {
  const cpu = new InlineCpuBackend();
  const log: string[] = [];
  let active = '';
  const arm = (label: string, numSms: number): BenchArm => ({
    label, numSms, enter: () => { log.push(`enter ${label}`); active = label; }, exit: () => { log.push(`exit ${label}`); active = ''; },
  });
  const timeMs = cpu.timeMs.bind(cpu);
  cpu.timeMs = async (fn, o) => { log.push(`time in ${active}`); return timeMs(fn, o); };
  // The kernel a row records is the one its arm ran (as a forced CUDA variant does, the arm changes the answer).
  cpu.decodeKernel = () => `kernel of ${active || 'no arm'}`;
  const rows = await runConfigs(cpu, [{ b: 3, s_k: 150, h_q: 8, s_q: 1 }], {
    warmup: 0, reps: 1, check: 2, rotateBytes: 1e5, arms: () => [arm('two', 2), arm('auto', 5)],
  });
  const r = rows[0];
  assert.equal(r.kernel, 'kernel of auto');
  assert.deepEqual(r.arms!.map((a) => [a.label, a.num_sm_parts]), [['two', 2], ['auto', 5]]);
  assert.equal(r.arm, 'auto');
  assert.equal(r.ms, r.arms![1].ms);
  assert.deepEqual(log, ['enter two', 'time in two', 'exit two', 'enter auto', 'time in auto', 'exit auto', 'enter auto', 'exit auto']);
  assert.equal(r.check!.ok, true, JSON.stringify(r.check));
  // Without arms a row has no arms field: the default bench's output is unchanged.
  const plain = await runConfigs(cpu, [{ b: 1, s_k: 64, h_q: 4, s_q: 1 }], { warmup: 0, reps: 1, check: 0, rotateBytes: 1e5 });
  assert.equal(plain[0].arms, undefined);
  assert.equal(plain[0].arm, undefined);
});

test('the harness warms for idleWarmMs on the first config and after an idle gap, warmMs otherwise', async () => {
  const cpu = new InlineCpuBackend();
  // Each timeMs call records how long the untimed warm-up before it lasted (from the arm's enter).
  const warmed: number[] = [];
  let entered = 0;
  const timeMs = cpu.timeMs.bind(cpu);
  cpu.timeMs = async (fn, o) => { warmed.push(performance.now() - entered); return timeMs(fn, o); };
  const arms = () => [{ label: 'auto', enter: () => { entered = performance.now(); } }];
  const configs = [{ b: 1, s_k: 64, h_q: 4, s_q: 1 }, { b: 1, s_k: 64, h_q: 4, s_q: 1 }];
  await runConfigs(cpu, configs, { warmup: 0, reps: 1, check: 0, rotateBytes: 1e5, warmMs: 20, idleWarmMs: 250, idleGapMs: 60000, arms });
  assert.ok(warmed[0] >= 250, `first config warmed ${warmed[0]} ms`);
  assert.ok(warmed[1] >= 20 && warmed[1] < 200, `second config warmed ${warmed[1]} ms`);
  // An idle gap shorter than the time between configs: every config gets the long warm-up.
  warmed.length = 0;
  await runConfigs(cpu, configs, { warmup: 0, reps: 1, check: 0, rotateBytes: 1e5, warmMs: 0, idleWarmMs: 120, idleGapMs: -1, arms });
  assert.ok(warmed.every((w) => w >= 120), JSON.stringify(warmed));
});

test('graphCalls: the harness captures that many calls once and times replays, each divided by the calls it holds', async () => {
  const cpu = new InlineCpuBackend();
  const log: string[] = [];
  let captured: (() => Promise<void>) | undefined;
  // A stand-in for the CUDA backend's captureGraph: the callback runs at capture (as the real one runs it uncaptured
  // first) and each launch runs it again; timeMs reports a fixed 6 ms a repetition.
  Object.assign(cpu, {
    captureGraph: async (fn: () => Promise<void>) => {
      captured = fn;
      log.push('capture');
      await fn();
      return { launch: () => { log.push('launch'); }, dispose: () => { log.push('dispose'); } };
    },
  });
  const runs = { n: 0 };
  const timeMs = cpu.timeMs.bind(cpu);
  cpu.timeMs = async (fn, o) => { await timeMs(fn, o); return Array.from({ length: o.reps }, () => 6); };
  const decode = cpu.decode.bind(cpu);
  cpu.decode = (c) => { runs.n++; return decode(c); };
  const rows = await runConfigs(cpu, [{ b: 1, s_k: 64, h_q: 4, s_q: 1 }], { warmup: 0, reps: 3, check: 0, rotateBytes: 1e5, graphCalls: 3 });
  assert.equal(rows[0].ms, 2, 'a replay of 3 calls timed at 6 ms is 2 ms a call');
  assert.ok(captured);
  assert.equal(runs.n, 3, 'the capture ran the decoder three times; launches run nothing on the host');
  assert.deepEqual(log, ['capture', 'launch', 'launch', 'launch', 'dispose']);
  // A backend without graphs is told so, not timed eagerly under the graph's name.
  await assert.rejects(runConfigs(new InlineCpuBackend(), [{ b: 1, s_k: 64, h_q: 4, s_q: 1 }], { warmup: 0, reps: 1, check: 0, rotateBytes: 1e5, graphCalls: 2 }),
    /graphCalls: the cpu backend has no CUDA graphs/);
});

test('chainCalls (WebGPU, lavapipe): each repetition one batch of that many calls, rotating page sets, its time divided by them', async (t) => {
  let be: WebGpuBackend;
  try {
    be = await createNodeWebGpuBackend();
  } catch (e) {
    if (process.env.CI) throw e;
    t.skip(`no WebGPU adapter (${(e as Error).message.split('\n')[0]})`);
    return;
  }
  try {
    const raw: number[][] = [];
    const timeMs = be.timeMs.bind(be);
    be.timeMs = async (fn, o) => { const r = await timeMs(fn, o); raw.push(r); return r; };
    const tables: Tensor[] = [], batched: boolean[] = [];
    const decode = be.decode.bind(be);
    be.decode = (c) => { tables.push(c.blockTable); batched.push(be.batching); return decode(c); };
    let batches = 0;
    const batch = be.batch.bind(be);
    be.batch = (fn) => { batches++; return batch(fn); };
    const rows = await runConfigs(be, [{ b: 1, s_k: 64, h_q: 4, s_q: 1 }], { warmup: 1, reps: 3, check: 0, rotateBytes: 1e6, warmMs: 0, idleWarmMs: 0, chainCalls: 3 });
    assert.equal(raw.length, 1);
    assert.ok(Math.abs(rows[0].ms - median(raw[0]) / 3) <= 1e-12 * rows[0].ms, `${rows[0].ms} vs ${median(raw[0])} / 3`);
    assert.equal(batches, 4, 'one batch a repetition, warm-up included');
    assert.ok(batched.every((x) => x), 'every call inside a batch');
    // page sets rotate: warm-up repetition 0 runs sets 0, 1, 2; the timed repetitions 0..2 run sets 0..8
    assert.ok(rows[0].copies >= 9, `${rows[0].copies} page sets`);
    const distinct = [...new Set(tables)];
    assert.deepEqual(tables.map((x) => distinct.indexOf(x)), [0, 1, 2, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
    // A backend without batches is told so, not timed call by call under the chain's name.
    await assert.rejects(runConfigs(new InlineCpuBackend(), [{ b: 1, s_k: 64, h_q: 4, s_q: 1 }], { warmup: 0, reps: 1, check: 0, rotateBytes: 1e5, chainCalls: 2 }),
      /chainCalls: the cpu backend has no batches/);
  } finally {
    be.dispose();
  }
});
