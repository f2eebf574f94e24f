// The benchmark harness behind `flashmla bench`: configuration grids in the format of
// ../shared/anchors/bench_flashmla.py, kernel timing through backend.timeMs (median after warm-up), and the
// figures FlashMLA reports, from its formulas over the actual seqlens (src/bench/formulas.ts).
//
// Every configuration reads its keys from one page pool filled once with a reproducible normal stream. Reps
// rotate among several disjoint, shuffled page sets of that pool (each with its own planned MlaDecoder), so
// together they exceed the GPU's L2 (50 MB on an H100) and each rep reads its cache from memory. Because the
// stream is reproducible, a spot check rebuilds the pages it needs on the host instead of reading the device.
import { type DecodeSize, decodeBytes, decodeFlop, roofline } from '../bench/formulas.js';
import { median } from '../bench/stats.js';
import type { WebGpuCeilings } from '../bench/webgpu-ceilings.js';
import { MlaDecoder } from '../core/api.js';
import type { HalfDType } from '../core/dtype.js';
import type { Backend } from '../core/problem.js';
import type { ScheduleKind } from '../core/scheduler.js';
import { Tensor, fromArray } from '../core/tensor.js';
import { UsageError } from './args.js';
import { type DoBenchOptions, type DoBenchTimes, chainedMs, doBenchMs } from './do-bench.js';
import { type CheckResult, checkPasses, checkSample } from './check.js';
import { fillNormal, rng, uniform } from './random.js';

/** What a row timed in do_bench's loop records of it (timed_reps, warmup_calls, estimate_ms). */
type DoBenchLoop = Pick<DoBenchTimes, 'reps' | 'warmup' | 'estimateMs'>;

/** One configuration, as bench_flashmla.py reads it (page_block_size is ours; the script ignores it). */
export interface BenchConfig {
  b: number;
  s_k?: number;
  h_q: number;
  s_q: number;
  h_kv?: number;
  varlen?: boolean;
  seqlens?: number[];
  seed?: number;
  page_block_size?: number;
  /** q's and the cache's dtype (default bf16, FlashMLA's grid); f16 rows are not matched to FlashMLA's (bf16) rows. */
  dtype?: HalfDType;
}

/** A config's (or row's) dtype: bf16 unless it says f16. */
export function dtypeOf(c: Pick<BenchConfig, 'dtype'>): HalfDType {
  return c.dtype ?? 'bf16';
}

const flashmlaGrid: BenchConfig[] = [];
for (const s_k of [1024, 4096, 8192]) for (const h_q of [16, 32, 64, 128]) for (const s_q of [1, 2]) flashmlaGrid.push({ b: 128, s_k, h_q, s_q });

export const grids: Readonly<Record<string, readonly BenchConfig[]>> = {
  /** bench_flashmla.py's default grid. */
  flashmla: flashmlaGrid,
  /** FlashMLA's grid plus the long single sequence and the uneven batch of the CUDA and WebGPU issues. */
  full: [
    ...flashmlaGrid,
    { b: 1, s_k: 32768, h_q: 16, s_q: 1 },
    { b: 4, seqlens: [4641, 45118, 1730, 1696], h_q: 16, s_q: 4 },
  ],
  /** The CPU figures the issue asks for: b=4, s_k=4096, hQ 16 and 128, sQ=1. */
  cpu: [{ b: 4, s_k: 4096, h_q: 16, s_q: 1 }, { b: 4, s_k: 4096, h_q: 128, s_q: 1 }],
  /** A quick mixed grid (about a minute on 2 CPU cores): sQ 2, two KV heads, varied lengths, page size 1. */
  small: [
    { b: 2, s_k: 1024, h_q: 16, s_q: 1 },
    { b: 2, s_k: 4096, h_q: 16, s_q: 1 },
    { b: 2, s_k: 1024, h_q: 64, s_q: 2 },
    { b: 2, s_k: 2048, h_q: 128, s_q: 1 },
    { b: 2, s_k: 2048, h_q: 32, s_q: 1, h_kv: 2 },
    { b: 4, s_k: 2048, h_q: 16, s_q: 1, varlen: true, seed: 1 },
    { b: 2, s_k: 1024, h_q: 16, s_q: 1, page_block_size: 1 },
  ],
};

const keys = new Set(['b', 's_k', 'h_q', 's_q', 'h_kv', 'varlen', 'seqlens', 'seed', 'page_block_size', 'dtype']);

/** Check a configs file's contents; messages name the entry and the field. */
export function parseConfigs(x: unknown, source: string): BenchConfig[] {
  if (!Array.isArray(x) || x.length === 0) throw new UsageError(`${source}: expected a non-empty JSON array of configs`);
  return x.map((c, n) => {
    const where = `${source}[${n}]`;
    if (typeof c !== 'object' || c === null || Array.isArray(c)) throw new UsageError(`${where}: expected an object`);
    for (const k of Object.keys(c)) if (!keys.has(k)) throw new UsageError(`${where}: unknown field '${k}' (known: ${[...keys].join(', ')})`);
    const r = c as Record<string, unknown>;
    const int = (k: string, min: number, max: number, optional = false) => {
      if (r[k] === undefined && optional) return;
      const v = r[k];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new UsageError(`${where}.${k}: expected an integer in ${min}..${max}, got ${JSON.stringify(v)}`);
    };
    int('h_q', 1, 4096); int('s_q', 1, 4096); int('h_kv', 1, 4096, true); int('seed', 0, 2 ** 31, true); int('page_block_size', 1, 256, true);
    if ((r.h_q as number) % ((r.h_kv as number | undefined) ?? 1) !== 0) throw new UsageError(`${where}: h_q must be a multiple of h_kv`);
    if (r.seqlens !== undefined) {
      const s = r.seqlens;
      if (!Array.isArray(s) || s.length === 0 || s.some((v) => typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 1 << 24)) {
        throw new UsageError(`${where}.seqlens: expected a non-empty array of integers in 0..${1 << 24}`);
      }
      if (r.b !== undefined && r.b !== s.length) throw new UsageError(`${where}: b = ${String(r.b)} but seqlens has ${s.length} entries`);
    } else {
      int('b', 1, 1 << 16); int('s_k', 0, 1 << 24);
    }
    if (r.varlen !== undefined && typeof r.varlen !== 'boolean') throw new UsageError(`${where}.varlen: expected true or false`);
    if (r.dtype !== undefined && r.dtype !== 'bf16' && r.dtype !== 'f16') throw new UsageError(`${where}.dtype: expected "bf16" or "f16", got ${JSON.stringify(r.dtype)}`);
    return { ...(c as BenchConfig), b: r.seqlens ? (r.seqlens as number[]).length : (r.b as number) };
  });
}

/**
 * The keys of each sequence: explicit seqlens, s_k for all, or (varlen) Normal(s_k, s_k/2) clamped to >= s_q
 * as FlashMLA's test draws them. Our draw is seeded but not torch's: --emit-configs writes the drawn lengths
 * so both implementations run the same ones.
 */
export function seqlensOf(c: BenchConfig): Int32Array {
  if (c.seqlens) return Int32Array.from(c.seqlens);
  const s = new Int32Array(c.b).fill(c.s_k!);
  if (c.varlen) {
    const u = uniform(0x7a11 + (c.seed ?? 0));
    for (let i = 0; i < c.b; i++) {
      const z = Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
      s[i] = Math.max(c.s_q, Math.trunc(c.s_k! + (z * c.s_k!) / 2));
    }
  }
  return s;
}

/** Configs with every length explicit, for bench_flashmla.py --configs. */
export function forEmit(cs: readonly BenchConfig[]): BenchConfig[] {
  return cs.map((c) => (c.varlen && !c.seqlens ? { ...c, seqlens: Array.from(seqlensOf(c)) } : { ...c }));
}

/** The formulas' view of a config (bench/formulas.ts). */
export function sizeOf(c: BenchConfig, total: number): DecodeSize {
  return { b: c.seqlens?.length ?? c.b, sQ: c.s_q, hQ: c.h_q, hKv: c.h_kv ?? 1, totalSeqlen: total };
}
export function flopOf(c: BenchConfig, total: number): number {
  return decodeFlop(sizeOf(c, total));
}
export function bytesOf(c: BenchConfig, total: number): number {
  return decodeBytes(sizeOf(c, total));
}

export interface BenchRow {
  b: number;
  s_k?: number;
  seqlens?: number[];
  varlen?: boolean;
  h_q: number;
  h_kv: number;
  s_q: number;
  page_block_size: number;
  /** Present for f16 rows only (BenchConfig.dtype). */
  dtype?: HalfDType;
  total_seqlen: number;
  /** The decode kernel that ran (Backend.decodeKernel: e.g. mla_decode_sm90_bf16_n16, webgpu-f32, cpu-native). */
  kernel?: string;
  /** The merge kernel that ran (Backend.mergeKernel; CUDA: mla_combine, _t128, _warps, _quarter), absent where none ran. */
  merge?: string;
  /** Median kernel time. */
  ms: number;
  GBps: number;
  TFLOPS: number;
  /** Distinct page sets the reps rotated among, and their total bytes. */
  copies: number;
  rotated_bytes: number;
  /** CPU: the kernel rung that ran (native, scalar). */
  cpu_kernel?: string;
  /** CPU (with numpy): numpy's f32 GFLOP/s on the same products, measured in the same run, and ours / numpy. */
  numpy_GFLOPs?: number;
  ratio_vs_numpy?: number;
  /** WebGPU: the ceiling that bounds this config and the fraction of it reached (see BenchResult.ceilings);
   * CPU: the same against numpy's copy bandwidth and f32 GEMM (BenchResult.numpy). */
  bound?: 'memory' | 'f32';
  roofline_fraction?: number;
  /** With RunOptions.doBench: the repetitions timed (do_bench's count from its estimate) and the calls before them. */
  timed_reps?: number;
  warmup_calls?: number;
  /** With RunOptions.doBench: the five-call estimate (ms a call, flushes included) both counts were taken from. */
  estimate_ms?: number;
  /** Spot check against the float64 reference (absent with --check 0). */
  check?: { rows: number; cos_diff: number; max_lse_error: number; ok: boolean };
  flashmla_ms?: number;
  flashmla_GBps?: number;
  flashmla_TFLOPS?: number;
  /** FlashMLA ms / ours: above 1 means faster than FlashMLA. */
  ratio_vs_flashmla?: number;
  /** With arms (RunOptions.arms): every arm's median, and the arm `ms` is from ('auto' when timed, else the fastest). */
  arms?: { label: string; ms: number; num_sm_parts: number }[];
  arm?: string;
}

export interface BenchResult {
  backend: string;
  card: string;
  commit: string;
  date: string;
  grid: string;
  /** The split-KV plan the rows' decoders made (the backend's: BackendInfo.schedule) unless an arm named another. */
  schedule?: ScheduleKind;
  /** The fixed counts of untimed and timed repetitions (not used where `do_bench` is set: rows' timed_reps say). */
  warmup: number;
  reps: number;
  /** GPU: ms of untimed runs before each config, and after an idle gap (RunOptions.warmMs, idleWarmMs). */
  warm_ms?: number;
  idle_warm_ms?: number;
  /** GPU, --flush-mb: MB written before every timed repetition (triton do_bench's protocol; RunOptions.flushMb). */
  flush_mb?: number;
  /** CUDA, --graph-calls: calls captured in one CUDA graph, each repetition one replay (RunOptions.graphCalls). */
  graph_calls?: number;
  /** WebGPU, --chain-calls: calls a repetition runs back to back in one batch, one submission (RunOptions.chainCalls). */
  chain_calls?: number;
  /** --rep-ms (the default with --flush-mb): triton do_bench's loop, its warmup and rep in ms (RunOptions.doBench);
   * each row's timed_reps and warmup_calls say what the estimate gave. */
  do_bench?: { warm_ms: number; rep_ms: number };
  flashmla_card?: string;
  /**
   * With FlashMLA merged (mergeFlashMla): how ours was timed ('back-to-back', or 'flush' with flush_mb), how the
   * FlashMLA times were ('do_bench': bench_flashmla.py's triton do_bench, 256 MB zeroed before every repetition;
   * 'back-to-back (cuda-graph x10 | eager)': bench/cuda/flashmla_protocols.py's), and whether the two are the same
   * protocol (back to back: both replayed from graphs, or both eager; WebGPU's timestamps, GPU time, match the graphs).
   * Session 32 measured the difference on the H200 (docs/notes/benchmark-protocol.md): up to 12 % on one row.
   */
  protocol?: 'back-to-back' | 'flush';
  flashmla_protocol?: string;
  protocol_matched?: boolean;
  /** WebGPU: copy bandwidth and f32 FMA throughput measured by WGSL kernels in the same process. */
  ceilings?: WebGpuCeilings;
  /** CPU: bench/cpu-numpy.py's figures from the same run (see src/cli/cpu-yardstick.ts). */
  numpy?: import('./cpu-yardstick.js').NumpyYardstick;
  /** CPU: the kernel rung every row ran (native, scalar), with its detail. */
  cpu_kernel?: string;
  rows: BenchRow[];
}

export interface RunOptions {
  warmup: number;
  reps: number;
  /** Also run back-to-back untimed reps for at least this long first (GPU clocks ramp up after idle gaps). */
  warmMs?: number;
  /**
   * After the device sat idle for longer than `idleGapMs` (default 2000; the first config of a run always counts:
   * the page pool's fill keeps the host busy for seconds), warm for at least this long instead (default: warmMs).
   * Measured on the H200 (docs/notes/webgpu-decode.md, "The H200 anomaly"): the first config timed after the
   * pool fill ran 5x slow with 300 ms of warm-up and at full speed with 3000 ms.
   */
  idleWarmMs?: number;
  idleGapMs?: number;
  /**
   * GPU backends: write this many MB of a scratch buffer before every repetition, outside its timing (TimeOptions.flushBytes):
   * the protocol of triton's do_bench, by which bench_flashmla.py times FlashMLA (it zeroes 256 MB). Absent: back to back.
   */
  flushMb?: number;
  /**
   * triton do_bench's loop (src/cli/do-bench.ts) instead of warmup + reps: warm-up calls and flushed repetitions
   * counted from a five-call estimate, for warmMs and repMs (the anchors: 25 and 200). With flushMb, every estimate
   * call and repetition is flushed. The warmMs / idleWarmMs warm-up above still runs first where given. Not with graphCalls.
   */
  doBench?: Pick<DoBenchOptions, 'warmMs' | 'repMs'>;
  /**
   * CUDA: capture this many calls (rotating over the page sets) in one CUDA graph and time replays, each divided by the
   * calls it holds: back to back without the host's launch path between calls (bench/cuda/flashmla_protocols.py times
   * FlashMLA the same way). Not with flushMb.
   */
  graphCalls?: number;
  /**
   * WebGPU: each repetition runs this many calls (rotating over the page sets) in one batch (WebGpuBackend.batch: one
   * command buffer, one submission), timed from the first call's first pass to the last call's last pass, divided by
   * the calls: GPU time back to back with no host path between calls, the analogue of graphCalls (matched against
   * FlashMLA's graph replay). Not with flushMb, doBench or graphCalls.
   */
  chainCalls?: number;
  /** WebGPU ceilings: rows get bound and roofline_fraction. */
  ceilings?: WebGpuCeilings;
  /** Rows to spot-check per config (0: none). */
  check: number;
  /** Bytes the rotated page sets should reach at least (default 100 MB: twice an H100's L2). */
  rotateBytes?: number;
  /** At most this many page sets (each has its own decoder and outputs). */
  maxCopies?: number;
  seed?: number;
  onProgress?: (msg: string) => void;
  onRow?: (row: BenchRow, index: number) => void;
  /** Ways to run each config, each timed on its own (src/bench/arms.ts): kernel variants, SM counts, tunings. */
  arms?: (c: BenchConfig, index: number) => readonly BenchArm[];
}

/** One way of running a config: set up by `enter` (undone by `exit`), planned for `numSms` SMs when given. */
export interface BenchArm {
  label: string;
  numSms?: number;
  /** The split-KV plan its decoders make (DecoderConfig.schedule; default: the backend's). */
  schedule?: ScheduleKind;
  enter?: () => void;
  exit?: () => void;
}

/** The arm a row reports: the one labelled 'auto' (the library's own choice) when timed, else the fastest. */
export function primaryArm<T extends { label: string; ms: number }>(arms: readonly T[]): T {
  return arms.find((a) => a.label === 'auto') ?? arms.reduce((a, x) => (x.ms < a.ms ? x : a));
}


/** Time every config on `backend`. */
export async function runConfigs(backend: Backend, configs: readonly BenchConfig[], o: RunOptions): Promise<BenchRow[]> {
  const seed = o.seed ?? 1;
  const rotateBytes = o.rotateBytes ?? 100e6;
  const maxCopies = o.maxCopies ?? 64;
  const say = o.onProgress ?? (() => {});
  const plans = configs.map((c) => {
    const seqlens = seqlensOf(c);
    const page = c.page_block_size ?? 64, hKv = c.h_kv ?? 1;
    const pagesPer = Array.from(seqlens, (s) => Math.ceil(s / page));
    return { c, seqlens, page, hKv, pagesPer, pages: Math.max(1, pagesPer.reduce((a, x) => a + x, 0)), pageElems: page * hKv * 576 };
  });
  const poolElems = Math.max(Math.ceil(rotateBytes / 2), ...plans.map((p) => p.pages * p.pageElems));

  // One page pool a dtype the configs ask for (bf16 unless a config says f16), filled from the same normal stream.
  const pools = new Map<HalfDType, Tensor>();
  for (const dt of new Set(configs.map(dtypeOf))) {
    say(`filling a ${(poolElems * 2 / 1e6).toFixed(0)} MB ${dt} page pool on ${backend.info.device}`);
    const pool = backend.empty(dt, [poolElems]);
    pools.set(dt, pool);
    const chunk = 1 << 22;
    const buf = new Uint16Array(chunk);
    for (let start = 0; start < poolElems; start += chunk) {
      const n = Math.min(chunk, poolElems - start);
      fillNormal(dt, seed, buf.subarray(0, n), start);
      backend.write(pool, fromArray(dt, [n], buf.subarray(0, n)), start);
    }
  }
  await backend.synchronize(); // queued uploads (WebGPU) must not overlap the first config's timing

  const rows: BenchRow[] = [];
  let lastBusy = -Infinity; // when the device last finished timed work (performance.now())
  try {
    for (const [index, p] of plans.entries()) {
      const { c, seqlens, page, hKv } = p;
      const b = seqlens.length;
      const label = `[${index + 1}/${plans.length}] ${describe(c)}`;
      say(`${label}: planning`);
      const poolBlocks = Math.floor(poolElems / p.pageElems);
      const copyBytes = p.pages * p.pageElems * 2;
      const copies = Math.max(1, Math.min(maxCopies, Math.floor(poolBlocks / p.pages), Math.ceil(rotateBytes / copyBytes)));
      const perm = shuffled(poolBlocks, seed + index);
      const maxBlocks = Math.max(1, ...p.pagesPer);
      const tables: Int32Array[] = [];
      for (let k = 0, next = 0; k < copies; k++) {
        const t = new Int32Array(b * maxBlocks).fill(-1); // unused slots out of range, as a real cache leaves them
        for (let i = 0; i < b; i++) for (let j = 0; j < p.pagesPer[i]; j++) t[i * maxBlocks + j] = perm[next++];
        tables.push(t);
      }
      const dtype = dtypeOf(c);
      const kCache = viewOf(pools.get(dtype)!, [poolBlocks, page, hKv, 576]);
      const qHost = fillNormal(dtype, seed + 7919 * (index + 1), new Uint16Array(b * c.s_q * c.h_q * 576));
      const q = backend.upload(fromArray(dtype, [b, c.s_q, c.h_q, 576], qHost));
      // One set of planned decoders per SM count and plan the arms ask for (undefined: the backend's own).
      const planned = new Map<string, { decoders: MlaDecoder[]; parts: number }>();
      const decodersFor = (numSms: number | undefined, schedule?: ScheduleKind) => {
        const key = `${numSms ?? ''}/${schedule ?? ''}`;
        let e = planned.get(key);
        if (!e) {
          let parts = 0;
          const decoders = tables.map((t) => {
            const d = new MlaDecoder(backend, { hQ: c.h_q, hKv, dtype, numSms, ...(schedule ? { schedule } : {}) });
            parts = d.plan(seqlens, fromArray('i32', [b, maxBlocks], t), { sQ: c.s_q }).numSmParts;
            return d;
          });
          planned.set(key, e = { decoders, parts });
        }
        return e;
      };
      const arms = o.arms?.(c, index) ?? [{ label: 'default' }];
      try {
        const timed: { label: string; ms: number; num_sm_parts: number; kernel?: string; merge?: string; arm: BenchArm; loop?: DoBenchLoop }[] = [];
        for (const arm of arms) {
          const { decoders, parts } = decodersFor(arm.numSms, arm.schedule);
          say(`${label}${o.arms ? ` ${arm.label}` : ''}: timing (${copies} page set${copies > 1 ? 's' : ''}, ${o.warmup} warm-up + ${o.reps} reps)`);
          arm.enter?.();
          try {
            const t0 = performance.now();
            const idle = t0 - lastBusy > (o.idleGapMs ?? 2000);
            const warmFor = Math.max(o.warmMs ?? 0, idle ? o.idleWarmMs ?? 0 : 0);
            for (let n = 0; performance.now() - t0 < warmFor; n++) {
              await decoders[n % copies].run(q, kCache);
              if (n % 8 === 7) await backend.synchronize();
            }
            let times: number[];
            let loop: DoBenchLoop | undefined;
            if (o.graphCalls) {
              const graphs = backend as Backend & { captureGraph?: (fn: () => Promise<void>) => Promise<{ launch(): void; dispose(): void }> };
              if (!graphs.captureGraph) throw new UsageError(`graphCalls: the ${backend.kind} backend has no CUDA graphs`);
              const n = o.graphCalls;
              const g = await graphs.captureGraph(async () => { for (let i = 0; i < n; i++) await decoders[i % copies].run(q, kCache); });
              try {
                times = (await backend.timeMs(() => g.launch(), { warmup: o.warmup, reps: o.reps })).map((t) => t / n);
              } finally {
                g.dispose();
              }
            } else if (o.chainCalls) {
              const n = o.chainCalls;
              times = await chainedMs(backend, n, (rep, i) => decoders[(rep * n + i) % copies].run(q, kCache), { warmup: o.warmup, reps: o.reps });
            } else if (o.doBench) {
              const r = await doBenchMs(backend, async (rep) => { await decoders[rep % copies].run(q, kCache); },
                { ...o.doBench, flushBytes: (o.flushMb ?? 0) * 1e6 });
              times = r.times;
              loop = r;
            } else {
              times = await backend.timeMs(async (rep) => { await decoders[rep % copies].run(q, kCache); },
                { warmup: o.warmup, reps: o.reps, ...(o.flushMb ? { flushBytes: o.flushMb * 1e6 } : {}) });
            }
            lastBusy = performance.now();
            // The kernel this arm ran, read while its set-up (a forced variant, say) is still in force.
            timed.push({ label: arm.label, ms: median(times), num_sm_parts: parts, kernel: decoders[0].kernelName(), merge: decoders[0].mergeName(), arm, loop });
          } finally {
            arm.exit?.();
          }
        }
        const chosen = primaryArm(timed);
        const kernel = chosen.kernel, merge = chosen.merge;
        const ms = chosen.ms;
        const total = seqlens.reduce((a, x) => a + x, 0);
        const row: BenchRow = {
          b, ...(c.seqlens || c.varlen ? { seqlens: Array.from(seqlens) } : { s_k: c.s_k }), ...(c.varlen ? { varlen: true } : {}),
          h_q: c.h_q, h_kv: hKv, s_q: c.s_q, page_block_size: page, ...(dtype !== 'bf16' ? { dtype } : {}), total_seqlen: total, ...(kernel ? { kernel } : {}), ...(merge ? { merge } : {}), ms,
          GBps: bytesOf(c, total) / ms / 1e6, TFLOPS: flopOf(c, total) / ms / 1e9, copies, rotated_bytes: copies * copyBytes,
          ...(o.ceilings ? roofline(o.ceilings, flopOf(c, total), bytesOf(c, total), ms) : {}),
          ...(o.arms ? { arms: timed.map(({ label, ms, num_sm_parts }) => ({ label, ms, num_sm_parts })), arm: chosen.label } : {}),
          ...(chosen.loop ? { timed_reps: chosen.loop.reps, warmup_calls: chosen.loop.warmup, estimate_ms: chosen.loop.estimateMs } : {}),
        };
        if (o.check > 0) {
          say(`${label}: checking ${o.check} rows against the float64 reference`);
          chosen.arm.enter?.();
          try {
            const r = await spotCheck(backend, decodersFor(chosen.arm.numSms, chosen.arm.schedule).decoders[0], q, qHost, kCache, seqlens, tables[0], maxBlocks, p, c, seed, o.check);
            row.check = { rows: r.rows, cos_diff: r.cosDiff, max_lse_error: r.maxLseError, ok: checkPasses(r) };
          } finally {
            chosen.arm.exit?.();
          }
        }
        rows.push(row);
        o.onRow?.(row, index);
      } finally {
        for (const e of planned.values()) for (const d of e.decoders) d.dispose();
        backend.free(q);
      }
    }
  } finally {
    for (const pool of pools.values()) backend.free(pool);
  }
  return rows;
}

async function spotCheck(
  backend: Backend, decoder: MlaDecoder, q: Tensor, qHost: Uint16Array, kCache: Tensor, seqlens: Int32Array,
  table: Int32Array, maxBlocks: number, p: { page: number; hKv: number; pageElems: number }, c: BenchConfig, seed: number, samples: number,
): Promise<CheckResult> {
  const r = await decoder.run(q, kCache);
  await backend.synchronize();
  const out = (await backend.download(r.out)).host() as Uint16Array;
  const lse = (await backend.download(r.lse)).host() as Float32Array;
  const pageBuf = new Uint16Array(p.pageElems);
  return checkSample({
    b: seqlens.length, sQ: c.s_q, hQ: c.h_q, hKv: p.hKv, dtype: dtypeOf(c), seqlens, q: qHost, out, lse,
    keysOf(i, g) {
      // Rebuild the sequence's pages from the pool's stream rather than read the device.
      const keys = new Uint16Array(seqlens[i] * 576);
      for (let j = 0; j * p.page < seqlens[i]; j++) {
        fillNormal(dtypeOf(c), seed, pageBuf, table[i * maxBlocks + j] * p.pageElems);
        for (let t = j * p.page; t < Math.min(seqlens[i], (j + 1) * p.page); t++) {
          const row = ((t - j * p.page) * p.hKv + g) * 576;
          keys.set(pageBuf.subarray(row, row + 576), t * 576);
        }
      }
      return keys;
    },
  }, samples, seed);
}

/** The same memory as `t` with another shape (the pool is reshaped per config's page size and hKv). */
function viewOf(t: Tensor, shape: number[]): Tensor {
  return new Tensor(t.dtype, shape, t.data, t.offset);
}

function shuffled(n: number, seed: number): Int32Array {
  const a = Int32Array.from({ length: n }, (_, i) => i);
  const r = rng(seed * 2654435761);
  for (let i = n - 1; i > 0; i--) {
    const j = r() % (i + 1);
    const x = a[i]; a[i] = a[j]; a[j] = x;
  }
  return a;
}

export function describe(c: BenchConfig | BenchRow): string {
  const b = 'seqlens' in c && c.seqlens ? c.seqlens.length : c.b;
  const len = 's_k' in c && c.s_k !== undefined && !c.varlen ? `s_k=${c.s_k}` : `seqlens~${c.s_k ?? Math.round((c.seqlens ?? []).reduce((a, x) => a + x, 0) / b)}${c.varlen ? ' varlen' : ''}`;
  const hkv = (c.h_kv ?? 1) !== 1 ? ` h_kv=${c.h_kv}` : '';
  const page = (c.page_block_size ?? 64) !== 64 ? ` page=${c.page_block_size}` : '';
  const dtype = dtypeOf(c);
  const dt = dtype !== 'bf16' ? ` ${dtype}` : '';
  return `b=${b} ${len} h_q=${c.h_q}${hkv} s_q=${c.s_q}${page}${dt}`;
}

/**
 * FlashMLA's rows matched to ours by b, h_q, s_q, h_kv and the total of the seqlens. The file is bench_flashmla.py's
 * (`flashmla`: do_bench times) or bench/cuda/flashmla_protocols.py's (also `flashmla_b2b`: back to back, replayed from
 * a CUDA graph, and `flashmla_b2b_eager`: its eager loop). The times merged are those of ours's protocol where the
 * file has them: --flush-mb against `flashmla` (do_bench's protocol), --graph-calls against `flashmla_b2b`, eager back
 * to back against `flashmla_b2b_eager`; otherwise the nearest, and `protocol_matched` says false.
 */
export function mergeFlashMla(result: BenchResult, flashmla: unknown, source: string): number {
  const f = flashmla as { device?: string; rows?: Record<string, unknown>[]; protocols?: Record<string, string> };
  if (!f || !Array.isArray(f.rows)) throw new UsageError(`${source}: not a bench_flashmla.py result (no "rows" array)`);
  const key = (r: { b: unknown; h_q: unknown; s_q: unknown; h_kv?: unknown; total_seqlen: unknown }) => `${r.b}|${r.h_q}|${r.s_q}|${r.h_kv ?? 1}|${r.total_seqlen}`;
  const ours = result.flush_mb ? 'flush' : 'back-to-back';
  const has = (k: string) => f.rows!.some((r) => isTime(r[k]));
  // Back to back: FlashMLA's graph-replay times against ours replayed from a graph (--graph-calls), its eager loop
  // against ours eager where the file has it (the tool's first form wrote only flashmla_b2b, eager). WebGPU times each
  // repetition by timestamps written at its first pass's start and its last pass's end: GPU time, with no host gap
  // before a call, so its match is FlashMLA's graph replay, not the eager loop, which FlashMLA's ~40-150 us of Python a
  // call paces wherever the kernel is shorter (session 40: b=1 s_k 32768 eager 73.9 us, graph 42.3 us).
  const gpuTimed = !!result.graph_calls || result.backend === 'webgpu';
  const field = ours === 'flush' ? 'flashmla'
    : !gpuTimed && has('flashmla_b2b_eager') ? 'flashmla_b2b_eager' : has('flashmla_b2b') ? 'flashmla_b2b' : 'flashmla';
  const theirs = new Map<string, { ms: number; GBps: number; TFLOPS: number }>();
  let method = 'eager';
  for (const r of f.rows) {
    const fm = r[field];
    if (isTime(fm)) theirs.set(key(r as never), fm);
    if (field === 'flashmla_b2b' && typeof r.b2b_method === 'string') method = r.b2b_method;
  }
  let matched = 0;
  for (const row of result.rows) {
    if (dtypeOf(row) !== 'bf16') continue; // FlashMLA's rows are bf16
    const t = theirs.get(key(row));
    if (!t) continue;
    matched++;
    row.flashmla_ms = t.ms;
    row.flashmla_GBps = t.GBps;
    row.flashmla_TFLOPS = t.TFLOPS;
    row.ratio_vs_flashmla = t.ms / row.ms;
  }
  if (f.device) result.flashmla_card = f.device;
  result.protocol = ours;
  result.flashmla_protocol = field === 'flashmla' ? f.protocols?.flashmla ?? 'do_bench' : `back-to-back (${method})`;
  // A flushed run matches do_bench only in do_bench's loop (session 35: a fixed count of flushed calls after long
  // back-to-back warm-up timed ours at the warm-up's clock, 0.93x of the time at 128 rows on the H200).
  result.protocol_matched = ours === 'flush' ? result.flashmla_protocol === 'do_bench' && result.do_bench !== undefined
    : field !== 'flashmla' && method.startsWith('cuda-graph') === gpuTimed;
  return matched;
}

function isTime(x: unknown): x is { ms: number; GBps: number; TFLOPS: number } {
  return typeof x === 'object' && x !== null && typeof (x as { ms?: unknown }).ms === 'number';
}
