// Number formatting for the browser page: every figure keeps its significant digits whatever its size, so a
// slow software adapter's 0.0094 GB/s never reads as "0.0". Pure functions, unit-tested in test/browser/browser-page.test.ts.

const superscript: Record<string, string> = { '-': '⁻', 0: '⁰', 1: '¹', 2: '²', 3: '³', 4: '⁴', 5: '⁵', 6: '⁶', 7: '⁷', 8: '⁸', 9: '⁹' };

/**
 * `x` with `digits` significant digits (default 3), in plain notation from 1e-4 up to 1e6 and as a × 10ⁿ outside
 * it. Zero prints "0"; non-finite values print "—" (NaN), "∞" or "−∞". Trailing zeros of the rounding are kept
 * ("1.20"), since they are significant.
 */
export function formatSig(x: number, digits = 3): string {
  if (Number.isNaN(x)) return '—';
  if (x === Infinity) return '∞';
  if (x === -Infinity) return '−∞';
  if (x === 0) return '0';
  const sign = x < 0 ? '−' : '';
  const a = Math.abs(x);
  // Round first: 999.96 at 3 digits is 1.00e3, which decides the notation.
  const [mant, expStr] = a.toExponential(digits - 1).split('e');
  const exp = Number(expStr);
  if (exp >= -4 && exp < 6) {
    const decimals = Math.max(0, digits - 1 - exp);
    return sign + (Number(mant) * 10 ** exp).toFixed(decimals);
  }
  const sup = String(exp).split('').map((c) => superscript[c]).join('');
  return `${sign}${mant} × 10${sup}`;
}

const prefixes = [
  { p: 'P', f: 1e15 }, { p: 'T', f: 1e12 }, { p: 'G', f: 1e9 }, { p: 'M', f: 1e6 }, { p: 'k', f: 1e3 }, { p: '', f: 1 },
  { p: 'm', f: 1e-3 }, { p: 'µ', f: 1e-6 }, { p: 'n', f: 1e-9 },
];

/**
 * A quantity with an SI prefix chosen so that its value lies in [1, 1000): formatSI(9.4e6, 'B/s') = "9.40 MB/s".
 * Zero prints "0 unit"; values outside the prefixes fall back to formatSig.
 */
export function formatSI(x: number, unit: string, digits = 3): string {
  if (!Number.isFinite(x) || x === 0) return `${formatSig(x, digits)} ${unit}`;
  const a = Math.abs(x);
  for (const { p, f } of prefixes) {
    // Rounded to `digits`, 999.96 becomes 1000: take the next prefix up.
    if (Number((a / f).toPrecision(digits)) >= 1) {
      if (Number((a / f).toPrecision(digits)) >= 1000 && f < 1e15) continue;
      return `${formatSig(x / f, digits)} ${p}${unit}`;
    }
  }
  return `${formatSig(x, digits)} ${unit}`;
}

/** A duration given in milliseconds: "1.25 s", "893 ms", "41.2 µs". */
export function formatMs(ms: number, digits = 3): string {
  if (!Number.isFinite(ms)) return formatSig(ms, digits);
  return ms >= 1000 ? `${formatSig(ms / 1000, digits)} s` : formatSI(ms / 1000, 's', digits);
}

/** A fixed unit with significant digits: formatIn(0.0094, 'GB/s') = "0.00940 GB/s". */
export function formatIn(x: number, unit: string, digits = 3): string {
  return `${formatSig(x, digits)} ${unit}`;
}
