// `flashmla bench`: time a grid of configurations, write JSON + SVG (into the current directory unless --out).
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError, choiceArg, intArg, intListArg, parse, stringArg } from './args.js';
import { type BackendChoice, backendChoices, openBackend } from './backend.js';
import { isSoftwareAdapter } from '../node.js';
import { renderChart } from './chart.js';
import { type BenchConfig, type BenchResult, describe, forEmit, grids, mergeFlashMla, parseConfigs, runConfigs } from './harness.js';
import { anchorDoBench } from './do-bench.js';
import { fmt, progress, table } from './ui.js';
import { annotateCpuRows, measureNumpy } from './cpu-yardstick.js';
import { nativeIsaChoices } from '../backends/cpu/native/loader.js';
import { armHelp, armOptions, parseArmOptions, prepareArms, wantsArms } from './bench-arms.js';
import type { WebGpuBackend } from '../backends/webgpu/backend.js';
import type { WebGpuCeilings } from '../bench/webgpu-ceilings.js';

/** The package root (src/cli or dist/cli are below it): its git commit, when it is a checkout, goes into results. */
const repoRoot = (() => {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(resolve(d, 'package.json')) && dirname(d) !== d) d = dirname(d);
  return d;
})();

export const benchHelp = `Usage: flashmla bench [options]

Time MLA decode over a grid of configurations (median kernel time after warm-up, inputs rotated past the L2)
and write the result as JSON plus an SVG chart.
  GB/s   = 2 * (sum(seqlens) * h_kv * 576 + b * s_q * h_q * (576 + 512)) / time
  TFLOPS = 2 * s_q * sum(seqlens) * h_q * (576 + 512) / time      (src/bench/formulas.ts)

Options:
  --mode NAME          dense (default), sparse (FlashMLA's sparse FP8 shapes; flashmla bench --mode sparse -h),
                       host or graphs (CUDA: host time of one call, CUDA-graph saving; --mode host -h),
                       chart (re-draw a saved result, merging FlashMLA's times first; --mode chart -h)
  --backend NAME       best (default), cuda, webgpu or cpu
  --grid NAME          ${Object.keys(grids).map((g) => `${g} (${grids[g].length} configs)`).join(', ')}; default: cpu on the CPU,
                       small on a software WebGPU adapter (lavapipe, SwiftShader), flashmla otherwise
  --configs FILE       configs as JSON, bench_flashmla.py's format: [{"b", "s_k", "h_q", "s_q", "h_kv"?,
                       "varlen"?, "seqlens"?, "seed"?, "page_block_size"?, "dtype"? ("bf16" | "f16": ours only;
                       FlashMLA's rows are bf16)}, ...]
  --only LIST          only these configs of the grid or file, by index from 0 (e.g. 0,1,2,9)
  --flashmla FILE      a bench_flashmla.py result: adds flashmla_ms and ratio_vs_flashmla (FlashMLA ms / ours)
                       to rows with the same b, h_q, s_q, h_kv and sum(seqlens) (FlashMLA's pages are always 64);
                       a bench/cuda/flashmla_protocols.py result also has FlashMLA back to back, which a run
                       without --flush-mb is compared with (the JSON's protocol fields say which)
  --out FILE           result JSON (default ./flashmla-bench-<backend>-<grid>-<date>.json); the SVG goes beside it
  --reps N             timed repetitions (default 5 on the CPU, 50 on a GPU)
  --warmup N           untimed repetitions first (default 1 on the CPU, 10 on a GPU)
  --warm-ms N          and at least N ms of back-to-back runs first, so GPU clocks are up (default 0 on the CPU, 300 on a GPU)
  --idle-warm-ms N     at least N ms instead for the first config and after the device idled over 2 s (default 3000
                       on a hardware GPU, 0 on the CPU and software adapters: the H200 ran the first config after
                       the page-pool fill 5x slow with 300)
  --no-ceilings        WebGPU: skip measuring the copy and f32 FMA ceilings (each row's bound and roofline_fraction)
  --check N            rows per config checked against the float64 reference (default 4; 0 skips)
  --workers N          CPU worker threads (default: all cores)
  --cpu-kernel NAME    CPU kernel rung: auto (default), native, wasm or scalar (or FLASHMLA_CPU_KERNEL)
  --cpu-isa NAME       the native rung's instruction set: auto (default: the best the CPU has); x86-64: avx512bf16,
                       avx512 or avx2; arm64: neonbf16 or neon (or FLASHMLA_CPU_ISA); one the CPU lacks is an error
  --numpy PYTHON       CPU: the python that runs bench/cpu-numpy.py (numpy f32 on the same products, copy
                       bandwidth) in the same run (default: python3, then /usr/bin/python3; 'none' skips)
  --rotate-mb N        reps rotate among page sets of at least N MB in all (default 100: twice an H100's L2)
  --flush-mb N         GPU: write N MB of a scratch buffer before every repetition, outside its timing (the protocol
                       of triton's do_bench, which bench_flashmla.py uses for FlashMLA: 256); default 0, back to back.
                       Without --reps it times in do_bench's loop (--rep-ms 200)
  --rep-ms N           triton do_bench's loop: from a five-call estimate, 25 ms of calls back to back, then flushed
                       repetitions for about N ms, the median (bench_flashmla.py: do_bench(warmup=25, rep=200));
                       --warm-ms and --idle-warm-ms then default to 0. Default 200 with --flush-mb and no --reps, else
                       0 (--warmup and --reps)
  --graph-calls N      CUDA: back to back from a CUDA graph of N calls, each repetition one replay / N (no host path
                       between calls; bench/cuda/flashmla_protocols.py replays FlashMLA the same way); not with --flush-mb
  --chain-calls N      WebGPU: each repetition N calls back to back in one submission (a batch), timed from the first
                       call's first pass to the last call's last pass, / N (no host path between calls: the analogue
                       of --graph-calls, compared with FlashMLA's graph replay); not with --flush-mb, --rep-ms or
                       --graph-calls
${armHelp}
  --emit-configs FILE  write the grid in bench_flashmla.py's --configs format (varlen lengths made explicit), then exit
  -q, --quiet          no progress lines
  -h, --help           show this help

Same configs on both sides:
  flashmla bench --grid flashmla --emit-configs grid.json
  python3 bench_flashmla.py --configs grid.json --out flashmla.json
  flashmla bench --backend cuda --configs grid.json --flashmla flashmla.json`;

/** --flush-mb (dense and sparse bench): what the GPU backends' timers write before each repetition; the CPU has none. */
export function checkFlushMb(flushMb: number, backendKind: string): void {
  if (flushMb > 0 && backendKind === 'cpu') throw new UsageError('--flush-mb: the GPU backends\' only (this run has the cpu backend)');
}

export function readJson(file: string, what: string): unknown {
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch (e) { throw new UsageError(`${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? 'cannot read'}`); }
  try { return JSON.parse(text); } catch (e) { throw new UsageError(`${what} ${file}: invalid JSON (${(e as Error).message.split('\n')[0]})`); }
}

/** FLASHMLA_COMMIT, else the checkout's commit, else the package version when running from an installed package. */
export function gitCommit(): string {
  // A copied tree can carry a stale .git (the GPU host's copy reported the session's first commit): the runner
  // that copied it knows better.
  if (process.env.FLASHMLA_COMMIT) return process.env.FLASHMLA_COMMIT;
  if (!existsSync(resolve(repoRoot, '.git'))) {
    try { return `flashmla-ts@${JSON.parse(readFileSync(resolve(repoRoot, 'package.json'), 'utf8')).version}`; } catch { return 'unknown'; }
  }
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim() || 'unknown';
  } catch { return 'unknown'; }
}

export async function bench(argv: string[]): Promise<void> {
  // --mode sparse: FlashMLA's sparse FP8 shapes (./bench-sparse.ts); dense (the default) is below.
  const mi = argv.indexOf('--mode');
  if (mi >= 0) {
    const mode = choiceArg('mode', argv[mi + 1], ['dense', 'sparse', 'host', 'graphs', 'chart'], 'dense');
    argv = [...argv.slice(0, mi), ...argv.slice(mi + 2)];
    if (mode === 'sparse') return (await import('./bench-sparse.js')).benchSparse(argv);
    if (mode === 'host' || mode === 'graphs') return (await import('./bench-cuda.js')).benchCuda(mode, argv);
    if (mode === 'chart') return (await import('./bench-chart.js')).benchChart(argv);
  }
  const { values: v, help } = parse('bench', argv, {
    backend: { type: 'string' }, grid: { type: 'string' }, configs: { type: 'string' }, flashmla: { type: 'string' },
    out: { type: 'string' }, reps: { type: 'string' }, warmup: { type: 'string' }, check: { type: 'string' },
    workers: { type: 'string' }, 'rotate-mb': { type: 'string' }, 'emit-configs': { type: 'string' }, quiet: { type: 'boolean', short: 'q' },
    'warm-ms': { type: 'string' }, 'idle-warm-ms': { type: 'string' }, 'flush-mb': { type: 'string' }, 'rep-ms': { type: 'string' }, 'graph-calls': { type: 'string' }, 'chain-calls': { type: 'string' }, 'no-ceilings': { type: 'boolean' }, 'cpu-kernel': { type: 'string' }, 'cpu-isa': { type: 'string' }, numpy: { type: 'string' },
    ...armOptions, only: { type: 'string' },
  });
  if (help) { console.log(benchHelp); return; }
  const backendName = choiceArg<BackendChoice>('backend', v.backend, backendChoices, 'best');
  const gridName = v.grid === undefined ? undefined : choiceArg('grid', v.grid, Object.keys(grids), 'cpu');
  if (gridName && v.configs) throw new UsageError('--grid and --configs: give one of them');
  const configsFile = stringArg(v.configs);
  const fileConfigs = configsFile ? parseConfigs(readJson(configsFile, '--configs'), configsFile) : undefined;
  const flashmlaFile = stringArg(v.flashmla);
  const flashmla = flashmlaFile ? readJson(flashmlaFile, '--flashmla') : undefined;
  const reps = v.reps === undefined ? undefined : intArg('reps', v.reps, 5, 1, 100000);
  const warmup = v.warmup === undefined ? undefined : intArg('warmup', v.warmup, 1, 0, 100000);
  const check = intArg('check', v.check, 4, 0, 1000);
  const warmMs = v['warm-ms'] === undefined ? undefined : intArg('warm-ms', v['warm-ms'], 300, 0, 600000);
  const idleWarmMs = v['idle-warm-ms'] === undefined ? undefined : intArg('idle-warm-ms', v['idle-warm-ms'], 3000, 0, 600000);
  const workers = v.workers === undefined ? undefined : intArg('workers', v.workers, 1, 1, 256);
  const rotateMb = intArg('rotate-mb', v['rotate-mb'], 100, 0, 1 << 20);
  const flushMb = intArg('flush-mb', v['flush-mb'], 0, 0, 1 << 16);
  const graphCalls = intArg('graph-calls', v['graph-calls'], 0, 0, 1000);
  if (flushMb && graphCalls) throw new UsageError('--flush-mb and --graph-calls: give one of them (a replay holds its calls back to back)');
  const repMs = v['rep-ms'] !== undefined ? intArg('rep-ms', v['rep-ms'], anchorDoBench.repMs, 0, 600000)
    : flushMb > 0 && reps === undefined ? anchorDoBench.repMs : 0;
  if (repMs > 0 && graphCalls) throw new UsageError('--rep-ms and --graph-calls: give one of them (do_bench\'s loop times calls one by one)');
  const chainCalls = intArg('chain-calls', v['chain-calls'], 0, 0, 1000);
  if (chainCalls && graphCalls) throw new UsageError('--chain-calls and --graph-calls: give one of them (the first is WebGPU\'s, the second CUDA\'s)');
  if (flushMb && chainCalls) throw new UsageError('--flush-mb and --chain-calls: give one of them (a chain holds its calls back to back)');
  if (repMs > 0 && chainCalls) throw new UsageError('--rep-ms and --chain-calls: give one of them (do_bench\'s loop times calls one by one)');
  const p = progress(v.quiet === true);
  const armRequest = parseArmOptions(v);
  const only = v.only === undefined ? undefined : intListArg('only', v.only, [], 0, 1 << 20);
  const pick = (cs: readonly BenchConfig[]): readonly BenchConfig[] => {
    if (!only) return cs;
    for (const i of only) if (i >= cs.length) throw new UsageError(`--only: index ${i} is past the ${cs.length} configs`);
    return only.map((i) => cs[i]);
  };

  if (v['emit-configs'] !== undefined) {
    const cs = forEmit(pick(fileConfigs ?? grids[gridName ?? 'flashmla']));
    const file = String(v['emit-configs']);
    writeFileSync(file, JSON.stringify(cs, null, 1) + '\n');
    console.log(`wrote ${cs.length} configs to ${file}`);
    return;
  }

  p.update(`starting the ${backendName} backend`);
  const cpuKernel = v['cpu-kernel'] === undefined ? undefined : choiceArg('cpu-kernel', v['cpu-kernel'], ['auto', 'native', 'wasm', 'scalar'], 'auto');
  const cpuIsa = v['cpu-isa'] === undefined ? undefined : choiceArg('cpu-isa', v['cpu-isa'], nativeIsaChoices, 'auto');
  const { backend, skipped } = await openBackend(backendName, workers, cpuKernel, cpuIsa);
  try {
    for (const s of skipped) p.update(`skipped ${s.reason}`);
    const onCpu = backend.kind === 'cpu';
    checkFlushMb(flushMb, backend.kind);
    if (graphCalls > 0 && backend.kind !== 'cuda') throw new UsageError(`--graph-calls: the CUDA backend's only (this run has the ${backend.kind} backend)`);
    if (chainCalls > 0 && backend.kind !== 'webgpu') {
      throw new UsageError(`--chain-calls: the WebGPU backend's only (this run has the ${backend.kind} backend${backend.kind === 'cuda' ? '; CUDA chains calls with --graph-calls' : ''})`);
    }
    const software = backend.kind === 'webgpu' && isSoftwareAdapter(backend.info);
    const grid = configsFile ? 'custom' : gridName ?? (onCpu ? 'cpu' : software ? 'small' : 'flashmla');
    if (!configsFile && !gridName && (onCpu || software)) {
      p.done(`${onCpu ? 'the CPU' : `${backend.info.device}: a software adapter`}: the ${grid} grid by default (--grid flashmla for FlashMLA's 24 configurations)`);
    }
    const configs: readonly BenchConfig[] = pick(fileConfigs ?? grids[grid]);
    const result: BenchResult = {
      backend: backend.kind,
      card: onCpu ? `${backend.info.device} on ${cpus()[0]?.model?.trim() ?? 'unknown CPU'}` : backend.info.device,
      commit: gitCommit(), date: new Date().toISOString(), grid, schedule: backend.info.schedule ?? 'flashmla',
      warmup: warmup ?? (onCpu ? 1 : 10), reps: reps ?? (onCpu ? 5 : 50), rows: [],
    };
    if (onCpu) result.cpu_kernel = `${backend.info.details?.kernel} (${backend.info.details?.kernelDetail})`;
    p.done(`bench: ${configs.length} configs (${grid}) on ${result.card}`);
    let ceilings: WebGpuCeilings | undefined;
    if (backend.kind === 'webgpu' && !v['no-ceilings']) {
      p.update('measuring the copy and f32 FMA ceilings');
      const { measureCeilings } = await import('../bench/webgpu-ceilings.js');
      ceilings = await measureCeilings(backend as WebGpuBackend);
      result.ceilings = ceilings;
      p.done(`ceilings: copy ${fmt(ceilings.copy_GBps)} GB/s, f32 FMA ${fmt(ceilings.f32_fma_TFLOPS)} TFLOPS (${ceilings.f32_fma_best})`);
    }
    // do_bench's loop warms by its own count of calls: the clock-based warm-up defaults to none there.
    const doBench = repMs > 0 ? { warmMs: anchorDoBench.warmMs, repMs } : undefined;
    const timing = { warmup: result.warmup, reps: result.reps, rotateBytes: rotateMb * 1e6, warmMs: warmMs ?? (onCpu || doBench ? 0 : 300),
      idleWarmMs: idleWarmMs ?? (onCpu || software || doBench ? 0 : 3000), ...(flushMb ? { flushMb } : {}), ...(graphCalls ? { graphCalls } : {}),
      ...(chainCalls ? { chainCalls } : {}), ...(doBench ? { doBench } : {}), onProgress: (m: string) => p.update(m) };
    if (!onCpu) Object.assign(result, { warm_ms: timing.warmMs, idle_warm_ms: timing.idleWarmMs, ...(flushMb ? { flush_mb: flushMb } : {}), ...(graphCalls ? { graph_calls: graphCalls } : {}), ...(chainCalls ? { chain_calls: chainCalls } : {}) });
    if (doBench) result.do_bench = { warm_ms: doBench.warmMs, rep_ms: doBench.repMs };
    const { arms, extra } = wantsArms(armRequest) ? await prepareArms(backend, armRequest, timing, onCpu || software) : { arms: undefined, extra: {} };
    Object.assign(result, extra);
    result.rows = await runConfigs(backend, configs, {
      ...timing, check, ceilings, arms,
      onRow: (r, i) => {
        const gflops = r.TFLOPS * 1e3;
        const c = r.check ? `  cos diff ${r.check.cos_diff.toExponential(1)}${r.check.ok ? '' : ' FAILED'}` : '';
        const roof = r.bound ? `  ${r.bound}-bound, ${(100 * r.roofline_fraction!).toFixed(1)}% of roofline` : '';
        const arm = r.arms ? `  [${r.arms.map((a) => `${a.label} ${fmt(a.ms)} ms`).join(', ')}]` : '';
        p.done(`[${i + 1}/${configs.length}] ${describe(r)}: ${fmt(r.ms)} ms  ${fmt(r.GBps)} GB/s  ${fmt(gflops)} GFLOP/s${roof}${c}${arm}`);
      },
    });
    if (onCpu) for (const r of result.rows) r.cpu_kernel = String(backend.info.details?.kernel);
    if (ceilings) {
      // The copy again after the rows: the rows of a process whose device slowed down are slower than the card's.
      const { measureCopy } = await import('../bench/webgpu-ceilings.js');
      ceilings.copy_after_GBps = await measureCopy(backend as WebGpuBackend);
      const drift = ceilings.copy_after_GBps / ceilings.copy_GBps;
      p.done(`copy after the rows: ${fmt(ceilings.copy_after_GBps)} GB/s (${(100 * drift).toFixed(1)}% of before)${drift < 0.9 ? ': the device slowed down during this run; its later rows understate it' : ''}`);
    }
    // WebGPU: which decode kernel ran (kernels/path.ts); the roofline above is the f32 one for every path.
    if (backend.kind === 'webgpu') {
      const { decodeKernelFor } = await import('../backends/webgpu/kernels/path.js');
      for (const r of result.rows) (r as { kernel_path?: unknown }).kernel_path = decodeKernelFor((backend as WebGpuBackend).decodePath, (r.s_q * r.h_q) / r.h_kv);
      // Dawn's robust buffer access (createNodeWebGpuBackend's `robustness`; FLASHMLA_WEBGPU_ROBUSTNESS=0 turns it off).
      const robust = backend.info.details?.robustness;
      if (typeof robust === 'boolean') (result as { robustness?: boolean }).robustness = robust;
      // The matrix kernel's rows against the subgroup-matrix MAC ceiling measured now (kernels/decode-matrix.ts).
      const wb = backend as WebGpuBackend;
      if (ceilings && wb.decodePath.path === 'matrix' && !wb.decodePath.emulate && wb.caps.subgroupMatrixF16) {
        const { matrixRoofline, measureMatrixCeiling } = await import('../bench/webgpu-ceilings-matrix.js');
        const mc = await measureMatrixCeiling(wb, { chains: 8 });
        (result as { ceilings_matrix?: unknown }).ceilings_matrix = mc;
        p.done(`subgroup-matrix MAC ceiling: ${fmt(mc.TFLOPS)} TFLOPS (${mc.config}, ${mc.chains} chains)`);
        for (const r of result.rows) {
          Object.assign(r, matrixRoofline(r, ceilings.copy_GBps, mc.TFLOPS));
          p.done(`${describe(r)}: matrix kernel ${r.bound}-bound, ${(100 * r.roofline_fraction!).toFixed(1)}% of its roofline`);
        }
      }
    }
    if (onCpu && v.numpy !== 'none') {
      p.update('numpy f32 on the same products (bench/cpu-numpy.py)');
      const y = measureNumpy(repoRoot, configs, stringArg(v.numpy));
      if (typeof y === 'string') p.done(`numpy skipped: ${y}`);
      else {
        result.numpy = y;
        annotateCpuRows(result.rows, y);
        p.done(`numpy ${y.numpy} (${y.blas}): copy ${fmt(y.copy_GBps)} GB/s, f32 GEMM ${fmt(y.gemm_GFLOPs)} GFLOP/s; same products ${y.configs.map((c) => fmt(c.GFLOPs)).join(', ')} GFLOP/s`);
      }
    }
    if (flashmla !== undefined) {
      const n = mergeFlashMla(result, flashmla, flashmlaFile!);
      p.done(`matched ${n} of ${result.rows.length} configs in ${flashmlaFile} (FlashMLA ${result.flashmla_protocol}, ours ${result.protocol}${result.flush_mb ? ` ${result.flush_mb} MB` : result.graph_calls ? ` (cuda-graph x${result.graph_calls})` : result.chain_calls ? ` (chained x${result.chain_calls})` : ' (eager)'})`);
      if (!result.protocol_matched) {
        p.done(`warning: FlashMLA's times (${result.flashmla_protocol}) and ours (${result.protocol}) were taken under two protocols; `
          + 'the ratios mix them (--flush-mb 256 without --reps matches do_bench, its loop included; bench/cuda/flashmla_protocols.py times FlashMLA back to back, --graph-calls 10 matches its graph replay)');
      }
    }

    const out = resolve(stringArg(v.out) ?? `flashmla-bench-${backend.kind}-${grid}-${result.date.replace(/[:.]/g, '-')}.json`);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, JSON.stringify(result, null, 1) + '\n');
    const svg = out.replace(/\.json$/i, '') + '.svg';
    writeFileSync(svg, renderChart(result));

    const withF = result.rows.some((r) => r.ratio_vs_flashmla !== undefined);
    const withRoof = result.rows.some((r) => r.bound !== undefined);
    const withNp = result.rows.some((r) => r.numpy_GFLOPs !== undefined);
    const head = ['config', 'ms', 'GB/s', 'GFLOP/s', ...(withNp ? ['numpy GFLOP/s', 'ours/numpy'] : []), ...(withRoof ? ['roofline'] : []), 'check', ...(withF ? ['FlashMLA ms', 'FlashMLA/ours'] : [])];
    console.log(table([head, ...result.rows.map((r) => [
      describe(r), fmt(r.ms), fmt(r.GBps), fmt(r.TFLOPS * 1e3), ...(withNp ? [r.numpy_GFLOPs === undefined ? '-' : fmt(r.numpy_GFLOPs), r.ratio_vs_numpy === undefined ? '-' : `${r.ratio_vs_numpy.toFixed(2)}x`] : []),
      ...(withRoof ? [r.bound ? `${(100 * r.roofline_fraction!).toFixed(0)}% ${r.bound}` : '-'] : []),
      r.check ? (r.check.ok ? `ok ${r.check.cos_diff.toExponential(0)}` : 'FAILED') : '-',
      ...(withF ? [r.flashmla_ms === undefined ? '-' : fmt(r.flashmla_ms), r.ratio_vs_flashmla === undefined ? '-' : `${r.ratio_vs_flashmla.toFixed(3)}x`] : []),
    ])]));
    console.log(`wrote ${out}\nwrote ${svg}`);
    if (result.rows.some((r) => r.check && !r.check.ok)) {
      process.exitCode = 1;
      console.error('flashmla: error: some configs failed the reference check');
    }
  } finally {
    backend.dispose();
  }
}
