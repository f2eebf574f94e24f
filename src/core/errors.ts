/** What went wrong, in a form a program can branch on. */
export type FlashMlaErrorCode =
  | 'invalid_argument' // a shape, dtype, value or option that the contract does not allow
  | 'metadata_mismatch' // scheduler metadata planned for other inputs
  | 'out_of_memory' // a pool or device allocation could not be satisfied
  | 'backend_unavailable' // the requested backend cannot run here (no driver, no adapter, ...)
  | 'driver_error' // a CUDA / WebGPU call failed
  | 'device_lost' // the device or its context is gone (WebGPU device lost, CUDA sticky fault): make a new backend
  | 'disposed'; // an object used after dispose()

/**
 * The one error type of the library. For argument errors, `argument` names the argument, `expected` and `got`
 * say what the contract wanted and what it was given, so a message reads "q: expected shape [b, sQ, hQ, 576], got [2, 1, 16, 512]".
 */
export class FlashMlaError extends Error {
  override readonly name = 'FlashMlaError';
  constructor(
    readonly code: FlashMlaErrorCode,
    message: string,
    readonly argument?: string,
    readonly expected?: string,
    readonly got?: string,
  ) {
    super(message);
  }
}

/** The longest `got` an argument error repeats; a longer one (a whole array turned into a string) is cut. */
export const maxGotLength = 200;

export function invalidArgument(argument: string, expected: string, got: string, why?: string): FlashMlaError {
  if (got.length > maxGotLength) got = `${got.slice(0, maxGotLength - 40)}... (${got.length} characters)`;
  const msg = `${argument}: expected ${expected}, got ${got}${why ? ` (${why})` : ''}`;
  return new FlashMlaError('invalid_argument', msg, argument, expected, got);
}

/** A value as an argument error names it: numbers and strings as they are, anything else by its kind and length. */
export function describeValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v !== 'object' || v === null) return String(v);
  const kind = (v as object).constructor?.name ?? 'Object';
  return ArrayBuffer.isView(v) || Array.isArray(v) ? `${kind}(${(v as unknown as ArrayLike<unknown>).length ?? (v as ArrayBufferView).byteLength})` : kind;
}

export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Bytes in a short human form (for out-of-memory messages). */
export function fmtBytes(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0, x = n;
  while (Math.abs(x) >= 1024 && i < units.length - 1) { x /= 1024; i++; }
  return i === 0 ? `${n} B` : `${x.toFixed(x < 10 ? 2 : 1)} ${units[i]} (${n} bytes)`;
}

/**
 * An allocation that could not be satisfied: names what was asked (`what`, `bytes`) and, where known, what is
 * free. The object that tried stays usable.
 */
export function outOfMemory(what: string, bytes: number, free?: string, cause?: unknown): FlashMlaError {
  const why = cause instanceof Error ? `: ${cause.message}` : '';
  const msg = `${what}: cannot allocate ${fmtBytes(bytes)}${free ? `; ${free}` : ''}${why}`;
  return new FlashMlaError('out_of_memory', msg, what, `an allocation of ${bytes} bytes`, free ?? 'allocation failed');
}
