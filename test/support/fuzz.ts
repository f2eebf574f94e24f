// Shared by the fuzz suites (fuzz-dense.ts, fuzz-sparse.ts; run by test/unit/fuzz*.test.ts and test/gpu/fuzz.test.ts): hostile
// values, the outcome of one fuzzed call (a typed FlashMlaError, or a value the suite then checks; never a hang or an
// untyped exception), and the comparison of an accepted call's output with the float64 reference, NaN-exact.
import assert from 'node:assert/strict';
import { type HalfDType, bf16ToF32, f16ToF32 } from '../../src/core/dtype.js';
import { FlashMlaError } from '../../src/core/errors.js';
import { type Tolerance, tolerances, ulpOf } from './compare.js';
import { type Backend, visibleKeys } from '../../src/core/problem.js';
import { matrixV5InfSafeOff } from './nan-dense.js';

/** Values that break assumptions: zero, negatives, fractions, NaN/Inf, and sizes near 2^31, 2^32 and 2^53. */
export const hostile: unknown[] = [0, -1, 1, 2, 3, 1.5, -0, NaN, Infinity, -Infinity, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 60, '3', null, undefined, {}, []];
export const hostileInts = [-1, 0, 1, 2 ** 31 - 1, -(2 ** 31), 2 ** 30, 65, 64, 7];

/** Typed arrays of other element types, to hand a tensor data that does not match its dtype. */
export const otherArrays: Record<string, (n: number) => ArrayBufferView> = {
  Uint16Array: (n) => new Uint16Array(n), Float32Array: (n) => new Float32Array(n), Int32Array: (n) => new Int32Array(n),
  Uint8Array: (n) => new Uint8Array(n), Float64Array: (n) => new Float64Array(n), Uint32Array: (n) => new Uint32Array(n),
};

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, rej) => { timer = setTimeout(() => rej(new Error(`HANG: ${what} still pending after ${ms} ms`)), ms); })])
    .finally(() => clearTimeout(timer));
}

/** The slowest fuzzed call (printed as a diagnostic: a typed error must come fast, too). */
export const slowest = { ms: 0, what: '' };

/** Calls that ended in driver_error, device_lost or out_of_memory, with what they were given (the GPU fuzz prints them). */
export const faults: string[] = [];

/** The outcome of one fuzzed call: typed error, or success that the caller then checks. Anything else fails. */
export async function outcome<T>(what: string, f: () => T | Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: FlashMlaError }> {
  const t0 = performance.now();
  try {
    return { ok: true, value: await within(Promise.resolve().then(f), 20_000, what) };
  } catch (e) {
    if (e instanceof FlashMlaError) {
      assert.ok(e.message.length > 0 && e.code, `${what}: a FlashMlaError without code or message`);
      if (e.code === 'driver_error' || e.code === 'device_lost' || e.code === 'out_of_memory') faults.push(`${what}: ${e.code}: ${e.message}`.slice(0, 600));
      return { ok: false, error: e };
    }
    return assert.fail(`${what}: untyped exception ${e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e)}`);
  } finally {
    const ms = performance.now() - t0;
    if (ms > slowest.ms) { slowest.ms = ms; slowest.what = what; }
  }
}

/**
 * How a backend computes, for what a fuzz suite may feed it and how close it must come:
 * - 'f64': the CPU's scalar rung (float64): every special value;
 * - 'f32': the CPU's vector rungs (native, WebAssembly): f32 sums, so no values whose f32 products overflow where the
 *   float64 reference's do not (as FlashMLA's f32 accumulation would), and moderate softmax scales;
 * - 'wgsl': WebGPU (f32, and WGSL need not keep NaN): no NaN inputs;
 * - 'gpu': CUDA: no NaN or infinite inputs (their handling on the Hopper kernels is checked elsewhere), P rounded to
 *   16 bits as FlashMLA does.
 */
export type Arith = 'f64' | 'f32' | 'wgsl' | 'gpu';

/** A backend's arithmetic as the fuzz suites treat it ('kind' names the suite's backend: inline, workers, webgpu, cuda). */
/** The case numbers a suite of n cases runs: all of them, or `only` alone (a replay of FUZZ_CASE; none past n). */
export function fuzzCases(n: number, only?: number): number[] {
  if (only === undefined) return Array.from({ length: n }, (_, i) => i);
  return only < n ? [only] : [];
}

export function arithOf(be: { info: { details?: { kernel?: unknown } } }, kind: string): Arith {
  if (kind === 'webgpu') return 'wgsl';
  if (kind === 'cuda') return 'gpu';
  return be.info.details?.kernel !== undefined && be.info.details.kernel !== 'scalar' ? 'f32' : 'f64';
}

/**
 * A softmax scale, valid or not. Where scores are f32 sums (every arithmetic but 'f64'), a valid scale above 4 becomes
 * 4: the f32 rounding of a score (~1e-7 of its terms' magnitudes) times the scale moves the weights by more than the
 * tolerances allow (seen at scale 10 on the native kernel), and from 2^31 up decides which of two close keys takes all
 * the weight, which the float64 reference cannot predict. The scalar rung (float64) runs them all.
 */
export function hostileScale(rng: { pick<T>(xs: readonly T[]): T }, arith: Arith): unknown {
  const v = rng.pick([...hostile, 1e-6, 1e-3, 0.5, 2, 10, -0.1]);
  return arith !== 'f64' && typeof v === 'number' && Number.isFinite(v) && v > 4 ? 4 : v;
}

/** The Tolerance of an arithmetic; `sparse`: a sparse kernel that may round P to bf16 (precision 'fast'). */
export function fuzzTolerance(arith: Arith, sparse = false): Tolerance {
  return { f64: tolerances.cpu, f32: tolerances.cpuF32, wgsl: tolerances.webgpu, gpu: sparse ? tolerances.cudaSparseFast : tolerances.cuda }[arith];
}

/** The slack of an arithmetic: f32 kernels on extreme inputs (rows), f32 dot products of 576 terms (lse). */
export function fuzzSlack(arith: Arith): FuzzSlack {
  return { rowRel: arith === 'wgsl' || arith === 'gpu' ? 1e-3 : 0, lseRel: arith === 'f64' ? 1e-6 : 1e-5 };
}

/** How far an accepted call may be from the reference, beyond the backend's Tolerance. */
export interface FuzzSlack {
  /** Plus this much of the row's largest |reference| on every element (f32 kernels on extreme inputs). */
  rowRel?: number;
  /** lse: within max(tol.lseAbs, lseRel * |reference|). */
  lseRel: number;
}

/**
 * Equal to the reference: NaN exactly where the reference has NaN (a poisoned input must not vanish), the same
 * infinities, every finite element within the backend's bound. Returns the first difference, or undefined.
 * out is [rows, dV] in `dtype` bits; lse f32 in the reference's order. mayBeNaN: out elements where NaN is also
 * accepted (causalBandNaN).
 */
export function differsFromReference(out: Uint16Array, lse: Float32Array, ref: { out: Float64Array; lse: Float64Array; outAbs?: Float64Array }, dtype: HalfDType, tol: Tolerance, slack: FuzzSlack, dV = 512, mayBeNaN?: Uint8Array): string | undefined {
  const dec = dtype === 'bf16' ? bf16ToF32 : f16ToF32;
  if (out.length !== ref.out.length || lse.length !== ref.lse.length) return `sizes: out ${out.length} vs ${ref.out.length}, lse ${lse.length} vs ${ref.lse.length}`;
  for (let row = 0; row * dV < out.length; row++) {
    let rowMax = 0;
    for (let c = 0; c < dV; c++) { const r = ref.out[row * dV + c]; if (Number.isFinite(r)) rowMax = Math.max(rowMax, Math.abs(r)); }
    for (let c = 0; c < dV; c++) {
      const i = row * dV + c, x = dec(out[i]), r = ref.out[i];
      if (mayBeNaN?.[i] && Number.isNaN(x)) continue;
      if (Number.isNaN(r) !== Number.isNaN(x)) return `out[${i}] (row ${row}): got ${x}, reference ${r}`;
      if (Number.isNaN(r)) continue;
      if (!Number.isFinite(r) || !Number.isFinite(x)) { if (x !== r) return `out[${i}]: got ${x}, reference ${r}`; continue; }
      // An f32 subnormal flushed, as WGSL allows: the output itself, or a sink's factor 1 / (1 + e^(sink - lse)) below
      // 2^-126 before it scales values (the fuzz's are below 2^8).
      if (tol.flushesSubnormals && x === 0 && Math.abs(r) < 2 ** -118) continue;
      // (pRel: a kernel that rounds P to 16 bits moves an element by up to pRel of the weighted mean of |V|)
      const pBound = tol.pRel && ref.outAbs ? tol.pRel * ref.outAbs[i] : 0;
      if (Math.abs(x - r) > tol.ulps * ulpOf(dtype, r) + tol.rowAbs * rowMax + (slack.rowRel ?? 0) * rowMax + pBound) {
        return `out[${i}] (row ${row}): got ${x}, reference ${r}`;
      }
    }
  }
  for (let k = 0; k < lse.length; k++) {
    // lse is f32: a reference beyond the f32 range (huge scores) rounds to an infinity.
    const x = lse[k], r = Number.isFinite(ref.lse[k]) && !Number.isFinite(Math.fround(ref.lse[k])) ? Math.fround(ref.lse[k]) : ref.lse[k];
    if (Number.isNaN(r) !== Number.isNaN(x)) return `lse[${k}]: got ${x}, reference ${r}`;
    if (Number.isNaN(r)) continue;
    if (!Number.isFinite(r)) { if (x !== r) return `lse[${k}]: got ${x}, reference ${r}`; continue; }
    if (!(Math.abs(x - r) <= Math.max(tol.lseAbs, slack.lseRel * Math.abs(r)))) return `lse[${k}]: got ${x}, reference ${r}`;
  }
  return undefined;
}

/** Where a backend's dense decode multiplies P = 0 by the V of keys a causal row may not see (causalBandNaN). */
export function causalBandKernel(be: Backend, arith: Arith): boolean {
  if (arith === 'gpu') return true; // CUDA's tensor-core kernels, as FlashMLA's
  const path = (be.info.details as { decodePath?: string } | undefined)?.decodePath;
  return arith === 'wgsl' && path === 'matrix' && matrixV5InfSafeOff(); // WebGPU v5 without its infinite-input fixes
}

/**
 * Out elements a tensor-core kernel may give as NaN where the float64 reference does not (docs/errors.md, "Non-finite
 * inputs"): column c of query j of request i, where a key of that request the query may not see but a later query of
 * the request does (its causal band: keys visible(j) .. visible(last) - 1) holds a non-finite V[c]. The key shares a
 * tile with keys the query sees; its weight P = 0 times that value is NaN in the MMA. vOf(i, t, h): the dV V values of
 * key t of request i for query head h (undefined: not in the cache). Undefined when there is no such element.
 */
export function causalBandNaN(o: {
  b: number; hQ: number; causal: boolean; seqlen(i: number): number; qStart(i: number): number; qLen(i: number): number;
  vOf(i: number, t: number, h: number): ArrayLike<number> | undefined;
}, rows: number, dV = 512): Uint8Array | undefined {
  if (!o.causal) return undefined;
  let mask: Uint8Array | undefined;
  for (let i = 0; i < o.b; i++) {
    const n = o.qLen(i), s = o.seqlen(i), seen = (j: number) => visibleKeys(s, n, j, true);
    for (let j = 0; j < n - 1; j++) {
      const row0 = (o.qStart(i) + j) * o.hQ;
      if (row0 + o.hQ > rows) break;
      for (let h = 0; h < o.hQ; h++) {
        for (let t = seen(j); t < seen(n - 1); t++) {
          const v = o.vOf(i, t, h);
          if (!v) continue;
          for (let c = 0; c < dV; c++) if (!Number.isFinite(v[c])) (mask ??= new Uint8Array(rows * dV))[(row0 + h) * dV + c] = 1;
        }
      }
    }
  }
  return mask;
}
