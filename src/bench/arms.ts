// The arms of `flashmla bench`: several ways of running one config, each timed on its own by the harness
// (src/cli/harness.ts, RunOptions.arms). CUDA: forced kernel variants (the variant sweep) and the per-bucket
// winners of a variant study; WebGPU: SM counts to plan for (the numSms study), decode tunings and the
// multiply-add spelling. Every arm sets the backend up in enter() and restores it in exit().
import type { CudaBackend } from '../backends/cuda/index.js';
import { type DecodeVariant, decodeSmem, decodeVariants, variantTag } from '../backends/cuda/kernels/launch.js';
import type { WebGpuBackend } from '../backends/webgpu/backend.js';
import type { BenchArm, BenchConfig, BenchRow } from '../cli/harness.js';

/** Query rows a KV head's tile holds: what the CUDA variant choice and the WebGPU numSms rule look at. */
export const rowsOf = (c: { h_q: number; s_q: number; h_kv?: number }): number => (c.s_q * c.h_q) / (c.h_kv ?? 1);

/** The CUDA row buckets a winner is chosen for (the last one takes everything above). */
export const rowBuckets = [16, 32, 64, 128, 256] as const;
export const bucketOf = (rows: number): number => rowBuckets.find((r) => r >= rows) ?? rowBuckets[rowBuckets.length - 1];

/** One config per bucket at b = 128, s_k = 4096, plus the long single sequence: the variant study's configs. */
export const variantStudyConfigs: readonly BenchConfig[] = [
  { b: 128, s_k: 4096, h_q: 16, s_q: 1 }, { b: 128, s_k: 4096, h_q: 16, s_q: 2 }, { b: 128, s_k: 4096, h_q: 64, s_q: 1 },
  { b: 128, s_k: 4096, h_q: 128, s_q: 1 }, { b: 128, s_k: 4096, h_q: 128, s_q: 2 }, { b: 1, s_k: 32768, h_q: 16, s_q: 1 },
];

/** A variant by its tag (as in kernel names, e.g. m32_n64_s2_w8_q16); undefined for an unknown tag. */
export function variantByTag(tag: string): DecodeVariant | undefined {
  return decodeVariants.find((v) => variantTag(v) === tag);
}

/** The variants a device can launch (their shared memory fits in `maxSmem` bytes a block). */
export function fittingVariants(maxSmem: number): DecodeVariant[] {
  return decodeVariants.filter((v) => decodeSmem(v) <= maxSmem);
}

/** An arm that forces one CUDA decode variant; 'auto' (no variant) is the library's own choice. */
export function variantArm(cuda: Pick<CudaBackend, 'setDecodeVariant'>, v: DecodeVariant | undefined): BenchArm {
  return { label: v ? variantTag(v) : 'auto', enter: () => cuda.setDecodeVariant(v), exit: () => cuda.setDecodeVariant(undefined) };
}

/**
 * The fastest variant of each row bucket among the study's rows at b = 128 (rows timed with one arm per variant).
 * Returns bucket -> { tag, ms }.
 */
export function winnersByBucket(rows: readonly BenchRow[]): Map<number, { tag: string; ms: number }> {
  const winners = new Map<number, { tag: string; ms: number }>();
  for (const r of rows) {
    if (r.b !== 128 || !r.arms) continue;
    const bucket = bucketOf(rowsOf(r));
    for (const a of r.arms) {
      if (a.label === 'auto') continue;
      const w = winners.get(bucket);
      if (!w || a.ms < w.ms) winners.set(bucket, { tag: a.label, ms: a.ms });
    }
  }
  return winners;
}

/** WebGPU: plan for each SM count; a 64-row tile fills an SM, so big batches of many rows get only the first. */
export function numSmsFor(c: BenchConfig, list: readonly number[], all: boolean): readonly number[] {
  return !all && c.b >= 64 && rowsOf(c) > 32 ? list.slice(0, 1) : list;
}

/** WebGPU decode tuning forced on the backend (WebGpuBackend.decodeTuning); {} is the backend's own choice. */
export type Tuning = WebGpuBackend['decodeTuning'];

/** WebGPU arms: every SM count (numSmsFor) crossed with every tuning, labelled `numSms=N` (+ the tuning). */
export function webGpuArms(wb: Pick<WebGpuBackend, 'decodeTuning'>, c: BenchConfig, numSms: readonly number[], tunings: readonly Tuning[], allSms: boolean): BenchArm[] {
  const arms: BenchArm[] = [];
  for (const t of tunings) {
    const tuned = Object.keys(t).length > 0;
    for (const n of numSmsFor(c, numSms, allSms)) {
      arms.push({
        label: `numSms=${n}${tuned ? ` ${JSON.stringify(t)}` : ''}`, numSms: n,
        ...(tuned ? { enter: () => { wb.decodeTuning = t; }, exit: () => { wb.decodeTuning = {}; } } : {}),
      });
    }
  }
  return arms;
}

/** The two configs the multiply-add probe times, each spelling on both (shrunk with `quick`). */
export const mulAddProbeConfigs = (quick: boolean): BenchConfig[] => [
  { b: quick ? 4 : 128, s_k: 1024, h_q: 16, s_q: 1 }, { b: quick ? 2 : 128, s_k: 1024, h_q: 64, s_q: 2 },
];

/** WebGPU arms for the two spellings of the decode kernel's multiply-adds (WebGpuBackend.mulAdd). */
export function mulAddArms(wb: Pick<WebGpuBackend, 'mulAdd'>): BenchArm[] {
  const was = wb.mulAdd;
  return [false, true].map((m) => ({ label: m ? 'mad' : 'fma', enter: () => { wb.mulAdd = m; }, exit: () => { wb.mulAdd = was; } }));
}

/** Sum of each arm's time over the probe rows, and whether 'a * b + c' (mad) won. */
export function mulAddVerdict(rows: readonly BenchRow[]): { ms: Record<string, number>; mad: boolean } {
  const ms: Record<string, number> = {};
  for (const r of rows) for (const a of r.arms ?? []) ms[a.label] = (ms[a.label] ?? 0) + a.ms;
  return { ms, mad: (ms.mad ?? Infinity) < (ms.fma ?? Infinity) };
}
