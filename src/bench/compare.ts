// "Nothing slower": compare the bench results of two builds timed in the same device call. Each build ran the same
// configs one or more rounds (interleaved before / after, so clock and thermal drift hit both); per config the
// median over rounds is taken for each build, and a config fails when after is more than `tolerance` slower.
// Used by scripts/gpu-host-run.sh bench-compare through scripts/bench-compare.mjs. Browser-safe.
import { median } from './stats.js';

/** The fields of a `flashmla bench` row that this needs. */
export interface TimedRow {
  b: number;
  s_k?: number;
  seqlens?: number[];
  h_q: number;
  h_kv: number;
  s_q: number;
  page_block_size: number;
  varlen?: boolean;
  ms: number;
}

export interface Comparison {
  config: string;
  before_ms: number;
  after_ms: number;
  /** after / before: above 1 + tolerance fails. */
  ratio: number;
  ok: boolean;
}

export function configKey(r: TimedRow): string {
  const len = r.seqlens ? `seqlens=${r.seqlens.join(',')}` : `s_k=${r.s_k}`;
  return `b=${r.b} ${len} h_q=${r.h_q} h_kv=${r.h_kv} s_q=${r.s_q} page=${r.page_block_size}${r.varlen ? ' varlen' : ''}`;
}

/** Median per config over rounds; configs missing from either side are left out of the result and listed. */
export function compareRuns(before: readonly (readonly TimedRow[])[], after: readonly (readonly TimedRow[])[], tolerance = 0.03): { rows: Comparison[]; missing: string[]; ok: boolean } {
  const collect = (runs: readonly (readonly TimedRow[])[]) => {
    const m = new Map<string, number[]>();
    for (const run of runs) for (const r of run) m.set(configKey(r), [...(m.get(configKey(r)) ?? []), r.ms]);
    return m;
  };
  const b = collect(before), a = collect(after);
  const rows: Comparison[] = [], missing: string[] = [];
  for (const [config, times] of b) {
    const at = a.get(config);
    if (!at) { missing.push(config); continue; }
    const before_ms = median(times), after_ms = median(at), ratio = after_ms / before_ms;
    rows.push({ config, before_ms, after_ms, ratio, ok: ratio <= 1 + tolerance });
  }
  for (const config of a.keys()) if (!b.has(config)) missing.push(config);
  return { rows, missing, ok: missing.length === 0 && rows.length > 0 && rows.every((r) => r.ok) };
}

/** The report's text: one line per config, slowest ratio first, then the verdict. */
export function formatComparison(c: ReturnType<typeof compareRuns>, tolerance = 0.03): string {
  const lines = [...c.rows].sort((x, y) => y.ratio - x.ratio).map((r) =>
    `${r.ok ? 'ok  ' : 'SLOW'} ${r.ratio.toFixed(3)}  before ${(r.before_ms * 1e3).toFixed(1)} us  after ${(r.after_ms * 1e3).toFixed(1)} us  ${r.config}`);
  for (const m of c.missing) lines.push(`MISSING on one side: ${m}`);
  const worst = c.rows.reduce((w, r) => Math.max(w, r.ratio), 0);
  lines.push(`${c.ok ? 'PASS' : 'FAIL'}: ${c.rows.length} configs, worst after/before ${worst.toFixed(3)} (bar ${(1 + tolerance).toFixed(2)})`);
  return lines.join('\n');
}
