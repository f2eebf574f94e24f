// Console output: results on stdout, progress on stderr (redrawn in place on a terminal, one line each otherwise).
export interface Progress {
  /** Replace the current status line. */
  update(msg: string): void;
  /** Finish the status line with a final message. */
  done(msg?: string): void;
}

export function progress(quiet = false): Progress {
  const tty = process.stderr.isTTY === true;
  let shown = false;
  let last = 0;
  return {
    update(msg) {
      if (quiet) return;
      if (tty) { process.stderr.write(`\r\x1b[2K${msg}`); shown = true; return; }
      // A log file gets at most one status line a second.
      const now = performance.now();
      if (now - last < 1000) return;
      last = now;
      process.stderr.write(`${msg}\n`);
    },
    done(msg) {
      if (quiet) return;
      if (tty && shown) process.stderr.write('\r\x1b[2K');
      shown = false;
      if (msg) process.stderr.write(`${msg}\n`);
    },
  };
}

export function fmt(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  const a = Math.abs(x);
  return a >= 1000 ? x.toFixed(0) : a >= 1 ? x.toPrecision(Math.max(digits, Math.floor(Math.log10(a)) + 1)) : x.toPrecision(digits);
}

export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${i === 0 ? n : n.toFixed(n >= 100 ? 0 : n >= 10 ? 1 : 2)} ${units[i]}`;
}

/** Left-aligned first column, right-aligned others. */
export function table(rows: string[][]): string {
  const w = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((x, c) => (c === 0 ? x.padEnd(w[c]) : x.padStart(w[c]))).join('  ')).join('\n');
}
