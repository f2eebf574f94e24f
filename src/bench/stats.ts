// The statistics every benchmark reports, one rule each. Browser-safe.

/** The median: the middle value, or the mean of the two middle values of an even count. NaN for no samples. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
