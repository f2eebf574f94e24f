// Programmatic dependent launch (src/backends/cuda/pdl.ts), without a GPU: which launches use it (every launch that
// waits by default, captured graphs included; the merges outside capture when asked for), the CUlaunchConfig and
// its attribute as cuLaunchKernelEx reads them from native memory (koffi), the fall-back to a plain launch when the
// driver refuses the attribute, and which kernels of a decode are launched with it (shape-kernels.ts: only those
// that wait in kernels/pdl.cuh before their first dependent access: decode_sm90.cu and combine.cu, checked in their
// sources too).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import koffi from 'koffi';
import {
  CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION, LaunchEx, type LaunchExDriver, type PdlSupport, launchAttributeBytes,
  launchConfigBytes, launchConfigOffsets, pdlFor, pdlSupport,
} from '../../src/backends/cuda/pdl.js';
import { KernelCache, type KernelCacheHost } from '../../src/backends/cuda/shape-kernels.js';
import { mlaParamsLayout } from '../../src/backends/cuda/params.js';
import { planDecode } from '../../src/core/plan.js';
import { lseStrides, type MlaProblem } from '../../src/core/problem.js';

const hopper = { ccMajor: 9, driverVersion: 13000, hasLaunchEx: true, option: true };

test('pdlSupport: every launch that waits by default, the merges only when asked for, none when refused; only on sm_90+ with a CUDA 12.3+ driver', () => {
  for (const o of [hopper, { ...hopper, ccMajor: 10, driverVersion: 12030 }, { ...hopper, option: undefined },
    { ...hopper, option: undefined, env: '1' }, { ...hopper, option: undefined, env: ' on ' }, { ...hopper, option: undefined, env: 'maybe' },
    { ...hopper, env: 'merges' }]) {
    const s = pdlSupport(o);
    assert.deepEqual([s.enabled, s.scope], [true, 'all'], JSON.stringify(o));
    assert.match(s.reason, /captured graphs included/);
  }
  for (const o of [{ ...hopper, option: undefined, env: 'merges' }, { ...hopper, option: undefined, env: ' MERGES ' }]) {
    const s = pdlSupport(o);
    assert.deepEqual([s.enabled, s.scope], [true, 'merges'], JSON.stringify(o));
    assert.match(s.reason, /merges outside graph capture \(FLASHMLA_CUDA_PDL=merges\)/i);
  }
  const off: [Parameters<typeof pdlSupport>[0], RegExp][] = [
    [{ ...hopper, ccMajor: 8 }, /compute capability 8\.x/],
    [{ ...hopper, option: undefined, ccMajor: 8 }, /compute capability 8\.x/],
    [{ ...hopper, hasLaunchEx: false }, /no cuLaunchKernelEx/],
    [{ ...hopper, option: undefined, hasLaunchEx: false }, /no cuLaunchKernelEx/],
    [{ ...hopper, driverVersion: 12020 }, /driver API 12\.2: 12\.3 or newer/],
    [{ ...hopper, option: false }, /option pdl: false/],
    [{ ...hopper, option: false, env: '1' }, /option pdl: false/],
    [{ ...hopper, env: '0' }, /FLASHMLA_CUDA_PDL=0/],
    [{ ...hopper, option: undefined, env: 'off' }, /FLASHMLA_CUDA_PDL=off/],
    [{ ...hopper, option: undefined, env: 'merges', ccMajor: 8 }, /compute capability 8\.x/],
  ];
  for (const [o, why] of off) {
    const s = pdlSupport(o);
    assert.deepEqual([s.enabled, s.scope], [false, 'off'], JSON.stringify(o));
    assert.match(s.reason, why);
  }
});

test('pdlFor: every launch that waits under scope all (captured too); under merges only the merges outside capture', () => {
  const rows: [PdlSupport['scope'], 'decode' | 'merge', boolean, boolean, boolean][] = [
    ['merges', 'merge', true, false, true], ['merges', 'merge', true, true, false], ['merges', 'decode', true, false, false],
    ['all', 'merge', true, true, true], ['all', 'decode', true, false, true], ['all', 'decode', true, true, true],
    ['all', 'decode', false, false, false], ['merges', 'merge', false, false, false], ['off', 'merge', true, false, false],
    ['off', 'decode', true, false, false],
  ];
  for (const [scope, kind, waits, capturing, want] of rows) assert.equal(pdlFor(scope, kind, waits, capturing), want, `${scope} ${kind} waits ${waits} capturing ${capturing}`);
});

type Call = { ex: boolean; args: unknown[]; config?: { words: number[]; stream: bigint; attrs: bigint; attrId: number; attrValue: number; base: bigint } };

function fakeDriver(exResult = 0, withEx = true) {
  const calls: Call[] = [];
  const api: LaunchExDriver['api'] = {
    cuLaunchKernel: (...args: unknown[]) => { calls.push({ ex: false, args }); return 0; },
    cuLaunchKernelEx: withEx ? (...args: unknown[]) => {
      // Read the config back from native memory, as the driver would.
      const cfg = args[0];
      const base = BigInt(koffi.address(cfg as never) as unknown as bigint);
      const v = new DataView(koffi.view(cfg as never, launchConfigBytes + launchAttributeBytes) as ArrayBuffer);
      const o = launchConfigOffsets;
      const words = [o.gridDimX, o.gridDimY, o.gridDimZ, o.blockDimX, o.blockDimY, o.blockDimZ, o.sharedMemBytes, o.numAttrs].map((x) => v.getUint32(x, true));
      const attrs = v.getBigUint64(o.attrs, true);
      const at = Number(attrs - base);
      calls.push({ ex: true, args, config: { words, stream: v.getBigUint64(o.hStream, true), attrs, attrId: v.getUint32(at, true), attrValue: v.getInt32(at + 8, true), base } });
      return exResult;
    } : undefined,
  };
  return { drv: { koffi, api } as LaunchExDriver, calls };
}

const shape = { fn: 0x1234n, gx: 132, gy: 1, gz: 2, threads: 384, smem: 229456 };

test('LaunchEx: a PDL launch hands cuLaunchKernelEx the grid, block, stream and one programmatic-serialization attribute', () => {
  const { drv, calls } = fakeDriver();
  const l = new LaunchEx(drv, pdlSupport(hopper));
  const argv = koffi.alloc('void *', 2);
  assert.equal(l.launch(shape, 0xabcdefn, argv, true), 0);
  assert.equal(calls.length, 1);
  const c = calls[0];
  assert.equal(c.ex, true);
  assert.deepEqual(c.config!.words, [132, 1, 2, 384, 1, 1, 229456, 1]);
  assert.equal(c.config!.stream, 0xabcdefn);
  assert.equal(c.config!.attrs, c.config!.base + BigInt(launchConfigBytes), 'the attribute follows the config');
  assert.equal(c.config!.attrId, CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION);
  assert.equal(c.config!.attrValue, 1);
  assert.equal(c.args[1], shape.fn);
  assert.equal(c.args[2], argv, 'the kernel arguments are passed through');
  assert.equal(c.args[3], null);
  // A second launch of another shape rewrites the same block.
  l.launch({ ...shape, gx: 4, gy: 16, gz: 4, threads: 256, smem: 0 }, 7n, argv, true);
  assert.deepEqual(calls[1].config!.words, [4, 16, 4, 256, 1, 1, 0, 1]);
  assert.equal(calls[1].config!.base, c.config!.base, 'no allocation per launch');
  l.dispose((f) => f());
});

test('LaunchEx: without pdl, or with PDL off, the launch is a plain cuLaunchKernel', () => {
  for (const support of [pdlSupport(hopper), pdlSupport({ ...hopper, ccMajor: 8 })] as PdlSupport[]) {
    const { drv, calls } = fakeDriver();
    const l = new LaunchEx(drv, support);
    l.launch(shape, 5n, 0n, !support.enabled ? true : false);
    assert.equal(calls.length, 1);
    assert.equal(calls[0].ex, false);
    assert.deepEqual(calls[0].args, [shape.fn, 132, 1, 2, 384, 1, 1, 229456, 5n, 0n, null]);
  }
  // A driver without cuLaunchKernelEx: off even if the support said on.
  const { drv, calls } = fakeDriver(0, false);
  const l = new LaunchEx(drv, pdlSupport(hopper));
  assert.equal(l.pdl.enabled, false);
  l.launch(shape, 5n, 0n, true);
  assert.equal(calls[0].ex, false);
});

test('LaunchEx: a refused attribute turns PDL off and the launch is retried plainly; other errors are returned', () => {
  for (const refused of [801, 1]) {
    const { drv, calls } = fakeDriver(refused);
    const l = new LaunchEx(drv, pdlSupport(hopper));
    assert.equal(l.launch(shape, 5n, 0n, true), 0, 'the retried plain launch succeeded');
    assert.deepEqual(calls.map((c) => c.ex), [true, false]);
    assert.equal(l.pdl.enabled, false);
    assert.match(l.pdl.reason, new RegExp(`returned ${refused}`));
    l.launch(shape, 5n, 0n, true);
    assert.deepEqual(calls.map((c) => c.ex), [true, false, false], 'no further attempt');
  }
  const { drv, calls } = fakeDriver(700);
  const l = new LaunchEx(drv, pdlSupport(hopper));
  assert.equal(l.launch(shape, 5n, 0n, true), 700, 'a fault is the caller\'s to report');
  assert.equal(calls.length, 1);
  assert.equal(l.pdl.enabled, true);
});

function problem(sQ: number, hQ: number): MlaProblem {
  const p = {
    b: 4, sQ, totalQ: 4 * sQ, hQ, hKv: 1, nGroups: hQ, dQk: 576, dV: 512, pageBlockSize: 64, numBlocks: 40, maxBlocksPerSeq: 10,
    dtype: 'bf16', kvDtype: 'bf16', softmaxScale: 1 / 24, causal: sQ > 1, varlen: false, numSmParts: 33,
  } as MlaProblem;
  return { ...p, ...lseStrides(p) };
}

test('decode launches: decode_sm90 and combine may start early (they wait); the wide and mma.sync kernels never', () => {
  const mk = (hopperModules: boolean) => {
    let next = 100n;
    return new KernelCache({
      drv: { getFunction: () => next++, setMaxDynamicSmem: () => {} } as unknown as KernelCacheHost['drv'], maxSmem: 232448, numSms: 132,
      decodeModule: 1n, combineModule: 2n, naiveModule: 3n, sm90Module: hopperModules ? 4n : undefined, sm90WideModule: hopperModules ? 5n : undefined,
      paramsView: new DataView(new ArrayBuffer(mlaParamsLayout.size)), repacked: () => {},
    });
  };
  const cases: [boolean, number, number, boolean][] = [[true, 1, 16, true], [true, 2, 16, true], [true, 1, 64, false], [true, 1, 48, false], [false, 1, 16, false]];
  for (const [hopperModules, sQ, hQ, decodePdl] of cases) {
    const p = problem(sQ, hQ);
    const sk = mk(hopperModules).shapeKernels(p, planDecode({ ...p }, undefined));
    assert.equal(sk.decode?.pdl === true, decodePdl, `decode of sQ ${sQ} hQ ${hQ} (hopper ${hopperModules})`);
    assert.equal(sk.combine?.pdl, true, 'combine waits for the decode in pdlWait');
  }
});

test('the kernels launched as programmatic dependents wait before their first global read (source check)', () => {
  const read = (f: string) => readFileSync(new URL(`../../src/backends/cuda/kernels/${f}`, import.meta.url), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
  const before = (src: string, start: RegExp, what: string): string => {
    const a = src.search(start);
    assert.ok(a >= 0, `${what}: entry not found`);
    const b = src.indexOf('pdlWait();', a);
    assert.ok(b > a, `${what}: no pdlWait() in the entry`);
    return src.slice(a, b);
  };
  // decode_sm90.cu: barrier set-up and the tensor-map prefetch only; no metadata, index or tensor read before the wait.
  const d = before(read('decode_sm90.cu'), /static __device__ void run\(const MlaParams& p/, 'decode_sm90.cu');
  assert.doesNotMatch(d, /\bp\.\w+\s*\[|\bmeta\s*\[|itemOf\(|queryRange\(|\*\s*p\.\w+/, 'decode_sm90.cu reads global memory before pdlWait()');
  assert.match(d, /mbarInit/, 'the set-up before the wait is the barrier init');
  // combine.cu: nothing of the params at all before the wait.
  const c = before(read('combine.cu'), /__device__ void combine\(const MlaParams& p\)/, 'combine.cu');
  assert.doesNotMatch(c.slice(c.indexOf('{')), /\bp\./, 'combine.cu touches the params before pdlWait()');
  // decode_sm90_wide.cu never lets its merge be scheduled early (session 36: a trigger at its entry cost small batches
  // 5-21 % with PDL on), and is never a dependent itself (it does not wait).
  const w = read('decode_sm90_wide.cu');
  assert.doesNotMatch(w, /launch_dependents|pdlLaunchDependents|pdlWait/, 'decode_sm90_wide.cu triggers or waits');
  // decode_sm90.cu's library entries trigger nothing either (session 37: TRIG 2, after the last item, cost the long
  // split calls 3-7 % with PDL on: the merge's CTAs were scheduled beside the decode's last ones).
  const n = read('decode_sm90.cu');
  assert.match(n, /#ifndef MLA_SM90_LIB_TRIG\s*#define MLA_SM90_LIB_TRIG 0\b/, "the library entries' default TRIG is 0");
  const entries = n.match(/DecodeT<[^>]*MLA_SM90_LIB_TRIG[^>]*>::run/g) ?? [];
  assert.ok(entries.length >= 4, `the library entries (four entry macros) use MLA_SM90_LIB_TRIG (${entries.length} found)`);
});
