// A small model of the integer range analysis that Dawn's robustness transform (Tint, Dawn 0.6.2) runs before it clamps
// an index or predicates a subgroup-matrix load (docs/notes/webgpu-tensor-core.md, "Session 18"): it follows constants,
// `+ - * / %` and `>>` by constants, `min` / `max`, `let`s, `local_invocation_index` and `for (var i = 0u; i < N; i++)`
// counters, and nothing else (`select`, `&`, loop-carried `var`s, storage reads are unbounded). The WGSL is read in
// order, each `let` bound to the interval of its expression (a later `let` of the same name replaces it: the kernels
// reuse names in sibling blocks only). Approximate, for the WGSL-level tests: the SPIR-V dump on the GPU host is the
// measurement.

/** A closed interval of u32 values; hi = Infinity: unbounded. */
export interface Range { lo: number; hi: number }
const ANY: Range = { lo: 0, hi: Infinity };

/** The interval of a WGSL expression over `env`, the way the range analysis bounds it. */
export function rangeOf(expr: string, env: Map<string, Range>): Range {
  const toks = expr.match(/\d+u?|[A-Za-z_]\w*|>>|<=|>=|==|!=|&&|\|\||[-+*/%(),<>&|!?:.[\]]/g) ?? [];
  let i = 0;
  const peek = () => toks[i];
  const konst = (r: Range) => r.lo === r.hi && Number.isFinite(r.lo);
  const primary = (): Range => {
    const tk = toks[i++];
    if (tk === undefined) return ANY;
    if (/^\d+u?$/.test(tk)) { const v = Number.parseInt(tk, 10); return { lo: v, hi: v }; }
    if (tk === '(') { const r = sum(); if (peek() === ')') i++; return r; }
    if (/^[A-Za-z_]\w*$/.test(tk)) {
      if (peek() === '(' || peek() === '<') {
        // a call: min / max are followed, anything else (select, u32(...), atomicLoad ...) is unbounded
        if (peek() === '<') { let depth = 0; do { if (toks[i] === '<') depth++; else if (toks[i] === '>') depth--; i++; } while (depth > 0 && i < toks.length); }
        i++; // (
        const args: Range[] = [];
        while (i < toks.length && peek() !== ')') { args.push(sum()); if (peek() === ',') i++; else if (peek() !== ')') { skipTo(')'); break; } }
        i++; // )
        if ((tk === 'min' || tk === 'max') && args.length === 2) {
          const [a, b] = args;
          return tk === 'min' ? { lo: Math.min(a.lo, b.lo), hi: Math.min(a.hi, b.hi) } : { lo: Math.max(a.lo, b.lo), hi: Math.max(a.hi, b.hi) };
        }
        return ANY;
      }
      if (peek() === '[' || peek() === '.') { skipPostfix(); return ANY; } // an array element or a field: a load
      return env.get(tk) ?? ANY;
    }
    return ANY;
  };
  const skipTo = (close: string) => { let depth = 0; while (i < toks.length) { const t = toks[i]; if (t === '(' || t === '[') depth++; else if ((t === ')' || t === ']') && depth-- === 0) { if (t === close) return; } i++; } };
  const skipPostfix = () => { while (peek() === '[' || peek() === '.') { if (peek() === '.') { i += 2; continue; } i++; skipTo(']'); i++; } };
  const product = (): Range => {
    let a = primary();
    while (peek() === '*' || peek() === '/' || peek() === '%' || peek() === '>>') {
      const op = toks[i++];
      const b = primary();
      if (op === '*') a = { lo: a.lo * b.lo, hi: a.hi * b.hi };
      else if (op === '/') a = konst(b) && b.lo > 0 ? { lo: Math.floor(a.lo / b.lo), hi: Math.floor(a.hi / b.lo) } : ANY;
      else if (op === '%') a = konst(b) && b.lo > 0 ? { lo: 0, hi: Math.min(a.hi, b.lo - 1) } : ANY;
      else a = konst(b) ? { lo: Math.floor(a.lo / 2 ** b.lo), hi: Math.floor(a.hi / 2 ** b.lo) } : ANY;
    }
    return a;
  };
  const sum = (): Range => {
    let a = product();
    while (peek() === '+' || peek() === '-') {
      const op = toks[i++];
      const b = product();
      a = op === '+' ? { lo: a.lo + b.lo, hi: a.hi + b.hi } : a.lo - b.hi >= 0 ? { lo: a.lo - b.hi, hi: a.hi - b.lo } : ANY;
    }
    return a;
  };
  const r = sum();
  return i === toks.length ? r : ANY; // a comparison, a logical operator ...: not an integer the analysis follows
}

/** The workgroup arrays a WGSL source declares, with their element counts. */
export function workgroupArrays(src: string): Map<string, number> {
  return new Map([...src.matchAll(/var<workgroup> (\w+): array<(?:atomic<)?\w+>?, (\d+)>/g)].map(([, n, c]) => [n, Number(c)]));
}

export interface Access { array: string; index: string; range: Range; inRange: boolean; at: number }
export interface MatrixLoad { array: string; offset: string; stride: number; rows: number; cols: number; range: Range; inRange: boolean; at: number }

/**
 * Reads `src` in order from its entry point (`t`: local_invocation_index, 0 .. lanes - 1) and returns every indexed
 * access of a workgroup array and every subgroup-matrix load / store with the interval of its index or offset and
 * whether the analysis proves it in range (a matrix load's rows x cols at the stride, row-major, inside the array).
 */
export function workgroupAccesses(src: string, lanes: number): { accesses: Access[]; loads: MatrixLoad[] } {
  const arrays = workgroupArrays(src);
  const env = new Map<string, Range>([['t', { lo: 0, hi: lanes - 1 }]]);
  const start = src.indexOf('@compute');
  const body = src.slice(start);
  const accesses: Access[] = [];
  const loads: MatrixLoad[] = [];
  const names = [...arrays.keys()].join('|');
  const re = new RegExp(`let (\\w+) = ([^;]+);|var (\\w+)(?:: [^=;]+)? = [^;]+;|for \\(var (\\w+) = 0u; \\w+ < (\\d+)u; \\w+\\+\\+\\)|subgroupMatrix(?:Load<subgroup_matrix_\\w+<\\w+, (\\d+), (\\d+)>>|Store)\\(&(${names}), |(?<![\\w.])(${names})\\[`, 'g');
  for (let m = re.exec(body); m; m = re.exec(body)) {
    if (m[1]) { env.set(m[1], rangeOf(m[2], env)); re.lastIndex = m.index + 4 + m[1].length; continue; } // also scan the let's own expression
    if (m[3]) { env.set(m[3], { lo: 0, hi: Infinity }); continue; }
    if (m[4]) { env.set(m[4], { lo: 0, hi: Number(m[5]) - 1 }); continue; }
    const end = (from: number, stop: string) => { let depth = 0; for (let k = from; k < body.length; k++) { const c = body[k]; if (c === '(' || c === '[') depth++; else if (c === ')' || c === ']') { if (depth === 0) return k; depth--; } else if (c === stop && depth === 0) return k; } return body.length; };
    if (m[8]) {
      const from = m.index + m[0].length;
      let args = [];
      let k = from;
      for (;;) { const e = end(k, ','); args.push(body.slice(k, e).trim()); if (body[e] !== ',') break; k = e + 1; }
      const store = !m[6];
      if (store) args = [args[0], args[2], args[3]]; // offset, matrix, colMajor, stride → offset, colMajor, stride
      const rows = store ? 16 : Number(m[7]);
      const cols = store ? 16 : Number(m[6]);
      const stride = Number.parseInt(args[2], 10);
      const range = rangeOf(args[0], env);
      const inRange = args[1] === 'false' && Number.isFinite(stride) && range.hi + (rows - 1) * stride + cols <= arrays.get(m[8])!;
      loads.push({ array: m[8], offset: args[0], stride, rows, cols, range, inRange, at: start + m.index });
      continue;
    }
    const from = m.index + m[0].length;
    const index = body.slice(from, end(from, ']'));
    const range = rangeOf(index, env);
    accesses.push({ array: m[9], index, range, inRange: range.hi <= arrays.get(m[9])! - 1, at: start + m.index });
  }
  return { accesses, loads };
}
